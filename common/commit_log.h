// The commit log, as the server's /_log and the command line's `kvs log`
// print it: commits newest first (by revision: a commit's revision is above
// its parents'), following every parent, so a merge brings the merged
// branch's history, each commit once.
#ifndef KVS_COMMON_COMMIT_LOG_H_
#define KVS_COMMON_COMMIT_LOG_H_

#include <cstddef>
#include <vector>

#include "kvs/store.h"

namespace kvs::common {

struct CommitLogPage {
  std::vector<CommitInfo> commits;
  bool more = false;  // older commits follow: walk again from the last one's parents
};

// Up to limit commits reachable from start (themselves included; zero ids
// are skipped). NotFound when a commit is missing.
Result<CommitLogPage> WalkCommits(Store& store, const std::vector<CommitId>& start, size_t limit);

}  // namespace kvs::common

#endif  // KVS_COMMON_COMMIT_LOG_H_
