// The cluster face's routes on a single-node cluster, without a web server;
// and the same paths on a server that is no node of a cluster, where they
// stay the REST face's. Real clusters: tests/integration/cluster_nginx_test.cc.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "faces/routes.h"
#include "tests/harness/service_fixture.h"

namespace kvs::server::test {
namespace {

using Json = nlohmann::json;

Request ClusterRequest(std::string method, std::string path, std::string body = "") {
  Request request;
  request.method = std::move(method);
  request.path_info = std::move(path);
  request.body = std::move(body);
  request.headers.Set("Authorization", std::string("Bearer ") + kTestSecret);
  return request;
}

std::unique_ptr<Service> SingleNode(const kvs::test::TempDir& dir) {
  std::ofstream(dir.Sub("auth.txt")) << kTestSecret << "\n";
  auto config = config::ParseConfig(
      "data_dir: store\nauth_file: auth.txt\nsync: none\n"
      "cluster:\n  self: 127.0.0.1:9\n  view: 127.0.0.1:9\n  repl_factor: 1\n",
      dir.Sub("kvs.yaml"));
  REQUIRE(config.ok());
  auto service = StartService(*config);
  INFO(service.status().ToString());
  REQUIRE(service.ok());
  return std::move(service).value();
}

TEST_CASE("a single node serves the whole cluster API itself") {
  kvs::test::TempDir dir;
  auto service = SingleNode(dir);
  Response added = Route(ClusterRequest("PUT", "/kv-store/keys/a", R"({"value": "1"})"), *service);
  CHECK(added.status == 201);
  const Json context = Json::parse(added.body)["causal-context"];
  CHECK(context == Json{{"127.0.0.1:9", 1}});
  Response read =
      Route(ClusterRequest("GET", "/kv-store/keys/a", Json{{"causal-context", context}}.dump()),
            *service);
  CHECK(read.status == 200);
  CHECK(Json::parse(read.body)["value"] == "1");
  // A context from a store this node never was (a revision it never had).
  Response ahead =
      Route(ClusterRequest("GET", "/kv-store/keys/a", R"({"causal-context": {"127.0.0.1:9": 99}})"),
            *service);
  CHECK(ahead.status == 503);
  CHECK(ahead.headers.Get("Retry-After") == "1");
  CHECK(Route(ClusterRequest("GET", "/kv-store/keys/"), *service).status == 400);
  CHECK(Route(ClusterRequest("GET", "/kv-store/keys"), *service).status == 400);
  CHECK(Route(ClusterRequest("GET", "/kv-store/nothing"), *service).status == 404);
  CHECK(Route(ClusterRequest("POST", "/kv-store/keys/a"), *service).status == 405);
  Response count = Route(ClusterRequest("GET", "/kv-store/key-count"), *service);
  CHECK(Json::parse(count.body)["key-count"] == 1);
  CHECK(Route(ClusterRequest("DELETE", "/kv-store/keys/a"), *service).status == 200);
  count = Route(ClusterRequest("GET", "/kv-store/key-count"), *service);
  CHECK(Json::parse(count.body)["key-count"] == 0);
  // The key is the default branch's, with its history, on the other faces.
  Response heads = Route(ClusterRequest("GET", "/_heads/a"), *service);
  CHECK(Json::parse(heads.body)["heads"][0]["deleted"] == true);
}

TEST_CASE("without a cluster section, /kv-store/... is a REST path like any other") {
  ServiceFixture fixture;
  Response written = Route(ClusterRequest("PUT", "/kv-store", "a value"), fixture.service());
  CHECK(written.status / 100 == 2);
  Response read = Route(ClusterRequest("GET", "/kv-store"), fixture.service());
  CHECK(read.status == 200);
  CHECK(read.body.find("a value") != std::string::npos);
  Response other = Route(ClusterRequest("GET", "/kv-store/key-count"), fixture.service());
  CHECK(other.body.find("causal-context") == std::string::npos);
  CHECK(other.body.find("Key count") == std::string::npos);
}

}  // namespace
}  // namespace kvs::server::test
