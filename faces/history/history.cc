// The history face's read handlers. Each parses its arguments first
// (graph_args.h), checks read access, and only then reads the version graph.
#include "faces/history/history.h"

#include <string>
#include <variant>
#include <vector>

#include "common/history_tree.h"
#include "common/time.h"
#include "common/version_json.h"
#include "faces/history/graph_args.h"
#include "http/form.h"

namespace kvs::server {
namespace {

// A walk shows this many versions unless limit= says otherwise; at most
// kMaxWalkLimit (about 2.5 MB of JSON).
constexpr size_t kDefaultWalkLimit = 1000;
constexpr size_t kMaxWalkLimit = 10000;
constexpr size_t kDefaultListLimit = 100;
constexpr size_t kMaxListLimit = 1000;
// Each id costs a walk through its whole history.
constexpr size_t kMaxConcestorIds = 100;

// A version never changes, so its value may be cached for good: by any
// cache when anyone may read it, and by the reader's own alone when reading
// takes the secret (a shared cache would hand it to readers without one).
constexpr const char* kImmutable = "public, max-age=31536000, immutable";
constexpr const char* kImmutablePrivate = "private, max-age=31536000, immutable";

// The query of a read once read access is granted; else the refusal. Only
// the walks take format=text (.text), so a refusal is JSON unless a walk's
// query asks for text.
std::variant<GraphQuery, HttpError> GraphReadQuery(const Request& request, Service& service,
                                                   const GraphParams& params) {
  auto parsed = ParseGraphQuery(request.query_string, params);
  if (auto* error = std::get_if<HttpError>(&parsed)) return std::move(*error);
  GraphQuery& query = std::get<GraphQuery>(parsed);
  if (auto refused = AuthorizeRead(service, std::move(query.credentials), request)) {
    return std::move(*refused);
  }
  return std::move(query);
}

// The version named by the path /_ENDPOINT/ID.
std::variant<VersionId, HttpError> PathVersion(const Request& request, Service& service,
                                               std::string_view endpoint) {
  std::optional<std::string> id = PathArgument(request.path_info, endpoint);
  if (!id) {
    return HttpError{404, "no such path: " + std::string(endpoint) +
                              " (name a version: " + std::string(endpoint) + "/ID)"};
  }
  return ResolveVersionArgument(*service.store, *id, "");
}

nlohmann::ordered_json VersionsJson(const std::vector<Version>& versions) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Version& version : versions) list.push_back(common::VersionJson(version));
  return list;
}

// 200 with body as JSON. The answers change as versions are written, so a
// client may keep them but must revalidate.
Response RevalidatedJson(const nlohmann::ordered_json& body) {
  Response response = JsonResponse(body);
  response.headers.Set("Cache-Control", "no-cache");
  return response;
}

// The raw value of a version. A tombstone has none: 404. Only the URL with
// the full id is cached for good: a prefix could later name another version
// (after compaction dropped this one).
Response ValueResponse(const Request& request, Version version, bool full_id, bool private_read) {
  if (version.deleted) {
    return ErrorResponse({404, "version " + version.id.Hex() + " deletes key '" + version.key +
                                   "': a delete has no value"},
                         Format::kJson);
  }
  std::string etag = QuotedEtag(version.id);
  Response response;
  response.headers.Set("ETag", etag);
  response.headers.Set("Cache-Control", !full_id       ? "no-cache"
                                        : private_read ? kImmutablePrivate
                                                       : kImmutable);
  response.headers.Set("Last-Modified", common::FormatHttpDate(version.time_ns));
  response.headers.Set("X-Kvs-Key", PercentEncode(version.key));
  if (IfNoneMatchHits(request.headers.Get("If-None-Match"), etag)) {
    response.status = 304;
    return response;
  }
  response.headers.Set("Content-Type", ValueContentType(version));
  response.body = std::move(version.value);
  return response;
}

// The ids where a walk stopped with versions left to show, outermost first:
// the cut trees' last versions (common::HistoryTree::cut).
void CollectCuts(const common::HistoryTree& tree, nlohmann::ordered_json* ids) {
  if (tree.cut) ids->push_back(tree.run.back().id.Hex());
  for (const common::HistoryTree& branch : tree.branches) CollectCuts(branch, ids);
}

Response Walk(const Request& request, Service& service, std::string_view endpoint,
              common::WalkDirection direction) {
  auto read = GraphReadQuery(request, service,
                             {.names = {"limit"}, .max_limit = kMaxWalkLimit, .text = true});
  if (auto* refused = std::get_if<HttpError>(&read)) {
    return ErrorResponse(*refused, RequestedFormat(request));
  }
  const GraphQuery& query = std::get<GraphQuery>(read);
  auto from = PathVersion(request, service, endpoint);
  if (auto* refused = std::get_if<HttpError>(&from)) return ErrorResponse(*refused, query.format);
  const VersionId& id = std::get<VersionId>(from);

  const size_t limit = query.limit.value_or(kDefaultWalkLimit);
  auto tree = common::WalkVersions(*service.store, id, direction, limit);
  if (!tree.ok()) return StoreErrorResponse(tree.status(), query.format);
  if (query.format == Format::kText) {
    std::string drawing = common::DrawHistoryTree(*tree);
    Response response = ContentResponse(ValueContentType(drawing), std::move(drawing));
    response.headers.Set("Cache-Control", "no-cache");
    return response;
  }
  nlohmann::ordered_json cuts = nlohmann::ordered_json::array();
  CollectCuts(*tree, &cuts);
  const bool complete = cuts.empty();
  return RevalidatedJson({{"id", id.Hex()},
                          {"limit", limit},
                          {"complete", complete},
                          {"continue_from", std::move(cuts)},
                          {"tree", common::HistoryTreeJson(*tree)}});
}

}  // namespace

Response GetHeads(const Request& request, Service& service) {
  auto read = GraphReadQuery(request, service, {.names = {"key", "branch", "at"}});
  if (auto* refused = std::get_if<HttpError>(&read)) return JsonError(*refused);
  GraphQuery& query = std::get<GraphQuery>(read);
  auto key = KeyArgument(PathArgument(request.path_info, "/_heads"), std::move(query.key),
                         "/_heads", service.config.limits);
  if (auto* error = std::get_if<HttpError>(&key)) return ErrorResponse(*error, query.format);
  const std::string branch = query.branch.value_or(service.config.default_branch);

  std::vector<Version> heads;
  auto state = service.store->Get(branch, std::get<std::string>(key), query.at);
  const bool past = query.at.kind != ReadPoint::Kind::kLatest;
  if (state.ok()) {
    heads = std::move(state->heads);
  } else if (past && state.status().code() == Status::Code::kInvalidArgument) {
    return JsonError({400, "at: " + state.status().message(), "bad_at"});
  } else if (past && state.status().IsNotFound() &&
             state.status().message().starts_with("commit")) {
    return JsonError({404, state.status().message(), "bad_at"});
  } else if (state.status().IsNotFound()) {
    // No version of the key on the branch (no heads), or no such branch.
    auto exists = service.store->GetBranch(branch);
    if (!exists.ok()) return StoreErrorResponse(exists.status(), query.format);
  } else {
    return StoreErrorResponse(state.status(), query.format);
  }
  const bool conflict = heads.size() > 1;
  return RevalidatedJson({{"key", std::get<std::string>(key)},
                          {"branch", branch},
                          {"heads", VersionsJson(heads)},
                          {"conflict", conflict}});
}

Response GetTails(const Request& request, Service& service) {
  auto read = GraphReadQuery(request, service, {.names = {"key"}});
  if (auto* refused = std::get_if<HttpError>(&read)) return JsonError(*refused);
  GraphQuery& query = std::get<GraphQuery>(read);
  auto key = KeyArgument(PathArgument(request.path_info, "/_tails"), std::move(query.key),
                         "/_tails", service.config.limits);
  if (auto* error = std::get_if<HttpError>(&key)) return ErrorResponse(*error, query.format);
  auto tails = service.store->Tails(std::get<std::string>(key));
  if (!tails.ok()) return StoreErrorResponse(tails.status(), query.format);
  return RevalidatedJson({{"key", std::get<std::string>(key)}, {"tails", VersionsJson(*tails)}});
}

Response GetVersion(const Request& request, Service& service) {
  auto read = GraphReadQuery(request, service, {});
  if (auto* refused = std::get_if<HttpError>(&read)) return JsonError(*refused);
  const Format format = std::get<GraphQuery>(read).format;

  // "ID" or "ID/value"; a bare /_versions reads as "/", no such path.
  const std::string argument = PathArgument(request.path_info, "/_versions").value_or("/");
  const size_t slash = argument.find('/');
  const std::string id_text = argument.substr(0, slash);
  const bool value = slash != std::string::npos && argument.substr(slash) == "/value";
  if (slash != std::string::npos && !value) {
    return ErrorResponse({404, "no such path: " + request.path_info +
                                   " (a version is /_versions/ID, its value /_versions/ID/value)"},
                         format);
  }
  auto id = ResolveVersionArgument(*service.store, id_text, "");
  if (auto* refused = std::get_if<HttpError>(&id)) return ErrorResponse(*refused, format);
  auto version = service.store->GetVersion(std::get<VersionId>(id), value);
  if (!version.ok()) return StoreErrorResponse(version.status(), format);
  if (value) {
    return ValueResponse(request, std::move(version).value(), id_text.size() == 64,
                         service.config.read_access != ReadAccess::kPublic);
  }
  return RevalidatedJson(common::VersionJson(*version));
}

Response GetLinks(const Request& request, Service& service) {
  auto read = GraphReadQuery(request, service, {});
  if (auto* refused = std::get_if<HttpError>(&read)) return JsonError(*refused);
  const Format format = std::get<GraphQuery>(read).format;
  auto id = PathVersion(request, service, "/_links");
  if (auto* refused = std::get_if<HttpError>(&id)) return ErrorResponse(*refused, format);
  auto children = service.store->Children(std::get<VersionId>(id));
  if (!children.ok()) return StoreErrorResponse(children.status(), format);
  return RevalidatedJson(
      {{"id", std::get<VersionId>(id).Hex()}, {"links", VersionsJson(*children)}});
}

Response GetHistory(const Request& request, Service& service) {
  return Walk(request, service, "/_history", common::WalkDirection::kHistory);
}

Response GetFuture(const Request& request, Service& service) {
  return Walk(request, service, "/_future", common::WalkDirection::kFuture);
}

Response GetConcestor(const Request& request, Service& service) {
  auto read = GraphReadQuery(request, service, {.names = {"id"}});
  if (auto* refused = std::get_if<HttpError>(&read)) return JsonError(*refused);
  const GraphQuery& query = std::get<GraphQuery>(read);
  if (query.ids.empty()) {
    return ErrorResponse({400, "name the versions: /_concestor?id=A&id=B"}, query.format);
  }
  if (query.ids.size() > kMaxConcestorIds) {
    return ErrorResponse({400, std::to_string(query.ids.size()) + " ids; at most " +
                                   std::to_string(kMaxConcestorIds) + " at a time"},
                         query.format);
  }
  std::vector<VersionId> ids;
  nlohmann::ordered_json ids_json = nlohmann::ordered_json::array();
  for (const std::string& text : query.ids) {
    auto id = ResolveVersionArgument(*service.store, text, "id");
    if (auto* refused = std::get_if<HttpError>(&id)) return ErrorResponse(*refused, query.format);
    ids.push_back(std::get<VersionId>(id));
    ids_json.push_back(ids.back().Hex());
  }
  auto concestors = service.store->CommonAncestors(ids);
  if (!concestors.ok()) return StoreErrorResponse(concestors.status(), query.format);
  return RevalidatedJson({{"ids", std::move(ids_json)}, {"concestors", VersionsJson(*concestors)}});
}

Response ListAllVersions(const Request& request, Service& service) {
  auto read = GraphReadQuery(request, service,
                             {.names = {"gt", "lt", "limit"}, .max_limit = kMaxListLimit});
  if (auto* refused = std::get_if<HttpError>(&read)) return JsonError(*refused);
  const GraphQuery& query = std::get<GraphQuery>(read);
  VersionListOptions options;
  options.gt = query.gt;
  options.lt = query.lt;
  const size_t limit = query.limit.value_or(kDefaultListLimit);
  options.limit = limit + 1;  // one more says whether there are more
  auto versions = service.store->ListVersions(options);
  if (!versions.ok()) return StoreErrorResponse(versions.status(), query.format);
  const bool more = versions->size() > limit;
  if (more) versions->pop_back();
  return RevalidatedJson({{"versions", VersionsJson(*versions)}, {"more", more}});
}

}  // namespace kvs::server
