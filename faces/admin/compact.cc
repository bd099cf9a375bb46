// POST /_compact: Store::Compact with the config's retention.
#include "faces/admin/compact.h"

#include "faces/rest/rest.h"
#include "faces/rest/rest_args.h"

namespace kvs::server {

nlohmann::ordered_json CompactStatsJson(const CompactStats& stats) {
  nlohmann::ordered_json evicted = nlohmann::ordered_json::array();
  for (size_t i = 0; i < stats.evicted_keys.size() && i < kMaxListedEvictions; ++i) {
    evicted.push_back(stats.evicted_keys[i]);
  }
  return {{"bytes_before", stats.bytes_before},
          {"bytes_after", stats.bytes_after},
          {"freed",
           stats.bytes_before > stats.bytes_after ? stats.bytes_before - stats.bytes_after : 0},
          {"versions_kept", stats.versions_kept},
          {"versions_dropped", stats.versions_dropped},
          {"keys_evicted", stats.evicted_keys.size()},
          {"evicted", std::move(evicted)},
          {"above_low_water", stats.above_low_water}};
}

Result<CompactStats> CompactByRetention(Service& service, bool if_idle) {
  CompactOptions options = service.config.retention.ToCompactOptions();
  options.if_idle = if_idle;
  KVS_ASSIGN_OR_RETURN(CompactStats stats, service.store->Compact(options));
  service.compactions.fetch_add(1);
  if (stats.bytes_before > stats.bytes_after) {
    service.compaction_freed_bytes.fetch_add(stats.bytes_before - stats.bytes_after);
  }
  return stats;
}

// A request does not wait for another compaction, which may take minutes:
// each one waiting held a worker thread, and sixteen of them left none to
// answer reads.
Response CompactEndpoint(const Request& request, Service& service) {
  if (auto refused = RefuseBareWrite(request, service)) return JsonError(*refused);
  auto stats = CompactByRetention(service, /*if_idle=*/true);
  if (stats.status().IsConflict()) {
    return JsonError({409,
                      "another compaction of the store is running (in this process or "
                      "another); try again once it ends",
                      "compaction_running"});
  }
  if (!stats.ok()) return StoreErrorResponse(stats.status(), Format::kJson);
  return OkResponse(CompactStatsJson(*stats));
}

}  // namespace kvs::server
