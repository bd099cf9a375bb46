// The cluster map: shards from a view, and key ownership computed as
// nginx's split_clients computes it (the front's routing is checked
// against a real nginx in tests/integration/cluster_nginx_test.cc).
#include "common/cluster_map.h"

#include <catch2/catch.hpp>
#include <map>

namespace kvs::common {
namespace {

TEST_CASE("MurmurHash2 is nginx's, with the length as seed") {
  CHECK(MurmurHash2("") == 0);
  // Every tail length gives a different hash, and the hash depends on
  // every byte.
  std::map<uint32_t, std::string> seen;
  for (const std::string text : {"a", "ab", "abc", "abcd", "abcde", "abcdf", "bbcde"}) {
    CHECK(seen.emplace(MurmurHash2(text), text).second);
  }
}

TEST_CASE("a view makes size / repl_factor shards, node i in shard i % shards") {
  auto map = ClusterMap::FromView({"h:1", "h:2", "h:3", "h:4", "h:5"}, 2);
  REQUIRE(map.ok());
  REQUIRE(map->shards().size() == 2);
  CHECK(map->shards()[0].id == "1");
  CHECK(map->shards()[0].replicas == std::vector<std::string>{"h:1", "h:3", "h:5"});
  CHECK(map->shards()[1].replicas == std::vector<std::string>{"h:2", "h:4"});
  CHECK(map->ShardOfNode("h:4") == 1u);
  CHECK_FALSE(map->ShardOfNode("h:6").has_value());
}

TEST_CASE("the shards own equal runs of the slots, and keys spread over them") {
  auto map = ClusterMap::FromView({"h:1", "h:2", "h:3"}, 1);
  REQUIRE(map.ok());
  uint32_t slots = 0;
  for (const ClusterPart& part : map->parts()) slots += part.slots;
  CHECK(slots == kClusterSlots);
  std::map<size_t, int> keys;
  for (int i = 0; i < 30000; ++i) ++keys[map->ShardOfKey("key" + std::to_string(i))];
  REQUIRE(keys.size() == 3);
  for (const auto& [shard, count] : keys) {
    CHECK(count > 9000);
    CHECK(count < 11000);
  }
}

TEST_CASE("the front's nginx config routes by the same parts") {
  auto map = ClusterMap::FromView({"h:1", "h:2", "h:3"}, 1);
  REQUIRE(map.ok());
  const std::string conf = map->NginxConf("127.0.0.1:8080");
  CHECK_THAT(conf, Catch::Contains("33.33% kvs_shard_1;"));
  CHECK_THAT(conf, Catch::Contains("33.33% kvs_shard_2;"));
  CHECK_THAT(conf, Catch::Contains("* kvs_shard_3;"));
  CHECK_THAT(conf, Catch::Contains("upstream kvs_shard_2 {\n        server h:2;"));
  CHECK_THAT(conf, Catch::Contains("listen 127.0.0.1:8080;"));
}

TEST_CASE("a view that cannot make a cluster is refused with the reason") {
  CHECK(ClusterMap::FromView({}, 1).status().message() == "the view names no node");
  CHECK_THAT(ClusterMap::FromView({"h:1"}, 0).status().message(),
             Catch::Contains("replication factor"));
  CHECK_THAT(ClusterMap::FromView({"h:1", "h:1"}, 1).status().message(), Catch::Contains("twice"));
  CHECK_THAT(ClusterMap::FromView({"h1"}, 1).status().message(), Catch::Contains("host:port"));
  CHECK_THAT(ClusterMap::FromView({"h:x"}, 1).status().message(), Catch::Contains("host:port"));
}

// Keys whose shard differs between two maps, out of n.
int Moved(const ClusterMap& from, const ClusterMap& to, int n) {
  int moved = 0;
  for (int i = 0; i < n; ++i) {
    const std::string key = "key" + std::to_string(i);
    moved += from.ShardOfKey(key) != to.ShardOfKey(key);
  }
  return moved;
}

TEST_CASE("a view change moves only the keys whose shard must change") {
  auto two = ClusterMap::FromView({"h:1", "h:2"}, 1);
  REQUIRE(two.ok());
  auto three = two->Next({"h:1", "h:2", "h:3"}, 1);
  REQUIRE(three.ok());
  CHECK(three->version() == 2);
  // A third shard joining two takes a third of the keys, half from each.
  const int moved = Moved(*two, *three, 30000);
  CHECK(moved > 9000);
  CHECK(moved < 11000);
  for (int i = 0; i < 30000; ++i) {
    const std::string key = "key" + std::to_string(i);
    if (two->ShardOfKey(key) != three->ShardOfKey(key)) CHECK(three->ShardOfKey(key) == 2u);
  }
  // Every shard owns its share.
  std::map<size_t, uint32_t> slots;
  for (const ClusterPart& part : three->parts()) slots[part.shard] += part.slots;
  CHECK(slots == std::map<size_t, uint32_t>{{0, 3334}, {1, 3333}, {2, 3333}});

  // A node that only adds a replica moves nothing; one shard fewer moves
  // the keys of the shard that goes, and no other.
  auto replicas = three->Next({"h:1", "h:2", "h:3", "h:4"}, 1);
  REQUIRE(replicas.ok());
  auto four_by_two = two->Next({"h:1", "h:2", "h:3", "h:4", "h:5"}, 2);
  REQUIRE(four_by_two.ok());
  CHECK(Moved(*two, *four_by_two, 30000) == 0);
  CHECK(four_by_two->shards()[0].replicas == std::vector<std::string>{"h:1", "h:3", "h:5"});
  auto back = three->Next({"h:1", "h:2"}, 1);
  REQUIRE(back.ok());
  for (int i = 0; i < 30000; ++i) {
    const std::string key = "key" + std::to_string(i);
    if (three->ShardOfKey(key) != 2) CHECK(back->ShardOfKey(key) == three->ShardOfKey(key));
  }
  CHECK(back->version() == 3);
}

TEST_CASE("a shard's hash ranges hold exactly the keys it owns") {
  auto two = ClusterMap::FromView({"h:1", "h:2"}, 1);
  REQUIRE(two.ok());
  auto three = two->Next({"h:1", "h:2", "h:3"}, 1);
  REQUIRE(three.ok());
  for (const ClusterMap* map : {&*two, &*three}) {
    for (int i = 0; i < 20000; ++i) {
      const std::string key = "key" + std::to_string(i);
      for (size_t s = 0; s < map->shards().size(); ++s) {
        CHECK(KeyInRanges(key, map->RangesOfShard(s)) == (map->ShardOfKey(key) == s));
      }
    }
  }
  // The keys that move from shard 1 to shard 3.
  const HashRanges moving = IntersectRanges(two->RangesOfShard(0), three->RangesOfShard(2));
  REQUIRE_FALSE(moving.empty());
  for (int i = 0; i < 20000; ++i) {
    const std::string key = "key" + std::to_string(i);
    CHECK(KeyInRanges(key, moving) == (two->ShardOfKey(key) == 0 && three->ShardOfKey(key) == 2));
  }
  CHECK(UniteRanges(three->RangesOfShard(0),
                    UniteRanges(three->RangesOfShard(1), three->RangesOfShard(2))) ==
        HashRanges{{0, uint64_t{1} << 32}});
}

TEST_CASE("hash ranges travel as text, and bad text is refused") {
  const HashRanges ranges{{0, 10}, {20, uint64_t{1} << 32}};
  CHECK(HashRangesText(ranges) == "0-10,20-4294967296");
  CHECK(HashRangesFromText("0-10,20-4294967296").value() == ranges);
  CHECK(HashRangesFromText("").value().empty());
  for (const char* bad : {"1", "5-5", "0-10,5-20", "0-4294967297", "a-b", "0-10,", "-1-3"}) {
    CHECK_FALSE(HashRangesFromText(bad).ok());
  }
}

TEST_CASE("a map travels as JSON, and a map that does not hold together is refused") {
  auto two = ClusterMap::FromView({"h:1", "h:2"}, 1);
  REQUIRE(two.ok());
  auto three = two->Next({"h:1", "h:2", "h:3"}, 1);
  REQUIRE(three.ok());
  auto again = ClusterMap::FromJson(three->ToJson());
  REQUIRE(again.ok());
  CHECK(again->ToJson() == three->ToJson());
  CHECK(again->version() == 2);
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "key" + std::to_string(i);
    CHECK(again->ShardOfKey(key) == three->ShardOfKey(key));
  }
  auto json = three->ToJson();
  json["parts"][0][0] = 1;
  CHECK_THAT(ClusterMap::FromJson(json).status().message(), Catch::Contains("add up"));
  json = three->ToJson();
  json["parts"][0][1] = "9";
  CHECK_THAT(ClusterMap::FromJson(json).status().message(), Catch::Contains("shard 9"));
  json = three->ToJson();
  json["view"] = {"h:1", "h:1"};
  CHECK_THAT(ClusterMap::FromJson(json).status().message(), Catch::Contains("twice"));
  CHECK_FALSE(ClusterMap::FromJson(nlohmann::ordered_json::array()).ok());
}

}  // namespace
}  // namespace kvs::common
