// Planning a whole-branch merge.
#include "merge/branch_merge.h"

#include <fnmatch.h>

#include <tuple>

namespace kvs::merge {
namespace {

// The value a planned merge leaves the key reading as: a fast-forward the
// source's, kept heads the newer of both (the winner rule), else what the
// write stores.
// What the key reads as after the plan: its value (nullopt: deleted) and
// whether that value is JSON text.
std::pair<std::optional<std::string>, bool> ValueAfter(const KeyMergePlan& plan,
                                                       const KeyState& source,
                                                       const std::optional<KeyState>& target) {
  const Version* shown = nullptr;
  if (plan.outcome == KeyMergePlan::Outcome::kFastForward) {
    shown = &source.winner;
  } else if (plan.outcome == KeyMergePlan::Outcome::kKeptBoth) {
    shown = !target || std::tie(source.winner.time_ns, source.winner.id) >
                           std::tie(target->winner.time_ns, target->winner.id)
                ? &source.winner
                : &target->winner;
  }
  if (shown != nullptr) {
    if (shown->deleted) return {std::nullopt, false};
    return {shown->value, shown->json};
  }
  return {plan.write->value, plan.write->json};
}

}  // namespace

MergeFunction FunctionFor(const std::string& key,
                          std::initializer_list<const std::vector<MergeRule>*> rule_lists) {
  for (const std::vector<MergeRule>* rules : rule_lists) {
    for (const MergeRule& rule : *rules) {
      if (fnmatch(rule.pattern.c_str(), key.c_str(), 0) == 0) return rule.function;
    }
  }
  return MergeFunction::kReject;
}

Result<BranchMergePlan> PlanBranchMerge(
    Store& store, const std::string& from, const std::string& into,
    const std::function<MergeFunction(const std::string&)>& function_for) {
  KVS_ASSIGN_OR_RETURN(BranchInfo source_branch, store.GetBranch(from));
  KVS_RETURN_IF_ERROR(store.GetBranch(into).status());
  KVS_ASSIGN_OR_RETURN(std::vector<DiffEntry> diff,
                       store.Diff(into, ReadPoint::Latest(), from, ReadPoint::Latest()));
  BranchMergePlan plan;
  plan.batch.branch = into;
  if (!source_branch.head_commit.IsZero()) {
    plan.batch.merged_commits.push_back(source_branch.head_commit);
  }
  for (const DiffEntry& entry : diff) {
    KVS_ASSIGN_OR_RETURN(std::optional<KeyState> source, GetIfPresent(store, from, entry.key));
    KVS_ASSIGN_OR_RETURN(std::optional<KeyState> target, GetIfPresent(store, into, entry.key));
    if (!source) continue;  // only the target has the key
    KVS_ASSIGN_OR_RETURN(KeyMergePlan key_plan,
                         PlanKeyMerge(store, *source, target, function_for(entry.key)));
    if (key_plan.outcome == KeyMergePlan::Outcome::kConflict) {
      plan.conflicts.push_back({entry.key, key_plan.conflict});
      continue;
    }
    if (!key_plan.write) {
      ++plan.up_to_date;
      continue;
    }
    auto [value, json] = ValueAfter(key_plan, *source, target);
    plan.changes.push_back({entry.key, key_plan.outcome, std::move(value), json});
    plan.batch.writes.push_back(std::move(*key_plan.write));
  }
  return plan;
}

}  // namespace kvs::merge
