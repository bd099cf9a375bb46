// Env: the store's only door to the file system.
//
// Every write, sync, rename and directory listing the engine does goes through
// an Env, so tests can substitute one that fails the Nth write or sync and
// drops whatever was not synced (see tests/store/fault_env.h). Reads of the
// data file go through mmap of File::fd(); that is why File exposes it.
#ifndef KVS_ENV_H_
#define KVS_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kvs/status.h"

namespace kvs {

class File {
 public:
  virtual ~File() = default;
  // Writes data at offset (pwrite semantics: the file grows as needed).
  virtual Status Write(uint64_t offset, std::string_view data) = 0;
  // Writes data at offset and then right after it, as one Write: the
  // default joins them (pwritev, by the default Env, does not copy).
  virtual Status WriteThen(uint64_t offset, std::string_view data, std::string_view then) {
    std::string joined;
    joined.reserve(data.size() + then.size());
    joined.append(data).append(then);
    return Write(offset, joined);
  }
  // Makes everything written so far durable (fdatasync).
  virtual Status Sync() = 0;
  // Reads exactly n bytes at offset into out; fails if fewer are available.
  virtual Status Read(uint64_t offset, size_t n, char* out) const = 0;
  virtual Result<uint64_t> Size() const = 0;
  virtual Status Truncate(uint64_t size) = 0;
  // The underlying descriptor, for mmap. Owned by the File.
  virtual int fd() const = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  // The process-wide POSIX implementation. Never deleted.
  static Env* Default();

  // Opens path read-write; creates it (mode 0600) when create is true.
  // NotFound when path does not exist and create is false.
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, bool create) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Makes renames and creations inside dir durable (fsync of the directory).
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual Status Remove(const std::string& path) = 0;
  virtual Status MakeDir(const std::string& dir) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // File names (not paths) in dir, without "." and "..".
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
};

// An Env that passes every call on to another: the base of an Env that
// changes a few calls (a test's or a benchmark's), as LevelDB's EnvWrapper.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}  // not owned; outlives this
  Env* target() const { return target_; }

  Result<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    return target_->Open(path, create);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return target_->Rename(from, to);
  }
  Status SyncDir(const std::string& dir) override { return target_->SyncDir(dir); }
  Status Remove(const std::string& path) override { return target_->Remove(path); }
  Status MakeDir(const std::string& dir) override { return target_->MakeDir(dir); }
  bool Exists(const std::string& path) override { return target_->Exists(path); }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return target_->ListDir(dir);
  }

 private:
  Env* const target_;
};

}  // namespace kvs

#endif  // KVS_ENV_H_
