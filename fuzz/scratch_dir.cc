#include "fuzz/scratch_dir.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace kvs::fuzz {
namespace {

class Directory {
 public:
  Directory() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/kvs-fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror(("fuzz: cannot make " + pattern).c_str());
      std::abort();
    }
    path_ = pattern;
  }
  ~Directory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

const std::string& ScratchDir() {
  static const Directory directory;
  return directory.path();
}

std::string EmptySubdirectory(const std::string& name) {
  std::string path = ScratchDir() + "/" + name;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (!std::filesystem::create_directory(path, ec)) {
    std::fprintf(stderr, "fuzz: cannot make %s: %s\n", path.c_str(), ec.message().c_str());
    std::abort();
  }
  return path;
}

}  // namespace kvs::fuzz
