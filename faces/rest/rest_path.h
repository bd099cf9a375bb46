// The paths of the REST face: /KEY, /KEY/FORK, /KEY/info, /KEY/FORK/info,
// /KEY/FORK/fork/TARGET, /KEY/FORK/merge/TARGET, and /keys.
//
// Keys are URL-encoded path segments, so a key may hold a '/' as %2F. The web
// server hands over PATH_INFO already decoded, which loses that difference,
// so the segments are cut from the still-encoded path in REQUEST_URI (the
// part of it that decodes to PATH_INFO) and decoded one by one. Where
// REQUEST_URI does not decode to PATH_INFO (a rewrite, merged slashes),
// PATH_INFO is split as it is and %2F cannot be told from '/'.
#ifndef KVS_FACES_REST_REST_PATH_H_
#define KVS_FACES_REST_REST_PATH_H_

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http/request.h"

namespace kvs::server {

struct RestPath {
  enum class Action {
    kKey,       // /KEY[/FORK]: GET, PUT, DELETE
    kInfo,      // /KEY[/FORK]/info
    kFork,      // /KEY/FORK/fork/TARGET
    kMerge,     // /KEY/FORK/merge/TARGET
    kListKeys,  // /keys
  };
  Action action = Action::kKey;
  std::string key;
  std::optional<std::string> fork;  // nullopt: the default branch
  std::string target;               // kFork and kMerge
};

// The route request.path_info names. 400 for an empty segment, bad
// percent-encoding, or a %2F in a path the web server changed (REQUEST_URI
// does not decode to PATH_INFO), 404 for a shape that is no route.
std::variant<RestPath, HttpError> ParseRestPath(const Request& request);

// The suffix of request_uri's path (before any '?') that percent-decodes to
// path_info, still encoded; nullopt when there is none.
std::optional<std::string> EncodedPathInfo(std::string_view request_uri,
                                           std::string_view path_info);

}  // namespace kvs::server

#endif  // KVS_FACES_REST_REST_PATH_H_
