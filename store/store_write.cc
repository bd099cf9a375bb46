// Transactions: the group commit, and the two transactions that add
// versions (local writes and replicated versions).
//
// The group commit follows LevelDB's DBImpl::Write: writers queue up; the
// one at the front becomes the leader, takes the interprocess writer lock,
// runs every queued transaction in order (each its own block, revision and
// commit, each checked against the state the previous one left), writes all
// blocks with one write and one fdatasync, and wakes the others with their
// results. A failed write or sync is sticky: the file's state after it is
// unknown, so the store refuses writes until it is reopened.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "store/format.h"
#include "store/store_impl.h"

namespace kvs {

struct StoreImpl::Writer {
  TxnFunction fn;
  size_t bytes_hint = 0;
  std::optional<Result<WriteResult>> result;
  std::condition_variable cv;
};

namespace {
constexpr size_t kMaxGroupWriters = 128;
}  // namespace

Result<WriteResult> StoreImpl::RunTransaction(TxnFunction fn, size_t bytes_hint) {
  Writer w;
  w.fn = std::move(fn);
  w.bytes_hint = bytes_hint;
  std::unique_lock<std::mutex> lock(write_mu_);
  writers_.push_back(&w);
  while (!w.result && writers_.front() != &w) w.cv.wait(lock);
  if (!w.result) CommitGroup(&lock);
  return std::move(*w.result);
}

void StoreImpl::CommitGroup(std::unique_lock<std::mutex>* lock) {
  // Take this group: the leader and whoever queued behind it, bounded.
  std::vector<Writer*> group;
  size_t bytes = 0;
  for (Writer* w : writers_) {
    if (!group.empty() &&
        (group.size() >= kMaxGroupWriters || bytes + w->bytes_hint > options_.max_group_bytes)) {
      break;
    }
    group.push_back(w);
    bytes += w->bytes_hint;
  }
  Status error = sticky_error_;
  lock->unlock();

  if (error.ok()) {
    std::lock_guard<WriterLock> writer_guard(*writer_lock_);
    // Another process may have compacted; follow it before appending.
    Result<Snapshot> snap = FollowCompaction();
    std::shared_ptr<DataFile> file = data();
    if (snap.ok()) snap = file->PrepareAppend();
    if (!snap.ok()) {
      error = snap.status();
    } else if (snap->head().moved) {
      error = Status::IOError("the data file was replaced during the write; retry");
    } else {
      CommitPoint head = snap->head();
      BlockBuilder builder(head.end, identity_.salt);
      LayeredSource source(&*snap, &builder);
      std::vector<Result<WriteResult>> results;
      // One global tree writer for the group: a transaction's flush keeps
      // its nodes, so the next one starts from the same paths, already
      // loaded. A failed transaction's edits are dropped with the writer.
      std::optional<TreeWriter> global;
      for (Writer* w : group) {
        builder.BeginBlock();
        if (!global) global.emplace(&source, head.root);
        TxnContext ctx{&source, &builder, &*global, head.revision + 1,
                       std::max(NowNs(), head.time_ns + 1)};
        Result<WriteResult> r = w->fn(&ctx);
        Status s = r.status();
        if (s.ok()) {
          s = global->Put(
              gkey::Revision(ctx.revision),
              EncodeRevisionEntry({builder.block_start(), ctx.commit_offset, ctx.time_ns}));
        }
        Result<uint64_t> root = s.ok() ? global->FlushAndKeep(&builder) : Result<uint64_t>(s);
        if (!root.ok()) {
          global.reset();
          builder.AbortBlock();
          results.push_back(root.status());
          continue;
        }
        uint64_t block = builder.block_start();
        uint64_t end = builder.EndBlock(ctx.revision, ctx.time_ns, *root, format::kKindTransaction);
        head = CommitPoint{ctx.revision, ctx.time_ns, *root, block, end, false, 0};
        results.push_back(std::move(r));
      }
      if (!builder.bytes().empty()) {
        error = file->Append(builder.bytes(), head, options_.sync == SyncMode::kSync);
      }
      if (error.ok()) {
        for (size_t i = 0; i < group.size(); ++i) group[i]->result = std::move(results[i]);
      }
    }
  }

  lock->lock();
  if (!error.ok()) {
    if (error.code() == Status::Code::kIOError && sticky_error_.ok()) sticky_error_ = error;
    for (Writer* w : group) w->result = Result<WriteResult>(error);
  }
  for (size_t i = 0; i < group.size(); ++i) {
    Writer* w = writers_.front();
    writers_.pop_front();
    if (i > 0) w->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
}

Result<Snapshot> StoreImpl::FollowCompaction() {
  // A compactor that crashed after publishing data.N+1 but before ending
  // data.N with its "moved" block leaves readers of data.N unaware; the
  // next writer finishes its job, so no write lands in a replaced file.
  std::shared_ptr<DataFile> file = data();
  if (env_->Exists(dir_ + "/" + DataFileName(file->generation() + 1))) {
    KVS_ASSIGN_OR_RETURN(uint64_t live, LiveGeneration(env_, dir_));
    KVS_RETURN_IF_ERROR(EndDataFileWithMove(file.get(), live, identity_.salt));
  }
  return Latest();
}

// ---- Adding versions ----------------------------------------------------------

namespace {

// The changes of one transaction to one branch, applied at the end so a
// key written twice (replication) reads its own pending state.
class BranchEdit {
 public:
  BranchEdit(TxnContext* ctx, std::string branch) : ctx_(ctx), branch_name_(std::move(branch)) {}

  // Reads the branch's current entry; with create_if_missing, a missing
  // branch starts empty here and is stored by Finish.
  Status Load(bool create_if_missing = false) {
    Result<BranchEntry> entry = ReadBranchEntryThrough();
    if (entry.status().IsNotFound() && create_if_missing) {
      branch_ = BranchEntry{0, 0, CommitId(), ctx_->revision, ctx_->time_ns};
      return Status::OK();
    }
    KVS_ASSIGN_OR_RETURN(branch_, std::move(entry));
    return Status::OK();
  }

  uint64_t root() const { return branch_.root; }

  // The key's current entry, including this transaction's changes.
  Result<std::optional<KeyEntry>> Current(const std::string& key) {
    auto it = pending_.find(key);
    if (it != pending_.end()) return std::optional<KeyEntry>(it->second);
    return FindKeyEntry(*ctx_->source, branch_.root, key, ctx_->revision);
  }

  // Stores version v (already hashed) and makes it a head of its key:
  // it replaces exactly its parents among the heads.
  Result<uint64_t> AddVersion(const VersionRecord& v) {
    uint64_t offset = ctx_->builder->Append(format::kVersionRecord, EncodeVersion(v));
    KVS_RETURN_IF_ERROR(ctx_->global->Put(gkey::Version(v.id), EncodeU64Value(offset)));
    bool has_stored_parent = false;
    for (const ParentRef& p : v.parents) {
      KVS_RETURN_IF_ERROR(ctx_->global->Put(gkey::Link(p.id, v.id), ""));
      has_stored_parent = has_stored_parent || p.offset != 0;
    }
    if (!has_stored_parent) KVS_RETURN_IF_ERROR(ctx_->global->Put(gkey::Tail(v.key, v.id), ""));

    std::string key(v.key);
    KVS_ASSIGN_OR_RETURN(std::optional<KeyEntry> current, Current(key));
    KeyEntry next;
    next.created_time_ns = current ? current->created_time_ns : v.time_ns;
    if (current) {
      for (const HeadRef& h : current->heads) {
        bool replaced = std::any_of(v.parents.begin(), v.parents.end(),
                                    [&](const ParentRef& p) { return p.id == h.id; });
        if (!replaced) next.heads.push_back(h);
      }
    }
    next.heads.push_back(HeadRef{v.id, offset, v.time_ns, v.deleted});
    SortHeads(&next.heads);
    pending_[key] = std::move(next);
    return offset;
  }

  // Makes entry the key's state here, as of this transaction.
  void SetEntry(const std::string& key, KeyEntry entry) {
    SortHeads(&entry.heads);
    pending_[key] = std::move(entry);
  }

  // Stages a branch tree entry written as it is (a key's past state copied
  // from another branch); Finish writes it before the pending entries.
  void CopyTreeEntry(std::string tree_key, std::string value) {
    copied_.emplace_back(std::move(tree_key), std::move(value));
  }

  // Writes the key entries, the branch's new root and (when anything
  // changed) a commit; returns the commit id (zero when none).
  Result<CommitId> Finish() {
    if (pending_.empty()) return CommitId();
    TreeWriter tree(ctx_->source, branch_.root);
    for (const auto& [tree_key, value] : copied_) KVS_RETURN_IF_ERROR(tree.Put(tree_key, value));
    std::vector<std::pair<std::string, std::vector<VersionId>>> changes;
    for (const auto& [key, entry] : pending_) {
      KVS_RETURN_IF_ERROR(tree.Put(BranchTreeKey(key, ctx_->revision), EncodeKeyEntry(entry)));
      std::vector<VersionId> heads;
      for (const HeadRef& h : entry.heads) heads.push_back(h.id);
      changes.emplace_back(key, std::move(heads));
    }
    KVS_ASSIGN_OR_RETURN(branch_.root, tree.Flush(ctx_->builder));

    CommitRecord commit;
    if (!branch_.head_commit.IsZero()) commit.parents.push_back(branch_.head_commit);
    commit.branch = branch_name_;
    commit.revision = ctx_->revision;
    commit.time_ns = ctx_->time_ns;
    commit.id = ComputeCommitId(branch_name_, commit.parents, ctx_->time_ns, changes);
    for (auto& change : changes) commit.keys.push_back(std::move(change.first));
    ctx_->commit_offset = ctx_->builder->Append(format::kCommitRecord, EncodeCommit(commit));
    KVS_RETURN_IF_ERROR(
        ctx_->global->Put(gkey::Commit(commit.id),
                          EncodeU64Value(ctx_->revision) + EncodeU64Value(ctx_->commit_offset)));

    branch_.head_revision = ctx_->revision;
    branch_.head_commit = commit.id;
    KVS_RETURN_IF_ERROR(ctx_->global->Put(gkey::Branch(branch_name_), EncodeBranchEntry(branch_)));
    return commit.id;
  }

 private:
  Result<BranchEntry> ReadBranchEntryThrough() {
    auto value = ctx_->global->Get(gkey::Branch(branch_name_));
    if (!value.ok()) {
      if (value.status().IsNotFound()) {
        return Status::NotFound("branch '" + branch_name_ + "' does not exist");
      }
      return value.status();
    }
    return DecodeBranchEntry(*value);
  }

  TxnContext* ctx_;
  std::string branch_name_;
  BranchEntry branch_;
  std::map<std::string, KeyEntry> pending_;  // sorted, so commits hash the same everywhere
  std::vector<std::pair<std::string, std::string>> copied_;
};

// The record offset of a stored version, read through the transaction's
// pending edits; NotFound when the version is not stored.
Result<uint64_t> StoredOffset(TxnContext* ctx, const VersionId& id) {
  auto value = ctx->global->Get(gkey::Version(id));
  if (!value.ok()) return value.status();
  return DecodeU64Value(*value);
}

std::string HeadList(const std::vector<VersionId>& ids) {
  std::string out;
  for (const VersionId& id : ids) out += (out.empty() ? "" : ", ") + id.Hex().substr(0, 12);
  return out.empty() ? "none" : out;
}

// The key entry whose heads are exactly the stored versions ids, winner
// first; it keeps the key's creation time when the key is already here.
Result<KeyEntry> AdoptedEntry(TxnContext* ctx, const std::string& key,
                              const std::vector<VersionId>& ids,
                              const std::optional<KeyEntry>& current) {
  KeyEntry entry;
  std::set<VersionId> seen;
  for (const VersionId& id : ids) {
    if (!seen.insert(id).second) continue;
    auto offset = StoredOffset(ctx, id);
    if (!offset.ok()) {
      return offset.status().IsNotFound()
                 ? Status::NotFound("version " + id.Hex() + " does not exist")
                 : offset.status();
    }
    KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(*ctx->source, *offset));
    if (v.key != key) {
      return Status::InvalidArgument("version " + id.Hex() + " belongs to key '" +
                                     std::string(v.key) + "', not '" + key + "'");
    }
    entry.heads.push_back(HeadRef{id, *offset, v.time_ns, v.deleted});
    if (entry.created_time_ns == 0 || v.time_ns < entry.created_time_ns) {
      entry.created_time_ns = v.time_ns;
    }
  }
  if (current) entry.created_time_ns = current->created_time_ns;
  SortHeads(&entry.heads);
  return entry;
}

Result<WriteResult> ApplyWrites(TxnContext* ctx, const WriteBatch& batch,
                                const ReplicaId& replica) {
  BranchEdit edit(ctx, batch.branch);
  KVS_RETURN_IF_ERROR(edit.Load());
  WriteResult result;
  result.revision = ctx->revision;
  result.time_ns = ctx->time_ns;
  for (const KeyWrite& w : batch.writes) {
    KVS_ASSIGN_OR_RETURN(std::optional<KeyEntry> current, edit.Current(w.key));
    std::vector<VersionId> heads;
    if (current) {
      for (const HeadRef& h : current->heads) heads.push_back(h.id);
    }
    if (w.expected_heads) {
      std::set<VersionId> want(w.expected_heads->begin(), w.expected_heads->end());
      if (want != std::set<VersionId>(heads.begin(), heads.end())) {
        return Status::Conflict("key '" + w.key + "' has heads " + HeadList(heads) +
                                ", not the expected " + HeadList(*w.expected_heads));
      }
    }
    if (w.adopt_heads && !w.adopt_heads->empty()) {
      KVS_ASSIGN_OR_RETURN(KeyEntry entry, AdoptedEntry(ctx, w.key, *w.adopt_heads, current));
      result.versions.push_back(entry.heads.front().id);
      edit.SetEntry(w.key, std::move(entry));
      continue;
    }
    VersionRecord v;
    v.key = w.key;
    v.value = w.value ? std::string_view(*w.value) : std::string_view();
    v.deleted = !w.value;
    v.time_ns = ctx->time_ns;
    v.replica = replica;
    v.revision = ctx->revision;
    if (w.parents) {
      for (const VersionId& p : *w.parents) {
        auto offset = StoredOffset(ctx, p);
        if (!offset.ok()) {
          return offset.status().IsNotFound()
                     ? Status::NotFound("parent version " + p.Hex() + " does not exist")
                     : offset.status();
        }
        KVS_ASSIGN_OR_RETURN(VersionRecord parent, ReadVersionAt(*ctx->source, *offset));
        if (parent.key != w.key) {
          return Status::InvalidArgument("parent version " + p.Hex() + " belongs to key '" +
                                         std::string(parent.key) + "', not '" + w.key + "'");
        }
        v.parents.push_back(ParentRef{p, *offset});
      }
    } else if (current) {
      for (const HeadRef& h : current->heads) v.parents.push_back(ParentRef{h.id, h.offset});
    }
    if (v.deleted && !w.parents && (!current || current->heads.front().deleted)) {
      return Status::NotFound("key '" + w.key + "' does not exist");
    }
    std::vector<VersionId> parent_ids;
    for (const ParentRef& p : v.parents) parent_ids.push_back(p.id);
    v.id = ComputeVersionId(v.key, parent_ids, v.deleted, v.value, v.time_ns, v.replica);
    KVS_RETURN_IF_ERROR(edit.AddVersion(v).status());
    result.versions.push_back(v.id);
  }
  KVS_ASSIGN_OR_RETURN(result.commit, edit.Finish());
  return result;
}

Result<WriteResult> ApplyReplicatedVersions(TxnContext* ctx, const ReplicationBatch& batch,
                                            const Options& options) {
  BranchEdit edit(ctx, batch.branch);
  KVS_RETURN_IF_ERROR(edit.Load());
  WriteResult result;
  result.revision = ctx->revision;
  result.time_ns = ctx->time_ns;
  for (const ReplicatedVersion& r : batch.versions) {
    KVS_RETURN_IF_ERROR(ValidateKey(r.key, options));
    std::string_view value = r.value ? std::string_view(*r.value) : std::string_view();
    if (ComputeVersionId(r.key, r.parents, !r.value, value, r.time_ns, r.replica) != r.id) {
      return Status::Corruption("version " + r.id.Hex() + " does not match its content");
    }
    if (StoredOffset(ctx, r.id).ok()) continue;  // already here
    VersionRecord v;
    v.id = r.id;
    v.key = r.key;
    v.value = value;
    v.deleted = !r.value;
    v.time_ns = r.time_ns;
    v.replica = r.replica;
    v.revision = ctx->revision;
    for (const VersionId& p : r.parents) {
      auto offset = StoredOffset(ctx, p);
      if (!offset.ok()) {
        return offset.status().IsNotFound()
                   ? Status::NotFound("version " + r.id.Hex() + " arrived before its parent " +
                                      p.Hex())
                   : offset.status();
      }
      v.parents.push_back(ParentRef{p, *offset});
    }
    KVS_RETURN_IF_ERROR(edit.AddVersion(v).status());
    result.versions.push_back(v.id);
  }
  KVS_ASSIGN_OR_RETURN(result.commit, edit.Finish());
  if (!batch.peer.empty()) {
    KVS_RETURN_IF_ERROR(ctx->global->Put(gkey::Peer(batch.peer), batch.checkpoint));
  }
  return result;
}

}  // namespace

Result<WriteResult> StoreImpl::Write(const WriteBatch& batch) {
  KVS_RETURN_IF_ERROR(ValidateBranchName(batch.branch));
  if (batch.writes.empty()) return Status::InvalidArgument("the transaction writes no key");
  if (batch.writes.size() > options_.max_writes_per_transaction) {
    return Status::InvalidArgument("the transaction writes " + std::to_string(batch.writes.size()) +
                                   " keys; the limit is " +
                                   std::to_string(options_.max_writes_per_transaction));
  }
  std::set<std::string_view> seen;
  size_t bytes = 0;
  for (const KeyWrite& w : batch.writes) {
    KVS_RETURN_IF_ERROR(ValidateKey(w.key, options_));
    if (!seen.insert(w.key).second) {
      return Status::InvalidArgument("key '" + w.key + "' is written twice in one transaction");
    }
    if (w.value && w.value->size() > options_.max_value_bytes) {
      return Status::InvalidArgument("the value of '" + w.key + "' is " +
                                     std::to_string(w.value->size()) + " bytes; the limit is " +
                                     std::to_string(options_.max_value_bytes));
    }
    bytes += w.key.size() + (w.value ? w.value->size() : 0);
  }
  ReplicaId replica = identity_.replica;
  return RunTransaction(
      [&batch, replica](TxnContext* ctx) { return ApplyWrites(ctx, batch, replica); }, bytes);
}

namespace {

bool SameHeads(const KeyEntry& a, const KeyEntry& b) {
  std::set<VersionId> ids_a, ids_b;
  for (const HeadRef& h : a.heads) ids_a.insert(h.id);
  for (const HeadRef& h : b.heads) ids_b.insert(h.id);
  return ids_a == ids_b;
}

Result<WriteResult> CopyKeyHistory(TxnContext* ctx, const std::string& key, const std::string& from,
                                   const std::string& to) {
  BranchEdit source(ctx, from);
  KVS_RETURN_IF_ERROR(source.Load());
  BranchEdit target(ctx, to);
  KVS_RETURN_IF_ERROR(target.Load(/*create_if_missing=*/true));
  // The key's entries on the source, newest first (see BranchTreeKey).
  std::vector<std::pair<std::string, std::string>> entries;
  TreeCursor cursor(ctx->source, source.root());
  KVS_RETURN_IF_ERROR(cursor.Seek(BranchTreeKey(key, ~uint64_t{0})));
  while (cursor.Valid()) {
    std::string_view found;
    uint64_t rev;
    if (!ParseBranchTreeKey(cursor.key(), &found, &rev)) {
      return Status::Corruption("malformed branch tree key");
    }
    if (found != key) break;
    entries.emplace_back(cursor.key(), cursor.value());
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  std::optional<KeyEntry> latest;
  if (!entries.empty()) {
    KVS_ASSIGN_OR_RETURN(latest, DecodeKeyEntry(entries.front().second));
  }
  if (!latest || latest->heads.front().deleted) {
    return Status::NotFound("key '" + key + "' does not exist on branch '" + from + "'");
  }
  WriteResult result;
  result.revision = ctx->revision;
  result.time_ns = ctx->time_ns;
  KVS_ASSIGN_OR_RETURN(std::optional<KeyEntry> existing, target.Current(key));
  if (existing) {
    if (!SameHeads(*existing, *latest)) {
      return Status::Conflict("key '" + key + "' already exists on branch '" + to +
                              "' with other versions; merge it instead");
    }
    return result;  // already copied; nothing changes
  }
  for (auto& [tree_key, value] : entries) {
    target.CopyTreeEntry(std::move(tree_key), std::move(value));
  }
  result.versions.push_back(latest->heads.front().id);
  target.SetEntry(key, std::move(*latest));
  KVS_ASSIGN_OR_RETURN(result.commit, target.Finish());
  return result;
}

}  // namespace

Result<WriteResult> StoreImpl::CopyKey(std::string_view key, std::string_view from,
                                       std::string_view to) {
  KVS_RETURN_IF_ERROR(ValidateKey(key, options_));
  KVS_RETURN_IF_ERROR(ValidateBranchName(from));
  KVS_RETURN_IF_ERROR(ValidateBranchName(to));
  if (from == to) return Status::InvalidArgument("a key cannot be copied onto its own branch");
  std::string k(key), f(from), t(to);
  return RunTransaction([&](TxnContext* ctx) { return CopyKeyHistory(ctx, k, f, t); }, 0);
}

Result<WriteResult> StoreImpl::ApplyReplicated(const ReplicationBatch& batch) {
  KVS_RETURN_IF_ERROR(ValidateBranchName(batch.branch));
  size_t bytes = 0;
  for (const ReplicatedVersion& v : batch.versions) {
    if (v.value && v.value->size() > options_.max_value_bytes) {
      return Status::InvalidArgument("a replicated value exceeds the value size limit");
    }
    bytes += v.key.size() + (v.value ? v.value->size() : 0);
  }
  const Options& options = options_;
  return RunTransaction(
      [&batch, &options](TxnContext* ctx) { return ApplyReplicatedVersions(ctx, batch, options); },
      bytes);
}

Result<std::string> StoreImpl::Checkpoint(std::string_view peer) {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  auto value = TreeGet(snap, snap.head().root, gkey::Peer(peer));
  if (value.status().IsNotFound()) {
    return Status::NotFound("no checkpoint for peer '" + std::string(peer) + "'");
  }
  return value;
}

}  // namespace kvs
