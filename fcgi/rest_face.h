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
#ifndef KVS_FCGI_REST_FACE_H_
#define KVS_FCGI_REST_FACE_H_

#include "fcgi/request.h"
#include "fcgi/service.h"

namespace kvs::fcgi {

// Answers a request for any path below / that is not a system path (/_...).
Response RouteRest(const Request& request, Service& service);

}  // namespace kvs::fcgi

#endif  // KVS_FCGI_REST_FACE_H_
