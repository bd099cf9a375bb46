// kvs next to a running server: a real nginx and kvs-fcgi (the fcgi
// harness's ServerStack) serve the store directory that the command line
// writes, and each sees the other's writes.
#include <catch2/catch.hpp>

#include "tests/cli/kvs_runner.h"
#include "tests/harness/service_fixture.h"

namespace kvs::cli::test {
namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";

// The store directory the stack's config names as data_dir.
std::string StoreDir(const server::test::ServerStack& stack) { return stack.dir() + "/kvs-data"; }

// GET /?k=key: the status and body.
std::pair<int, std::string> HttpGet(const server::test::ServerStack& stack,
                                    const std::string& key) {
  auto res = stack.Client()->Get(("/?k=" + key).c_str());
  INFO(stack.Logs());
  REQUIRE(res);
  return {res->status, res->body};
}

void HttpPost(const server::test::ServerStack& stack, const std::string& fields) {
  auto res = stack.Client()->Post("/", server::test::AuthField() + "&" + fields, kForm);
  INFO(stack.Logs());
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
}

}  // namespace

TEST_CASE("the server reads what kvs put writes while it serves the store") {
  server::test::ServerStack stack;
  std::string dir = StoreDir(stack);
  HttpPost(stack, "warm=up");  // the server has the store open
  CHECK(HttpGet(stack, "greeting").first == 404);

  MustKvs(dir, {"put", "greeting", "hello from the command line"});
  CHECK(HttpGet(stack, "greeting") ==
        std::pair<int, std::string>{200, "hello from the command line"});
  MustKvs(dir, {"put", "greeting", "changed"});
  CHECK(HttpGet(stack, "greeting") == std::pair<int, std::string>{200, "changed"});
}

TEST_CASE("kvs reads what the server writes, and they take turns on one key") {
  server::test::ServerStack stack;
  std::string dir = StoreDir(stack);
  HttpPost(stack, "greeting=hello+over+http&other=x");
  CHECK(MustKvs(dir, {"get-key", "greeting"}) == "hello over http");
  CHECK(MustKvs(dir, {"keys"}) == "greeting\nother\n");

  MustKvs(dir, {"put", "greeting", "from kvs"});
  HttpPost(stack, "greeting=from+http+again");
  CHECK(MustKvs(dir, {"get-key", "greeting"}) == "from http again");
  // One history: http, kvs, http again, each replacing the one before.
  std::string head = MustKvs(dir, {"forks", "greeting"});
  REQUIRE(Lines(head).size() == 1);
  std::string tree = MustKvs(dir, {"history", head.substr(0, 64)});
  CHECK(Lines(tree).size() == 3);
}

TEST_CASE("a fork made with kvs create shows as a conflict to the server's readers") {
  server::test::ServerStack stack;
  std::string dir = StoreDir(stack);
  HttpPost(stack, "doc=first");
  std::string first = MustKvs(dir, {"forks", "doc"}).substr(0, 64);
  Create(dir, "doc", "edit one", {first});
  std::string newer = Create(dir, "doc", "edit two", {first});
  // The server answers with the winner, the newer edit.
  CHECK(HttpGet(stack, "doc") == std::pair<int, std::string>{200, "edit two"});
  CHECK(Lines(MustKvs(dir, {"forks", "doc"})).front() == newer);
  // A plain write over HTTP merges both heads.
  HttpPost(stack, "doc=merged");
  CHECK(Lines(MustKvs(dir, {"forks", "doc"})).size() == 1);
}

TEST_CASE("the server goes on serving after kvs compacts twice while it is idle") {
  // kvs gc from cron beside a quiet server: the server still holds the
  // data file of two generations ago when the next request comes.
  server::test::ServerStack stack;
  std::string dir = StoreDir(stack);
  HttpPost(stack, "greeting=hello&other=x");
  MustKvs(dir, {"compact"});
  MustKvs(dir, {"compact"});
  CHECK(HttpGet(stack, "greeting") == std::pair<int, std::string>{200, "hello"});
  HttpPost(stack, "greeting=after+two+compactions");
  CHECK(MustKvs(dir, {"get-key", "greeting"}) == "after two compactions");
  MustKvs(dir, {"compact"});
  HttpPost(stack, "greeting=and+one+more");
  CHECK(HttpGet(stack, "greeting") == std::pair<int, std::string>{200, "and one more"});
}
}  // namespace kvs::cli::test
