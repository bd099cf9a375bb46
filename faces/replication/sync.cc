// POST /_sync/OP: a replication message answered from the store.
#include "faces/replication/sync.h"

#include <variant>

#include "http/json_body.h"
#include "replication/local_peer.h"
#include "replication/serve.h"

namespace kvs::server {

Response SyncMessage(const Request& request, Service& service) {
  constexpr std::string_view kPrefix = "/_sync/";
  const std::string_view path = request.path_info;
  const std::string_view name = path.starts_with(kPrefix) ? path.substr(kPrefix.size()) : "";
  std::optional<replication::Op> op = replication::OpNamed(name);
  if (!op) {
    return JsonError({404,
                      "no replication message '" + std::string(name) +
                          "': POST /_sync/ hello, changes, walk, fetch, diff, lacking or apply",
                      "not_found"});
  }
  auto query =
      replication::Writes(*op) ? WriteQuery(request, service, {}) : ReadQuery(request, service, {});
  if (auto* refused = std::get_if<HttpError>(&query)) return JsonError(*refused);
  // The one JSON body parser: it refuses a member named twice, which
  // nlohmann's own parse would quietly drop.
  auto body = ParseJsonObjectBody(request.body, R"({"checkpoints": ""})");
  if (auto* refused = std::get_if<HttpError>(&body)) return JsonError(*refused);
  replication::LocalPeer peer(*service.store);
  auto answer = replication::Answer(peer, *op, std::get<nlohmann::ordered_json>(body));
  if (!answer.ok()) return JsonError(StoreError(answer.status()));
  return JsonResponse(*answer);
}

}  // namespace kvs::server
