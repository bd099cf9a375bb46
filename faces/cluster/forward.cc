// Forwarding to the owning shard (faces/cluster/forward.h), over HTTP with
// cpp-httplib, as replication reaches the other nodes.
#include "faces/cluster/forward.h"

#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "common/json_value.h"
#include "http/form.h"
#include "replication/http_peer.h"

namespace kvs::server {
namespace {

// Set on a forwarded request, naming the node that forwarded it.
constexpr char kForwardedBy[] = "X-Kvs-Forwarded-By";
constexpr std::string_view kKeysPath = "/kv-store/keys/";

// Spreads forwarded requests over a shard's replicas.
std::atomic<size_t> next_replica{0};

// The request's path as a URL path: the key, which PATH_INFO holds decoded,
// encoded again.
std::string EncodedPath(const Request& request) {
  const std::string& path = request.path_info;
  if (!path.starts_with(kKeysPath)) return path;
  return std::string(kKeysPath) + PercentEncode(path.substr(kKeysPath.size()));
}

// The first answer of a replica of map's shard to method path with body,
// and the replica that gave it; nullopt when none answered.
std::optional<std::pair<NodeAnswer, std::string>> SendToShard(
    const Request& request, Service& service, const common::ClusterMap& map, size_t shard,
    const std::string& method, const std::string& path, const std::string& body,
    const httplib::Headers& headers) {
  const auto& replicas = map.shards()[shard].replicas;
  const size_t first = next_replica.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < replicas.size(); ++i) {
    const std::string& replica = replicas[(first + i) % replicas.size()];
    auto answer = SendToNode(request, *service.cluster, replica, method, path, body, headers);
    if (answer.ok()) return std::make_pair(std::move(answer).value(), replica);
  }
  return std::nullopt;
}

}  // namespace

Result<NodeAnswer> SendToNode(const Request& request, const cluster::ClusterNode& node,
                              const std::string& address, const std::string& method,
                              const std::string& path, const std::string& body,
                              const httplib::Headers& headers) {
  KVS_ASSIGN_OR_RETURN(replication::ServerUrl url,
                       replication::ParseServerUrl(node.settings().UrlOf(address)));
  httplib::Client client(url.host);
  client.set_connection_timeout(2);
  // A request that waits for its causal context takes up to causal_wait
  // there: read for longer than that.
  client.set_read_timeout(static_cast<time_t>(node.settings().causal_wait_ns / 1000000000 + 10));
  client.set_write_timeout(10);
  httplib::Request sent;
  sent.method = method;
  sent.path = url.path + path;
  sent.body = body;
  for (const char* name : {"Authorization", "Content-Type"}) {
    if (auto value = request.headers.Get(name)) sent.set_header(name, std::string(*value));
  }
  sent.set_header(kForwardedBy, node.self());
  for (const auto& [name, value] : headers) sent.set_header(name, value);
  httplib::Result result = client.send(sent);
  if (!result) {
    return Status::IOError("cluster: " + address + " did not answer " + method + " " + path + " (" +
                           httplib::to_string(result.error()) + ")");
  }
  return NodeAnswer{result->status, result->body, result->get_header_value("Content-Type"),
                    result->get_header_value("Retry-After")};
}

Result<Response> ForwardToShard(const Request& request, Service& service,
                                const common::ClusterMap& map, size_t shard) {
  const std::string& shard_id = map.shards()[shard].id;
  if (auto by = request.headers.Get(kForwardedBy)) {
    return Status::IOError("cluster: " + std::string(*by) + " forwarded a request for shard " +
                           shard_id + " here; the nodes' cluster maps differ");
  }
  auto answer = SendToShard(request, service, map, shard, request.method, EncodedPath(request),
                            request.body, {});
  if (!answer) return Status::IOError("cluster: no replica of shard " + shard_id + " answered");
  auto& [got, replica] = *answer;
  Response response;
  nlohmann::ordered_json body = nlohmann::ordered_json::parse(got.body, nullptr, false);
  if (body.is_object()) {
    body["address"] = replica;
    response = JsonResponse(body);
  } else {
    response.body = got.body;
    response.headers.Set("Content-Type", got.content_type);
  }
  response.status = got.status;
  if (!got.retry_after.empty()) response.headers.Set("Retry-After", got.retry_after);
  return response;
}

std::optional<uint64_t> ShardKeyCount(const Request& request, Service& service,
                                      const common::ClusterMap& map, size_t shard) {
  auto answer = SendToShard(request, service, map, shard, "GET", "/kv-store/key-count", "",
                            {{kMapVersionHeader, std::to_string(map.version())}});
  if (!answer || answer->first.status != 200) return std::nullopt;
  const auto body = nlohmann::json::parse(answer->first.body, nullptr, false);
  if (!body.is_object() || !body.contains("key-count") || !body["key-count"].is_number_unsigned()) {
    return std::nullopt;
  }
  return body["key-count"].get<uint64_t>();
}

}  // namespace kvs::server
