// The one query parser and its typed values.
#include "http/query.h"

#include <algorithm>

#include "common/read_point.h"
#include "http/auth.h"
#include "http/form.h"

namespace kvs::server {
namespace {

bool Contains(const std::vector<std::string_view>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// "(known here: a, b)", or what a route without parameters says.
std::string KnownNames(const QuerySpec& spec) {
  std::string known;
  for (const auto* names : {&spec.once, &spec.repeatable}) {
    for (std::string_view name : *names) known += (known.empty() ? "" : ", ") + std::string(name);
  }
  return known.empty() ? "(this route takes none)" : "(known here: " + known + ")";
}

}  // namespace

std::variant<bool, HttpError> FlagValue(std::string_view name, std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return HttpError{400,
                   std::string(name) + " must be true or false, not '" + std::string(text) + "'"};
}

std::variant<size_t, HttpError> CountValue(std::string_view name, std::string_view text, size_t min,
                                           size_t max) {
  auto count = ParseCount(text);
  if (!count || *count < min || *count > max) {
    return HttpError{400, std::string(name) + " must be a number from " + std::to_string(min) +
                              " to " + std::to_string(max) + ", not '" + std::string(text) + "'"};
  }
  return *count;
}

std::variant<merge::MergeFunction, HttpError> StrategyValue(std::string_view text) {
  if (auto function = merge::ParseMergeFunction(text)) return *function;
  return HttpError{
      400,
      "unknown strategy '" + std::string(text) + "' (known: " + merge::MergeFunctionNames() + ")",
      "unknown_strategy"};
}

std::variant<ReadPoint, HttpError> ReadPointValue(std::string_view text) {
  if (auto point = common::ParseReadPoint(text)) return *point;
  if (text.find_first_not_of('0') == std::string_view::npos && !text.empty()) {
    return HttpError{400, "at=0 names no revision; they start at 1", "bad_at"};
  }
  // A date and time written right, but one that does not exist or that
  // kvs cannot hold: say so rather than show the format it already has.
  if (text.size() >= 19 && text[4] == '-' && text[7] == '-' &&
      (text[10] == 'T' || text[10] == 't' || text[10] == ' ')) {
    return HttpError{400,
                     "at '" + std::string(text) +
                         "' is no time kvs can name: a real date and time, from 1677-09-22 "
                         "to 2262-04-11",
                     "bad_at"};
  }
  return HttpError{400,
                   "at must be a revision number, a time like 2026-11-20T10:00:00Z or a commit "
                   "id of 64 hex digits, not '" +
                       std::string(text) + "'",
                   "bad_at"};
}

std::optional<HttpError> CheckForkName(std::string_view fork) {
  Status valid = CheckBranchName(fork);
  if (valid.ok()) return std::nullopt;
  return HttpError{400, valid.message(), "bad_fork"};
}

std::optional<std::string> Query::Get(std::string_view name) const {
  for (const QueryField& field : fields_) {
    if (field.name == name) return field.value;
  }
  return std::nullopt;
}

std::vector<std::string> Query::All(std::string_view name) const {
  std::vector<std::string> values;
  for (const QueryField& field : fields_) {
    if (field.name == name) values.push_back(field.value);
  }
  return values;
}

std::variant<Query, HttpError> ParseQuery(std::string_view query_string, const QuerySpec& spec) {
  auto encoded = SplitUrlEncoded(query_string);
  if (!encoded.ok()) return HttpError{400, "query string: " + encoded.status().message()};
  std::vector<QueryField> fields;
  for (EncodedField& field : *encoded) {
    if (field.name == "_") continue;
    const bool once = Contains(spec.once, field.name);
    if (!once && !Contains(spec.repeatable, field.name)) {
      if (field.name == "auth") return SecretInWriteUrl();
      return HttpError{400, "unknown parameter '" + field.name + "' " + KnownNames(spec)};
    }
    if (once && std::any_of(fields.begin(), fields.end(),
                            [&](const QueryField& f) { return f.name == field.name; })) {
      return HttpError{400, "parameter '" + field.name + "' is given twice"};
    }
    auto value = PercentDecode(field.raw_value, /*plus_as_space=*/true);
    if (!value.ok()) return HttpError{400, "query string: " + value.status().message()};
    fields.push_back({std::move(field.name), std::move(value).value(), field.raw_value});
  }
  return Query(std::move(fields));
}

}  // namespace kvs::server
