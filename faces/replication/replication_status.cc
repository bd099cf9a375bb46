// GET /_replication (faces/replication/replication_status.h).
#include "faces/replication/replication_status.h"

#include <variant>

#include "common/time.h"

namespace kvs::server {
namespace {

nlohmann::ordered_json TimeOrNull(int64_t ns) {
  return ns == 0 ? nlohmann::ordered_json() : nlohmann::ordered_json(common::FormatRfc3339(ns));
}

}  // namespace

Response GetReplicationStatus(const Request& request, Service& service) {
  auto query = ReadQuery(request, service, {});
  if (auto* refused = std::get_if<HttpError>(&query)) return JsonError(*refused);
  const int64_t now = common::WallClockNs();
  uint64_t revision = 0;
  if (auto r = service.store->Revision(); r.ok()) revision = *r;
  nlohmann::ordered_json peers = nlohmann::ordered_json::array();
  if (service.replication) {
    for (const replication::PeerStatus& p : service.replication->Peers()) {
      nlohmann::ordered_json peer = {{"url", p.url},
                                     {"mode", p.mode},
                                     {"live", p.live},
                                     {"state", p.state},
                                     {"last_attempt", TimeOrNull(p.last_attempt_ns)},
                                     {"last_success", TimeOrNull(p.last_success_ns)},
                                     {"next_attempt", TimeOrNull(p.next_attempt_ns)}};
      const std::optional<double> lag = p.LagSeconds(now);
      peer["lag_seconds"] = lag ? nlohmann::ordered_json(*lag) : nlohmann::ordered_json();
      // Local revisions not yet sent (push and sync).
      peer["lag_revisions"] =
          p.mode == "pull" || p.last_success_ns == 0
              ? nlohmann::ordered_json()
              : nlohmann::ordered_json(revision - std::min(revision, p.pushed_through));
      peer["last_error"] =
          p.last_error.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(p.last_error);
      peer["last_error_at"] = TimeOrNull(p.last_error_ns);
      peer["failures"] = p.failures;
      peer["versions_received"] = p.versions_received;
      peer["versions_sent"] = p.versions_sent;
      peers.push_back(std::move(peer));
    }
  } else {
    for (const config::ReplicationPeer& p : service.config.replication) {
      peers.push_back({{"url", p.url}, {"state", "not running (CGI)"}});
    }
  }
  return JsonResponse({{"running", service.replication != nullptr}, {"peers", peers}});
}

}  // namespace kvs::server
