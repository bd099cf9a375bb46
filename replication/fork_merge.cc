// Merging replicated forks alike on every replica (replication/fork_merge.h).
#include "replication/fork_merge.h"

#include <algorithm>
#include <cstdint>

#include "merge/key_merge.h"
#include "replication/local_peer.h"

namespace kvs::replication {
namespace {

// How deep MergedValue recurses through criss-cross merges before it
// settles for the first version's value.
constexpr int kMaxBaseDepth = 8;

bool HasId(const std::vector<Version>& versions, const VersionId& id) {
  return std::any_of(versions.begin(), versions.end(),
                     [&](const Version& v) { return v.id == id; });
}

// The value that merging versions (none an ancestor of another) with f
// makes, folding them in id order, each against its common ancestors with
// those merged before it, themselves merged this way (as git's recursive
// merge makes a virtual base): so a merge of x and y starts from
// MergedValue of their most recent common ancestors, and when replicas
// merged different parts of a fork and then met (a criss-cross), no side's
// change counts twice, as it would for a counter. nullopt: none, or deleted.
Result<std::optional<std::string>> MergedValue(Store& store, std::vector<Version> versions,
                                               merge::MergeFunction f, int depth) {
  if (versions.empty()) return std::optional<std::string>();
  std::sort(versions.begin(), versions.end(),
            [](const Version& p, const Version& q) { return p.id < q.id; });
  KVS_ASSIGN_OR_RETURN(Version first, store.GetVersion(versions[0].id, true));
  std::optional<std::string> value = merge::LiveValue(first);
  for (size_t i = 1; i < versions.size() && depth < kMaxBaseDepth; ++i) {
    KVS_ASSIGN_OR_RETURN(Version next, store.GetVersion(versions[i].id, true));
    // The most recent common ancestors of those merged so far and next.
    std::vector<Version> common;
    for (size_t j = 0; j < i; ++j) {
      KVS_ASSIGN_OR_RETURN(std::vector<Version> shared,
                           store.CommonAncestors({versions[j].id, next.id}));
      for (Version& v : shared) {
        if (!HasId(common, v.id)) common.push_back(std::move(v));
      }
    }
    std::vector<Version> newest;
    for (const Version& p : common) {
      bool below_another = false;
      for (const Version& q : common) {
        if (p.id == q.id) continue;
        KVS_ASSIGN_OR_RETURN(std::vector<Version> pq, store.CommonAncestors({p.id, q.id}));
        if (pq.size() == 1 && pq[0].id == p.id) below_another = true;
      }
      if (!below_another) newest.push_back(p);
    }
    merge::MergeInput input;
    KVS_ASSIGN_OR_RETURN(input.base, MergedValue(store, newest, f, depth + 1));
    input.ours = {value, first.time_ns, first.id.Hex()};
    input.theirs = {merge::LiveValue(next), next.time_ns, next.id.Hex()};
    merge::MergeOutcome merged = merge::Merge(f, input);
    if (merged.kind == merge::MergeOutcome::Kind::kValue) {
      value = std::move(merged.value);
    } else if (merged.kind == merge::MergeOutcome::Kind::kDeleted) {
      value.reset();
    } else {
      break;  // they do not merge: the value so far
    }
  }
  return value;
}

}  // namespace

Result<std::optional<ReplicatedVersion>> ForkMergeVersion(Store& store, const Version& a,
                                                          const Version& b,
                                                          merge::MergeFunction f) {
  merge::MergeInput input;
  KVS_ASSIGN_OR_RETURN(std::vector<Version> ancestors, store.CommonAncestors({a.id, b.id}));
  KVS_ASSIGN_OR_RETURN(input.base, MergedValue(store, std::move(ancestors), f, 0));
  input.ours = {merge::LiveValue(a), a.time_ns, a.id.Hex()};
  input.theirs = {merge::LiveValue(b), b.time_ns, b.id.Hex()};
  merge::MergeOutcome merged = merge::Merge(f, input);
  ReplicatedVersion v;
  switch (merged.kind) {
    case merge::MergeOutcome::Kind::kValue:
      v.json =
          merge::MergedIsJson(merged.value, input.ours.value, a.json, input.theirs.value, b.json);
      v.value = std::move(merged.value);
      break;
    case merge::MergeOutcome::Kind::kDeleted:
      break;
    case merge::MergeOutcome::Kind::kKeepBoth:
    case merge::MergeOutcome::Kind::kConflict:
      return std::optional<ReplicatedVersion>();
  }
  v.key = a.key;
  v.parents = {a.id, b.id};
  v.time_ns = std::max(a.time_ns, b.time_ns) + 1;
  v.replica = ReplicaId();
  v.id = VersionIdOf(v);
  return std::optional<ReplicatedVersion>(std::move(v));
}

Result<bool> MergeFork(Store& store, const std::string& branch, const std::string& key,
                       merge::MergeFunction f) {
  size_t before = SIZE_MAX;
  for (;;) {
    KVS_ASSIGN_OR_RETURN(std::vector<Version> heads, BranchHeads(store, branch, key));
    if (heads.size() < 2) return true;
    // Each merge replaces two heads by one; anything else (a writer adding
    // heads as fast) is left to the next apply.
    if (heads.size() >= before) return false;
    before = heads.size();
    std::sort(heads.begin(), heads.end(),
              [](const Version& x, const Version& y) { return x.id < y.id; });
    KVS_ASSIGN_OR_RETURN(Version a, store.GetVersion(heads[0].id, true));
    KVS_ASSIGN_OR_RETURN(Version b, store.GetVersion(heads[1].id, true));
    KVS_ASSIGN_OR_RETURN(std::optional<ReplicatedVersion> merge, ForkMergeVersion(store, a, b, f));
    if (!merge) return false;
    ReplicationBatch batch;
    batch.branch = branch;
    batch.versions.push_back(std::move(*merge));
    KVS_RETURN_IF_ERROR(store.ApplyReplicated(batch).status());
  }
}

std::optional<merge::MergeFunction> ForkMergeFunction(const std::vector<merge::MergeRule>& rules,
                                                      const std::string& key) {
  const merge::MergeFunction f = merge::FunctionFor(key, {&rules});
  if (f == merge::MergeFunction::kKeep || f == merge::MergeFunction::kReject) return std::nullopt;
  return f;
}

}  // namespace kvs::replication
