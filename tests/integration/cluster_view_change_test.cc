// View changes on a real cluster (tests/harness/test_cluster.h), under
// load: from four nodes in two shards of two replicas, a fifth joins (a
// replica more for one shard: no key changes shard), then the cluster
// shrinks to three shards of one node (a third of the keys change shard).
// Every acknowledged write stays readable with its value, only the keys
// whose owner changes move, and the key counts add up after each change.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "common/cluster_map.h"
#include "tests/harness/test_cluster.h"

namespace kvs::server::test {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

constexpr int kKeys = 300;
constexpr int kHotKeys = 40;  // the writer updates these during the changes

std::string KeyName(int i) { return "key" + std::to_string(i); }

// The map a node routes by.
common::ClusterMap ActiveMap(int port) {
  ClusterAnswer map = Send(port, "GET", "/_cluster/map", Json());
  REQUIRE(map.status == 200);
  return common::ClusterMap::FromJson(nlohmann::ordered_json::parse(map.body["active"].dump()))
      .value();
}

// The version of the map a node routes by; 0 when it does not answer.
uint64_t ActiveVersion(int port) {
  ClusterAnswer map = Send(port, "GET", "/_cluster/map", Json());
  return map.status == 200 ? map.body["active"]["version"].get<uint64_t>() : 0;
}

// The sum of every shard's key count, as a node reports them; nullopt when
// a request failed or the node switched maps meanwhile.
std::optional<uint64_t> CountedKeys(int port) {
  const uint64_t version = ActiveVersion(port);
  ClusterAnswer shards = Send(port, "GET", "/kv-store/shards", Json());
  if (shards.status != 200) return std::nullopt;
  uint64_t total = 0;
  for (const Json& id : shards.body["shards"]) {
    ClusterAnswer info = Send(port, "GET", "/kv-store/shards/" + id.get<std::string>(), Json());
    if (info.status != 200) return std::nullopt;
    total += info.body["key-count"].get<uint64_t>();
  }
  if (ActiveVersion(port) != version) return std::nullopt;
  return total;
}

// Samples a node's key counts until stopped: the totals that did not add up.
class Counter {
 public:
  explicit Counter(int port)
      : thread_([this, port] {
          while (!stop_) {
            if (auto total = CountedKeys(port)) {
              ++samples_;
              if (*total != kKeys) {
                std::lock_guard<std::mutex> lock(mu_);
                wrong_.push_back(*total);
              }
            }
          }
        }) {}
  ~Counter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<uint64_t> wrong() {
    std::lock_guard<std::mutex> lock(mu_);
    return wrong_;
  }
  int samples() const { return samples_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> samples_{0};
  std::mutex mu_;
  std::vector<uint64_t> wrong_;  // Guarded by mu_
  std::thread thread_;
};

// Writes the hot keys over and over through one node, carrying its
// context, until stopped; remembers each key's last acknowledged value.
class Writer {
 public:
  explicit Writer(int port) : port_(port), thread_([this] { Run(); }) {}
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::map<std::string, std::string> acked() {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }
  Json context() {
    std::lock_guard<std::mutex> lock(mu_);
    return context_;
  }
  int writes() const { return writes_; }
  std::string failure() {
    std::lock_guard<std::mutex> lock(mu_);
    return failure_;
  }

 private:
  void Run() {
    for (int round = 0; !stop_; ++round) {
      const std::string key = KeyName(round % kHotKeys);
      const std::string value = "w" + std::to_string(round);
      ClusterAnswer put = Send(port_, "PUT", "/kv-store/keys/" + key, Put(value, context()));
      std::lock_guard<std::mutex> lock(mu_);
      if (put.status == 200 || put.status == 201) {
        acked_[key] = value;
        context_ = put.body["causal-context"];
        ++writes_;
      } else if (put.status != 503) {  // 503: ask again later, as the seed's clients do
        failure_ = "PUT " + key + ": " + std::to_string(put.status) + " " + put.body.dump();
        return;
      }
    }
  }

  const int port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> writes_{0};
  std::mutex mu_;
  std::map<std::string, std::string> acked_;  // Guarded by mu_
  Json context_ = Json::object();             // Guarded by mu_
  std::string failure_;                       // Guarded by mu_
  std::thread thread_;
};

// Reads every key through port with context: the value each must hold.
void RequireValues(int port, const Json& context, const std::map<std::string, std::string>& acked) {
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = KeyName(i);
    auto it = acked.find(key);
    const std::string want = it != acked.end() ? it->second : "v" + std::to_string(i);
    ClusterAnswer read;
    const auto deadline = Clock::now() + kConvergeTimeout;
    do {
      read = Send(port, "GET", "/kv-store/keys/" + key, WithContext(context));
    } while (read.status == 503 && Clock::now() < deadline);
    INFO(key << ": " << read.body.dump());
    REQUIRE(read.status == 200);
    CHECK(read.body["value"] == want);
  }
}

// Keys out of kKeys whose shard differs between two maps.
int Moved(const common::ClusterMap& from, const common::ClusterMap& to) {
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) moved += from.ShardOfKey(KeyName(i)) != to.ShardOfKey(KeyName(i));
  return moved;
}

TEST_CASE("view changes under load keep every key, move only what changes owner, and add up") {
  TestCluster cluster(4, 2, /*joining=*/1, "  grace: 2s\n");
  INFO(cluster.Logs());
  for (int i = 0; i < kKeys; ++i) {
    ClusterAnswer put = Send(cluster.front_port(), "PUT", "/kv-store/keys/" + KeyName(i),
                             Put("v" + std::to_string(i)));
    REQUIRE(put.status == 201);
  }
  const common::ClusterMap first = ActiveMap(cluster.port(0));
  // The fifth node is in no shard yet: it forwards, and owns nothing.
  ClusterAnswer joining = Send(cluster.port(4), "GET", "/kv-store/keys/" + KeyName(1), Json());
  CHECK(joining.status == 200);
  CHECK(joining.body.contains("address"));
  CHECK(Send(cluster.port(4), "GET", "/kv-store/key-count", Json()).body["key-count"] == 0);

  Writer writer(cluster.port(0));
  // Key counts, asked of a node that stays, while the view changes.
  Counter counter(cluster.port(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  // 4 -> 5 nodes: the fifth becomes a replica of shard 1.
  ClusterAnswer grow = Send(cluster.port(1), "PUT", "/kv-store/view-change",
                            Json{{"view", cluster.ViewOf({0, 1, 2, 3, 4})}, {"repl-factor", 2}});
  INFO(grow.body.dump());
  REQUIRE(grow.status == 200);
  CHECK(grow.body["message"] == "View change successful");
  REQUIRE(grow.body["shards"].size() == 2);
  CHECK(grow.body["shards"][0]["replicas"] ==
        Json{cluster.address(0), cluster.address(2), cluster.address(4)});
  const common::ClusterMap second = ActiveMap(cluster.port(4));
  CHECK(second.version() == 2);
  CHECK(Moved(first, second) == 0);
  // The new replica holds its shard's keys: it counts them as its own.
  CHECK(Send(cluster.port(4), "GET", "/kv-store/key-count", Json()).body["key-count"] ==
        grow.body["shards"][0]["key-count"]);

  // 5 -> 3 nodes, a shard each: the third shard takes a third of the keys.
  ClusterAnswer shrink = Send(cluster.port(3), "PUT", "/kv-store/view-change",
                              Json{{"view", cluster.ViewOf({0, 1, 2})}, {"repl-factor", 1}});
  INFO(shrink.body.dump());
  REQUIRE(shrink.status == 200);
  REQUIRE(shrink.body["shards"].size() == 3);
  const common::ClusterMap third = ActiveMap(cluster.port(2));
  CHECK(third.version() == 3);
  const int moved = Moved(second, third);
  CHECK(moved > kKeys / 5);
  CHECK(moved < kKeys / 2);
  for (int i = 0; i < kKeys; ++i) {
    // Only the new shard takes keys; the others keep theirs.
    if (second.ShardOfKey(KeyName(i)) != third.ShardOfKey(KeyName(i))) {
      CHECK(third.ShardOfKey(KeyName(i)) == 2u);
    }
  }

  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  counter.Stop();
  CHECK(counter.samples() > 0);
  CHECK(counter.wrong().empty());
  writer.Stop();
  INFO(writer.failure());
  REQUIRE(writer.failure().empty());
  CHECK(writer.writes() > 0);
  // Every key, through any node of the new view and through a node that
  // left it (which forwards), with the writer's context.
  for (size_t node : {0, 2, 3}) RequireValues(cluster.port(node), writer.context(), writer.acked());
  // The counts add up on every node of the view: the keys the old owners
  // still hold are not counted as theirs.
  for (size_t node : {0, 1, 2}) CHECK(CountedKeys(cluster.port(node)) == uint64_t{kKeys});
  CHECK(Send(cluster.port(4), "GET", "/kv-store/key-count", Json()).body["key-count"] == 0);

  // The front's config, written again, routes by the map the nodes follow.
  ProgramRun front = RunProgram({KVS_FCGI_BINARY, "--config", cluster.stack(0).dir() + "/kvs.yaml",
                                 "--cluster-front", "127.0.0.1:1"},
                                "");
  CHECK(front.exit_code == 0);
  CHECK_THAT(front.output,
             Catch::Contains("upstream kvs_shard_3 {\n        server " + cluster.address(2) + ";"));

  // The same view change again changes nothing.
  ClusterAnswer again = Send(cluster.port(0), "PUT", "/kv-store/view-change",
                             Json{{"view", cluster.ViewOf({0, 1, 2})}, {"repl-factor", 1}});
  CHECK(again.status == 200);
  CHECK(ActiveMap(cluster.port(0)).version() == 3);
  // After the grace period, the old owners are no longer pulled from.
  const auto deadline = Clock::now() + kConvergeTimeout;
  ClusterAnswer map;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    map = Send(cluster.port(2), "GET", "/_cluster/map", Json());
  } while (!map.body["previous"].is_null() && Clock::now() < deadline);
  CHECK(map.body["previous"].is_null());
  CHECK(map.body["pulls"].empty());  // shard 3 has one replica: nothing to pull

  // Then each node drops the keys it no longer owns: those that left the
  // view hold none.
  for (size_t node : {0, 1, 2, 3, 4}) {
    const Json owned =
        Send(cluster.port(node), "GET", "/kv-store/key-count", Json()).body["key-count"];
    Json held;
    const auto drop_deadline = Clock::now() + kConvergeTimeout;
    do {
      held = Send(cluster.port(node), "GET", "/_keys?prefix=key&limit=1000", Json()).body;
      if (held["keys"].size() == owned.get<size_t>()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } while (Clock::now() < drop_deadline);
    INFO("node " << node);
    CHECK(held["keys"].size() == owned.get<size_t>());
    if (node >= 3) CHECK(owned == 0);
  }
  RequireValues(cluster.port(3), writer.context(), writer.acked());
}

TEST_CASE("a second view change while one is under way is refused") {
  TestCluster cluster(2, 1, /*joining=*/1);
  INFO(cluster.Logs());
  // A view change left prepared, as a coordinator that stopped would leave
  // it: node 0 moves to a map that node 1 has not heard of.
  const common::ClusterMap first = ActiveMap(cluster.port(0));
  const common::ClusterMap next =
      first.Next({cluster.address(0), cluster.address(1), cluster.address(2)}, 1).value();
  ClusterAnswer prepared = Send(cluster.port(0), "PUT", "/_cluster/map",
                                Json{{"prepare", Json::parse(next.ToJson().dump())}});
  REQUIRE(prepared.status == 200);
  ClusterAnswer other = Send(cluster.port(0), "PUT", "/kv-store/view-change",
                             Json{{"view", cluster.ViewOf({0})}, {"repl-factor", 1}});
  CHECK(other.status == 409);
  CHECK(other.body["error"] == "Another view change is under way");
  // The one under way, sent again, finishes.
  ClusterAnswer finish = Send(cluster.port(0), "PUT", "/kv-store/view-change",
                              Json{{"view", cluster.ViewOf({0, 1, 2})}, {"repl-factor", 1}});
  INFO(finish.body.dump());
  CHECK(finish.status == 200);
  for (size_t node : {0, 1, 2}) CHECK(ActiveMap(cluster.port(node)).version() == 2);
  // A step that is not one is a 400; without the secret, a 403.
  const Json active = Send(cluster.port(1), "GET", "/_cluster/map", Json()).body["active"];
  CHECK(Send(cluster.port(1), "PUT", "/_cluster/map", Json{{"switch", 2}}).status == 400);
  CHECK(Send(cluster.port(1), "PUT", "/_cluster/map", Json{{"switch", active}}).status == 200);
  CHECK(Send(cluster.port(1), "PUT", "/_cluster/map", Json{{"switch", active}}, false).status ==
        403);
  // A map this node does not move to is refused.
  Json unknown = active;
  unknown["version"] = 9;
  CHECK(Send(cluster.port(1), "PUT", "/_cluster/map", Json{{"switch", unknown}}).status == 409);
}

TEST_CASE("two view changes begun at once: one wins, alike on every node") {
  TestCluster cluster(2, 1, /*joining=*/2);
  INFO(cluster.Logs());
  for (int i = 0; i < 50; ++i) {
    REQUIRE(Send(cluster.front_port(), "PUT", "/kv-store/keys/" + KeyName(i), Put("v")).status ==
            201);
  }
  // Each takes in another joining node, through another coordinator.
  const std::vector<std::string> views = {cluster.ViewOf({0, 1, 2}), cluster.ViewOf({0, 1, 3})};
  ClusterAnswer answers[2];
  std::thread other([&] {
    answers[1] = Send(cluster.port(1), "PUT", "/kv-store/view-change",
                      Json{{"view", views[1]}, {"repl-factor", 1}});
  });
  answers[0] = Send(cluster.port(0), "PUT", "/kv-store/view-change",
                    Json{{"view", views[0]}, {"repl-factor", 1}});
  other.join();
  INFO(answers[0].body.dump() << "\n" << answers[1].body.dump());
  // The loser may also be told to send its change again, having timed out
  // behind the winner; never both win.
  const int winners = (answers[0].status == 200) + (answers[1].status == 200);
  CHECK(winners <= 1);
  for (const ClusterAnswer& answer : answers) {
    CHECK((answer.status == 200 || answer.status == 409 || answer.status == 503));
  }
  // The one whose map wins a tie, sent again, finishes (or, when the other
  // was through before it began, makes the next change).
  const common::ClusterMap base =
      common::ClusterMap::FromView({cluster.address(0), cluster.address(1)}, 1).value();
  const std::string wins = base.Next(common::SplitView(views[0]), 1)->ToJson().dump() >
                                   base.Next(common::SplitView(views[1]), 1)->ToJson().dump()
                               ? views[0]
                               : views[1];
  ClusterAnswer finish = Send(cluster.port(0), "PUT", "/kv-store/view-change",
                              Json{{"view", wins}, {"repl-factor", 1}});
  CHECK(finish.status == 200);
  const size_t newcomer = wins == views[0] ? 2 : 3;
  const common::ClusterMap first = ActiveMap(cluster.port(0));
  CHECK(first.view() == common::SplitView(wins));
  for (size_t node : {size_t{1}, newcomer}) CHECK(ActiveMap(cluster.port(node)) == first);
  for (size_t node : {0, 1}) CHECK(CountedKeys(cluster.port(node)) == uint64_t{50});
}

}  // namespace
}  // namespace kvs::server::test
