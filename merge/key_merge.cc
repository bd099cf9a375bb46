// Planning a one-key merge: the outcome and the write that carries it out.
#include "merge/key_merge.h"

#include <algorithm>
#include <vector>

namespace kvs::merge {
namespace {

// a's ids followed by those of b that a lacks.
std::vector<VersionId> Union(std::vector<VersionId> a, const std::vector<VersionId>& b) {
  for (const VersionId& id : b) {
    if (std::find(a.begin(), a.end(), id) == a.end()) a.push_back(id);
  }
  return a;
}

KeyWrite NewVersion(const std::string& key, std::optional<std::string> value,
                    std::vector<VersionId> parents, std::vector<VersionId> expected,
                    bool json = false) {
  return KeyWrite{key, std::move(value), std::move(parents), std::move(expected), std::nullopt,
                  json};
}

KeyWrite AdoptHeads(const std::string& key, std::vector<VersionId> heads,
                    std::vector<VersionId> expected) {
  return KeyWrite{key, std::nullopt, std::nullopt, std::move(expected), std::move(heads)};
}

}  // namespace

std::vector<VersionId> HeadIds(const KeyState& state) {
  std::vector<VersionId> ids;
  for (const Version& head : state.heads) ids.push_back(head.id);
  return ids;
}

std::vector<VersionId> HeadIds(const std::optional<KeyState>& state) {
  return state ? HeadIds(*state) : std::vector<VersionId>();
}

std::optional<std::string> LiveValue(const Version& v) {
  if (v.deleted) return std::nullopt;
  return v.value;
}

bool MergedIsJson(const std::optional<std::string>& merged, const std::optional<std::string>& ours,
                  bool ours_json, const std::optional<std::string>& theirs, bool theirs_json) {
  if (!merged) return false;
  if (merged == theirs) return theirs_json;
  if (merged == ours) return ours_json;
  return ours_json && theirs_json;
}

Result<std::optional<KeyState>> GetIfPresent(Store& store, const std::string& branch,
                                             const std::string& key, const ReadPoint& at) {
  auto state = store.Get(branch, key, at);
  if (state.status().IsNotFound()) return std::optional<KeyState>();
  if (!state.ok()) return state.status();
  return std::optional<KeyState>(std::move(state).value());
}

std::string_view KeyMergeOutcomeName(KeyMergePlan::Outcome outcome) {
  switch (outcome) {
    case KeyMergePlan::Outcome::kUpToDate:
      return "up_to_date";
    case KeyMergePlan::Outcome::kOverwrite:
      return "overwrite";
    case KeyMergePlan::Outcome::kFastForward:
      return "fast_forward";
    case KeyMergePlan::Outcome::kMerged:
      return "merged";
    case KeyMergePlan::Outcome::kKeptBoth:
      return "kept_both";
    case KeyMergePlan::Outcome::kConflict:
      return "conflict";
  }
  return "unknown";
}

Result<KeyMergePlan> PlanKeyMerge(Store& store, const KeyState& source,
                                  const std::optional<KeyState>& target,
                                  std::optional<MergeFunction> strategy) {
  using Outcome = KeyMergePlan::Outcome;
  const std::string& key = source.winner.key;
  std::vector<VersionId> source_heads = HeadIds(source);
  KeyMergePlan plan;
  if (!target) {
    plan.outcome = Outcome::kFastForward;
    plan.write = AdoptHeads(key, source_heads, {});
    return plan;
  }
  std::vector<VersionId> target_heads = HeadIds(*target);
  std::sort(source_heads.begin(), source_heads.end());
  std::sort(target_heads.begin(), target_heads.end());
  if (source_heads == target_heads) return plan;  // up to date
  std::vector<VersionId> both = Union(target_heads, source_heads);

  if (!strategy) {
    plan.outcome = Outcome::kOverwrite;
    plan.write = NewVersion(key, LiveValue(source.winner), both, target_heads, source.winner.json);
    return plan;
  }

  const Version& ours = target->winner;
  const Version& theirs = source.winner;
  KVS_ASSIGN_OR_RETURN(std::vector<Version> ancestors, store.CommonAncestors({ours.id, theirs.id}));
  auto is_ancestor = [&](const VersionId& id) {
    return std::any_of(ancestors.begin(), ancestors.end(),
                       [&](const Version& v) { return v.id == id; });
  };
  if (is_ancestor(theirs.id)) return plan;  // the target already has the source's change
  if (is_ancestor(ours.id) && target_heads.size() == 1) {
    plan.outcome = Outcome::kFastForward;
    plan.write = AdoptHeads(key, source_heads, target_heads);
    return plan;
  }

  MergeInput input;
  if (!ancestors.empty()) {
    // Several most recent common ancestors (criss-cross merges): the newest.
    KVS_ASSIGN_OR_RETURN(Version base, store.GetVersion(ancestors.front().id, true));
    input.base = LiveValue(base);
  }
  input.ours = {LiveValue(ours), ours.time_ns, ours.id.Hex()};
  input.theirs = {LiveValue(theirs), theirs.time_ns, theirs.id.Hex()};
  MergeOutcome merged = Merge(*strategy, input);
  switch (merged.kind) {
    case MergeOutcome::Kind::kValue: {
      plan.outcome = Outcome::kMerged;
      const bool json =
          MergedIsJson(merged.value, input.ours.value, ours.json, input.theirs.value, theirs.json);
      plan.write = NewVersion(key, std::move(merged.value), both, target_heads, json);
      break;
    }
    case MergeOutcome::Kind::kDeleted:
      plan.outcome = Outcome::kMerged;
      plan.write = NewVersion(key, std::nullopt, both, target_heads);
      break;
    case MergeOutcome::Kind::kKeepBoth:
      plan.outcome = Outcome::kKeptBoth;
      plan.write = AdoptHeads(key, both, target_heads);
      break;
    case MergeOutcome::Kind::kConflict:
      plan.outcome = Outcome::kConflict;
      plan.conflict = std::move(merged.reason);
      break;
  }
  return plan;
}

}  // namespace kvs::merge
