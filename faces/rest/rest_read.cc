// The REST face's reads: a key with its revisions, a key's metadata, and
// the key listing.
//
// A key's revisions are the ancestors of its current winner in the version
// graph, newest first (merges bring both sides' histories), so a key forked
// into another branch keeps its past there. As reverse patches each one
// turns the value before it in the list into itself: applied in order from
// the current value they give every earlier value. A tombstone among them
// counts as the empty string in patches and is null with patch=true.
#include <variant>

#include "common/json_value.h"
#include "common/time.h"
#include "faces/listing/key_namespace.h"
#include "faces/rest/rest.h"
#include "faces/rest/rest_args.h"
#include "merge/char_diff.h"

namespace kvs::server {
namespace {

// The answer [value, revisions] for state's winner as the query asks for
// it, written straight into a string: a key's whole history can be large,
// and a JSON tree of it would cost several times the answer in memory.
Result<std::string> ValueWithRevisions(Store& store, const KeyState& state,
                                       const RestQuery& query) {
  std::string out = "[";
  common::AppendJsonValue(&out, state.winner.value, state.winner.json);
  out += ",[";
  if (query.revisions > 0) {
    KVS_ASSIGN_OR_RETURN(std::vector<Version> history,
                         store.History(state.winner.id, 1, query.revisions, true));
    std::string_view newer = state.winner.value;
    for (size_t i = 0; i < history.size(); ++i) {
      const Version& v = history[i];
      if (i > 0) out.push_back(',');
      const std::string_view older = v.deleted ? std::string_view() : std::string_view(v.value);
      if (query.patch) {
        if (v.deleted) {
          out += "null";
        } else {
          common::AppendJsonValue(&out, older, v.json);
        }
        continue;
      }
      out.push_back('[');
      bool first = true;
      for (const merge::Edit& edit : merge::DiffChars(newer, older)) {
        out += first ? "[\"" : ",[\"";
        first = false;
        out += merge::EditOpName(edit.op);
        out += "\",";
        common::AppendJsonValue(&out, edit.text);
        out.push_back(']');
      }
      out.push_back(']');
      newer = older;
    }
  }
  out += "]]\n";
  return out;
}

void SetVersionHeaders(const KeyState& state, Response* response) {
  response->headers.Set("ETag", QuotedEtag(state.winner.id));
  response->headers.Set("X-Kvs-Revision", std::to_string(state.revision));
  response->headers.Set("Last-Modified", common::FormatHttpDate(state.winner.time_ns));
  if (state.conflict()) response->headers.Set("X-Kvs-Heads", std::to_string(state.heads.size()));
}

// A key with no version on its fork at the read point.
struct Missing {};

// The key's state for a read, Missing, or the error to answer.
std::variant<KeyState, Missing, HttpError> ReadKey(Service& service, const RestPath& path,
                                                   const ReadPoint& at) {
  const std::string branch = ForkOf(path, service);
  auto state = service.store->Get(branch, path.key, at);
  if (state.ok()) return std::move(state).value();
  const Status& status = state.status();
  const bool past = at.kind != ReadPoint::Kind::kLatest;
  if (past && status.code() == Status::Code::kInvalidArgument) {
    return HttpError{400, "at: " + status.message(), "bad_at"};
  }
  if (past && status.IsNotFound() && status.message().starts_with("commit")) {
    return HttpError{404, status.message(), "bad_at"};
  }
  if (status.IsNotFound() && service.store->GetBranch(branch).ok()) return Missing{};
  return StoreErrorOnBranch(status, service, branch);
}

// Parses the query (taking names), authorizes the read, checks the path's
// names and reads the key, as ReadKey answers.
std::variant<KeyState, Missing, HttpError> ParseAndReadKey(
    const Request& request, Service& service, const RestPath& path,
    const std::vector<std::string_view>& names, RestQuery* query) {
  auto parsed = ParseRestQuery(request.query_string, names, Access::kRead);
  if (auto* error = std::get_if<HttpError>(&parsed)) return std::move(*error);
  *query = std::move(std::get<RestQuery>(parsed));
  if (auto refused = AuthorizeRead(service, std::move(query->credentials), request)) {
    return std::move(*refused);
  }
  if (auto error = CheckKeyAndFork(path, service)) return std::move(*error);
  return ReadKey(service, path, query->at);
}

}  // namespace

Response GetRestKey(const Request& request, Service& service, const RestPath& path) {
  RestQuery query;
  auto read = ParseAndReadKey(request, service, path, {"revisions", "patch", "at"}, &query);
  if (auto* error = std::get_if<HttpError>(&read)) return JsonError(*error);
  // A missing or deleted key reads as [], as in the original interface.
  KeyState* state = std::get_if<KeyState>(&read);
  if (state == nullptr || state->winner.deleted) {
    return JsonResponse(nlohmann::ordered_json::array());
  }
  Response response;
  if (IfNoneMatchHits(request.headers.Get("If-None-Match"), QuotedEtag(state->winner.id))) {
    response.status = 304;
    SetVersionHeaders(*state, &response);
    return response;
  }
  auto body = ValueWithRevisions(*service.store, *state, query);
  if (!body.ok())
    return JsonError(StoreErrorOnBranch(body.status(), service, ForkOf(path, service)));
  response = ContentResponse("application/json", std::move(*body));
  SetVersionHeaders(*state, &response);
  return response;
}

Response GetRestKeyInfo(const Request& request, Service& service, const RestPath& path) {
  RestQuery query;
  auto read = ParseAndReadKey(request, service, path, {"at"}, &query);
  if (auto* error = std::get_if<HttpError>(&read)) return JsonError(*error);
  KeyState* state = std::get_if<KeyState>(&read);
  if (state == nullptr || state->winner.deleted) {
    return JsonError({404,
                      "key '" + path.key + "' does not exist on fork '" + ForkOf(path, service) +
                          "'" + (state == nullptr ? "" : " (it was deleted)"),
                      "not_found"});
  }
  auto history = service.store->History(state->winner.id, 1, kAllRevisions, false);
  if (!history.ok()) {
    return JsonError(StoreErrorOnBranch(history.status(), service, ForkOf(path, service)));
  }
  nlohmann::ordered_json heads = nlohmann::ordered_json::array();
  for (const Version& head : state->heads) heads.push_back(head.id.Hex());
  nlohmann::ordered_json body = {
      {"key", path.key},
      {"revision_count", history->size()},
      {"fork", ForkOf(path, service)},
      {"heads", std::move(heads)},
      {"created", common::FormatRfc3339(state->created_time_ns)},
      {"updated", common::FormatRfc3339(state->winner.time_ns)},
      {"revision", state->revision},
      {"size", state->winner.size},
      {"conflicts", state->heads.size() - 1},
      {"version", state->winner.id.Hex()},
  };
  Response response = JsonResponse(body);
  SetVersionHeaders(*state, &response);
  return response;
}

Response ListRestKeys(const Request& request, Service& service) {
  auto parsed = ParseRestQuery(request.query_string,
                               {"prefix", "fork", "limit", "after", "delimiter"}, Access::kRead);
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  RestQuery& query = std::get<RestQuery>(parsed);
  if (auto refused = AuthorizeRead(service, std::move(query.credentials), request)) {
    return JsonError(*refused);
  }
  const std::string branch = query.fork.value_or(service.config.default_branch);
  auto page = ListNamespace(*service.store, branch, query.prefix, query.delimiter, query.after,
                            query.limit);
  if (!page.ok()) return JsonError(StoreErrorOnBranch(page.status(), service, branch));
  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  for (const KeyState& state : page->keys) keys.push_back(state.winner.key);
  nlohmann::ordered_json body = {{"fork", branch}, {"keys", std::move(keys)}};
  if (!query.delimiter.empty()) body["prefixes"] = page->prefixes;
  // The next page: after=NEXT (null on the last page).
  body["next"] = page->more ? nlohmann::ordered_json(page->last) : nlohmann::ordered_json();
  Response response = JsonResponse(body);
  response.headers.Set("Cache-Control", "no-cache");
  return response;
}

}  // namespace kvs::server
