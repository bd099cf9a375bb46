// Merges of whole branches and merging commits over HTTP:
//
//   POST /_merge?from=A&into=B[&strategy=F][&dry_run=1]
//       every key that differs between the branches (found in
//       O(differences)) is merged three-way against the common ancestor of
//       its two versions (merge/branch_merge.h): a side that did not change a key
//       fast-forwards, a key both changed goes to its merge function (the
//       strategy, else the config's rule for its pattern, else reject). One
//       transaction on B whose commit has both heads as parents; any
//       conflict is a 409 naming every key and writes nothing (keep never
//       conflicts: the key keeps both heads). A dry run answers the same
//       without writing.
//   POST /_txn {"branch", "base", "set": {k: v}, "delete": [k],
//               "merge": {"pattern": "function"}}
//       one atomic commit. Each key the branch changed since the commit
//       `base` is merged three-way (base's value, the branch's, the
//       request's) by the function its pattern names (the request's
//       patterns, then the config's, then reject); keys the branch did not
//       change are simply written. 409 naming every key that cannot be
//       merged, and nothing is written. Without base: on the current head.
#ifndef KVS_FACES_BRANCHES_MERGES_H_
#define KVS_FACES_BRANCHES_MERGES_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response MergeBranches(const Request& request, Service& service);
Response CommitTransaction(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_BRANCHES_MERGES_H_
