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

}  // namespace
}  // namespace kvs::common
