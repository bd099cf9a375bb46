// Forwarding a cluster request to the shard that owns its key: the seed's
// proxying, for clients that send every request to one node. The request
// goes on as it came (method, path, body, its Authorization), marked as
// forwarded so that it is never forwarded twice (nodes agree on the map,
// so one hop reaches the owner; a second would mean they do not).
#ifndef KVS_FACES_CLUSTER_FORWARD_H_
#define KVS_FACES_CLUSTER_FORWARD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/cluster_map.h"
#include "common/http_client.h"
#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

// Set on a key count asked for (ShardKeyCount), naming the version of the
// asker's map: the answer counts by that map when the node knows it.
inline constexpr char kMapVersionHeader[] = "X-Kvs-Map-Version";

// A node's answer, as SendToNode got it.
struct NodeAnswer {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;  // "" when it sent none
};

// The answer of the node at address (where the config's links say) to
// method path (below its mount root) with body, sent with request's
// Authorization and Content-Type, and headers, and marked as forwarded by
// this node. IOError when it does not answer.
Result<NodeAnswer> SendToNode(const Request& request, const cluster::ClusterNode& node,
                              const std::string& address, const std::string& method,
                              const std::string& path, const std::string& body,
                              const common::HttpHeaders& headers = {});

// The answer of a replica of map's shard (tried in turn until one answers),
// with "address": the replica that served it, added to a JSON object
// answer. IOError, saying why for the log, when none answers or the request
// was forwarded already.
Result<Response> ForwardToShard(const Request& request, Service& service,
                                const common::ClusterMap& map, size_t shard);

// The key count a replica of map's shard reports (GET /kv-store/key-count,
// by map's version); nullopt when none answers.
std::optional<uint64_t> ShardKeyCount(const Request& request, Service& service,
                                      const common::ClusterMap& map, size_t shard);

}  // namespace kvs::server

#endif  // KVS_FACES_CLUSTER_FORWARD_H_
