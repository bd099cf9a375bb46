// POST /_create on abstract requests: parents as named (new tails, forks,
// merges), the raw body as the value, the bearer-only secret, branches,
// limits and every refusal.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "faces/routes.h"
#include "http/form.h"
#include "tests/harness/service_fixture.h"

namespace kvs::server::test {
namespace {

// POST /_create with the query, the body, and the test secret as a bearer
// token.
Request CreateRequest(std::string query, std::string body,
                      std::string content_type = "application/octet-stream") {
  Request request = PostRequest(std::move(content_type), std::move(body), std::move(query));
  request.path_info = "/_create";
  request.headers.Set("Authorization", std::string("Bearer ") + kTestSecret);
  return request;
}

// Creates a version and returns the answer's JSON; requires a 201.
nlohmann::json MustCreate(Service& service, const std::string& query, const std::string& body) {
  Response response = Route(CreateRequest(query, body), service);
  INFO(query << " -> " << response.body);
  REQUIRE(response.status == 201);
  CHECK(response.headers.Get("Content-Type") == "application/json");
  return nlohmann::json::parse(response.body);
}

std::vector<std::string> HeadIds(Service& service, const std::string& key,
                                 const std::string& branch = "main") {
  auto state = service.store->Get(branch, key);
  REQUIRE(state.ok());
  std::vector<std::string> ids;
  for (const Version& head : state->heads) ids.push_back(head.id.Hex());
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> Sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

uint64_t StoreRevision(Service& service) {
  auto revision = service.store->Revision();
  REQUIRE(revision.ok());
  return *revision;
}

}  // namespace

TEST_CASE("create answers 201 with the new version's metadata, commit and Location") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Response response = Route(CreateRequest("key=blorp", "beep boop\n"), service);
  INFO(response.body);
  REQUIRE(response.status == 201);
  auto json = nlohmann::json::parse(response.body);
  auto stored = service.store->GetVersion(*Hash::FromHex(json["id"].get<std::string>()), true);
  REQUIRE(stored.ok());
  CHECK(stored->value == "beep boop\n");
  CHECK(json["key"] == "blorp");
  CHECK(json["parents"].empty());
  CHECK(json["size"] == 10);
  CHECK(json["deleted"] == false);
  CHECK(json["revision"] == 1);
  CHECK(json["replica"] == service.store->replica_id().Hex());
  CHECK(json["branch"] == "main");
  CHECK(json["commit"].get<std::string>().size() == 64);
  CHECK_THAT(json["time"].get<std::string>(), Catch::EndsWith("Z"));
  CHECK(response.headers.Get("Location") == "_versions/" + json["id"].get<std::string>());
}

TEST_CASE("forkdb's sequence: an edit, a conflicting edit of the same parent, their merge") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  std::string base = MustCreate(service, "key=blorp", "beep boop\n")["id"];
  CHECK(HeadIds(service, "blorp") == std::vector<std::string>{base});

  std::string upper = MustCreate(service, "key=blorp&prev=" + base, "BEEP BOOP\n")["id"];
  CHECK(HeadIds(service, "blorp") == std::vector<std::string>{upper});

  // Named by an 8-digit prefix, in upper case: the same parent.
  std::string prefix = base.substr(0, 8);
  std::transform(prefix.begin(), prefix.end(), prefix.begin(), ::toupper);
  nlohmann::json mixed = MustCreate(service, "key=blorp&prev=" + prefix, "BeEp BoOp\n");
  CHECK(mixed["parents"] == nlohmann::json::array({base}));
  CHECK(HeadIds(service, "blorp") == Sorted({upper, mixed["id"]}));

  nlohmann::json merge =
      MustCreate(service, "key=blorp&prev=" + upper + "&prev=" + mixed["id"].get<std::string>(),
                 "BEEPITY BOOPITY\n");
  CHECK(merge["parents"] == nlohmann::json::array({upper, mixed["id"]}));
  CHECK(HeadIds(service, "blorp") == std::vector<std::string>{merge["id"]});
}

TEST_CASE("a create without prev is a new tail beside the key's current heads") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  std::string first = MustCreate(service, "key=k", "one")["id"];
  std::string second = MustCreate(service, "key=k", "two")["id"];
  CHECK(HeadIds(service, "k") == Sorted({first, second}));
  auto tails = service.store->Tails("k");
  REQUIRE(tails.ok());
  CHECK(tails->size() == 2);
}

TEST_CASE("the body is the value byte for byte, whatever its Content-Type") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  for (const char* type : {"application/x-www-form-urlencoded", "text/plain", ""}) {
    Response response = Route(CreateRequest("key=bytes", AllBytes() + "a=b&auth=x", type), service);
    INFO(type << ": " << response.body);
    REQUIRE(response.status == 201);
    auto id = Hash::FromHex(nlohmann::json::parse(response.body)["id"].get<std::string>());
    CHECK(service.store->GetVersion(*id, true)->value == AllBytes() + "a=b&auth=x");
  }
  CHECK(MustCreate(service, "key=empty", "")["size"] == 0);
}

TEST_CASE("create writes on the branch named, and only there") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  REQUIRE(service.store->CreateBranch("draft", "main").ok());
  nlohmann::json created = MustCreate(service, "key=k&branch=draft", "v");
  CHECK(created["branch"] == "draft");
  CHECK(HeadIds(service, "k", "draft") == std::vector<std::string>{created["id"]});
  CHECK(service.store->Get("main", "k").status().IsNotFound());

  Response unknown = Route(CreateRequest("key=k&branch=nope", "v"), service);
  CHECK(unknown.status == 404);
  CHECK_THAT(unknown.body, Catch::Contains("branch 'nope' does not exist"));
}

TEST_CASE("create takes the secret as a bearer token only") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Request without = CreateRequest("key=k", "v");
  without.headers.Set("Authorization", "");
  Response missing = Route(without, service);
  CHECK(missing.status == 403);
  CHECK_THAT(missing.body, Catch::Contains("Authorization: Bearer SECRET"));

  Request wrong = CreateRequest("key=k", "v");
  wrong.headers.Set("Authorization", "Bearer wrong");
  CHECK(Route(wrong, service).status == 403);

  // Even the right secret is refused in the URL, which access logs keep.
  Request in_query = CreateRequest("key=k&" + AuthField(), "v");
  in_query.headers.Set("Authorization", "");
  Response query = Route(in_query, service);
  CHECK(query.status == 400);
  CHECK_THAT(query.body, Catch::Contains("cannot come in the URL"));
  CHECK(StoreRevision(service) == 0);

  ServiceFixture no_secret(std::nullopt);
  Response disabled = Route(CreateRequest("key=k", "v"), no_secret.service());
  CHECK(disabled.status == 403);
  CHECK_THAT(disabled.body, Catch::Contains("no secret configured"));
}

TEST_CASE("create writes a delete with deleted=true, and JSON with json=true") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  std::string base = MustCreate(service, "key=k", "v")["id"];
  std::string kept = MustCreate(service, "key=k&prev=" + base, "w")["id"];
  // A fork whose one side deletes the key, resolved by a delete naming both.
  nlohmann::json gone = MustCreate(service, "key=k&prev=" + base + "&deleted=true", "");
  CHECK(gone["deleted"] == true);
  CHECK(gone["size"] == 0);
  CHECK(HeadIds(service, "k").size() == 2);
  nlohmann::json resolved = MustCreate(
      service, "key=k&prev=" + kept + "&prev=" + gone["id"].get<std::string>() + "&deleted=true",
      "");
  CHECK(HeadIds(service, "k") == std::vector<std::string>{resolved["id"]});
  auto state = service.store->Get("main", "k");
  REQUIRE(state.ok());
  CHECK(state->winner.deleted);

  nlohmann::json doc = MustCreate(service, "key=doc&json=true", R"({"a":[1,2]})");
  CHECK(doc["json"] == true);
  auto version =
      service.store->GetVersion(VersionId::FromHex(doc["id"].get<std::string>()).value(), true);
  REQUIRE(version.ok());
  CHECK(version->json);
  CHECK(version->value == R"({"a":[1,2]})");
}

TEST_CASE("bad creates are refused with a message and write nothing") {
  Limits limits;
  limits.max_key_bytes = 10;
  limits.max_value_bytes = 100;
  ServiceFixture fixture(std::string(kTestSecret), limits);
  Service& service = fixture.service();
  std::string base = MustCreate(service, "key=k", "v")["id"];
  std::string other = MustCreate(service, "key=other", "v")["id"];
  const uint64_t revision = StoreRevision(service);

  struct Case {
    std::string query;
    std::string body;
    int status;
    std::string message;
  };
  std::vector<Case> cases = {
      {"", "v", 400, "name the key"},
      {"key=", "v", 400, "empty key"},
      {"key=_system", "v", 400, "reserved"},
      {"key=%FF", "v", 400, "UTF-8"},
      {"key=a%00b", "v", 400, "NUL"},
      {"key=elevenbytes", "v", 400, "max_key_bytes"},
      {"key=k&key=j", "v", 400, "'key' is given twice"},
      {"key=k&value=v", "v", 400, "unknown parameter 'value'"},
      {"key=k&format=text", "v", 400, "format must be json"},
      {"key=%zz", "v", 400, "bad percent-encoding"},
      {"key=k", std::string(101, 'v'), 413, "max_value_bytes"},
      {"key=k&prev=zz", "v", 400, "'zz' is not a version id"},
      {"key=k&prev=" + base.substr(0, 7), "v", 400, "8 to 64 hex digits"},
      {"key=k&prev=" + base + "0", "v", 400, "8 to 64 hex digits"},
      {"key=k&prev=", "v", 400, "is not a version id"},
      {"key=k&prev=0123456789abcdef", "v", 404, "prev: no version id starts with 0123456789abcdef"},
      {"key=k&prev=" + base + "&prev=" + base.substr(0, 10), "v", 400, "twice"},
      {"key=k&prev=" + other, "v", 400, "belongs to key 'other'"},
      {"key=k&branch=bad%20name!", "v", 400, "branch"},
      {"key=k&prev=" + base + "&deleted=true", "v", 400, "empty body"},
      {"key=k&prev=" + base + "&deleted=true&json=true", "", 400, "without json=true"},
      {"key=k&deleted=maybe", "", 400, "deleted"},
      {"key=k&json=true", "{\"a\":", 400, "not valid JSON"},
  };
  for (const Case& c : cases) {
    Response response = Route(CreateRequest(c.query, c.body), service);
    INFO(c.query << " -> " << response.body);
    CHECK(response.status == c.status);
    CHECK(response.headers.Get("Content-Type") == "application/json");
    auto json = nlohmann::json::parse(response.body);
    CHECK_THAT(json["message"].get<std::string>(), Catch::Contains(c.message));
  }
  CHECK(StoreRevision(service) == revision);
}

TEST_CASE("create is POST only") {
  ServiceFixture fixture;
  Request get = CreateRequest("key=k", "");
  get.method = "GET";
  Response response = Route(get, fixture.service());
  CHECK(response.status == 405);
  CHECK(response.headers.Get("Allow") == "POST");
  CHECK(nlohmann::json::parse(response.body)["error"] == "method_not_allowed");
}

}  // namespace kvs::server::test
