// Fuzz target: the parsers of a request's URL: the REST face's paths
// (faces/rest/rest_path.h), the one query parser and its typed values
// (http/query.h) as the REST face and the version-graph endpoints use them
// (faces/rest/rest_args.h, faces/history/graph_args.h), and the format a
// query asks for (http/request.h). The parsers of /_keys' and the classic
// face's queries are reached through the handlers, by fuzz_route.
//
// Input: REQUEST_URI (path and query, still percent-encoded), a newline,
// then PATH_INFO as the web server decoded it. The seeds in
// fuzz/corpus/url/ are URLs of every face.
#include <cstdint>
#include <string_view>

#include "faces/history/graph_args.h"
#include "faces/rest/rest_args.h"
#include "faces/rest/rest_path.h"
#include "fuzz/first_line.h"
#include "http/query.h"
#include "http/request.h"

namespace kvs::server {
namespace {

void FuzzUrl(std::string_view input) {
  auto [request_uri, path_info] = fuzz::SplitFirstLine(input);
  Request request;
  request.method = "GET";
  request.request_uri = request_uri;
  request.path_info = path_info;
  size_t question = request_uri.find('?');
  if (question != std::string_view::npos) {
    request.query_string = request_uri.substr(question + 1);
  }

  (void)ParseRestPath(request);
  (void)RequestedFormat(request);
  (void)CheckForkName(request.path_info);
  (void)ReadPointValue(request.query_string);
  (void)ParseQuery(request.query_string,
                   {.once = {"branch", "from", "to", "into", "before"}, .repeatable = {"k", "id"}});
  (void)ParseRestQuery(
      request.query_string,
      {"revisions", "patch", "at", "strategy", "prefix", "fork", "limit", "after", "delimiter"},
      Access::kRead);
  (void)ParseGraphQuery(request.query_string,
                        {.names = {"key", "branch", "id", "prev", "gt", "lt", "limit"},
                         .max_limit = 1000,
                         .text = true});

  constexpr std::string_view kEndpoint = "/_heads";
  std::optional<std::string> argument;
  if (request.path_info == kEndpoint || request.path_info.starts_with("/_heads/")) {
    argument = PathArgument(request.path_info, kEndpoint);
  }
  (void)KeyArgument(argument, request.query_string, kEndpoint, config::Limits());
}

}  // namespace
}  // namespace kvs::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kvs::server::FuzzUrl(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
