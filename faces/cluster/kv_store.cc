// The cluster face's handlers (faces/cluster/kv_store.h).
#include "faces/cluster/kv_store.h"

#include <algorithm>
#include <charconv>
#include <variant>

#include "common/json_value.h"
#include "common/key_rules.h"
#include "common/time.h"
#include "faces/cluster/answers.h"
#include "faces/cluster/forward.h"
#include "http/json_body.h"

namespace kvs::server {
namespace {

using cluster::CausalContext;
using Json = nlohmann::ordered_json;

constexpr std::string_view kKeysPath = "/kv-store/keys/";
constexpr std::string_view kShardsPath = "/kv-store/shards/";

// What a key request carries, parsed.
struct KeyRequest {
  std::string key;
  CausalContext context;
  std::string value;  // PUT only
};

// 404: the key has no value here (never written, or deleted).
Response KeyMissing(const Request& request, const CausalContext& context) {
  return ContextAnswer(404,
                       {{"doesExist", false},
                        {"error", "Key does not exist"},
                        {"message", "Error in " + request.method}},
                       context);
}

// 503: the request cannot be served without breaking causality (its
// context was not reached within the bound, or no replica of the key's
// shard answered); the client asks again later with the same context.
Response Unavailable(const Request& request, const CausalContext& context,
                     std::string log_message = "") {
  Response response =
      ContextAnswer(503, SeedErrorBody("Unable to satisfy request", request), context);
  response.headers.Set("Retry-After", "1");
  response.log_message = std::move(log_message);
  return response;
}

std::variant<KeyRequest, Response> ParseKeyRequest(const Request& request, const Service& service,
                                                   bool needs_value) {
  KeyRequest parsed;
  if (request.path_info.size() > kKeysPath.size()) {
    parsed.key = request.path_info.substr(kKeysPath.size());
  }
  if (parsed.key.empty()) return SeedError(400, "Key is missing", request);
  if (parsed.key.size() > kClusterMaxKeyBytes) return SeedError(400, "Key is too long", request);
  if (auto broken = common::BrokenKeyRule(parsed.key, kClusterMaxKeyBytes, "")) {
    return SeedError(400, *broken, request);
  }
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    if (needs_value) return SeedError(400, "Value is missing", request);
    return parsed;
  }
  auto parsed_body = ParseJsonObjectBody(request.body, R"({"causal-context": {}})");
  if (auto* error = std::get_if<HttpError>(&parsed_body)) {
    return SeedError(400, "Failed to parse request body", request, error->message);
  }
  const Json& body = std::get<Json>(parsed_body);
  if (auto it = body.find("causal-context"); it != body.end() && !it->is_null()) {
    auto context = cluster::ContextFromJson(*it);
    if (!context) return SeedError(400, "Failed to parse request body", request);
    parsed.context = std::move(*context);
  }
  if (needs_value) {
    auto it = body.find("value");
    if (it == body.end() || it->is_null()) return SeedError(400, "Value is missing", request);
    if (!it->is_string()) return SeedError(400, "Failed to parse request body", request);
    parsed.value = it->get<std::string>();
    if (parsed.value.size() > service.config.limits.max_value_bytes) {
      return SeedError(413,
                       "Value is too large (limits.max_value_bytes is " +
                           std::to_string(service.config.limits.max_value_bytes) + " bytes)",
                       request);
    }
  }
  return parsed;
}

enum class KeyOp { kGet, kPut, kDelete };

// Waits, within the bound, until this node has what the context saw.
Result<bool> ReachContext(Service& service, const CausalContext& context) {
  cluster::ClusterNode& node = *service.cluster;
  KVS_ASSIGN_OR_RETURN(bool reached, node.Reached(context));
  if (reached) return true;
  WaitSlot slot(service);
  if (!slot.held()) return false;
  const int64_t deadline = common::SteadyClockNs() + node.settings().causal_wait_ns;
  return node.Reach(context, deadline);
}

Response GetKey(const KeyRequest& parsed, const Request& request, Service& service) {
  cluster::ClusterNode& node = *service.cluster;
  auto state = service.store->Get(node.branch(), parsed.key, ReadPoint::Latest());
  if (!state.ok() && !state.status().IsNotFound()) return StoreFailure(state.status());
  auto context = node.Answer(parsed.context);
  if (!context.ok()) return StoreFailure(context.status());
  if (!state.ok() || state->winner.deleted) return KeyMissing(request, *context);
  Json body = {{"doesExist", true}, {"message", "Retrieved successfully"}};
  common::SetJsonValue(body, state->winner.value);
  return ContextAnswer(200, std::move(body), *context);
}

// PUT and DELETE: a write based on the key's heads as read (compare-and-set,
// planned again when another write came between).
Response WriteKey(const KeyRequest& parsed, const Request& request, Service& service, KeyOp op) {
  cluster::ClusterNode& node = *service.cluster;
  return RetryOnConflict(
      [&]() -> std::optional<Response> {
        auto state = service.store->Get(node.branch(), parsed.key, ReadPoint::Latest());
        if (!state.ok() && !state.status().IsNotFound()) return StoreFailure(state.status());
        const bool existed = state.ok() && !state->winner.deleted;
        if (op == KeyOp::kDelete && !existed) {
          auto context = node.Answer(parsed.context);
          if (!context.ok()) return StoreFailure(context.status());
          return KeyMissing(request, *context);
        }
        WriteBatch batch;
        batch.branch = node.branch();
        KeyWrite write;
        write.key = parsed.key;
        if (op == KeyOp::kPut) write.value = parsed.value;
        write.expected_heads = std::vector<VersionId>();
        if (state.ok()) {
          for (const Version& head : state->heads) write.expected_heads->push_back(head.id);
        }
        batch.writes.push_back(std::move(write));
        auto deps = node.DepsWrite(parsed.context);
        if (!deps.ok()) return StoreFailure(deps.status());
        if (*deps) batch.writes.push_back(std::move(**deps));
        auto written = service.store->Write(batch);
        if (written.status().IsConflict()) return std::nullopt;
        if (!written.ok()) return StoreFailure(written.status());
        auto context = node.Answer(parsed.context, written->revision);
        if (!context.ok()) return StoreFailure(context.status());
        Json body;
        int status = 200;
        if (op == KeyOp::kDelete) {
          body = {{"doesExist", true}, {"message", "Deleted successfully"}};
        } else if (existed) {
          body = {{"message", "Updated successfully"}, {"replaced", true}};
        } else {
          body = {{"message", "Added successfully"}, {"replaced", false}};
          status = 201;
        }
        return ContextAnswer(status, std::move(body), *context);
      },
      "the key kept changing while it was being written; try again");
}

Response ServeKey(const Request& request, Service& service, KeyOp op) {
  if (auto refused = RefuseQuery(request, service, op != KeyOp::kGet)) return std::move(*refused);
  auto parsed = ParseKeyRequest(request, service, op == KeyOp::kPut);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const KeyRequest& key = std::get<KeyRequest>(parsed);
  cluster::ClusterNode& node = *service.cluster;
  // The map this request is routed by, as it was when the request came.
  const std::shared_ptr<const cluster::Layout> layout = node.layout();
  const common::ClusterMap& map = layout->active;
  const size_t owner = map.ShardOfKey(key.key);
  if (owner != map.ShardOfNode(node.self())) {
    Result<Response> forwarded = ForwardToShard(request, service, map, owner);
    if (!forwarded.ok()) return Unavailable(request, key.context, forwarded.status().message());
    return std::move(forwarded).value();
  }
  auto reached = ReachContext(service, key.context);
  if (!reached.ok()) return StoreFailure(reached.status());
  if (!*reached) return Unavailable(request, key.context);
  return op == KeyOp::kGet ? GetKey(key, request, service) : WriteKey(key, request, service, op);
}

}  // namespace

Response GetClusterKey(const Request& request, Service& service) {
  return ServeKey(request, service, KeyOp::kGet);
}

Response PutClusterKey(const Request& request, Service& service) {
  return ServeKey(request, service, KeyOp::kPut);
}

Response DeleteClusterKey(const Request& request, Service& service) {
  return ServeKey(request, service, KeyOp::kDelete);
}

Response GetClusterKeyCount(const Request& request, Service& service) {
  if (auto refused = RefuseQuery(request, service, false)) return std::move(*refused);
  cluster::ClusterNode& node = *service.cluster;
  const std::shared_ptr<const cluster::Layout> layout = node.layout();
  // Asked by another node for its own map (ShardKeyCount): counted by that
  // map when this node still, or already, follows it, so that counts add up
  // while a view change switches the nodes one by one.
  const common::ClusterMap* map = &layout->active;
  if (auto asked = request.headers.Get(kMapVersionHeader)) {
    uint64_t version = 0;
    const auto [end, error] =
        std::from_chars(asked->data(), asked->data() + asked->size(), version);
    if (error == std::errc() && end == asked->data() + asked->size()) {
      if (const common::ClusterMap* known = layout->MapOfVersion(version)) map = known;
    }
  }
  Json body = {{"message", "Key count retrieved successfully"}, {"key-count", 0}};
  // A node in no shard (it joins, or left) holds none of its own.
  if (auto mine = map->ShardOfNode(node.self())) {
    auto count = node.CountKeys(*map, *mine);
    if (!count.ok()) return StoreFailure(count.status());
    body["key-count"] = *count;
    body["shard-id"] = map->shards()[*mine].id;
  }
  return JsonResponse(body);
}

Response GetClusterShards(const Request& request, Service& service) {
  if (auto refused = RefuseQuery(request, service, false)) return std::move(*refused);
  Json ids = Json::array();
  for (const common::ClusterShard& shard : service.cluster->layout()->active.shards()) {
    ids.push_back(shard.id);
  }
  return JsonResponse({{"message", "Shard membership retrieved successfully"}, {"shards", ids}});
}

Response GetClusterShard(const Request& request, Service& service) {
  if (auto refused = RefuseQuery(request, service, false)) return std::move(*refused);
  cluster::ClusterNode& node = *service.cluster;
  const std::string id = request.path_info.size() > kShardsPath.size()
                             ? request.path_info.substr(kShardsPath.size())
                             : "";
  const std::shared_ptr<const cluster::Layout> layout = node.layout();
  const common::ClusterMap& map = layout->active;
  const auto& shards = map.shards();
  auto shard = std::find_if(shards.begin(), shards.end(),
                            [&](const common::ClusterShard& s) { return s.id == id; });
  if (shard == shards.end()) return SeedError(404, "Shard does not exist", request);
  const size_t index = static_cast<size_t>(shard - shards.begin());
  uint64_t count = 0;
  if (index == map.ShardOfNode(node.self())) {
    auto counted = node.CountOwnedKeys();
    if (!counted.ok()) return StoreFailure(counted.status());
    count = *counted;
  } else {
    auto counted = ShardKeyCount(request, service, map, index);
    if (!counted) return SeedError(503, "Unable to satisfy request", request);
    count = *counted;
  }
  return JsonResponse({{"message", "Shard information retrieved successfully"},
                       {"shard-id", shard->id},
                       {"key-count", count},
                       {"replicas", shard->replicas}});
}

}  // namespace kvs::server
