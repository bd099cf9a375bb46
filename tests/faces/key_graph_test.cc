// GET /_graph/KEY on abstract requests: a key's versions newest first across
// all its heads, a page at a time, and every refusal.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "faces/routes.h"
#include "tests/harness/service_fixture.h"

namespace kvs::server::test {
namespace {

Response GetGraph(Service& service, std::string path, std::string query = "") {
  Request request = GetRequest(std::move(query));
  request.path_info = std::move(path);
  return Route(request, service);
}

nlohmann::json MustGetGraph(Service& service, std::string path, std::string query = "") {
  Response response = GetGraph(service, path, query);
  INFO(path << "?" << query << " -> " << response.body);
  REQUIRE(response.status == 200);
  return nlohmann::json::parse(response.body);
}

VersionId Create(Service& service, const std::string& key, std::vector<VersionId> parents,
                 const std::string& branch = "main") {
  WriteBatch batch;
  batch.branch = branch;
  batch.writes.push_back({key, "v", std::move(parents), std::nullopt, std::nullopt});
  auto written = service.store->Write(batch);
  REQUIRE(written.ok());
  return written->versions[0];
}

std::vector<std::string> Ids(const nlohmann::json& versions) {
  std::vector<std::string> ids;
  for (const auto& version : versions) ids.push_back(version.is_string() ? version : version["id"]);
  return ids;
}

std::string IdQuery(const nlohmann::json& ids) {
  std::string query;
  for (const auto& id : ids) query += "&id=" + id.get<std::string>();
  return query;
}

}  // namespace

TEST_CASE("a key's graph lists every head's past newest first, each version once") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  VersionId base = Create(service, "blorp", {});
  VersionId upper = Create(service, "blorp", {base});
  VersionId mixed = Create(service, "blorp", {base});
  Create(service, "other", {});

  nlohmann::json forked = MustGetGraph(service, "/_graph/blorp");
  CHECK(forked["key"] == "blorp");
  CHECK(forked["branch"] == "main");
  CHECK(forked["conflict"] == true);
  CHECK(Ids(forked["heads"]) == std::vector<std::string>{mixed.Hex(), upper.Hex()});
  CHECK(Ids(forked["versions"]) == std::vector<std::string>{mixed.Hex(), upper.Hex(), base.Hex()});
  CHECK(forked["next"].empty());

  VersionId merge = Create(service, "blorp", {upper, mixed});
  nlohmann::json merged = MustGetGraph(service, "/_graph", "key=blorp");
  CHECK(merged["conflict"] == false);
  CHECK(Ids(merged["versions"]) ==
        std::vector<std::string>{merge.Hex(), mixed.Hex(), upper.Hex(), base.Hex()});
}

TEST_CASE("a key's graph pages by next until every version was shown once") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  // Two long sides of a fork, and a merge of them.
  VersionId base = Create(service, "k", {});
  VersionId left = base, right = base;
  for (int i = 0; i < 20; ++i) {
    left = Create(service, "k", {left});
    right = Create(service, "k", {right});
  }
  Create(service, "k", {left, right});

  std::vector<std::string> seen;
  nlohmann::json page = MustGetGraph(service, "/_graph/k", "limit=7");
  int pages = 1;
  for (;;) {
    REQUIRE(page["versions"].size() <= 7);
    for (const std::string& id : Ids(page["versions"])) seen.push_back(id);
    if (page["next"].empty()) break;
    page = MustGetGraph(service, "/_graph/k", "limit=7" + IdQuery(page["next"]));
    ++pages;
  }
  CHECK(pages == 6);  // 42 versions, 7 a page
  CHECK(seen.size() == 42);
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 42);
  CHECK(seen.back() == base.Hex());
}

TEST_CASE("a key's graph refuses what does not name its versions") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  VersionId k = Create(service, "k", {});
  VersionId other = Create(service, "other", {});

  CHECK(GetGraph(service, "/_graph/k", "branch=nope").status == 404);
  CHECK(GetGraph(service, "/_graph/k", "id=" + other.Hex()).status == 400);
  CHECK_THAT(GetGraph(service, "/_graph/k", "id=" + other.Hex()).body,
             Catch::Contains("another key"));
  CHECK(GetGraph(service, "/_graph/k", "id=00000000").status == 404);
  CHECK(GetGraph(service, "/_graph/k", "limit=0").status == 400);
  CHECK(GetGraph(service, "/_graph/k", "limit=1001").status == 400);
  CHECK(GetGraph(service, "/_graph/k", "since=1").status == 400);
  CHECK(GetGraph(service, "/_graph/k", "key=k").status == 400);  // named twice
  CHECK(GetGraph(service, "/_graph").status == 400);             // named by neither
  CHECK(GetGraph(service, "/_graph/_system").status == 400);
  std::string many;
  for (int i = 0; i < 101; ++i) many += "&id=" + k.Hex();
  CHECK(GetGraph(service, "/_graph/k", many.substr(1)).status == 400);
  // A key with no version on the branch has an empty graph.
  nlohmann::json none = MustGetGraph(service, "/_graph/nothing");
  CHECK(none["versions"].empty());
  CHECK(none["heads"].empty());
  CHECK(none["next"].empty());
}

TEST_CASE("a key's graph needs the secret when reads do") {
  ServiceFixture fixture(std::string(kTestSecret), Limits(), ReadAccess::kSecret);
  Service& service = fixture.service();
  Create(service, "k", {});
  CHECK(GetGraph(service, "/_graph/k").status == 403);
  Request request = GetRequest("");
  request.path_info = "/_graph/k";
  request.headers.Set("Authorization", std::string("Bearer ") + kTestSecret);
  CHECK(Route(request, service).status == 200);
}

}  // namespace kvs::server::test
