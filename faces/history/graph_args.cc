// Parsing the version-graph endpoints' parameters, path arguments and ids.
#include "faces/history/graph_args.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "http/form.h"
#include "http/key_errors.h"
#include "http/query.h"
#include "http/service.h"

namespace kvs::server {
namespace {

bool IsHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string LowerCase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// Sets *bound to text, a gt= or lt= bound of version ids, in lowercase; or
// says why it is not one. Absent (nullopt) leaves *bound empty.
std::optional<HttpError> SetIdBound(std::string_view name, const std::optional<std::string>& text,
                                    std::string* bound) {
  if (!text) return std::nullopt;
  if (text->size() > 64 || !IsHex(*text)) {
    return HttpError{400, std::string(name) +
                              " must be at most 64 hex digits (a version id or a prefix of one), "
                              "not '" +
                              *text + "'"};
  }
  *bound = LowerCase(*text);
  return std::nullopt;
}

}  // namespace

std::variant<GraphQuery, HttpError> ParseGraphQuery(std::string_view query_string,
                                                    const GraphParams& params) {
  QuerySpec spec;
  if (!params.writes) spec.repeatable.push_back("auth");
  for (std::string_view name : params.names) {
    (name == "id" || name == "prev" ? spec.repeatable : spec.once).push_back(name);
  }
  spec.once.push_back("format");
  auto parsed = ParseQuery(query_string, spec);
  if (auto* error = std::get_if<HttpError>(&parsed)) return std::move(*error);
  const Query& fields = std::get<Query>(parsed);
  GraphQuery query;
  query.key = fields.Get("key");
  query.branch = fields.Get("branch");
  query.ids = fields.All("id");
  query.prevs = fields.All("prev");
  query.credentials = fields.All("auth");
  const std::optional<std::string> gt = fields.Get("gt"), lt = fields.Get("lt"),
                                   format = fields.Get("format");
  if (format && *format != "json" && !(params.text && *format == "text")) {
    return HttpError{400, std::string("format must be ") + (params.text ? "json or text" : "json") +
                              ", not '" + *format + "'"};
  }
  if (format == "text") query.format = Format::kText;
  if (auto limit = fields.Get("limit")) {
    auto count = CountValue("limit", *limit, 1, params.max_limit);
    if (auto* error = std::get_if<HttpError>(&count)) return std::move(*error);
    query.limit = std::get<size_t>(count);
  }
  for (auto [name, flag] : {std::pair{"deleted", &query.deleted}, std::pair{"json", &query.json}}) {
    if (auto text = fields.Get(name)) {
      auto value = FlagValue(name, *text);
      if (auto* error = std::get_if<HttpError>(&value)) return std::move(*error);
      *flag = std::get<bool>(value);
    }
  }
  if (auto text = fields.Get("at")) {
    auto at = ReadPointValue(*text);
    if (auto* error = std::get_if<HttpError>(&at)) return std::move(*error);
    query.at = std::get<ReadPoint>(at);
  }
  if (auto error = SetIdBound("gt", gt, &query.gt)) return *error;
  if (auto error = SetIdBound("lt", lt, &query.lt)) return *error;
  if (!query.gt.empty() && !query.lt.empty() && query.gt >= query.lt) {
    return HttpError{
        400, "gt '" + *gt + "' is not below lt '" + *lt + "': no version id can be in that range"};
  }
  return query;
}

std::optional<std::string> PathArgument(std::string_view path_info, std::string_view endpoint) {
  if (path_info.size() <= endpoint.size()) return std::nullopt;
  return std::string(path_info.substr(endpoint.size() + 1));
}

std::variant<std::string, HttpError> KeyArgument(std::optional<std::string> from_path,
                                                 std::optional<std::string> from_query,
                                                 std::string_view endpoint,
                                                 const config::Limits& limits) {
  if (from_path && from_query) {
    return HttpError{400, "the key is named twice, in the path and as key=; name it once"};
  }
  if (!from_path && !from_query) {
    return HttpError{400, "name the key: " + std::string(endpoint) + "/KEY or " +
                              std::string(endpoint) + "?key=KEY"};
  }
  std::string key = from_path ? std::move(*from_path) : std::move(*from_query);
  if (auto error = CheckKey(key, limits)) return *error;
  return key;
}

std::variant<VersionId, HttpError> ResolveVersionArgument(Store& store, std::string_view text,
                                                          std::string_view context) {
  std::string prefix = context.empty() ? "" : std::string(context) + ": ";
  if (!IsHex(text) || text.size() < 8 || text.size() > 64) {
    return HttpError{400, prefix + "'" + std::string(text) +
                              "' is not a version id: give 8 to 64 hex digits (the id, or a "
                              "prefix of it that no other version shares)"};
  }
  std::string lower = LowerCase(text);
  auto id = store.ResolveVersion(lower);
  if (id.ok()) return *id;
  switch (id.status().code()) {
    case Status::Code::kNotFound:
      return HttpError{404, prefix + "no version id starts with " + lower};
    case Status::Code::kAmbiguous:
      return HttpError{
          400, prefix + "more than one version id starts with " + lower + "; give more digits"};
    default:
      return StoreError(id.status());
  }
}

}  // namespace kvs::server
