// The replication protocol over HTTP: one route per message, each a POST
// of the message's JSON body, answered with JSON (replication/protocol.h
// has the messages; docs/replication.md the protocol):
//
//   POST /_sync/hello | changes | walk | fetch | diff | lacking   read
//   POST /_sync/wait                                              read, long poll
//   POST /_sync/apply                                             write
//
// A wait holds its worker thread until the store changes or its timeout
// (at most 25 s) passes; when Service::max_waiting requests wait already,
// it answers at once with "busy" and the replicator polls instead.
//
// Reading follows read_access (with read_access: secret, the secret comes
// as "Authorization: Bearer SECRET"); apply always needs the secret. Other
// replicas' `kvs sync URL` and replicators talk to these; people need not.
#ifndef KVS_FACES_REPLICATION_SYNC_H_
#define KVS_FACES_REPLICATION_SYNC_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response SyncMessage(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_REPLICATION_SYNC_H_
