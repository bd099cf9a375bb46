// The YAML config: defaults, relative paths, and errors that name the file,
// the line and the reason.
#include "fcgi/config.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/fcgi/server_stack.h"

namespace kvs::fcgi {
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
        "sync, read_access, limits, merge)");
  CHECK_THAT(ErrorOf("data_dir: d\nsync: sometimes\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:2:7: sync must be 'sync' or 'none'"));
  CHECK_THAT(ErrorOf("data_dir: d\nread_access: everyone\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:2:14: read_access must be 'public' or 'secret'"));
  CHECK_THAT(ErrorOf("data_dir: d\nlimits:\n  max_key_bytes: -1\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:3:18: limits.max_key_bytes needs a positive"));
  CHECK_THAT(ErrorOf("data_dir: d\nlimits:\n  max_key_bytes: 0\n"),
             Catch::StartsWith("/etc/kvs/kvs.yaml:3:18:"));
  CHECK_THAT(ErrorOf("data_dir: d\nlimits:\n  max_value_bytes: 1MB\n"),
             Catch::Contains("not '1MB'"));
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
  test::WriteFile(dir.Sub("kvs.yaml"), "data_dir: store\nsync: none\n");
  auto config = LoadConfig(dir.Sub("kvs.yaml"));
  REQUIRE(config.ok());
  CHECK(config->data_dir == dir.Sub("store"));
  CHECK(config->path == dir.Sub("kvs.yaml"));
}

}  // namespace kvs::fcgi
