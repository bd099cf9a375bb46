// GET /_keys on abstract requests: paging, ranges, prefixes, value previews,
// read access and every refusal.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/json_value.h"
#include "faces/routes.h"
#include "tests/harness/service_fixture.h"

namespace kvs::server::test {
namespace {

Request KeysRequest(std::string query) {
  Request request = GetRequest(std::move(query));
  request.path_info = "/_keys";
  return request;
}

// The listing's JSON; requires a 200.
nlohmann::json Listing(Service& service, std::string query) {
  Response response = Route(KeysRequest(std::move(query)), service);
  INFO(response.body);
  REQUIRE(response.status == 200);
  CHECK(response.headers.Get("Content-Type") == "application/json");
  return nlohmann::json::parse(response.body);
}

std::vector<std::string> KeyNames(const nlohmann::json& listing) {
  std::vector<std::string> names;
  for (const auto& entry : listing["keys"]) names.push_back(entry["key"]);
  return names;
}

void Put(Service& service, std::vector<std::pair<std::string, std::string>> pairs) {
  WriteBatch batch;
  batch.branch = service.config.default_branch;
  for (auto& [key, value] : pairs) batch.Put(key, value);
  auto written = service.store->Write(batch);
  REQUIRE(written.ok());
}

}  // namespace

TEST_CASE("an empty store lists no keys and the server's time") {
  ServiceFixture fixture;
  nlohmann::json listing = Listing(fixture.service(), "");
  CHECK(listing["keys"].empty());
  CHECK(listing["more"] == false);
  CHECK_THAT(listing["now"].get<std::string>(),
             Catch::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"));
}

TEST_CASE("keys list in byte order with their state, without values unless asked") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Put(service, {{"b", "two"}, {"a", "one"}});
  Put(service, {{"c", "three"}});

  nlohmann::json listing = Listing(service, "");
  CHECK(KeyNames(listing) == std::vector<std::string>{"a", "b", "c"});
  const nlohmann::json& c = listing["keys"][2];
  auto state = service.store->Get("main", "c");
  REQUIRE(state.ok());
  CHECK(c["version"] == state->winner.id.Hex());
  CHECK(c["revision"] == 2);
  CHECK(c["size"] == 5);
  CHECK(c["conflict"] == false);
  CHECK_FALSE(c.contains("value"));
  CHECK_THAT(c["updated"].get<std::string>(), Catch::EndsWith("Z"));

  nlohmann::json with_values = Listing(service, "values=100");
  CHECK(with_values["keys"][0]["value"] == "one");
  CHECK(with_values["keys"][0]["truncated"] == false);
}

TEST_CASE("pages follow each other with gt and say when there are more") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 25; ++i) {
    char key[8];
    std::snprintf(key, sizeof key, "k%02d", i);
    pairs.emplace_back(key, "v");
  }
  Put(service, pairs);

  nlohmann::json first = Listing(service, "limit=10");
  CHECK(first["keys"].size() == 10);
  CHECK(first["more"] == true);
  CHECK(first["keys"][9]["key"] == "k09");
  nlohmann::json second = Listing(service, "limit=10&gt=k09");
  CHECK(second["keys"][0]["key"] == "k10");
  CHECK(second["more"] == true);
  nlohmann::json last = Listing(service, "limit=10&gt=k19");
  CHECK(KeyNames(last) == std::vector<std::string>{"k20", "k21", "k22", "k23", "k24"});
  CHECK(last["more"] == false);

  nlohmann::json exact = Listing(service, "limit=5&gt=k19");
  CHECK(exact["keys"].size() == 5);
  CHECK(exact["more"] == false);

  CHECK(Listing(service, "")["keys"].size() == 25);  // the default page is 50
}

TEST_CASE("prefix and lt narrow the listing; deleted keys are left out") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Put(service,
      {{"user/ann", "1"}, {"user/bob", "2"}, {"user/cy", "3"}, {"users", "4"}, {"zed", "5"}});
  CHECK(KeyNames(Listing(service, "prefix=user%2F")) ==
        std::vector<std::string>{"user/ann", "user/bob", "user/cy"});
  nlohmann::json below = Listing(service, "prefix=user%2F&lt=user%2Fc&limit=1");
  CHECK(KeyNames(below) == std::vector<std::string>{"user/ann"});
  CHECK(below["more"] == true);
  nlohmann::json below_all = Listing(service, "prefix=user%2F&lt=user%2Fc");
  CHECK(KeyNames(below_all) == std::vector<std::string>{"user/ann", "user/bob"});
  CHECK(below_all["more"] == false);

  WriteBatch batch;
  batch.Delete("users");
  REQUIRE(service.store->Write(batch).ok());
  CHECK(KeyNames(Listing(service, "gt=user%2Fcy")) == std::vector<std::string>{"zed"});
}

TEST_CASE("with a delimiter, keys list as folders: direct children and sub-prefixes") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Put(service, {{"a/1", "x"},
                {"a/b/1", "x"},
                {"a/b/2", "x"},
                {"a/b/c/1", "x"},
                {"a/c/1", "x"},
                {"a/d", "x"},
                {"b", "x"}});
  nlohmann::json top = Listing(service, "delimiter=%2F");
  CHECK(KeyNames(top) == std::vector<std::string>{"b"});
  CHECK(top["prefixes"] == nlohmann::json::array({"a/"}));
  nlohmann::json a = Listing(service, "prefix=a%2F&delimiter=%2F");
  CHECK(KeyNames(a) == std::vector<std::string>{"a/1", "a/d"});
  CHECK(a["prefixes"] == nlohmann::json::array({"a/b/", "a/c/"}));
  CHECK(a["more"] == false);
  // Pages count keys and prefixes together; a prefix as gt continues past its keys.
  nlohmann::json first = Listing(service, "prefix=a%2F&delimiter=%2F&limit=2");
  CHECK(KeyNames(first) == std::vector<std::string>{"a/1"});
  CHECK(first["prefixes"] == nlohmann::json::array({"a/b/"}));
  CHECK(first["more"] == true);
  nlohmann::json second = Listing(service, "prefix=a%2F&delimiter=%2F&limit=2&gt=a%2Fb%2F");
  CHECK(KeyNames(second) == std::vector<std::string>{"a/d"});
  CHECK(second["prefixes"] == nlohmann::json::array({"a/c/"}));
  CHECK(second["more"] == false);
  CHECK_FALSE(Listing(service, "prefix=a%2F").contains("prefixes"));
}

TEST_CASE("value previews are cut at a character boundary and binary values come as base64") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Put(service, {{"snow", "a☃b"}, {"bytes", AllBytes()}, {"html", "<script>x</script>"}});

  nlohmann::json listing = Listing(service, "values=2");
  const nlohmann::json& bytes = listing["keys"][0];
  CHECK(bytes["key"] == "bytes");
  CHECK(bytes["encoding"] == "base64");
  CHECK(bytes["value"] == common::Base64Encode(AllBytes().substr(0, 2)));
  CHECK(bytes["truncated"] == true);
  CHECK(bytes["size"] == 256);
  CHECK(listing["keys"][1]["value"] == "<s");
  // "☃" is 3 bytes: a 2-byte preview stops before it rather than inside it.
  const nlohmann::json& snow = listing["keys"][2];
  CHECK(snow["value"] == "a");
  CHECK(snow["truncated"] == true);
  CHECK_FALSE(snow.contains("encoding"));
  CHECK(Listing(service, "values=4")["keys"][2]["value"] == "a☃");
  CHECK(Listing(service, "values=5")["keys"][2]["truncated"] == false);
}

TEST_CASE("bad listing parameters are a 400 that names them") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  struct Case {
    const char* query;
    const char* message;
  };
  for (const Case& c :
       {Case{"limit=0", "limit must be a number from 1 to 1000"},
        Case{"limit=1001", "limit must be"}, Case{"limit=ten", "not 'ten'"},
        Case{"limit=-1", "limit must be"}, Case{"values=x", "values must be"},
        Case{"values=1000000", "values must be"}, Case{"limt=5", "unknown parameter 'limt'"},
        Case{"prefix=%zz", "query string"},
        Case{"prefix=a&prefix=b", "parameter 'prefix' is given twice"},
        Case{"limit=5&limit=6", "parameter 'limit' is given twice"},
        Case{"format=json&format=json", "parameter 'format' is given twice"},
        Case{"format=xml", "format must be json, not 'xml'"},
        Case{"gt=b&lt=a", "gt 'b' is not below lt 'a': no key can be in that range"},
        Case{"gt=a&lt=a", "is not below lt"}, Case{"lt=", "is not below lt"}}) {
    Response response = Route(KeysRequest(c.query), service);
    INFO(c.query << " -> " << response.body);
    CHECK(response.status == 400);
    CHECK_THAT(response.body, Catch::Contains(c.message));
    CHECK(nlohmann::json::parse(response.body)["error"] == "bad_request");
  }
  Response unknown_branch = Route(KeysRequest("branch=nope"), service);
  CHECK(unknown_branch.status == 404);

  Request post = KeysRequest("");
  post.method = "POST";
  Response refused = Route(post, service);
  CHECK(refused.status == 405);
  CHECK(refused.headers.Get("Allow") == "GET, HEAD");
}

TEST_CASE("with read_access: secret, listing needs the secret") {
  ServiceFixture fixture(std::string(kTestSecret), Limits(), ReadAccess::kSecret);
  Service& service = fixture.service();
  Put(service, {{"private", "x"}});
  CHECK(Route(KeysRequest(""), service).status == 403);
  CHECK(Route(KeysRequest("auth=wrong"), service).status == 403);

  Request with_bearer = KeysRequest("");
  with_bearer.headers.Set("Authorization", std::string("Bearer ") + kTestSecret);
  Response allowed = Route(with_bearer, service);
  CHECK(allowed.status == 200);
  CHECK(KeyNames(nlohmann::json::parse(allowed.body)) == std::vector<std::string>{"private"});
}

}  // namespace kvs::server::test
