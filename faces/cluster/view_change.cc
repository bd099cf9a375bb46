// View changes (faces/cluster/view_change.h).
#include "faces/cluster/view_change.h"

#include <chrono>
#include <set>
#include <thread>
#include <variant>

#include "common/time.h"
#include "faces/cluster/answers.h"
#include "faces/cluster/forward.h"
#include "http/json_body.h"

namespace kvs::server {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kMapPath[] = "/_cluster/map";

// One step of a view change at this node, as PUT /_cluster/map takes it:
// InvalidArgument when step is not one, else what Prepare or Switch says.
Status TakeStep(cluster::ClusterNode& node, const Json& step) {
  const bool prepare = step.contains("prepare");
  if (!step.is_object() || step.size() != 1 || (!prepare && !step.contains("switch"))) {
    return Status::InvalidArgument("the body must be {\"prepare\": MAP} or {\"switch\": MAP}");
  }
  KVS_ASSIGN_OR_RETURN(common::ClusterMap map,
                       common::ClusterMap::FromJson(step[prepare ? "prepare" : "switch"]));
  return prepare ? node.Prepare(map) : node.Switch(map, node.settings().grace_ns);
}

// A step's outcome at one node: OK, Conflict (it follows another view
// change), or IOError (it did not answer, or failed).
Status SendStep(const Request& request, cluster::ClusterNode& node, const std::string& address,
                const Json& step) {
  if (address == node.self()) return TakeStep(node, step);
  KVS_ASSIGN_OR_RETURN(NodeAnswer answer,
                       SendToNode(request, node, address, "PUT", kMapPath, step.dump()));
  if (answer.status == 200) return Status::OK();
  const Json body = Json::parse(answer.body, nullptr, false);
  const std::string said =
      body.is_object() && body.contains("message") && body["message"].is_string()
          ? body["message"].get<std::string>()
          : answer.body;
  if (answer.status == 409) return Status::Conflict(address + ": " + said);
  return Status::IOError(address + " answered " + std::to_string(answer.status) + ": " + said);
}

enum class Progress { kBehind, kCaughtUp, kSuperseded };

// How far the node at address is with moving to next: caught up, still
// behind (or not answering), or moving to another map of the same version
// (a view change begun at the same time won).
Progress ProgressAt(const Request& request, cluster::ClusterNode& node, const std::string& address,
                    const common::ClusterMap& next) {
  // What GET /_cluster/map answers there.
  Json described;
  if (address == node.self()) {
    described = node.Describe();
  } else {
    auto answer = SendToNode(request, node, address, "GET", kMapPath, "");
    if (!answer.ok() || answer->status != 200) return Progress::kBehind;
    described = Json::parse(answer->body, nullptr, false);
    if (!described.is_object()) return Progress::kBehind;
  }
  // The map it moves to: its next, else its active one.
  auto moving_to = common::ClusterMap::FromJson(
      described["next"].is_object() ? described["next"] : described["active"]);
  if (!moving_to.ok()) return Progress::kBehind;
  if (moving_to->version() == next.version() && !(*moving_to == next)) {
    return Progress::kSuperseded;
  }
  return described.value("caught_up", false) && *moving_to == next ? Progress::kCaughtUp
                                                                   : Progress::kBehind;
}

// The 404 of the /_cluster/map routes on a server that is not a node.
Response NotANode() {
  return JsonError(
      {404, "this server is not a node of a cluster (its config has no cluster: section)"});
}

// The view change's request: the view's nodes and the replication factor;
// or the seed's 400.
std::variant<std::pair<std::vector<std::string>, size_t>, Response> ParseViewChange(
    const Request& request) {
  auto body = ParseJsonObjectBody(request.body, R"({"view": "a:1,b:2", "repl-factor": 1})");
  if (auto* error = std::get_if<HttpError>(&body)) {
    return SeedError(400, "Failed to parse request body", request, error->message);
  }
  const Json& json = std::get<Json>(body);
  auto view = json.find("view");
  auto factor = json.find("repl-factor");
  if (view == json.end() || !view->is_string() || factor == json.end() ||
      !factor->is_number_unsigned() || factor->get<uint64_t>() == 0) {
    return SeedError(400, "Failed to parse request body", request,
                     "the body needs \"view\", the nodes' addresses separated by commas, and "
                     "\"repl-factor\", a number from 1");
  }
  return std::make_pair(common::SplitView(view->get<std::string>()), factor->get<size_t>());
}

Response Unavailable(const Request& request, const std::string& detail, int retry_seconds) {
  Response response = SeedError(503, "Unable to satisfy request", request, detail);
  response.headers.Set("Retry-After", std::to_string(retry_seconds));
  response.log_message = "cluster: view change: " + detail;
  return response;
}

}  // namespace

Response PutClusterViewChange(const Request& request, Service& service) {
  if (auto refused = RefuseQuery(request, service, true)) return std::move(*refused);
  auto parsed = ParseViewChange(request);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  // Named, not a structured binding: the lambda below captures them.
  const std::vector<std::string>& view = std::get<0>(parsed).first;
  const size_t repl_factor = std::get<0>(parsed).second;
  cluster::ClusterNode& node = *service.cluster;
  const std::shared_ptr<const cluster::Layout> layout = node.layout();
  const common::ClusterMap& active = layout->active;

  // The map to move to: the one under way when this is that view change
  // sent again; the active one when it is that one (each step below is then
  // done already, or finishes what a failed attempt left); else the next.
  auto is = [&](const common::ClusterMap& map) {
    return map.view() == view && map.repl_factor() == repl_factor;
  };
  common::ClusterMap next;
  if (layout->next && is(*layout->next)) {
    next = *layout->next;
  } else if (layout->next) {
    return SeedError(409, "Another view change is under way", request,
                     "the cluster is moving to map version " +
                         std::to_string(layout->next->version()) +
                         "; send that view change again to finish it first");
  } else if (is(active)) {
    next = active;
  } else {
    auto made = active.Next(view, repl_factor);
    if (!made.ok()) {
      return SeedError(400, "Failed to parse request body", request, made.status().message());
    }
    next = std::move(made).value();
  }

  // The new view's nodes, then those the change lets go; a node let go
  // that does not answer is left behind (it forwards nothing and owns
  // nothing once it hears of the switch).
  std::vector<std::string> nodes = next.view();
  for (const std::string& old : active.view()) {
    if (!next.ShardOfNode(old)) nodes.push_back(old);
  }
  auto run = [&](const Json& step) -> std::optional<Response> {
    for (const std::string& address : nodes) {
      Status done = SendStep(request, node, address, step);
      if (done.ok()) continue;
      if (done.IsConflict()) {
        return SeedError(409, "Another view change is under way", request, done.message());
      }
      if (next.ShardOfNode(address)) return Unavailable(request, done.message(), 1);
      std::fprintf(stderr, "kvs-fcgi: cluster: view change: %s (it leaves the view)\n",
                   done.message().c_str());
    }
    return std::nullopt;
  };
  if (auto failed = run({{"prepare", next.ToJson()}})) return std::move(*failed);

  const int64_t deadline = common::SteadyClockNs() + int64_t{kCatchUpSeconds} * 1000000000;
  std::set<std::string> behind(next.view().begin(), next.view().end());
  for (;;) {
    for (auto it = behind.begin(); it != behind.end();) {
      const Progress progress = ProgressAt(request, node, *it, next);
      if (progress == Progress::kSuperseded) {
        return SeedError(409, "Another view change is under way", request,
                         *it + " moves to another map of version " +
                             std::to_string(next.version()) +
                             ": a view change begun at the same time won");
      }
      it = progress == Progress::kCaughtUp ? behind.erase(it) : std::next(it);
    }
    if (behind.empty()) break;
    if (common::SteadyClockNs() >= deadline) {
      return Unavailable(request,
                         "keys are still moving to " + *behind.begin() +
                             "; send the same view change again to finish it",
                         5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (auto failed = run({{"switch", next.ToJson()}})) return std::move(*failed);

  Json shards = Json::array();
  for (size_t i = 0; i < next.shards().size(); ++i) {
    const common::ClusterShard& shard = next.shards()[i];
    std::optional<uint64_t> count;
    if (next.ShardOfNode(node.self()) == i) {
      auto counted = node.CountOwnedKeys();
      if (!counted.ok()) return StoreFailure(counted.status());
      count = *counted;
    } else {
      count = ShardKeyCount(request, service, next, i);
    }
    shards.push_back({{"shard-id", shard.id},
                      {"key-count", count ? Json(*count) : Json()},
                      {"replicas", shard.replicas}});
  }
  auto context = node.Answer({});
  if (!context.ok()) return StoreFailure(context.status());
  return ContextAnswer(200, {{"message", "View change successful"}, {"shards", shards}}, *context);
}

Response GetClusterMap(const Request& request, Service& service) {
  if (auto refused = RefuseQuery(request, service, false)) return std::move(*refused);
  if (!service.cluster) return NotANode();
  return JsonResponse(service.cluster->Describe());
}

Response PutClusterMap(const Request& request, Service& service) {
  if (auto refused = RefuseQuery(request, service, true)) return std::move(*refused);
  if (!service.cluster) return NotANode();
  auto body = ParseJsonObjectBody(request.body, R"({"switch": MAP})");
  if (auto* error = std::get_if<HttpError>(&body)) return JsonError(*error);
  cluster::ClusterNode& node = *service.cluster;
  const Status done = TakeStep(node, std::get<Json>(body));
  if (done.code() == Status::Code::kInvalidArgument) return JsonError({400, done.message()});
  if (done.IsConflict()) return JsonError({409, done.message()});
  if (!done.ok()) return StoreFailure(done);
  return JsonResponse(node.Describe());
}

}  // namespace kvs::server
