// A key's version graph a page at a time, newest first: what the key
// explorer (web/key.html) draws.
//
//   GET /_graph/KEY[?branch=B][&limit=N][&id=ID...]
//
// The walk starts at the key's heads on the branch (or at the ids a previous
// page's "next" named) and goes back through parents, newest first (time,
// then id, as Store::History orders), each version once, across every head:
// a fork's sides and a merge's parents come interleaved by time, so the
// first page of a key with 100,000 versions costs what a key with 100 costs.
// /_history/ID cannot serve this: it walks one version depth first, as
// forkdb draws it, and shows a merge's shared past again.
//
// Answer: {"key","branch","heads":[ids, winner first],"conflict",
// "versions":[metadata...],"next":[ids]}. "next" names the versions where
// the walk stopped (parents not shown yet, or starting points that did not
// fit); [] when the page reached every tail. With writer clocks out of order
// (a parent newer than its child) a later page may show a version again.
// Refusals: 400 for a bad key, limit, id, an id of another key or over 100
// ids; 403 under read_access: secret without it; 404 for an unknown branch
// or version.
#ifndef KVS_FACES_HISTORY_KEY_GRAPH_H_
#define KVS_FACES_HISTORY_KEY_GRAPH_H_

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response GetKeyGraph(const Request& request, Service& service);

}  // namespace kvs::server

#endif  // KVS_FACES_HISTORY_KEY_GRAPH_H_
