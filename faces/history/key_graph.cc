// The key explorer's page of a key's version graph (key_graph.h).
#include "faces/history/key_graph.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include "common/version_json.h"
#include "faces/history/graph_args.h"

namespace kvs::server {
namespace {

constexpr size_t kDefaultPageLimit = 100;
constexpr size_t kMaxPageLimit = 1000;
// Each starting point costs a walk of up to limit versions.
constexpr size_t kMaxStarts = 100;

// Newest first, as Store::History orders: time, then id.
bool NewerFirst(const Version& a, const Version& b) {
  return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.id > b.id;
}

struct GraphPage {
  std::vector<Version> versions;
  std::vector<VersionId> next;
};

// The newest `limit` versions among the ancestors of starts (themselves
// included). Each start's own walk is newest first, so the union's newest
// `limit` are among the first `limit` of each walk.
Result<GraphPage> WalkFrom(Store& store, const std::vector<VersionId>& starts, size_t limit) {
  std::vector<Version> seen;
  std::unordered_set<std::string> ids;
  for (const VersionId& start : starts) {
    KVS_ASSIGN_OR_RETURN(std::vector<Version> walk, store.History(start, 0, limit, false));
    for (Version& version : walk) {
      if (ids.insert(version.id.Hex()).second) seen.push_back(std::move(version));
    }
  }
  std::sort(seen.begin(), seen.end(), NewerFirst);
  if (seen.size() > limit) seen.resize(limit);

  // Where the rest begins: a start or a parent that did not make the page.
  // Every version left to show descends from one of them.
  GraphPage page;
  std::unordered_set<std::string> shown;
  for (const Version& version : seen) shown.insert(version.id.Hex());
  std::unordered_set<std::string> queued;
  auto add_next = [&](const VersionId& id) {
    const std::string hex = id.Hex();
    if (!shown.contains(hex) && queued.insert(hex).second) page.next.push_back(id);
  };
  for (const VersionId& start : starts) add_next(start);
  for (const Version& version : seen) {
    for (const VersionId& parent : version.parents) add_next(parent);
  }
  page.versions = std::move(seen);
  return page;
}

nlohmann::ordered_json IdsJson(const std::vector<VersionId>& ids) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const VersionId& id : ids) list.push_back(id.Hex());
  return list;
}

}  // namespace

Response GetKeyGraph(const Request& request, Service& service) {
  auto parsed = ParseGraphQuery(request.query_string, {.names = {"key", "branch", "limit", "id"},
                                                       .max_limit = kMaxPageLimit});
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  GraphQuery& query = std::get<GraphQuery>(parsed);
  if (auto refused = AuthorizeRead(service, std::move(query.credentials), request)) {
    return JsonError(*refused);
  }
  auto key_argument = KeyArgument(PathArgument(request.path_info, "/_graph"), std::move(query.key),
                                  "/_graph", service.config.limits);
  if (auto* error = std::get_if<HttpError>(&key_argument)) return JsonError(*error);
  const std::string& key = std::get<std::string>(key_argument);
  const std::string branch = query.branch.value_or(service.config.default_branch);
  if (query.ids.size() > kMaxStarts) {
    return JsonError({400, std::to_string(query.ids.size()) + " ids; at most " +
                               std::to_string(kMaxStarts) + " at a time"});
  }

  std::vector<VersionId> heads;
  auto state = service.store->Get(branch, key);
  if (state.ok()) {
    for (const Version& head : state->heads) heads.push_back(head.id);
  } else if (state.status().IsNotFound()) {
    // No version of the key on the branch, or no such branch.
    auto exists = service.store->GetBranch(branch);
    if (!exists.ok()) return StoreErrorResponse(exists.status(), Format::kJson);
  } else {
    return StoreErrorResponse(state.status(), Format::kJson);
  }

  std::vector<VersionId> starts;
  for (const std::string& text : query.ids) {
    auto id = ResolveVersionArgument(*service.store, text, "id");
    if (auto* refused = std::get_if<HttpError>(&id)) return JsonError(*refused);
    auto version = service.store->GetVersion(std::get<VersionId>(id), false);
    if (!version.ok()) return StoreErrorResponse(version.status(), Format::kJson);
    if (version->key != key) {
      return JsonError(
          {400, "id " + version->id.Hex() + " is a version of another key, not of '" + key + "'"});
    }
    starts.push_back(version->id);
  }
  if (query.ids.empty()) starts = heads;

  auto page = WalkFrom(*service.store, starts, query.limit.value_or(kDefaultPageLimit));
  if (!page.ok()) return StoreErrorResponse(page.status(), Format::kJson);
  nlohmann::ordered_json versions = nlohmann::ordered_json::array();
  for (const Version& version : page->versions) versions.push_back(common::VersionJson(version));
  const bool conflict = heads.size() > 1;
  Response response = JsonResponse({{"key", key},
                                    {"branch", branch},
                                    {"heads", IdsJson(heads)},
                                    {"conflict", conflict},
                                    {"versions", std::move(versions)},
                                    {"next", IdsJson(page->next)}});
  response.headers.Set("Cache-Control", "no-cache");
  return response;
}

}  // namespace kvs::server
