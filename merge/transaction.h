// Planning a transaction of several keys against the commit its writer read
// (POST /_txn): the writes become one WriteBatch on the branch, and a key
// that moved since that commit is merged three-way by its merge function.
//
// Without a base, or for a key no one changed since the base, a write is a
// plain write on the key's current heads. For a key that moved, the base's
// winner is the ancestor, the branch's current winner is "ours" and the
// transaction's value "theirs"; keep writes the value as a fork from the
// base (both stay heads), and a function that cannot merge makes the key a
// conflict, so nothing of the transaction is written. Every write is a
// compare-and-set on the heads the plan read, so a key that moves while the
// plan is carried out fails the write (kConflict) instead of losing a change;
// plan again then.
#ifndef KVS_MERGE_TRANSACTION_H_
#define KVS_MERGE_TRANSACTION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kvs/store.h"
#include "merge/branch_merge.h"

namespace kvs::merge {

struct Transaction {
  std::string branch;
  std::optional<CommitId> base;  // the commit the writer read; nullopt: write as they are
  std::map<std::string, std::optional<std::string>> writes;  // nullopt: delete
  std::vector<MergeRule> rules;  // tried before the caller's own (PlanTransaction)
  std::set<std::string> json;    // keys whose value is JSON text (Version::json)
};

struct TransactionPlan {
  WriteBatch batch;  // empty writes when nothing would change
  std::vector<KeyConflict> conflicts;
};

// Plans txn on the store as it is now; the merge function of a key is the
// first of txn.rules, then fallback_rules, that matches it. now_ns is the
// time of the transaction's values, the "theirs" side of a merge. A store
// error is returned as it is; a branch that does not exist plans as empty,
// and its write fails with NotFound.
Result<TransactionPlan> PlanTransaction(Store& store, const Transaction& txn,
                                        const std::vector<MergeRule>& fallback_rules,
                                        int64_t now_ns);

}  // namespace kvs::merge

#endif  // KVS_MERGE_TRANSACTION_H_
