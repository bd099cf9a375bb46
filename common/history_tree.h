// The version graph walked the way forkdb draws it, for `kvs history`,
// `kvs future` and GET /_history/ID, /_future/ID.
//
// A walk goes from one version through its parents (history) or its
// children (future). While a version has exactly one next version, the walk
// is a straight run. At a version with several (a merge, walking back; a
// fork, walking forward) the run ends and the walk splits into one branch
// per next version, each a walk of its own. Drawn:
//
//   +- blorp :: 058647fc...      the merge: a run of one version
//    +- blorp :: 6c0c881f...     its first parent's branch
//    |- blorp :: 9c056451...
//    +- blorp :: f5ff2984...     its second parent's branch
//    |- blorp :: 9c056451...
//
// A version reached a second time is shown again, but the walk does not go
// on from it (its branches are drawn where it was first reached), so a walk
// costs O(versions + links), never one path per route through the graph.
#ifndef KVS_COMMON_HISTORY_TREE_H_
#define KVS_COMMON_HISTORY_TREE_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kvs/store.h"

namespace kvs::common {

struct HistoryTree {
  // Each the one next version of the one before; values not filled.
  std::vector<Version> run;
  // One per next version of run.back(), when it has more than one.
  std::vector<HistoryTree> branches;
  // run.back() was reached earlier in the walk, which goes on from there.
  bool seen = false;
  // The walk stopped at the version limit after run.back(), which has next
  // versions: walk again from it for the rest.
  bool cut = false;
};

enum class WalkDirection { kHistory, kFuture };

// Walks from `from` (which must exist), showing at most max_versions
// versions (at least 1). Errors are the store's: NotFound for an unknown id.
Result<HistoryTree> WalkVersions(Store& store, const VersionId& from, WalkDirection direction,
                                 size_t max_versions);

// One line per version, as above: "+-" starts a run and "|-" goes on with
// it, one more space of indent per level of branching; full ids. A seen
// version ends with " (above)"; a cut walk ends its run with "|- ...".
std::string DrawHistoryTree(const HistoryTree& tree);

// {"versions":[VersionJson...],"branches":[...],"seen":bool,"cut":bool}
nlohmann::ordered_json HistoryTreeJson(const HistoryTree& tree);

}  // namespace kvs::common

#endif  // KVS_COMMON_HISTORY_TREE_H_
