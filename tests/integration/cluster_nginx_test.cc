// The cluster face on a real cluster: four kvs-fcgi + nginx nodes in two
// shards of two replicas, each node reached at its view address through a
// TcpProxy (so the addresses are known before the nodes start), every link
// from one node to another through a TcpProxy of its own (so a test can
// partition a node), and a front nginx whose config kvs-fcgi wrote
// (--cluster-front). The seed's API as written, routing by key, causal
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
#include "tests/harness/tcp_proxy.h"

namespace kvs::server::test {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// The nodes wait this long for a causal context before answering 503.
constexpr const char* kCausalWait = "3s";
// Bounds on waits for replication, generous for a sanitizer build.
constexpr auto kConvergeTimeout = std::chrono::seconds(60);

struct Answer {
  int status = 0;  // 0: no answer
  Json body;
  std::string retry_after;
};

Answer Send(int port, const std::string& method, const std::string& path, const Json& body,
            bool with_secret = true) {
  auto client = LoopbackClient(port);
  httplib::Request request;
  request.method = method;
  request.path = path;
  if (!body.is_null()) {
    request.body = body.dump();
    request.set_header("Content-Type", "application/json");
  }
  if (with_secret) request.set_header("Authorization", std::string("Bearer ") + kTestSecret);
  httplib::Result result = client->send(request);
  Answer answer;
  if (!result) return answer;
  answer.status = result->status;
  answer.body = Json::parse(result->body, nullptr, false);
  answer.retry_after = result->get_header_value("Retry-After");
  return answer;
}

Json Put(const std::string& value, const Json& context = Json::object()) {
  return {{"value", value}, {"causal-context", context}};
}
Json WithContext(const Json& context) { return {{"causal-context", context}}; }

class TestCluster {
 public:
  TestCluster(size_t nodes, size_t repl_factor) {
    for (size_t i = 0; i < nodes; ++i) {
      addresses_.push_back(std::make_unique<TcpProxy>());
      view_.push_back("127.0.0.1:" + std::to_string(addresses_.back()->port()));
    }
    map_ = common::ClusterMap::FromView(view_, repl_factor).value();
    std::string view_list;
    for (const std::string& address : view_) view_list += "\n    - " + address;
    for (size_t i = 0; i < nodes; ++i) {
      std::string links;
      for (size_t j = 0; j < nodes; ++j) {
        if (i == j) continue;
        auto link = std::make_unique<TcpProxy>(addresses_[j]->port());
        links += "\n    " + view_[j] + ": http://127.0.0.1:" + std::to_string(link->port());
        links_[{i, j}] = std::move(link);
      }
      StackOptions options;
      options.extra_config += "cluster:\n  self: " + view_[i] + "\n  view:" + view_list +
                              "\n  repl_factor: " + std::to_string(repl_factor) +
                              "\n  causal_wait: " + kCausalWait + "\n  links:" + links + "\n";
      stacks_.push_back(std::make_unique<ServerStack>(options));
      addresses_[i]->SetTarget(stacks_.back()->port());
      addresses_[i]->Pass();
    }
    // The front, as an operator makes it.
    ProgramRun front = RunProgram({KVS_FCGI_BINARY, "--config", stacks_[0]->dir() + "/kvs.yaml",
                                   "--cluster-front", "@LISTEN@"},
                                  "");
    INFO(front.log);
    REQUIRE(front.exit_code == 0);
    front_ = StartNginx(front_dir_.path(), front.output, &front_port_);
  }

  const common::ClusterMap& map() const { return map_; }
  const std::string& address(size_t i) const { return view_[i]; }
  int port(size_t i) const { return addresses_[i]->port(); }
  int front_port() const { return front_port_; }
  ServerStack& stack(size_t i) { return *stacks_[i]; }
  // The nodes that replicate the shard owning key, in view order.
  std::vector<size_t> Replicas(const std::string& key) const {
    std::vector<size_t> nodes;
    const auto& replicas = map_.shards()[map_.ShardOfKey(key)].replicas;
    for (size_t i = 0; i < view_.size(); ++i) {
      if (std::find(replicas.begin(), replicas.end(), view_[i]) != replicas.end()) {
        nodes.push_back(i);
      }
    }
    return nodes;
  }
  // A node of another shard than key's.
  size_t NonOwner(const std::string& key) const {
    for (size_t i = 0; i < view_.size(); ++i) {
      if (map_.ShardOfNode(view_[i]) != map_.ShardOfKey(key)) return i;
    }
    FAIL("every node owns " << key);
    return 0;
  }
  // Cuts node i off from the other nodes (clients still reach it), or
  // joins it again.
  void Isolate(size_t i, bool isolated) {
    for (auto& [pair, link] : links_) {
      if (pair.first != i && pair.second != i) continue;
      if (isolated) {
        link->Drop();
      } else {
        link->Pass();
      }
    }
  }
  std::string Logs() const {
    std::string logs;
    for (const auto& stack : stacks_) logs += stack->Logs();
    return logs;
  }

 private:
  std::vector<std::unique_ptr<TcpProxy>> addresses_;
  std::vector<std::string> view_;
  common::ClusterMap map_;
  std::map<std::pair<size_t, size_t>, std::unique_ptr<TcpProxy>> links_;
  std::vector<std::unique_ptr<ServerStack>> stacks_;
  kvs::test::TempDir front_dir_;
  int front_port_ = 0;
  std::unique_ptr<ChildProcess> front_;
};

// Asks until the answer is a 200 with value (or the time is up).
Answer ReadUntil(int port, const std::string& key, const std::string& value) {
  const auto deadline = Clock::now() + kConvergeTimeout;
  Answer answer;
  do {
    answer = Send(port, "GET", "/kv-store/keys/" + key, Json());
    if (answer.status == 200 && answer.body["value"] == value) return answer;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (Clock::now() < deadline);
  return answer;
}

TEST_CASE("the seed's API works as written, on any node and through the front") {
  TestCluster cluster(4, 2);
  const int front = cluster.front_port();
  INFO(cluster.Logs());

  Answer added = Send(front, "PUT", "/kv-store/keys/x", Put("1"));
  CHECK(added.status == 201);
  CHECK(added.body["message"] == "Added successfully");
  CHECK(added.body["replaced"] == false);
  REQUIRE(added.body["causal-context"].is_object());
  CHECK_FALSE(added.body.contains("address"));  // the front sent it to an owner

  Answer updated = Send(front, "PUT", "/kv-store/keys/x", Put("2", added.body["causal-context"]));
  CHECK(updated.status == 200);
  CHECK(updated.body["message"] == "Updated successfully");
  CHECK(updated.body["replaced"] == true);

  // Read through a node that does not own x: forwarded, and says by whom.
  const size_t other = cluster.NonOwner("x");
  Answer read = Send(cluster.port(other), "GET", "/kv-store/keys/x",
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
  Answer bare =
      Send(std::stoi(served.substr(served.rfind(':') + 1)), "GET", "/kv-store/keys/x", Json());
  CHECK(bare.status == 200);
  CHECK(bare.body["value"] == "2");

  Answer missing = Send(front, "GET", "/kv-store/keys/nothing", WithContext(Json::object()));
  CHECK(missing.status == 404);
  CHECK(missing.body["doesExist"] == false);
  CHECK(missing.body["error"] == "Key does not exist");
  CHECK(missing.body["message"] == "Error in GET");

  Answer deleted =
      Send(front, "DELETE", "/kv-store/keys/x", WithContext(read.body["causal-context"]));
  CHECK(deleted.status == 200);
  CHECK(deleted.body["doesExist"] == true);
  CHECK(deleted.body["message"] == "Deleted successfully");
  Answer gone =
      Send(front, "DELETE", "/kv-store/keys/x", WithContext(deleted.body["causal-context"]));
  CHECK(gone.status == 404);
  CHECK(gone.body["error"] == "Key does not exist");
  CHECK(gone.body["message"] == "Error in DELETE");
  CHECK(
      Send(front, "GET", "/kv-store/keys/x", WithContext(deleted.body["causal-context"])).status ==
      404);

  Answer shards = Send(front, "GET", "/kv-store/shards", Json());
  CHECK(shards.status == 200);
  CHECK(shards.body["message"] == "Shard membership retrieved successfully");
  CHECK(shards.body["shards"] == Json::array({"1", "2"}));
  Answer shard = Send(cluster.port(0), "GET", "/kv-store/shards/1", Json());
  CHECK(shard.status == 200);
  CHECK(shard.body["shard-id"] == "1");
  CHECK(shard.body["replicas"] == Json(cluster.map().shards()[0].replicas));
  CHECK(Send(front, "GET", "/kv-store/shards/9", Json()).status == 404);
  Answer count = Send(cluster.port(0), "GET", "/kv-store/key-count", Json());
  CHECK(count.status == 200);
  CHECK(count.body["message"] == "Key count retrieved successfully");
  CHECK(count.body["shard-id"] == "1");
}

TEST_CASE("bad requests get the seed's 400s and change nothing") {
  TestCluster cluster(2, 1);
  const int node = cluster.port(0);
  INFO(cluster.Logs());
  const std::string long_key(51, 'k');
  Answer too_long = Send(node, "PUT", "/kv-store/keys/" + long_key, Put("v"));
  CHECK(too_long.status == 400);
  CHECK(too_long.body["error"] == "Key is too long");
  CHECK(too_long.body["message"] == "Error in PUT");
  Answer no_value = Send(node, "PUT", "/kv-store/keys/k", Json{{"causal-context", Json::object()}});
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
  // Not yet: a view change is refused, and says so.
  Answer view = Send(node, "PUT", "/kv-store/view-change",
                     Json{{"view", cluster.address(0)}, {"repl-factor", 1}});
  CHECK(view.status == 501);
  CHECK(view.body["message"] == "Error in PUT");
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
    Answer put =
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
        Answer info = Send(cluster.port(node), "GET", "/kv-store/shards/" + shard.id, Json());
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
      Answer put = Send(writer, "PUT", "/kv-store/keys/" + key, Put(std::to_string(i), context));
      REQUIRE(put.status / 100 == 2);
      Answer read =
          Send(reader, "GET", "/kv-store/keys/" + key, WithContext(put.body["causal-context"]));
      INFO("write " << i);
      REQUIRE((read.status == 200 || read.status == 503));
      if (read.status == 200) CHECK(read.body["value"] == std::to_string(i));
      context = read.status == 200 ? read.body["causal-context"] : put.body["causal-context"];
    }
  }

  SECTION("with the reader cut off: a 503 within the bound, then the value once it heals") {
    cluster.Isolate(replicas[1], true);
    Answer put = Send(writer, "PUT", "/kv-store/keys/" + key, Put("seen"));
    REQUIRE(put.status == 201);
    const auto asked = Clock::now();
    Answer read =
        Send(reader, "GET", "/kv-store/keys/" + key, WithContext(put.body["causal-context"]));
    CHECK(read.status == 503);
    CHECK(read.body["error"] == "Unable to satisfy request");
    CHECK(read.body["message"] == "Error in GET");
    CHECK(read.retry_after == "1");
    CHECK(Clock::now() - asked < std::chrono::seconds(30));  // bounded, not forever
    // Without the context, the reader answers what it has: nothing yet.
    CHECK(Send(reader, "GET", "/kv-store/keys/" + key, Json()).status == 404);
    cluster.Isolate(replicas[1], false);
    Answer healed;
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
  Answer a = Send(cluster.port(0), "GET", "/kv-store/keys/k", Json());
  Answer b = Send(cluster.port(1), "GET", "/kv-store/keys/k", Json());
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
  Answer wx = Send(cluster.port(x_replicas[0]), "PUT", "/kv-store/keys/" + x, Put("new"));
  REQUIRE(wx.status == 201);
  Answer wy = Send(cluster.port(y_replicas[0]), "PUT", "/kv-store/keys/" + y,
                   Put("after x", wx.body["causal-context"]));
  REQUIRE(wy.status == 201);
  // Client 2, with no context, reads y at the other replica of y's shard,
  // once it has y, and then x where x's write has not arrived.
  Answer ry = ReadUntil(cluster.port(y_replicas[1]), y, "after x");
  REQUIRE(ry.status == 200);
  CHECK(ry.body["causal-context"].contains(cluster.address(x_replicas[0])));
  Answer rx = Send(cluster.port(x_replicas[1]), "GET", "/kv-store/keys/" + x,
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
        Answer put = Send(cluster.front_port(), "PUT", "/kv-store/keys/" + key, Put(value));
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
    Answer read =
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
