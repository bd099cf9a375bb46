// The merge functions that read values as JSON: union (of array elements, or
// of lines when the values are not arrays) and json (objects merged field by
// field). Merge (merge/merge_function.h) calls them once the trivial cases
// are settled and both sides hold a value.
//
// JSON equality ignores the order of object fields and the spelling of
// numbers (1 equals 1.0), as nlohmann::json's operator== does; output keeps
// the field order it was given (nlohmann::ordered_json) and is compact.
// JSON nested deeper than common::kMaxJsonValueDepth (256) levels is treated
// as not JSON, as every face reads it (common/json_value.h): the comparisons
// and the printing recurse once per level.
//
// Cost: ordered_json keeps fields in a vector and its parser looks each key
// up linearly, so parsing an object of n fields is O(n^2) (about 0.4 s for
// 20,000 fields); the merge itself is O(size * depth).
#ifndef KVS_MERGE_JSON_MERGE_H_
#define KVS_MERGE_JSON_MERGE_H_

#include <optional>
#include <string>

#include "merge/merge_function.h"

namespace kvs::merge {

// When ours and theirs are JSON arrays and base is absent or a JSON array:
// the elements of ours in order, then each element of theirs not equal to one
// already in the result. An element removed by one side stays removed only if
// the other lacks it too. Otherwise, on lines (split at '\n'): the lines of
// ours, then each line of theirs not already in the result, ending with '\n'
// when ours or theirs did. Never a conflict.
MergeOutcome MergeUnion(const std::optional<std::string>& base, const std::string& ours,
                        const std::string& theirs);

// Three-way merge of JSON objects; an absent base counts as {}. A field
// changed (added, removed, or given another value) on one side only takes
// that side; changed on both to equal values takes it; changed on both to
// objects (from an object or from nothing) is merged the same way,
// recursively; otherwise it is a conflict. A conflict lists every such field
// by path ("a.b"). Fields follow ours' order, then the new fields of theirs.
// A side that is not a JSON object is a conflict saying which.
MergeOutcome MergeJsonObjects(const std::optional<std::string>& base, const std::string& ours,
                              const std::string& theirs);

}  // namespace kvs::merge

#endif  // KVS_MERGE_JSON_MERGE_H_
