// Reading a shared-secret file (common/secret_file.h).
#include "common/secret_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace kvs::common {

std::string_view TrimBlanks(std::string_view s) {
  static constexpr std::string_view kSpace = " \t\r\n\v\f";
  size_t start = s.find_first_not_of(kSpace);
  if (start == std::string_view::npos) return {};
  return s.substr(start, s.find_last_not_of(kSpace) - start + 1);
}

Result<std::string> ReadSecretFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::IOError("cannot read " + std::string(what) + " " + path + ": " +
                           std::strerror(errno));
  }
  std::string first_line;
  std::getline(in, first_line);
  return std::string(TrimBlanks(first_line));
}

}  // namespace kvs::common
