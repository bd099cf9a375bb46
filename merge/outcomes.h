// Shorthands for the MergeOutcomes the merge functions' files build.
#ifndef KVS_MERGE_OUTCOMES_H_
#define KVS_MERGE_OUTCOMES_H_

#include <string>
#include <utility>

#include "merge/merge_function.h"

namespace kvs::merge {

inline MergeOutcome OutcomeOfKind(MergeOutcome::Kind kind) {
  MergeOutcome outcome;
  outcome.kind = kind;
  return outcome;
}

inline MergeOutcome MergedValue(std::string value) {
  MergeOutcome outcome = OutcomeOfKind(MergeOutcome::Kind::kValue);
  outcome.value = std::move(value);
  return outcome;
}

inline MergeOutcome MergeConflict(std::string reason) {
  MergeOutcome outcome = OutcomeOfKind(MergeOutcome::Kind::kConflict);
  outcome.reason = std::move(reason);
  return outcome;
}

}  // namespace kvs::merge

#endif  // KVS_MERGE_OUTCOMES_H_
