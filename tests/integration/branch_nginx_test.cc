// Branches, commits and merges end to end: a real nginx in front of the real
// kvs-fcgi, spoken to with cpp-httplib. Two clients committing on one base,
// a branch at a past revision, diff and merge of 100k-key branches that
// differ in 10 keys, dry runs, reset and its undo, and refusals that write
// nothing.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

const httplib::Headers& kBearer = BearerHeaders();

httplib::Response PostJson(const ServerStack& stack, const std::string& path,
                           const nlohmann::json& body) {
  return Answer(stack.Client()->Post(path.c_str(), kBearer, body.dump(), "application/json"),
                stack);
}

httplib::Response Post(const ServerStack& stack, const std::string& path) {
  return Answer(stack.Client()->Post(path.c_str(), kBearer, "", "text/plain"), stack);
}

// Requires a 200 JSON answer and returns it.
nlohmann::json Ok(const httplib::Response& res) {
  INFO(res.body);
  REQUIRE(res.status == 200);
  return nlohmann::json::parse(res.body);
}

std::string ValueOf(const ServerStack& stack, const std::string& key,
                    const std::string& fork = "main") {
  nlohmann::json body = MustGetJson(stack, "/" + key + "/" + fork);
  return body.empty() ? "<none>" : body[0].get<std::string>();
}

std::string HeadCommit(const ServerStack& stack, const std::string& branch = "main") {
  return MustGetJson(stack, "/_log?limit=1&branch=" + branch)["commits"][0]["id"];
}

}  // namespace

TEST_CASE("through nginx, two clients commit on one base: disjoint keys, a counter, a clash") {
  ServerStack stack;
  Ok(PostJson(stack, "/_txn", {{"set", {{"hits", "10"}, {"title", "draft"}}}}));
  const std::string base = HeadCommit(stack);

  // Disjoint keys: both commit.
  Ok(PostJson(stack, "/_txn", {{"base", base}, {"set", {{"a", "from one"}}}}));
  Ok(PostJson(stack, "/_txn", {{"base", base}, {"set", {{"b", "from two"}}}}));
  CHECK(ValueOf(stack, "a") == "from one");
  CHECK(ValueOf(stack, "b") == "from two");

  // A counter both changed: the sum of both deltas.
  Ok(PostJson(stack, "/_txn", {{"base", base}, {"set", {{"hits", "15"}}}}));
  nlohmann::json second =
      Ok(PostJson(stack, "/_txn",
                  {{"base", base}, {"set", {{"hits", "17"}}}, {"merge", {{"hit*", "counter"}}}}));
  CHECK(second["revision"].is_number());
  CHECK(ValueOf(stack, "hits") == "22");

  // The same plain key: 409 naming it, and nothing written (not even the
  // other key of that transaction).
  Ok(PostJson(stack, "/_txn", {{"base", base}, {"set", {{"title", "one's"}}}}));
  const std::string head = HeadCommit(stack);
  httplib::Response clash =
      PostJson(stack, "/_txn", {{"base", base}, {"set", {{"title", "two's"}, {"other", "x"}}}});
  CHECK(clash.status == 409);
  nlohmann::json body = nlohmann::json::parse(clash.body);
  CHECK(body["error"] == "conflict");
  REQUIRE(body["conflicts"].size() == 1);
  CHECK(body["conflicts"][0]["key"] == "title");
  CHECK(HeadCommit(stack) == head);
  CHECK(ValueOf(stack, "title") == "one's");
  CHECK(ValueOf(stack, "other") == "<none>");

  // Without a base a commit goes on the current head; deletes count too.
  Ok(PostJson(stack, "/_txn", {{"set", {{"title", "final"}}}, {"delete", {"a"}}}));
  CHECK(ValueOf(stack, "title") == "final");
  CHECK(ValueOf(stack, "a") == "<none>");
  nlohmann::json log = MustGetJson(stack, "/_log?limit=2");
  CHECK(log["commits"][0]["keys"] == nlohmann::json::array({"a", "title"}));
  CHECK(log["commits"][0]["parents"][0] == log["commits"][1]["id"]);
}

TEST_CASE("through nginx, the config's merge rules apply when the request names none") {
  StackOptions options;
  options.extra_config += "merge:\n  visits/*: counter\n";
  ServerStack stack(options);
  Ok(PostJson(stack, "/_txn", {{"set", {{"visits/home", "100"}}}}));
  const std::string base = HeadCommit(stack);
  Ok(PostJson(stack, "/_txn", {{"base", base}, {"set", {{"visits/home", "101"}}}}));
  Ok(PostJson(stack, "/_txn", {{"base", base}, {"set", {{"visits/home", "102"}}}}));
  CHECK(ValueOf(stack, "visits%2Fhome") == "103");
  // A request's own rule comes first.
  const std::string again = HeadCommit(stack);
  Ok(PostJson(stack, "/_txn", {{"base", again}, {"set", {{"visits/home", "104"}}}}));
  Ok(PostJson(
      stack, "/_txn",
      {{"base", again}, {"set", {{"visits/home", "1"}}}, {"merge", {{"visits/*", "min"}}}}));
  CHECK(ValueOf(stack, "visits%2Fhome") == "1");
  // The request's patterns apply in the order sent, not sorted.
  const std::string third = HeadCommit(stack);
  Ok(PostJson(stack, "/_txn", {{"base", third}, {"set", {{"visits/home", "5"}}}}));
  const std::string body =
      R"({"base": ")" + third +
      R"(", "set": {"visits/home": "9"}, "merge": {"visits/*": "max", "*": "min"}})";
  Ok(Answer(stack.Client()->Post("/_txn", kBearer, body, "application/json"), stack));
  CHECK(ValueOf(stack, "visits%2Fhome") == "9");
}

TEST_CASE("through nginx, a branch made at a past revision sees the past") {
  ServerStack stack;
  Ok(PostJson(stack, "/_txn", {{"set", {{"k", "old"}}}}));
  const uint64_t past = MustGetJson(stack, "/k/info")["revision"];
  Ok(PostJson(stack, "/_txn", {{"set", {{"k", "new"}, {"later", "x"}}}}));
  httplib::Response created = PostJson(stack, "/_branches", {{"name", "then"}, {"at", past}});
  CHECK(created.status == 201);
  CHECK(ValueOf(stack, "k", "then") == "old");
  CHECK(ValueOf(stack, "later", "then") == "<none>");
  nlohmann::json branches = MustGetJson(stack, "/_branches")["branches"];
  REQUIRE(branches.size() == 2);
  CHECK(branches[1]["name"] == "then");  // sorted: main, then
  CHECK(PostJson(stack, "/_branches", {{"name", "then"}}).status == 409);
  // A commit stands for its own branch's state.
  Ok(PostJson(stack, "/_txn", {{"branch", "then"}, {"set", {{"k", "then's"}}}}));
  const std::string then_commit = HeadCommit(stack, "then");
  Ok(PostJson(stack, "/_txn", {{"set", {{"k", "main's"}}}}));
  REQUIRE(PostJson(stack, "/_branches", {{"name", "copy"}, {"at", then_commit}}).status == 201);
  CHECK(ValueOf(stack, "k", "copy") == "then's");
  CHECK(PostJson(stack, "/_branches", {{"name", "c2"}, {"from", "main"}, {"at", then_commit}})
            .status == 400);
  REQUIRE(Answer(stack.Client()->Delete("/_branches/copy", kBearer), stack).status == 200);
  CHECK(PostJson(stack, "/_branches", {{"name", "x"}, {"from", "nope"}}).status == 404);
  CHECK(PostJson(stack, "/_branches", {{"name", "bad name"}}).status == 400);
  // Names a branch may not take: said as a bad name, not as a bad "at".
  for (const std::string& name : {std::string(".hidden"), std::string(64, 'a')}) {
    httplib::Response refused = PostJson(stack, "/_branches", {{"name", name}});
    INFO(refused.body);
    CHECK(refused.status == 400);
    nlohmann::json error = nlohmann::json::parse(refused.body);
    CHECK(error["error"] == "bad_fork");
    CHECK_THAT(error["message"].get<std::string>(), Catch::StartsWith("branch name '" + name));
  }
  CHECK(PostJson(stack, "/_branches", {{"name", "y"}, {"at", "yesterday"}}).status == 400);
  CHECK(Ok(Answer(stack.Client()->Delete("/_branches/then", kBearer), stack))["status"] == "ok");
  CHECK(Answer(stack.Client()->Delete("/_branches/then", kBearer), stack).status == 404);
  CHECK(Answer(stack.Client()->Delete("/_branches/main", kBearer), stack).status == 400);
  CHECK(Answer(stack.Client()->Delete("/_branches/x"), stack).status == 403);
}

TEST_CASE("through nginx, 100k-key branches that differ in 10 keys diff and merge those 10") {
  ServerStack stack;
  {
    auto store = OpenServedStore(stack);
    for (int batch = 0; batch < 10; ++batch) {
      WriteBatch b;
      for (int i = 0; i < 10000; ++i) {
        char key[16];
        std::snprintf(key, sizeof key, "key%06d", batch * 10000 + i);
        b.Put(key, "v0");
      }
      REQUIRE(store->Write(b).ok());
    }
  }
  REQUIRE(PostJson(stack, "/_branches", {{"name", "dev"}}).status == 201);
  // dev changes 6 keys and adds 1; main changes 3 others.
  nlohmann::json dev_set, main_set;
  for (int i : {5, 50, 500, 5000, 50000, 99999}) {
    dev_set["key" + std::string(6 - std::to_string(i).size(), '0') + std::to_string(i)] = "dev";
  }
  dev_set["new-on-dev"] = "dev";
  for (int i : {1, 2, 3}) main_set["key00000" + std::to_string(i)] = "main";
  Ok(PostJson(stack, "/_txn", {{"branch", "dev"}, {"set", dev_set}}));
  Ok(PostJson(stack, "/_txn", {{"set", main_set}}));

  nlohmann::json diff = MustGetJson(stack, "/_diff?from=main&to=dev");
  CHECK(diff["added"].size() == 1);
  CHECK(diff["removed"].size() == 0);
  CHECK(diff["modified"].size() == 9);

  nlohmann::json dry = Ok(Post(stack, "/_merge?from=dev&into=main&dry_run=1"));
  CHECK(dry["dry_run"] == true);
  CHECK(dry["changes"].size() == 7);
  CHECK(dry["conflicts"].empty());
  CHECK(ValueOf(stack, "new-on-dev") == "<none>");  // a dry run writes nothing

  nlohmann::json merged = Ok(Post(stack, "/_merge?from=dev&into=main"));
  CHECK(merged["changes"] == dry["changes"]);
  for (const auto& change : merged["changes"]) {
    CHECK(change["merge"] == "fast_forward");
    CHECK(ValueOf(stack, change["key"]) == change["value"]);
  }
  CHECK(ValueOf(stack, "key000001") == "main");
  CHECK(ValueOf(stack, "key099999") == "dev");
  nlohmann::json after = MustGetJson(stack, "/_diff?from=main&to=dev");
  CHECK(after["added"].empty());
  CHECK(after["modified"].size() == 3);  // main's own changes
  // The merge commit has both heads as parents.
  nlohmann::json log = MustGetJson(stack, "/_log?limit=1");
  CHECK(log["commits"][0]["parents"].size() == 2);
  CHECK(log["commits"][0]["parents"][1] == HeadCommit(stack, "dev"));
  CHECK(Ok(Post(stack, "/_merge?from=dev&into=main"))["changes"].empty());
}

// After a merge the older commits lie on two lines at once; each page must
// continue on both (paging from the last commit's parents lost the merged
// branch's commits).
TEST_CASE("through nginx, /_log pages through a merge one commit at a time, losing none") {
  ServerStack stack;
  Ok(PostJson(stack, "/_txn", {{"set", {{"a", "1"}}}}));
  REQUIRE(PostJson(stack, "/_branches", {{"name", "dev"}}).status == 201);
  Ok(PostJson(stack, "/_txn", {{"branch", "dev"}, {"set", {{"d", "1"}}}}));
  Ok(PostJson(stack, "/_txn", {{"set", {{"m", "1"}}}}));
  Ok(PostJson(stack, "/_txn", {{"branch", "dev"}, {"set", {{"d", "2"}}}}));
  Ok(Post(stack, "/_merge?from=dev&into=main"));
  Ok(PostJson(stack, "/_txn", {{"set", {{"after", "1"}}}}));

  std::vector<std::string> whole;
  const nlohmann::json all = MustGetJson(stack, "/_log?limit=100");
  for (const auto& commit : all["commits"]) whole.push_back(commit["id"]);
  REQUIRE(whole.size() == 6);
  std::vector<std::string> paged;
  std::string path = "/_log?limit=1";
  for (int page = 0; page < 10; ++page) {
    nlohmann::json log = MustGetJson(stack, path);
    for (const auto& commit : log["commits"]) paged.push_back(commit["id"]);
    if (log["next"].is_null()) break;
    path = "/_log?limit=1&before=" + log["next"].get<std::string>();
  }
  CHECK(paged == whole);
}

TEST_CASE("through nginx, a branch merge with conflicts writes nothing unless it keeps both") {
  ServerStack stack;
  Ok(PostJson(stack, "/_txn", {{"set", {{"n", "10"}, {"t", "base"}}}}));
  REQUIRE(PostJson(stack, "/_branches", {{"name", "dev"}}).status == 201);
  Ok(PostJson(stack, "/_txn", {{"branch", "dev"}, {"set", {{"n", "15"}, {"t", "dev"}}}}));
  Ok(PostJson(stack, "/_txn", {{"set", {{"n", "17"}, {"t", "main"}}}}));
  const std::string head = HeadCommit(stack);

  nlohmann::json dry = Ok(Post(stack, "/_merge?from=dev&into=main&dry_run=true"));
  CHECK(dry["conflicts"].size() == 2);
  httplib::Response refused = Post(stack, "/_merge?from=dev&into=main");
  CHECK(refused.status == 409);
  CHECK(nlohmann::json::parse(refused.body)["conflicts"] == dry["conflicts"]);
  CHECK(HeadCommit(stack) == head);

  dry = Ok(Post(stack, "/_merge?from=dev&into=main&strategy=keep&dry_run=1"));
  nlohmann::json kept = Ok(Post(stack, "/_merge?from=dev&into=main&strategy=keep"));
  CHECK(kept["changes"] == dry["changes"]);
  CHECK(MustGetJson(stack, "/t/info")["heads"].size() == 2);
  CHECK(ValueOf(stack, "t") == kept["changes"][1]["value"]);

  CHECK(Post(stack, "/_merge?from=dev&into=main&strategy=nope").status == 400);
  CHECK(Post(stack, "/_merge?from=nope&into=main").status == 404);
  CHECK(Post(stack, "/_merge?from=dev").status == 400);
}

TEST_CASE("through nginx, a reset moves a branch back and a reset to 'previous' undoes it") {
  ServerStack stack;
  Ok(PostJson(stack, "/_txn", {{"set", {{"k", "1"}}}}));
  const std::string first = HeadCommit(stack);
  Ok(PostJson(stack, "/_txn", {{"set", {{"k", "2"}, {"extra", "x"}}}}));
  nlohmann::json reset = Ok(Post(stack, "/_reset?branch=main&to=" + first));
  CHECK(ValueOf(stack, "k") == "1");
  CHECK(ValueOf(stack, "extra") == "<none>");
  // The reset is a commit of its own in the log.
  CHECK(MustGetJson(stack, "/_log?limit=1")["commits"][0]["id"] == reset["commit"]);
  Ok(Post(stack, "/_reset?to=" + reset["previous"].get<std::string>()));
  CHECK(ValueOf(stack, "k") == "2");
  CHECK(ValueOf(stack, "extra") == "x");

  CHECK(Post(stack, "/_reset?to=" + std::string(64, '0')).status == 404);
  CHECK(Post(stack, "/_reset?to=xyz").status == 400);
  CHECK(Post(stack, "/_reset?branch=nope&to=" + first).status == 404);
  CHECK(Answer(stack.Client()->Post(("/_reset?to=" + first).c_str(), "", "text/plain"), stack)
            .status == 403);
}

TEST_CASE("through nginx, a state a compaction removed is 410 Gone on every face") {
  ServerStack stack;
  Ok(PostJson(stack, "/_txn", {{"set", {{"k", "old"}}}}));
  const std::string old_commit = HeadCommit(stack);
  const uint64_t old_revision = MustGetJson(stack, "/k/info")["revision"];
  Ok(PostJson(stack, "/_txn", {{"set", {{"k", "new"}}}}));
  Ok(Post(stack, "/_compact"));
  const uint64_t revision = ServedStoreRevision(stack);

  auto gone = [&](const httplib::Response& res) {
    INFO(res.body);
    CHECK(res.status == 410);
    nlohmann::json body = nlohmann::json::parse(res.body);
    CHECK(body["error"] == "compacted");
    // Says what is gone and what still works.
    CHECK(body["message"].get<std::string>().find("removed by compaction") != std::string::npos);
    CHECK(body["message"].get<std::string>().find("still") != std::string::npos);
  };
  gone(Answer(stack.Client()->Get(("/_diff?from=" + old_commit + "&to=main").c_str()), stack));
  gone(Post(stack, "/_reset?branch=main&to=" + old_commit));
  gone(PostJson(stack, "/_branches", {{"name", "then"}, {"at", old_commit}}));
  gone(PostJson(stack, "/_branches", {{"name", "then"}, {"at", old_revision}}));
  CHECK(ServedStoreRevision(stack) == revision);

  // A key's own history is kept: reading it as of that commit still works,
  // and so does the log.
  CHECK(MustGetJson(stack, "/k?at=" + old_commit)[0] == "old");
  CHECK(MustGetJson(stack, "/_log")["commits"].size() >= 2);
}

TEST_CASE("through nginx, bad transactions are refused and write nothing") {
  ServerStack stack;
  Ok(PostJson(stack, "/_txn", {{"set", {{"k", "v"}}}}));
  const std::string head = HeadCommit(stack);
  auto client = stack.Client();
  for (const std::string& body : {std::string("not json"), std::string("[]"), std::string("{}"),
                                  std::string(R"({"set": {"_k": "v"}})"),
                                  std::string(R"({"set": {"k": "v"}, "delete": ["k"]})"),
                                  std::string(R"({"set": {"k": "v"}, "merge": {"*": "average"}})"),
                                  std::string(R"({"set": {"k": "v"}, "base": "abc"})"),
                                  std::string(R"({"set": {"k": "v"}, "branch": "no such"})"),
                                  std::string(R"({"set": {"k": {"base64": "!!"}}})"),
                                  std::string(R"({"sett": {"k": "v"}})")}) {
    INFO(body);
    httplib::Response res = Answer(client->Post("/_txn", kBearer, body, "application/json"), stack);
    CHECK(res.status == 400);
    CHECK(nlohmann::json::parse(res.body)["status"] == "error");
  }
  CHECK(Answer(client->Post("/_txn", R"({"set": {"k": "x"}})", "application/json"), stack).status ==
        403);
  CHECK(PostJson(stack, "/_txn", {{"set", {{"k", "v"}}}, {"base", std::string(64, 'a')}}).status ==
        404);
  CHECK(PostJson(stack, "/_txn", {{"set", {{"k", "v"}}}, {"branch", "nope"}}).status == 404);
  CHECK(HeadCommit(stack) == head);
  // A binary value goes in as base64.
  Ok(PostJson(stack, "/_txn", {{"set", {{"bin", {{"base64", "AP8="}}}}}}));
  CHECK(MustGetJson(stack, "/bin")[0] == nlohmann::json({{"base64", "AP8="}}));
}

TEST_CASE("through nginx, a transaction's JSON values read back as the same JSON") {
  ServerStack stack;
  const nlohmann::json values = {{"n", 42},
                                 {"pi", 3.5},
                                 {"yes", true},
                                 {"nothing", nullptr},
                                 {"list", {1, "a", nullptr}},
                                 {"obj", {{"x", {{"y", false}}}}},
                                 {"text", "42"}};
  Ok(PostJson(stack, "/_txn", {{"set", values}}));
  for (const auto& [key, value] : values.items()) {
    INFO(key);
    // The REST face: [value, revisions], the value as it was sent.
    CHECK(MustGetJson(stack, "/" + key)[0] == value);
    // The classic face: the value's JSON text, typed as JSON unless it was a string.
    auto raw = Answer(stack.Client()->Get(("/?k=" + key).c_str()), stack);
    CHECK(raw.status == 200);
    CHECK(nlohmann::json::parse(value.is_string() ? "\"" + raw.body + "\"" : raw.body) == value);
    CHECK(raw.get_header_value("Content-Type")
              .starts_with(value.is_string() ? "text/plain" : "application/json"));
    CHECK(MustGetJson(stack, "/?k=" + key + "&format=json")["value"] == value);
  }
  // The version says it was written as JSON, and its value is served as JSON.
  const std::string id = MustGetJson(stack, "/_heads/obj")["heads"][0]["id"];
  CHECK(MustGetJson(stack, "/_versions/" + id)["json"] == true);
  auto value = Answer(stack.Client()->Get(("/_versions/" + id + "/value").c_str()), stack);
  CHECK(value.get_header_value("Content-Type") == "application/json");
  CHECK(nlohmann::json::parse(value.body) == values["obj"]);
  CHECK_FALSE(MustGetJson(stack, "/_heads/text")["heads"][0].contains("json"));

  // A branch merge shows and keeps them as JSON.
  REQUIRE(PostJson(stack, "/_branches", {{"name", "dev"}}).status == 201);
  Ok(PostJson(stack, "/_txn", {{"branch", "dev"}, {"set", {{"n", {{"answer", 42}}}}}}));
  nlohmann::json dry = Ok(Post(stack, "/_merge?from=dev&into=main&dry_run=1"));
  CHECK(dry["changes"][0]["value"] == nlohmann::json({{"answer", 42}}));
  Ok(Post(stack, "/_merge?from=dev&into=main"));
  CHECK(MustGetJson(stack, "/n")[0] == nlohmann::json({{"answer", 42}}));
}

TEST_CASE(
    "through nginx, a JSON body naming a member twice or not parsing is refused, saying where") {
  ServerStack stack;
  Ok(PostJson(stack, "/_txn", {{"set", {{"k", "v"}}}}));
  const std::string head = HeadCommit(stack);
  auto client = stack.Client();
  struct Case {
    std::string path;
    std::string body;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"/_txn", R"({"set": {"a": "1"}, "set": {"b": "2"}})",
       "the JSON body names the member \"set\" twice in the top-level object"},
      {"/_txn", R"({"set": {"a": "1", "a": "2"}})", "\"a\" twice in the object at /set"},
      {"/_txn", R"({"set": {"a": "1"}, "delete": ["b"], "delete": ["c"]})", "\"delete\" twice"},
      {"/_txn", R"({"set": {"a": "1",}})",
       "at byte 18, syntax error while parsing object key - unexpected '}'; expected string "
       "literal"},
      {"/_branches", R"({"name": "x", "name": "y"})", "\"name\" twice in the top-level object"},
      {"/_branches", R"({"name": dev})", "at byte 9, syntax error"},
  };
  for (const Case& c : cases) {
    INFO(c.path << " " << c.body);
    httplib::Response res =
        Answer(client->Post(c.path.c_str(), kBearer, c.body, "application/json"), stack);
    CHECK(res.status == 400);
    CHECK(res.get_header_value("Content-Type") == "application/json");
    CHECK_THAT(nlohmann::json::parse(res.body)["message"].get<std::string>(),
               Catch::Contains(c.message));
  }
  CHECK(HeadCommit(stack) == head);
  CHECK(ValueOf(stack, "a") == "<none>");
  CHECK(ValueOf(stack, "b") == "<none>");
  CHECK(MustGetJson(stack, "/_branches")["branches"].size() == 1);
}

}  // namespace kvs::server::test
