// The kvs store engine: the whole public interface.
//
// A Store is one directory holding the full history of every key: each write
// creates an immutable, content-addressed Version whose parents are the
// versions it replaces. Each branch maps keys to their current heads (usually
// one; more after concurrent writes met: a conflict, read as a deterministic
// winner). Every transaction gets the next global revision number and is a
// commit on its branch, so any key can be read as it was at a revision, a time
// or a commit. See docs/design.md for the model and store/format.h for the
// bytes on disk.
//
// Thread- and process-safety: a Store may be used from many threads at once,
// and many processes (FastCGI workers, CGI invocations, the kvs command line)
// may open the same directory at the same time. Writers are serialized by an
// interprocess file lock plus an in-process mutex; readers take no lock, never
// block writers and never see a partial transaction. Every open Store marks
// its directory as in use, so that CopyTo never puts a copy in place of a
// store some process has open.
#ifndef KVS_STORE_H_
#define KVS_STORE_H_

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kvs/env.h"
#include "kvs/status.h"

namespace kvs {

// A SHA-256 digest naming a version or a commit.
struct Hash {
  std::array<uint8_t, 32> bytes{};

  // 64 lower-case hex digits.
  std::string Hex() const;
  // Parses exactly 64 hex digits (either case).
  static Result<Hash> FromHex(std::string_view hex);
  bool IsZero() const;
  bool operator==(const Hash&) const = default;
  // Byte order. Ids are random, so their first 8 bytes, compared as one
  // number, nearly always decide: sorting a compaction's ids took twice as
  // long comparing them a byte at a time.
  std::strong_ordering operator<=>(const Hash& other) const {
    const uint64_t a = Leading(), b = other.Leading();
    if (a != b) return a <=> b;
    return std::memcmp(bytes.data() + 8, other.bytes.data() + 8, 24) <=> 0;
  }

 private:
  uint64_t Leading() const {
    uint64_t v;
    std::memcpy(&v, bytes.data(), sizeof(v));
    return __builtin_bswap64(v);  // the first byte the most significant
  }
};
using VersionId = Hash;
using CommitId = Hash;

// Random id made when a store is created; names the replica a version was
// written on. Shown as 32 hex digits.
struct ReplicaId {
  std::array<uint8_t, 16> bytes{};
  std::string Hex() const;
  // Exactly 32 hex digits (either case); nullopt otherwise.
  static std::optional<ReplicaId> FromHex(std::string_view hex);
  auto operator<=>(const ReplicaId&) const = default;
};

// The longest key any store holds: a key is part of the tree keys that
// index it, and those are bounded (store/btree.h). Options::max_key_bytes
// may not exceed it; reads accept keys up to it whatever the options say.
inline constexpr size_t kMaxKeyBytes = 4000;

enum class SyncMode {
  // A write returns only after its bytes and the new file size are on stable
  // storage (fdatasync). A process crash or a power loss loses nothing that
  // was acknowledged.
  kSync,
  // A write returns once its bytes are in the operating system's page cache.
  // A process crash (kill -9, segfault) loses nothing that was acknowledged;
  // a power loss or kernel crash can lose the most recent transactions (never
  // part of one: the store reopens at an earlier, consistent revision).
  kNone,
};

struct Options {
  SyncMode sync = SyncMode::kSync;
  // Create the directory and an empty store when none exists.
  bool create_if_missing = true;
  // Bounds enforced on every write (InvalidArgument when exceeded).
  // max_key_bytes may be at most kMaxKeyBytes.
  size_t max_key_bytes = 1024;
  size_t max_value_bytes = 64 << 20;
  size_t max_writes_per_transaction = 100000;
  // Concurrent writers in one process share one fsync; a group holds at most
  // this many bytes of new values.
  size_t max_group_bytes = 8 << 20;
  // A transaction writes its changes to the store's global index (its
  // versions, commits and branches) and to its branch's tree as a short
  // edit record, and keeps the trees' new nodes in memory, until every
  // this many transactions one writes them (a checkpoint; sooner after
  // large transactions). Opening a store, or reading one another process
  // writes, replays at most that many edit records. 1: every transaction
  // is a checkpoint. Stores of format version 1 (before `kvs upgrade`)
  // always write checkpoints.
  size_t checkpoint_blocks = 1024;
  // File system access; nullptr means Env::Default(). Not owned.
  Env* env = nullptr;
};

// One immutable state of one key.
struct Version {
  VersionId id;
  std::string key;
  std::vector<VersionId> parents;  // 0 = new key, 1 = update, 2+ = merge
  bool deleted = false;            // a tombstone
  bool json = false;               // the value is JSON text, written as JSON (POST /_txn)
  int64_t time_ns = 0;             // the writer's wall clock, ns since 1970
  ReplicaId replica;               // where it was written
  uint64_t size = 0;               // value length in bytes
  uint64_t revision = 0;           // local revision that stored it here
  std::string value;               // filled only where a call says so
};

// A key on a branch, as of some point in time.
struct KeyState {
  // The deterministic winner among the heads (newest time, then larger id),
  // with its value; deleted when the winner is a tombstone.
  Version winner;
  // All heads, winner first, then by the same order. Values not filled.
  std::vector<Version> heads;
  uint64_t revision = 0;        // revision that last changed the key here
  int64_t created_time_ns = 0;  // time of the oldest version on this branch
  bool conflict() const { return heads.size() > 1; }
};

// What a store holds of one key (Store::Presence).
struct KeyPresence {
  // Its heads on the branch asked about, deleted or not, winner first.
  // Values not filled.
  std::vector<Version> heads;
  // Some version of the key is stored, on any branch.
  bool stored = false;
};

// Which state of a branch a read sees.
struct ReadPoint {
  enum class Kind { kLatest, kRevision, kTime, kCommit };
  Kind kind = Kind::kLatest;
  uint64_t revision = 0;  // kRevision: as of the end of this revision
  int64_t time_ns = 0;    // kTime: as of the last revision at or before it
  CommitId commit;        // kCommit: as of this commit

  static ReadPoint Latest() { return {}; }
  static ReadPoint AtRevision(uint64_t r) { return {Kind::kRevision, r, 0, {}}; }
  static ReadPoint AtTime(int64_t t) { return {Kind::kTime, 0, t, {}}; }
  static ReadPoint AtCommit(const CommitId& c) { return {Kind::kCommit, 0, 0, c}; }
};

// One key written by a transaction.
struct KeyWrite {
  std::string key;
  std::optional<std::string> value;  // nullopt writes a tombstone (delete)
  // nullopt: the new version's parents are all current heads (a plain write,
  // which also resolves a conflict). Set: exactly these versions of the key,
  // which must exist; only they stop being heads, so two writes naming the
  // same old parent leave two heads.
  std::optional<std::vector<VersionId>> parents;
  // Compare-and-set: the transaction fails with kConflict, writing nothing,
  // unless the key's current heads are exactly this set (empty: the key must
  // have no version on the branch yet).
  std::optional<std::vector<VersionId>> expected_heads;
  // Set (not empty): writes no new version; the key's heads here become
  // exactly these stored versions of the key, and value and parents are
  // ignored. A merge that keeps both sides as a visible fork names the heads
  // of both. NotFound when one is not stored; InvalidArgument when one
  // belongs to another key.
  std::optional<std::vector<VersionId>> adopt_heads;
  // The value is JSON text, to be read back as JSON (Version::json); part of
  // the version's id. Ignored for a tombstone.
  bool json = false;
};

struct WriteBatch {
  std::string branch = "main";
  std::vector<KeyWrite> writes;
  // More parents for this transaction's commit, after the branch's head
  // commit: a merge of branches names the merged branch's head commit, so
  // the log shows both histories. Each must exist (NotFound).
  std::vector<CommitId> merged_commits;

  WriteBatch& Put(std::string key, std::string value);
  WriteBatch& Delete(std::string key);
};

struct WriteResult {
  uint64_t revision = 0;
  CommitId commit;
  int64_t time_ns = 0;
  std::vector<VersionId> versions;  // one per KeyWrite, in order
};

// A version received from another replica, with its original id.
struct ReplicatedVersion {
  VersionId id;
  std::string key;
  std::vector<VersionId> parents;
  std::optional<std::string> value;  // nullopt: tombstone
  int64_t time_ns = 0;
  ReplicaId replica;
  bool json = false;  // Version::json
};

// Everything one replication step applies atomically.
struct ReplicationBatch {
  std::string branch = "main";  // created empty when missing
  // Each one's parents must be known locally, come earlier in this batch,
  // or be named in `dropped`. A version already stored (on any branch) is
  // not stored again but is placed among the heads like the others
  // (ApplyReplicated).
  std::vector<ReplicatedVersion> versions;
  // Versions already stored here, placed among their keys' heads after
  // `versions`, as if received again: a head change that wrote no new
  // version on the other replica (a fast-forward merge, a reset).
  // NotFound when one is not stored.
  std::vector<VersionId> heads;
  // Parents the sending replica no longer holds (its retention dropped
  // them): a received version may name one that is not stored here, and
  // is stored as a tail, as compaction leaves a kept version whose parents
  // it dropped.
  std::vector<VersionId> dropped;
  // Stored in the same transaction as the versions: a peer's checkpoint.
  std::string peer;
  std::string checkpoint;
};

// What changed on a branch after a revision: the page of the changes feed
// replication reads (Store::Changes).
struct ChangesOptions {
  std::string branch = "main";
  uint64_t since = 0;  // revisions after this one
  std::string prefix;  // only keys that start with it
  // About this many keys per page: a page ends after the revision that
  // reached it (a revision is never split), or after max_revisions.
  size_t limit = 1000;
  uint64_t max_revisions = 100000;
};

struct KeyHeads {
  std::string key;
  std::vector<VersionId> heads;  // winner first, as KeyState::heads
};

struct Changes {
  // Each key changed on the branch in (since, through], once, by key, with
  // its heads now (which may be newer than `through`).
  std::vector<KeyHeads> keys;
  uint64_t through = 0;
  int64_t through_time_ns = 0;  // the commit time of revision `through`
  int64_t since_time_ns = 0;    // of revision `since` (0 for since = 0)
  uint64_t revision = 0;        // the newest; through == revision: caught up
};

struct BranchInfo {
  std::string name;
  uint64_t head_revision = 0;  // last revision that changed the branch
  CommitId head_commit;        // zero before the branch's first commit
  uint64_t created_revision = 0;
  int64_t created_time_ns = 0;
};

struct CommitInfo {
  CommitId id;
  std::vector<CommitId> parents;
  std::string branch;
  uint64_t revision = 0;
  int64_t time_ns = 0;
  std::vector<std::string> keys;  // keys the commit changed, sorted
};

struct DiffEntry {
  enum class Kind { kAdded, kRemoved, kModified };
  Kind kind;
  std::string key;
  std::optional<VersionId> from;  // winner on the "from" side
  std::optional<VersionId> to;    // winner on the "to" side
};

struct KeyListOptions {
  std::string prefix;
  std::string start_after;  // only keys greater than this
  size_t limit = 1000;
  bool include_deleted = false;  // list keys whose winner is a tombstone
  // Without include_deleted, still list a key whose winner is a tombstone
  // while another head holds a value: a write that a concurrent delete
  // hides, which someone should see to resolve.
  bool include_hidden_writes = false;
  bool with_values = false;  // fill KeyState::winner.value
  ReadPoint at;
};

// A range of version ids, as lowercase hex: an id is listed when its 64-digit
// hex sorts after gt and before lt (either may be a prefix of any length, or
// empty for no bound).
struct VersionListOptions {
  std::string gt;
  std::string lt;
  size_t limit = 1000;
};

// Which history a compaction keeps for keys starting with prefix (the rule
// with the longest matching prefix applies). A version is kept when either
// condition keeps it; heads are always kept.
struct RetentionRule {
  std::string prefix;
  std::optional<uint64_t> keep_last;       // the last N versions of a key
  std::optional<int64_t> keep_younger_ns;  // versions newer than now - T
  // A cache-like prefix: when the size bound is passed, whole keys under it
  // (every version, on every branch) are dropped, least recently read first.
  bool evictable = false;
  // Keys under it keep all their history and are never dropped, whatever
  // other rule matches them too (alone: no keep_last, keep_younger_ns or
  // evictable).
  bool protect = false;
};

// A bound on the data file: when what the rules keep would still take more
// than max_bytes, evictable keys are dropped until it takes at most
// low_water_bytes (or no evictable key is left).
struct SizeBound {
  uint64_t max_bytes = 0;
  uint64_t low_water_bytes = 0;  // below max_bytes
};

struct CompactOptions {
  std::vector<RetentionRule> rules;  // none: keep all history
  std::optional<SizeBound> size_bound;
  // Called now and then with (done, total) units of work; may be empty.
  // Writes may be made from it (a compaction does not hold the writer
  // lock while it copies).
  std::function<void(uint64_t, uint64_t)> progress;
  // When another compaction of the store is running (in any process):
  // false waits for it to end, true answers Conflict at once.
  bool if_idle = false;
  // Keys this store lets go of whole, on every branch, history and all (a
  // cluster node drops the keys a view change moved to another shard); may
  // be empty. Versions of such keys written while the compaction runs are
  // kept, as new keys.
  std::function<bool(std::string_view key)> drop_key;
};

struct CompactStats {
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  uint64_t versions_kept = 0;
  uint64_t versions_dropped = 0;
  // Keys the size bound dropped, least recently read first.
  std::vector<std::string> evicted_keys;
  // Whether the size bound was passed and dropping every evictable key it
  // could still left more than low_water_bytes (what may not be dropped
  // takes more).
  bool above_low_water = false;
};

struct CheckReport {
  std::vector<std::string> problems;  // empty when the store is sound
  // Revisions the store has counted since its creation (compacted ones
  // included), commits and versions, each verified.
  uint64_t revisions = 0;
  uint64_t commits = 0;
  uint64_t versions = 0;
  // Blocks of the data file: one per transaction since the last
  // compaction, and the compacted file's own.
  uint64_t blocks = 0;
  uint64_t bytes = 0;
  bool ok() const { return problems.empty(); }
};

// How the data file's bytes are spent (Store::Space).
struct SpaceInfo {
  uint64_t data_bytes = 0;  // the live data file
  // The part the last compaction wrote (0: never compacted); what follows
  // it, one block per transaction since.
  uint64_t compacted_bytes = 0;
  // The newest revision the last compaction took in, and its commit time
  // (0: never compacted).
  uint64_t compacted_revision = 0;
  int64_t compacted_time_ns = 0;
  // The bytes a compaction keeping all history would free: the tree nodes
  // in the file that nodes written after them replaced, and those of
  // deleted branches, as the blocks count them (store/format.h). Too high
  // by the nodes another branch's tree still shares. For a file whose
  // newest block was written before blocks counted (kvs 0.1), an estimate
  // from the newest blocks.
  uint64_t garbage_bytes = 0;
  double garbage_ratio() const {
    return data_bytes == 0 ? 0.0
                           : static_cast<double>(garbage_bytes) / static_cast<double>(data_bytes);
  }
};

// What the group commits of one Store object did since it was opened
// (Store::GroupCommits), for operators' metrics. A group commit writes the
// transactions that queued meanwhile with one write and one sync.
struct GroupCommitStats {
  // Upper bounds of the buckets: transactions per group, and seconds per
  // sync. Each bucket counts what is above the bound before and at most its
  // own; what is above the last bound counts only in the totals.
  static constexpr std::array<double, 8> kGroupBounds = {1, 2, 4, 8, 16, 32, 64, 128};
  static constexpr std::array<double, 12> kSyncBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
  std::array<uint64_t, kGroupBounds.size()> group_buckets{};
  uint64_t groups = 0;
  uint64_t transactions = 0;  // in all groups
  // The data file's syncs (SyncMode::kSync), by how long each took.
  std::array<uint64_t, kSyncBounds.size()> sync_buckets{};
  uint64_t syncs = 0;
  double sync_seconds = 0;  // in all
};

struct CopyOptions {
  // Whether the directory a copy goes to may hold something already (a
  // store no process has open, or anything else): it is moved aside, to
  // DIR.old-TIME (UTC, as DIR.old-20261120T100000Z), never deleted. Without
  // it, DIR must not exist or be empty.
  bool replace = false;
};

// Store::Upgrade's result: the store's format version before and after.
struct UpgradeInfo {
  uint32_t from = 0;
  uint32_t to = 0;
};

struct CopyInfo {
  uint64_t revision = 0;  // the newest revision the copy holds
  // The copy's own check, which found no problem: its revisions, commits,
  // versions and bytes.
  CheckReport check;
  // Where what DIR held was moved (CopyOptions::replace); empty when it
  // held nothing.
  std::string moved_aside;
};

// The id of a version with v's content (v.id is not read): the SHA-256
// ApplyReplicated verifies. For versions made outside Write, such as the
// merges every replica makes alike of a fork replication created.
VersionId VersionIdOf(const ReplicatedVersion& v);

// Whether a branch could have this name: 1 to 64 letters, digits, '-', '_'
// and '.' (InvalidArgument saying which rule it breaks). Every call that
// takes a branch name checks it; front ends check early with this.
Status CheckBranchName(std::string_view name);
// Whether a new branch should take this name: CheckBranchName, not '.'
// first (CreateBranch refuses that too), and not 64 hex digits, which the
// faces and the command line would read as a commit id wherever they take
// either (a branch of that name could be made, but never diffed).
Status CheckNewBranchName(std::string_view name);

// What Open found in the data file, for operators and tests.
struct RecoveryInfo {
  // Torn or corrupt bytes after the last commit: a write a crash cut short.
  // Counted only when no other writer was at work at open (bytes past the
  // last commit are then that writer's, still being written); 0 else.
  uint64_t dropped_tail_bytes = 0;
};

class Store {
 public:
  // Opens (or creates, see Options) the store in dir. Costs O(1) in the
  // store's size. Corruption when the files fail their checks; the tail of
  // a torn last write is ignored and reported in recovery_info(). Waits
  // while a CopyTo puts a store in place in dir, and then opens that one.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const Options& options);
  // Raises the store in dir to the newest format version, in place: a
  // store written by kvs 0.2 or earlier (format 1) then logs its
  // transactions (Options::checkpoint_blocks), and one written by kvs 0.3
  // (format 2) its branch trees' edits too, which the kvs that wrote it
  // cannot read, so Conflict while any process has the store open. Nothing
  // to do (from == to) for a store at the newest version. One rename of the
  // STORE file: a crash leaves it either way.
  static Result<UpgradeInfo> Upgrade(const std::string& dir, Env* env = nullptr);
  virtual ~Store() = default;

  virtual ReplicaId replica_id() const = 0;
  virtual RecoveryInfo recovery_info() const = 0;
  // The newest committed revision (0 for a new store).
  virtual Result<uint64_t> Revision() = 0;

  // ---- Writing --------------------------------------------------------
  // Applies every write of the batch as one transaction, or none of them.
  // InvalidArgument for bad keys, values or branch names; NotFound for an
  // unknown branch or parent; Conflict when expected_heads does not hold;
  // NoSpace when the file system is full, IOError when it failed otherwise.
  // Nothing of a failed write is left: the data file is cut back to the
  // last durable transaction before anyone builds on it, and the next write
  // works if the file system does. Only while that cut fails do writes
  // keep failing with the first error.
  virtual Result<WriteResult> Write(const WriteBatch& batch) = 0;

  // Copies key, with its whole history, from branch `from` into branch `to`
  // (created empty when missing) as one transaction: afterwards `to` has the
  // same heads, and reads of `to` at past revisions see the key as `from`
  // had it. NotFound when `from` is missing or has no live version of key;
  // Conflict, writing nothing, when `to` already holds the key with other
  // heads (copying again after no change is a no-op that succeeds).
  virtual Result<WriteResult> CopyKey(std::string_view key, std::string_view from,
                                      std::string_view to) = 0;

  // Moves branch `name` back (or over) to the state of commit `to` (of any
  // branch) as one new commit, whose parent is the branch's head commit and
  // whose keys are those the move changed: each takes its heads at `to`,
  // and a key `to` did not have gets a tombstone. Reads at revisions before
  // the move still see what the branch held then, and a reset to the former
  // head commit undoes it. NotFound for an unknown branch or commit;
  // Compacted when `to`'s state was removed by compaction.
  virtual Result<WriteResult> ResetBranch(std::string_view name, const CommitId& to) = 0;

  // Applies versions written elsewhere, verifying each id against its
  // content (InvalidArgument when it does not match: the sender's data,
  // not this store, is at fault; nothing is applied). Each
  // version, in batch order, joins its key's heads on the branch as replicas
  // agree whatever order versions reach them in: the heads become the
  // newest of the union of the heads and the version. A head the version
  // descends from stops being one (not only its direct parents), and a
  // version a head descends from (the branch is past it) changes nothing.
  // WriteResult::versions lists the versions newly stored.
  virtual Result<WriteResult> ApplyReplicated(const ReplicationBatch& batch) = 0;
  // The checkpoint last stored for peer; NotFound when none.
  virtual Result<std::string> Checkpoint(std::string_view peer) = 0;
  // Every checkpoint whose peer name starts with prefix, by name.
  virtual Result<std::vector<std::pair<std::string, std::string>>> Checkpoints(
      std::string_view prefix) = 0;
  // The keys changed on a branch after a revision, a page at a time, for
  // replication: it costs about the revisions read and keys listed, not
  // the store's size. NotFound for an unknown branch; InvalidArgument when
  // since is past the newest revision. A branch created after `since` has
  // keys no commit of it lists: start from the whole branch (ListKeys).
  virtual Result<Changes> ChangesSince(const ChangesOptions& options) = 0;

  // ---- Reading keys ---------------------------------------------------
  // NotFound when the key has no version on the branch at that point. A
  // deleted key is found, with winner.deleted set. A key found is noted as
  // read, for the size bound's "least recently read" (store/read_clock.h).
  virtual Result<KeyState> Get(std::string_view branch, std::string_view key,
                               const ReadPoint& at = ReadPoint::Latest()) = 0;
  // Keys in byte order.
  virtual Result<std::vector<KeyState>> ListKeys(std::string_view branch,
                                                 const KeyListOptions& options) = 0;
  // What the store holds of each of keys, all read from one state of the
  // store: one call for many keys (replication's diff). A branch the store
  // does not have holds no heads. InvalidArgument for a malformed key.
  virtual Result<std::vector<KeyPresence>> Presence(std::string_view branch,
                                                    const std::vector<std::string>& keys) = 0;

  // ---- Reading the version graph --------------------------------------
  virtual Result<Version> GetVersion(const VersionId& id, bool with_value) = 0;
  // Each of ids as GetVersion finds it (nullopt where it is not stored),
  // all read from one state of the store: one call for many ids.
  virtual Result<std::vector<std::optional<Version>>> GetVersions(const std::vector<VersionId>& ids,
                                                                  bool with_values) = 0;
  // Resolves a unique hex prefix (at least 8 digits) to a full id.
  virtual Result<VersionId> ResolveVersion(std::string_view hex_prefix) = 0;
  // Ancestors of id including itself, newest first (time, then id), each
  // once, skipping the first `skip`. Values filled when with_values.
  virtual Result<std::vector<Version>> History(const VersionId& id, size_t skip, size_t limit,
                                               bool with_values) = 0;
  // Versions that name id as a parent, by id.
  virtual Result<std::vector<Version>> Children(const VersionId& id) = 0;
  // The most recent common ancestors of ids (more than one on a tie);
  // empty when they share none.
  virtual Result<std::vector<Version>> CommonAncestors(const std::vector<VersionId>& ids) = 0;
  // Versions of key with no parents, by id.
  virtual Result<std::vector<Version>> Tails(std::string_view key) = 0;
  // Every version in the store (all keys, all branches), by id; values not
  // filled. InvalidArgument when a bound is not lowercase hex.
  virtual Result<std::vector<Version>> ListVersions(const VersionListOptions& options) = 0;

  // ---- Branches and commits -------------------------------------------
  // Creates branch name as a copy of from at point `at`, in O(1).
  virtual Result<BranchInfo> CreateBranch(std::string_view name, std::string_view from,
                                          const ReadPoint& at = ReadPoint::Latest()) = 0;
  virtual Result<std::vector<BranchInfo>> ListBranches() = 0;
  virtual Result<BranchInfo> GetBranch(std::string_view name) = 0;
  virtual Status DeleteBranch(std::string_view name) = 0;
  virtual Result<CommitInfo> GetCommit(const CommitId& id) = 0;
  // Keys whose winners differ between two branch states; costs
  // O(differences), not O(keys), when the states share structure.
  virtual Result<std::vector<DiffEntry>> Diff(std::string_view from_branch,
                                              const ReadPoint& from_at, std::string_view to_branch,
                                              const ReadPoint& to_at) = 0;

  // ---- Maintenance ----------------------------------------------------
  // Rewrites the store into a new file holding what the rules keep, and
  // publishes it by atomic rename. Readers and writers go on meanwhile:
  // writers wait only while it starts and while it publishes (a last
  // catch-up with what they committed meanwhile, costing what they
  // changed), readers never. One compaction runs at a time (see
  // CompactOptions::if_idle). A failed compaction (NoSpace, IOError) leaves
  // the store as it was, its unfinished file removed, as a failed write
  // does.
  // InvalidArgument for rules or a bound that contradict themselves.
  virtual Result<CompactStats> Compact(const CompactOptions& options) = 0;
  // When the newest transaction is a logged one (docs/storage.md, "The log
  // and checkpoints"), writes the index that the transactions since the
  // last checkpoint changed, as a block of no new revision, so that whoever
  // opens the store next replays nothing. kvs-fcgi calls it once the store
  // has been idle for a while. Otherwise, and in a store of format 1, it
  // writes nothing.
  virtual Status Checkpoint() = 0;
  // The size of the live data file, in bytes: what a SizeBound bounds.
  virtual Result<uint64_t> DataBytes() = 0;
  // The data file's size, its compacted part and its garbage. Costs about
  // a few dozen reads, not the store's size.
  virtual Result<SpaceInfo> Space() = 0;
  // What this object's group commits did since it was opened.
  virtual GroupCommitStats GroupCommits() = 0;
  // Reads and verifies every byte of the store.
  virtual Result<CheckReport> Check() = 0;
  // OK when the store can serve: its newest state reads, and no failed
  // write is pending. A write that failed is rolled back at once; when the
  // rollback fails too (a disk that went away, or stays full), every write
  // is refused with that error until one rolls back: Health returns it
  // meanwhile. For health checks; it costs about one read.
  virtual Status Health() = 0;
  // Makes dir a copy of this store as of its newest commit: every version,
  // branch, commit and checkpoint up to that revision, nothing of a later or
  // unfinished transaction. The copy is a store of its own with this one's
  // replica id, to stand in for it (a backup, or a backup restored). Writers
  // wait only while the newest commit is read, not for the copy, and a
  // compaction meanwhile, in any process, changes nothing in it. The copy is
  // checked (as Check) and synced before it takes dir's place, in one
  // rename: dir shows the whole copy or what it held before, never a part.
  // A crash meanwhile leaves at most an empty dir and a dir.partial-XXXXXX
  // beside it (holding, after the swap of a replace, what dir held).
  // Store::Open of dir waits meanwhile, then opens the copy.
  // dir's parent must exist. Conflict when a Store of any process (this
  // one included) has dir open; InvalidArgument when dir is not empty
  // (unless options.replace); Corruption when the copy fails its check (dir
  // is left as it was); IOError or NoSpace when the file system fails.
  virtual Result<CopyInfo> CopyTo(const std::string& dir, const CopyOptions& options = {}) = 0;
};

}  // namespace kvs

#endif  // KVS_STORE_H_
