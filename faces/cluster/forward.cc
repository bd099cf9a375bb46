// Forwarding to the owning shard (faces/cluster/forward.h), over HTTP with
// common::HttpClient, as replication reaches the other nodes.
#include "faces/cluster/forward.h"

#include <atomic>
#include <chrono>
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
    const common::HttpHeaders& headers) {
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
                              const common::HttpHeaders& headers) {
  KVS_ASSIGN_OR_RETURN(replication::ServerUrl url,
                       replication::ParseServerUrl(node.settings().UrlOf(address)));
  common::HttpTimeouts timeouts;
  timeouts.connect = std::chrono::seconds(2);
  // A request that waits for its causal context takes up to causal_wait
  // there: read for longer than that.
  timeouts.read = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::nanoseconds(node.settings().causal_wait_ns) + std::chrono::seconds(10));
  timeouts.write = std::chrono::seconds(10);
  KVS_ASSIGN_OR_RETURN(auto client, common::HttpClient::Create(url.host, timeouts));
  common::HttpHeaders sent;
  for (const char* name : {"Authorization", "Content-Type"}) {
    if (auto value = request.headers.Get(name)) sent.emplace_back(name, std::string(*value));
  }
  sent.emplace_back(kForwardedBy, node.self());
  sent.insert(sent.end(), headers.begin(), headers.end());
  auto result = client->Send(method, url.path + path, sent, body);
  if (!result.ok()) {
    return Status::IOError("cluster: " + address + " did not answer " + method + " " + path + " (" +
                           result.status().message() + ")");
  }
  return NodeAnswer{result->status, std::move(result->body), result->Header("Content-Type"),
                    result->Header("Retry-After")};
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
