// Merge functions: what a key's value becomes when two sides (two branches,
// or two replicas) both changed it since their common ancestor.
//
// The faces pick a function per key (by key pattern in the config, or per
// request) and call Merge with the three values. Every function first settles
// the trivial cases the same way: both sides equal (both values equal, or
// both deleted) gives ours; else ours equal to the base (unchanged) gives
// theirs; else theirs equal to the base gives ours. A deleted or absent value
// is nullopt, equal to an absent base; a nullopt result is Kind::kDeleted.
// Only when both sides changed the value differently does the function decide:
//
//   lww      newer time_ns wins; ties: larger tiebreak, then larger value (deleted is smallest).
//   counter  ours + theirs - base (absent base: 0) as decimal int64; overflow: conflict.
//   max/min  the larger/smaller finite number wins, with its text; equal: the larger text.
//   union    JSON arrays: ours' elements, then theirs' not among them; else the same on lines.
//   json     JSON objects merged field by field; a field both changed differently: conflict.
//   text     line-based three-way merge (diff3); overlapping different edits: conflict.
//   keep     Kind::kKeepBoth: the caller keeps both versions as a visible fork.
//   reject   Kind::kConflict, "changed on both sides".
//
// The exact rules are in merge/json_merge.h (union, json), merge/text_merge.h
// (text) and here: counter reads an optional '-' and decimal digits, max and
// min a decimal number with optional fraction and exponent (std::from_chars),
// each with surrounding ASCII whitespace allowed. counter, max, min, union,
// json and text need both values, so a deleted side is a conflict; counter,
// max, min and json also report a value they cannot read as one. The ties
// of lww and max/min are broken so that the result does not depend on which
// side is ours. Merge never throws; every failure is an outcome with a reason
// for a person.
#ifndef KVS_MERGE_MERGE_FUNCTION_H_
#define KVS_MERGE_MERGE_FUNCTION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kvs::merge {

enum class MergeFunction { kLww, kCounter, kMax, kMin, kUnion, kJson, kText, kKeep, kReject };

// "lww", "counter", "max", "min", "union", "json", "text", "keep", "reject"
// (exactly, lower case); nullopt for other names.
std::optional<MergeFunction> ParseMergeFunction(std::string_view name);
std::string_view MergeFunctionName(MergeFunction f);
// The names above joined with ", " for error messages.
std::string MergeFunctionNames();

// One side of a three-way merge of a key.
struct MergeSide {
  std::optional<std::string> value;  // nullopt: deleted (or absent) on this side
  int64_t time_ns = 0;               // when this side's version was written
  std::string tiebreak;              // version id hex; the larger wins lww ties
};

struct MergeInput {
  std::optional<std::string> base;  // the common ancestor's value; nullopt: none or deleted
  MergeSide ours;                   // the side merged into (the target)
  MergeSide theirs;                 // the side merged from (the source)
};

struct MergeOutcome {
  enum class Kind { kValue, kDeleted, kKeepBoth, kConflict };
  Kind kind = Kind::kValue;
  std::string value;   // kValue: the merged value
  std::string reason;  // kConflict: why, for a person (e.g. "both sides changed line 3")
};

MergeOutcome Merge(MergeFunction f, const MergeInput& in);

}  // namespace kvs::merge

#endif  // KVS_MERGE_MERGE_FUNCTION_H_
