// The server's metrics for Prometheus (text format 0.0.4; reads follow
// read_access, so a scrape of a server with read_access: secret sends the
// secret as a bearer token):
//
//   GET /_metrics   kvs_http_requests_total{face,route,method,code}
//                   kvs_http_request_duration_seconds{face} (histogram)
//                   kvs_store_revision, kvs_store_data_bytes
//                   kvs_compactions_total, kvs_compaction_freed_bytes_total
//                   kvs_replication_peer_up{peer}, ..._lag_seconds{peer},
//                   ..._failures{peer}, kvs_replication_versions_received_total
//                   and _sent_total{peer}, for each configured peer
//                   kvs_process_start_time_seconds
//
// The counts are this kvs-fcgi process's since it started. Behind nginx one
// process serves with many threads; under Apache's mod_fcgid, several
// processes each count their own.
#ifndef KVS_FACES_ADMIN_METRICS_H_
#define KVS_FACES_ADMIN_METRICS_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response GetMetrics(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_ADMIN_METRICS_H_
