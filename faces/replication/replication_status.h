// GET /_replication: the server's background replication, per peer of the
// config's replication: section (fcgi/replication_runner.h). Reading it
// follows read_access.
//
//   {"running": true, "peers": [{"url": "http://10.0.0.2:8080", "mode": "sync",
//     "state": "waiting", "last_success": "2026-12-05T10:00:00.000Z",
//     "lag_seconds": 4.2, "lag_revisions": 0, "last_error": null, ...}]}
//
// "running" is false where no replication runs: plain CGI, whose peers
// are still listed, in the state "not running (CGI)"; "peers" is empty when
// the config names none.
#ifndef KVS_FACES_REPLICATION_REPLICATION_STATUS_H_
#define KVS_FACES_REPLICATION_REPLICATION_STATUS_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response GetReplicationStatus(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_REPLICATION_REPLICATION_STATUS_H_
