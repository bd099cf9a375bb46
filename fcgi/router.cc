// Dispatch on PATH_INFO and method.
#include "fcgi/router.h"

#include "fcgi/branch_face.h"
#include "fcgi/branch_merge.h"
#include "fcgi/classic.h"
#include "fcgi/compact_face.h"
#include "fcgi/history_face.h"
#include "fcgi/key_listing.h"
#include "fcgi/rest_face.h"
#include "fcgi/version_create.h"
#include "fcgi/web.h"

namespace kvs::fcgi {
namespace {

Response MethodNotAllowed(const Request& request, std::string allowed) {
  Response response =
      ErrorResponse({405, "method " + request.method + " is not allowed here; use " + allowed},
                    RequestedFormat(request));
  response.headers.Set("Allow", std::move(allowed));
  return response;
}

// A system endpoint at /_NAME, and below it (/_NAME/ARGUMENT) when it takes
// an argument in the path.
struct SystemRoute {
  enum class Path { kExact, kWithArgument };
  // GET and HEAD, POST only, or whatever the handler accepts (it answers
  // 405 itself).
  enum class Methods { kRead, kPost, kAny };
  std::string_view path;
  Path shape;
  Methods methods;
  Response (*handler)(const Request&, Service&);
};

using P = SystemRoute::Path;
using M = SystemRoute::Methods;
constexpr SystemRoute kSystemRoutes[] = {
    {"/_keys", P::kExact, M::kRead, ListKeys},
    {"/_create", P::kExact, M::kPost, CreateVersion},
    {"/_heads", P::kWithArgument, M::kRead, GetHeads},
    {"/_tails", P::kWithArgument, M::kRead, GetTails},
    {"/_versions", P::kWithArgument, M::kRead, GetVersion},
    {"/_links", P::kWithArgument, M::kRead, GetLinks},
    {"/_history", P::kWithArgument, M::kRead, GetHistory},
    {"/_future", P::kWithArgument, M::kRead, GetFuture},
    {"/_concestor", P::kExact, M::kRead, GetConcestor},
    {"/_list", P::kExact, M::kRead, ListAllVersions},
    {"/_branches", P::kWithArgument, M::kAny, BranchesEndpoint},
    {"/_log", P::kExact, M::kRead, GetLog},
    {"/_diff", P::kExact, M::kRead, GetDiff},
    {"/_reset", P::kExact, M::kPost, ResetBranchEndpoint},
    {"/_merge", P::kExact, M::kPost, MergeBranches},
    {"/_txn", P::kExact, M::kPost, CommitTransaction},
    {"/_compact", P::kExact, M::kPost, CompactEndpoint},
};

bool Matches(const SystemRoute& route, std::string_view path) {
  if (path == route.path) return true;
  return route.shape == P::kWithArgument && path.size() > route.path.size() &&
         path.starts_with(route.path) && path[route.path.size()] == '/';
}

}  // namespace

Response Route(const Request& request, Service& service) {
  const bool reading = request.method == "GET" || request.method == "HEAD";
  if (request.path_info.empty() || request.path_info == "/") {
    if (reading) return ClassicRead(request, service);
    if (request.method == "POST") return ClassicWrite(request, service);
    return MethodNotAllowed(request, "GET, HEAD, POST");
  }
  for (const SystemRoute& route : kSystemRoutes) {
    if (!Matches(route, request.path_info)) continue;
    if (route.methods == M::kAny) return route.handler(request, service);
    if (route.methods == M::kPost) {
      if (request.method == "POST") return route.handler(request, service);
      return MethodNotAllowed(request, "POST");
    }
    if (reading) return route.handler(request, service);
    return MethodNotAllowed(request, "GET, HEAD");
  }
  static constexpr std::string_view kStatic = "/_static/";
  if (request.path_info.starts_with(kStatic)) {
    if (reading) return ServeStaticFile(request, request.path_info.substr(kStatic.size()));
    return MethodNotAllowed(request, "GET, HEAD");
  }
  if (!request.path_info.starts_with("/_")) return RouteRest(request, service);
  return ErrorResponse({404, "no such path: " + request.path_info + " (this server answers at /)"},
                       RequestedFormat(request));
}

}  // namespace kvs::fcgi
