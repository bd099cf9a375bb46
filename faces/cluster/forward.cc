// Forwarding to the owning shard (faces/cluster/forward.h), over HTTP with
// cpp-httplib, as replication reaches the other nodes.
#include "faces/cluster/forward.h"

#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "common/json_value.h"
#include "http/form.h"

namespace kvs::server {
namespace {

// Set on a forwarded request, naming the node that forwarded it.
constexpr char kForwardedBy[] = "X-Kvs-Forwarded-By";
constexpr std::string_view kKeysPath = "/kv-store/keys/";

// Spreads forwarded requests over a shard's replicas.
std::atomic<size_t> next_replica{0};

// url ("http://host:port/mount") as cpp-httplib takes it: the scheme and
// host, and the mount's path without a trailing '/'.
std::pair<std::string, std::string> SplitUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  const size_t path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  std::string host = url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "" : url.substr(path_start);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return {std::move(host), std::move(path)};
}

// The request's path as a URL path: the key, which PATH_INFO holds decoded,
// encoded again.
std::string EncodedPath(const Request& request) {
  const std::string& path = request.path_info;
  if (!path.starts_with(kKeysPath)) return path;
  return std::string(kKeysPath) + PercentEncode(path.substr(kKeysPath.size()));
}

// The first answer of a replica of shard to method path with body, and the
// replica that gave it; nullopt when none answered.
std::optional<std::pair<httplib::Response, std::string>> SendToShard(const Request& request,
                                                                     Service& service, size_t shard,
                                                                     const std::string& method,
                                                                     const std::string& path,
                                                                     const std::string& body) {
  const cluster::ClusterNode& node = *service.cluster;
  const auto& replicas = node.map().shards()[shard].replicas;
  const size_t first = next_replica.fetch_add(1, std::memory_order_relaxed);
  // A request that waits for its causal context takes up to causal_wait
  // there: read for longer than that.
  const auto read_seconds = static_cast<time_t>(node.settings().causal_wait_ns / 1000000000 + 10);
  for (size_t i = 0; i < replicas.size(); ++i) {
    const std::string& replica = replicas[(first + i) % replicas.size()];
    auto [host, mount] = SplitUrl(node.settings().UrlOf(replica));
    httplib::Client client(host);
    client.set_connection_timeout(2);
    client.set_read_timeout(read_seconds);
    client.set_write_timeout(10);
    httplib::Request forwarded;
    forwarded.method = method;
    forwarded.path = mount + path;
    forwarded.body = body;
    for (const char* name : {"Authorization", "Content-Type"}) {
      if (auto value = request.headers.Get(name)) forwarded.set_header(name, std::string(*value));
    }
    forwarded.set_header(kForwardedBy, node.self());
    httplib::Result result = client.send(forwarded);
    if (result) return std::make_pair(result.value(), replica);
  }
  return std::nullopt;
}

Response SeedUnavailable(const Request& request, std::string log_message) {
  Response response = JsonResponse({{"status", "error"},
                                    {"error", "Unable to satisfy request"},
                                    {"message", "Error in " + request.method}});
  response.status = 503;
  response.headers.Set("Retry-After", "1");
  response.log_message = std::move(log_message);
  return response;
}

}  // namespace

Response ForwardToShard(const Request& request, Service& service, size_t shard) {
  const cluster::ClusterNode& node = *service.cluster;
  const std::string& shard_id = node.map().shards()[shard].id;
  if (auto by = request.headers.Get(kForwardedBy)) {
    return SeedUnavailable(request, "cluster: " + std::string(*by) +
                                        " forwarded a request for shard " + shard_id +
                                        " here; the nodes' cluster maps differ");
  }
  auto answer =
      SendToShard(request, service, shard, request.method, EncodedPath(request), request.body);
  if (!answer) {
    return SeedUnavailable(request, "cluster: no replica of shard " + shard_id + " answered");
  }
  auto& [got, replica] = *answer;
  Response response;
  response.status = got.status;
  nlohmann::ordered_json body = nlohmann::ordered_json::parse(got.body, nullptr, false);
  if (body.is_object()) {
    body["address"] = replica;
    response = JsonResponse(body);
    response.status = got.status;
  } else {
    response.body = got.body;
    response.headers.Set("Content-Type", got.get_header_value("Content-Type"));
  }
  if (got.has_header("Retry-After")) {
    response.headers.Set("Retry-After", got.get_header_value("Retry-After"));
  }
  return response;
}

std::optional<uint64_t> ShardKeyCount(const Request& request, Service& service, size_t shard) {
  auto answer = SendToShard(request, service, shard, "GET", "/kv-store/key-count", "");
  if (!answer || answer->first.status != 200) return std::nullopt;
  const auto body = nlohmann::json::parse(answer->first.body, nullptr, false);
  if (!body.is_object() || !body.contains("key-count") || !body["key-count"].is_number_unsigned()) {
    return std::nullopt;
  }
  return body["key-count"].get<uint64_t>();
}

}  // namespace kvs::server
