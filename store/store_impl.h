// StoreImpl: the Store behind the public header. Its parts live in:
//   store/store_open.cc      opening, creating, snapshots, generations
//   store/store_read.cc      key, version-graph and commit reads
//   store/group_commit.cc    the group commit that runs every transaction,
//                            and Checkpoint
//   store/store_write.cc     the transactions that add versions
//   store/store_branches.cc  branch creation, deletion and reset, diff
//   store/store_changes.cc   the changes feed and checkpoints replication reads
//   store/branch_edit.*      a transaction's staged changes to one branch
//   store/check.cc           Check
//   store/compaction.cc      Compact
//   store/space.cc           Space
//   store/copy.cc            CopyTo
#ifndef KVS_STORE_STORE_IMPL_H_
#define KVS_STORE_STORE_IMPL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "kvs/store.h"
#include "store/btree.h"
#include "store/data_file.h"
#include "store/directory.h"
#include "store/entries.h"
#include "store/format.h"
#include "store/id_runs.h"
#include "store/log_window.h"
#include "store/read_clock.h"
#include "store/spare_pool.h"

namespace kvs {

// What one transaction sees and builds while the group commit leader runs
// it: the committed snapshot, the bytes of the group so far, and the global
// tree being edited.
struct TxnContext {
  const RecordSource* source;  // committed data plus the group's new blocks
  BlockBuilder* builder;       // the open block belongs to this transaction
  TreeWriter* global;          // edits of the global tree
  uint64_t global_root;        // the global tree as this transaction found it
  // Where branch trees' changed nodes go: the block, or in a store that
  // logs branch edits (format 3), the window's memory, with the edits in
  // branch_log (store/edit_log.h).
  NodeSink* branch_nodes;
  EditLog* branch_log = nullptr;
  uint64_t revision;           // this transaction's revision
  int64_t time_ns;             // its commit time (monotonic across revisions)
  uint64_t commit_offset = 0;  // set by a transaction that records a commit
  // The runs global_root names (store/id_runs.h), read on first need: a
  // transaction adds id entries but makes no run.
  std::optional<std::vector<RunEntry>> runs = std::nullopt;
  // In a store of format 4 or later, where the id entries this
  // transaction adds wait for its end (PutIdEntry, store/branch_edit.h);
  // null in older ones, whose id entries go straight into global.
  PendingIds* ids = nullptr;
  // Format 6: versions and commits are written as compact records.
  bool compact_records = false;
};

using TxnFunction = std::function<Result<WriteResult>(TxnContext*)>;

class StoreImpl : public Store {
 public:
  StoreImpl(std::string dir, const Options& options, StoreIdentity identity,
            std::unique_ptr<DirectoryUse> use, std::shared_ptr<WriterLock> writer_lock,
            std::shared_ptr<DataFile> data)
      : dir_(std::move(dir)),
        options_(options),
        env_(options.env),
        identity_(identity),
        use_(std::move(use)),
        writer_lock_(std::move(writer_lock)),
        reads_(ReadClock::Open(dir_)),
        data_(std::move(data)) {}

  ReplicaId replica_id() const override { return identity_.replica; }
  RecoveryInfo recovery_info() const override { return recovery_; }
  Result<uint64_t> Revision() override;

  Result<WriteResult> Write(const WriteBatch& batch) override;
  Result<WriteResult> CopyKey(std::string_view key, std::string_view from,
                              std::string_view to) override;
  Result<WriteResult> ResetBranch(std::string_view name, const CommitId& to) override;
  Result<WriteResult> ApplyReplicated(const ReplicationBatch& batch) override;
  Result<std::string> Checkpoint(std::string_view peer) override;
  Result<std::vector<std::pair<std::string, std::string>>> Checkpoints(
      std::string_view prefix) override;
  Result<Changes> ChangesSince(const ChangesOptions& options) override;

  Result<KeyState> Get(std::string_view branch, std::string_view key, const ReadPoint& at) override;
  Result<std::vector<KeyState>> ListKeys(std::string_view branch,
                                         const KeyListOptions& options) override;
  Result<std::vector<KeyPresence>> Presence(std::string_view branch,
                                            const std::vector<std::string>& keys) override;

  Result<Version> GetVersion(const VersionId& id, bool with_value) override;
  Result<std::vector<std::optional<Version>>> GetVersions(const std::vector<VersionId>& ids,
                                                          bool with_values) override;
  Result<VersionId> ResolveVersion(std::string_view hex_prefix) override;
  Result<std::vector<Version>> History(const VersionId& id, size_t skip, size_t limit,
                                       bool with_values) override;
  Result<std::vector<Version>> Children(const VersionId& id) override;
  Result<std::vector<Version>> CommonAncestors(const std::vector<VersionId>& ids) override;
  Result<std::vector<Version>> Tails(std::string_view key) override;
  Result<std::vector<Version>> ListVersions(const VersionListOptions& options) override;

  Result<BranchInfo> CreateBranch(std::string_view name, std::string_view from,
                                  const ReadPoint& at) override;
  Result<std::vector<BranchInfo>> ListBranches() override;
  Result<BranchInfo> GetBranch(std::string_view name) override;
  Status DeleteBranch(std::string_view name) override;
  Result<CommitInfo> GetCommit(const CommitId& id) override;
  Result<std::vector<DiffEntry>> Diff(std::string_view from_branch, const ReadPoint& from_at,
                                      std::string_view to_branch, const ReadPoint& to_at) override;

  Result<CompactStats> Compact(const CompactOptions& options) override;
  Status Checkpoint() override;
  Result<uint64_t> DataBytes() override;
  Result<SpaceInfo> Space() override;
  GroupCommitStats GroupCommits() override;
  Result<CheckReport> Check() override;
  Status Health() override;
  Result<CopyInfo> CopyTo(const std::string& dir, const CopyOptions& options) override;

  // ---- Shared by the parts ----------------------------------------------
  // The newest committed state; follows a compaction to the new file.
  Result<Snapshot> Latest();
  // The state the next block builds on, in the live file (data()), its
  // logged head resolved: like FollowCompaction, but ready to append
  // (DataFile::PrepareAppend). Requires the writer lock.
  Result<Snapshot> PrepareAppend();
  void set_recovery(RecoveryInfo r) { recovery_ = r; }

 private:
  struct Writer;

  // Runs fn as one transaction inside a group commit.
  Result<WriteResult> RunTransaction(TxnFunction fn, size_t bytes_hint);
  // Queues w for a group commit and returns its result.
  Result<WriteResult> RunWriter(Writer* w);
  // Leader side of the group commit: runs the group leader leads (leader
  // is first in writers_; lock holds write_mu_ and is released on return)
  // and returns the leader's own result.
  Result<WriteResult> CommitGroup(Writer* leader, std::unique_lock<std::mutex>* lock);
  // Counts a group commit of that many transactions in group_commits_, and
  // its sync (sync_seconds < 0: none). Requires write_mu_.
  void CountGroup(size_t transactions, double sync_seconds);
  Status SwitchToGeneration(uint64_t generation);
  // Compact's parts (store/compaction.cc). A compaction's state:
  struct CompactionBuild;
  // Writes the compacted file of build->snap, with the size bound's
  // evictions.
  Status BuildCompacted(const CompactOptions& options, CompactionBuild* build);
  // Holding the writer lock: the last catch-up (or, when unlocked is a
  // Conflict, a compaction of the newest state) and the switch to the new
  // file, which replaces generation.
  Result<CompactStats> PublishCompacted(const CompactOptions& options, const Status& unlocked,
                                        uint64_t generation,
                                        std::unique_ptr<CompactionBuild>* build);
  void RemoveUnfinished(CompactionBuild* build);
  Status CompactedMeanwhile();
  // Space() of snap, a state of data file generation.
  Result<SpaceInfo> SpaceOf(const Snapshot& snap, uint64_t generation);
  // The superseded bytes snap's file holds through its head: counted by
  // the head block, else estimated (store/space.cc).
  Result<uint64_t> GarbageBytes(const Snapshot& snap, uint64_t generation);
  // Latest(), after making sure no newer generation was left unannounced
  // (EndReplacedFile). Requires the writer lock.
  Result<Snapshot> FollowCompaction();
  // Ends the file this process knows with a "moved" block when a compactor
  // published the next generation but crashed before ending it. Requires
  // the writer lock.
  Status EndReplacedFile();
  // Takes a state of the live file with take (DataFile::Latest or
  // PrepareAppend), following compactions to the newest generation.
  Result<Snapshot> FollowMoves(Result<Snapshot> (DataFile::*take)());
  // When a write failed (sticky_error_ is set): rolls file back to its last
  // durable commit and clears the error. Returns the error that remains.
  // Requires the writer lock, held since the failure, and write_mu_.
  Status RollBackFailedWrites(DataFile* file);
  std::shared_ptr<DataFile> data();
  // The revision a read point names, as of snap.
  Result<uint64_t> ResolveRevision(const Snapshot& snap, const ReadPoint& at);
  // The global tree root as it was after revision r (Compacted when gone).
  Result<uint64_t> GlobalRootAt(const Snapshot& snap, uint64_t revision);
  // The branch entry as of a read point: the current entry for reads that
  // use per-key history, the historical one for exact structural states.
  Result<BranchEntry> BranchAt(const Snapshot& snap, std::string_view name, const ReadPoint& at);
  Result<KeyState> ToKeyState(const RecordSource& source, const KeyEntry& entry, uint64_t revision,
                              bool with_value);
  // CopyTo's copy of snap, a state of data file generation, into the new
  // directory tmp: written, checked and synced.
  Result<CopyInfo> WriteCheckedCopy(const Snapshot& snap, uint64_t generation,
                                    const std::string& tmp);

  const std::string dir_;
  const Options options_;
  Env* const env_;
  const StoreIdentity identity_;
  const std::unique_ptr<DirectoryUse> use_;  // shared, for the store's lifetime
  RecoveryInfo recovery_;
  std::shared_ptr<WriterLock> writer_lock_;
  const std::unique_ptr<ReadClock> reads_;

  // The logged blocks this process knows (store/log_window.h); whether
  // this store writes them (format version 2 and later; a store of version
  // 1 is not logged until `kvs upgrade`; what else a version changes, the
  // group commit reads from identity_), and whether checkpoints move id
  // entries into runs (version 4, store/id_runs.h), which compaction
  // follows.
  LogWindows windows_;
  const bool logged_ = identity_.format_version >= format::kStoreFormatLoggedGlobal;
  const bool id_runs_ = identity_.format_version >= format::kStoreFormatIdRuns;

  std::mutex data_mu_;
  std::shared_ptr<DataFile> data_;  // Guarded by data_mu_

  std::mutex write_mu_;
  std::deque<Writer*> writers_;  // Guarded by write_mu_; the front one leads
  // Guarded by write_mu_; set when a write failed and the file could not
  // be rolled back since (see store/group_commit.cc).
  Status sticky_error_;
  // Guarded by write_mu_: a group is written and being synced (by a leader
  // that has left writers_); the leader building now will take the writer
  // lock over from it; that leader waits for the sync to end and takes in
  // writers that queue meanwhile. synced_ is notified when syncing_ turns
  // false, and when a writer queues while absorbing_.
  bool syncing_ = false;
  bool handoff_ = false;
  bool absorbing_ = false;
  std::condition_variable synced_;
  GroupCommitStats group_commits_;  // Guarded by write_mu_
  // Memory the groups' blocks were built in, for the next ones (two groups
  // are in memory at once while one is synced).
  SparePool<std::string> spare_blocks_{2};
  // When a leader last took the writer lock itself (steady clock); written
  // by the leader holding it, read under write_mu_ by the next leader.
  int64_t lock_taken_ns_ = 0;

  friend class Compactor;
  friend class Checker;
};

// Validation shared by the write paths (InvalidArgument with a message).
// Writes of new values take options_.max_key_bytes as max_bytes; reads and
// copies of what is stored, kMaxKeyBytes (another process may write longer
// keys than this one's options allow).
Status ValidateKey(std::string_view key, size_t max_bytes);
Status ValidateBranchName(std::string_view name);
// For a branch about to be made: also refuses a name that starts with '.'
// ("..", ".git"), which a URL path cannot carry (web servers resolve "." and
// "..", and deny hidden names). Older stores may hold such a branch; it
// stays readable.
Status ValidateNewBranchName(std::string_view name);
// The key's entry as of revision in the branch tree at root; nullopt when
// the key has none.
Result<std::optional<KeyEntry>> FindKeyEntry(const RecordSource& source, uint64_t root,
                                             std::string_view key, uint64_t revision,
                                             uint64_t* entry_revision = nullptr);
// The same, through a writer of the branch tree (and its pending edits),
// which keeps the nodes it reads for its edits.
Result<std::optional<KeyEntry>> FindKeyEntry(TreeWriter* tree, std::string_view key,
                                             uint64_t revision);
Result<VersionRecord> ReadVersionAt(const RecordSource& source, uint64_t offset);
Result<BranchEntry> ReadBranchEntry(const RecordSource& source, uint64_t global_root,
                                    std::string_view name);
// Every branch, by name, in the global tree at global_root.
using BranchEntries = std::vector<std::pair<std::string, BranchEntry>>;
Result<BranchEntries> ReadBranchEntries(const RecordSource& source, uint64_t global_root);
int64_t NowNs();
// Ends a replaced data file with a "moved" block naming generation, so
// readers and writers still on it follow (store/compaction.cc).
Status EndDataFileWithMove(DataFile* old, uint64_t generation, const Salt& salt);
// Ends the data file at path, of an older generation than live, with a move
// to live unless it has one. Takes lock to write, unless null (the caller
// holds it). A file gone, or too damaged to open, has no reader to tell.
Status EndUnannounced(Env* env, const std::string& path, uint64_t generation, uint64_t live,
                      const StoreIdentity& id, WriterLock* lock);

}  // namespace kvs

#endif  // KVS_STORE_STORE_IMPL_H_
