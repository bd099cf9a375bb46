// The index page and the files it loads, served from the copies compiled
// into the program (web_assets.h).
//
//   GET /                 web/index.html
//   GET /_static/NAME     web/NAME (kvs.js, kvs.css, ...)
//   GET /_ui/keys/KEY     web/key.html: a key's value, version graph, diffs,
//                         time travel and forks (the key as one
//                         percent-encoded segment, or /_ui/keys/?key=KEY)
//   GET /_ui/branches     web/branches.html: two branches' diff, a merge
//                         preview and the merge (?from=A&into=B)
//   GET /_ui/log          web/log.html: a branch's commits (?branch=B)
//
// The explorer pages (docs/explorer.md) fetch from the JSON endpoints of the
// history and branches faces; like the index page they hold no data, so they
// are the same for every key and branch, and their script reads its URL.
// The page fetches its data from GET /_keys (key_listing.h) and writes
// through the classic face's POST /, with relative URLs, so it works under
// any mount point. Responses carry an ETag (If-None-Match gives 304) and
// Cache-Control: no-cache, so a browser revalidates and picks up a new
// version of kvs at once. The page is sent with a Content-Security-Policy that
// allows scripts, styles and requests to this origin only: even a stored
// value that slipped into the markup could not run.
#ifndef KVS_FACES_CLASSIC_WEB_H_
#define KVS_FACES_CLASSIC_WEB_H_

#include <string_view>

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

// GET or HEAD of the index page.
Response ServeIndexPage(const Request& request);

// GET or HEAD of the explorer's pages. A JSON 400 for a query parameter the
// page does not read; the key page also answers 400 for a key that breaks
// the key rules (key_errors.h) or is named both in the path and as key=,
// 404 when by neither.
Response ServeKeyPage(const Request& request, Service& service);
Response ServeBranchesPage(const Request& request, Service& service);
Response ServeLogPage(const Request& request, Service& service);

// GET or HEAD of /_static/<name>; a JSON 404 for a name that is not in web/ or is a page (.html),
// a JSON 400 for a query parameter other than "_".
Response ServeStaticFile(const Request& request, std::string_view name);

}  // namespace kvs::server

#endif  // KVS_FACES_CLASSIC_WEB_H_
