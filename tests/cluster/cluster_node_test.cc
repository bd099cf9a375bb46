// A cluster node's causal contexts over a real store: what it answers, what
// it waits for and when it gives up, and the deps a write records. Pulls
// between live nodes are tested through nginx
// (tests/integration/cluster_nginx_test.cc).
#include "cluster/cluster_node.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "tests/store/test_util.h"

namespace kvs::cluster {
namespace {

using Clock = std::chrono::steady_clock;

int64_t InNs(std::chrono::milliseconds from_now) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             (Clock::now() + from_now).time_since_epoch())
      .count();
}

// Three nodes, each a shard of its own; this node is a:1.
config::ClusterSettings Settings() {
  config::ClusterSettings settings;
  settings.self = "a:1";
  settings.map = common::ClusterMap::FromView({"a:1", "b:2", "c:3"}, 1).value();
  return settings;
}

TEST_CASE("a context parses from JSON, and nothing else does") {
  CHECK(ContextFromJsonText("{}") == CausalContext{});
  CHECK(ContextFromJsonText("null") == CausalContext{});
  CHECK(ContextFromJsonText(R"({"a:1": 3, "b:2": 0})") == CausalContext{{"a:1", 3}, {"b:2", 0}});
  CHECK_FALSE(ContextFromJsonText("[]").has_value());
  CHECK_FALSE(ContextFromJsonText(R"({"a:1": -1})").has_value());
  CHECK_FALSE(ContextFromJsonText(R"({"a:1": "3"})").has_value());
  CHECK_FALSE(ContextFromJsonText("{").has_value());
  CHECK(ContextToJsonText({{"a:1", 3}}) == R"({"a:1":3})");
}

TEST_CASE("an answer carries this node's revision and every deps key it holds") {
  kvs::test::TempDir dir;
  auto store = kvs::test::OpenStore(dir.path());
  REQUIRE(store->Write(WriteBatch().Put("k", "v")).ok());
  ClusterNode node(Settings(), *store, "main", dir.Sub("secret"), {});
  auto answer = node.Answer({{"b:2", 7}});
  REQUIRE(answer.ok());
  CHECK(*answer == CausalContext{{"a:1", 1}, {"b:2", 7}});
  // Another node's deps, replicated here, come with every answer.
  REQUIRE(store->Write(WriteBatch().Put("_cluster/deps/c:3", R"({"b:2": 9})")).ok());
  answer = node.Answer({});
  REQUIRE(answer.ok());
  CHECK(*answer == CausalContext{{"a:1", 2}, {"b:2", 9}});
}

TEST_CASE("a write records the context's entries of other shards, once, never losing one") {
  kvs::test::TempDir dir;
  auto store = kvs::test::OpenStore(dir.path());
  ClusterNode node(Settings(), *store, "main", dir.Sub("secret"), {});
  auto write = [&](const KeyWrite& deps) {
    WriteBatch batch;
    batch.writes.push_back(deps);
    return store->Write(batch).status();
  };
  // a:1's own entry is this shard's: not a dependency on another shard.
  auto deps = node.DepsWrite({{"a:1", 4}, {"b:2", 5}});
  REQUIRE(deps.ok());
  REQUIRE(deps->has_value());
  CHECK((*deps)->key == node.DepsKey());
  CHECK((*deps)->value == R"({"b:2":5})");
  // Two writes planned from the same state: the second one's entries would
  // overwrite the first's, so it fails, to be planned again.
  auto concurrent = node.DepsWrite({{"c:3", 1}});
  REQUIRE(concurrent.ok());
  REQUIRE(write(**deps).ok());
  CHECK(write(**concurrent).code() == Status::Code::kConflict);
  concurrent = node.DepsWrite({{"c:3", 1}});
  REQUIRE(concurrent.ok());
  CHECK((*concurrent)->value == R"({"b:2":5,"c:3":1})");
  REQUIRE(write(**concurrent).ok());
  // Nothing new: nothing to write.
  deps = node.DepsWrite({{"b:2", 5}, {"a:1", 100}});
  REQUIRE(deps.ok());
  CHECK_FALSE(deps->has_value());
}

TEST_CASE("a context is reached at once, given up at its deadline, or refused at once") {
  kvs::test::TempDir dir;
  auto store = kvs::test::OpenStore(dir.path());
  REQUIRE(store->Write(WriteBatch().Put("k", "v")).ok());
  // This node's shard: itself and a replica at a port no one listens on.
  config::ClusterSettings settings;
  settings.self = "127.0.0.1:9";
  settings.map = common::ClusterMap::FromView({"127.0.0.1:9", "127.0.0.1:1"}, 2).value();
  ClusterNode n(settings, *store, "main", dir.Sub("secret"), {});
  n.Start();  // its pull from the replica, which never succeeds
  // What this node has, and entries of no replica of its shard.
  CHECK(*n.Reach({{"127.0.0.1:9", 1}, {"elsewhere:5", 99}}, InNs(std::chrono::hours(1))));
  // A revision of its own it never had: no pull can bring it.
  const auto asked = Clock::now();
  CHECK_FALSE(*n.Reach({{"127.0.0.1:9", 2}}, InNs(std::chrono::hours(1))));
  CHECK(Clock::now() - asked < std::chrono::minutes(1));
  // The unreachable replica's revision: waits until the deadline, then no.
  CHECK_FALSE(*n.Reach({{"127.0.0.1:1", 1}}, InNs(std::chrono::milliseconds(300))));
  CHECK(*n.Reached({{"127.0.0.1:1", 0}}));
}

TEST_CASE("a node pulls its shard's keys from its replicas, and the keys that move to it") {
  Layout layout;
  layout.active = common::ClusterMap::FromView({"a:1", "b:1", "c:1", "d:1"}, 2).value();
  const common::HashRanges first = layout.active.RangesOfShard(0);
  const common::HashRanges second = layout.active.RangesOfShard(1);
  CHECK(PullsOf(layout, "a:1") == PullFilters{{"c:1", first}});
  CHECK(PullsOf(layout, "e:1").empty());  // in no shard yet
  // e joins shard 1: it pulls the shard's keys from both its replicas.
  layout.next = layout.active.Next({"a:1", "b:1", "c:1", "d:1", "e:1"}, 2).value();
  CHECK(PullsOf(layout, "e:1") == PullFilters{{"a:1", first}, {"c:1", first}});
  CHECK(PullsOf(layout, "a:1") == PullFilters{{"c:1", first}});
  // Three shards of one: c, now the third, takes keys of both shards.
  layout.next = layout.active.Next({"a:1", "b:1", "c:1"}, 1).value();
  const common::HashRanges third = layout.next->RangesOfShard(2);
  const PullFilters pulls = PullsOf(layout, "c:1");
  CHECK(pulls.at("a:1") == first);  // its replica until the switch
  CHECK(pulls.at("b:1") == common::IntersectRanges(second, third));
  CHECK(pulls.at("d:1") == common::IntersectRanges(second, third));
  // After the switch, during the grace period, c alone in its shard pulls
  // only the keys that moved to it, from their old owners.
  Layout after;
  after.active = *layout.next;
  after.previous = layout.active;
  CHECK(PullsOf(after, "c:1") == PullFilters{{"a:1", common::IntersectRanges(first, third)},
                                             {"b:1", common::IntersectRanges(second, third)},
                                             {"d:1", common::IntersectRanges(second, third)}});
  after.previous.reset();
  CHECK(PullsOf(after, "c:1").empty());
}

TEST_CASE("a layout travels as JSON") {
  Layout layout;
  layout.active = common::ClusterMap::FromView({"a:1", "b:1"}, 1).value();
  layout.next = layout.active.Next({"a:1"}, 1).value();
  layout.grace_until_ns = 42;
  auto again = Layout::FromJson(layout.ToJson());
  REQUIRE(again.ok());
  CHECK(again->ToJson() == layout.ToJson());
  CHECK(again->next->version() == 2);
  CHECK_FALSE(again->previous.has_value());
  CHECK_FALSE(Layout::FromJson(nlohmann::ordered_json::object()).ok());
}

}  // namespace
}  // namespace kvs::cluster
