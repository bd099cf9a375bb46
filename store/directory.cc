#include "store/directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/sync/file_lock.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>

#include "store/coding.h"
#include "store/crc32c.h"
#include "store/format.h"
#include "store/owner.h"

namespace kvs {

using namespace format;

Result<StoreIdentity> ReadIdentity(Env* env, const std::string& dir) {
  return ReadIdentityFile(env, dir + "/STORE");
}

Result<StoreIdentity> ReadIdentityFile(Env* env, const std::string& path) {
  if (!env->Exists(path)) return Status::NotFound(path + " does not exist: not a kvs store");
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<File> file, env->Open(path, false));
  char buf[kStoreFileSize];
  KVS_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (size != kStoreFileSize || !file->Read(0, kStoreFileSize, buf).ok() ||
      std::memcmp(buf, kStoreMagic, sizeof(kStoreMagic)) != 0 ||
      Crc32c(0, buf, 56) != DecodeFixed32(buf + 56)) {
    return Status::Corruption(path + " is damaged (bad size, magic or checksum)");
  }
  const uint32_t version = DecodeFixed32(buf + 8);
  if (version < kStoreFormatUnlogged || version > kStoreFormatVersion) {
    return Status::Corruption(path + ": store format version " + std::to_string(version) +
                              " is not supported: it was written by a newer kvs");
  }
  StoreIdentity id;
  id.format_version = version;
  std::memcpy(id.replica.bytes.data(), buf + 16, 16);
  std::memcpy(id.salt.data(), buf + 32, 16);
  id.created_ns = static_cast<int64_t>(DecodeFixed64(buf + 48));
  return id;
}

Status WriteIdentityFile(Env* env, const std::string& path, const StoreIdentity& id) {
  std::string buf(kStoreMagic, sizeof(kStoreMagic));
  PutFixed32(&buf, id.format_version);
  PutFixed32(&buf, 0);
  buf.append(reinterpret_cast<const char*>(id.replica.bytes.data()), 16);
  buf.append(reinterpret_cast<const char*>(id.salt.data()), 16);
  PutFixed64(&buf, static_cast<uint64_t>(id.created_ns));
  PutFixed32(&buf, Crc32c(0, buf.data(), 56));
  PutFixed32(&buf, 0);
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<File> file, env->Open(path, true));
  KVS_RETURN_IF_ERROR(file->Truncate(0));
  KVS_RETURN_IF_ERROR(file->Write(0, buf));
  return file->Sync();
}

StoreIdentity NewIdentity() {
  std::random_device rd;  // reads the kernel's entropy source
  StoreIdentity id;
  for (auto& b : id.replica.bytes) b = static_cast<uint8_t>(rd());
  for (auto& b : id.salt) b = static_cast<uint8_t>(rd());
  id.created_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return id;
}

std::string DataFileName(uint64_t generation) {
  char name[32];
  std::snprintf(name, sizeof(name), "data.%06llu", static_cast<unsigned long long>(generation));
  return name;
}

std::optional<uint64_t> GenerationOf(std::string_view name) {
  // DataFileName pads to six digits and grows past them; 19 digits fit.
  if (name.size() < 11 || name.size() > 24 || !name.starts_with("data.")) return std::nullopt;
  if (name.find_first_not_of("0123456789", 5) != std::string_view::npos) return std::nullopt;
  return std::stoull(std::string(name.substr(5)));
}

uint64_t LiveGenerationOf(const std::vector<std::string>& names) {
  uint64_t best = 0;
  for (const std::string& name : names) best = std::max(best, GenerationOf(name).value_or(0));
  return best;
}

Result<uint64_t> LiveGeneration(Env* env, const std::string& dir) {
  KVS_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  return LiveGenerationOf(names);
}

// ---- WriterLock -----------------------------------------------------------

struct WriterLock::Impl {
  // Exclude threads of this process: held and its waiters, rather than a
  // mutex, so that any thread may release it.
  std::mutex mu;
  std::condition_variable released;
  bool held = false;                    // Guarded by mu
  int waiters = 0;                      // Guarded by mu
  boost::interprocess::file_lock file;  // excludes other processes
};

WriterLock::WriterLock(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WriterLock::~WriterLock() = default;

void WriterLock::lock() {
  {
    std::unique_lock<std::mutex> lock(impl_->mu);
    ++impl_->waiters;
    impl_->released.wait(lock, [this] { return !impl_->held; });
    --impl_->waiters;
    impl_->held = true;
  }
  impl_->file.lock();
}

bool WriterLock::try_lock() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->held) return false;
    impl_->held = true;
  }
  if (impl_->file.try_lock()) return true;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->held = false;
  }
  impl_->released.notify_one();
  return false;
}

void WriterLock::unlock() {
  impl_->file.unlock();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->held = false;
  }
  impl_->released.notify_one();
}

bool WriterLock::HasWaiters() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->waiters > 0;
}

namespace {
// Every WriterLock of this process, by lock file. Guards creation and
// destruction too: closing any descriptor of the lock file would drop the
// process's lock, so no descriptor of it is opened or closed while another
// WriterLock for it may be held.
std::mutex registry_mu;
std::map<std::pair<dev_t, ino_t>, std::weak_ptr<WriterLock>> registry;
}  // namespace

Result<std::shared_ptr<WriterLock>> WriterLock::ForDirectory(const std::string& dir) {
  std::string path = dir + "/LOCK";
  std::lock_guard<std::mutex> guard(registry_mu);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    std::ofstream touch(path, std::ios::app);  // the file lock needs the file to exist
    if (!touch || stat(path.c_str(), &st) != 0) {
      return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
    }
  }
  KeepDirectoryOwner(path);
  auto key = std::make_pair(st.st_dev, st.st_ino);
  if (auto existing = registry[key].lock()) return existing;
  auto impl = std::make_unique<Impl>();
  try {
    impl->file = boost::interprocess::file_lock(path.c_str());
  } catch (const std::exception& e) {
    return Status::IOError("cannot open lock " + path + ": " + e.what());
  }
  std::shared_ptr<WriterLock> lock(new WriterLock(std::move(impl)), [](WriterLock* l) {
    std::lock_guard<std::mutex> guard(registry_mu);
    delete l;
  });
  registry[key] = lock;
  return lock;
}

// ---- CompactionLock -------------------------------------------------------

CompactionLock::~CompactionLock() { close(fd_); }

Result<std::unique_ptr<CompactionLock>> CompactionLock::Take(const std::string& dir, bool wait) {
  const std::string path = dir + "/COMPACT";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
  KeepDirectoryOwner(path);
  std::unique_ptr<CompactionLock> held(new CompactionLock(fd));
  int rc;
  do {
    rc = flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno == EWOULDBLOCK) {
    return Status::Conflict("another compaction of " + dir + " is running");
  }
  if (rc != 0) return Status::IOError("flock " + path + ": " + std::strerror(errno));
  return held;
}

// ---- DirectoryUse ---------------------------------------------------------

DirectoryUse::~DirectoryUse() { close(fd_); }

Result<std::unique_ptr<DirectoryUse>> DirectoryUse::Share(const std::string& dir) {
  return Take(dir, /*exclusive=*/false);
}

Result<std::unique_ptr<DirectoryUse>> DirectoryUse::TakeExclusive(const std::string& dir) {
  return Take(dir, /*exclusive=*/true);
}

Result<std::unique_ptr<DirectoryUse>> DirectoryUse::Take(const std::string& dir, bool exclusive) {
  // A copy put in place swaps the directory at this path while holding the
  // old one: a lock won on the old one once it is released is a lock on
  // nothing anyone opens. Each swap ends one such turn, so the loop ends
  // unless copies are put in place here without pause.
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::IOError("open " + dir + ": " + std::strerror(errno));
    std::unique_ptr<DirectoryUse> use(new DirectoryUse(fd));
    int rc;
    do {
      rc = flock(fd, exclusive ? LOCK_EX | LOCK_NB : LOCK_SH);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno == EWOULDBLOCK) {
      return Status::Conflict(dir + " is in use: a server or another process has its store open");
    }
    if (rc != 0) return Status::IOError("flock " + dir + ": " + std::strerror(errno));
    struct stat held, named;
    if (fstat(fd, &held) != 0) return Status::IOError("stat " + dir + ": " + std::strerror(errno));
    if (stat(dir.c_str(), &named) == 0 && named.st_dev == held.st_dev &&
        named.st_ino == held.st_ino) {
      return use;
    }
  }
  return Status::IOError(dir + " keeps being replaced; try again");
}

}  // namespace kvs
