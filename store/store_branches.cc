// Branches: creation (O(1): the new branch shares its source's tree),
// deletion, reset to a commit, and the diff of two branch states.
#include <algorithm>

#include "store/branch_edit.h"
#include "store/edit_log.h"
#include "store/format.h"
#include "store/store_impl.h"

namespace kvs {

Result<BranchInfo> StoreImpl::CreateBranch(std::string_view name, std::string_view from,
                                           const ReadPoint& at) {
  KVS_RETURN_IF_ERROR(ValidateNewBranchName(name));
  KVS_RETURN_IF_ERROR(ValidateBranchName(from));
  std::string new_name(name), source_name(from);
  BranchInfo info;
  ReadPoint point = at;
  auto result = RunTransaction(
      [&](TxnContext* ctx) -> Result<WriteResult> {
        if (ctx->global->Get(gkey::Branch(new_name)).ok()) {
          return Status::Conflict("branch '" + new_name + "' already exists");
        }
        BranchEntry source;
        if (point.kind == ReadPoint::Kind::kLatest) {
          auto value = ctx->global->Get(gkey::Branch(source_name));
          if (value.status().IsNotFound()) {
            return Status::NotFound("branch '" + source_name + "' does not exist");
          }
          if (!value.ok()) return value.status();
          KVS_ASSIGN_OR_RETURN(source, DecodeBranchEntry(*value));
        } else {
          // Past states are read from the last committed snapshot; this
          // transaction cannot see them any other way.
          KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
          KVS_ASSIGN_OR_RETURN(source, BranchAt(snap, source_name, point));
        }
        BranchEntry created = source;
        created.created_revision = ctx->revision;
        created.created_time_ns = ctx->time_ns;
        const std::string entry = EncodeBranchEntry(created);
        if (ctx->branch_log != nullptr && point.kind == ReadPoint::Kind::kLatest) {
          // Logged as a copy of the source's tree, which may be only in
          // this process's memory (store/edit_log.h).
          KVS_RETURN_IF_ERROR(PutUnlogged(ctx->global, gkey::Branch(new_name), entry));
          ctx->branch_log->CopyBranch(new_name, entry, source_name);
        } else {
          KVS_RETURN_IF_ERROR(ctx->global->Put(gkey::Branch(new_name), entry));
        }
        info = BranchInfo{new_name, created.head_revision, created.head_commit, ctx->revision,
                          ctx->time_ns};
        WriteResult r;
        r.revision = ctx->revision;
        r.time_ns = ctx->time_ns;
        r.commit = created.head_commit;
        return r;
      },
      0);
  if (!result.ok()) return result.status();
  return info;
}

namespace {

// The garbage that deleting branch leaves: the nodes of its tree that no
// other branch's tree shares.
Result<uint64_t> GarbageOfDeleting(const RecordSource& source, const BranchEntries& branches,
                                   const std::string& branch) {
  uint64_t root = 0;
  std::vector<uint64_t> others;
  for (const auto& [name, entry] : branches) {
    if (name == branch) {
      root = entry.root;
    } else {
      others.push_back(entry.root);
    }
  }
  return UnsharedBytes(source, root, others);
}

// Whether GarbageOfDeleting(before) still holds for now: the same branches,
// and branch's tree unchanged. The others may have been written: a write
// counts the nodes it replaces, those it shared with branch included.
bool SameGarbageOfDeleting(const BranchEntries& before, const BranchEntries& now,
                           const std::string& branch) {
  return std::equal(
      before.begin(), before.end(), now.begin(), now.end(), [&](const auto& a, const auto& b) {
        return a.first == b.first && (a.first != branch || a.second.root == b.second.root);
      });
}

}  // namespace

Status StoreImpl::DeleteBranch(std::string_view name) {
  KVS_RETURN_IF_ERROR(ValidateBranchName(name));
  if (name == "main") return Status::InvalidArgument("the main branch cannot be deleted");
  std::string branch(name);
  // The garbage the deletion leaves is counted without the writer lock, on
  // the newest state, and again under it only if the branch moved or a
  // branch came or went meanwhile: for a branch that has gone its own way
  // for long, the count reads much of its tree.
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  KVS_ASSIGN_OR_RETURN(BranchEntries before, ReadBranchEntries(snap, snap.head().root));
  KVS_ASSIGN_OR_RETURN(uint64_t garbage_before, GarbageOfDeleting(snap, before, branch));
  return RunTransaction(
             [&](TxnContext* ctx) -> Result<WriteResult> {
               auto value = ctx->global->Get(gkey::Branch(branch));
               if (value.status().IsNotFound()) {
                 return Status::NotFound("branch '" + branch + "' does not exist");
               }
               if (!value.ok()) return value.status();
               KVS_ASSIGN_OR_RETURN(BranchEntries now,
                                    ReadBranchEntries(*ctx->source, ctx->global_root));
               uint64_t garbage = garbage_before;
               if (!SameGarbageOfDeleting(before, now, branch)) {
                 KVS_ASSIGN_OR_RETURN(garbage, GarbageOfDeleting(*ctx->source, now, branch));
               }
               ctx->builder->AddSuperseded(garbage);
               KVS_RETURN_IF_ERROR(ctx->global->Delete(gkey::Branch(branch)));
               WriteResult r;
               r.revision = ctx->revision;
               r.time_ns = ctx->time_ns;
               return r;
             },
             0)
      .status();
}

namespace {

// The user keys with a history entry in one tree and not the other: every
// key whose state differs between the two trees is among them.
Result<std::vector<std::string>> TouchedKeys(const RecordSource& source, uint64_t root_a,
                                             uint64_t root_b) {
  std::vector<std::string> touched;
  KVS_RETURN_IF_ERROR(TreeDiff(source, root_a, root_b, "", "",
                               [&](std::string_view tree_key, std::optional<std::string_view>,
                                   std::optional<std::string_view>) -> Status {
                                 std::string_view key;
                                 uint64_t rev;
                                 if (!ParseBranchTreeKey(tree_key, &key, &rev)) {
                                   return Status::Corruption("malformed branch tree key");
                                 }
                                 if (touched.empty() || touched.back() != key) {
                                   touched.emplace_back(key);
                                 }
                                 return Status::OK();
                               }));
  return touched;
}

}  // namespace

Result<WriteResult> StoreImpl::ResetBranch(std::string_view name, const CommitId& to) {
  KVS_RETURN_IF_ERROR(ValidateBranchName(name));
  std::string branch(name);
  const ReplicaId replica = identity_.replica;
  return RunTransaction(
      [&](TxnContext* ctx) -> Result<WriteResult> {
        // The tree `to` left its branch with, read from the committed
        // snapshot. Read here, under the writer lock, so that no compaction
        // can come between: the offsets must be in the file this writes to.
        KVS_ASSIGN_OR_RETURN(CommitInfo commit, GetCommit(to));
        KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
        KVS_ASSIGN_OR_RETURN(uint64_t global_at, GlobalRootAt(snap, commit.revision));
        KVS_ASSIGN_OR_RETURN(BranchEntry then, ReadBranchEntry(snap, global_at, commit.branch));
        const uint64_t old_root = then.root;
        BranchEdit edit(ctx, branch);
        KVS_RETURN_IF_ERROR(edit.Load());
        KVS_ASSIGN_OR_RETURN(std::vector<std::string> keys,
                             TouchedKeys(*ctx->source, edit.root(), old_root));
        WriteResult result;
        result.revision = ctx->revision;
        result.time_ns = ctx->time_ns;
        for (const std::string& key : keys) {
          KVS_ASSIGN_OR_RETURN(std::optional<KeyEntry> was,
                               FindKeyEntry(*ctx->source, old_root, key, ~uint64_t{0}));
          KVS_ASSIGN_OR_RETURN(std::optional<KeyEntry> now, edit.Current(key));
          if (was) {
            if (!now || !SameHeads(*was, *now)) edit.SetEntry(key, std::move(*was));
            continue;
          }
          if (!now || now->heads.front().deleted) continue;
          // The key did not exist at `to`: it is deleted, by a tombstone
          // that replaces its current heads.
          VersionRecord tombstone;
          tombstone.key = key;
          tombstone.deleted = true;
          tombstone.time_ns = ctx->time_ns;
          tombstone.replica = replica;
          tombstone.revision = ctx->revision;
          std::vector<VersionId> parents;
          for (const HeadRef& h : now->heads) {
            tombstone.parents.push_back(ParentRef{h.id, h.offset});
            parents.push_back(h.id);
          }
          tombstone.id = ComputeVersionId(key, parents, true, false, std::string_view(),
                                          ctx->time_ns, replica);
          KVS_RETURN_IF_ERROR(edit.AddVersion(tombstone, now).status());
          result.versions.push_back(tombstone.id);
        }
        KVS_ASSIGN_OR_RETURN(result.commit, edit.Finish());
        return result;
      },
      0);
}

Result<std::vector<DiffEntry>> StoreImpl::Diff(std::string_view from_branch,
                                               const ReadPoint& from_at, std::string_view to_branch,
                                               const ReadPoint& to_at) {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  KVS_ASSIGN_OR_RETURN(BranchEntry a, BranchAt(snap, from_branch, from_at));
  KVS_ASSIGN_OR_RETURN(BranchEntry b, BranchAt(snap, to_branch, to_at));
  // Every key whose state differs has at least one history entry present on
  // one side only, so the tree diff (which skips shared subtrees) finds it;
  // then the key's current entries on both sides are compared.
  KVS_ASSIGN_OR_RETURN(std::vector<std::string> touched, TouchedKeys(snap, a.root, b.root));
  std::vector<DiffEntry> out;
  for (const std::string& key : touched) {
    KVS_ASSIGN_OR_RETURN(std::optional<KeyEntry> ea, FindKeyEntry(snap, a.root, key, ~uint64_t{0}));
    KVS_ASSIGN_OR_RETURN(std::optional<KeyEntry> eb, FindKeyEntry(snap, b.root, key, ~uint64_t{0}));
    bool live_a = ea && !ea->heads.front().deleted;
    bool live_b = eb && !eb->heads.front().deleted;
    std::optional<VersionId> wa, wb;
    if (live_a) wa = ea->heads.front().id;
    if (live_b) wb = eb->heads.front().id;
    if (live_a && !live_b) {
      out.push_back({DiffEntry::Kind::kRemoved, key, wa, std::nullopt});
    } else if (!live_a && live_b) {
      out.push_back({DiffEntry::Kind::kAdded, key, std::nullopt, wb});
    } else if (live_a && live_b && wa != wb) {
      out.push_back({DiffEntry::Kind::kModified, key, wa, wb});
    }
  }
  return out;
}

}  // namespace kvs
