// The route table, and dispatch on PATH_INFO and method by it.
#include "faces/routes.h"

#include <chrono>
#include <optional>
#include <variant>

#include "faces/admin/compact.h"
#include "faces/admin/health.h"
#include "faces/admin/metrics.h"
#include "faces/branches/branches.h"
#include "faces/branches/merges.h"
#include "faces/classic/classic.h"
#include "faces/classic/web.h"
#include "faces/cluster/kv_store.h"
#include "faces/cluster/view_change.h"
#include "faces/history/history.h"
#include "faces/history/key_graph.h"
#include "faces/history/version_create.h"
#include "faces/listing/key_listing.h"
#include "faces/replication/replication_status.h"
#include "faces/replication/sync.h"
#include "faces/rest/rest.h"
#include "faces/rest/rest_path.h"

namespace kvs::server {
namespace {

// What a handler gets besides the request: the REST face's parsed path on
// its routes.
struct RouteMatch {
  const RestPath* rest = nullptr;
};
using Handler = Response (*)(const Request&, Service&, const RouteMatch&);

// Handlers in the table, whatever their own signature.
template <Response (*F)(const Request&, Service&)>
Response Plain(const Request& request, Service& service, const RouteMatch&) {
  return F(request, service);
}
template <Response (*F)(const Request&, Service&, const RestPath&)>
Response Rest(const Request& request, Service& service, const RouteMatch& match) {
  return F(request, service, *match.rest);
}
Response StaticFile(const Request& request, Service&, const RouteMatch&) {
  constexpr std::string_view kPrefix = "/_static/";
  const std::string_view path = request.path_info;
  return ServeStaticFile(request, path.starts_with(kPrefix) ? path.substr(kPrefix.size()) : "");
}

// How a route's path matches PATH_INFO.
struct Shape {
  enum class Kind {
    kExact,  // path itself
    // path + "/" + an argument; also path alone and with an empty argument,
    // so that the handler can say what is missing.
    kWithArgument,
    kRest,  // a REST path (not under /_) of this action
  };
  Kind kind;
  std::string_view path;                             // kExact, kWithArgument
  RestPath::Action action = RestPath::Action::kKey;  // kRest
  // Only on a node of a cluster (the config's cluster: section), where
  // paths under /kv-store/ are the cluster face's; elsewhere they are the
  // REST face's, as they always were.
  bool cluster = false;
};
constexpr Shape Exact(std::string_view path) { return {Shape::Kind::kExact, path}; }
constexpr Shape Below(std::string_view path) { return {Shape::Kind::kWithArgument, path}; }
constexpr Shape RestShape(RestPath::Action action) { return {Shape::Kind::kRest, "", action}; }
constexpr Shape ClusterExact(std::string_view path) {
  return {Shape::Kind::kExact, path, RestPath::Action::kKey, true};
}
constexpr Shape ClusterBelow(std::string_view path) {
  return {Shape::Kind::kWithArgument, path, RestPath::Action::kKey, true};
}
constexpr std::string_view kClusterRoot = "/kv-store";

// The handler per method; GET also answers HEAD. nullptr: not taken.
struct Methods {
  Handler get = nullptr;
  Handler post = nullptr;
  Handler put = nullptr;
  Handler del = nullptr;
};

struct RouteEntry {
  std::string_view pattern;
  Shape shape;
  Methods methods;
  // Which face it belongs to, as GET /_metrics counts requests.
  std::string_view face;
};

using A = RestPath::Action;
const RouteEntry kRoutes[] = {
    // The classic face and the index page.
    {"/", Exact("/"), {.get = Plain<ClassicRead>, .post = Plain<ClassicWrite>}, "classic"},
    {"/_static/FILE", Below("/_static"), {.get = StaticFile}, "classic"},
    // The key explorer's pages.
    {"/_ui/keys/KEY", Below("/_ui/keys"), {.get = Plain<ServeKeyPage>}, "classic"},
    {"/_ui/branches", Exact("/_ui/branches"), {.get = Plain<ServeBranchesPage>}, "classic"},
    {"/_ui/log", Exact("/_ui/log"), {.get = Plain<ServeLogPage>}, "classic"},
    // Listing, and the version graph.
    {"/_keys", Exact("/_keys"), {.get = Plain<ListKeys>}, "history"},
    {"/_create", Exact("/_create"), {.post = Plain<CreateVersion>}, "history"},
    {"/_heads/KEY", Below("/_heads"), {.get = Plain<GetHeads>}, "history"},
    {"/_tails/KEY", Below("/_tails"), {.get = Plain<GetTails>}, "history"},
    {"/_versions/ID", Below("/_versions"), {.get = Plain<GetVersion>}, "history"},
    {"/_links/ID", Below("/_links"), {.get = Plain<GetLinks>}, "history"},
    {"/_history/ID", Below("/_history"), {.get = Plain<GetHistory>}, "history"},
    {"/_future/ID", Below("/_future"), {.get = Plain<GetFuture>}, "history"},
    {"/_concestor", Exact("/_concestor"), {.get = Plain<GetConcestor>}, "history"},
    {"/_list", Exact("/_list"), {.get = Plain<ListAllVersions>}, "history"},
    {"/_graph/KEY", Below("/_graph"), {.get = Plain<GetKeyGraph>}, "history"},
    // Branches, commits and merges.
    {"/_branches",
     Exact("/_branches"),
     {.get = Plain<ListBranches>, .post = Plain<CreateBranch>},
     "branches"},
    {"/_branches/NAME", Below("/_branches"), {.del = Plain<DeleteBranch>}, "branches"},
    {"/_log", Exact("/_log"), {.get = Plain<GetLog>}, "branches"},
    {"/_diff", Exact("/_diff"), {.get = Plain<GetDiff>}, "branches"},
    {"/_reset", Exact("/_reset"), {.post = Plain<ResetBranchEndpoint>}, "branches"},
    {"/_merge", Exact("/_merge"), {.post = Plain<MergeBranches>}, "branches"},
    {"/_txn", Exact("/_txn"), {.post = Plain<CommitTransaction>}, "branches"},
    // Operating the server.
    {"/_compact", Exact("/_compact"), {.post = Plain<CompactEndpoint>}, "admin"},
    {"/_health", Exact("/_health"), {.get = Plain<GetHealth>}, "admin"},
    {"/_metrics", Exact("/_metrics"), {.get = Plain<GetMetrics>}, "admin"},
    // Replication between stores.
    {"/_replication", Exact("/_replication"), {.get = Plain<GetReplicationStatus>}, "replication"},
    {"/_sync/MESSAGE", Below("/_sync"), {.post = Plain<SyncMessage>}, "replication"},
    {"/_cluster/map",
     Exact("/_cluster/map"),
     {.get = Plain<GetClusterMap>, .put = Plain<PutClusterMap>},
     "cluster"},
    // The cluster face, on a node of a cluster.
    {"/kv-store/keys/KEY",
     ClusterBelow("/kv-store/keys"),
     {.get = Plain<GetClusterKey>, .put = Plain<PutClusterKey>, .del = Plain<DeleteClusterKey>},
     "cluster"},
    {"/kv-store/key-count",
     ClusterExact("/kv-store/key-count"),
     {.get = Plain<GetClusterKeyCount>},
     "cluster"},
    {"/kv-store/shards",
     ClusterExact("/kv-store/shards"),
     {.get = Plain<GetClusterShards>},
     "cluster"},
    {"/kv-store/shards/ID",
     ClusterBelow("/kv-store/shards"),
     {.get = Plain<GetClusterShard>},
     "cluster"},
    {"/kv-store/view-change",
     ClusterExact("/kv-store/view-change"),
     {.put = Plain<PutClusterViewChange>},
     "cluster"},
    // The REST face: every path outside /_.
    {"/keys", RestShape(A::kListKeys), {.get = Plain<ListRestKeys>}, "rest"},
    {"/KEY[/FORK]",
     RestShape(A::kKey),
     {.get = Rest<GetRestKey>, .put = Rest<PutRestKey>, .del = Rest<DeleteRestKey>},
     "rest"},
    {"/KEY[/FORK]/info", RestShape(A::kInfo), {.get = Rest<GetRestKeyInfo>}, "rest"},
    {"/KEY/FORK/fork/TARGET", RestShape(A::kFork), {.post = Rest<ForkRestKey>}, "rest"},
    {"/KEY/FORK/merge/TARGET", RestShape(A::kMerge), {.post = Rest<MergeRestKey>}, "rest"},
};

std::string AllowedMethods(const Methods& m) {
  std::string allowed;
  auto add = [&allowed](bool taken, const char* names) {
    if (taken) allowed += (allowed.empty() ? "" : ", ") + std::string(names);
  };
  add(m.get, "GET, HEAD");
  add(m.post, "POST");
  add(m.put, "PUT");
  add(m.del, "DELETE");
  return allowed;
}

Handler HandlerFor(const Methods& m, std::string_view method) {
  if (method == "GET" || method == "HEAD") return m.get;
  if (method == "POST") return m.post;
  if (method == "PUT") return m.put;
  if (method == "DELETE") return m.del;
  return nullptr;
}

bool Matches(const Shape& shape, std::string_view path, const RestPath* rest, bool cluster_path) {
  if (shape.cluster != cluster_path) return false;
  switch (shape.kind) {
    case Shape::Kind::kExact:
      return path == shape.path;
    case Shape::Kind::kWithArgument:
      return path.starts_with(shape.path) &&
             (path.size() == shape.path.size() || path[shape.path.size()] == '/');
    case Shape::Kind::kRest:
      return rest != nullptr && rest->action == shape.action;
  }
  return false;
}

// Route's work: the answer, and in *matched the route that gave it (none
// for a path no route takes, or one the REST face could not parse).
Response Dispatch(const Request& request, Service& service, const RouteEntry** matched) {
  // "" is the mount itself: the classic face's "/".
  std::string_view path = request.path_info;
  if (path.empty()) path = "/";
  const bool cluster_path =
      service.cluster != nullptr &&
      (path == kClusterRoot || path.starts_with(std::string(kClusterRoot) + "/"));
  // Paths outside /_ (and "/") are the REST face's, parsed once here.
  std::optional<RestPath> rest;
  if (path != "/" && !path.starts_with("/_") && !cluster_path) {
    auto parsed = ParseRestPath(request);
    if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
    rest = std::move(std::get<RestPath>(parsed));
  }
  for (const RouteEntry& route : kRoutes) {
    if (!Matches(route.shape, path, rest ? &*rest : nullptr, cluster_path)) continue;
    *matched = &route;
    if (Handler handler = HandlerFor(route.methods, request.method)) {
      return handler(request, service, RouteMatch{rest ? &*rest : nullptr});
    }
    std::string allowed = AllowedMethods(route.methods);
    Response response =
        ErrorResponse({405, "method " + request.method + " is not allowed here; use " + allowed},
                      RequestedFormat(request));
    response.headers.Set("Allow", std::move(allowed));
    return response;
  }
  return ErrorResponse({404, "no such path: " + request.path_info + " (this server answers at /)"},
                       RequestedFormat(request));
}

}  // namespace

Response Route(const Request& request, Service& service) {
  const auto start = std::chrono::steady_clock::now();
  const RouteEntry* matched = nullptr;
  Response response = Dispatch(request, service, &matched);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  service.metrics.Record(matched ? matched->face : "none", matched ? matched->pattern : "",
                         request.method, response.status, took.count());
  return response;
}

std::vector<RouteSpec> RouteTable() {
  std::vector<RouteSpec> table;
  for (const RouteEntry& route : kRoutes) {
    table.push_back({route.pattern, AllowedMethods(route.methods)});
  }
  return table;
}

}  // namespace kvs::server
