// Query strings, parsed once against what a route takes: the one parser of
// every face's parameters.
//
// A route names the parameters it takes; any other is a 400 that lists
// them, so a typo never silently changes an answer, and a parameter that
// takes one value, given twice, is a 400 too. Every route also takes "_"
// (a cache buster, dropped here). A route that does not take auth (a write,
// whose secret must not sit in a URL that access logs keep) answers an
// auth= in its query with the 400 that says so.
#ifndef KVS_HTTP_QUERY_H_
#define KVS_HTTP_QUERY_H_

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http/request.h"
#include "kvs/store.h"
#include "merge/merge_function.h"

namespace kvs::server {

// What a route takes.
struct QuerySpec {
  std::vector<std::string_view> once = {};        // each at most once
  std::vector<std::string_view> repeatable = {};  // any number of times (auth, k, id, prev)
};

struct QueryField {
  std::string name;
  std::string value;           // decoded
  std::string_view raw_value;  // as sent: a view into the parsed query string
};

class Query {
 public:
  explicit Query(std::vector<QueryField> fields) : fields_(std::move(fields)) {}
  // Every field but "_", in order.
  const std::vector<QueryField>& fields() const { return fields_; }
  // The value of a parameter taken once; nullopt when absent.
  std::optional<std::string> Get(std::string_view name) const;
  // Every value of a parameter, in order.
  std::vector<std::string> All(std::string_view name) const;

 private:
  std::vector<QueryField> fields_;
};

// Parses query_string (which must outlive the Query's raw values): a 400 for
// bad percent-encoding, a parameter spec does not name, or one of spec.once
// given twice.
std::variant<Query, HttpError> ParseQuery(std::string_view query_string, const QuerySpec& spec);

// ---- Typed values: each refusal is a 400 naming the parameter ---------------

// true/1 or false/0.
std::variant<bool, HttpError> FlagValue(std::string_view name, std::string_view text);

// A whole number from min to max.
std::variant<size_t, HttpError> CountValue(std::string_view name, std::string_view text, size_t min,
                                           size_t max);

// strategy=: a merge function's name; coded "unknown_strategy".
std::variant<merge::MergeFunction, HttpError> StrategyValue(std::string_view text);

// at=: a revision number, an RFC 3339 time or a commit id (64 hex digits);
// coded "bad_at".
std::variant<ReadPoint, HttpError> ReadPointValue(std::string_view text);

// A fork (branch) name the store takes (kvs::CheckBranchName); coded
// "bad_fork".
std::optional<HttpError> CheckForkName(std::string_view fork);

}  // namespace kvs::server

#endif  // KVS_HTTP_QUERY_H_
