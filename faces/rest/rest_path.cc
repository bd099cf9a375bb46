// Splitting and decoding the REST face's paths.
#include "faces/rest/rest_path.h"

#include <vector>

#include "http/form.h"

namespace kvs::server {
namespace {

HttpError NoSuchPath(std::string_view path) {
  return HttpError{404, "no such path: " + std::string(path) +
                            " (the REST face answers /KEY, /KEY/FORK, /KEY[/FORK]/info, "
                            "/KEY/FORK/fork/TARGET, /KEY/FORK/merge/TARGET and /keys)"};
}

// Whether the path of request_uri holds an encoded '/' (%2F).
bool HasEncodedSlash(std::string_view request_uri) {
  std::string_view raw = request_uri.substr(0, request_uri.find('?'));
  for (size_t at = raw.find('%'); at != std::string_view::npos; at = raw.find('%', at + 1)) {
    if (raw.substr(at + 1, 2) == "2F" || raw.substr(at + 1, 2) == "2f") return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> EncodedPathInfo(std::string_view request_uri,
                                           std::string_view path_info) {
  std::string_view raw = request_uri.substr(0, request_uri.find('?'));
  if (path_info.empty()) return std::nullopt;
  // Decode raw, remembering where in raw each decoded byte began.
  std::string decoded;
  std::vector<size_t> origin;
  for (size_t i = 0; i < raw.size();) {
    origin.push_back(i);
    if (raw[i] == '%' && i + 2 < raw.size() && HexDigitValue(raw[i + 1]) >= 0 &&
        HexDigitValue(raw[i + 2]) >= 0) {
      decoded.push_back(
          static_cast<char>(HexDigitValue(raw[i + 1]) * 16 + HexDigitValue(raw[i + 2])));
      i += 3;
    } else {
      decoded.push_back(raw[i]);
      ++i;
    }
  }
  if (!decoded.ends_with(path_info)) return std::nullopt;
  return std::string(raw.substr(origin[decoded.size() - path_info.size()]));
}

std::variant<RestPath, HttpError> ParseRestPath(const Request& request) {
  std::optional<std::string> encoded = EncodedPathInfo(request.request_uri, request.path_info);
  if (!encoded && HasEncodedSlash(request.request_uri)) {
    // The web server changed the path (merged slashes, a rewrite): split
    // as PATH_INFO, a key's %2F would cut it into a key and a fork.
    return HttpError{400,
                     "the web server changed this path, so its %2F cannot be told from '/' "
                     "(nginx needs merge_slashes off); name the key with the classic "
                     "face's ?k= instead"};
  }
  std::string_view path = encoded ? std::string_view(*encoded) : request.path_info;
  if (!path.starts_with('/')) return NoSuchPath(request.path_info);
  std::vector<std::string> segments;
  for (size_t start = 1;;) {
    size_t slash = path.find('/', start);
    std::string_view segment = path.substr(start, slash - start);
    if (segment.empty()) {
      return HttpError{400, "the path " + request.path_info +
                                " has an empty segment; keys and forks are never empty"};
    }
    if (encoded) {
      auto decoded = PercentDecode(segment, /*plus_as_space=*/false);
      if (!decoded.ok()) return HttpError{400, "the path: " + decoded.status().message()};
      segments.push_back(std::move(*decoded));
    } else {
      segments.emplace_back(segment);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }

  RestPath route;
  route.key = segments[0];
  switch (segments.size()) {
    case 1:
      if (segments[0] == "keys") route.action = RestPath::Action::kListKeys;
      return route;
    case 2:
      if (segments[1] == "info") {
        route.action = RestPath::Action::kInfo;
      } else {
        route.fork = segments[1];
      }
      return route;
    case 3:
      if (segments[2] != "info") return NoSuchPath(request.path_info);
      route.action = RestPath::Action::kInfo;
      route.fork = segments[1];
      return route;
    case 4:
      if (segments[2] == "fork") {
        route.action = RestPath::Action::kFork;
      } else if (segments[2] == "merge") {
        route.action = RestPath::Action::kMerge;
      } else {
        return NoSuchPath(request.path_info);
      }
      route.fork = segments[1];
      route.target = segments[3];
      return route;
    default:
      return NoSuchPath(request.path_info);
  }
}

}  // namespace kvs::server
