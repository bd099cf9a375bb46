// Which handler answers a request: by PATH_INFO and method, so the service
// works wherever it is mounted (the web server strips the mount prefix into
// SCRIPT_NAME and leaves the route in PATH_INFO).
//
// The table in faces/routes.cc is the one list of routes: Route dispatches
// by it, the route-table test walks it, and the route index in
// docs/http-api.md lists each of its patterns with its methods, in its order
// (tests/docs/route_index_test.cc checks). A path that matches no route is a
// 404; a route asked with a method it does not take is a 405 with an Allow
// header. Adding a route is one line in the table and one handler in a face.
#ifndef KVS_FACES_ROUTES_H_
#define KVS_FACES_ROUTES_H_

#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

Response Route(const Request& request, Service& service);

// A route as the docs name it: "/_heads/KEY", "/KEY[/FORK]/info". Upper-case
// words stand for a path segment a client fills in.
struct RouteSpec {
  std::string_view pattern;
  // The methods it takes, as an Allow header lists them ("GET, HEAD, POST").
  std::string methods;
};

// Every route, in the order the router tries them.
std::vector<RouteSpec> RouteTable();

}  // namespace kvs::server

#endif  // KVS_FACES_ROUTES_H_
