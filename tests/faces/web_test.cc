// The embedded pages (the index page, the key explorer's) and their files,
// on abstract requests.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <tuple>

#include "faces/classic/web_assets.h"
#include "faces/routes.h"
#include "tests/harness/service_fixture.h"

namespace kvs::server::test {
namespace {

std::string Header(const Response& response, std::string_view name) {
  return std::string(response.headers.Get(name).value_or("<absent>"));
}

Request StaticRequest(std::string name) {
  Request request = GetRequest("");
  request.path_info = "/_static/" + name;
  return request;
}

}  // namespace

TEST_CASE("the index page is web/index.html with a strict content security policy") {
  ServiceFixture fixture;
  Response page = Route(GetRequest(""), fixture.service());
  REQUIRE(page.status == 200);
  CHECK(Header(page, "Content-Type") == "text/html; charset=utf-8");
  CHECK_THAT(page.body, Catch::Contains("<table id=\"keys\">"));
  CHECK_THAT(page.body, Catch::Contains("src=\"_static/kvs.js\""));
  CHECK_THAT(Header(page, "Content-Security-Policy"), Catch::Contains("script-src 'self'"));
  CHECK_THAT(Header(page, "Content-Security-Policy"), Catch::Contains("default-src 'none'"));
  CHECK(Header(page, "ETag").size() == 18);  // 16 hex digits, quoted
}

TEST_CASE("every web/ file is served under _static with its type and revalidates by ETag") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  REQUIRE(WebAssets().size() >= 3);
  for (std::string name : {"kvs.js", "kvs.css"}) {
    Response file = Route(StaticRequest(name), service);
    INFO(name);
    REQUIRE(file.status == 200);
    CHECK(Header(file, "Cache-Control") == "no-cache");
    CHECK_FALSE(file.body.empty());

    Request again = StaticRequest(name);
    again.headers.Set("If-None-Match", Header(file, "ETag"));
    Response cached = Route(again, service);
    CHECK(cached.status == 304);
    CHECK(cached.body.empty());
  }
  CHECK(Header(Route(StaticRequest("kvs.js"), service), "Content-Type") ==
        "text/javascript; charset=utf-8");
  CHECK(Header(Route(StaticRequest("kvs.css"), service), "Content-Type") ==
        "text/css; charset=utf-8");
}

TEST_CASE("unknown static files are 404 and writes to them 405, in JSON as under every /_ path") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  for (std::string name : {"nope.js", "", "../auth.txt", "index.html"}) {
    Response missing = Route(StaticRequest(name), service);
    INFO(name << " -> " << missing.body);
    CHECK(missing.status == 404);
    CHECK(Header(missing, "Content-Type") == "application/json");
    CHECK(nlohmann::json::parse(missing.body)["error"] == "not_found");
  }
  Request post = StaticRequest("kvs.js");
  post.method = "POST";
  Response refused = Route(post, service);
  CHECK(refused.status == 405);
  CHECK(Header(refused, "Content-Type") == "application/json");
  CHECK(nlohmann::json::parse(refused.body)["error"] == "method_not_allowed");
}

namespace {

Request PageRequest(std::string path, std::string query = "") {
  Request request = GetRequest(std::move(query));
  request.path_info = std::move(path);
  return request;
}

}  // namespace

TEST_CASE("the explorer's pages carry the index page's policy and read their query") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  for (auto [path, query, marker] :
       {std::tuple{"/_ui/keys/a/b c", "branch=dev", "key.js"},
        std::tuple{"/_ui/keys/", "key=.hidden", "key.js"},
        std::tuple{"/_ui/branches", "from=dev&into=main", "branches.js"},
        std::tuple{"/_ui/log", "branch=main", "log.js"}}) {
    Response page = Route(PageRequest(path, query), service);
    INFO(path << "?" << query);
    REQUIRE(page.status == 200);
    CHECK(Header(page, "Content-Type") == "text/html; charset=utf-8");
    CHECK_THAT(page.body, Catch::Contains(marker));
    CHECK_THAT(Header(page, "Content-Security-Policy"), Catch::Contains("script-src 'self'"));
    CHECK(Header(page, "Referrer-Policy") == "no-referrer");
  }
}

TEST_CASE("the key page needs one valid key, and pages are never served as static files") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  CHECK(Route(PageRequest("/_ui/keys/a", "key=a"), service).status == 400);
  CHECK(Route(PageRequest("/_ui/keys/"), service).status == 404);
  CHECK(Route(PageRequest("/_ui/keys"), service).status == 404);
  CHECK(Route(PageRequest("/_ui/keys/_reserved"), service).status == 400);
  CHECK(Route(PageRequest("/_ui/keys/a\xff"), service).status == 400);
  CHECK(Route(PageRequest("/_ui/keys/a", "k=a"), service).status == 400);
  CHECK(Route(PageRequest("/_ui/log", "branch=a&branch=b"), service).status == 400);
  CHECK(Route(PageRequest("/_ui/nothing"), service).status == 404);
  for (std::string page : {"index.html", "key.html", "branches.html", "log.html"}) {
    INFO(page);
    CHECK(Route(StaticRequest(page), service).status == 404);
  }
}

}  // namespace kvs::server::test
