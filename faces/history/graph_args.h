// The arguments of the version-graph endpoints (/_create, /_heads/KEY,
// /_versions/ID, /_history/ID, /_concestor, /_list, ...), parsed once into
// typed values before a handler acts: their query parameters, the key or id
// the path names, and version ids given as unique hex prefixes.
//
// Each endpoint names the parameters it takes, and the one query parser
// (http/query.h) refuses any other. Every endpoint also takes format, and
// one that reads takes auth (the secret, for reads under read_access:
// secret).
#ifndef KVS_FACES_HISTORY_GRAPH_ARGS_H_
#define KVS_FACES_HISTORY_GRAPH_ARGS_H_

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"
#include "http/request.h"
#include "kvs/store.h"

namespace kvs::server {

// What an endpoint accepts besides auth, format and _.
struct GraphParams {
  // Of key, branch, id, prev, gt, lt, limit, deleted, json, at.
  std::vector<std::string_view> names;
  size_t max_limit = 0;  // limit=1..max_limit, when "limit" is named
  bool text = false;     // format=text is allowed (else only json)
  bool writes = false;   // the secret must come in a header: auth= is a 400
};

struct GraphQuery {
  std::optional<std::string> key;
  std::optional<std::string> branch;
  std::vector<std::string> ids;    // every id=, in order
  std::vector<std::string> prevs;  // every prev=, in order
  // Version id bounds: lowercase hex, at most 64 digits, gt below lt when
  // both are given; "" when absent.
  std::string gt;
  std::string lt;
  std::optional<size_t> limit;
  bool deleted = false;  // deleted=true: write a tombstone (POST /_create)
  bool json = false;     // json=true: the value is JSON text (POST /_create)
  ReadPoint at;          // at=: a revision, time or commit (GET /_heads)
  Format format = Format::kJson;
  std::vector<std::string> credentials;  // every auth=
};

std::variant<GraphQuery, HttpError> ParseGraphQuery(std::string_view query_string,
                                                    const GraphParams& params);

// What PATH_INFO says below an endpoint's own path: for "/_heads/a/b" and
// endpoint "/_heads", "a/b"; nullopt for "/_heads" itself. path_info is the
// endpoint or starts with it and '/' (the router sends nothing else). The web server
// gives PATH_INFO percent-decoded, so it is taken as it is (decoding again
// would turn a key "100%41" named as "100%2541" into "100A").
std::optional<std::string> PathArgument(std::string_view path_info, std::string_view endpoint);

// The key of /_heads/KEY or /_tails/KEY: from the path, or from key= for
// keys a path cannot carry (nginx hides "/."); naming it both
// ways or neither is a 400. Also checks the key's rules (key_rules.h).
std::variant<std::string, HttpError> KeyArgument(std::optional<std::string> from_path,
                                                 std::optional<std::string> from_query,
                                                 std::string_view endpoint,
                                                 const config::Limits& limits);

// A version named by a client: its full id or a unique prefix of at least 8
// hex digits, either case. On failure, the response to send: 400 for a
// malformed id or an ambiguous prefix, 404 when no version matches, 500 when
// the store fails. context (e.g. "prev") starts the error message.
std::variant<VersionId, HttpError> ResolveVersionArgument(Store& store, std::string_view text,
                                                          std::string_view context);

}  // namespace kvs::server

#endif  // KVS_FACES_HISTORY_GRAPH_ARGS_H_
