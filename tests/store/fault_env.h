// FaultEnv: an Env that fails on demand and forgets what was never synced.
//
// The store's durability claims are only as good as the tests that break the
// file system under it, as SQLite's test VFS does: FaultEnv wraps a real Env,
// passes every call through, and adds two faults.
//
//   - I/O errors: FailAfter(n) makes the n-th File::Write or File::Sync from
//     now, and every one after it, return IOError (or NoSpace, a full disk)
//     without touching the file.
//     A test raises n from 1 until the workload finishes without a fault, so
//     every write and sync in it has once been the one that failed.
//   - Power loss: DropUnsyncedData() puts every file opened through this Env
//     back to what its last successful Sync made durable.
//
// And two observations for tests of the group commit: HoldSyncs() makes
// every File::Sync wait until ReleaseSyncs(), so a test can act while a sync
// is in flight; writes_over_unsynced() counts writes to a file that still
// held unsynced bytes of an earlier write, which a store in SyncMode::kSync
// never makes (a power loss could keep the later write and tear the earlier).
//
// Typical crash test: open the store with a FaultEnv, write, close the store,
// call DropUnsyncedData(), reopen with Env::Default() and check that every
// acknowledged transaction is there and no partial one.
//
// Model of durability (deliberately simple, and stricter than most real file
// systems): a file's durable size is its size at its last successful Sync, or
// its size when first opened through this Env if it already existed. A file
// created through this Env and never synced does not survive a power loss. A
// synced file survives even if its directory was never synced, and a Rename
// is durable at once (renames of directories are not tracked). Bytes past the durable size are
// lost; bytes within it that were overwritten since the last Sync get their old contents back.
#ifndef KVS_TESTS_STORE_FAULT_ENV_H_
#define KVS_TESTS_STORE_FAULT_ENV_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kvs/env.h"
#include "kvs/status.h"

namespace kvs::test {

class FaultEnv : public Env {
 public:
  // base does the real work; not owned, must outlive this Env. The FaultEnv
  // must outlive every File it opened.
  explicit FaultEnv(Env* base);

  // Makes the n-th File::Write or File::Sync from now (1-based) and every
  // later one fail with IOError (or NoSpace) without doing it. n = 0
  // disables faults.
  void FailAfter(uint64_t n, Status::Code code = Status::Code::kIOError);
  // File::Write and File::Sync calls attempted through this Env since it was
  // made, including the ones that failed by injection. After FailAfter(n), a
  // workload that attempted fewer than n of them ran without a fault.
  uint64_t operations() const { return operations_.load(); }

  // While held, every File::Sync waits (before counting as an operation)
  // until released. held_syncs() is the number waiting now.
  void HoldSyncs();
  void ReleaseSyncs();
  int held_syncs();
  // File::Write calls that succeeded on a file while an earlier successful
  // Write to it was not yet followed by a successful Sync.
  uint64_t writes_over_unsynced() const { return writes_over_unsynced_.load(); }

  // Simulates a power loss: puts back the durable bytes overwritten since the
  // last Sync, truncates every file opened through this Env to its durable
  // size and removes those created here and never synced. Call it with no
  // store open on these files. Returns the first base-Env error.
  Status DropUnsyncedData();

  Result<std::unique_ptr<File>> Open(const std::string& path, bool create) override;
  // Moves the durability record of from to to.
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& dir) override;
  Status Remove(const std::string& path) override;
  Status MakeDir(const std::string& dir) override;
  bool Exists(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;

 private:
  class FaultFile;

  // Bytes of the durable part of a file as they were before an unsynced
  // overwrite.
  struct Undo {
    uint64_t offset;
    std::string old_bytes;
  };
  // What a power loss leaves of one file. Shared with the open FaultFiles, so
  // a handle keeps updating the right record after a Rename.
  struct Durability {
    uint64_t synced_size = 0;
    bool created_here = false;  // did not exist before this Env opened it
    bool ever_synced = false;
    bool unsynced_write = false;  // written since the last Sync
    std::vector<Undo> undo;       // since the last Sync, oldest first
  };

  // Counts one Write or Sync and returns the error to report when it is to
  // fail, OK otherwise.
  Status NextOperation(const char* what, const std::string& path);
  // Puts the file at path back to its durable state. Requires mu_ held.
  Status RollBack(const std::string& path, Durability& file);

  // Waits while syncs are held.
  void WaitToSync();

  Env* const base_;
  std::atomic<uint64_t> operations_{0};
  std::atomic<uint64_t> writes_over_unsynced_{0};
  std::mutex hold_mu_;
  std::condition_variable hold_released_;
  bool holding_syncs_ = false;  // Guarded by hold_mu_
  int held_syncs_ = 0;          // Guarded by hold_mu_
  // Number of the first operation that fails; 0 = none.
  std::atomic<uint64_t> first_failing_{0};
  std::atomic<Status::Code> failure_code_{Status::Code::kIOError};
  std::mutex mu_;
  // Every file opened through this Env, by path. Guarded by mu_, as are the
  // Durability records it points to.
  std::map<std::string, std::shared_ptr<Durability>> files_;
};

}  // namespace kvs::test

#endif  // KVS_TESTS_STORE_FAULT_ENV_H_
