// Every route, every bad input: the router's own table walked through a real
// nginx and kvs-fcgi. For each route and each method it takes, one valid
// request is described here (a route without one fails the test, so a new
// route cannot go unchecked); from it come the bad ones: the methods it does
// not take, an unknown and a repeated parameter, bad percent-encoding, a key
// that is not UTF-8 or an id that is no id in the path, a body over the
// limit, JSON that does not parse or names a member twice, and a missing or
// wrong secret. Each must answer 4xx with a message (JSON, or plain text on
// the classic face), and the store's revision must not move.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "faces/routes.h"
#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";

// How a request carries what it writes.
enum class Body { kNone, kForm, kJson, kValue };

// One valid request of a route.
struct Example {
  std::string pattern = "";  // as the route table names the route
  std::string method = "";   // GET stands for HEAD too
  std::string target = "";   // path and query, placeholders filled
  Body body = Body::kNone;
  std::string content = "";       // the body; a form's secret is added where needed
  bool writes = false;            // needs the secret
  std::string repeat = "";        // a parameter it takes, to send twice ("" when none)
  std::string argument = "";      // the part of the path to replace by a bad one
  std::string bad_argument = "";  // what replaces it: not UTF-8, or no id
};

// What the store holds before the probes: a key k with two versions on
// main, a branch dev, and their ids.
struct Seed {
  std::string version;  // k's newest version
  std::string older;    // k's first version
  std::string commit;   // main's first commit
};

Seed SeedStore(const ServerStack& stack) {
  auto http = stack.Client();
  auto post = [&](const std::string& fields) {
    REQUIRE(Answer(http->Post("/", AuthField() + "&" + fields, kForm), stack).status == 200);
  };
  post("k=one");
  Seed seed;
  seed.commit = MustGetJson(stack, "/_log?limit=1")["commits"][0]["id"];
  seed.older = MustGetJson(stack, "/_heads/k")["heads"][0]["id"];
  post("k=two&other=x");
  seed.version = MustGetJson(stack, "/_heads/k")["heads"][0]["id"];
  auto branch = http->Post("/_branches", BearerHeaders(), R"({"name": "dev"})", "application/json");
  REQUIRE(Answer(branch, stack).status == 201);
  return seed;
}

std::vector<Example> Examples(const Seed& seed) {
  const std::string v = seed.version;
  return {
      {.pattern = "/", .method = "GET", .target = "/?k=k", .repeat = "format=text"},
      {.pattern = "/",
       .method = "POST",
       .target = "/",
       .body = Body::kForm,
       .content = "k=v",
       .writes = true,
       .repeat = "format=text"},
      {.pattern = "/_static/FILE", .method = "GET", .target = "/_static/kvs.js"},
      {.pattern = "/_ui/keys/KEY",
       .method = "GET",
       .target = "/_ui/keys/k",
       .repeat = "branch=main",
       .argument = "k",
       .bad_argument = "%FF"},
      {.pattern = "/_ui/branches",
       .method = "GET",
       .target = "/_ui/branches?from=dev&into=main",
       .repeat = "from=dev"},
      {.pattern = "/_ui/log",
       .method = "GET",
       .target = "/_ui/log?branch=dev",
       .repeat = "branch=dev"},
      {.pattern = "/_keys", .method = "GET", .target = "/_keys?prefix=k", .repeat = "prefix=k"},
      {.pattern = "/_create",
       .method = "POST",
       .target = "/_create?key=k&prev=" + v,
       .body = Body::kValue,
       .content = "v",
       .writes = true,
       .repeat = "key=k",
       .argument = "key=k",
       .bad_argument = "key=%FF"},
      {.pattern = "/_heads/KEY",
       .method = "GET",
       .target = "/_heads/k",
       .repeat = "format=json",
       .argument = "k",
       .bad_argument = "%FF"},
      {.pattern = "/_tails/KEY",
       .method = "GET",
       .target = "/_tails/k",
       .repeat = "format=json",
       .argument = "k",
       .bad_argument = "%FF"},
      {.pattern = "/_versions/ID",
       .method = "GET",
       .target = "/_versions/" + v,
       .repeat = "format=json",
       .argument = v,
       .bad_argument = "xyz"},
      {.pattern = "/_links/ID",
       .method = "GET",
       .target = "/_links/" + v,
       .repeat = "format=json",
       .argument = v,
       .bad_argument = "xyz"},
      {.pattern = "/_history/ID",
       .method = "GET",
       .target = "/_history/" + v,
       .repeat = "limit=5",
       .argument = v,
       .bad_argument = "xyz"},
      {.pattern = "/_future/ID",
       .method = "GET",
       .target = "/_future/" + seed.older,
       .repeat = "limit=5",
       .argument = seed.older,
       .bad_argument = "xyz"},
      {.pattern = "/_concestor",
       .method = "GET",
       .target = "/_concestor?id=" + v + "&id=" + seed.older,
       .repeat = "format=json",
       .argument = v,
       .bad_argument = "xyz"},
      {.pattern = "/_list", .method = "GET", .target = "/_list?limit=5", .repeat = "limit=5"},
      {.pattern = "/_graph/KEY",
       .method = "GET",
       .target = "/_graph/k?limit=1",
       .repeat = "limit=1",
       .argument = "k",
       .bad_argument = "%FF"},
      {.pattern = "/_branches", .method = "GET", .target = "/_branches"},
      {.pattern = "/_branches",
       .method = "POST",
       .target = "/_branches",
       .body = Body::kJson,
       .content = R"({"name": "probe"})",
       .writes = true},
      {.pattern = "/_branches/NAME",
       .method = "DELETE",
       .target = "/_branches/dev",
       .writes = true,
       .argument = "dev",
       .bad_argument = "%FF"},
      {.pattern = "/_log", .method = "GET", .target = "/_log?limit=5", .repeat = "limit=5"},
      {.pattern = "/_diff",
       .method = "GET",
       .target = "/_diff?from=main&to=dev",
       .repeat = "from=main"},
      {.pattern = "/_reset",
       .method = "POST",
       .target = "/_reset?branch=dev&to=" + seed.commit,
       .writes = true,
       .repeat = "branch=dev",
       .argument = seed.commit,
       .bad_argument = "xyz"},
      {.pattern = "/_merge",
       .method = "POST",
       .target = "/_merge?from=dev&into=main",
       .writes = true,
       .repeat = "from=dev"},
      {.pattern = "/_txn",
       .method = "POST",
       .target = "/_txn",
       .body = Body::kJson,
       .content = R"({"set": {"k": "v"}})",
       .writes = true},
      {.pattern = "/_compact", .method = "POST", .target = "/_compact", .writes = true},
      {.pattern = "/_health", .method = "GET", .target = "/_health"},
      {.pattern = "/_metrics", .method = "GET", .target = "/_metrics"},
      {.pattern = "/_replication", .method = "GET", .target = "/_replication"},
      {.pattern = "/_sync/MESSAGE",
       .method = "POST",
       .target = "/_sync/apply",
       .body = Body::kJson,
       .content =
           R"({"branch": "main", "versions": [], "heads": [], "dropped": [], "may_fork": [],)"
           R"( "peer": "probe", "checkpoint": "{}"})",
       .writes = true,
       .argument = "apply",
       .bad_argument = "xyz"},
      {.pattern = "/_cluster/map", .method = "GET", .target = "/_cluster/map"},
      {.pattern = "/_cluster/map",
       .method = "PUT",
       .target = "/_cluster/map",
       .body = Body::kJson,
       .content = R"({"switch": {"version": 1, "view": ["127.0.0.1:9"], "repl-factor": 1,)"
                  R"( "parts": [[10000, "1"]]}})",
       .writes = true},
      {.pattern = "/kv-store/keys/KEY",
       .method = "GET",
       .target = "/kv-store/keys/key1",
       .argument = "key1",
       .bad_argument = "%FF"},
      {.pattern = "/kv-store/keys/KEY",
       .method = "PUT",
       .target = "/kv-store/keys/key1",
       .body = Body::kJson,
       .content = R"({"value": "v", "causal-context": {}})",
       .writes = true,
       .argument = "key1",
       .bad_argument = "%FF"},
      {.pattern = "/kv-store/keys/KEY",
       .method = "DELETE",
       .target = "/kv-store/keys/k",
       .body = Body::kJson,
       .content = R"({"causal-context": {}})",
       .writes = true,
       .argument = "keys/k",
       .bad_argument = "keys/%FF"},
      {.pattern = "/kv-store/key-count", .method = "GET", .target = "/kv-store/key-count"},
      {.pattern = "/kv-store/shards", .method = "GET", .target = "/kv-store/shards"},
      {.pattern = "/kv-store/shards/ID",
       .method = "GET",
       .target = "/kv-store/shards/1",
       .argument = "shards/1",
       .bad_argument = "shards/9"},
      {.pattern = "/kv-store/view-change",
       .method = "PUT",
       .target = "/kv-store/view-change",
       .body = Body::kJson,
       .content = R"({"view": "127.0.0.1:9", "repl-factor": 1})",
       .writes = true},
      {.pattern = "/keys", .method = "GET", .target = "/keys?prefix=k", .repeat = "prefix=k"},
      {.pattern = "/KEY[/FORK]",
       .method = "GET",
       .target = "/k/main",
       .repeat = "revisions=1",
       .argument = "k",
       .bad_argument = "%FF"},
      {.pattern = "/KEY[/FORK]",
       .method = "PUT",
       .target = "/k/main",
       .body = Body::kValue,
       .content = "v",
       .writes = true,
       .argument = "k",
       .bad_argument = "%FF"},
      {.pattern = "/KEY[/FORK]",
       .method = "DELETE",
       .target = "/k/main",
       .writes = true,
       .argument = "k",
       .bad_argument = "%FF"},
      {.pattern = "/KEY[/FORK]/info",
       .method = "GET",
       .target = "/k/info",
       .repeat = "at=1",
       .argument = "k",
       .bad_argument = "%FF"},
      {.pattern = "/KEY/FORK/fork/TARGET",
       .method = "POST",
       .target = "/k/main/fork/copy",
       .writes = true,
       .argument = "k",
       .bad_argument = "%FF"},
      {.pattern = "/KEY/FORK/merge/TARGET",
       .method = "POST",
       .target = "/k/dev/merge/main",
       .writes = true,
       .repeat = "strategy=lww",
       .argument = "k",
       .bad_argument = "%FF"},
  };
}

const char* ContentType(Body body) {
  switch (body) {
    case Body::kForm:
      return kForm;
    case Body::kJson:
      return "application/json";
    case Body::kValue:
      return "text/plain";
    case Body::kNone:
      return "";
  }
  return "";
}

// One request sent as given, with or without the right secret.
struct Probe {
  std::string what;
  std::string method;
  std::string target;
  std::string content_type;
  std::string content;
  httplib::Headers headers;
  int status = 400;  // what it must answer (0: any 4xx)
};

// target with its query extended by extra ("a=1").
std::string WithQuery(const std::string& target, const std::string& extra) {
  return target + (target.find('?') == std::string::npos ? "?" : "&") + extra;
}

// The probes for one example. secret: the headers and form field that carry it.
std::vector<Probe> ProbesFor(const Example& e, const std::set<std::string>& allowed) {
  const std::string type = ContentType(e.body);
  const bool form = e.body == Body::kForm;
  const std::string authed = form ? AuthField() + "&" + e.content : e.content;
  const httplib::Headers bearer = form ? httplib::Headers() : BearerHeaders();
  std::vector<Probe> probes;
  auto add = [&](std::string what, std::string method, std::string target, std::string content,
                 httplib::Headers headers, int status) {
    probes.push_back({std::move(what), std::move(method), std::move(target), type,
                      std::move(content), std::move(headers), status});
  };
  for (const char* method : {"GET", "POST", "PUT", "DELETE", "PATCH"}) {
    if (allowed.count(method) == 0) add("wrong method", method, e.target, authed, bearer, 405);
  }
  add("an unknown parameter", e.method, WithQuery(e.target, "no_such_parameter=1"), authed, bearer,
      400);
  if (!e.repeat.empty()) {
    add("a repeated parameter", e.method, WithQuery(e.target, e.repeat + "&" + e.repeat), authed,
        bearer, 400);
  }
  add("bad percent-encoding", e.method, WithQuery(e.target, "%zz=1"), authed, bearer, 400);
  if (!e.argument.empty()) {
    std::string target = e.target;
    const size_t at = target.find(e.argument);
    REQUIRE(at != std::string::npos);
    target.replace(at, e.argument.size(), e.bad_argument);
    add("a bad path argument", e.method, target, authed, bearer, 0);
  }
  if (e.method == "POST" || e.method == "PUT") {
    std::string big(300001, 'x');  // max_body_bytes + 1
    add("a body over the limit", e.method, e.target, form ? AuthField() + "&k=" + big : big, bearer,
        413);
  }
  if (e.body == Body::kJson) {
    add("JSON that does not parse", e.method, e.target, R"({"set": )", bearer, 400);
    add("a member named twice", e.method, e.target, R"({"name": "a", "name": "b"})", bearer, 400);
  }
  if (e.writes) {
    add("no secret", e.method, e.target, e.content, {}, 403);
    httplib::Headers wrong = {{"Authorization", "Bearer wrong"}};
    add("a wrong secret", e.method, e.target, form ? "auth=wrong&" + e.content : e.content, wrong,
        403);
  }
  return probes;
}

}  // namespace

TEST_CASE("every route of the table refuses every kind of bad input with a 4xx, writing nothing") {
  // A node of a cluster of its own, so that the cluster face's routes answer.
  StackOptions options;
  options.extra_config += "cluster:\n  self: 127.0.0.1:9\n  view: 127.0.0.1:9\n  repl_factor: 1\n";
  ServerStack stack(options);
  const Seed seed = SeedStore(stack);
  const std::vector<Example> examples = Examples(seed);

  // Every route and method of the table has an example, and every example
  // a route.
  std::map<std::string, std::set<std::string>> table;
  for (const RouteSpec& route : RouteTable()) {
    std::set<std::string>& methods = table[std::string(route.pattern)];
    for (std::string_view rest = route.methods; !rest.empty();) {
      const size_t comma = rest.find(", ");
      methods.insert(std::string(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 2);
    }
  }
  std::set<std::pair<std::string, std::string>> covered;
  for (const Example& e : examples) {
    INFO(e.pattern << " " << e.method);
    REQUIRE(table.count(e.pattern) == 1);
    CHECK(table[e.pattern].count(e.method) == 1);
    covered.insert({e.pattern, e.method});
  }
  for (const auto& [pattern, methods] : table) {
    for (const std::string& method : methods) {
      INFO("the route " << pattern << " takes " << method << ": describe a request for it");
      CHECK((method == "HEAD" || covered.count({pattern, method}) == 1));
    }
  }

  const uint64_t revision = ServedStoreRevision(stack);
  auto http = stack.Client();
  int sent = 0;
  for (const Example& e : examples) {
    for (const Probe& p : ProbesFor(e, table[e.pattern])) {
      INFO(e.pattern << ": " << p.what << ": " << p.method << " " << p.target.substr(0, 200));
      httplib::Request request;
      request.method = p.method;
      request.path = p.target;
      request.headers = p.headers;
      if (p.method != "GET" && p.method != "HEAD") {
        request.body = p.content;
        if (!p.content_type.empty()) request.set_header("Content-Type", p.content_type);
      }
      httplib::Response response;
      httplib::Error error = httplib::Error::Success;
      REQUIRE(http->send(request, response, error));
      INFO(response.status << " " << response.body.substr(0, 300));
      ++sent;
      if (p.status != 0) {
        CHECK(response.status == p.status);
      } else {
        CHECK(response.status / 100 == 4);
      }
      if (response.status == 405) CHECK_FALSE(response.get_header_value("Allow").empty());
      const bool classic = e.pattern == "/";
      if (classic) {
        CHECK_THAT(response.get_header_value("Content-Type"), Catch::StartsWith("text/plain"));
        CHECK(response.body.size() > 1);
      } else {
        CHECK(response.get_header_value("Content-Type") == "application/json");
        nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
        REQUIRE_FALSE(body.is_discarded());
        CHECK(body["status"] == "error");
        CHECK_FALSE(body["message"].get<std::string>().empty());
      }
    }
  }
  CHECK(sent > 200);
  CHECK(ServedStoreRevision(stack) == revision);
}

}  // namespace kvs::server::test
