// Myers' difference algorithm over sequences of tokens, shared by the
// character diff (tokens are code points or bytes) and the line-based text
// merge (tokens are interned lines).
//
// This is the linear-space variant of E. Myers, "An O(ND) Difference
// Algorithm and Its Variations" (1986), section 4b: find the middle snake of
// an optimal path by running the greedy search from both ends at once, split
// there, recurse on the two halves. Memory is O(N + M), time O((N + M) * D)
// for D tokens inserted plus deleted. D is bounded by the caller's max_cost:
// when the search shows that the difference needs more, it stops and reports
// the whole (prefix- and suffix-stripped) middle as one delete and one insert,
// which is still a correct difference, only a coarser one. Each split halves
// D, so the recursion is O(log D) deep.
#ifndef KVS_MERGE_TOKEN_DIFF_H_
#define KVS_MERGE_TOKEN_DIFF_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "merge/char_diff.h"

namespace kvs::merge {

// `count` consecutive tokens kept (kEqual, in both sequences), removed from
// `from` (kDelete) or added from `to` (kInsert).
struct TokenRun {
  EditOp op;
  size_t count;
  bool operator==(const TokenRun&) const = default;
};

// The runs that turn `from` into `to`, normalized: no run has count 0,
// adjacent runs differ in op, and between two kEqual runs there is at most one
// kDelete followed by at most one kInsert. Minimal (fewest tokens deleted
// plus inserted) when that number is at most max_cost; otherwise the
// difference between the common prefix and suffix is one delete and one
// insert.
std::vector<TokenRun> DiffTokens(std::span<const uint32_t> from, std::span<const uint32_t> to,
                                 size_t max_cost);

}  // namespace kvs::merge

#endif  // KVS_MERGE_TOKEN_DIFF_H_
