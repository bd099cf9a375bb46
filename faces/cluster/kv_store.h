// The cluster face: the /kv-store/... API of the spencer-p key-value store
// (a sharded, replicated store with causal consistency), served by a kvs
// node of a cluster (the config's cluster: section; cluster/cluster_node.h).
// Its bodies and messages are the seed's, so its clients work unchanged;
// writes take kvs's secret as every write does.
//
//   PUT    /kv-store/keys/KEY  {"value": "...", "causal-context": {...}}
//   GET    /kv-store/keys/KEY  {"causal-context": {...}} (the body may be empty)
//   DELETE /kv-store/keys/KEY  {"causal-context": {...}}
//   GET    /kv-store/key-count         this node's shard's keys
//   GET    /kv-store/shards            the shard ids
//   GET    /kv-store/shards/ID         a shard's key count and replicas
//   PUT    /kv-store/view-change       faces/cluster/view_change.h
//
// A key request sent to a node whose shard does not own the key is
// forwarded to a replica that does (faces/cluster/forward.h), and the
// answer names it in "address". The cluster keys are the default branch's
// keys: the other faces show the same data on the nodes that own it.
#ifndef KVS_FACES_CLUSTER_KV_STORE_H_
#define KVS_FACES_CLUSTER_KV_STORE_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

// The seed's limit on a key's length, in characters (bytes here).
inline constexpr size_t kClusterMaxKeyBytes = 50;

Response GetClusterKey(const Request& request, Service& service);
Response PutClusterKey(const Request& request, Service& service);
Response DeleteClusterKey(const Request& request, Service& service);
Response GetClusterKeyCount(const Request& request, Service& service);
Response GetClusterShards(const Request& request, Service& service);
Response GetClusterShard(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_CLUSTER_KV_STORE_H_
