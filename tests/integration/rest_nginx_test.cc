// The REST face end to end: a real nginx (from fcgi/nginx.conf.in) in front
// of the real kvs-fcgi, spoken to with cpp-httplib. The original
// interface's example exactly, long histories, time travel, compare-and-set
// races, forks and every merge strategy, and every refusal (which must
// write nothing).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/time.h"
#include "http/form.h"
#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

const httplib::Headers& kBearer = BearerHeaders();

httplib::Headers WithBearer(httplib::Headers headers) {
  headers.insert(kBearer.begin(), kBearer.end());
  return headers;
}

httplib::Response Put(const ServerStack& stack, const std::string& path, const std::string& value,
                      const httplib::Headers& headers = {}) {
  return Answer(stack.Client()->Put(path.c_str(), WithBearer(headers), value, "text/plain"), stack);
}

// PUT path = value; requires a 200 and returns the new version id (ETag).
std::string MustPut(const ServerStack& stack, const std::string& path, const std::string& value) {
  httplib::Response res = Put(stack, path, value);
  INFO(path << " -> " << res.body);
  REQUIRE(res.status == 200);
  CHECK(nlohmann::json::parse(res.body) == value);
  std::string etag = res.get_header_value("ETag");
  REQUIRE(etag.size() == 66);
  return etag.substr(1, 64);
}

httplib::Response Post(const ServerStack& stack, const std::string& path) {
  return Answer(stack.Client()->Post(path.c_str(), kBearer, "", "text/plain"), stack);
}

httplib::Response Get(const ServerStack& stack, const std::string& path) {
  return Answer(stack.Client()->Get(path.c_str()), stack);
}

// The current value GET /path shows ("<none>" for []).
std::string ValueAt(const ServerStack& stack, const std::string& path) {
  nlohmann::json body = MustGetJson(stack, path);
  if (body.empty()) return "<none>";
  return body[0];
}

// Requires an error answer with this status and code; returns its message.
std::string ExpectError(const httplib::Response& res, int status, const std::string& code) {
  INFO(res.body);
  CHECK(res.status == status);
  CHECK(res.get_header_value("Content-Type") == "application/json");
  nlohmann::json body = nlohmann::json::parse(res.body);
  CHECK(body["status"] == "error");
  CHECK(body["error"] == code);
  CHECK(!body["message"].get<std::string>().empty());
  return body["message"];
}

// Applies one reverse patch (a list of [op, text]) to value.
std::string ApplyPatch(const std::string& value, const nlohmann::json& patch) {
  std::string out;
  size_t at = 0;
  for (const auto& edit : patch) {
    std::string op = edit[0], text = edit[1];
    if (op == "ins") {
      out += text;
      continue;
    }
    REQUIRE(value.compare(at, text.size(), text) == 0);
    if (op == "eq") out += text;
    at += text.size();
  }
  REQUIRE(at == value.size());
  return out;
}

// Forks key from main into fork, then sets it to ours on main and theirs on
// the fork, all from base.
void Diverge(const ServerStack& stack, const std::string& key, const std::string& base,
             const std::string& ours, const std::string& theirs, const std::string& fork) {
  MustPut(stack, "/" + key, base);
  REQUIRE(Post(stack, "/" + key + "/main/fork/" + fork).status == 200);
  MustPut(stack, "/" + key, ours);
  MustPut(stack, "/" + key + "/" + fork, theirs);
}

}  // namespace

TEST_CASE("through nginx, the original example: reverse patches and applied revisions") {
  ServerStack stack;
  MustPut(stack, "/test", "test 1");
  std::string second = MustPut(stack, "/test", "test 2");
  httplib::Response res = Get(stack, "/test?revisions=1");
  CHECK(res.body == "[\"test 2\",[[[\"eq\",\"test \"],[\"del\",\"2\"],[\"ins\",\"1\"]]]]\n");
  CHECK(res.get_header_value("ETag") == "\"" + second + "\"");
  CHECK(res.get_header_value("X-Kvs-Revision") == "2");
  CHECK(MustGetJson(stack, "/test?revisions=1&patch=true") ==
        nlohmann::json::parse(R"(["test 2", ["test 1"]])"));
  // No revisions unless asked for with a number or "all".
  for (const char* query : {"", "?revisions=", "?revisions=lots", "?revisions=0"}) {
    INFO(query);
    CHECK(MustGetJson(stack, std::string("/test") + query) ==
          nlohmann::json::parse(R"(["test 2", []])"));
  }
  CHECK(MustGetJson(stack, "/test?revisions=all&patch=true") ==
        nlohmann::json::parse(R"(["test 2", ["test 1"]])"));
  CHECK(MustGetJson(stack, "/missing") == nlohmann::json::array());
  CHECK(MustGetJson(stack, "/missing?revisions=all") == nlohmann::json::array());

  nlohmann::json info = MustGetJson(stack, "/test/info");
  CHECK(info["key"] == "test");
  CHECK(info["revision_count"] == 1);
  CHECK(info["fork"] == "main");
  CHECK(info["heads"] == nlohmann::json::array({second}));
  CHECK(info["revision"] == 2);
  CHECK(info["size"] == 6);
  CHECK(info["conflicts"] == 0);
  CHECK(info["created"] <= info["updated"]);  // milliseconds: the same when quick
  ExpectError(Get(stack, "/missing/info"), 404, "not_found");

  // The ETag makes a conditional read cheap.
  auto again = stack.Client()->Get("/test", {{"If-None-Match", "\"" + second + "\""}});
  REQUIRE(again);
  CHECK(again->status == 304);
}

TEST_CASE("through nginx, a key with 1,000 revisions lists them all, as patches and as values") {
  ServerStack stack;
  std::vector<std::string> values;
  for (int i = 0; i < 1000; ++i) {
    values.push_back("line " + std::to_string(i * 7919 % 1000) + " of the log");
    MustPut(stack, "/log", values.back());
  }
  nlohmann::json patched = MustGetJson(stack, "/log?revisions=all&patch=true");
  REQUIRE(patched[1].size() == 999);
  for (size_t i = 0; i < 999; ++i) CHECK(patched[1][i] == values[998 - i]);

  nlohmann::json patches = MustGetJson(stack, "/log?revisions=all");
  CHECK(patches[0] == values.back());
  REQUIRE(patches[1].size() == 999);
  std::string value = patches[0];
  for (size_t i = 0; i < 999; ++i) {
    value = ApplyPatch(value, patches[1][i]);
    CHECK(value == values[998 - i]);
  }
  nlohmann::json three = MustGetJson(stack, "/log?revisions=3&patch=true");
  CHECK(three[1] == nlohmann::json::array({values[998], values[997], values[996]}));
  CHECK(MustGetJson(stack, "/log/info")["revision_count"] == 999);
}

TEST_CASE("through nginx, at= reads a key as it was at a revision, a time and a commit") {
  ServerStack stack;
  httplib::Response first = Put(stack, "/k", "one");
  REQUIRE(first.status == 200);
  std::string commit = first.get_header_value("X-Kvs-Commit");
  REQUIRE(commit.size() == 64);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // A time between the writes (the server runs on this machine's clock).
  const std::string between =
      common::FormatRfc3339(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  MustPut(stack, "/k", "two");
  MustPut(stack, "/other", "x");

  CHECK(ValueAt(stack, "/k?at=1") == "one");
  CHECK(ValueAt(stack, "/k?at=2") == "two");
  CHECK(ValueAt(stack, "/k?at=" + commit) == "one");
  CHECK(ValueAt(stack, "/k?at=" + PercentEncode(between)) == "one");
  CHECK(ValueAt(stack, "/other?at=1") == "<none>");
  CHECK(MustGetJson(stack, "/k?at=2&revisions=all&patch=true") ==
        nlohmann::json::parse(R"(["two", ["one"]])"));
  CHECK(MustGetJson(stack, "/k/info?at=1")["revision"] == 1);

  ExpectError(Get(stack, "/k?at=yesterday"), 400, "bad_at");
  ExpectError(Get(stack, "/k?at=0"), 400, "bad_at");
  ExpectError(Get(stack, "/k?at=99"), 400, "bad_at");
  ExpectError(Get(stack, "/k?at=2026-02-30T00:00:00Z"), 400, "bad_at");
  ExpectError(Get(stack, "/k?at=" + std::string(64, 'a')), 404, "bad_at");
}

TEST_CASE("through nginx, delete writes a tombstone and the past stays readable") {
  ServerStack stack;
  MustPut(stack, "/gone", "old value");
  httplib::Response deleted = Answer(stack.Client()->Delete("/gone", kBearer), stack);
  CHECK(deleted.status == 200);
  CHECK(nlohmann::json::parse(deleted.body)["status"] == "ok");
  CHECK(MustGetJson(stack, "/gone") == nlohmann::json::array());
  CHECK(ValueAt(stack, "/gone?at=1") == "old value");
  ExpectError(Get(stack, "/gone/info"), 404, "not_found");
  ExpectError(Answer(stack.Client()->Delete("/gone", kBearer), stack), 404, "not_found");
  ExpectError(Answer(stack.Client()->Delete("/never", kBearer), stack), 404, "not_found");
  // Written again, it remembers the deletion: null among the values, "" in patches.
  MustPut(stack, "/gone", "new value");
  CHECK(MustGetJson(stack, "/gone?revisions=all&patch=true") ==
        nlohmann::json::parse(R"(["new value", [null, "old value"]])"));
  CHECK(
      MustGetJson(stack, "/gone?revisions=all") ==
      nlohmann::json::parse(R"(["new value", [[["del", "new value"]], [["ins", "old value"]]]])"));
}

TEST_CASE("through nginx, If-Match makes a write a compare-and-set") {
  ServerStack stack;
  std::string v1 = MustPut(stack, "/cas", "1");
  std::string v2 = MustPut(stack, "/cas", "2");
  ExpectError(Put(stack, "/cas", "3", {{"If-Match", "\"" + v1 + "\""}}), 412,
              "precondition_failed");
  ExpectError(Put(stack, "/cas", "3", {{"If-Match", "W/\"" + v2 + "\""}}), 412,
              "precondition_failed");
  ExpectError(Put(stack, "/cas", "3", {{"If-Match", "nonsense"}}), 412, "precondition_failed");
  CHECK(ValueAt(stack, "/cas") == "2");
  CHECK(Put(stack, "/cas", "3", {{"If-Match", "\"" + v2 + "\""}}).status == 200);
  CHECK(Put(stack, "/cas", "4", {{"If-Match", "*"}}).status == 200);
  ExpectError(Put(stack, "/new", "x", {{"If-Match", "*"}}), 412, "precondition_failed");
  CHECK(Put(stack, "/new", "x", {{"If-None-Match", "*"}}).status == 200);
  ExpectError(Put(stack, "/new", "y", {{"If-None-Match", "*"}}), 412, "precondition_failed");
  ExpectError(
      Answer(stack.Client()->Delete("/cas", WithBearer({{"If-Match", "\"" + v1 + "\""}})), stack),
      412, "precondition_failed");
  CHECK(ValueAt(stack, "/cas") == "4");
}

TEST_CASE("through nginx, of two clients racing with the same If-Match exactly one wins") {
  ServerStack stack;
  std::string current = MustPut(stack, "/counter", "0");
  for (int round = 1; round <= 20; ++round) {
    std::vector<int> statuses(2);
    std::vector<std::thread> clients;
    for (int c = 0; c < 2; ++c) {
      clients.emplace_back([&, c] {
        auto client = stack.Client();
        auto res = client->Put("/counter", WithBearer({{"If-Match", "\"" + current + "\""}}),
                               std::to_string(round) + (c == 0 ? "a" : "b"), "text/plain");
        statuses[c] = res ? res->status : -1;
      });
    }
    for (std::thread& t : clients) t.join();
    INFO("round " << round);
    std::sort(statuses.begin(), statuses.end());
    CHECK(statuses == std::vector<int>{200, 412});
    nlohmann::json info = MustGetJson(stack, "/counter/info");
    CHECK(info["heads"].size() == 1);
    current = info["version"];
  }
  CHECK(MustGetJson(stack, "/counter/info")["revision_count"] == 20);
}

TEST_CASE("through nginx, a fork copies a key with its history; a merge overwrites the target") {
  ServerStack stack;
  MustPut(stack, "/doc", "draft 1");
  MustPut(stack, "/doc", "draft 2");
  httplib::Response forked = Post(stack, "/doc/main/fork/review");
  CHECK(forked.status == 200);
  CHECK(nlohmann::json::parse(forked.body)["status"] == "ok");
  CHECK(MustGetJson(stack, "/doc/review?revisions=all&patch=true") ==
        nlohmann::json::parse(R"(["draft 2", ["draft 1"]])"));
  CHECK(ValueAt(stack, "/doc/review?at=1") == "draft 1");
  CHECK(MustGetJson(stack, "/doc/review/info")["fork"] == "review");
  // Only that key went to the new fork.
  MustPut(stack, "/unrelated", "u");
  CHECK(MustGetJson(stack, "/unrelated/review") == nlohmann::json::array());

  MustPut(stack, "/doc/review", "reviewed");
  MustPut(stack, "/doc", "draft 3");
  CHECK(ValueAt(stack, "/doc") == "draft 3");
  ExpectError(Post(stack, "/doc/main/fork/review"), 409, "target_exists");

  httplib::Response merged = Post(stack, "/doc/review/merge/main");
  CHECK(merged.status == 200);
  CHECK(nlohmann::json::parse(merged.body)["merge"] == "overwrite");
  CHECK(ValueAt(stack, "/doc") == "reviewed");
  // Nothing is lost: the merge's parents are both heads.
  nlohmann::json history = MustGetJson(stack, "/doc?revisions=all&patch=true");
  CHECK(history[1] == nlohmann::json::parse(R"(["draft 3", "reviewed", "draft 2", "draft 1"])"));

  ExpectError(Post(stack, "/nope/main/fork/x"), 404, "not_found");
  ExpectError(Post(stack, "/doc/nofork/fork/x"), 404, "fork_not_found");
  ExpectError(Post(stack, "/doc/nofork/merge/main"), 404, "fork_not_found");
  ExpectError(Post(stack, "/doc/review/merge/nofork"), 404, "target_not_found");
  MustPut(stack, "/only-main", "m");
  REQUIRE(Post(stack, "/doc/main/fork/elsewhere").status == 200);
  ExpectError(Post(stack, "/only-main/main/merge/elsewhere"), 404, "target_not_found");
  ExpectError(Get(stack, "/doc/nofork"), 404, "fork_not_found");
  ExpectError(Put(stack, "/doc/nofork", "x"), 404, "fork_not_found");
}

TEST_CASE("through nginx, merge strategies settle what both forks changed") {
  ServerStack stack;
  SECTION("counter adds both sides' deltas") {
    Diverge(stack, "hits", "10", "17", "15", "f");
    httplib::Response res = Post(stack, "/hits/f/merge/main?strategy=counter");
    CHECK(nlohmann::json::parse(res.body)["merge"] == "merged");
    CHECK(ValueAt(stack, "/hits") == "22");
    CHECK(MustGetJson(stack, "/hits/info")["heads"].size() == 1);
    CHECK(ValueAt(stack, "/hits/f") == "15");  // the source is left as it was
  }
  SECTION("json keeps fields edited on either side") {
    Diverge(stack, "cfg", R"({"a":1,"b":1})", R"({"a":2,"b":1})", R"({"a":1,"b":3})", "f");
    CHECK(Post(stack, "/cfg/f/merge/main?strategy=json").status == 200);
    CHECK(nlohmann::json::parse(ValueAt(stack, "/cfg")) ==
          nlohmann::json::parse(R"({"a":2,"b":3})"));
  }
  SECTION("text merges edits to different lines and refuses edits to the same line") {
    Diverge(stack, "notes", "one\ntwo\nthree\n", "ONE\ntwo\nthree\n", "one\ntwo\nTHREE\n", "f");
    CHECK(Post(stack, "/notes/f/merge/main?strategy=text").status == 200);
    CHECK(ValueAt(stack, "/notes") == "ONE\ntwo\nTHREE\n");

    Diverge(stack, "clash", "a\nb\n", "a\nmine\n", "a\ntheirs\n", "g");
    uint64_t before = ServedStoreRevision(stack);
    httplib::Response res = Post(stack, "/clash/g/merge/main?strategy=text");
    ExpectError(res, 409, "conflict");
    nlohmann::json body = nlohmann::json::parse(res.body);
    CHECK(body["conflicts"][0]["key"] == "clash");
    CHECK_THAT(body["conflicts"][0]["reason"].get<std::string>(), Catch::Contains("line 2"));
    CHECK(ServedStoreRevision(stack) == before);
    CHECK(ValueAt(stack, "/clash") == "a\nmine\n");
  }
  SECTION("max, min, union and lww") {
    Diverge(stack, "hi", "5", "7", "9", "f");
    Post(stack, "/hi/f/merge/main?strategy=max");
    CHECK(ValueAt(stack, "/hi") == "9");
    Diverge(stack, "lo", "5", "7", "9", "g");
    Post(stack, "/lo/g/merge/main?strategy=min");
    CHECK(ValueAt(stack, "/lo") == "7");
    Diverge(stack, "tags", R"(["a"])", R"(["a","b"])", R"(["a","c"])", "h");
    Post(stack, "/tags/h/merge/main?strategy=union");
    CHECK(ValueAt(stack, "/tags") == R"(["a","b","c"])");
    Diverge(stack, "last", "0", "main's", "fork's", "i");  // the fork wrote last
    Post(stack, "/last/i/merge/main?strategy=lww");
    CHECK(ValueAt(stack, "/last") == "fork's");
  }
  SECTION("keep leaves both as a visible fork, reject refuses") {
    Diverge(stack, "both", "0", "left", "right", "f");
    CHECK(nlohmann::json::parse(Post(stack, "/both/f/merge/main?strategy=keep").body)["merge"] ==
          "kept_both");
    nlohmann::json info = MustGetJson(stack, "/both/info");
    CHECK(info["heads"].size() == 2);
    CHECK(info["conflicts"] == 1);
    CHECK(Get(stack, "/both").get_header_value("X-Kvs-Heads") == "2");

    Diverge(stack, "strict", "0", "left", "right", "g");
    ExpectError(Post(stack, "/strict/g/merge/main?strategy=reject"), 409, "conflict");
    CHECK(ValueAt(stack, "/strict") == "left");
  }
  SECTION("a side that did not change fast-forwards or is already up to date") {
    MustPut(stack, "/ff", "base");
    REQUIRE(Post(stack, "/ff/main/fork/f").status == 200);
    MustPut(stack, "/ff/f", "ahead");
    CHECK(nlohmann::json::parse(Post(stack, "/ff/f/merge/main?strategy=reject").body)["merge"] ==
          "fast_forward");
    CHECK(ValueAt(stack, "/ff") == "ahead");
    CHECK(nlohmann::json::parse(Post(stack, "/ff/f/merge/main?strategy=text").body)["merge"] ==
          "up_to_date");
  }
}

TEST_CASE("through nginx, values that are not UTF-8 come as base64, keys may hold slashes") {
  ServerStack stack;
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  REQUIRE(Put(stack, "/bytes", every_byte).status == 200);
  nlohmann::json body = MustGetJson(stack, "/bytes");
  REQUIRE(body[0].is_object());
  std::string encoded = body[0]["base64"];
  CHECK(encoded.size() == 344);
  // The classic face returns the raw bytes.
  CHECK(Get(stack, "/?k=bytes").body == every_byte);

  MustPut(stack, "/a%2Fb", "slashed");
  MustPut(stack, "/a", "plain");
  CHECK(ValueAt(stack, "/a%2Fb") == "slashed");
  CHECK(MustGetJson(stack, "/a%2Fb/info")["key"] == "a/b");
  CHECK(Get(stack, "/?k=a%2Fb").body == "slashed");
  CHECK(ValueAt(stack, "/caf%C3%A9%20au%20lait") == "<none>");

  // A key with "//" is that key on every route, never key "a" on fork "b".
  REQUIRE(
      Answer(stack.Client()->Post("/_branches", kBearer, R"({"name": "b"})", "application/json"),
             stack)
          .status == 201);
  MustPut(stack, "/a%2F%2Fb", "doubly slashed");
  CHECK(ValueAt(stack, "/a%2F%2Fb") == "doubly slashed");
  CHECK(ValueAt(stack, "/a%2F%2Fb/main") == "doubly slashed");
  CHECK(MustGetJson(stack, "/a%2F%2Fb/info")["key"] == "a//b");
  CHECK(Get(stack, "/?k=a%2F%2Fb").body == "doubly slashed");
  REQUIRE(Answer(stack.Client()->Delete("/a%2F%2Fb", kBearer), stack).status == 200);
  CHECK(ValueAt(stack, "/a/b") == "plain");  // key a on fork b: as fork b began
  CHECK(ValueAt(stack, "/a") == "plain");
  // Unencoded, the slashes are an empty segment.
  ExpectError(Get(stack, "/a//b"), 400, "bad_request");
}

TEST_CASE("through nginx, /keys lists keys by prefix, a page at a time") {
  ServerStack stack;
  for (const char* key : {"user/1", "user/2", "user/3", "users", "zebra"}) {
    MustPut(stack, "/" + PercentEncode(key), "x");
  }
  nlohmann::json page = MustGetJson(stack, "/keys?prefix=user%2F&limit=2");
  CHECK(page["keys"] == nlohmann::json::array({"user/1", "user/2"}));
  CHECK(page["next"] == "user/2");
  page = MustGetJson(stack, "/keys?prefix=user%2F&limit=2&after=user%2F2");
  CHECK(page["keys"] == nlohmann::json::array({"user/3"}));
  CHECK(page["next"].is_null());
  page = MustGetJson(stack, "/keys?delimiter=%2F");
  CHECK(page["keys"] == nlohmann::json::array({"users", "zebra"}));
  CHECK(page["prefixes"] == nlohmann::json::array({"user/"}));
  REQUIRE(Post(stack, "/zebra/main/fork/f").status == 200);
  CHECK(MustGetJson(stack, "/keys?fork=f")["keys"] == nlohmann::json::array({"zebra"}));
  ExpectError(Get(stack, "/keys?fork=no%20such"), 400, "bad_fork");
  ExpectError(Get(stack, "/keys?fork=nofork"), 404, "fork_not_found");
  ExpectError(Get(stack, "/keys?limit=0"), 400, "bad_request");
}

TEST_CASE("through nginx, bad REST requests get a JSON error and write nothing") {
  ServerStack stack;  // max_key_bytes 100, max_value_bytes 100000, max_body_bytes 300000
  MustPut(stack, "/k", "v");
  MustPut(stack, "/k", "w");
  REQUIRE(Post(stack, "/k/main/fork/f").status == 200);
  MustPut(stack, "/k/f", "x");
  const uint64_t before = ServedStoreRevision(stack);
  auto client = stack.Client();

  ExpectError(Post(stack, "/k/f/merge/main?strategy=nope"), 400, "unknown_strategy");
  ExpectError(Put(stack, "/" + std::string(101, 'k'), "v"), 400, "key_too_long");
  ExpectError(Get(stack, "/" + std::string(101, 'k')), 400, "key_too_long");
  ExpectError(Put(stack, "/k/bad%20fork", "v"), 400, "bad_fork");
  ExpectError(Post(stack, "/k/main/fork/bad!name"), 400, "bad_fork");
  ExpectError(Post(stack, "/k/main/merge/bad!name"), 400, "bad_fork");
  ExpectError(Put(stack, "/k", std::string(100001, 'v')), 413, "value_too_large");
  ExpectError(Put(stack, "/k", std::string(300001, 'v')), 413, "too_large");
  ExpectError(Get(stack, "/k?at=%ZZ"), 400, "bad_request");
  ExpectError(Put(stack, "/k?revisions=1", "v"), 400, "bad_request");
  ExpectError(Get(stack, "/k?colour=blue"), 400, "bad_request");
  ExpectError(Get(stack, "/k?patch=maybe"), 400, "bad_request");
  ExpectError(Put(stack, "/bad%FFkey", "v"), 400, "bad_key");
  ExpectError(Post(stack, "/k/main/fork/main"), 400, "bad_request");
  ExpectError(Post(stack, "/k/main/merge/main"), 400, "bad_request");
  ExpectError(Post(stack, "/k/main/copy/f"), 404, "not_found");
  ExpectError(Get(stack, "/k/main/info/more/segments"), 404, "not_found");
  ExpectError(Answer(client->Post("/k", kBearer, "v", "text/plain"), stack), 405,
              "method_not_allowed");
  ExpectError(Answer(client->Put("/k/main/fork/f", kBearer, "", "text/plain"), stack), 405,
              "method_not_allowed");
  ExpectError(Answer(client->Put("/k/info", kBearer, "v", "text/plain"), stack), 405,
              "method_not_allowed");

  // Writes need the secret, as a bearer token and never in the URL.
  ExpectError(Answer(client->Put("/k", "v", "text/plain"), stack), 403, "forbidden");
  ExpectError(
      Answer(client->Put("/k", {{"Authorization", "Bearer wrong"}}, "v", "text/plain"), stack), 403,
      "forbidden");
  ExpectError(Answer(client->Delete("/k"), stack), 403, "forbidden");
  ExpectError(Answer(client->Post("/k/main/fork/g", "", "text/plain"), stack), 403, "forbidden");
  ExpectError(Answer(client->Post("/k/f/merge/main", "", "text/plain"), stack), 403, "forbidden");
  ExpectError(Put(stack, "/k?auth=" + PercentEncode(kTestSecret), "v"), 400, "bad_request");

  CHECK(ServedStoreRevision(stack) == before);
  CHECK(ValueAt(stack, "/k") == "w");
  CHECK(ValueAt(stack, "/k/f") == "x");
}

}  // namespace kvs::server::test
