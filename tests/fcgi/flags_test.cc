// The kvs-fcgi command line.
#include "fcgi/flags.h"

#include <catch2/catch.hpp>

namespace kvs::server {
namespace {

Result<CommandLine> Parse(std::vector<const char*> args, const char* env_config = nullptr) {
  args.insert(args.begin(), "kvs-fcgi");
  return ParseCommandLine(static_cast<int>(args.size()), args.data(), env_config);
}

std::string ErrorOf(std::vector<const char*> args, const char* env_config = nullptr) {
  auto cli = Parse(std::move(args), env_config);
  REQUIRE_FALSE(cli.ok());
  return cli.status().message();
}

}  // namespace

TEST_CASE("the command line takes --name value and --name=value") {
  auto cli = Parse({"--config", "a.yaml", "--socket=/run/kvs.sock", "--threads", "8"});
  REQUIRE(cli.ok());
  CHECK(cli->config_path == "a.yaml");
  CHECK(cli->socket_path == "/run/kvs.sock");
  CHECK_FALSE(cli->listen_address.has_value());
  CHECK(cli->threads == 8);

  auto tcp = Parse({"--listen", "127.0.0.1:9000", "--config=b.yaml"});
  REQUIRE(tcp.ok());
  CHECK(tcp->listen_address == "127.0.0.1:9000");
  CHECK(tcp->threads == 16);
}

TEST_CASE("the config may come from KVS_CONFIG, and --config wins") {
  CHECK(Parse({}, "/etc/kvs.yaml")->config_path == "/etc/kvs.yaml");
  CHECK(Parse({"--config", "mine.yaml"}, "/etc/kvs.yaml")->config_path == "mine.yaml");
}

TEST_CASE("bad command lines say what is wrong") {
  CHECK_THAT(ErrorOf({}), Catch::Contains("no config file"));
  CHECK_THAT(ErrorOf({"--config"}), Catch::Contains("--config needs a value"));
  CHECK_THAT(ErrorOf({"--config="}), Catch::Contains("--config needs a value"));
  CHECK_THAT(ErrorOf({"--confg", "x"}), Catch::Contains("unknown argument '--confg'"));
  CHECK_THAT(ErrorOf({"--config", "x", "--threads", "0"}), Catch::Contains("--threads needs"));
  CHECK_THAT(ErrorOf({"--config", "x", "--threads", "4x"}), Catch::Contains("--threads needs"));
  CHECK_THAT(ErrorOf({"--config", "x", "--socket", "s", "--listen", "127.0.0.1:1"}),
             Catch::Contains("not both"));
}

TEST_CASE("--help asks for the usage, --version for the version, without a config") {
  CHECK(Parse({"--help"})->help);
  CHECK_THAT(Usage(), Catch::StartsWith("usage: kvs-fcgi --config FILE"));
  CHECK_THAT(Usage(), Catch::Contains("--version"));
  auto version = Parse({"--version"});
  REQUIRE(version.ok());
  CHECK(version->version);
  CHECK_FALSE(Parse({"--config", "x"})->version);
}

}  // namespace kvs::server
