// View changes: a cluster takes nodes in or lets them go, moving only the
// keys whose owner changes (cluster/cluster_node.h keeps each node's maps
// and pulls).
//
//   PUT /kv-store/view-change  {"view": "a:1,b:2,...", "repl-factor": N}
//       The seed's request, sent to any node, which coordinates it:
//         1. prepare: every node of the old and the new view adopts the
//            next map (made from the active one by ClusterMap::Next), and
//            the new owners start pulling the keys that move to them;
//         2. catch up: it waits until every node of the new view has pulled
//            from each shard it takes keys from (at most kCatchUpSeconds);
//         3. switch: every node routes by the new map; the old owners are
//            still pulled from for the grace period (cluster.grace).
//       200 {"message": "View change successful", "causal-context": {...},
//       "shards": [{"shard-id", "key-count", "replicas"}]}. 409 while
//       another view change is under way; 503 with Retry-After when a node
//       of the new view does not answer or the keys are still moving: the
//       map is then left prepared, and the same request sent again (to any
//       node that has it) finishes it. Every step is idempotent.
//   GET /_cluster/map   this node's maps, its pulls and whether it caught up
//   PUT /_cluster/map   {"prepare": MAP} or {"switch": MAP}: one step,
//                       as the coordinator sends it (the secret needed)
#ifndef KVS_FACES_CLUSTER_VIEW_CHANGE_H_
#define KVS_FACES_CLUSTER_VIEW_CHANGE_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

// How long a view change waits for the new owners to catch up: below
// nginx's FastCGI read timeout (60 s by default).
inline constexpr int kCatchUpSeconds = 40;

Response PutClusterViewChange(const Request& request, Service& service);
Response GetClusterMap(const Request& request, Service& service);
Response PutClusterMap(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_CLUSTER_VIEW_CHANGE_H_
