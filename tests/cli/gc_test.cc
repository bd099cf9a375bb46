// kvs gc: the server config's retention applied from the command line,
// next to a running server (a real nginx and kvs-fcgi on the same store).
#include <catch2/catch.hpp>
#include <fstream>

#include "tests/cli/kvs_runner.h"

namespace kvs::cli::test {
namespace {

// How many versions key's history holds, read by this process.
size_t VersionsOf(const std::string& store_dir, const std::string& key) {
  Options options;
  options.create_if_missing = false;
  auto store = Store::Open(store_dir, options);
  REQUIRE(store.ok());
  auto head = (*store)->Get("main", key);
  REQUIRE(head.ok());
  return (*store)->History(head->winner.id, 0, 1000, false)->size();
}

}  // namespace

TEST_CASE("kvs gc applies the server config's retention next to the running server") {
  server::test::StackOptions options;
  options.extra_config +=
      "retention:\n"
      "  prefixes:\n"
      "    logs/: {keep_last: 3}\n"
      "    accounts/: {protected: true}\n";
  server::test::ServerStack stack(options);
  const std::string store = stack.dir() + "/kvs-data";
  for (int i = 0; i < 6; ++i) MustKvs(store, {"put", "logs/a", "line " + std::to_string(i)});
  for (int i = 0; i < 4; ++i) MustKvs(store, {"put", "accounts/x", "balance " + std::to_string(i)});

  // -d names the server's directory, whose kvs.yaml holds the policy.
  std::string out = MustKvs(stack.dir(), {"gc"});
  INFO(out);
  CHECK(out.find("versions dropped: 3\n") != std::string::npos);
  CHECK(out.find("keys evicted: 0\n") != std::string::npos);
  CHECK(VersionsOf(store, "logs/a") == 3);
  CHECK(VersionsOf(store, "accounts/x") == 4);
  // The server follows the compacted file, for reads and writes.
  auto res =
      stack.Client()->Put("/logs%2Fa", server::test::BearerHeaders(), "after gc", "text/plain");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(VersionsOf(store, "logs/a") == 4);

  // --config names the config, and through it the store.
  ProgramRun by_config = RunKvs({"gc", "--config", stack.dir() + "/kvs.yaml"});
  INFO(by_config.log);
  REQUIRE(by_config.exit_code == 0);
  CHECK(by_config.output.find("versions dropped: 1\n") != std::string::npos);
  CHECK(VersionsOf(store, "logs/a") == 3);
  // gc drops history: -d naming another store than --config is refused.
  kvs::test::TempDir other;
  MustKvs(other.path(), {"put", "k", "v"});
  ProgramRun both = RunKvs({"-d", other.path(), "gc", "--config", stack.dir() + "/kvs.yaml"});
  CHECK(both.exit_code == 1);
  CHECK(both.log.find("give only one of them") != std::string::npos);
  MustKvs(store, {"gc", "--config", stack.dir() + "/kvs.yaml"});  // the same store: fine

  // A directory without a server config: gc says what it needs, and keeps
  // everything.
  ProgramRun refused = RunKvs({"-d", store, "gc"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.log.find("holds no kvs.yaml") != std::string::npos);
}

TEST_CASE("kvs compacts the store by itself after a write once garbage gathers") {
  kvs::test::TempDir tmp;
  // A server directory with a low threshold; the store is its data_dir. A
  // write leaves its edit record, block header and trailer, less the nodes
  // a compaction would write for its edits, which the store keeps in memory
  // until its next checkpoint (store/log_window.h): about nothing until
  // then, all of it after. A transaction too large to log is a checkpoint:
  // an import of many keys, every hundred writes.
  {
    std::ofstream config(tmp.Sub("kvs.yaml"));
    config << "data_dir: kvs-data\nretention:\n  garbage_ratio: 0.05\n"
              "  min_garbage_bytes: 10000\n";
  }
  int imports = 0;
  auto import = [&] {
    const std::string file = tmp.Sub("bulk" + std::to_string(imports) + ".yaml");
    {
      std::ofstream bulk(file);
      for (int i = 0; i < 600; ++i) bulk << "bulk" << imports << "-" << i << ": " << i << "\n";
    }
    ++imports;
    return RunKvs({"-d", tmp.path(), "import", file});
  };
  std::string note;
  int writes = 0;
  for (; writes < 300 && note.empty(); ++writes) {
    ProgramRun put = writes % 100 == 0
                         ? import()
                         : RunKvs({"-d", tmp.path(), "put", "k" + std::to_string(writes % 5),
                                   std::to_string(writes)});
    INFO(put.log);
    REQUIRE(put.exit_code == 0);
    if (put.log.find("compacted it") != std::string::npos) note = put.log;
  }
  INFO(note);
  REQUIRE(!note.empty());
  CHECK_THAT(note, Catch::Matches("kvs: about \\d+ of the store's \\d+ bytes are garbage "
                                  "\\(\\d+%\\): compacted it from \\d+ to \\d+ bytes\n"));
  // All history is kept.
  for (int k = 0; k < 5; ++k) {
    size_t puts = 0;
    for (int w = 0; w < writes; ++w) puts += w % 100 != 0 && w % 5 == k;
    CHECK(VersionsOf(tmp.Sub("kvs-data"), "k" + std::to_string(k)) == puts);
  }
  CHECK(VersionsOf(tmp.Sub("kvs-data"), "bulk0-599") == 1);
  std::string stats = MustKvs(tmp.path(), {"stats"});
  CHECK_THAT(stats, Catch::Contains("last compaction: after revision " + std::to_string(writes)));
  // Right after, nothing is due: the next write compacts nothing.
  ProgramRun next = RunKvs({"-d", tmp.path(), "put", "k0", "next"});
  CHECK(next.exit_code == 0);
  CHECK(next.log.empty());
}

}  // namespace kvs::cli::test
