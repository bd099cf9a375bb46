// POST /_sync/OP: a replication message answered from the store.
#include "faces/replication/sync.h"

#include <variant>

#include "http/json_body.h"
#include "replication/local_peer.h"
#include "replication/serve.h"

namespace kvs::server {
namespace {

Result<replication::Json> AnswerWait(replication::Peer& peer, const replication::Json& body,
                                     Service& service) {
  KVS_ASSIGN_OR_RETURN(replication::WaitRequest request, replication::WaitRequestFromJson(body));
  WaitSlot slot(service);
  if (!slot.held()) request.timeout_ms = 0;
  KVS_ASSIGN_OR_RETURN(replication::WaitOutcome outcome, peer.Wait(request));
  outcome.busy = !slot.held();
  return replication::ToJson(outcome);
}

}  // namespace

Response SyncMessage(const Request& request, Service& service) {
  constexpr std::string_view kPrefix = "/_sync/";
  const std::string_view path = request.path_info;
  const std::string_view name = path.starts_with(kPrefix) ? path.substr(kPrefix.size()) : "";
  std::optional<replication::Op> op = replication::OpNamed(name);
  if (!op) {
    return JsonError(
        {404,
         "no replication message '" + std::string(name) +
             "': POST /_sync/ hello, changes, walk, fetch, diff, lacking, wait or apply",
         "not_found"});
  }
  auto query =
      replication::Writes(*op) ? WriteQuery(request, service, {}) : ReadQuery(request, service, {});
  if (auto* refused = std::get_if<HttpError>(&query)) return JsonError(*refused);
  replication::LocalPeer peer(*service.store, {service.config.merge_rules, &service.stopping});
  if (*op == replication::Op::kApply) {  // the largest request: read as it is parsed
    auto answer = replication::AnswerApply(peer, request.body);
    if (!answer.ok()) return JsonError(StoreError(answer.status()));
    return JsonResponse(*answer);
  }
  // The one JSON body parser: it refuses a member named twice, which
  // nlohmann's own parse would quietly drop.
  auto body = ParseJsonObjectBody(request.body, R"({"checkpoints": ""})");
  if (auto* refused = std::get_if<HttpError>(&body)) return JsonError(*refused);
  const auto& message = std::get<nlohmann::ordered_json>(body);
  if (*op == replication::Op::kFetch) {  // the largest answer: written as it is made
    auto answer = replication::AnswerFetch(peer, message);
    if (!answer.ok()) return JsonError(StoreError(answer.status()));
    return ContentResponse("application/json", std::move(*answer));
  }
  auto answer = *op == replication::Op::kWait ? AnswerWait(peer, message, service)
                                              : replication::Answer(peer, *op, message);
  if (!answer.ok()) return JsonError(StoreError(answer.status()));
  return JsonResponse(*answer);
}

}  // namespace kvs::server
