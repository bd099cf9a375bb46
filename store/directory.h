// The store directory's fixed parts: the STORE identity file, the writer
// lock, which data file generation is live (layout in store/format.h), and
// the lock that says the directory is in use.
#ifndef KVS_STORE_DIRECTORY_H_
#define KVS_STORE_DIRECTORY_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kvs/env.h"
#include "kvs/store.h"
#include "store/data_file.h"
#include "store/format.h"

namespace kvs {

struct StoreIdentity {
  // store/format.h: 1 for a store written before logged blocks existed.
  uint32_t format_version = format::kStoreFormatVersion;
  ReplicaId replica;
  Salt salt;
  int64_t created_ns = 0;
};

// Reads dir/STORE. NotFound when it does not exist.
Result<StoreIdentity> ReadIdentity(Env* env, const std::string& dir);
// Reads or writes (synced) one identity file, STORE or STORE.tmp.
Result<StoreIdentity> ReadIdentityFile(Env* env, const std::string& path);
Status WriteIdentityFile(Env* env, const std::string& path, const StoreIdentity& id);
StoreIdentity NewIdentity();

std::string DataFileName(uint64_t generation);
// The generation a data file's name gives ("data.000042" -> 42); nullopt for
// any other name (a compaction's ".tmp" file included).
std::optional<uint64_t> GenerationOf(std::string_view name);
// A compaction writes data.N+1 under this suffix until it publishes it.
constexpr char kUnfinishedSuffix[] = ".compacting";

// The highest generation with a data file in dir; 0 when there is none.
Result<uint64_t> LiveGeneration(Env* env, const std::string& dir);
// The same, from a listing of dir's names.
uint64_t LiveGenerationOf(const std::vector<std::string>& names);

// Serializes writers across processes and threads. A POSIX record lock
// belongs to the process, and closing any descriptor of the file drops it,
// so one WriterLock exists per lock file per process (shared by every Store
// object on that directory) and pairs the file lock with an in-process
// lock. Unlike a mutex, the thread that unlocks need not be the one that
// locked: a store's group commit hands the lock from the writer syncing one
// group to the writer building the next (store/group_commit.cc).
class WriterLock {
 public:
  static Result<std::shared_ptr<WriterLock>> ForDirectory(const std::string& dir);
  ~WriterLock();
  void lock();
  // Takes it when no thread or process holds it; false at once otherwise.
  bool try_lock();
  void unlock();
  // Whether a thread of this process is waiting in lock(); a holder that
  // could keep the lock for more work lets it go instead.
  bool HasWaiters();

 private:
  struct Impl;
  explicit WriterLock(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Lets one compaction run on a directory at a time, across processes and
// Store objects: a flock(2) on dir/COMPACT, held for the compaction's length.
// Writers do not take it (they take the WriterLock, which a compaction
// takes only to start and to publish, store/compaction.cc).
class CompactionLock {
 public:
  // Waits while another compaction holds it, unless wait is false:
  // Conflict then, at once.
  static Result<std::unique_ptr<CompactionLock>> Take(const std::string& dir, bool wait);
  ~CompactionLock();  // releases it
  CompactionLock(const CompactionLock&) = delete;
  CompactionLock& operator=(const CompactionLock&) = delete;

 private:
  explicit CompactionLock(int fd) : fd_(fd) {}
  int fd_;
};

// Whether some process has a store open in a directory: every open Store
// shares a flock(2) on the directory itself for its lifetime, and
// Store::CopyTo takes it exclusively to put a store in place there, so it
// never replaces a store in use. Independent of the writer lock (a POSIX
// record lock on LOCK; on Linux flock and record locks do not interact),
// and held per open descriptor, not per process: an exclusive taker
// conflicts with the Stores of its own process too.
class DirectoryUse {
 public:
  // Shares dir with every other open Store; waits while it is held
  // exclusively. When the directory at that path was replaced meanwhile (a
  // copy put in place), shares the new one.
  static Result<std::unique_ptr<DirectoryUse>> Share(const std::string& dir);
  // Conflict, at once, when any Store of any process has dir open.
  static Result<std::unique_ptr<DirectoryUse>> TakeExclusive(const std::string& dir);
  ~DirectoryUse();  // releases it
  DirectoryUse(const DirectoryUse&) = delete;
  DirectoryUse& operator=(const DirectoryUse&) = delete;

 private:
  explicit DirectoryUse(int fd) : fd_(fd) {}
  static Result<std::unique_ptr<DirectoryUse>> Take(const std::string& dir, bool exclusive);
  int fd_;
};

}  // namespace kvs

#endif  // KVS_STORE_DIRECTORY_H_
