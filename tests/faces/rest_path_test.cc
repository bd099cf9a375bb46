// The REST face's paths: segments cut from the still-encoded REQUEST_URI,
// so that a key's %2F stays part of the key.
#include "faces/rest/rest_path.h"

#include <catch2/catch.hpp>

namespace kvs::server::test {
namespace {

std::variant<RestPath, HttpError> Parse(std::string path_info, std::string request_uri) {
  Request request;
  request.path_info = std::move(path_info);
  request.request_uri = std::move(request_uri);
  return ParseRestPath(request);
}

}  // namespace

TEST_CASE("a key's %2F stays in the key; the next '/' starts the fork") {
  auto parsed = Parse("/a//b/dev", "/kvs/a%2F%2Fb/dev?x=1");
  REQUIRE(std::holds_alternative<RestPath>(parsed));
  CHECK(std::get<RestPath>(parsed).key == "a//b");
  CHECK(std::get<RestPath>(parsed).fork == "dev");
}

TEST_CASE("a %2F in a path the web server changed is refused, never split into key and fork") {
  // nginx with merge_slashes on: "/a%2F%2Fb" arrives as PATH_INFO "/a/b".
  auto merged = Parse("/a/b", "/a%2F%2Fb");
  REQUIRE(std::holds_alternative<HttpError>(merged));
  CHECK(std::get<HttpError>(merged).status == 400);
  // Without a %2F the path means what PATH_INFO says.
  auto rewritten = Parse("/a/b", "/rewritten");
  REQUIRE(std::holds_alternative<RestPath>(rewritten));
  CHECK(std::get<RestPath>(rewritten).fork == "b");
}

}  // namespace kvs::server::test
