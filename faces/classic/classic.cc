// The classic face's handlers. Each one parses the request into typed values
// first (keys, credentials, pairs), answers any problem with a 4xx before
// touching the store, and only then reads or writes.
#include "faces/classic/classic.h"

#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "common/json_value.h"
#include "common/time.h"
#include "faces/classic/web.h"
#include "http/form.h"
#include "http/key_errors.h"
#include "http/query.h"

namespace kvs::server {
namespace {

// What the query string of a classic request says, parsed once.
struct ClassicQuery {
  bool has_k = false;
  // Every k, split at the commas sent as they are (an encoded one, %2C,
  // belongs to its key).
  std::vector<std::string> keys;
  Format format = Format::kText;
  std::vector<std::string> credentials;  // auth=... (for read_access: secret)
};

// A read takes k (repeatable: the keys add up), format and auth
// (repeatable: each one must hold); a post takes format, as its secret comes
// in the form or the header. Anything else is a 400 (http/query.h): a typo
// must not turn a read into the index page.
std::variant<ClassicQuery, HttpError> ParseClassicQuery(std::string_view query_string, bool post) {
  auto parsed = post ? ParseQuery(query_string, {.once = {"format"}})
                     : ParseQuery(query_string, {.once = {"format"}, .repeatable = {"k", "auth"}});
  if (auto* error = std::get_if<HttpError>(&parsed)) return std::move(*error);
  ClassicQuery query;
  for (const QueryField& field : std::get<Query>(parsed).fields()) {
    if (field.name == "k") {
      // Each key alone, between the commas as sent.
      query.has_k = true;
      std::string_view raw = field.raw_value;
      for (;;) {
        size_t comma = raw.find(',');
        auto key = PercentDecode(raw.substr(0, comma), /*plus_as_space=*/true);
        if (!key.ok()) return HttpError{400, "query string: " + key.status().message()};
        query.keys.push_back(std::move(key).value());
        if (comma == std::string_view::npos) break;
        raw.remove_prefix(comma + 1);
      }
    } else if (field.name == "format") {
      if (field.value == "json") {
        query.format = Format::kJson;
      } else if (field.value != "text") {
        return HttpError{400, "format must be json or text, not '" + field.value + "'"};
      }
    } else if (field.name == "auth") {
      query.credentials.push_back(field.value);
    }
  }
  return query;
}

Response ValueResponse(const std::string& key, const KeyState& state, const Request& request,
                       Format format) {
  const Version& winner = state.winner;
  std::string etag = QuotedEtag(winner.id);
  Response response;
  response.headers.Set("ETag", etag);
  response.headers.Set("Last-Modified", common::FormatHttpDate(winner.time_ns));
  response.headers.Set("X-Kvs-Revision", std::to_string(state.revision));
  response.headers.Set("X-Kvs-Key", PercentEncode(key));
  // Clients may cache, but must ask again (cheaply, with If-None-Match).
  response.headers.Set("Cache-Control", "no-cache");
  if (IfNoneMatchHits(request.headers.Get("If-None-Match"), etag)) {
    response.status = 304;
    return response;
  }
  if (format == Format::kJson) {
    nlohmann::ordered_json body = {{"key", key}};
    common::SetJsonValue(body, winner.value, winner.json);
    body["updated"] = common::FormatRfc3339(winner.time_ns);
    body["revision"] = state.revision;
    body["version"] = winner.id.Hex();
    response.headers.Set("Content-Type", "application/json");
    response.body = common::DumpJson(body);
  } else {
    response.headers.Set("Content-Type", ValueContentType(winner));
    response.body = winner.value;
  }
  return response;
}

std::string JoinKeys(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& key : keys) out += (out.empty() ? "'" : ", '") + key + "'";
  return out;
}

}  // namespace

Response ClassicRead(const Request& request, Service& service) {
  auto parsed = ParseClassicQuery(request.query_string, /*post=*/false);
  if (auto* error = std::get_if<HttpError>(&parsed)) {
    return ErrorResponse(*error, RequestedFormat(request));
  }
  ClassicQuery& query = std::get<ClassicQuery>(parsed);
  if (!query.has_k) return ServeIndexPage(request);

  if (auto refused = AuthorizeRead(service, std::move(query.credentials), request)) {
    return ErrorResponse(*refused, query.format);
  }
  const size_t most = service.config.limits.max_keys_per_transaction;
  if (query.keys.size() > most) {
    return ErrorResponse(
        {400, "k names " + std::to_string(query.keys.size()) + " keys; the limit is " +
                  std::to_string(most) + " (limits.max_keys_per_transaction)"},
        query.format);
  }
  for (const std::string& key : query.keys) {
    if (auto error = CheckKey(key, service.config.limits)) {
      return ErrorResponse(*error, query.format);
    }
  }

  // The newest winner among the keys that exist and are not deleted; ties
  // in time go to the larger version id, as conflicts are decided.
  std::optional<KeyState> newest;
  const std::string* newest_key = nullptr;
  for (const std::string& key : query.keys) {
    auto state = service.store->Get(service.config.default_branch, key);
    if (state.status().IsNotFound()) continue;
    if (!state.ok()) return StoreErrorResponse(state.status(), query.format);
    if (state->winner.deleted) continue;
    if (!newest || std::tie(state->winner.time_ns, state->winner.id) >
                       std::tie(newest->winner.time_ns, newest->winner.id)) {
      newest = std::move(state).value();
      newest_key = &key;
    }
  }
  if (!newest) {
    std::string message = query.keys.size() == 1
                              ? "key " + JoinKeys(query.keys) + " does not exist"
                              : "none of the keys " + JoinKeys(query.keys) + " exists";
    return ErrorResponse({404, message}, query.format);
  }
  return ValueResponse(*newest_key, *newest, request, query.format);
}

Response ClassicWrite(const Request& request, Service& service) {
  const Limits& limits = service.config.limits;
  auto parsed = ParseClassicQuery(request.query_string, /*post=*/true);
  if (auto* error = std::get_if<HttpError>(&parsed)) {
    return ErrorResponse(*error, RequestedFormat(request));
  }
  const Format format = std::get<ClassicQuery>(parsed).format;

  auto fields = ParseFormBody(request.headers.Get("Content-Type").value_or(""), request.body);
  if (!fields.ok()) return ErrorResponse({400, fields.status().message()}, format);

  std::vector<std::string> auth_fields;
  std::vector<FormField> pairs;
  for (FormField& field : *fields) {
    if (field.name == "auth") {
      auth_fields.push_back(std::move(field.value));
    } else {
      pairs.push_back(std::move(field));
    }
  }
  if (auto refused = service.secret.Authorize(
          OfferedCredentials(std::move(auth_fields), request.headers), "writing")) {
    return ErrorResponse(*refused, format);
  }

  if (pairs.empty()) {
    return ErrorResponse({400, "nothing to write: the form has no key=value pair besides auth"},
                         format);
  }
  if (pairs.size() > limits.max_keys_per_transaction) {
    return ErrorResponse({400, std::to_string(pairs.size()) + " keys in one post; the limit is " +
                                   std::to_string(limits.max_keys_per_transaction) +
                                   " (limits.max_keys_per_transaction)"},
                         format);
  }
  std::set<std::string_view> seen;
  for (const FormField& pair : pairs) {
    if (auto error = CheckKey(pair.name, limits)) return ErrorResponse(*error, format);
    if (!seen.insert(pair.name).second) {
      return ErrorResponse(
          {400, "key '" + pair.name + "' appears twice in one post; nothing was written"}, format);
    }
    if (pair.value.size() > limits.max_value_bytes) {
      return ErrorResponse(
          {413, "the value of '" + pair.name + "' is " + std::to_string(pair.value.size()) +
                    " bytes; the limit is " + std::to_string(limits.max_value_bytes) +
                    " (limits.max_value_bytes)"},
          format);
    }
  }

  WriteBatch batch;
  batch.branch = service.config.default_branch;
  for (FormField& pair : pairs) batch.Put(std::move(pair.name), std::move(pair.value));
  auto written = service.store->Write(batch);
  if (!written.ok()) return StoreErrorResponse(written.status(), format);

  if (format == Format::kJson) {
    nlohmann::ordered_json body = {{"revision", written->revision},
                                   {"commit", written->commit.Hex()},
                                   {"keys", nlohmann::ordered_json::array()},
                                   {"versions", nlohmann::ordered_json::array()}};
    for (size_t i = 0; i < batch.writes.size(); ++i) {
      body["keys"].push_back(batch.writes[i].key);
      body["versions"].push_back(written->versions[i].Hex());
    }
    return ContentResponse("application/json", common::DumpJson(body));
  }
  std::string text = "revision " + std::to_string(written->revision) + "\n";
  for (const KeyWrite& write : batch.writes) text += write.key + "\n";
  return ContentResponse("text/plain; charset=utf-8", std::move(text));
}

}  // namespace kvs::server
