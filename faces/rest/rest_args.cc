// Parsing the REST face's query strings.
#include "faces/rest/rest_args.h"

#include "http/form.h"
#include "http/key_errors.h"
#include "http/query.h"

namespace kvs::server {

std::variant<RestQuery, HttpError> ParseRestQuery(std::string_view query_string,
                                                  std::vector<std::string_view> names,
                                                  Access access) {
  QuerySpec spec{std::move(names), {}};
  if (access == Access::kRead) spec.repeatable.push_back("auth");
  auto parsed = ParseQuery(query_string, spec);
  if (auto* error = std::get_if<HttpError>(&parsed)) return std::move(*error);
  RestQuery query;
  for (const QueryField& field : std::get<Query>(parsed).fields()) {
    const std::string& name = field.name;
    const std::string& value = field.value;
    std::optional<HttpError> error;
    if (name == "auth") {
      query.credentials.push_back(value);
    } else if (name == "revisions") {
      if (value == "all") {
        query.revisions = kAllRevisions;
      } else if (auto n = ParseCount(value)) {
        query.revisions = *n;
      }  // else: none, as the original interface does
    } else if (name == "patch") {
      auto patch = FlagValue(name, value);
      if (auto* refused = std::get_if<HttpError>(&patch)) return std::move(*refused);
      query.patch = std::get<bool>(patch);
    } else if (name == "at") {
      auto at = ReadPointValue(value);
      if (auto* refused = std::get_if<HttpError>(&at)) return std::move(*refused);
      query.at = std::get<ReadPoint>(at);
    } else if (name == "strategy") {
      auto strategy = StrategyValue(value);
      if (auto* refused = std::get_if<HttpError>(&strategy)) return std::move(*refused);
      query.strategy = std::get<merge::MergeFunction>(strategy);
    } else if (name == "fork") {
      error = CheckForkName(value);
      query.fork = value;
    } else if (name == "limit") {
      auto limit = CountValue(name, value, 1, kMaxKeysPerPage);
      if (auto* refused = std::get_if<HttpError>(&limit)) return std::move(*refused);
      query.limit = std::get<size_t>(limit);
    } else if (name == "prefix") {
      error = CheckKeyText(name, value);  // text keys are compared with, as are the next two
      query.prefix = value;
    } else if (name == "after") {
      error = CheckKeyText(name, value);
      query.after = value;
    } else if (name == "delimiter") {
      error = CheckKeyText(name, value);
      query.delimiter = value;
    }
    if (error) return std::move(*error);
  }
  return query;
}

}  // namespace kvs::server
