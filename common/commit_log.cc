// Walking the commit graph newest first.
#include "common/commit_log.h"

#include <queue>
#include <set>
#include <utility>

namespace kvs::common {

Result<CommitLogPage> WalkCommits(Store& store, const std::vector<CommitId>& start, size_t limit,
                                  uint64_t below_revision) {
  // A max-heap on revision, fed with the parents of each commit taken.
  std::priority_queue<std::pair<uint64_t, CommitId>> frontier;
  std::set<CommitId> queued;
  auto queue = [&](const CommitId& id) -> Status {
    if (id.IsZero() || !queued.insert(id).second) return Status::OK();
    KVS_ASSIGN_OR_RETURN(CommitInfo commit, store.GetCommit(id));
    frontier.emplace(commit.revision, id);
    return Status::OK();
  };
  for (const CommitId& id : start) KVS_RETURN_IF_ERROR(queue(id));
  CommitLogPage page;
  while (!frontier.empty() && page.commits.size() < limit) {
    KVS_ASSIGN_OR_RETURN(CommitInfo commit, store.GetCommit(frontier.top().second));
    frontier.pop();
    for (const CommitId& parent : commit.parents) KVS_RETURN_IF_ERROR(queue(parent));
    if (commit.revision < below_revision) page.commits.push_back(std::move(commit));
  }
  page.more = !frontier.empty();
  return page;
}

}  // namespace kvs::common
