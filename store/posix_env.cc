// Env::Default(): the real file system, through POSIX calls.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kvs/env.h"
#include "store/owner.h"

namespace kvs {
namespace {

// A full file system, a quota or a file size limit (RLIMIT_FSIZE, when the
// program ignores SIGXFSZ) is NoSpace: it passes once space is freed.
Status Errno(const std::string& what) {
  if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG) {
    return Status::NoSpace(what + ": " + std::strerror(errno));
  }
  return Status::IOError(what + ": " + std::strerror(errno));
}

class PosixFile : public File {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { close(fd_); }

  Status Write(uint64_t offset, std::string_view data) override {
    return WriteAll(offset, data, {});
  }
  Status WriteThen(uint64_t offset, std::string_view data, std::string_view then) override {
    return WriteAll(offset, data, then);
  }
  Status Sync() override {
    return fdatasync(fd_) == 0 ? Status::OK() : Errno("fdatasync " + path_);
  }
  Status Read(uint64_t offset, size_t n, char* out) const override {
    while (n > 0) {
      ssize_t got = pread(fd_, out, n, static_cast<off_t>(offset));
      if (got < 0) {
        if (errno == EINTR) continue;
        return Errno("read " + path_);
      }
      if (got == 0) return Status::IOError("read " + path_ + ": unexpected end of file");
      out += got;
      n -= static_cast<size_t>(got);
      offset += static_cast<uint64_t>(got);
    }
    return Status::OK();
  }
  Result<uint64_t> Size() const override {
    struct stat st;
    if (fstat(fd_, &st) != 0) return Errno("stat " + path_);
    return static_cast<uint64_t>(st.st_size);
  }
  Status Truncate(uint64_t size) override {
    return ftruncate(fd_, static_cast<off_t>(size)) == 0 ? Status::OK()
                                                         : Errno("truncate " + path_);
  }
  int fd() const override { return fd_; }

 private:
  // Writes first and then second from offset on, one pwritev at a time
  // until a short write has been made up.
  Status WriteAll(uint64_t offset, std::string_view first, std::string_view second) {
    while (!first.empty() || !second.empty()) {
      iovec parts[2] = {{const_cast<char*>(first.data()), first.size()},
                        {const_cast<char*>(second.data()), second.size()}};
      ssize_t n = pwritev(fd_, parts, 2, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("write " + path_);
      }
      const size_t done = static_cast<size_t>(n);
      const size_t of_first = std::min(done, first.size());
      first.remove_prefix(of_first);
      second.remove_prefix(done - of_first);
      offset += done;
    }
    return Status::OK();
  }

  std::string path_;
  int fd_;
};

class PosixEnv : public Env {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    const int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
    // Without access times: with relatime, the first read after each write
    // updates the access time, so reading a store busy with writes would
    // keep writing its inode. Only the file's owner may ask.
    int fd = open(path.c_str(), flags | O_NOATIME, 0600);
    if (fd < 0 && errno == EPERM) fd = open(path.c_str(), flags, 0600);
    if (fd < 0 && errno == ENOENT) return Status::NotFound("open " + path + ": no such file");
    if (fd < 0) return Errno("open " + path);
    KeepDirectoryOwner(path);
    return std::unique_ptr<File>(new PosixFile(path, fd));
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return rename(from.c_str(), to.c_str()) == 0 ? Status::OK() : Errno("rename " + from);
  }
  Status SyncDir(const std::string& dir) override {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("open " + dir);
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? Status::OK() : Errno("fsync " + dir);
  }
  Status Remove(const std::string& path) override {
    return unlink(path.c_str()) == 0 || errno == ENOENT ? Status::OK() : Errno("unlink " + path);
  }
  Status MakeDir(const std::string& dir) override {
    if (mkdir(dir.c_str(), 0700) != 0) {
      return errno == EEXIST ? Status::OK() : Errno("mkdir " + dir);
    }
    KeepDirectoryOwner(dir);
    return Status::OK();
  }
  bool Exists(const std::string& path) override { return access(path.c_str(), F_OK) == 0; }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return Errno("opendir " + dir);
    std::vector<std::string> names;
    while (struct dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    closedir(d);
    return names;
  }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv();
  return env;
}

}  // namespace kvs
