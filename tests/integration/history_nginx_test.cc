// The history face end to end: a real nginx (from fcgi/nginx.conf.in) in
// front of the real kvs-fcgi, spoken to with cpp-httplib. forkdb's example
// over HTTP, keys as paths through nginx's decoding, and every refusal.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "http/form.h"
#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

const httplib::Headers& kBearer = BearerHeaders();

// POST /_create?QUERY with body as the value; requires a 201 and returns
// the new version's id.
std::string MustCreate(const ServerStack& stack, const std::string& query,
                       const std::string& body) {
  httplib::Response res = Answer(stack.Client()->Post(("/_create?" + query).c_str(), kBearer, body,
                                                      "application/octet-stream"),
                                 stack);
  INFO(query << " -> " << res.body);
  REQUIRE(res.status == 201);
  return nlohmann::json::parse(res.body)["id"];
}

std::vector<std::string> Ids(const nlohmann::json& versions) {
  std::vector<std::string> ids;
  for (const auto& version : versions) ids.push_back(version["id"]);
  return ids;
}

std::vector<std::string> Sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

TEST_CASE("through nginx, forkdb's example: an edit, a conflicting edit, their merge") {
  ServerStack stack;
  auto client = stack.Client();
  std::string base = MustCreate(stack, "key=blorp", "beep boop\n");
  CHECK(Ids(MustGetJson(stack, "/_heads/blorp")["heads"]) == std::vector<std::string>{base});

  std::string upper = MustCreate(stack, "key=blorp&prev=" + base, "BEEP BOOP\n");
  CHECK(Ids(MustGetJson(stack, "/_heads/blorp")["heads"]) == std::vector<std::string>{upper});

  // Somebody else edits the same parent, named by a prefix: a fork.
  std::string mixed = MustCreate(stack, "key=blorp&prev=" + base.substr(0, 8), "BeEp BoOp\n");
  nlohmann::json forked = MustGetJson(stack, "/_heads/blorp");
  CHECK(forked["conflict"] == true);
  CHECK(Sorted(Ids(forked["heads"])) == Sorted({upper, mixed}));
  CHECK(Ids(MustGetJson(stack, "/_concestor?id=" + upper + "&id=" + mixed)["concestors"]) ==
        std::vector<std::string>{base});

  std::string merge =
      MustCreate(stack, "key=blorp&prev=" + upper + "&prev=" + mixed, "BEEPITY BOOPITY\n");
  nlohmann::json merged = MustGetJson(stack, "/_heads/blorp");
  CHECK(merged["conflict"] == false);
  CHECK(Ids(merged["heads"]) == std::vector<std::string>{merge});
  CHECK(merged["heads"][0]["parents"] == nlohmann::json::array({upper, mixed}));

  // History: the merge, then one branch per parent back to the tail.
  nlohmann::json history = MustGetJson(stack, "/_history/" + merge);
  CHECK(history["complete"] == true);
  const nlohmann::json& tree = history["tree"];
  CHECK(Ids(tree["versions"]) == std::vector<std::string>{merge});
  REQUIRE(tree["branches"].size() == 2);
  CHECK(Ids(tree["branches"][0]["versions"]) == std::vector<std::string>{upper, base});
  CHECK(Ids(tree["branches"][1]["versions"]) == std::vector<std::string>{mixed, base});
  httplib::Response drawing =
      Answer(client->Get(("/_history/" + merge.substr(0, 8) + "?format=text").c_str()), stack);
  CHECK(drawing.body == "+- blorp :: " + merge + "\n" + " +- blorp :: " + upper + "\n" +
                            " |- blorp :: " + base + "\n" + " +- blorp :: " + mixed + "\n" +
                            " |- blorp :: " + base + "\n");

  CHECK(Ids(MustGetJson(stack, "/_tails/blorp")["tails"]) == std::vector<std::string>{base});
  CHECK(Ids(MustGetJson(stack, "/_links/" + base)["links"]) == Sorted({upper, mixed}));
  CHECK(Ids(MustGetJson(stack, "/_links/" + upper)["links"]) == std::vector<std::string>{merge});

  nlohmann::json future = MustGetJson(stack, "/_future/" + base);
  CHECK(Ids(future["tree"]["versions"]) == std::vector<std::string>{base});
  REQUIRE(future["tree"]["branches"].size() == 2);
  for (const auto& branch : future["tree"]["branches"]) {
    CHECK(Ids(branch["versions"]).back() == merge);
  }

  nlohmann::json version = MustGetJson(stack, "/_versions/" + mixed);
  CHECK(version["key"] == "blorp");
  CHECK(version["parents"] == nlohmann::json::array({base}));
  CHECK(version["size"] == 10);
  CHECK(version["deleted"] == false);
  CHECK(version["replica"].get<std::string>().size() == 32);
  CHECK(version["revision"] == 3);

  CHECK(Ids(MustGetJson(stack, "/_list")["versions"]) == Sorted({base, upper, mixed, merge}));

  // The classic face reads the same key: the merge is its value.
  httplib::Response classic = Answer(client->Get("/?k=blorp"), stack);
  CHECK(classic.body == "BEEPITY BOOPITY\n");
}

TEST_CASE("through nginx, a version's value is every byte exactly, immutable under its id") {
  ServerStack stack;
  auto client = stack.Client();
  const std::string value = AllBytes() + AllBytes();
  std::string id = MustCreate(stack, "key=bytes", value);
  std::string path = "/_versions/" + id + "/value";

  httplib::Response read = Answer(client->Get(path.c_str()), stack);
  CHECK(read.status == 200);
  CHECK(read.body == value);
  CHECK(read.get_header_value("Content-Length") == std::to_string(value.size()));
  CHECK(read.get_header_value("Cache-Control") == "public, max-age=31536000, immutable");
  CHECK(read.get_header_value("ETag") == "\"" + id + "\"");
  CHECK(read.get_header_value("X-Content-Type-Options") == "nosniff");

  httplib::Response cached = Answer(
      client->Get(path.c_str(), httplib::Headers{{"If-None-Match", "\"" + id + "\""}}), stack);
  CHECK(cached.status == 304);
  CHECK(cached.body.empty());

  httplib::Response head = Answer(client->Head(path.c_str()), stack);
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.get_header_value("Content-Length") == std::to_string(value.size()));
}

TEST_CASE("through nginx, a key in the path is decoded once, slashes and all") {
  ServerStack stack;
  struct Case {
    std::string key;
    std::vector<std::string> paths;  // as sent; each names key
  };
  std::vector<Case> cases = {
      {"a/b", {"/_heads/a/b", "/_heads/a%2Fb"}},
      {"100%41", {"/_heads/100%2541"}},
      {"with space", {"/_heads/with%20space"}},
      {"plus+sign", {"/_heads/plus+sign", "/_heads/plus%2Bsign"}},
      {"q?uestion#hash", {"/_heads/q%3Fuestion%23hash"}},
      {"\xc3\xa9t\xc3\xa9", {"/_heads/%C3%A9t%C3%A9"}},
      {"a/b/", {"/_heads/a/b/"}},
      // nginx (with merge_slashes off) passes "//" on as it came; it denies
      // "/.", so such keys go as key=.
      {"x//y", {"/_heads/x//y", "/_heads/x%2F%2Fy", "/_heads?key=x%2F%2Fy"}},
      {".hidden", {"/_heads?key=.hidden", "/_tails?key=.hidden"}},
  };
  for (const Case& c : cases) {
    std::string id = MustCreate(stack, "key=" + PercentEncode(c.key), "v");
    for (const std::string& path : c.paths) {
      nlohmann::json answer = MustGetJson(stack, path);
      INFO(path);
      CHECK(answer["key"] == c.key);
      CHECK(Ids(answer.contains("heads") ? answer["heads"] : answer["tails"]) ==
            std::vector<std::string>{id});
    }
  }
  httplib::Response hidden = Answer(stack.Client()->Get("/_heads/.hidden"), stack);
  CHECK(hidden.status == 403);  // nginx's rule for dot files
}

// A value written as JSON before writes refused deep ones: answered as its
// text, not parsed and serialized again (nlohmann's serializer recurses per
// level, and 100,000 levels overflowed kvs-fcgi's stack on a read).
TEST_CASE("through nginx, a stored JSON value too deep to read as JSON reads as text") {
  ServerStack stack;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  {
    auto store = OpenServedStore(stack);
    WriteBatch batch;
    batch.Put("deep", deep);
    batch.writes.back().json = true;
    REQUIRE(store->Write(batch).ok());
  }
  nlohmann::json classic = MustGetJson(stack, "/?k=deep&format=json");
  CHECK(classic["value"] == deep);
  nlohmann::json rest = MustGetJson(stack, "/deep?revisions=all");
  CHECK(rest[0] == deep);
  auto client = stack.Client();
  httplib::Response raw = Answer(client->Get("/?k=deep"), stack);
  CHECK(raw.status == 200);
  CHECK(raw.body == deep);
}

TEST_CASE("through nginx, bad input to every endpoint is a 4xx with a message, writing nothing") {
  ServerStack stack;
  auto client = stack.Client();
  std::string base = MustCreate(stack, "key=k", "v");
  std::string other = MustCreate(stack, "key=other", "v");
  const uint64_t revision = ServedStoreRevision(stack);

  struct Case {
    std::string method;
    std::string path;
    std::string body;
    int status;
    std::string message;
    bool bearer = true;
  };
  std::vector<Case> cases = {
      {"POST", "/_create", "v", 400, "name the key"},
      {"POST", "/_create?key=_k", "v", 400, "reserved"},
      {"POST", "/_create?key=%FF", "v", 400, "UTF-8"},
      {"POST", "/_create?key=" + std::string(101, 'k'), "v", 400, "max_key_bytes"},
      {"POST", "/_create?key=k&prev=" + base.substr(0, 7), "v", 400, "8 to 64 hex digits"},
      {"POST", "/_create?key=k&prev=nothexnothex", "v", 400, "is not a version id"},
      {"POST", "/_create?key=k&prev=0000000000", "v", 404, "no version id starts with"},
      {"POST", "/_create?key=k&prev=" + other, "v", 400, "belongs to key 'other'"},
      {"POST", "/_create?key=k&prev=" + base + "&prev=" + base, "v", 400, "twice"},
      {"POST", "/_create?key=k&branch=nope", "v", 404, "branch 'nope' does not exist"},
      {"POST", "/_create?key=k&val=1", "v", 400, "unknown parameter 'val'"},
      {"POST", "/_create?key=k&json=true", "{\"a\":", 400, "not valid JSON: at byte 5"},
      {"POST", "/_create?key=k&json=true", "{\"a\":1,\"a\":2}", 400,
       "names the member \"a\" twice"},
      {"POST", "/_create?key=k&json=true", std::string(33, '[') + std::string(33, ']'), 400,
       "deeper than 32 levels"},
      {"POST", "/_create?key=k%zz", "v", 400, "bad percent-encoding"},
      {"POST", "/_create?key=k", std::string(100001, 'v'), 413, "max_value_bytes"},
      {"POST", "/_create?key=k", std::string(300001, 'v'), 413, "max_body_bytes"},
      {"POST", "/_create?key=k", "v", 403, "Authorization: Bearer SECRET", false},
      {"POST", "/_create?key=k&" + AuthField(), "v", 400, "cannot come in the URL", false},
      {"GET", "/_create?key=k", "", 405, "use POST"},
      {"GET", "/_heads", "", 400, "name the key"},
      {"GET", "/_heads/_k", "", 400, "reserved"},
      {"GET", "/_heads/k?branch=nope", "", 404, "branch 'nope' does not exist"},
      {"GET", "/_heads/k?branch=no%20pe", "", 400, "branch name"},
      {"PUT", "/_heads/k", "v", 405, "use GET, HEAD"},
      {"GET", "/_tails/k?limit=3", "", 400, "unknown parameter 'limit'"},
      {"GET", "/_versions/" + base.substr(0, 6), "", 400, "8 to 64 hex digits"},
      {"GET", "/_versions/ffffffffffff", "", 404, "no version id starts with ffffffffffff"},
      {"GET", "/_versions/" + base + "/meta", "", 404, "no such path"},
      {"GET", "/_versions/" + base + "/value?x=1", "", 400, "unknown parameter 'x'"},
      {"DELETE", "/_versions/" + base, "", 405, "use GET, HEAD"},
      {"GET", "/_links/zzzzzzzz", "", 400, "is not a version id"},
      {"GET", "/_links", "", 404, "name a version"},
      {"GET", "/_history/" + base + "?limit=0", "", 400, "limit must be a number from 1 to 10000"},
      {"GET", "/_history/" + base + "?limit=10001", "", 400, "limit must be"},
      {"GET", "/_history/" + base + "?format=xml", "", 400, "format must be json or text"},
      {"GET", "/_history/abcdefab", "", 404, "no version id starts with abcdefab"},
      {"GET", "/_future/" + base + "?limit=many", "", 400, "not 'many'"},
      {"GET", "/_concestor", "", 400, "name the versions"},
      {"GET", "/_concestor?id=" + base + "&id=12345678", "", 404, "id: no version id starts with"},
      {"GET", "/_concestor?id=" + base + "&id=1234", "", 400, "id: '1234' is not a version id"},
      {"GET", "/_list?gt=xyz", "", 400, "hex"},
      {"GET", "/_list?gt=b&lt=a", "", 400, "is not below lt"},
      {"GET", "/_list?limit=1001", "", 400, "limit must be a number from 1 to 1000"},
      {"GET", "/_list/more", "", 404, "no such path"},
  };
  for (const Case& c : cases) {
    httplib::Headers headers = c.bearer ? kBearer : httplib::Headers{};
    httplib::Response res =
        Answer(c.method == "POST"     ? client->Post(c.path.c_str(), headers, c.body, "text/plain")
               : c.method == "PUT"    ? client->Put(c.path.c_str(), headers, c.body, "text/plain")
               : c.method == "DELETE" ? client->Delete(c.path.c_str(), headers)
                                      : client->Get(c.path.c_str(), headers),
               stack);
    INFO(c.method << " " << c.path.substr(0, 120) << " -> " << res.body.substr(0, 300));
    CHECK(res.status == c.status);
    CHECK(res.get_header_value("Content-Type") == "application/json");
    nlohmann::json error = nlohmann::json::parse(res.body, nullptr, false);
    CHECK_THAT(error.value("message", ""), Catch::Contains(c.message));
    CHECK(error.value("error", "") != "");
  }
  CHECK(ServedStoreRevision(stack) == revision);
  CHECK(Ids(MustGetJson(stack, "/_heads/k")["heads"]) == std::vector<std::string>{base});
}

}  // namespace kvs::server::test
