// POST /_create: the history face's write, forkdb's `create`. It writes one
// version of a key with exactly the parents the client names, so the client,
// not the server, decides how the version graph grows:
//
//   POST /_create?key=K                    a new version with no parents: a
//                                          new tail, and one more head beside
//                                          the key's current ones (as forkdb)
//   POST /_create?key=K&prev=ID            an update of ID; two creates naming
//                                          the same ID leave two heads (a fork)
//   POST /_create?key=K&prev=A&prev=B...   a merge: A and B stop being heads
//   &branch=B                              on branch B (default: the
//                                          configured default branch)
//   &deleted=true                          a delete (a tombstone) with those
//                                          parents; the body must be empty
//   &json=true                             the body is JSON text, read back
//                                          as JSON (as POST /_txn stores it)
//
// The body is the value, exactly as sent, whatever its Content-Type (no form
// decoding). The secret comes only as "Authorization: Bearer SECRET": a
// raw body has no room for a form field, and a secret in the URL would be
// written to access logs, so auth= in the query is refused (400). Each prev
// is a full id or a unique prefix of at least 8 hex digits, a version of the
// same key. The answer is 201 with the new version's metadata
// (format::VersionJson) plus "branch" and "commit", and Location pointing at
// /_versions/ID. Every refusal writes nothing: 400 for a bad key, parameter,
// malformed, ambiguous or repeated prev, or a prev of another key; 403
// without the right secret; 404 for an unknown prev or branch; 413 for a
// value over limits.max_value_bytes.
#ifndef KVS_FACES_HISTORY_VERSION_CREATE_H_
#define KVS_FACES_HISTORY_VERSION_CREATE_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response CreateVersion(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_HISTORY_VERSION_CREATE_H_
