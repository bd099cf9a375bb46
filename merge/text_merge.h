// The `text` merge function: a line-based three-way merge (diff3).
//
// Each side's changes against the base come from a line diff (Myers, see
// merge/token_diff.h). Changes from the two sides that overlap are grouped:
// a group changed by one side only takes that side's lines; a group changed
// by both takes their lines when both made the same edit and is a conflict
// otherwise. Two changes overlap when they replace a common base line, when
// one inserts strictly inside the lines the other replaces, or when both
// insert at the same place. Changes that only touch merge: ours editing line
// 1 and theirs line 2, or one side inserting right before or after lines the
// other replaces (the insertion stays on its side of them).
//
// A line is the text up to and including '\n' (the last may lack it), so a
// change to the final newline is a change to the last line. The line diff is
// bounded at kMaxLineEdits lines per side; a side that changed more is seen
// as one change of everything between its common prefix and suffix with the
// base, which can turn a clean merge into a conflict but never into a wrong
// merge.
#ifndef KVS_MERGE_TEXT_MERGE_H_
#define KVS_MERGE_TEXT_MERGE_H_

#include <cstddef>
#include <string_view>

#include "merge/merge_function.h"

namespace kvs::merge {

constexpr size_t kMaxLineEdits = 2000;

// The merged text, or a conflict whose reason names every conflicting group
// by its 1-based base lines ("both sides changed line 2; both sides inserted
// different lines after line 5"). An empty base is a base of no lines.
MergeOutcome MergeText(std::string_view base, std::string_view ours, std::string_view theirs);

}  // namespace kvs::merge

#endif  // KVS_MERGE_TEXT_MERGE_H_
