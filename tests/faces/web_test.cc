// The embedded index page and its files, on abstract requests.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

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

}  // namespace kvs::server::test
