// The commit log, as the server's /_log and the command line's `kvs log`
// print it: commits newest first (by revision: a commit's revision is above
// its parents'), following every parent, so a merge brings the merged
// branch's history, each commit once.
#ifndef KVS_COMMON_COMMIT_LOG_H_
#define KVS_COMMON_COMMIT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "kvs/store.h"

namespace kvs::common {

struct CommitLogPage {
  std::vector<CommitInfo> commits;
  bool more = false;  // older commits follow: walk again below the last one's revision
};

// Up to limit commits reachable from start (themselves included; zero ids
// are skipped) whose revision is below below_revision, newest first.
// NotFound when a commit is missing. The next page is the walk from the
// same start below the last commit's revision: after a merge the older
// commits are on several lines at once, which no one commit's parents name
// (paging from the last commit's parents lost the merged branch's).
// Reaching a page costs the commits above it.
Result<CommitLogPage> WalkCommits(Store& store, const std::vector<CommitId>& start, size_t limit,
                                  uint64_t below_revision = std::numeric_limits<uint64_t>::max());

}  // namespace kvs::common

#endif  // KVS_COMMON_COMMIT_LOG_H_
