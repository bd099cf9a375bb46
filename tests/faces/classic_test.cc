// The classic face's handlers on abstract requests, without a web server:
// reads, multi-key reads, writes, auth, limits and every refusal.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "faces/routes.h"
#include "http/form.h"
#include "tests/harness/service_fixture.h"

namespace kvs::server::test {
namespace {

using kvs::test::ValueOf;

std::string Header(const Response& response, std::string_view name) {
  return std::string(response.headers.Get(name).value_or("<absent>"));
}

// Posts the form and requires a 200.
Response MustPost(Service& service, const std::string& body) {
  Response response = Route(PostForm(body), service);
  INFO(response.body);
  REQUIRE(response.status == 200);
  return response;
}

std::string Value(Service& service, const std::string& key) {
  return ValueOf(service.store.get(), key, service.config.default_branch);
}

}  // namespace

TEST_CASE("a written key reads back with its version headers") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Response posted = MustPost(service, AuthField() + "&greeting=hello+world");
  CHECK(posted.body == "revision 1\ngreeting\n");

  Response read = Route(GetRequest("k=greeting"), service);
  REQUIRE(read.status == 200);
  CHECK(read.body == "hello world");
  CHECK(Header(read, "Content-Type") == "text/plain; charset=utf-8");
  CHECK(Header(read, "X-Kvs-Revision") == "1");
  CHECK(Header(read, "X-Kvs-Key") == "greeting");
  auto state = service.store->Get("main", "greeting");
  REQUIRE(state.ok());
  CHECK(Header(read, "ETag") == "\"" + state->winner.id.Hex() + "\"");
  CHECK_THAT(Header(read, "Last-Modified"), Catch::Matches("[A-Z][a-z]{2}, \\d\\d [A-Z][a-z]{2} "
                                                           "\\d{4} \\d\\d:\\d\\d:\\d\\d GMT"));
}

TEST_CASE("a missing or deleted key is 404 with a message") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Response missing = Route(GetRequest("k=nothing"), service);
  CHECK(missing.status == 404);
  CHECK(missing.body == "key 'nothing' does not exist\n");

  MustPost(service, AuthField() + "&gone=1");
  WriteBatch batch;
  batch.Delete("gone");
  REQUIRE(service.store->Write(batch).ok());
  CHECK(Route(GetRequest("k=gone"), service).status == 404);
}

TEST_CASE("If-None-Match with the current ETag gives 304 without a body") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  MustPost(service, AuthField() + "&k=v1");
  std::string etag = Header(Route(GetRequest("k=k"), service), "ETag");

  for (std::string header : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    Request request = GetRequest("k=k");
    request.headers.Set("If-None-Match", header);
    Response response = Route(request, service);
    INFO(header);
    CHECK(response.status == 304);
    CHECK(response.body.empty());
    CHECK(Header(response, "ETag") == etag);
  }

  MustPost(service, AuthField() + "&k=v2");
  Request stale = GetRequest("k=k");
  stale.headers.Set("If-None-Match", etag);
  Response changed = Route(stale, service);
  CHECK(changed.status == 200);
  CHECK(changed.body == "v2");
  CHECK(Header(changed, "ETag") != etag);
}

TEST_CASE("a list of keys reads the most recently updated one") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  MustPost(service, AuthField() + "&a=first");
  MustPost(service, AuthField() + "&b=second");
  MustPost(service, AuthField() + "&c=third");
  MustPost(service, AuthField() + "&a=fourth");

  Response newest = Route(GetRequest("k=b,c,a"), service);
  REQUIRE(newest.status == 200);
  CHECK(newest.body == "fourth");
  CHECK(Header(newest, "X-Kvs-Key") == "a");
  CHECK(Header(newest, "X-Kvs-Revision") == "4");

  Response skipping = Route(GetRequest("k=missing,b,c,also-missing"), service);
  CHECK(skipping.body == "third");
  CHECK(Header(skipping, "X-Kvs-Key") == "c");

  Response none = Route(GetRequest("k=x,y"), service);
  CHECK(none.status == 404);
  CHECK(none.body == "none of the keys 'x', 'y' exists\n");
}

TEST_CASE("a comma sent encoded is part of a key; one sent as it is separates keys") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  MustPost(service, AuthField() + "&x%2Chello=the+key+with+a+comma");
  MustPost(service, AuthField() + "&hello=newer");
  Response one = Route(GetRequest("k=x%2Chello"), service);
  CHECK(one.body == "the key with a comma");
  CHECK(Header(one, "X-Kvs-Key") == "x%2Chello");
  CHECK(Route(GetRequest("k=x,hello"), service).body == "newer");
  CHECK(Route(GetRequest("k=x%2Chello,nope"), service).body == "the key with a comma");
}

TEST_CASE("k naming more keys than max_keys_per_transaction is a 400") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  MustPost(service, AuthField() + "&a=1");
  const size_t most = service.config.limits.max_keys_per_transaction;
  std::string keys = "a";
  for (size_t i = 1; i < most; ++i) keys += ",a";
  CHECK(Route(GetRequest("k=" + keys), service).status == 200);
  Response refused = Route(GetRequest("k=" + keys + ",a"), service);
  CHECK(refused.status == 400);
  CHECK_THAT(refused.body, Catch::Contains("max_keys_per_transaction"));
}

TEST_CASE("X-Kvs-Key percent-encodes the key so any key fits in a header") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  MustPost(service, AuthField() + "&" + PercentEncode("line\r\nX-Injected: 1") + "=v");
  Response response = Route(GetRequest("k=" + PercentEncode("line\r\nX-Injected: 1")), service);
  REQUIRE(response.status == 200);
  CHECK(Header(response, "X-Kvs-Key") == "line%0D%0AX-Injected%3A%201");
}

TEST_CASE("format=json reads give key, value, updated, revision and version") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  MustPost(service, AuthField() + "&text=h%C3%A9llo&bin=" + PercentEncode(AllBytes()));

  Response text = Route(GetRequest("k=text&format=json"), service);
  REQUIRE(text.status == 200);
  CHECK(Header(text, "Content-Type") == "application/json");
  auto json = nlohmann::json::parse(text.body);
  CHECK(json["key"] == "text");
  CHECK(json["value"] == "h\xc3\xa9llo");
  CHECK_FALSE(json.contains("encoding"));
  CHECK(json["revision"] == 1);
  CHECK(json["version"] == service.store->Get("main", "text")->winner.id.Hex());
  CHECK_THAT(json["updated"].get<std::string>(),
             Catch::Matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"));

  auto binary = nlohmann::json::parse(Route(GetRequest("k=bin&format=json"), service).body);
  CHECK(binary["encoding"] == "base64");
  CHECK(binary["value"].get<std::string>().substr(0, 8) == "AAECAwQF");

  auto multi = nlohmann::json::parse(Route(GetRequest("k=nope,text&format=json"), service).body);
  CHECK(multi["key"] == "text");
}

TEST_CASE("a post writes all its pairs in one transaction") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Response response = MustPost(service, "one=1&" + AuthField() + "&two=2&three=3");
  CHECK(response.body == "revision 1\none\ntwo\nthree\n");
  CHECK(Value(service, "one") == "1");
  CHECK(Value(service, "two") == "2");
  CHECK(Value(service, "three") == "3");
  for (const char* key : {"one", "two", "three"}) {
    CHECK(service.store->Get("main", key)->revision == 1);
  }
}

TEST_CASE("a post answers in JSON with format=json") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Response response = Route(PostForm(AuthField() + "&a=1&b=2", "format=json"), service);
  REQUIRE(response.status == 200);
  auto json = nlohmann::json::parse(response.body);
  CHECK(json["revision"] == 1);
  CHECK(json["keys"] == nlohmann::json::array({"a", "b"}));
  REQUIRE(json["versions"].size() == 2);
  CHECK(json["versions"][0] == service.store->Get("main", "a")->winner.id.Hex());
  CHECK(json["commit"].get<std::string>().size() == 64);
}

TEST_CASE("a multipart post writes binary values exactly") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  std::string body = std::string("--XyZ\r\nContent-Disposition: form-data; name=\"auth\"\r\n\r\n") +
                     kTestSecret +
                     "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"bin\"\r\n\r\n" +
                     AllBytes() + AllBytes() + "\r\n--XyZ--\r\n";
  Response response = Route(PostRequest("multipart/form-data; boundary=XyZ", body), service);
  INFO(response.body);
  REQUIRE(response.status == 200);
  CHECK(Value(service, "bin") == AllBytes() + AllBytes());
  Response read = Route(GetRequest("k=bin"), service);
  CHECK(read.body == AllBytes() + AllBytes());
  CHECK(Header(read, "Content-Type") == "text/plain");
}

TEST_CASE("the secret may come as a bearer token") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Request request = PostForm("k=v");
  request.headers.Set("authorization", std::string("Bearer ") + kTestSecret);
  CHECK(Route(request, service).status == 200);
  CHECK(Value(service, "k") == "v");
}

TEST_CASE("a wrong or missing secret is 403 and writes nothing") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Response wrong = Route(PostForm("auth=guess&k=v"), service);
  CHECK(wrong.status == 403);
  CHECK(wrong.body == "wrong secret; nothing was changed\n");

  Response missing = Route(PostForm("k=v"), service);
  CHECK(missing.status == 403);
  CHECK_THAT(missing.body, Catch::Contains("Authorization: Bearer"));

  Request wrong_bearer = PostForm(AuthField() + "&k=v");
  wrong_bearer.headers.Set("Authorization", "Bearer guess");
  CHECK(Route(wrong_bearer, service).status == 403);

  CHECK(Route(PostForm(AuthField() + "&auth=guess&k=v"), service).status == 403);
  CHECK(Value(service, "k") == "<missing>");
}

TEST_CASE("without a configured secret every write is refused, saying how to set one") {
  SECTION("no auth_file") {
    ServiceFixture fixture(std::nullopt);
    Response response = Route(PostForm("auth=&k=v"), fixture.service());
    CHECK(response.status == 403);
    CHECK_THAT(response.body, Catch::Contains("no secret configured"));
    CHECK_THAT(response.body, Catch::Contains("auth_file"));
    CHECK(Value(fixture.service(), "k") == "<missing>");
  }
  SECTION("an empty auth_file") {
    ServiceFixture fixture(std::string(""));
    CHECK(Route(PostForm("auth=&k=v"), fixture.service()).status == 403);
  }
  SECTION("the template's placeholder") {
    ServiceFixture fixture(std::string("yourauthorizationhere"));
    Response response = Route(PostForm("auth=yourauthorizationhere&k=v"), fixture.service());
    CHECK(response.status == 403);
    CHECK_THAT(response.body, Catch::Contains("placeholder"));
    CHECK_THAT(response.body, Catch::Contains("auth_file"));
    // The client learns no path of the server's; its log does.
    CHECK(response.body.find(fixture.dir()) == std::string::npos);
    CHECK_THAT(response.log_message, Catch::Contains(fixture.dir() + "/auth.txt"));
  }
}

TEST_CASE("read_access: secret makes reads need the secret too") {
  ServiceFixture fixture(std::string(kTestSecret), Limits(), ReadAccess::kSecret);
  Service& service = fixture.service();
  MustPost(service, AuthField() + "&k=v");
  CHECK(Route(GetRequest("k=k"), service).status == 403);
  CHECK(Route(GetRequest("k=k&auth=guess"), service).status == 403);
  CHECK(Route(GetRequest("k=k&" + AuthField()), service).body == "v");
  Request bearer = GetRequest("k=k");
  bearer.headers.Set("Authorization", std::string("bearer ") + kTestSecret);
  CHECK(Route(bearer, service).body == "v");
}

TEST_CASE("the same key twice in one post is 400 and writes nothing") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Response response = Route(PostForm(AuthField() + "&a=1&b=2&a=3"), service);
  CHECK(response.status == 400);
  CHECK_THAT(response.body, Catch::Contains("'a' appears twice"));
  CHECK(Value(service, "a") == "<missing>");
  CHECK(Value(service, "b") == "<missing>");
}

TEST_CASE("keys beginning with '_' are reserved") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Response write = Route(PostForm(AuthField() + "&ok=1&_system=2"), service);
  CHECK(write.status == 400);
  CHECK_THAT(write.body, Catch::Contains("reserved"));
  CHECK(Value(service, "ok") == "<missing>");
  CHECK(Route(GetRequest("k=_system"), service).status == 400);
}

TEST_CASE("limits give 413 for sizes and 400 for the rest, writing nothing") {
  Limits limits;
  limits.max_key_bytes = 8;
  limits.max_value_bytes = 16;
  limits.max_keys_per_transaction = 3;
  ServiceFixture fixture(std::string(kTestSecret), limits);
  Service& service = fixture.service();

  Response long_key = Route(PostForm(AuthField() + "&ok=1&123456789=v"), service);
  CHECK(long_key.status == 400);
  CHECK_THAT(long_key.body, Catch::Contains("limits.max_key_bytes"));

  Response big_value = Route(PostForm(AuthField() + "&ok=1&k=" + std::string(17, 'x')), service);
  CHECK(big_value.status == 413);
  CHECK_THAT(big_value.body, Catch::Contains("limits.max_value_bytes"));

  Response many = Route(PostForm(AuthField() + "&ok=1&b=2&c=3&d=4"), service);
  CHECK(many.status == 400);
  CHECK_THAT(many.body, Catch::Contains("limits.max_keys_per_transaction"));

  CHECK(Route(GetRequest("k=123456789"), service).status == 400);
  CHECK(Value(service, "ok") == "<missing>");
  CHECK(MustPost(service, AuthField() + "&12345678=" + std::string(16, 'x') + "&b=2&c=3").status ==
        200);
}

TEST_CASE("bad input is 400 with a message and writes nothing") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  struct Case {
    Request request;
    const char* message;
  };
  std::vector<Case> cases = {
      {PostForm(AuthField() + "&ok=1&k=%zz"), "bad percent-encoding"},
      {PostForm(AuthField() + "&ok=1&=v"), "empty key"},
      {PostForm(AuthField() + "&ok=1&%FF%FE=v"), "UTF-8"},
      {PostForm(AuthField() + "&ok=1&a%00b=v"), "NUL"},
      {PostForm(AuthField()), "nothing to write"},
      {PostForm(AuthField() + "&ok=1", "format=%zz"), "query string"},
      {PostForm(AuthField() + "&ok=1", "format=xml"), "format must be json or text"},
      {PostRequest("text/plain", AuthField() + "&ok=1"), "not a form"},
      {PostRequest("", AuthField() + "&ok=1"), "not a form"},
      {PostRequest("multipart/form-data; boundary=b", "--b\r\nx"), "malformed multipart"},
      {GetRequest("k=%4"), "bad percent-encoding"},
      {GetRequest("k="), "empty key"},
      {GetRequest("k=a,,b"), "empty key"},
  };
  for (Case& c : cases) {
    Response response = Route(c.request, service);
    INFO(c.request.method << " ?" << c.request.query_string << " " << c.request.body);
    CHECK(response.status == 400);
    CHECK_THAT(response.body, Catch::Contains(c.message));
    CHECK(Header(response, "Content-Type") == "text/plain; charset=utf-8");
  }
  CHECK(Value(service, "ok") == "<missing>");
}

TEST_CASE("errors come as JSON when format=json") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Response missing = Route(GetRequest("k=nope&format=json"), service);
  CHECK(missing.status == 404);
  CHECK(Header(missing, "Content-Type") == "application/json");
  auto json = nlohmann::json::parse(missing.body);
  CHECK(json["error"] == "not_found");
  CHECK(json["message"] == "key 'nope' does not exist");

  // Even when the query itself does not parse.
  Response bad = Route(GetRequest("k=%zz&format=json"), service);
  CHECK(bad.status == 400);
  CHECK(nlohmann::json::parse(bad.body)["error"] == "bad_request");

  Response forbidden = Route(PostForm("k=v", "format=json"), service);
  CHECK(nlohmann::json::parse(forbidden.body)["error"] == "forbidden");
}

TEST_CASE("GET / without k is the index page") {
  ServiceFixture fixture;
  for (const char* query : {"", "&", "_=1700000000", "format=json"}) {
    Response response = Route(GetRequest(query), fixture.service());
    INFO(query);
    CHECK(response.status == 200);
    CHECK(Header(response, "Content-Type") == "text/html; charset=utf-8");
    CHECK_THAT(response.body, Catch::StartsWith("<!doctype html>"));
  }
}

TEST_CASE("an unknown or repeated query parameter is a 400 naming the known ones") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  MustPost(service, AuthField() + "&greeting=hello");
  struct Case {
    Request request;
    std::string message;
  };
  std::vector<Case> cases = {
      {GetRequest("key=greeting"), "unknown parameter 'key' (known here: format, k, auth)"},
      {GetRequest("hello"), "unknown parameter 'hello' (known here: format, k, auth)"},
      {GetRequest("k=greeting&fromat=json"), "unknown parameter 'fromat'"},
      {GetRequest("k=greeting&format=json&format=text"), "parameter 'format' is given twice"},
      {PostForm(AuthField() + "&ok=1", "k=greeting"), "unknown parameter 'k' (known here: format)"},
      {PostForm(AuthField() + "&ok=1", "format=json&format=json"), "'format' is given twice"},
      {PostForm("ok=1", AuthField()), "the secret cannot come in the URL of a write"},
  };
  for (Case& c : cases) {
    Response response = Route(c.request, service);
    INFO(c.request.method << " ?" << c.request.query_string);
    CHECK(response.status == 400);
    CHECK_THAT(response.body, Catch::Contains(c.message));
  }
  CHECK(Value(service, "ok") == "<missing>");
  // Several k add up, and several auth must all hold: both are documented.
  CHECK(Route(GetRequest("k=nothing&k=greeting"), service).body == "hello");
  CHECK(Route(GetRequest("k=greeting&_=1&_=2"), service).status == 200);
}

TEST_CASE("unknown paths are 404 and other methods 405 with Allow") {
  ServiceFixture fixture;
  Service& service = fixture.service();
  Request unknown = GetRequest("k=a");
  unknown.path_info = "/a/b/c/d/e";  // no route of the REST face either
  CHECK(Route(unknown, service).status == 404);

  for (const char* method : {"PUT", "DELETE", "PATCH", "OPTIONS"}) {
    Request request = GetRequest("");
    request.method = method;
    Response response = Route(request, service);
    CHECK(response.status == 405);
    CHECK(Header(response, "Allow") == "GET, HEAD, POST");
  }

  Request empty_path = GetRequest("");
  empty_path.path_info = "";
  CHECK(Route(empty_path, service).status == 200);
}

}  // namespace kvs::server::test
