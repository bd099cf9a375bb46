// The query parameters of the REST face and of the branch endpoints
// (/_branches, /_log, /_diff, /_reset, /_merge), parsed once into typed
// values before a handler acts, and the checks of the names paths carry.
//
// Each route names the parameters it takes; any other, or one given twice,
// is a 400, so a typo never silently changes an answer. Every route also
// takes auth (the secret, for reads under read_access: secret) and "_" (a
// cache buster, ignored). prefix, after and delimiter stand for keys and
// must be UTF-8 like them (key_rules.h).
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

#include "config/config.h"
#include "http/request.h"
#include "kvs/store.h"
#include "merge/merge_function.h"

namespace kvs::server {

// revisions=all
inline constexpr size_t kAllRevisions = static_cast<size_t>(-1);

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
  std::optional<std::string> branch;             // /_log, /_reset (a valid fork name)
  std::optional<std::string> from, to, into;     // /_diff, /_merge, /_reset: as given
  std::optional<std::string> before;             // /_log: a commit id, as given
  bool dry_run = false;                          // /_merge
  std::vector<std::string> credentials;          // every auth=
};

inline constexpr size_t kMaxKeysPerPage = 1000;

// Parses query_string, accepting only the given parameter names (of
// revisions, patch, at, strategy, prefix, fork, limit, after, branch, from,
// to, into, before, dry_run, delimiter) besides auth
// and _. Errors carry a code: "bad_at", "unknown_strategy", "bad_fork", or
// the status's own.
std::variant<RestQuery, HttpError> ParseRestQuery(std::string_view query_string,
                                                  const std::vector<std::string_view>& names);

// at=: a revision number, an RFC 3339 time or a commit id (64 hex digits).
std::variant<ReadPoint, HttpError> ParseReadPoint(std::string_view text);

// A fork (branch) name as the store allows it: 1 to 64 letters, digits,
// '-', '_' and '.'; else a 400 coded "bad_fork".
std::optional<HttpError> CheckForkName(std::string_view fork);

}  // namespace kvs::server

#endif  // KVS_FACES_REST_REST_ARGS_H_
