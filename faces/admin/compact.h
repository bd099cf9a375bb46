// Retention and garbage collection over HTTP (JSON; needs the secret as
// "Authorization: Bearer SECRET"):
//
//   POST /_compact   rewrites the store keeping what the config's retention
//                    section keeps (per-prefix keep_last and keep_younger,
//                    protected prefixes, the size bound that drops the least
//                    recently read keys of evictable prefixes), and reports
//                    what it freed
//
// The same compaction runs from `kvs gc`, and by itself in kvs-fcgi when the
// size bound is passed or garbage gathers (fcgi/compaction_watch.h).
#ifndef KVS_FACES_ADMIN_COMPACT_H_
#define KVS_FACES_ADMIN_COMPACT_H_

#include <nlohmann/json.hpp>

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response CompactEndpoint(const Request& request, Service& service);

// Store::Compact keeping what the config's retention keeps, counted in the
// service's compactions: what POST /_compact and the automatic compaction
// run. if_idle: Conflict when another compaction is running, instead of
// waiting for it (CompactOptions::if_idle).
Result<CompactStats> CompactByRetention(Service& service, bool if_idle = false);

// A compaction's figures as JSON: bytes before, after and freed, versions
// kept and dropped, and the keys the size bound dropped (the first
// kMaxListedEvictions of them, and how many in all).
nlohmann::ordered_json CompactStatsJson(const CompactStats& stats);

inline constexpr size_t kMaxListedEvictions = 1000;

}  // namespace kvs::server

#endif  // KVS_FACES_ADMIN_COMPACT_H_
