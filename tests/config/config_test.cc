// The YAML config: defaults, relative paths, and errors that name the file,
// the line and the reason.
#include "config/config.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/store/test_util.h"

namespace kvs::config {
namespace {

Config MustParse(std::string_view yaml, const std::string& path = "/etc/kvs/kvs.yaml") {
  auto config = ParseConfig(yaml, path);
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  return *config;
}

std::string ErrorOf(std::string_view yaml, const std::string& path = "/etc/kvs/kvs.yaml") {
  auto config = ParseConfig(yaml, path);
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == Status::Code::kInvalidArgument);
  return config.status().message();
}

}  // namespace

TEST_CASE("a config with only data_dir gets the documented defaults") {
  Config config = MustParse("data_dir: /var/lib/kvs\n");
  CHECK(config.data_dir == "/var/lib/kvs");
  CHECK_FALSE(config.auth_file.has_value());
  CHECK(config.default_branch == "main");
  CHECK(config.sync == SyncMode::kSync);
  CHECK(config.read_access == ReadAccess::kPublic);
  CHECK(config.limits.max_key_bytes == 1024);
  CHECK(config.limits.max_value_bytes == 1 << 20);
  CHECK(config.limits.max_body_bytes == 8 << 20);
  CHECK(config.limits.max_keys_per_transaction == 1000);
}

TEST_CASE("every config key is read") {
  Config config = MustParse(
      "data_dir: data\n"
      "auth_file: secret/auth.txt\n"
      "default_branch: live\n"
      "sync: none\n"
      "read_access: secret\n"
      "limits:\n"
      "  max_key_bytes: 10\n"
      "  max_value_bytes: 20\n"
      "  max_body_bytes: 30\n"
      "  max_keys_per_transaction: 40\n");
  CHECK(config.auth_file == "/etc/kvs/secret/auth.txt");
  CHECK(config.default_branch == "live");
  CHECK(config.sync == SyncMode::kNone);
  CHECK(config.read_access == ReadAccess::kSecret);
  CHECK(config.limits.max_key_bytes == 10);
  CHECK(config.limits.max_value_bytes == 20);
  CHECK(config.limits.max_body_bytes == 30);
  CHECK(config.limits.max_keys_per_transaction == 40);

  Options options = config.StoreOptions();
  CHECK(options.sync == SyncMode::kNone);
  CHECK(options.max_key_bytes == 10);
  CHECK(options.max_value_bytes == 20);
  CHECK(options.max_writes_per_transaction == 40);
}

TEST_CASE("byte limits take units, as retention's sizes do") {
  Config config = MustParse(
      "data_dir: d\n"
      "limits:\n"
      "  max_key_bytes: 4000\n"
      "  max_value_bytes: 50MiB\n"
      "  max_body_bytes: 60 MB\n");
  CHECK(config.limits.max_key_bytes == 4000);
  CHECK(config.limits.max_value_bytes == 50u << 20);
  CHECK(config.limits.max_body_bytes == 60000000);
}

TEST_CASE("relative paths are relative to the config file's directory") {
  CHECK(MustParse("data_dir: ./d/../data\n", "/srv/kvs/kvs.yaml").data_dir == "/srv/kvs/data");
  CHECK(MustParse("data_dir: /abs\n", "/srv/kvs/kvs.yaml").data_dir == "/abs");
  std::string cwd = std::filesystem::current_path().string();
  CHECK(MustParse("data_dir: data\n", "kvs.yaml").data_dir == cwd + "/data");
}

TEST_CASE("an empty auth_file means no secret file") {
  CHECK_FALSE(MustParse("data_dir: d\nauth_file:\n").auth_file.has_value());
}

TEST_CASE("config errors name the file, the line and the column") {
  CHECK(ErrorOf("data_dir: d\nsnyc: none\n") ==
        "/etc/kvs/kvs.yaml:2:1: unknown key 'snyc' (known: data_dir, auth_file, default_branch, "
        "sync, read_access, limits, merge, retention, replication, cluster)");
  CHECK_THAT(ErrorOf("data_dir: d\nsync: sometimes\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:2:7: sync must be 'sync' or 'none'"));
  CHECK_THAT(ErrorOf("data_dir: d\nread_access: everyone\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:2:14: read_access must be 'public' or 'secret'"));
  CHECK_THAT(ErrorOf("data_dir: d\nlimits:\n  max_key_bytes: -1\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:3:18: limits.max_key_bytes needs a positive"));
  CHECK_THAT(ErrorOf("data_dir: d\nlimits:\n  max_key_bytes: 0\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:3:18:"));
  CHECK_THAT(ErrorOf("data_dir: d\nlimits:\n  max_value_bytes: 1 apple\n"),
             Catch::Contains("limits.max_value_bytes needs a positive size, like 500MB or 2GiB, "
                             "not '1 apple'"));
  CHECK_THAT(ErrorOf("data_dir: d\nlimits:\n  max_keys_per_transaction: 1k\n"),
             Catch::Contains("needs a positive integer"));
  CHECK_THAT(ErrorOf("data_dir: d\nlimits:\n  max_key_bytes: 4001\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:3:18: limits.max_key_bytes can be at most 4000"));
  CHECK_THAT(ErrorOf("data_dir: d\nlimits:\n  max_keys: 3\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:3:3: unknown limit 'max_keys'"));
  CHECK_THAT(ErrorOf("data_dir: d\nlimits: 5\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:2:9: limits must be a mapping"));
  CHECK_THAT(ErrorOf("data_dir: [a, b]\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:1:11: data_dir needs a single non-empty value"));
  CHECK_THAT(ErrorOf("data_dir: d\ndata_dir: e\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:2:1: 'data_dir' appears twice"));
}

TEST_CASE("merge rules keep their order and name known functions") {
  Config config = MustParse("data_dir: d\nmerge:\n  counters/*: counter\n  \"*\": lww\n");
  REQUIRE(config.merge_rules.size() == 2);
  CHECK(config.merge_rules[0].pattern == "counters/*");
  CHECK(config.merge_rules[0].function == merge::MergeFunction::kCounter);
  CHECK(config.merge_rules[1].pattern == "*");
  CHECK(config.merge_rules[1].function == merge::MergeFunction::kLww);
  CHECK(MustParse("data_dir: d\n").merge_rules.empty());
  CHECK_THAT(ErrorOf("data_dir: d\nmerge:\n  hits: average\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:3:9: merge.hits: unknown function 'average'"));
  CHECK_THAT(ErrorOf("data_dir: d\nmerge: [lww]\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:2:8: merge must be a mapping"));
}

TEST_CASE("retention reads prefixes, sizes with units and durations") {
  Config config = MustParse(
      "data_dir: d\n"
      "retention:\n"
      "  max_bytes: 2GiB\n"
      "  low_water_bytes: 1500 MB\n"
      "  check_interval: 5m\n"
      "  prefixes:\n"
      "    logs/: {keep_last: 100, keep_younger: 30d}\n"
      "    cache/: {keep_last: 1, evictable: true}\n"
      "    \"\": {keep_younger: 2w}\n"
      "    accounts/: {protected: true}\n");
  const Retention& r = config.retention;
  REQUIRE(r.size_bound.has_value());
  CHECK(r.size_bound->max_bytes == uint64_t{2} << 30);
  CHECK(r.size_bound->low_water_bytes == 1500000000);
  CHECK(r.check_interval_ns == int64_t{300} * 1000000000);
  REQUIRE(r.rules.size() == 4);
  CHECK(r.rules[0].prefix == "logs/");
  CHECK(r.rules[0].keep_last == 100);
  CHECK(r.rules[0].keep_younger_ns == int64_t{30} * 86400 * 1000000000);
  CHECK_FALSE(r.rules[0].evictable);
  CHECK(r.rules[1].evictable);
  CHECK(r.rules[2].prefix.empty());
  CHECK(r.rules[2].keep_younger_ns == int64_t{14} * 86400 * 1000000000);
  CHECK(r.rules[3].protect);
  CompactOptions options = r.ToCompactOptions();
  CHECK(options.rules.size() == 4);
  CHECK(options.size_bound->max_bytes == r.size_bound->max_bytes);

  Config none = MustParse("data_dir: d\n");
  CHECK(none.retention.rules.empty());
  CHECK_FALSE(none.retention.size_bound.has_value());
}

TEST_CASE("a store is due a compaction past its size bound or its garbage ratio") {
  Config config = MustParse(
      "data_dir: d\n"
      "retention:\n"
      "  max_bytes: 100MB\n"
      "  low_water_bytes: 80MB\n"
      "  garbage_ratio: 0.5\n"
      "  min_garbage_bytes: 1MB\n");
  const Retention& r = config.retention;
  auto space = [](uint64_t data, uint64_t compacted, uint64_t garbage) {
    SpaceInfo info;
    info.data_bytes = data;
    info.compacted_bytes = compacted;
    info.garbage_bytes = garbage;
    return info;
  };
  CHECK_FALSE(r.CompactionDue(space(90'000'000, 0, 0)).has_value());
  CHECK(r.CompactionDue(space(100'000'001, 0, 0)) ==
        "the store has 100000001 bytes (max_bytes 100000000)");
  // The last compaction could not get below the bound: not again until the
  // file has grown by max_bytes - low_water_bytes.
  CHECK_FALSE(r.CompactionDue(space(110'000'000, 95'000'000, 0)).has_value());
  CHECK(r.CompactionDue(space(115'000'001, 95'000'000, 0)).has_value());
  // Half of it garbage, and at least min_garbage_bytes.
  CHECK(r.CompactionDue(space(10'000'000, 0, 5'000'000)) ==
        "about 5000000 of the store's 10000000 bytes are garbage (50%)");
  CHECK_FALSE(r.CompactionDue(space(10'000'000, 0, 4'900'000)).has_value());
  CHECK_FALSE(r.CompactionDue(space(1'500'000, 0, 900'000)).has_value());

  Config off = MustParse("data_dir: d\nretention:\n  garbage_ratio: off\n");
  CHECK_FALSE(off.retention.CompactionDue(space(10'000'000, 0, 9'000'000)).has_value());
}

TEST_CASE("a one-shot process opens the store with a shorter log window") {
  Config config = MustParse("data_dir: d\nsync: none\n");
  CHECK(config.StoreOptions().checkpoint_blocks == Options().checkpoint_blocks);
  Options one_shot = config.StoreOptions(Lifetime::kOneShot);
  CHECK(one_shot.checkpoint_blocks == kOneShotCheckpointBlocks);
  CHECK(one_shot.checkpoint_blocks < Options().checkpoint_blocks);
  CHECK(one_shot.sync == SyncMode::kNone);
}

TEST_CASE("retention errors name the setting and what it needs") {
  CHECK_THAT(ErrorOf("data_dir: d\nretention:\n  max_bytes: 10\n"),
             Catch::EndsWith("retention: max_bytes and low_water_bytes go together"));
  CHECK_THAT(ErrorOf("data_dir: d\nretention:\n  max_bytes: 10\n  low_water_bytes: 10\n"),
             Catch::EndsWith("low_water_bytes must be below max_bytes"));
  CHECK_THAT(ErrorOf("data_dir: d\nretention:\n  max_bytes: 10 apples\n  low_water_bytes: 1\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:3:14: retention.max_bytes needs a positive "
                               "size, like 500MB or 2GiB, not '10 apples'"));
  CHECK_THAT(ErrorOf("data_dir: d\nretention:\n  prefixes:\n    a/: {keep_younger: 3}\n"),
             Catch::Contains("retention.prefixes.a/.keep_younger needs a positive duration"));
  CHECK_THAT(ErrorOf("data_dir: d\nretention:\n  prefixes:\n    a/: {keep_last: 0}\n"),
             Catch::Contains("retention.prefixes.a/.keep_last needs a positive integer"));
  CHECK_THAT(ErrorOf("data_dir: d\nretention:\n  prefixes:\n    a/: {evictable: yes}\n"),
             Catch::Contains("retention.prefixes.a/.evictable must be 'true' or 'false'"));
  CHECK_THAT(ErrorOf("data_dir: d\nretention:\n  prefixes:\n    a/: {protected: true, "
                     "keep_last: 2}\n"),
             Catch::Contains("a protected prefix keeps everything"));
  CHECK_THAT(ErrorOf("data_dir: d\nretention:\n  prefixes:\n    a/: {}\n"),
             Catch::Contains("retention.prefixes.a/ needs settings"));
  CHECK_THAT(ErrorOf("data_dir: d\nretention:\n  prefixes:\n    a/: {keep: 2}\n"),
             Catch::Contains("unknown setting 'retention.prefixes.a/.keep'"));
  CHECK_THAT(ErrorOf("data_dir: d\nretention:\n  keep_last: 2\n"),
             Catch::Contains("unknown setting 'retention.keep_last'"));
}

TEST_CASE("YAML syntax errors keep yaml-cpp's line and reason") {
  std::string message = ErrorOf("data_dir: d\nlimits:\n  max_key_bytes: [1, 2\n");
  CHECK_THAT(message, Catch::StartsWith("/etc/kvs/kvs.yaml:"));
  CHECK_THAT(message, Catch::Contains("end of sequence"));
  CHECK_THAT(ErrorOf("data_dir: d\n  bad indent: x\n"), Catch::StartsWith("/etc/kvs/kvs.yaml:2:"));
}

TEST_CASE("a config without data_dir, empty or not a mapping is refused") {
  CHECK(ErrorOf("sync: none\n") ==
        "/etc/kvs/kvs.yaml: data_dir is missing; it names the store's directory");
  CHECK_THAT(ErrorOf(""), Catch::Contains("the config is empty"));
  CHECK_THAT(ErrorOf("- a\n- b\n"), Catch::StartsWith("/etc/kvs/kvs.yaml:1:1: the config must be"));
}

TEST_CASE("a missing config file is an IOError naming it") {
  auto config = LoadConfig("/nonexistent/kvs.yaml");
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == Status::Code::kIOError);
  CHECK_THAT(config.status().message(), Catch::StartsWith("/nonexistent/kvs.yaml: cannot read"));
}

TEST_CASE("LoadConfig reads the file") {
  kvs::test::TempDir dir;
  std::ofstream(dir.Sub("kvs.yaml")) << "data_dir: store\nsync: none\n";
  auto config = LoadConfig(dir.Sub("kvs.yaml"));
  REQUIRE(config.ok());
  CHECK(config->data_dir == dir.Sub("store"));
  CHECK(config->path == dir.Sub("kvs.yaml"));
}

}  // namespace kvs::config

namespace kvs::config {

TEST_CASE("replication peers are read with their defaults, and bad ones refused") {
  Config config = MustParse(
      "data_dir: d\n"
      "replication:\n"
      "  - url: http://10.0.0.2:8080\n"
      "  - url: https://example.org/kvs\n"
      "    mode: pull\n"
      "    secret_file: peer.txt\n"
      "    branches: [main, dev]\n"
      "    prefix: users/\n"
      "    interval: 2m\n"
      "    live: true\n");
  REQUIRE(config.replication.size() == 2);
  const ReplicationPeer& first = config.replication[0];
  CHECK(first.url == "http://10.0.0.2:8080");
  CHECK(first.mode == replication::Direction::kSync);
  CHECK_FALSE(first.secret_file);
  CHECK(first.branches.empty());
  CHECK(first.interval_ns == int64_t{10} * 1000000000);
  CHECK_FALSE(first.live);
  const ReplicationPeer& second = config.replication[1];
  CHECK(second.mode == replication::Direction::kPull);
  CHECK(second.secret_file == "/etc/kvs/peer.txt");
  CHECK(second.branches == std::vector<std::string>{"main", "dev"});
  CHECK(second.prefix == "users/");
  CHECK(second.interval_ns == int64_t{120} * 1000000000);
  CHECK(second.live);

  CHECK(ErrorOf("data_dir: d\nreplication:\n  url: http://x\n") ==
        "/etc/kvs/kvs.yaml:3:3: replication must be a list of peers, each with a url");
  CHECK(ErrorOf("data_dir: d\nreplication:\n  - mode: push\n") ==
        "/etc/kvs/kvs.yaml:3:5: replication[0] needs a url");
  CHECK(ErrorOf("data_dir: d\nreplication:\n  - url: ftp://x\n") ==
        "/etc/kvs/kvs.yaml:3:10: replication[0].url must start with http:// or https://");
  CHECK_THAT(ErrorOf("data_dir: d\nreplication:\n  - {url: 'http://x', mode: both}\n"),
             Catch::Contains("replication[0].mode"));
  CHECK_THAT(ErrorOf("data_dir: d\nreplication:\n  - {url: 'http://x', branches: ['a b']}\n"),
             Catch::Contains("replication[0].branches"));
  CHECK_THAT(ErrorOf("data_dir: d\nreplication:\n  - {url: 'http://x', live: yes}\n"),
             Catch::Contains("replication[0].live"));
  CHECK_THAT(ErrorOf("data_dir: d\nreplication:\n  - {url: 'http://x', every: 10s}\n"),
             Catch::Contains("unknown setting 'replication[0].every' (known: url, mode"));
}

TEST_CASE("a cluster section places the node and says how to reach the others") {
  Config config = MustParse(
      "data_dir: d\n"
      "auth_file: auth.txt\n"
      "cluster:\n"
      "  self: 10.0.0.1:80\n"
      "  view: 10.0.0.1:80,10.0.0.2:80,10.0.0.3:80,10.0.0.4:80\n"
      "  repl_factor: 2\n"
      "  causal_wait: 3s\n"
      "  grace: 1m\n"
      "  links:\n"
      "    10.0.0.3:80: http://tunnel:9000/kvs\n");
  REQUIRE(config.cluster.has_value());
  CHECK(config.cluster->map.view().size() == 4);
  CHECK(config.cluster->map.repl_factor() == 2);
  CHECK(config.cluster->causal_wait_ns == int64_t{3} * 1000000000);
  CHECK(config.cluster->UrlOf("10.0.0.2:80") == "http://10.0.0.2:80");
  CHECK(config.cluster->UrlOf("10.0.0.3:80") == "http://tunnel:9000/kvs");
  CHECK(config.cluster->grace_ns == int64_t{60} * 1000000000);
  CHECK_FALSE(config.cluster->join);
  // The node runs its pulls itself (cluster/cluster_node.h), not as
  // configured peers.
  CHECK(config.replication.empty());
  // A node that joins by a view change is not in the view yet.
  Config joining = MustParse(
      "data_dir: d\nauth_file: a\ncluster:\n  self: 10.0.0.5:80\n  view: 10.0.0.1:80\n"
      "  repl_factor: 1\n  join: true\n");
  CHECK(joining.cluster->join);
  CHECK_FALSE(joining.cluster->map.ShardOfNode("10.0.0.5:80").has_value());
}

TEST_CASE("a cluster section that cannot place the node is an error that says why") {
  const std::string head = "data_dir: d\nauth_file: a\ncluster:\n";
  CHECK_THAT(ErrorOf(head + "  self: 10.0.0.9:80\n  view: [10.0.0.1:80]\n  repl_factor: 1\n"),
             Catch::Contains("not in the view (a node that joins the cluster by a view change "
                             "says join: true)"));
  CHECK_THAT(ErrorOf(head + "  self: 10.0.0.1:80\n  view: [10.0.0.1:80]\n  repl_factor: 1\n"
                            "  join: true\n"),
             Catch::Contains("in the view already"));
  CHECK_THAT(ErrorOf(head + "  self: 10.0.0.1:80\n  view: [10.0.0.1:80]\n  repl_factor: 2\n"),
             Catch::Contains("replication factor"));
  CHECK_THAT(ErrorOf(head + "  self: a:1\n  view: a:1,a:1\n  repl_factor: 1\n"),
             Catch::Contains("twice"));
  CHECK_THAT(ErrorOf(head + "  self: a:1\n  view: a\n  repl_factor: 1\n"),
             Catch::Contains("host:port"));
  CHECK_THAT(ErrorOf(head + "  self: a:1\n  view: a:1\n  repl_factor: 1\n  colour: red\n"),
             Catch::Contains("unknown setting 'cluster.colour'"));
  CHECK_THAT(ErrorOf("data_dir: d\ncluster:\n  self: a:1\n  view: a:1\n  repl_factor: 1\n"),
             Catch::Contains("needs auth_file"));
}

}  // namespace kvs::config
