// The query parameters of the REST face, parsed once (http/query.h) into
// typed values before a handler acts.
//
// One exception keeps the original interface: revisions= that is missing or
// not a number (nor "all") asks for no revisions instead of being an error.
#ifndef KVS_FACES_REST_REST_ARGS_H_
#define KVS_FACES_REST_REST_ARGS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http/request.h"
#include "kvs/store.h"
#include "merge/merge_function.h"

namespace kvs::server {

// revisions=all
inline constexpr size_t kAllRevisions = static_cast<size_t>(-1);

inline constexpr size_t kMaxKeysPerPage = 1000;

struct RestQuery {
  size_t revisions = 0;  // how many earlier revisions to list (kAllRevisions: all)
  bool patch = false;    // list them as values instead of reverse patches
  ReadPoint at;          // at=REVISION, at=TIME or at=COMMIT; latest when absent
  std::optional<merge::MergeFunction> strategy;  // strategy=; nullopt: blind overwrite
  std::string prefix;                            // /keys
  std::optional<std::string> fork;               // /keys
  size_t limit = 100;                            // /keys
  std::string after;                             // /keys: list keys after this one
  std::string delimiter;                         // /keys: list sub-prefixes as folders
  std::vector<std::string> credentials;          // every auth= (reads only)
};

// Whether a route reads (and takes auth= for read_access: secret) or writes
// (whose secret must come in a header).
enum class Access { kRead, kWrite };

// Parses query_string for a route taking names (of revisions, patch, at,
// strategy, prefix, fork, limit, after, delimiter). Errors carry a code:
// "bad_at", "unknown_strategy", "bad_fork", or the status's own.
std::variant<RestQuery, HttpError> ParseRestQuery(std::string_view query_string,
                                                  std::vector<std::string_view> names,
                                                  Access access);

}  // namespace kvs::server

#endif  // KVS_FACES_REST_REST_ARGS_H_
