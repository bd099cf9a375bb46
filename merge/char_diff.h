// Character differences between two values.
//
// The REST face stores, next to each new version, the edits that turn it back
// into its parent (a reverse patch), and shows them to people, so a diff must
// be small, exact and readable: it never splits a UTF-8 character, and its
// edits come in one canonical order. Values are byte strings, so text that is
// not UTF-8 is diffed byte by byte instead. The algorithm is Myers' O(ND)
// difference in linear space (see merge/token_diff.h), with the cost bounded
// so that a huge rewrite costs bounded time and memory and yields a coarse,
// still correct, diff.
#ifndef KVS_MERGE_CHAR_DIFF_H_
#define KVS_MERGE_CHAR_DIFF_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvs::merge {

enum class EditOp { kEqual, kDelete, kInsert };

// One step of turning `from` into `to`: text kept, removed from `from`, or
// added from `to`.
struct Edit {
  EditOp op;
  std::string text;
  bool operator==(const Edit&) const = default;
};

// "eq", "del", "ins".
std::string_view EditOpName(EditOp op);

// The edits that turn `from` into `to` (Myers' O(ND) difference). Units are
// Unicode code points when both strings are valid UTF-8 (so no edit splits a
// character), else bytes. Adjacent edits with the same op are merged; within
// each changed stretch deletions come before insertions; no edit has empty
// text; equal inputs give one kEqual edit (or none when both are empty).
// The common prefix and suffix are stripped first; the rest is a minimal
// difference (fewest units deleted plus inserted) when that needs at most
// max_cost units, and otherwise one delete and one insert (still correct,
// just coarser). Time O((N + M) * max_cost) at worst, memory O(N + M).
std::vector<Edit> DiffChars(std::string_view from, std::string_view to, size_t max_cost = 2000);

// Applies edits to from. Returns nullopt when the text of a kEqual or kDelete
// edit does not match `from` at its position, or when the edits do not
// consume all of `from`.
std::optional<std::string> ApplyEdits(std::string_view from, const std::vector<Edit>& edits);

}  // namespace kvs::merge

#endif  // KVS_MERGE_CHAR_DIFF_H_
