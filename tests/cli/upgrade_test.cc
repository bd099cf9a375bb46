// kvs upgrade: a store written by kvs 0.2 or earlier (format 1) or by kvs
// 0.3 (format 2) raised to the newest format in place, and refused while
// anyone has it open.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "kvs/store.h"
#include "tests/cli/kvs_runner.h"
#include "tests/store/test_util.h"

namespace kvs::cli::test {
namespace {

namespace fs = std::filesystem;

// A copy of a store an earlier kvs wrote (tests/store/data/README.md).
std::string CopyOldStore(const kvs::test::TempDir& dir, const std::string& name = "store-0.1") {
  const std::string store = dir.Sub("store");
  fs::copy(std::string(KVS_TEST_DATA_DIR) + "/" + name, store, fs::copy_options::recursive);
  return store;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("upgrade raises a store of format 1 to the newest format, once, keeping all of it") {
  kvs::test::TempDir dir;
  const std::string store = CopyOldStore(dir);
  const std::string before = MustKvs(store, {"export"});

  std::map<std::string, std::string> printed = Fields(MustKvs(store, {"upgrade"}));
  CHECK(printed["store"] == store);
  CHECK(printed["format before"] == "1");
  CHECK(printed["format after"] == "6");
  CHECK(MustKvs(store, {"export"}) == before);
  CHECK(MustKvs(store, {"get-key", "note", "--branch", "draft"}) == "draft note");
  for (int i = 60; i < 70; ++i) MustKvs(store, {"put", "counter", std::to_string(i)});
  CHECK(MustKvs(store, {"get-key", "counter"}) == "69");
  CHECK_THAT(MustKvs(store, {"check"}), Catch::EndsWith("problems: 0\n"));

  printed = Fields(MustKvs(store, {"upgrade"}));
  CHECK(printed["format before"] == "6");
  CHECK(printed["format after"] == "6");
}

// Stores of formats 2 to 5 (tests/store/data/README.md): the same writes,
// by four versions of kvs.
TEST_CASE("upgrade raises a store of format 2 to 5 to the newest format, keeping all of it") {
  const auto [name, format] = GENERATE(table<std::string, std::string>(
      {{"store-0.3", "2"}, {"store-0.4", "3"}, {"store-0.5", "4"}, {"store-0.6", "5"}}));
  INFO(name);
  kvs::test::TempDir dir;
  const std::string store = CopyOldStore(dir, name);
  // Written to as it is first: it stays at its format.
  MustKvs(store, {"put", "counter", "40"});
  const std::string before = MustKvs(store, {"export"});
  std::map<std::string, std::string> printed = Fields(MustKvs(store, {"upgrade"}));
  CHECK(printed["format before"] == format);
  CHECK(printed["format after"] == "6");
  CHECK(MustKvs(store, {"export"}) == before);
  CHECK(MustKvs(store, {"get-key", "note", "--branch", "draft"}) == "draft note");
  CHECK(MustKvs(store, {"get-key", "counter"}) == "40");
  for (int i = 41; i < 50; ++i) MustKvs(store, {"put", "counter", std::to_string(i)});
  MustKvs(store, {"put", "note", "second draft", "--branch", "draft"});
  CHECK(MustKvs(store, {"get-key", "counter"}) == "49");
  CHECK(MustKvs(store, {"get-key", "note", "--branch", "draft"}) == "second draft");
  CHECK_THAT(MustKvs(store, {"check"}), Catch::EndsWith("problems: 0\n"));
}

TEST_CASE("upgrade refuses a store that another process has open, changing nothing") {
  kvs::test::TempDir dir;
  const std::string store = CopyOldStore(dir);
  const std::string identity = FileBytes(store + "/STORE");
  {
    Options options;
    options.create_if_missing = false;
    auto open = Store::Open(store, options);
    REQUIRE(open.ok());
    ProgramRun refused = RunKvs({"-d", store, "upgrade"});
    CHECK(refused.exit_code == 1);
    CHECK(refused.log ==
          "kvs: " + store + " is in use: a server or another process has its store open\n");
    CHECK(refused.output.empty());
  }
  CHECK(FileBytes(store + "/STORE") == identity);
  CHECK(Fields(MustKvs(store, {"upgrade"}))["format after"] == "6");
}

}  // namespace kvs::cli::test
