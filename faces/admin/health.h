// Whether this server can serve, for load balancers, systemd watchdogs and
// monitoring (JSON; open to every client whatever read_access says, as it
// tells nothing of the data):
//
//   GET /_health   200 {"status": "ok"} while the store reads and can be
//                  written; 503 {"status": "error", "error":
//                  "service_unavailable", "message": why} when not, e.g. a
//                  write failed and its rollback failed too (a disk that
//                  went away, or stays full): writes are refused until one
//                  rolls back (Store::Health).
//
// Never cached: each request asks the store again.
#ifndef KVS_FACES_ADMIN_HEALTH_H_
#define KVS_FACES_ADMIN_HEALTH_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response GetHealth(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_ADMIN_HEALTH_H_
