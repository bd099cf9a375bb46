// Many processes on one store, as a user's machine has them: kvs-fcgi
// behind nginx serving a steady load of reads and writes while other
// processes run kvs compact, gc, put, check and import in a loop, with
// random pauses, many compactions deep (cron jobs beside a busy server).
// Every HTTP request must be answered 2xx, every command must succeed, and
// afterwards every acknowledged write must be readable from the server,
// from a kvs process and from this one.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "tests/cli/kvs_runner.h"
#include "tests/harness/service_fixture.h"
#include "tests/store/test_util.h"

namespace kvs::cli::test {
namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";

// Acknowledged writes: key -> the value it must read back.
class Acked {
 public:
  void Add(const std::string& key, const std::string& value) {
    std::lock_guard<std::mutex> lock(mu_);
    values_[key] = value;
  }
  std::map<std::string, std::string> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return values_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> values_;
};

// The HTTP side: each client writes keys of its own (one new key and an
// update of its own hot key per round) and reads back what it wrote last,
// counting every answer that is not 2xx or not what it wrote. Its rounds
// come in bursts with pauses, so that compactions also pass while the
// server is idle.
class HttpLoad {
 public:
  HttpLoad(const server::test::ServerStack& stack, Acked* acked) : stack_(stack), acked_(acked) {}

  void Start(int clients) {
    for (int c = 0; c < clients; ++c) threads_.emplace_back([this, c] { Run(c); });
  }
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) t.join();
  }
  int requests() const { return requests_; }
  int failures() const { return failures_; }
  std::string first_failure() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_failure_;
  }

 private:
  void Run(int client) {
    auto http = stack_.Client();
    std::mt19937 random(client);
    const std::string hot = "hot-" + std::to_string(client);
    for (int i = 0; !stop_; ++i) {
      if (random() % 8 == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(random() % 600));
      }
      const std::string key = "http-" + std::to_string(client) + "-" + std::to_string(i);
      const std::string value = "v" + std::to_string(i);
      auto wrote = http->Post(
          "/", server::test::AuthField() + "&" + key + "=" + value + "&" + hot + "=" + value,
          kForm);
      if (Expect(wrote, "POST " + key, "")) {
        acked_->Add(key, value);
        acked_->Add(hot, value);
      }
      Expect(http->Get(("/?k=" + hot).c_str()), "GET " + hot, value);
      Expect(http->Get("/_log?limit=5"), "GET /_log", "");
    }
  }

  // Counts the answer; true when it is a 2xx with body want ("" for any).
  bool Expect(const httplib::Result& res, const std::string& what, const std::string& want) {
    ++requests_;
    std::string problem;
    if (!res) {
      problem = "no answer: " + httplib::to_string(res.error());
    } else if (res->status / 100 != 2 || (!want.empty() && res->body != want)) {
      problem = std::to_string(res->status) + " " + res->body;
    }
    if (problem.empty()) return true;
    ++failures_;
    std::lock_guard<std::mutex> lock(mu_);
    if (first_failure_.empty()) first_failure_ = what + ": " + problem;
    return false;
  }

  const server::test::ServerStack& stack_;
  Acked* acked_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> failures_{0};
  std::mutex mu_;
  std::string first_failure_;  // Guarded by mu_
};

}  // namespace

TEST_CASE("a busy server and kvs commands in other processes lose nothing, many compactions deep") {
  server::test::StackOptions options;
  options.extra_config +=
      "retention:\n"
      "  prefixes:\n"
      "    scratch/: {keep_last: 2}\n";
  server::test::ServerStack stack(options);
  const std::string store = stack.dir() + "/kvs-data";
  Acked acked;
  HttpLoad load(stack, &acked);
  load.Start(3);

  // The command-line side: a random mix, each command a process of its
  // own, until at least kCompactions compactions ran.
  constexpr int kCompactions = 16;
  std::mt19937 random(20261204);
  int compactions = 0;
  for (int round = 0; compactions < kCompactions; ++round) {
    INFO("round " << round);
    const std::string n = std::to_string(round);
    switch (random() % 6) {
      case 0:
        MustKvs(store, {"compact"});
        ++compactions;
        break;
      case 1:
        MustKvs(stack.dir(), {"gc"});  // the server's kvs.yaml: its retention
        ++compactions;
        break;
      case 2:
        MustKvs(store, {"put", "cli-" + n, "put " + n});
        acked.Add("cli-" + n, "put " + n);
        MustKvs(store, {"put", "scratch/x", n});
        break;
      case 3:
        CHECK_THAT(MustKvs(store, {"check"}), Catch::EndsWith("problems: 0\n"));
        break;
      case 4:
        MustKvs(store, {"import", "-"}, "import-" + n + "-a: one\nimport-" + n + "-b: two\n");
        acked.Add("import-" + n + "-a", "one");
        acked.Add("import-" + n + "-b", "two");
        break;
      case 5:
        CHECK(MustKvs(store, {"get-key", "hot-0"}).starts_with("v"));
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 200));
  }
  load.Stop();
  INFO(load.first_failure());
  CHECK(load.failures() == 0);
  CHECK(load.requests() > 100);

  // Every acknowledged write, from every process.
  const std::map<std::string, std::string> want = acked.Snapshot();
  auto http = stack.Client();
  for (const auto& [key, value] : want) {
    auto res = http->Get(("/?k=" + key).c_str());
    REQUIRE(res);
    INFO("GET " << key);
    CHECK(res->status == 200);
    CHECK(res->body == value);
  }
  std::map<std::string, std::string> exported;
  for (const std::string& line : Lines(MustKvs(store, {"export"}))) {
    nlohmann::json entry = nlohmann::json::parse(line);
    exported[entry["key"]] = entry["value"];
  }
  auto here = kvs::test::OpenStore(store);
  for (const auto& [key, value] : want) {
    INFO(key);
    CHECK(exported[key] == value);
    CHECK(kvs::test::ValueOf(here.get(), key) == value);
  }
  CHECK(here->Check()->ok());
}

}  // namespace kvs::cli::test
