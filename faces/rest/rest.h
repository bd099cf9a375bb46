// The REST face: the interface of a time-traveling key/value store, for
// scripts and apps. Keys are URL-encoded path segments; a fork is a branch
// of the store (the default branch when the path names none).
//
//   GET    /KEY[/FORK]            [value, revisions] ([] when missing or deleted)
//          ?revisions=N|all       the N most recent earlier revisions, newest first,
//                                 as reverse patches ([["eq"|"del"|"ins", text], ...])
//          &patch=true            ... or as the earlier values themselves
//          &at=REV|TIME|COMMIT    the key as it was then
//   GET    /KEY[/FORK]/info       metadata: revision_count, heads, created, ...
//   PUT    /KEY[/FORK]            body = value; If-Match makes it a compare-and-set
//   DELETE /KEY[/FORK]            a tombstone; the history stays readable with at=
//   POST   /KEY/FORK/fork/TARGET  copies the key with its history into TARGET
//   POST   /KEY/FORK/merge/TARGET the target takes the source's value, or with
//                                 ?strategy=F the three-way merge F gives
//   GET    /keys?prefix=&fork=&limit=&after=   keys, paged
//
// Values are JSON strings when valid UTF-8, else {"base64": "..."}. Every
// error is {"status": "error", "error": CODE, "message": ...}. Writes need
// "Authorization: Bearer SECRET".
//
// The handlers are in faces/rest/rest_read.cc and faces/rest/rest_write.cc, what they
// share in faces/rest/rest.cc; the router (faces/routes.h) calls them with
// the path it parsed. Each handler parses its own query.
#ifndef KVS_FACES_REST_REST_H_
#define KVS_FACES_REST_REST_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "faces/rest/rest_path.h"
#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response GetRestKey(const Request& request, Service& service, const RestPath& path);
Response GetRestKeyInfo(const Request& request, Service& service, const RestPath& path);
Response ListRestKeys(const Request& request, Service& service);
Response PutRestKey(const Request& request, Service& service, const RestPath& path);
Response DeleteRestKey(const Request& request, Service& service, const RestPath& path);
Response ForkRestKey(const Request& request, Service& service, const RestPath& path);
Response MergeRestKey(const Request& request, Service& service, const RestPath& path);

// ---- Shared by the handlers ------------------------------------------------

// The branch the path names (the configured default when none).
std::string ForkOf(const RestPath& path, const Service& service);

// The key's and the fork's rules.
std::optional<HttpError> CheckKeyAndFork(const RestPath& path, const Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_REST_REST_H_
