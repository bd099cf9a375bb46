// GET /_keys: parse the query into a KeyListQuery, then one store listing.
#include "faces/listing/key_listing.h"

#include <string>
#include <variant>
#include <vector>

#include "common/json_value.h"
#include "common/time.h"
#include "faces/listing/key_namespace.h"
#include "http/form.h"
#include "http/key_errors.h"
#include "http/query.h"

namespace kvs::server {
namespace {

constexpr size_t kDefaultLimit = 50;
constexpr size_t kMaxLimit = 1000;
// More than a page needs; keeps a 1000-key page of values bounded (64 MiB).
constexpr size_t kMaxValueBytes = 64 * 1024;

struct KeyListQuery {
  std::string prefix;
  std::string gt;
  std::optional<std::string> lt;
  size_t limit = kDefaultLimit;
  size_t value_bytes = 0;
  std::optional<std::string> branch;
  std::string delimiter;  // list sub-prefixes as folders (key_namespace.h)
  std::vector<std::string> credentials;
};

std::variant<KeyListQuery, HttpError> ParseKeyListQuery(std::string_view query_string) {
  auto parsed = ParseQuery(query_string, {.once = {"prefix", "gt", "lt", "limit", "values",
                                                   "branch", "delimiter", "format"},
                                          .repeatable = {"auth"}});
  if (auto* error = std::get_if<HttpError>(&parsed)) return std::move(*error);
  KeyListQuery query;
  for (const QueryField& field : std::get<Query>(parsed).fields()) {
    const std::string& name = field.name;
    const std::string& value = field.value;
    if (name == "prefix" || name == "gt" || name == "lt" || name == "delimiter") {
      if (auto error = CheckKeyText(name, value)) return std::move(*error);
    }
    if (name == "prefix") {
      query.prefix = value;
    } else if (name == "gt") {
      query.gt = value;
    } else if (name == "lt") {
      query.lt = value;
    } else if (name == "limit") {
      auto limit = CountValue(name, value, 1, kMaxLimit);
      if (auto* error = std::get_if<HttpError>(&limit)) return std::move(*error);
      query.limit = std::get<size_t>(limit);
    } else if (name == "values") {
      auto bytes = CountValue(name, value, 0, kMaxValueBytes);
      if (auto* error = std::get_if<HttpError>(&bytes)) return std::move(*error);
      query.value_bytes = std::get<size_t>(bytes);
    } else if (name == "branch") {
      query.branch = value;
    } else if (name == "delimiter") {
      query.delimiter = value;
    } else if (name == "auth") {
      query.credentials.push_back(value);
    } else if (name == "format" && value != "json") {
      // Accepted for symmetry with the classic face: the answer is JSON.
      return HttpError{400, "format must be json, not '" + value + "'"};
    }
  }
  if (query.lt && *query.lt <= query.gt) {
    return HttpError{400, "gt '" + query.gt + "' is not below lt '" + *query.lt +
                              "': no key can be in that range"};
  }
  return query;
}

// The longest prefix of value of at most max_bytes that does not end inside
// a UTF-8 sequence (value is valid UTF-8).
size_t Utf8CutPoint(std::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) return value.size();
  size_t cut = max_bytes;
  // Back off continuation bytes (10xxxxxx) so the cut starts a character.
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

nlohmann::ordered_json KeyJson(const KeyState& state, const std::string& key, size_t value_bytes) {
  const Version& winner = state.winner;
  nlohmann::ordered_json entry = {{"key", key}};
  if (value_bytes > 0) {
    const std::string& value = winner.value;
    size_t cut = common::IsValidUtf8(value) ? Utf8CutPoint(value, value_bytes)
                                            : std::min(value.size(), value_bytes);
    std::string shown = value.substr(0, cut);
    // A cut of a non-UTF-8 value may happen to be UTF-8; keep the marker
    // honest by deciding on the whole value.
    if (common::IsValidUtf8(value)) {
      entry["value"] = std::move(shown);
    } else {
      entry["value"] = common::Base64Encode(shown);
      entry["encoding"] = "base64";
    }
    entry["truncated"] = cut < value.size();
  }
  entry["size"] = winner.size;
  entry["updated"] = common::FormatRfc3339(winner.time_ns);
  entry["revision"] = state.revision;
  entry["version"] = winner.id.Hex();
  entry["conflict"] = state.conflict();
  if (winner.deleted) entry["deleted"] = true;
  return entry;
}

}  // namespace

Response ListKeys(const Request& request, Service& service) {
  auto parsed = ParseKeyListQuery(request.query_string);
  if (auto* error = std::get_if<HttpError>(&parsed)) return ErrorResponse(*error, Format::kJson);
  KeyListQuery& query = std::get<KeyListQuery>(parsed);
  if (auto refused = AuthorizeRead(service, std::move(query.credentials), request)) {
    return ErrorResponse(*refused, Format::kJson);
  }

  const std::string& branch = query.branch ? *query.branch : service.config.default_branch;
  // A write a concurrent delete hides is listed: the page is where people
  // see their keys, and a conflict they cannot see they cannot resolve.
  auto page = ListNamespace(*service.store, branch, query.prefix, query.delimiter, query.gt,
                            query.limit, {.values = query.value_bytes > 0, .hidden_writes = true});
  if (!page.ok()) return StoreErrorResponse(page.status(), Format::kJson);

  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  nlohmann::ordered_json prefixes = nlohmann::ordered_json::array();
  bool more = page->more;
  for (const KeyState& state : page->keys) {
    const std::string& key = state.winner.key;
    if (query.lt && key >= *query.lt) {
      more = false;
      break;
    }
    keys.push_back(KeyJson(state, key, query.value_bytes));
  }
  for (const std::string& prefix : page->prefixes) {
    if (query.lt && prefix >= *query.lt) {
      more = false;
      break;
    }
    prefixes.push_back(prefix);
  }
  nlohmann::ordered_json body = {{"keys", std::move(keys)}};
  if (!query.delimiter.empty()) body["prefixes"] = std::move(prefixes);
  body["more"] = more;
  body["now"] = common::FormatRfc3339(common::WallClockNs());
  Response response = ContentResponse("application/json", common::DumpJson(body));
  response.headers.Set("Cache-Control", "no-cache");
  return response;
}

}  // namespace kvs::server
