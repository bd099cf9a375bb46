// Myers' linear-space difference: the middle-snake search and the recursion
// around it. See token_diff.h.
#include "merge/token_diff.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace kvs::merge {
namespace {

using Tokens = std::span<const uint32_t>;

// A point (x, y) of the edit graph: x tokens of `from` and y of `to` done.
struct SplitPoint {
  size_t x;
  size_t y;
};

// Finds a point on an optimal path from (0, 0) to (a.size(), b.size()), the
// end of its middle snake, so that diffing the two halves separately gives an
// optimal whole. Returns nullopt when the optimal path needs more than budget
// edits. The search is diff-match-patch's
// diff_bisect: `forward[k]` is the furthest x reached on diagonal k = x - y
// from the start, `reverse[k]` the furthest x counted back from the end on
// diagonal k = (n - x) - (m - y); -1 marks a diagonal not reached yet.
std::optional<SplitPoint> FindMiddleSnake(Tokens a, Tokens b, size_t budget) {
  const int64_t n = static_cast<int64_t>(a.size());
  const int64_t m = static_cast<int64_t>(b.size());
  // Round d extends both searches by one edit: an overlap found in the
  // forward half of round d means D = 2d - 1, in the reverse half D = 2d.
  // The last round is the one whose forward half can still find D <= budget.
  const int64_t budget_edits = static_cast<int64_t>(std::min<size_t>(budget, a.size() + b.size()));
  const int64_t d_last = std::min((n + m + 1) / 2, (budget_edits + 1) / 2);
  const int64_t offset = d_last + 1;
  const int64_t length = 2 * offset + 1;
  std::vector<int64_t> forward(length, -1);
  std::vector<int64_t> reverse(length, -1);
  forward[offset + 1] = 0;
  reverse[offset + 1] = 0;
  const int64_t delta = n - m;
  // D has the parity of delta: with an odd delta the searches can only meet
  // in a forward half-round, with an even one only in a reverse half-round.
  const bool odd = delta % 2 != 0;
  // Diagonals on which a search ran off the grid are skipped from then on.
  int64_t k1_start = 0, k1_end = 0, k2_start = 0, k2_end = 0;
  for (int64_t d = 0; d <= d_last; ++d) {
    for (int64_t k1 = -d + k1_start; k1 <= d - k1_end; k1 += 2) {
      const int64_t k1_offset = offset + k1;
      int64_t x1 = (k1 == -d || (k1 != d && forward[k1_offset - 1] < forward[k1_offset + 1]))
                       ? forward[k1_offset + 1]
                       : forward[k1_offset - 1] + 1;
      int64_t y1 = x1 - k1;
      while (x1 < n && y1 < m && a[x1] == b[y1]) {
        ++x1;
        ++y1;
      }
      forward[k1_offset] = x1;
      if (x1 > n) {
        k1_end += 2;
      } else if (y1 > m) {
        k1_start += 2;
      } else if (odd) {
        const int64_t k2_offset = offset + delta - k1;
        if (k2_offset >= 0 && k2_offset < length && reverse[k2_offset] != -1 &&
            x1 >= n - reverse[k2_offset]) {
          return SplitPoint{static_cast<size_t>(x1), static_cast<size_t>(y1)};
        }
      }
    }
    for (int64_t k2 = -d + k2_start; k2 <= d - k2_end; k2 += 2) {
      const int64_t k2_offset = offset + k2;
      int64_t x2 = (k2 == -d || (k2 != d && reverse[k2_offset - 1] < reverse[k2_offset + 1]))
                       ? reverse[k2_offset + 1]
                       : reverse[k2_offset - 1] + 1;
      int64_t y2 = x2 - k2;
      while (x2 < n && y2 < m && a[n - x2 - 1] == b[m - y2 - 1]) {
        ++x2;
        ++y2;
      }
      reverse[k2_offset] = x2;
      if (x2 > n) {
        k2_end += 2;
      } else if (y2 > m) {
        k2_start += 2;
      } else if (!odd) {
        const int64_t k1_offset = offset + delta - k2;
        if (k1_offset >= 0 && k1_offset < length && forward[k1_offset] != -1) {
          const int64_t x1 = forward[k1_offset];
          const int64_t y1 = x1 - (delta - k2);
          if (x1 >= n - x2) {
            if (2 * d > budget_edits) return std::nullopt;  // D = 2d
            return SplitPoint{static_cast<size_t>(x1), static_cast<size_t>(y1)};
          }
        }
      }
    }
  }
  return std::nullopt;
}

// Appends the runs turning a into b to *runs, unnormalized (runs may repeat
// an op or have count 0). Each call strips the common prefix and suffix, so
// the halves after a split start and end with a difference.
void AppendDiff(Tokens a, Tokens b, size_t budget, std::vector<TokenRun>* runs) {
  const size_t prefix = std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin();
  a = a.subspan(prefix);
  b = b.subspan(prefix);
  const size_t suffix =
      std::mismatch(a.rbegin(), a.rend(), b.rbegin(), b.rend()).first - a.rbegin();
  a = a.first(a.size() - suffix);
  b = b.first(b.size() - suffix);
  runs->push_back({EditOp::kEqual, prefix});
  std::optional<SplitPoint> split;
  if (!a.empty() && !b.empty()) split = FindMiddleSnake(a, b, budget);
  if (split) {
    AppendDiff(a.first(split->x), b.first(split->y), budget, runs);
    AppendDiff(a.subspan(split->x), b.subspan(split->y), budget, runs);
  } else {
    runs->push_back({EditOp::kDelete, a.size()});
    runs->push_back({EditOp::kInsert, b.size()});
  }
  runs->push_back({EditOp::kEqual, suffix});
}

}  // namespace

std::vector<TokenRun> DiffTokens(Tokens from, Tokens to, size_t max_cost) {
  std::vector<TokenRun> raw;
  AppendDiff(from, to, max_cost, &raw);
  // Invariant: deleted and inserted count the tokens changed since the last
  // kEqual run written to `runs`; a changed stretch is written, deletion
  // first, when the next equal run (or the end) comes.
  std::vector<TokenRun> runs;
  size_t deleted = 0, inserted = 0;
  auto flush_change = [&] {
    if (deleted > 0) runs.push_back({EditOp::kDelete, deleted});
    if (inserted > 0) runs.push_back({EditOp::kInsert, inserted});
    deleted = inserted = 0;
  };
  for (const TokenRun& run : raw) {
    if (run.count == 0) continue;
    if (run.op == EditOp::kDelete) {
      deleted += run.count;
    } else if (run.op == EditOp::kInsert) {
      inserted += run.count;
    } else if (deleted > 0 || inserted > 0 || runs.empty() || runs.back().op != EditOp::kEqual) {
      flush_change();
      runs.push_back(run);
    } else {
      runs.back().count += run.count;
    }
  }
  flush_change();
  return runs;
}

}  // namespace kvs::merge
