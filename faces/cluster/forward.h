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

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

// The answer of a replica of shard (tried in turn until one answers), with
// "address": the replica that served it, added to a JSON object answer.
// IOError, saying why for the log, when none answers or the request was
// forwarded already.
Result<Response> ForwardToShard(const Request& request, Service& service, size_t shard);

// The key count a replica of shard reports (GET /kv-store/key-count);
// nullopt when none answers.
std::optional<uint64_t> ShardKeyCount(const Request& request, Service& service, size_t shard);

}  // namespace kvs::server

#endif  // KVS_FACES_CLUSTER_FORWARD_H_
