// Background replication between two real servers: kvs-fcgi behind nginx
// each, one configured (replication: section) to replicate with the other,
// and GET /_replication showing how it goes.
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "tests/harness/server_stack.h"
#include "tests/harness/service_fixture.h"

namespace kvs::server::test {
namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";

void Post(const ServerStack& stack, const std::string& fields) {
  auto res = stack.Client()->Post("/", AuthField() + "&" + fields, kForm);
  INFO(stack.Logs());
  REQUIRE(res);
  REQUIRE(res->status == 200);
}

// GET /?k=key until it answers value, for up to 30 s (runs every second).
bool Eventually(const ServerStack& stack, const std::string& key, const std::string& value) {
  for (int i = 0; i < 300; ++i) {
    auto res = stack.Client()->Get("/?k=" + key);
    if (res && res->status == 200 && res->body == value) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// The config lines that make a server replicate with url every second
// (secret_file: none when empty).
std::string ReplicateWith(const std::string& url, const std::string& mode,
                          const std::string& secret_file) {
  return "replication:\n  - url: " + url + "\n    mode: " + mode + "\n    interval: 1s\n" +
         (secret_file.empty() ? "" : "    secret_file: " + secret_file + "\n");
}

// POST /_sync/wait for a change after revision, waiting up to timeout_ms:
// the answer's body, or why there is none. No test macros: waits run on
// threads of their own, and Catch's are for the test's thread only.
std::string Wait(const ServerStack& stack, uint64_t revision, int timeout_ms) {
  const std::string body = "{\"revision\":" + std::to_string(revision) +
                           ",\"branches\":[],\"prefix\":\"\",\"timeout_ms\":" +
                           std::to_string(timeout_ms) + "}";
  auto res = stack.Client()->Post("/_sync/wait", body, "application/json");
  if (!res) return "no answer: " + httplib::to_string(res.error());
  if (res->status != 200) return "status " + std::to_string(res->status) + ": " + res->body;
  return res->body;
}

// A wait's answer as JSON, failing the test when it is not one.
nlohmann::json WaitAnswer(const std::string& body) {
  INFO(body);
  auto answer = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  REQUIRE(answer.is_object());
  return answer;
}

}  // namespace

TEST_CASE("a live peer sees the other server's writes as they happen") {
  ServerStack a;
  StackOptions options;
  options.extra_config += ReplicateWith("http://127.0.0.1:" + std::to_string(a.port()), "sync",
                                        a.dir() + "/auth.txt") +
                          "    live: true\n";
  ServerStack b(options);
  for (int i = 0; i < 3; ++i) {
    Post(a, "k=a" + std::to_string(i));
    CHECK(Eventually(b, "k", "a" + std::to_string(i)));
    Post(b, "k=b" + std::to_string(i));
    CHECK(Eventually(a, "k", "b" + std::to_string(i)));
  }
  nlohmann::json peer = MustGetJson(b, "/_replication")["peers"][0];
  INFO(peer.dump());
  CHECK(peer["live"] == true);
  CHECK(peer["failures"] == 0);
  CHECK(peer["versions_received"].get<int>() >= 3);
  CHECK(peer["versions_sent"].get<int>() >= 3);
}

TEST_CASE("POST /_sync/wait is a long poll that a write ends, and too many waiting get busy") {
  ServerStack stack;
  const uint64_t now = ServedStoreRevision(stack);
  // Nothing changes: the wait ends by its timeout.
  nlohmann::json idle = WaitAnswer(Wait(stack, now, 50));
  CHECK(idle["changed"] == false);
  CHECK(idle["busy"] == false);
  CHECK(idle["revision"] == now);

  // kvs-fcgi runs 16 worker threads by default, and lets 4 of them wait:
  // of five waits, one answers at once, busy, and the others hold.
  std::vector<std::future<std::string>> waits;
  for (int i = 0; i < 5; ++i) {
    waits.push_back(std::async(std::launch::async, [&] { return Wait(stack, now, 20000); }));
  }
  size_t first = waits.size();
  while (first == waits.size()) {
    for (size_t i = 0; i < waits.size() && first == waits.size(); ++i) {
      if (waits[i].wait_for(std::chrono::milliseconds(10)) == std::future_status::ready) first = i;
    }
  }
  nlohmann::json busy = WaitAnswer(waits[first].get());
  CHECK(busy["busy"] == true);
  CHECK(busy["changed"] == false);
  // The other threads still serve, and a write ends every wait.
  Post(stack, "woken=yes");
  for (size_t i = 0; i < waits.size(); ++i) {
    if (i == first) continue;
    nlohmann::json answer = WaitAnswer(waits[i].get());
    CHECK(answer["changed"] == true);
    CHECK(answer["busy"] == false);
  }
}

TEST_CASE("a long poll held as long as kvs allows is answered through nginx, not cut") {
  // kvs holds a wait 25 s at most, whatever it asks for; nginx must wait
  // longer than that for the answer (the template's fastcgi_read_timeout),
  // or a replica's every idle wait would end in a 504.
  ServerStack stack;
  const uint64_t now = ServedStoreRevision(stack);
  nlohmann::json answer = WaitAnswer(Wait(stack, now, 60000));
  CHECK(answer["changed"] == false);
  CHECK(answer["busy"] == false);
  CHECK(answer["revision"] == now);
}

TEST_CASE("a server configured to sync with another exchanges writes both ways by itself") {
  ServerStack a;
  StackOptions options;
  options.extra_config +=
      ReplicateWith("http://127.0.0.1:" + std::to_string(a.port()), "sync", a.dir() + "/auth.txt");
  ServerStack b(options);

  Post(a, "from-a=hello+b");
  Post(b, "from-b=hello+a");
  CHECK(Eventually(b, "from-a", "hello b"));
  CHECK(Eventually(a, "from-b", "hello a"));

  // b counts what it sent once the push that a has already applied has
  // answered: wait for that round to end.
  nlohmann::json status;
  for (int i = 0; i < 100; ++i) {
    status = MustGetJson(b, "/_replication");
    if (status["peers"].size() == 1 && status["peers"][0]["versions_sent"].get<int>() >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(status.dump());
  CHECK(status["running"] == true);
  REQUIRE(status["peers"].size() == 1);
  const nlohmann::json& peer = status["peers"][0];
  CHECK(peer["mode"] == "sync");
  CHECK(peer["failures"] == 0);
  CHECK(peer["last_error"].is_null());
  CHECK(peer["last_success"].is_string());
  CHECK(peer["versions_received"].get<int>() >= 1);
  CHECK(peer["versions_sent"].get<int>() >= 1);
  // The server that is only a peer runs no replication of its own.
  CHECK(MustGetJson(a, "/_replication")["peers"].empty());
}

TEST_CASE("a peer that cannot be reached shows as backing off with its error") {
  StackOptions options;
  options.extra_config +=
      ReplicateWith("http://127.0.0.1:" + std::to_string(FreePort()), "pull", "");
  ServerStack b(options);
  nlohmann::json peer;
  for (int i = 0; i < 100; ++i) {
    peer = MustGetJson(b, "/_replication")["peers"][0];
    if (peer["failures"].get<int>() >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(peer.dump());
  CHECK(peer["state"] == "backing off");
  CHECK(peer["failures"].get<int>() >= 1);
  CHECK(peer["last_error"].is_string());
  CHECK(peer["last_success"].is_null());
  CHECK(peer["lag_revisions"].is_null());
}

}  // namespace kvs::server::test
