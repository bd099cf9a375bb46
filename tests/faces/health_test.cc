// GET /_health: 200 while the store serves, 503 with the reason while a
// failed write could not be rolled back, and back to 200 once one is.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "faces/routes.h"
#include "tests/harness/service_fixture.h"
#include "tests/store/fault_env.h"

namespace kvs::server::test {
namespace {

Request HealthRequest(std::string query = "") {
  Request request = GetRequest(std::move(query));
  request.path_info = "/_health";
  return request;
}

}  // namespace

TEST_CASE("health is ok while the store serves, whatever read_access says") {
  ServiceFixture fixture(std::string(kTestSecret), Limits(), ReadAccess::kSecret);
  Response ok = Route(HealthRequest(), fixture.service());
  CHECK(ok.status == 200);
  CHECK(nlohmann::json::parse(ok.body) == nlohmann::json{{"status", "ok"}});
  CHECK(ok.headers.Get("Cache-Control") == "no-store");
  CHECK(Route(HealthRequest("verbose=1"), fixture.service()).status == 400);
}

TEST_CASE("health is 503 while a failed write stays unrolled, and recovers with the disk") {
  ServiceFixture fixture;
  kvs::test::TempDir dir;
  kvs::test::FaultEnv env(Env::Default());
  Options options;
  options.env = &env;
  Service& service = fixture.service();
  service.store = kvs::test::OpenStore(dir.path(), options);

  env.FailAfter(1, Status::Code::kNoSpace);  // the disk fills up
  CHECK(Route(PostForm("k=a&v=1&" + AuthField()), service).status == 507);
  Response full = Route(HealthRequest(), service);
  CHECK(full.status == 503);
  auto body = nlohmann::json::parse(full.body);
  CHECK(body["error"] == "unavailable");
  CHECK(body["message"].get<std::string>().find("the store cannot serve") == 0);

  env.FailAfter(0);  // space was freed: the next write rolls back and goes on
  CHECK(Route(PostForm("k=a&v=2&" + AuthField()), service).status == 200);
  CHECK(Route(HealthRequest(), service).status == 200);
}

}  // namespace kvs::server::test
