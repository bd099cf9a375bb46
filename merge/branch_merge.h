// Merging a whole branch into another, planned key by key: the server's
// POST /_merge and the command line's `kvs merge` share it.
//
// Every key whose winner differs between the branches (the store's Diff,
// O(differences)) is merged as merge/key_merge.h says: a side that did not
// change it fast-forwards, a key both changed goes to its merge function.
// The plan is one WriteBatch on the target whose commit names the source's
// head commit as a second parent, every write a compare-and-set on the
// target's heads, so a target that moves while the plan is carried out
// makes the write fail (kConflict) rather than lose a change.
#ifndef KVS_MERGE_BRANCH_MERGE_H_
#define KVS_MERGE_BRANCH_MERGE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kvs/store.h"
#include "merge/key_merge.h"
#include "merge/merge_function.h"

namespace kvs::merge {

// Which merge function settles keys matching pattern (an fnmatch glob over
// the whole key: * and ? match any character, '/' included).
struct MergeRule {
  std::string pattern;
  MergeFunction function;
};

// The function of the first rule matching key, searching the lists in
// order; reject when none matches.
MergeFunction FunctionFor(const std::string& key,
                          std::initializer_list<const std::vector<MergeRule>*> rule_lists);

struct KeyChange {
  std::string key;
  KeyMergePlan::Outcome outcome;
  std::optional<std::string> value;  // what the key reads as afterwards; nullopt: deleted
  bool json = false;                 // value is JSON text (Version::json)
};

struct KeyConflict {
  std::string key;
  std::string reason;
};

struct BranchMergePlan {
  WriteBatch batch;  // on the target; empty writes when nothing is to be done
  std::vector<KeyChange> changes;
  std::vector<KeyConflict> conflicts;
  size_t up_to_date = 0;  // keys that differ only because the target changed them
};

// Plans merging branch `from` into `into`; function_for picks the merge
// function of a key both changed. NotFound when a branch does not exist.
Result<BranchMergePlan> PlanBranchMerge(
    Store& store, const std::string& from, const std::string& into,
    const std::function<MergeFunction(const std::string&)>& function_for);

}  // namespace kvs::merge

#endif  // KVS_MERGE_BRANCH_MERGE_H_
