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

// A read takes k (repeatable: the keys add up), format, auth (repeatable:
// each one must hold) and _ (a cache buster); a post takes format and _, as
// its secret comes in the form or the header. Anything else, and format
// given twice, is a 400: a typo must not turn a read into the index page.
std::variant<ClassicQuery, HttpError> ParseQuery(std::string_view query_string, bool post) {
  auto fields = SplitUrlEncoded(query_string);
  if (!fields.ok()) return HttpError{400, "query string: " + fields.status().message()};
  ClassicQuery query;
  bool has_format = false;
  for (const EncodedField& field : *fields) {
    if (field.name == "_") continue;
    std::string_view raw = field.raw_value;
    // Each key of k alone, between the commas as sent; any other value whole.
    const bool list = !post && field.name == "k";
    std::vector<std::string> values;
    for (;;) {
      size_t comma = list ? raw.find(',') : std::string_view::npos;
      auto value = PercentDecode(raw.substr(0, comma), true);
      if (!value.ok()) return HttpError{400, "query string: " + value.status().message()};
      values.push_back(std::move(value).value());
      if (comma == std::string_view::npos) break;
      raw.remove_prefix(comma + 1);
    }
    if (list) {
      query.has_k = true;
      query.keys.insert(query.keys.end(), values.begin(), values.end());
    } else if (field.name == "format") {
      if (has_format) return HttpError{400, "parameter 'format' is given twice"};
      has_format = true;
      if (values[0] == "json") {
        query.format = Format::kJson;
      } else if (values[0] == "text") {
        query.format = Format::kText;
      } else {
        return HttpError{400, "format must be json or text, not '" + values[0] + "'"};
      }
    } else if (post && field.name == "auth") {
      return SecretInWriteUrl();
    } else if (!post && field.name == "auth") {
      query.credentials.push_back(std::move(values[0]));
    } else {
      return HttpError{400, "unknown parameter '" + field.name + "' (known here: " +
                                (post ? "format, _" : "k, format, auth, _") + ")"};
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
    common::SetJsonValue(body, winner.value);
    body["updated"] = common::FormatRfc3339(winner.time_ns);
    body["revision"] = state.revision;
    body["version"] = winner.id.Hex();
    response.headers.Set("Content-Type", "application/json");
    response.body = common::DumpJson(body);
  } else {
    response.headers.Set("Content-Type", ValueContentType(winner.value));
    response.body = winner.value;
  }
  return response;
}

std::string JoinKeys(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& key : keys) out += (out.empty() ? "'" : ", '") + key + "'";
  return out;
}

// Whether one of the '&'-separated parameters of a raw query is exactly
// parameter (looked for without decoding, so it works on any query).
bool HasLiteralParameter(std::string_view query_string, std::string_view parameter) {
  std::string_view rest = query_string;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    if (rest.substr(0, amp) == parameter) return true;
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return false;
}

}  // namespace

Format RequestedFormat(const Request& request) {
  // The system endpoints under /_ (the web page's files too) and the REST
  // face (every other path below /) speak JSON.
  const std::string_view path = request.path_info;
  if (path.starts_with("/_")) {
    return HasLiteralParameter(request.query_string, "format=text") ? Format::kText : Format::kJson;
  }
  if (path.size() > 1) return Format::kJson;
  auto query = ParseQuery(request.query_string, request.method == "POST");
  if (auto* parsed = std::get_if<ClassicQuery>(&query)) return parsed->format;
  // The query does not parse: look for the literal parameter.
  return HasLiteralParameter(request.query_string, "format=json") ? Format::kJson : Format::kText;
}

Response ClassicRead(const Request& request, Service& service) {
  auto parsed = ParseQuery(request.query_string, /*post=*/false);
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
  auto parsed = ParseQuery(request.query_string, /*post=*/true);
  if (auto* error = std::get_if<HttpError>(&parsed)) {
    return ErrorResponse(*error, RequestedFormat(request));
  }
  const Format format = std::get<ClassicQuery>(parsed).format;

  if (request.body.size() > limits.max_body_bytes) {
    return ErrorResponse(
        {413, "the body is " + std::to_string(request.body.size()) + " bytes; the limit is " +
                  std::to_string(limits.max_body_bytes) + " (limits.max_body_bytes)"},
        format);
  }
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
