// The history face, read side: the version graph of docs/design.md (content-
// addressed versions with parent links) as forkdb shows it, for tools that
// work with forks and conflicts directly. Writing is POST /_create
// (version_create.h).
//
//   GET /_heads/KEY[?branch=B]   the key's current heads on a branch (its
//                                forks), winner first; [] when it has none;
//                                with at=, its heads as of a revision, time
//                                or commit
//   GET /_tails/KEY              the key's versions without parents, on any
//                                branch, by id
//   GET /_versions/ID            one version's metadata
//   GET /_versions/ID/value      its value, the raw bytes; immutable
//   GET /_links/ID               the versions naming ID as a parent, by id
//   GET /_history/ID[?limit=N]   the walk back through parents, as a tree
//   GET /_future/ID[?limit=N]    the walk forward through children
//   GET /_concestor?id=A&id=B... the most recent common ancestors; []
//                                when the versions share none
//   GET /_list[?gt=&lt=&limit=]  every version in the store, by id, a page
//                                at a time
//
// KEY is the rest of the path as the web server decoded it ("/_heads/a/b"
// is key "a/b"), or key= for keys no path can carry. ID is a full id or a
// unique prefix of at least 8 hex digits. Answers are JSON, version metadata
// as format::VersionJson; history and future also draw forkdb's text tree
// with format=text. Refusals are {"error","message"}: 400 for a malformed id,
// an ambiguous prefix, a bad parameter or range; 403 when reading needs the
// secret (read_access: secret); 404 for an unknown version or branch.
#ifndef KVS_FACES_HISTORY_HISTORY_H_
#define KVS_FACES_HISTORY_HISTORY_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response GetHeads(const Request& request, Service& service);
Response GetTails(const Request& request, Service& service);
// /_versions/ID and /_versions/ID/value.
Response GetVersion(const Request& request, Service& service);
Response GetLinks(const Request& request, Service& service);
Response GetHistory(const Request& request, Service& service);
Response GetFuture(const Request& request, Service& service);
Response GetConcestor(const Request& request, Service& service);
Response ListAllVersions(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_HISTORY_HISTORY_H_
