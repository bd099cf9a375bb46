// Reads: keys as of a read point, the version graph, commits. Readers take
// no lock: each call works on one Snapshot, which stays consistent however
// many transactions commit meanwhile.
#include <algorithm>
#include <cctype>
#include <memory_resource>
#include <set>
#include <unordered_set>

#include "store/coding.h"
#include "store/format.h"
#include "store/store_impl.h"

namespace kvs {

namespace {

Result<uint64_t> LookupVersionOffset(const Snapshot& snap, const VersionId& id) {
  auto value = IdEntryGet(snap, snap.head().root, gkey::Version(id));
  if (value.status().IsNotFound())
    return Status::NotFound("version " + id.Hex() + " does not exist");
  if (!value.ok()) return value.status();
  return DecodeU64Value(*value);
}

Result<VersionRecord> LookupVersion(const Snapshot& snap, const VersionId& id) {
  KVS_ASSIGN_OR_RETURN(uint64_t offset, LookupVersionOffset(snap, id));
  KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(snap, offset));
  if (v.id != id) return Status::Corruption("the index points version " + id.Hex() + " elsewhere");
  return v;
}

}  // namespace

// ---- Read points --------------------------------------------------------------

Result<uint64_t> StoreImpl::ResolveRevision(const Snapshot& snap, const ReadPoint& at) {
  uint64_t latest = snap.head().revision;
  switch (at.kind) {
    case ReadPoint::Kind::kLatest:
      return latest;
    case ReadPoint::Kind::kRevision:
      if (at.revision > latest) {
        return Status::InvalidArgument("revision " + std::to_string(at.revision) +
                                       " is in the future; the newest is " +
                                       std::to_string(latest));
      }
      return at.revision;
    case ReadPoint::Kind::kTime: {
      // Commit times increase with revisions: binary search the 'R' index
      // for the last revision at or before the time.
      auto time_of = [&](uint64_t r) -> Result<int64_t> {
        KVS_ASSIGN_OR_RETURN(std::string v, TreeGet(snap, snap.head().root, gkey::Revision(r)));
        KVS_ASSIGN_OR_RETURN(RevisionEntry e, DecodeRevisionEntry(v));
        return e.time_ns;
      };
      KVS_ASSIGN_OR_RETURN(int64_t first, time_of(0));
      if (at.time_ns < first) return Status::NotFound("the store did not exist at that time");
      uint64_t lo = 0, hi = latest;  // invariant: time(lo) <= t
      while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        KVS_ASSIGN_OR_RETURN(int64_t t, time_of(mid));
        if (t <= at.time_ns) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
      return lo;
    }
    case ReadPoint::Kind::kCommit: {
      auto v = IdEntryGet(snap, snap.head().root, gkey::Commit(at.commit));
      if (v.status().IsNotFound()) {
        return Status::NotFound("commit " + at.commit.Hex() + " does not exist");
      }
      if (!v.ok()) return v.status();
      if (v->size() != 16) return Status::Corruption("malformed commit index entry");
      return DecodeFixed64(v->data());
    }
  }
  return Status::InvalidArgument("unknown read point");
}

Result<uint64_t> StoreImpl::GlobalRootAt(const Snapshot& snap, uint64_t revision) {
  if (revision == snap.head().revision) return snap.head().root;
  KVS_ASSIGN_OR_RETURN(std::string v, TreeGet(snap, snap.head().root, gkey::Revision(revision)));
  KVS_ASSIGN_OR_RETURN(RevisionEntry e, DecodeRevisionEntry(v));
  if (e.block == 0) {
    return Status::Compacted(
        "the state of the whole store at revision " + std::to_string(revision) +
        " was removed by compaction: branches, diffs and resets can start only from states "
        "written since the last compaction. Each key's own history is kept as the retention "
        "rules say, so reading a key as of that revision still works, and so does the log");
  }
  KVS_ASSIGN_OR_RETURN(CommitPoint point, snap.ReadCommitPoint(e.block));
  if (point.logged()) return LoggedRoot(&windows_, snap, point);
  return point.root;
}

Result<BranchEntry> StoreImpl::BranchAt(const Snapshot& snap, std::string_view name,
                                        const ReadPoint& at) {
  KVS_RETURN_IF_ERROR(ValidateBranchName(name));
  if (at.kind == ReadPoint::Kind::kLatest) return ReadBranchEntry(snap, snap.head().root, name);
  KVS_ASSIGN_OR_RETURN(uint64_t revision, ResolveRevision(snap, at));
  // A branch unchanged since then is in that state now, whether or not a
  // compaction removed the tree of that revision (a branch's head commit
  // always names its current state).
  auto now = ReadBranchEntry(snap, snap.head().root, name);
  if (now.ok() && now->created_revision <= revision && now->head_revision <= revision) return now;
  KVS_ASSIGN_OR_RETURN(uint64_t root, GlobalRootAt(snap, revision));
  return ReadBranchEntry(snap, root, name);
}

// ---- Keys ---------------------------------------------------------------------

Result<KeyState> StoreImpl::ToKeyState(const RecordSource& source, const KeyEntry& entry,
                                       uint64_t revision, bool with_value) {
  KeyState state;
  state.revision = revision;
  state.created_time_ns = entry.created_time_ns;
  for (size_t i = 0; i < entry.heads.size(); ++i) {
    KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(source, entry.heads[i].offset));
    if (v.id != entry.heads[i].id) {
      return Status::Corruption("a key entry points version " + entry.heads[i].id.Hex() +
                                " elsewhere");
    }
    state.heads.push_back(ToVersion(v, false));
    if (i == 0) state.winner = ToVersion(v, with_value);
  }
  return state;
}

Result<KeyState> StoreImpl::Get(std::string_view branch, std::string_view key,
                                const ReadPoint& at) {
  KVS_RETURN_IF_ERROR(ValidateKey(key, kMaxKeyBytes));
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  KVS_ASSIGN_OR_RETURN(uint64_t revision, ResolveRevision(snap, at));
  KVS_RETURN_IF_ERROR(ValidateBranchName(branch));
  KVS_ASSIGN_OR_RETURN(BranchEntry b, ReadBranchEntry(snap, snap.head().root, branch));
  uint64_t entry_revision = 0;
  KVS_ASSIGN_OR_RETURN(std::optional<KeyEntry> entry,
                       FindKeyEntry(snap, b.root, key, revision, &entry_revision));
  if (!entry) {
    return Status::NotFound("key '" + std::string(key) + "' does not exist on branch '" +
                            std::string(branch) + "'" +
                            (at.kind == ReadPoint::Kind::kLatest ? "" : " at that point"));
  }
  reads_->Touch(key, NowNs());
  return ToKeyState(snap, *entry, entry_revision, true);
}

Result<std::vector<KeyState>> StoreImpl::ListKeys(std::string_view branch,
                                                  const KeyListOptions& options) {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  KVS_ASSIGN_OR_RETURN(uint64_t revision, ResolveRevision(snap, options.at));
  KVS_RETURN_IF_ERROR(ValidateBranchName(branch));
  KVS_ASSIGN_OR_RETURN(BranchEntry b, ReadBranchEntry(snap, snap.head().root, branch));
  std::vector<KeyState> out;
  // Tree keys are key 0x00 ~rev, and keys hold no 0x00, so key + 0x01 sorts
  // after every entry of key and before every longer key.
  std::string seek = options.prefix;
  if (!options.start_after.empty()) {
    std::string after = options.start_after + '\x01';
    if (after > seek) seek = after;
  }
  TreeCursor cursor(&snap, b.root);
  KVS_RETURN_IF_ERROR(cursor.Seek(seek));
  while (cursor.Valid() && out.size() < options.limit) {
    std::string_view tree_key;
    uint64_t rev;
    if (!ParseBranchTreeKey(cursor.key(), &tree_key, &rev)) {
      return Status::Corruption("malformed branch tree key");
    }
    std::string key(tree_key);
    if (key.compare(0, options.prefix.size(), options.prefix) != 0) break;
    if (rev > revision) KVS_RETURN_IF_ERROR(cursor.Seek(BranchTreeKey(key, revision)));
    std::string_view found_key;
    if (cursor.Valid() && ParseBranchTreeKey(cursor.key(), &found_key, &rev) && found_key == key) {
      KVS_ASSIGN_OR_RETURN(KeyEntry entry, DecodeKeyEntry(cursor.value()));
      if (options.include_deleted || !entry.heads.front().deleted ||
          (options.include_hidden_writes &&
           std::any_of(entry.heads.begin(), entry.heads.end(),
                       [](const HeadRef& h) { return !h.deleted; }))) {
        KVS_ASSIGN_OR_RETURN(KeyState state, ToKeyState(snap, entry, rev, options.with_values));
        out.push_back(std::move(state));
      }
    }
    KVS_RETURN_IF_ERROR(cursor.Seek(key + '\x01'));
  }
  return out;
}

Result<std::vector<KeyPresence>> StoreImpl::Presence(std::string_view branch,
                                                     const std::vector<std::string>& keys) {
  KVS_RETURN_IF_ERROR(ValidateBranchName(branch));
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  auto b = ReadBranchEntry(snap, snap.head().root, branch);
  if (!b.ok() && !b.status().IsNotFound()) return b.status();
  std::vector<KeyPresence> out(keys.size());
  GlobalCursor tails(&snap, snap.head().root);  // reads the runs once, on its first seek
  for (size_t i = 0; i < keys.size(); ++i) {
    KVS_RETURN_IF_ERROR(ValidateKey(keys[i], kMaxKeyBytes));
    if (b.ok()) {
      uint64_t revision = 0;
      KVS_ASSIGN_OR_RETURN(std::optional<KeyEntry> entry,
                           FindKeyEntry(snap, b->root, keys[i], snap.head().revision, &revision));
      if (entry) {
        KVS_ASSIGN_OR_RETURN(KeyState state, ToKeyState(snap, *entry, revision, false));
        out[i].heads = std::move(state.heads);
      }
    }
    out[i].stored = !out[i].heads.empty();
    if (!out[i].stored) {
      // Every stored version of a key descends from one of its tails.
      const std::string prefix = gkey::TailPrefix(keys[i]);
      KVS_RETURN_IF_ERROR(tails.Seek(prefix));
      out[i].stored = tails.Valid() && tails.key().substr(0, prefix.size()) == prefix;
    }
  }
  return out;
}

// ---- The version graph ------------------------------------------------------------

Result<Version> StoreImpl::GetVersion(const VersionId& id, bool with_value) {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  KVS_ASSIGN_OR_RETURN(VersionRecord v, LookupVersion(snap, id));
  return ToVersion(v, with_value);
}

Result<std::vector<std::optional<Version>>> StoreImpl::GetVersions(
    const std::vector<VersionId>& ids, bool with_values) {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  std::vector<std::optional<Version>> out;
  out.reserve(ids.size());
  for (const VersionId& id : ids) {
    auto v = LookupVersion(snap, id);
    if (v.status().IsNotFound()) {
      out.emplace_back();
      continue;
    }
    if (!v.ok()) return v.status();
    out.push_back(ToVersion(*v, with_values));
  }
  return out;
}

Result<VersionId> StoreImpl::ResolveVersion(std::string_view hex) {
  if (hex.size() < 8 || hex.size() > 64) {
    return Status::InvalidArgument("a version id prefix has 8 to 64 hex digits");
  }
  std::string full(hex);
  std::transform(full.begin(), full.end(), full.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  full.resize(64, '0');
  KVS_ASSIGN_OR_RETURN(Hash low, Hash::FromHex(full));
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  GlobalCursor cursor(&snap, snap.head().root);
  KVS_RETURN_IF_ERROR(cursor.Seek(gkey::Version(low)));
  std::vector<VersionId> matches;
  while (cursor.Valid() && matches.size() < 2 && cursor.key().size() == 33 &&
         cursor.key()[0] == 'V') {
    Hash h;
    std::memcpy(h.bytes.data(), cursor.key().data() + 1, 32);
    if (h.Hex().compare(0, hex.size(), full, 0, hex.size()) != 0) break;
    matches.push_back(h);
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  if (matches.empty()) return Status::NotFound("no version id starts with " + std::string(hex));
  if (matches.size() > 1) {
    return Status::Ambiguous("more than one version id starts with " + std::string(hex));
  }
  return matches.front();
}

Result<std::vector<Version>> StoreImpl::History(const VersionId& id, size_t skip, size_t limit,
                                                bool with_values) {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  // Newest first: a max-heap on (time, id), fed with parents as versions
  // are visited; parents are reached by their record offsets, no lookups.
  // Records are decoded once, when queued (their views point into the
  // snapshot's mapping, which outlives the walk), and moved, not copied,
  // out of the heap. A long history is mostly a chain, one version per
  // step, where nothing is reached twice: only the ancestors of a merge
  // can be (a version newer than it is no ancestor of it), so the set of
  // queued ids starts at the first merge. It takes its nodes from one
  // arena: a node allocated and freed per step cost as much as decoding
  // the version.
  auto older = [](const VersionRecord& a, const VersionRecord& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.id < b.id;
  };
  std::vector<VersionRecord> frontier;
  std::pmr::monotonic_buffer_resource arena;
  std::pmr::unordered_set<VersionId, HashHasher> queued(&arena);
  bool merged = false;  // a version with two or more parents was visited
  KVS_ASSIGN_OR_RETURN(VersionRecord first, LookupVersion(snap, id));
  frontier.push_back(std::move(first));
  std::vector<Version> out;
  out.reserve(std::min<size_t>(limit, 1024));
  while (!frontier.empty() && out.size() < limit) {
    std::pop_heap(frontier.begin(), frontier.end(), older);
    VersionRecord v = std::move(frontier.back());
    frontier.pop_back();
    if (skip > 0) {
      --skip;
    } else {
      out.push_back(ToVersion(v, with_values));
    }
    merged = merged || v.parents.size() > 1;
    for (const ParentRef& p : v.parents) {
      if (p.offset == 0 || (merged && !queued.insert(p.id).second)) continue;
      KVS_ASSIGN_OR_RETURN(VersionRecord parent, ReadVersionAt(snap, p.offset));
      if (parent.id != p.id) return Status::Corruption("a parent link points to the wrong version");
      frontier.push_back(std::move(parent));
      std::push_heap(frontier.begin(), frontier.end(), older);
    }
  }
  return out;
}

Result<std::vector<Version>> StoreImpl::Children(const VersionId& id) {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  KVS_RETURN_IF_ERROR(LookupVersionOffset(snap, id).status());
  std::string prefix = gkey::LinkPrefix(id);
  GlobalCursor cursor(&snap, snap.head().root);
  KVS_RETURN_IF_ERROR(cursor.Seek(prefix));
  std::vector<Version> out;
  for (; cursor.Valid() && cursor.key().substr(0, prefix.size()) == prefix;) {
    if (cursor.key().size() != prefix.size() + 32) return Status::Corruption("malformed link");
    Hash child;
    std::memcpy(child.bytes.data(), cursor.key().data() + prefix.size(), 32);
    KVS_ASSIGN_OR_RETURN(VersionRecord v, LookupVersion(snap, child));
    out.push_back(ToVersion(v, false));
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

Result<std::vector<Version>> StoreImpl::CommonAncestors(const std::vector<VersionId>& ids) {
  if (ids.empty()) return Status::InvalidArgument("common ancestors of no versions");
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  // Walks back from one version, collecting every ancestor (itself too).
  auto ancestors =
      [&](uint64_t offset) -> Result<std::unordered_map<VersionId, uint64_t, HashHasher>> {
    std::unordered_map<VersionId, uint64_t, HashHasher> seen;
    std::vector<uint64_t> stack{offset};
    while (!stack.empty()) {
      uint64_t at = stack.back();
      stack.pop_back();
      KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(snap, at));
      if (!seen.emplace(v.id, at).second) continue;
      for (const ParentRef& p : v.parents) {
        if (p.offset != 0 && !seen.count(p.id)) stack.push_back(p.offset);
      }
    }
    return seen;
  };
  std::unordered_map<VersionId, uint64_t, HashHasher> common;
  for (size_t i = 0; i < ids.size(); ++i) {
    KVS_ASSIGN_OR_RETURN(uint64_t offset, LookupVersionOffset(snap, ids[i]));
    KVS_ASSIGN_OR_RETURN(auto mine, ancestors(offset));
    if (i == 0) {
      common = std::move(mine);
    } else {
      std::erase_if(common, [&](const auto& kv) { return !mine.count(kv.first); });
    }
  }
  // The most recent common ancestors are those no other common ancestor
  // descends from: drop everything reachable from a common ancestor's parents.
  std::unordered_set<VersionId, HashHasher> dominated;
  std::vector<uint64_t> stack;
  for (const auto& [cid, offset] : common) {
    KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(snap, offset));
    for (const ParentRef& p : v.parents) {
      if (p.offset != 0) stack.push_back(p.offset);
    }
  }
  while (!stack.empty()) {
    uint64_t at = stack.back();
    stack.pop_back();
    KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(snap, at));
    if (!dominated.insert(v.id).second) continue;
    for (const ParentRef& p : v.parents) {
      if (p.offset != 0) stack.push_back(p.offset);
    }
  }
  std::vector<Version> out;
  for (const auto& [cid, offset] : common) {
    if (dominated.count(cid)) continue;
    KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(snap, offset));
    out.push_back(ToVersion(v, false));
  }
  std::sort(out.begin(), out.end(), [](const Version& a, const Version& b) {
    return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.id > b.id;
  });
  return out;
}

Result<std::vector<Version>> StoreImpl::Tails(std::string_view key) {
  KVS_RETURN_IF_ERROR(ValidateKey(key, kMaxKeyBytes));
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  std::string prefix = gkey::TailPrefix(key);
  GlobalCursor cursor(&snap, snap.head().root);
  KVS_RETURN_IF_ERROR(cursor.Seek(prefix));
  std::vector<Version> out;
  while (cursor.Valid() && cursor.key().substr(0, prefix.size()) == prefix) {
    if (cursor.key().size() != prefix.size() + 32) return Status::Corruption("malformed tail");
    Hash id;
    std::memcpy(id.bytes.data(), cursor.key().data() + prefix.size(), 32);
    KVS_ASSIGN_OR_RETURN(VersionRecord v, LookupVersion(snap, id));
    out.push_back(ToVersion(v, false));
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

Result<std::vector<Version>> StoreImpl::ListVersions(const VersionListOptions& options) {
  for (const std::string* bound : {&options.gt, &options.lt}) {
    if (bound->size() > 64 || bound->find_first_not_of("0123456789abcdef") != std::string::npos) {
      return Status::InvalidArgument(
          "a version id bound has at most 64 lowercase hex digits, not '" + *bound + "'");
    }
  }
  // The smallest id whose hex sorts after gt: gt padded with zeros (an id
  // equal to a full-length gt is skipped below).
  std::string low = options.gt;
  low.resize(64, '0');
  KVS_ASSIGN_OR_RETURN(Hash start, Hash::FromHex(low));
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  GlobalCursor cursor(&snap, snap.head().root);
  KVS_RETURN_IF_ERROR(cursor.Seek(gkey::Version(start)));
  std::vector<Version> out;
  while (cursor.Valid() && out.size() < options.limit) {
    if (cursor.key().size() != 33 || cursor.key()[0] != 'V') break;
    Hash id;
    std::memcpy(id.bytes.data(), cursor.key().data() + 1, 32);
    std::string hex = id.Hex();
    if (!options.lt.empty() && hex.compare(options.lt) >= 0) break;
    if (hex != options.gt) {
      KVS_ASSIGN_OR_RETURN(uint64_t offset, DecodeU64Value(cursor.value()));
      KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(snap, offset));
      if (v.id != id) return Status::Corruption("the index points version " + hex + " elsewhere");
      out.push_back(ToVersion(v, false));
    }
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

// ---- Branches and commits -------------------------------------------------------------

namespace {
BranchInfo ToBranchInfo(std::string name, const BranchEntry& e) {
  return BranchInfo{std::move(name), e.head_revision, e.head_commit, e.created_revision,
                    e.created_time_ns};
}
}  // namespace

Result<std::vector<BranchInfo>> StoreImpl::ListBranches() {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  KVS_ASSIGN_OR_RETURN(BranchEntries branches, ReadBranchEntries(snap, snap.head().root));
  std::vector<BranchInfo> out;
  for (auto& [name, entry] : branches) out.push_back(ToBranchInfo(std::move(name), entry));
  return out;
}

Result<BranchInfo> StoreImpl::GetBranch(std::string_view name) {
  KVS_RETURN_IF_ERROR(ValidateBranchName(name));
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  KVS_ASSIGN_OR_RETURN(BranchEntry e, ReadBranchEntry(snap, snap.head().root, name));
  return ToBranchInfo(std::string(name), e);
}

Result<CommitInfo> StoreImpl::GetCommit(const CommitId& id) {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  auto v = IdEntryGet(snap, snap.head().root, gkey::Commit(id));
  if (v.status().IsNotFound()) return Status::NotFound("commit " + id.Hex() + " does not exist");
  if (!v.ok()) return v.status();
  if (v->size() != 16) return Status::Corruption("malformed commit index entry");
  KVS_ASSIGN_OR_RETURN(RecordView rec, snap.ReadRecord(DecodeFixed64(v->data() + 8)));
  if (!IsCommitRecord(rec.type)) return Status::Corruption("commit index points astray");
  KVS_ASSIGN_OR_RETURN(CommitRecord c, DecodeCommit(rec.type, rec.body));
  if (c.id != id) return Status::Corruption("commit index points to another commit");
  return CommitInfo{c.id, c.parents, c.branch, c.revision, c.time_ns, c.keys};
}

}  // namespace kvs
