// Planning a transaction, key by key against its base.
#include "merge/transaction.h"

namespace kvs::merge {

Result<TransactionPlan> PlanTransaction(Store& store, const Transaction& txn,
                                        const std::vector<MergeRule>& fallback_rules,
                                        int64_t now_ns) {
  TransactionPlan plan;
  plan.batch.branch = txn.branch;
  for (const auto& [key, value] : txn.writes) {
    auto current = GetIfPresent(store, txn.branch, key, ReadPoint::Latest());
    if (!current.ok()) return current.status();
    const bool live = *current && !(*current)->winner.deleted;
    const bool json = value && txn.json.count(key) > 0;
    // Without a base, the write goes over whatever heads the key has when
    // it lands, as a PUT does: a key another client wrote meanwhile is no
    // reason to refuse a write that read nothing. With one, what was read
    // decided the merge, so the heads read must still be the heads.
    std::optional<std::vector<VersionId>> expected;
    if (txn.base) expected = HeadIds(*current);
    KeyWrite write{key, value, std::nullopt, std::move(expected), std::nullopt, json};
    if (txn.base) {
      auto then = GetIfPresent(store, txn.branch, key, ReadPoint::AtCommit(*txn.base));
      if (!then.ok()) return then.status();
      if (HeadIds(*then) != HeadIds(*current)) {  // moved since the base: merge
        MergeInput input;
        if (*then) input.base = LiveValue((*then)->winner);
        if (*current) {
          const Version& ours = (*current)->winner;
          input.ours = {LiveValue(ours), ours.time_ns, ours.id.Hex()};
        }
        input.theirs = {value, now_ns, ""};
        MergeOutcome merged = Merge(FunctionFor(key, {&txn.rules, &fallback_rules}), input);
        switch (merged.kind) {
          case MergeOutcome::Kind::kValue:
            write.json = MergedIsJson(merged.value, input.ours.value,
                                      *current && (*current)->winner.json, value, json);
            write.value = std::move(merged.value);
            break;
          case MergeOutcome::Kind::kDeleted:
            write.value = std::nullopt;
            break;
          case MergeOutcome::Kind::kKeepBoth:
            // The transaction's value forks from the base: both stay heads.
            write.parents = HeadIds(*then);
            break;
          case MergeOutcome::Kind::kConflict:
            plan.conflicts.push_back({key, merged.reason});
            continue;
        }
      }
    }
    if (!write.value && !live && !write.parents) continue;  // deleting what is not there
    plan.batch.writes.push_back(std::move(write));
  }
  return plan;
}

}  // namespace kvs::merge
