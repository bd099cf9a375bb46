// BranchEdit: staging a transaction's changes to one branch.
#include "store/branch_edit.h"

#include <algorithm>
#include <set>

#include "store/edit_log.h"
#include "store/format.h"

namespace kvs {

Status BranchEdit::Load(bool create_if_missing) {
  Result<BranchEntry> entry = ReadBranchEntryThrough();
  if (entry.status().IsNotFound() && create_if_missing) {
    branch_ = BranchEntry{0, 0, CommitId(), ctx_->revision, ctx_->time_ns};
  } else {
    KVS_ASSIGN_OR_RETURN(branch_, std::move(entry));
  }
  tree_.emplace(ctx_->source, branch_.root);
  return Status::OK();
}

Result<std::optional<KeyEntry>> BranchEdit::Current(const std::string& key) {
  auto it = pending_.find(key);
  if (it != pending_.end()) return std::optional<KeyEntry>(it->second);
  return FindKeyEntry(&*tree_, key, ctx_->revision);
}

Result<uint64_t> BranchEdit::StoreVersion(const VersionRecord& v) {
  const EncodedRecord record = EncodeVersion(v, ctx_->compact_records);
  uint64_t offset = ctx_->builder->Append(record.type, record.body);
  KVS_RETURN_IF_ERROR(PutIdEntry(ctx_, gkey::Version(v.id), EncodeU64Value(offset)));
  bool has_stored_parent = false;
  for (const ParentRef& p : v.parents) {
    if (p.offset == 0) continue;  // not stored here: a replica's retention dropped it
    KVS_RETURN_IF_ERROR(PutIdEntry(ctx_, gkey::Link(p.id, v.id), ""));
    has_stored_parent = true;
  }
  if (!has_stored_parent) KVS_RETURN_IF_ERROR(PutIdEntry(ctx_, gkey::Tail(v.key, v.id), ""));
  return offset;
}

Result<uint64_t> BranchEdit::AddVersion(const VersionRecord& v,
                                        const std::optional<KeyEntry>& current) {
  KVS_ASSIGN_OR_RETURN(uint64_t offset, StoreVersion(v));
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
  pending_[std::string(v.key)] = std::move(next);
  return offset;
}

void BranchEdit::SetEntry(const std::string& key, KeyEntry entry) {
  SortHeads(&entry.heads);
  pending_[key] = std::move(entry);
}

void BranchEdit::AddMergedCommits(const std::vector<CommitId>& commits) {
  merged_commits_.insert(merged_commits_.end(), commits.begin(), commits.end());
}

void BranchEdit::CopyTreeEntry(std::string tree_key, std::string value) {
  copied_.emplace_back(std::move(tree_key), std::move(value));
}

Result<CommitId> BranchEdit::Finish() {
  if (pending_.empty()) return CommitId();
  // The copied entries first, then the pending ones.
  std::vector<std::pair<std::string, std::string>> tree_puts = std::move(copied_);
  std::vector<std::pair<std::string, std::vector<VersionId>>> changes;
  for (const auto& [key, entry] : pending_) {
    tree_puts.emplace_back(BranchTreeKey(key, ctx_->revision),
                           EncodeKeyEntry(entry, ctx_->compact_records));
    std::vector<VersionId> heads;
    for (const HeadRef& h : entry.heads) heads.push_back(h.id);
    changes.emplace_back(key, std::move(heads));
  }
  const uint64_t loaded_root = branch_.root;
  // A transaction this large is a checkpoint (kLoggedEditsMax): its tree
  // goes straight to the block, unless it shares nodes only in memory,
  // which a node in the file cannot name.
  const bool logged = ctx_->branch_log != nullptr &&
                      (tree_puts.size() <= kLoggedEditsMax || IsVirtual(loaded_root));
  for (const auto& [tree_key, value] : tree_puts) KVS_RETURN_IF_ERROR(tree_->Put(tree_key, value));
  KVS_ASSIGN_OR_RETURN(branch_.root, tree_->Flush(logged ? ctx_->branch_nodes : ctx_->builder));

  CommitRecord commit;
  if (!branch_.head_commit.IsZero()) commit.parents.push_back(branch_.head_commit);
  for (const CommitId& merged : merged_commits_) {
    auto stored = IdEntryThrough(ctx_, gkey::Commit(merged));
    if (stored.status().IsNotFound()) {
      return Status::NotFound("commit " + merged.Hex() + " does not exist");
    }
    if (!stored.ok()) return stored.status();
    if (std::find(commit.parents.begin(), commit.parents.end(), merged) == commit.parents.end()) {
      commit.parents.push_back(merged);
    }
  }
  commit.branch = branch_name_;
  commit.revision = ctx_->revision;
  commit.time_ns = ctx_->time_ns;
  commit.id = ComputeCommitId(branch_name_, commit.parents, ctx_->time_ns, changes);
  for (auto& change : changes) commit.keys.push_back(std::move(change.first));
  const EncodedRecord record = EncodeCommit(commit, ctx_->compact_records);
  ctx_->commit_offset = ctx_->builder->Append(record.type, record.body);
  KVS_RETURN_IF_ERROR(
      PutIdEntry(ctx_, gkey::Commit(commit.id),
                 EncodeU64Value(ctx_->revision) + EncodeU64Value(ctx_->commit_offset)));

  branch_.head_revision = ctx_->revision;
  branch_.head_commit = commit.id;
  const std::string entry = EncodeBranchEntry(branch_);
  if (!logged) {
    KVS_RETURN_IF_ERROR(ctx_->global->Put(gkey::Branch(branch_name_), entry));
    return commit.id;
  }
  // Logged as one op 3 edit, the tree's nodes being only in this process.
  // Its readers apply the puts to the tree the branch's entry names when
  // they reach the edit, which must be the tree they were applied to here.
  Result<BranchEntry> now = ReadBranchEntryThrough();
  if (!now.ok() && !now.status().IsNotFound()) return now.status();
  if ((now.ok() ? now->root : 0) != loaded_root) {
    return Status::Conflict("branch '" + branch_name_ + "' was changed twice in one transaction");
  }
  KVS_RETURN_IF_ERROR(PutUnlogged(ctx_->global, gkey::Branch(branch_name_), entry));
  ctx_->branch_log->PutBranch(branch_name_, entry, tree_puts);
  return commit.id;
}

Result<BranchEntry> BranchEdit::ReadBranchEntryThrough() {
  auto value = ctx_->global->Get(gkey::Branch(branch_name_));
  if (!value.ok()) {
    if (value.status().IsNotFound()) {
      return Status::NotFound("branch '" + branch_name_ + "' does not exist");
    }
    return value.status();
  }
  return DecodeBranchEntry(*value);
}

bool SameHeads(const KeyEntry& a, const KeyEntry& b) {
  std::set<VersionId> ids_a, ids_b;
  for (const HeadRef& h : a.heads) ids_a.insert(h.id);
  for (const HeadRef& h : b.heads) ids_b.insert(h.id);
  return ids_a == ids_b;
}

Status PutIdEntry(TxnContext* ctx, std::string key, std::string value) {
  if (ctx->ids == nullptr) return ctx->global->Put(key, value);
  ctx->ids->Put(std::move(key), std::move(value));
  return Status::OK();
}

Result<std::string> IdEntryThrough(TxnContext* ctx, std::string_view key) {
  if (ctx->ids != nullptr) {
    if (const std::string* pending = ctx->ids->Find(key)) return *pending;
  }
  auto value = ctx->global->Get(key);
  if (!value.status().IsNotFound()) return value;
  if (!ctx->runs) {
    KVS_ASSIGN_OR_RETURN(std::vector<RunEntry> runs, ReadRuns(*ctx->source, ctx->global_root));
    ctx->runs = std::move(runs);
  }
  return RunsGet(*ctx->source, *ctx->runs, key);
}

Result<uint64_t> StoredOffset(TxnContext* ctx, const VersionId& id) {
  KVS_ASSIGN_OR_RETURN(std::string value, IdEntryThrough(ctx, gkey::Version(id)));
  return DecodeU64Value(value);
}

}  // namespace kvs
