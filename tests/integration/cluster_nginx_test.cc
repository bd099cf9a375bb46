// The cluster face on a real cluster (tests/harness/test_cluster.h): four
// nodes in two shards of two replicas. The seed's API as written, routing by key, causal
// contexts across replicas and shards, partitions and their healing, a
// SIGKILL under load.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/cluster_map.h"
#include "http/form.h"
#include "tests/harness/server_stack.h"
#include "tests/harness/service_fixture.h"
#include "tests/harness/test_cluster.h"

namespace kvs::server::test {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

TEST_CASE("the seed's API works as written, on any node and through the front") {
  TestCluster cluster(4, 2);
  const int front = cluster.front_port();
  INFO(cluster.Logs());

  ClusterAnswer added = Send(front, "PUT", "/kv-store/keys/x", Put("1"));
  CHECK(added.status == 201);
  CHECK(added.body["message"] == "Added successfully");
  CHECK(added.body["replaced"] == false);
  REQUIRE(added.body["causal-context"].is_object());
  CHECK_FALSE(added.body.contains("address"));  // the front sent it to an owner

  ClusterAnswer updated =
      Send(front, "PUT", "/kv-store/keys/x", Put("2", added.body["causal-context"]));
  CHECK(updated.status == 200);
  CHECK(updated.body["message"] == "Updated successfully");
  CHECK(updated.body["replaced"] == true);

  // Read through a node that does not own x: forwarded, and says by whom.
  const size_t other = cluster.NonOwner("x");
  ClusterAnswer read = Send(cluster.port(other), "GET", "/kv-store/keys/x",
                            WithContext(updated.body["causal-context"]));
  CHECK(read.status == 200);
  CHECK(read.body["doesExist"] == true);
  CHECK(read.body["message"] == "Retrieved successfully");
  CHECK(read.body["value"] == "2");
  REQUIRE(read.body.contains("address"));
  const auto owners = cluster.map().shards()[cluster.map().ShardOfKey("x")].replicas;
  CHECK(std::find(owners.begin(), owners.end(), read.body["address"]) != owners.end());

  // A GET may come with no body at all: the replica that served the read
  // above has x as it was then.
  const std::string served = read.body["address"];
  ClusterAnswer bare =
      Send(std::stoi(served.substr(served.rfind(':') + 1)), "GET", "/kv-store/keys/x", Json());
  CHECK(bare.status == 200);
  CHECK(bare.body["value"] == "2");

  ClusterAnswer missing = Send(front, "GET", "/kv-store/keys/nothing", WithContext(Json::object()));
  CHECK(missing.status == 404);
  CHECK(missing.body["doesExist"] == false);
  CHECK(missing.body["error"] == "Key does not exist");
  CHECK(missing.body["message"] == "Error in GET");

  ClusterAnswer deleted =
      Send(front, "DELETE", "/kv-store/keys/x", WithContext(read.body["causal-context"]));
  CHECK(deleted.status == 200);
  CHECK(deleted.body["doesExist"] == true);
  CHECK(deleted.body["message"] == "Deleted successfully");
  ClusterAnswer gone =
      Send(front, "DELETE", "/kv-store/keys/x", WithContext(deleted.body["causal-context"]));
  CHECK(gone.status == 404);
  CHECK(gone.body["error"] == "Key does not exist");
  CHECK(gone.body["message"] == "Error in DELETE");
  CHECK(
      Send(front, "GET", "/kv-store/keys/x", WithContext(deleted.body["causal-context"])).status ==
      404);

  ClusterAnswer shards = Send(front, "GET", "/kv-store/shards", Json());
  CHECK(shards.status == 200);
  CHECK(shards.body["message"] == "Shard membership retrieved successfully");
  CHECK(shards.body["shards"] == Json::array({"1", "2"}));
  ClusterAnswer shard = Send(cluster.port(0), "GET", "/kv-store/shards/1", Json());
  CHECK(shard.status == 200);
  CHECK(shard.body["shard-id"] == "1");
  CHECK(shard.body["replicas"] == Json(cluster.map().shards()[0].replicas));
  CHECK(Send(front, "GET", "/kv-store/shards/9", Json()).status == 404);
  ClusterAnswer count = Send(cluster.port(0), "GET", "/kv-store/key-count", Json());
  CHECK(count.status == 200);
  CHECK(count.body["message"] == "Key count retrieved successfully");
  CHECK(count.body["shard-id"] == "1");
}

TEST_CASE("bad requests get the seed's 400s and change nothing") {
  TestCluster cluster(2, 1);
  const int node = cluster.port(0);
  INFO(cluster.Logs());
  const std::string long_key(51, 'k');
  ClusterAnswer too_long = Send(node, "PUT", "/kv-store/keys/" + long_key, Put("v"));
  CHECK(too_long.status == 400);
  CHECK(too_long.body["error"] == "Key is too long");
  CHECK(too_long.body["message"] == "Error in PUT");
  ClusterAnswer no_value =
      Send(node, "PUT", "/kv-store/keys/k", Json{{"causal-context", Json::object()}});
  CHECK(no_value.status == 400);
  CHECK(no_value.body["error"] == "Value is missing");
  for (const std::string& body : {std::string("{not json"), std::string("[1]"),
                                  std::string(R"({"value": "v", "causal-context": [1]})"),
                                  std::string(R"({"value": "v", "causal-context": {"a": -1}})"),
                                  std::string(R"({"value": 5})")}) {
    auto client = LoopbackClient(node);
    httplib::Headers headers = BearerHeaders();
    auto result = client->Put("/kv-store/keys/k", headers, body, "application/json");
    REQUIRE(result);
    CHECK(result->status == 400);
    CHECK(Json::parse(result->body)["error"] == "Failed to parse request body");
  }
  // Writes need the secret, as every kvs write does.
  CHECK(Send(node, "PUT", "/kv-store/keys/k", Put("v"), /*with_secret=*/false).status == 403);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(Send(cluster.port(i), "GET", "/kv-store/key-count", Json()).body["key-count"] == 0);
  }
  // A view change that cannot make a cluster changes nothing.
  for (const Json& body : {Json{{"view", "nowhere"}, {"repl-factor", 1}},
                           Json{{"view", cluster.ViewOf({0, 1})}, {"repl-factor", 3}},
                           Json{{"view", cluster.ViewOf({0, 1})}}}) {
    ClusterAnswer view = Send(node, "PUT", "/kv-store/view-change", body);
    INFO(body.dump());
    CHECK(view.status == 400);
    CHECK(view.body["error"] == "Failed to parse request body");
  }
  ClusterAnswer map = Send(node, "GET", "/_cluster/map", Json());
  CHECK(map.body["active"]["version"] == 1);
  CHECK(map.body["next"].is_null());
}

TEST_CASE("the front and every node agree on each key's shard, and key counts add up") {
  TestCluster cluster(4, 2);
  INFO(cluster.Logs());
  std::set<std::string> keys;
  for (int i = 0; i < 200; ++i) {
    // Keys nginx and kvs must read alike: escapes, slashes, spaces, UTF-8.
    std::string key = "key " + std::to_string(i);
    if (i % 4 == 1) key = "a/b%2F" + std::to_string(i);
    if (i % 4 == 2) key = "\xc3\xa9t\xc3\xa9-" + std::to_string(i);
    keys.insert(key);
    ClusterAnswer put =
        Send(cluster.front_port(), "PUT", "/kv-store/keys/" + PercentEncode(key), Put("v"));
    INFO(key);
    REQUIRE(put.status == 201);
    // Served where the front sent it: no node forwarded it.
    CHECK_FALSE(put.body.contains("address"));
  }
  // Each shard's count adds up to every key, on every replica once the
  // replicas have exchanged their writes.
  for (size_t node = 0; node < 4; ++node) {
    uint64_t total = 0;
    const auto deadline = Clock::now() + kConvergeTimeout;
    do {
      total = 0;
      for (const auto& shard : cluster.map().shards()) {
        ClusterAnswer info =
            Send(cluster.port(node), "GET", "/kv-store/shards/" + shard.id, Json());
        REQUIRE(info.status == 200);
        total += info.body["key-count"].get<uint64_t>();
      }
    } while (total != keys.size() && Clock::now() < deadline);
    CHECK(total == keys.size());
  }
}

TEST_CASE("a client carrying its context never reads older data than it has seen") {
  TestCluster cluster(4, 2);
  INFO(cluster.Logs());
  const std::string key = "counter";
  const auto replicas = cluster.Replicas(key);
  REQUIRE(replicas.size() == 2);
  const int writer = cluster.port(replicas[0]);
  const int reader = cluster.port(replicas[1]);

  SECTION("while the replicas replicate") {
    Json context = Json::object();
    for (int i = 0; i < 30; ++i) {
      ClusterAnswer put =
          Send(writer, "PUT", "/kv-store/keys/" + key, Put(std::to_string(i), context));
      REQUIRE(put.status / 100 == 2);
      ClusterAnswer read =
          Send(reader, "GET", "/kv-store/keys/" + key, WithContext(put.body["causal-context"]));
      INFO("write " << i);
      REQUIRE((read.status == 200 || read.status == 503));
      if (read.status == 200) CHECK(read.body["value"] == std::to_string(i));
      context = read.status == 200 ? read.body["causal-context"] : put.body["causal-context"];
    }
  }

  SECTION("a context naming a revision with nothing to copy in it is reached at once") {
    ClusterAnswer put = Send(writer, "PUT", "/kv-store/keys/" + key, Put("before"));
    REQUIRE(put.status == 201);
    REQUIRE(ReadUntil(reader, key, "before").status == 200);
    // A branch the cluster does not replicate moves the writer's revision;
    // the writer's answers name it from then on.
    REQUIRE(Send(writer, "POST", "/_branches", Json{{"name", "aside"}}).status == 201);
    ClusterAnswer read = Send(writer, "GET", "/kv-store/keys/" + key, Json());
    REQUIRE(read.status == 200);
    REQUIRE(read.body["causal-context"][cluster.address(replicas[0])] >
            put.body["causal-context"][cluster.address(replicas[0])]);
    // The reader's pull saw that revision pass: no wait, no 503.
    ClusterAnswer reached =
        Send(reader, "GET", "/kv-store/keys/" + key, WithContext(read.body["causal-context"]));
    CHECK(reached.status == 200);
    CHECK(reached.body["value"] == "before");
  }

  SECTION("with the reader cut off: a 503 within the bound, then the value once it heals") {
    cluster.Isolate(replicas[1], true);
    ClusterAnswer put = Send(writer, "PUT", "/kv-store/keys/" + key, Put("seen"));
    REQUIRE(put.status == 201);
    const auto asked = Clock::now();
    ClusterAnswer read =
        Send(reader, "GET", "/kv-store/keys/" + key, WithContext(put.body["causal-context"]));
    CHECK(read.status == 503);
    CHECK(read.body["error"] == "Unable to satisfy request");
    CHECK(read.body["message"] == "Error in GET");
    CHECK(read.retry_after == "1");
    CHECK(Clock::now() - asked < std::chrono::seconds(30));  // bounded, not forever
    // Without the context, the reader answers what it has: nothing yet.
    CHECK(Send(reader, "GET", "/kv-store/keys/" + key, Json()).status == 404);
    cluster.Isolate(replicas[1], false);
    ClusterAnswer healed;
    const auto deadline = Clock::now() + kConvergeTimeout;
    do {
      healed =
          Send(reader, "GET", "/kv-store/keys/" + key, WithContext(put.body["causal-context"]));
    } while (healed.status == 503 && Clock::now() < deadline);
    CHECK(healed.status == 200);
    CHECK(healed.body["value"] == "seen");
  }
}

TEST_CASE("writes on both sides of a partition become a fork with one winner everywhere") {
  TestCluster cluster(2, 2);  // one shard, two replicas
  INFO(cluster.Logs());
  cluster.Isolate(1, true);
  REQUIRE(Send(cluster.port(0), "PUT", "/kv-store/keys/k", Put("left")).status == 201);
  REQUIRE(Send(cluster.port(1), "PUT", "/kv-store/keys/k", Put("right")).status == 201);
  cluster.Isolate(1, false);
  // Both replicas end with both writes as heads, the winner first.
  auto head_ids = [&](size_t node) {
    std::vector<std::string> ids;
    const Json answer = MustGetJson(cluster.stack(node), "/_heads/k");
    for (const Json& head : answer["heads"]) ids.push_back(head["id"]);
    return ids;
  };
  const auto deadline = Clock::now() + kConvergeTimeout;
  std::vector<std::string> heads[2];
  for (;;) {
    for (size_t i = 0; i < 2; ++i) heads[i] = head_ids(i);
    if ((heads[0].size() == 2 && heads[0] == heads[1]) || Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(heads[0].size() == 2);
  CHECK(heads[0] == heads[1]);
  ClusterAnswer a = Send(cluster.port(0), "GET", "/kv-store/keys/k", Json());
  ClusterAnswer b = Send(cluster.port(1), "GET", "/kv-store/keys/k", Json());
  CHECK(a.body["value"] == b.body["value"]);
  // A write through the API resolves the fork.
  REQUIRE(Send(cluster.port(0), "PUT", "/kv-store/keys/k", Put("both")).status == 200);
  CHECK(ReadUntil(cluster.port(1), "k", "both").body["value"] == "both");
}

TEST_CASE("causality holds across shards: a read carries what the value's writer had seen") {
  TestCluster cluster(4, 2);
  INFO(cluster.Logs());
  // x and y on different shards.
  std::string x = "x", y;
  for (int i = 0; y.empty(); ++i) {
    std::string candidate = "y" + std::to_string(i);
    if (cluster.map().ShardOfKey(candidate) != cluster.map().ShardOfKey(x)) y = candidate;
  }
  const auto x_replicas = cluster.Replicas(x);
  const auto y_replicas = cluster.Replicas(y);
  // The second replica of x's shard misses what the first is written.
  cluster.Isolate(x_replicas[1], true);
  // Client 1 writes x, then y with the context x's write gave.
  ClusterAnswer wx = Send(cluster.port(x_replicas[0]), "PUT", "/kv-store/keys/" + x, Put("new"));
  REQUIRE(wx.status == 201);
  ClusterAnswer wy = Send(cluster.port(y_replicas[0]), "PUT", "/kv-store/keys/" + y,
                          Put("after x", wx.body["causal-context"]));
  REQUIRE(wy.status == 201);
  // Client 2, with no context, reads y at the other replica of y's shard,
  // once it has y, and then x where x's write has not arrived.
  ClusterAnswer ry = ReadUntil(cluster.port(y_replicas[1]), y, "after x");
  REQUIRE(ry.status == 200);
  CHECK(ry.body["causal-context"].contains(cluster.address(x_replicas[0])));
  ClusterAnswer rx = Send(cluster.port(x_replicas[1]), "GET", "/kv-store/keys/" + x,
                          WithContext(ry.body["causal-context"]));
  // Never 404: that would show y's effect without its cause.
  CHECK(rx.status == 503);
  cluster.Isolate(x_replicas[1], false);
  const auto deadline = Clock::now() + kConvergeTimeout;
  do {
    rx = Send(cluster.port(x_replicas[1]), "GET", "/kv-store/keys/" + x,
              WithContext(ry.body["causal-context"]));
  } while (rx.status == 503 && Clock::now() < deadline);
  CHECK(rx.status == 200);
  CHECK(rx.body["value"] == "new");
}

TEST_CASE("SIGKILL of a node under load loses no acknowledged write") {
  TestCluster cluster(4, 2);
  INFO(cluster.Logs());
  struct Acked {
    std::string key, value;
    Json context;
  };
  std::mutex mu;
  std::vector<Acked> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop; ++i) {
        const std::string key = "w" + std::to_string(w) + "-" + std::to_string(i % 50);
        const std::string value = std::to_string(i);
        ClusterAnswer put = Send(cluster.front_port(), "PUT", "/kv-store/keys/" + key, Put(value));
        if (put.status / 100 == 2) {
          std::lock_guard<std::mutex> lock(mu);
          acked.push_back({key, value, put.body["causal-context"]});
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  cluster.stack(0).KillKvs();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  cluster.stack(0).RestartKvs();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  for (std::thread& writer : writers) writer.join();
  // The newest acknowledged value of each key, read with its context.
  std::map<std::string, Acked> newest;
  for (const Acked& a : acked) newest[a.key] = a;
  REQUIRE(newest.size() > 10);
  for (const auto& [key, a] : newest) {
    ClusterAnswer read =
        Send(cluster.front_port(), "GET", "/kv-store/keys/" + key, WithContext(a.context));
    const auto deadline = Clock::now() + kConvergeTimeout;
    while (read.status == 503 && Clock::now() < deadline) {
      read = Send(cluster.front_port(), "GET", "/kv-store/keys/" + key, WithContext(a.context));
    }
    INFO(key);
    CHECK(read.status == 200);
    CHECK(read.body["value"] == a.value);
  }
}

}  // namespace
}  // namespace kvs::server::test
