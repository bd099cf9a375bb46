// Parsing the REST face's query strings.
#include "faces/rest/rest_args.h"

#include <algorithm>

#include "common/read_point.h"
#include "http/form.h"
#include "http/key_errors.h"

namespace kvs::server {
namespace {

// "(known: a, b)", or what a route without parameters of its own says.
std::string KnownNames(const std::vector<std::string_view>& names) {
  std::string known;
  for (std::string_view name : names) known += std::string(known.empty() ? "" : ", ") += name;
  return known.empty() ? "(this route takes none)" : "(known: " + known + ")";
}

// true/1 or false/0.
std::variant<bool, HttpError> ParseFlag(const std::string& name, const std::string& value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return HttpError{400, name + " must be true or false, not '" + value + "'"};
}

}  // namespace

std::variant<ReadPoint, HttpError> ParseReadPoint(std::string_view text) {
  if (auto point = common::ParseReadPoint(text)) return *point;
  if (text.find_first_not_of('0') == std::string_view::npos && !text.empty()) {
    return HttpError{400, "at=0 names no revision; they start at 1", "bad_at"};
  }
  return HttpError{400,
                   "at must be a revision number, a time like 2026-11-20T10:00:00Z or a commit "
                   "id of 64 hex digits, not '" +
                       std::string(text) + "'",
                   "bad_at"};
}

std::optional<HttpError> CheckForkName(std::string_view fork) {
  bool ok = !fork.empty() && fork.size() <= 64 && std::all_of(fork.begin(), fork.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
  if (ok) return std::nullopt;
  return HttpError{
      400,
      "fork name '" + std::string(fork) + "' must have 1 to 64 letters, digits, '-', '_' or '.'",
      "bad_fork"};
}

std::variant<RestQuery, HttpError> ParseRestQuery(std::string_view query_string,
                                                  const std::vector<std::string_view>& names) {
  auto fields = ParseUrlEncoded(query_string);
  if (!fields.ok()) return HttpError{400, "query string: " + fields.status().message()};
  RestQuery query;
  std::vector<std::string> seen;
  for (FormField& field : *fields) {
    const std::string& name = field.name;
    if (name == "auth") {
      query.credentials.push_back(std::move(field.value));
      continue;
    }
    if (name == "_") continue;
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return HttpError{400, "unknown parameter '" + name + "' here " + KnownNames(names)};
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return HttpError{400, "parameter '" + name + "' is given twice"};
    }
    seen.push_back(name);
    const std::string& value = field.value;
    if (name == "revisions") {
      if (value == "all") {
        query.revisions = kAllRevisions;
      } else if (auto n = ParseCount(value)) {
        query.revisions = *n;
      }  // else: none, as the original interface does
    } else if (name == "patch") {
      auto patch = ParseFlag(name, value);
      if (auto* error = std::get_if<HttpError>(&patch)) return std::move(*error);
      query.patch = std::get<bool>(patch);
    } else if (name == "at") {
      auto at = ParseReadPoint(value);
      if (auto* error = std::get_if<HttpError>(&at)) return std::move(*error);
      query.at = std::get<ReadPoint>(at);
    } else if (name == "strategy") {
      query.strategy = merge::ParseMergeFunction(value);
      if (!query.strategy) {
        return HttpError{
            400, "unknown strategy '" + value + "' (known: " + merge::MergeFunctionNames() + ")",
            "unknown_strategy"};
      }
    } else if (name == "prefix") {
      if (auto error = CheckKeyText(name, value)) return std::move(*error);
      query.prefix = value;
    } else if (name == "fork") {
      if (auto error = CheckForkName(value)) return std::move(*error);
      query.fork = value;
    } else if (name == "limit") {
      auto limit = ParseCount(value);
      if (!limit || *limit < 1 || *limit > kMaxKeysPerPage) {
        return HttpError{400, "limit must be a number from 1 to " +
                                  std::to_string(kMaxKeysPerPage) + ", not '" + value + "'"};
      }
      query.limit = *limit;
    } else if (name == "after") {
      if (auto error = CheckKeyText(name, value)) return std::move(*error);
      query.after = value;
    } else if (name == "delimiter") {
      if (auto error = CheckKeyText(name, value)) return std::move(*error);
      query.delimiter = value;
    } else if (name == "branch") {
      if (auto error = CheckForkName(value)) return std::move(*error);
      query.branch = value;
    } else if (name == "from") {
      query.from = value;
    } else if (name == "to") {
      query.to = value;
    } else if (name == "into") {
      query.into = value;
    } else if (name == "before") {
      query.before = value;
    } else if (name == "dry_run") {
      auto dry_run = ParseFlag(name, value);
      if (auto* error = std::get_if<HttpError>(&dry_run)) return std::move(*error);
      query.dry_run = std::get<bool>(dry_run);
    }
  }
  return query;
}

}  // namespace kvs::server
