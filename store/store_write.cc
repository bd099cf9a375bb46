// The transactions that add versions: local writes, copies of a key's
// history into another branch, and replicated versions. Each runs inside
// the group commit (store/group_commit.cc).
#include <algorithm>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <vector>

#include "store/branch_edit.h"
#include "store/format.h"
#include "store/store_impl.h"

namespace kvs {

namespace {

std::string HeadList(const std::vector<VersionId>& ids) {
  std::string out;
  for (const VersionId& id : ids) out += (out.empty() ? "" : ", ") + id.Hex().substr(0, 12);
  return out.empty() ? "none" : out;
}

// A stored version a write names (what: "version", "parent version"), read
// and checked to belong to key: NotFound when it is not stored,
// InvalidArgument when it is another key's.
struct NamedVersion {
  uint64_t offset;
  VersionRecord record;
};
Result<NamedVersion> ReadNamedVersion(TxnContext* ctx, const VersionId& id, const std::string& key,
                                      std::string_view what) {
  auto offset = StoredOffset(ctx, id);
  if (!offset.ok()) {
    return offset.status().IsNotFound()
               ? Status::NotFound(std::string(what) + " " + id.Hex() + " does not exist")
               : offset.status();
  }
  KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(*ctx->source, *offset));
  if (v.key != key) {
    return Status::InvalidArgument(std::string(what) + " " + id.Hex() + " belongs to key '" +
                                   std::string(v.key) + "', not '" + key + "'");
  }
  return NamedVersion{*offset, v};
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
    KVS_ASSIGN_OR_RETURN(NamedVersion v, ReadNamedVersion(ctx, id, key, "version"));
    entry.heads.push_back(HeadRef{id, v.offset, v.record.time_ns, v.record.deleted});
    if (entry.created_time_ns == 0 || v.record.time_ns < entry.created_time_ns) {
      entry.created_time_ns = v.record.time_ns;
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
    v.json = w.value && w.json;
    v.time_ns = ctx->time_ns;
    v.replica = replica;
    v.revision = ctx->revision;
    if (w.parents) {
      for (const VersionId& p : *w.parents) {
        KVS_ASSIGN_OR_RETURN(NamedVersion parent,
                             ReadNamedVersion(ctx, p, w.key, "parent version"));
        v.parents.push_back(ParentRef{p, parent.offset});
      }
    } else if (current) {
      for (const HeadRef& h : current->heads) v.parents.push_back(ParentRef{h.id, h.offset});
    }
    if (v.deleted && !w.parents && (!current || current->heads.front().deleted)) {
      return Status::NotFound("key '" + w.key + "' does not exist");
    }
    std::vector<VersionId> parent_ids;
    for (const ParentRef& p : v.parents) parent_ids.push_back(p.id);
    v.id = ComputeVersionId(v.key, parent_ids, v.deleted, v.json, v.value, v.time_ns, v.replica);
    KVS_RETURN_IF_ERROR(edit.AddVersion(v, current).status());
    result.versions.push_back(v.id);
  }
  edit.AddMergedCommits(batch.merged_commits);
  KVS_ASSIGN_OR_RETURN(result.commit, edit.Finish());
  return result;
}

// Ancestry among the versions a replication batch places: the batch's own
// as received, the rest as stored. A version is stored after all of its
// ancestors (their parents must be present first), in an earlier revision
// or earlier in this batch, so a walk back from b looking for a skips every
// version stored before a: it costs about what was stored since a, not the
// key's whole history (nor, for a key whose history the batch brings, all
// of the batch's versions of it).
class Ancestry {
 public:
  explicit Ancestry(TxnContext* ctx) : ctx_(ctx) {}

  // A version of this batch: stored (or found stored) in this transaction.
  void Add(const VersionId& id, std::vector<VersionId> parents) {
    nodes_[id] = Node{std::move(parents), ctx_->revision, ++added_};
  }

  // Whether a is an ancestor of b (a version is not its own).
  Result<bool> IsAncestor(const VersionId& a, const VersionId& b) {
    KVS_ASSIGN_OR_RETURN(const Node* from, Find(a));
    if (from == nullptr) return false;
    KVS_ASSIGN_OR_RETURN(const Node* start, Find(b));
    if (start == nullptr) return false;
    std::vector<VersionId> stack = start->parents;
    std::set<VersionId> seen;
    while (!stack.empty()) {
      VersionId id = stack.back();
      stack.pop_back();
      if (id == a) return true;
      if (!seen.insert(id).second) continue;
      KVS_ASSIGN_OR_RETURN(const Node* node, Find(id));
      if (node == nullptr || node->StoredBefore(*from)) continue;  // gone, or older than a
      stack.insert(stack.end(), node->parents.begin(), node->parents.end());
    }
    return false;
  }

 private:
  struct Node {
    std::vector<VersionId> parents;
    uint64_t revision = 0;  // that stored it here
    uint64_t added = 0;     // its place in this batch (from 1); 0: stored before it
    bool StoredBefore(const Node& other) const {
      return std::tie(revision, added) < std::tie(other.revision, other.added);
    }
  };

  // The version's node, read once per batch: every head of a key is
  // compared with the received version both ways. nullptr when the version
  // is neither in the batch nor stored (a parent a compaction dropped).
  Result<const Node*> Find(const VersionId& id) {
    if (auto it = nodes_.find(id); it != nodes_.end()) return &it->second;
    auto offset = StoredOffset(ctx_, id);
    if (offset.status().IsNotFound()) return static_cast<const Node*>(nullptr);
    if (!offset.ok()) return offset.status();
    KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(*ctx_->source, *offset));
    Node& node = nodes_[id];
    for (const ParentRef& p : v.parents) node.parents.push_back(p.id);
    node.revision = v.revision;
    return &node;
  }

  TxnContext* ctx_;
  std::map<VersionId, Node> nodes_;  // the batch's, and the stored ones read so far
  uint64_t added_ = 0;
};

// Makes version r (stored at offset) a head of its key on the edited
// branch as the replicas agree: the heads become the newest of the union of
// the branch's heads and r. A head r descends from stops being one; r does
// not become one when a head descends from it (the branch has moved past
// it) or already is one.
Status PlaceReplicatedHead(BranchEdit* edit, Ancestry* ancestry, const std::string& key,
                           const HeadRef& head) {
  KVS_ASSIGN_OR_RETURN(std::optional<KeyEntry> current, edit->Current(key));
  KeyEntry next;
  next.created_time_ns = current ? current->created_time_ns : head.time_ns;
  for (const HeadRef& h : current ? current->heads : std::vector<HeadRef>()) {
    if (h.id == head.id) return Status::OK();
    KVS_ASSIGN_OR_RETURN(bool behind, ancestry->IsAncestor(head.id, h.id));
    if (behind) return Status::OK();
    KVS_ASSIGN_OR_RETURN(bool replaced, ancestry->IsAncestor(h.id, head.id));
    if (!replaced) next.heads.push_back(h);
  }
  next.heads.push_back(head);
  edit->SetEntry(key, std::move(next));
  return Status::OK();
}

Result<WriteResult> ApplyReplicatedVersions(TxnContext* ctx, const ReplicationBatch& batch) {
  BranchEdit edit(ctx, batch.branch);
  KVS_RETURN_IF_ERROR(edit.Load(/*create_if_missing=*/true));
  WriteResult result;
  result.revision = ctx->revision;
  result.time_ns = ctx->time_ns;
  Ancestry ancestry(ctx);
  const std::set<VersionId> dropped(batch.dropped.begin(), batch.dropped.end());
  for (const ReplicatedVersion& r : batch.versions) {
    KVS_RETURN_IF_ERROR(ValidateKey(r.key, kMaxKeyBytes));
    if (VersionIdOf(r) != r.id) {
      return Status::InvalidArgument("version " + r.id.Hex() +
                                     " does not match its content: its id is not the hash of "
                                     "the key, value, parents, time and replica sent with it");
    }
    auto stored = StoredOffset(ctx, r.id);
    if (!stored.ok() && !stored.status().IsNotFound()) return stored.status();
    uint64_t offset = stored.ok() ? *stored : 0;
    if (!stored.ok()) {
      VersionRecord v;
      v.id = r.id;
      v.key = r.key;
      v.value = r.value ? std::string_view(*r.value) : std::string_view();
      v.deleted = !r.value;
      v.json = r.value && r.json;
      v.time_ns = r.time_ns;
      v.replica = r.replica;
      v.revision = ctx->revision;
      for (const VersionId& p : r.parents) {
        auto parent = StoredOffset(ctx, p);
        if (parent.status().IsNotFound() && dropped.count(p) > 0) {
          v.parents.push_back(ParentRef{p, 0});
          continue;
        }
        if (!parent.ok()) {
          return parent.status().IsNotFound()
                     ? Status::NotFound("version " + r.id.Hex() + " arrived before its parent " +
                                        p.Hex())
                     : parent.status();
        }
        v.parents.push_back(ParentRef{p, *parent});
      }
      KVS_ASSIGN_OR_RETURN(offset, edit.StoreVersion(v));
      ancestry.Add(r.id, r.parents);
      result.versions.push_back(v.id);
    }
    KVS_RETURN_IF_ERROR(
        PlaceReplicatedHead(&edit, &ancestry, r.key, HeadRef{r.id, offset, r.time_ns, !r.value}));
  }
  for (const VersionId& id : batch.heads) {
    auto offset = StoredOffset(ctx, id);
    if (offset.status().IsNotFound()) {
      return Status::NotFound("version " + id.Hex() + " is to be a head here but is not stored");
    }
    if (!offset.ok()) return offset.status();
    KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(*ctx->source, *offset));
    if (v.id != id) {
      return Status::Corruption("the index points version " + id.Hex() + " elsewhere");
    }
    KVS_RETURN_IF_ERROR(PlaceReplicatedHead(&edit, &ancestry, std::string(v.key),
                                            HeadRef{id, *offset, v.time_ns, v.deleted}));
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
  std::vector<std::string_view> keys;
  keys.reserve(batch.writes.size());
  size_t bytes = 0;
  for (const KeyWrite& w : batch.writes) {
    KVS_RETURN_IF_ERROR(ValidateKey(w.key, options_.max_key_bytes));
    if (w.value && w.value->size() > options_.max_value_bytes) {
      return Status::InvalidArgument("the value of '" + w.key + "' is " +
                                     std::to_string(w.value->size()) + " bytes; the limit is " +
                                     std::to_string(options_.max_value_bytes));
    }
    bytes += w.key.size() + (w.value ? w.value->size() : 0);
    keys.push_back(w.key);
  }
  // Sorted, a key written twice is next to itself: a set of a bulk load's
  // 5,000 keys took a twentieth of its time.
  std::sort(keys.begin(), keys.end());
  if (auto twice = std::adjacent_find(keys.begin(), keys.end()); twice != keys.end()) {
    return Status::InvalidArgument("key '" + std::string(*twice) +
                                   "' is written twice in one transaction");
  }
  ReplicaId replica = identity_.replica;
  return RunTransaction(
      [&batch, replica](TxnContext* ctx) { return ApplyWrites(ctx, batch, replica); }, bytes);
}

namespace {

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
  KVS_RETURN_IF_ERROR(ValidateKey(key, kMaxKeyBytes));
  KVS_RETURN_IF_ERROR(ValidateBranchName(from));
  KVS_RETURN_IF_ERROR(ValidateNewBranchName(to));
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
  return RunTransaction([&batch](TxnContext* ctx) { return ApplyReplicatedVersions(ctx, batch); },
                        bytes);
}

}  // namespace kvs
