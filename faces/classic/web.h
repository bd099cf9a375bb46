// The index page and the files it loads, served from the copies compiled
// into the program (web_assets.h).
//
//   GET /                 web/index.html
//   GET /_static/NAME     web/NAME (kvs.js, kvs.css, ...)
//
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

namespace kvs::server {

// GET or HEAD of the index page.
Response ServeIndexPage(const Request& request);

// GET or HEAD of /_static/<name>; a JSON 404 for a name that is not in web/,
// a JSON 400 for a query parameter other than "_".
Response ServeStaticFile(const Request& request, std::string_view name);

}  // namespace kvs::server

#endif  // KVS_FACES_CLASSIC_WEB_H_
