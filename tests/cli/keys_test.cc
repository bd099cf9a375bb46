// Keys and their current values through the real kvs program: put,
// get-key, keys, export as JSON lines, branches, and the store commands
// check, compact and stats.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/cli/kvs_runner.h"
#include "tests/store/test_util.h"

namespace kvs::cli::test {

using Strings = std::vector<std::string>;

TEST_CASE("put writes a value that get-key reads back byte for byte") {
  kvs::test::TempDir tmp;
  std::string id = MustKvs(tmp.path(), {"put", "greeting", "hello world"});
  CHECK_THAT(id, Catch::Matches("[0-9a-f]{64}\n"));
  CHECK(MustKvs(tmp.path(), {"get-key", "greeting"}) == "hello world");
  MustKvs(tmp.path(), {"put", "greeting", "hello again"});
  CHECK(MustKvs(tmp.path(), {"get-key", "greeting"}) == "hello again");
  // "--" lets a value begin with '-'.
  MustKvs(tmp.path(), {"put", "--", "dash", "-1"});
  CHECK(MustKvs(tmp.path(), {"get-key", "dash"}) == "-1");
}

TEST_CASE("rm deletes a key, keeping its history; a key with no value is an error") {
  kvs::test::TempDir tmp;
  std::string put = Lines(MustKvs(tmp.path(), {"put", "greeting", "hello"}))[0];
  std::string deletion = Lines(MustKvs(tmp.path(), {"rm", "greeting"}))[0];
  CHECK_THAT(deletion, Catch::Matches("[0-9a-f]{64}"));
  CHECK(MustKvs(tmp.path(), {"keys"}).empty());
  auto meta = nlohmann::json::parse(MustKvs(tmp.path(), {"get", deletion}));
  CHECK(meta["deleted"] == true);
  CHECK(meta["parents"] == nlohmann::json::array({put}));
  CHECK(MustKvs(tmp.path(), {"read", put}) == "hello");

  for (const Strings& args : {Strings{"rm", "greeting"}, Strings{"rm", "never"}}) {
    ProgramRun again = RunKvs({"-d", tmp.path(), args[0], args[1]});
    CHECK(again.exit_code == 1);
    CHECK_THAT(again.log, Catch::Contains("does not exist"));
  }
  ProgramRun reserved = RunKvs({"-d", tmp.path(), "rm", "_system"});
  CHECK(reserved.exit_code != 0);
  ProgramRun no_key = RunKvs({"-d", tmp.path(), "rm"});
  CHECK(no_key.exit_code == 2);
  CHECK_THAT(no_key.log, Catch::Contains("missing KEY"));
}

TEST_CASE("a server's directory (with kvs.yaml) leads to the store its data_dir names") {
  kvs::test::TempDir tmp;
  server::test::WriteFile(tmp.Sub("kvs.yaml"), "data_dir: store\nsync: sync\n");
  MustKvs(tmp.path(), {"put", "greeting", "hello"});
  CHECK(std::filesystem::exists(tmp.Sub("store/STORE")));
  CHECK_FALSE(std::filesystem::exists(tmp.Sub("STORE")));  // no second store beside it
  CHECK(MustKvs(tmp.Sub("store"), {"get-key", "greeting"}) == "hello");
  CHECK_THAT(MustKvs(tmp.path(), {"stats"}), Catch::Contains(tmp.Sub("store")));

  server::test::WriteFile(tmp.Sub("kvs.yaml"), "sync: none\n");
  ProgramRun no_data_dir = RunKvs({"-d", tmp.path(), "keys"});
  CHECK(no_data_dir.exit_code == 1);
  CHECK_THAT(no_data_dir.log, Catch::Contains("names no data_dir"));
}

TEST_CASE("put replaces every head, so it resolves a conflict") {
  kvs::test::TempDir tmp;
  std::string first = Create(tmp.path(), "k", "one");
  Create(tmp.path(), "k", "two", {first});
  Create(tmp.path(), "k", "three", {first});
  REQUIRE(Lines(MustKvs(tmp.path(), {"forks", "k"})).size() == 2);

  std::string merged = MustKvs(tmp.path(), {"put", "k", "resolved"});
  CHECK(Lines(MustKvs(tmp.path(), {"forks", "k"})) == Lines(merged));
  auto meta = nlohmann::json::parse(MustKvs(tmp.path(), {"get", merged.substr(0, 64)}));
  CHECK(meta["parents"].size() == 2);
}

TEST_CASE("get-key of a key in conflict prints the winner and says so on stderr") {
  kvs::test::TempDir tmp;
  std::string first = Create(tmp.path(), "k", "one");
  Create(tmp.path(), "k", "two", {first});
  std::string newest = Create(tmp.path(), "k", "three", {first});
  ProgramRun run = RunKvs({"-d", tmp.path(), "get-key", "k"});
  CHECK(run.exit_code == 0);
  CHECK(run.output == "three");
  CHECK(run.log == "kvs: key 'k' is in conflict: it has 2 heads, and this is the winner, " +
                       newest + " (kvs forks k lists them)\n");
}

TEST_CASE("--branch reads and writes another branch; an unknown branch is an error") {
  kvs::test::TempDir tmp;
  MustKvs(tmp.path(), {"put", "k", "on main"});
  ProgramRun missing = RunKvs({"-d", tmp.path(), "put", "k", "v", "--branch", "nope"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.log == "kvs: branch 'nope' does not exist\n");
  ProgramRun read = RunKvs({"-d", tmp.path(), "get-key", "k", "--branch=nope"});
  CHECK(read.exit_code == 1);
  CHECK(read.log == "kvs: branch 'nope' does not exist\n");
}

TEST_CASE("keys lists the keys with values in byte order, bounded by --gt, --lt, --limit") {
  kvs::test::TempDir tmp;
  for (const char* key : {"b", "a", "c", "d"}) MustKvs(tmp.path(), {"put", key, "v"});
  CHECK(Lines(MustKvs(tmp.path(), {"keys"})) == Strings{"a", "b", "c", "d"});
  CHECK(Lines(MustKvs(tmp.path(), {"keys", "--gt", "a", "--lt", "d"})) == Strings{"b", "c"});
  CHECK(Lines(MustKvs(tmp.path(), {"keys", "--limit=3"})) == Strings{"a", "b", "c"});
  CHECK(MustKvs(tmp.path(), {"keys", "--gt=d"}).empty());
}

TEST_CASE("keys pages through more keys than one store listing returns") {
  kvs::test::TempDir tmp;
  std::string yaml;
  for (int i = 0; i < 2500; ++i) yaml += "k" + std::to_string(10000 + i) + ": v\n";
  MustKvs(tmp.path(), {"import", "-"}, yaml);
  std::vector<std::string> keys = Lines(MustKvs(tmp.path(), {"keys"}));
  REQUIRE(keys.size() == 2500);
  CHECK(keys.front() == "k10000");
  CHECK(keys.back() == "k12499");
  CHECK(Lines(MustKvs(tmp.path(), {"keys", "--gt=k10998", "--limit=2"})) ==
        Strings{"k10999", "k11000"});
}

TEST_CASE("export prints JSON lines, with base64 for values that are not UTF-8") {
  kvs::test::TempDir tmp;
  MustKvs(tmp.path(), {"put", "text", "héllo \"quoted\"\n"});
  Create(tmp.path(), "binary", std::string("\xff\x00\x01", 3));
  CHECK(MustKvs(tmp.path(), {"export"}) ==
        "{\"key\":\"binary\",\"value\":\"/wAB\",\"encoding\":\"base64\"}\n"
        "{\"key\":\"text\",\"value\":\"héllo \\\"quoted\\\"\\n\"}\n");
}

TEST_CASE("keys holding a newline or a control character print quoted, one line each") {
  kvs::test::TempDir tmp;
  const std::string forged = "evil\ncommit deadbeef  r1  main";
  MustKvs(tmp.path(), {"put", forged, "x"});
  MustKvs(tmp.path(), {"put", std::string("tab\there"), "x"});
  MustKvs(tmp.path(), {"put", "\"quoted\"", "x"});
  MustKvs(tmp.path(), {"put", "plain", "x"});
  CHECK(MustKvs(tmp.path(), {"keys"}) ==
        "\"\\\"quoted\\\"\"\n"
        "\"evil\\ncommit deadbeef  r1  main\"\n"
        "plain\n"
        "\"tab\\there\"\n");
  CHECK_THAT(MustKvs(tmp.path(), {"log", "--limit", "4"}),
             Catch::Contains("  key \"evil\\ncommit deadbeef  r1  main\"\n"));
}

TEST_CASE("check reports a sound store and exits 0") {
  kvs::test::TempDir tmp;
  MustKvs(tmp.path(), {"put", "k", "v"});
  std::string report = MustKvs(tmp.path(), {"check"});
  CHECK_THAT(report, Catch::Contains("versions checked: 1\n"));
  CHECK_THAT(report, Catch::EndsWith("problems: 0\n"));
}

TEST_CASE("check lists the problems of a damaged store and exits 1") {
  kvs::test::TempDir tmp;
  for (int i = 0; i < 20; ++i) MustKvs(tmp.path(), {"put", "k" + std::to_string(i), "value"});
  // Flip one byte of a stored value in the middle of the data file:
  // corruption that is not a torn tail, in a record that opening the store
  // does not read (a damaged record it reads fails the open, which says
  // so).
  std::string data_file;
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
    if (entry.path().filename().string().rfind("data", 0) == 0) data_file = entry.path();
  }
  REQUIRE(!data_file.empty());
  std::string bytes = server::test::ReadFile(data_file);
  const size_t value = bytes.find("value", kvs::test::DataFileBytes(data_file) / 2);
  REQUIRE(value != std::string::npos);
  bytes[value] ^= 0x55;
  server::test::WriteFile(data_file, bytes);

  ProgramRun run = RunKvs({"-d", tmp.path(), "check"});
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.output, !Catch::Contains("problems: 0\n"));
  CHECK_THAT(run.log, Catch::StartsWith("kvs: check found "));
}

TEST_CASE("compact keeps every version and value and reports the sizes") {
  kvs::test::TempDir tmp;
  std::string first = Create(tmp.path(), "k", "one");
  for (int i = 0; i < 10; ++i) MustKvs(tmp.path(), {"put", "k", "v" + std::to_string(i)});
  std::string report = MustKvs(tmp.path(), {"compact"});
  CHECK_THAT(report, Catch::Matches("bytes before: \\d+\nbytes after: \\d+\n"
                                    "versions kept: 11\nversions dropped: 0\n"));
  CHECK(MustKvs(tmp.path(), {"read", first}) == "one");
  CHECK(MustKvs(tmp.path(), {"get-key", "k"}) == "v9");
  CHECK_THAT(MustKvs(tmp.path(), {"check"}), Catch::EndsWith("problems: 0\n"));
}

TEST_CASE("check counts the commits the log lists, also after a compaction") {
  kvs::test::TempDir tmp;
  for (int i = 0; i < 9; ++i) MustKvs(tmp.path(), {"put", "k", "v" + std::to_string(i)});
  const std::string counts = "revisions checked: 10\ncommits checked: 9\nversions checked: 9\n";
  CHECK_THAT(MustKvs(tmp.path(), {"check"}), Catch::StartsWith(counts));
  MustKvs(tmp.path(), {"compact"});
  CHECK(Lines(MustKvs(tmp.path(), {"log"})).size() >= 9);
  CHECK_THAT(MustKvs(tmp.path(), {"check"}), Catch::StartsWith(counts));
}

TEST_CASE("compact draws a progress bar on stderr when stderr is a terminal") {
  kvs::test::TempDir tmp;
  MustKvs(tmp.path(), {"put", "k", "v"});
  // script(1) runs the command on a pseudo-terminal and copies what it shows.
  ProgramRun run = server::test::RunProgram(
      {"/usr/bin/script", "-qec", std::string(KVS_CLI_BINARY) + " -d " + tmp.path() + " compact",
       "/dev/null"},
      "", std::map<std::string, std::string>{});
  INFO(run.log);
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.output, Catch::Contains("\rcompacting [" + std::string(40, '#') + "] 100%"));
  CHECK_THAT(run.output, Catch::Contains("versions kept: 1"));
}

TEST_CASE("stats counts keys on the branch and versions in the store") {
  kvs::test::TempDir tmp;
  MustKvs(tmp.path(), {"put", "a", "1"});
  MustKvs(tmp.path(), {"put", "a", "2"});
  MustKvs(tmp.path(), {"put", "b", "3"});
  std::string stats = MustKvs(tmp.path(), {"stats"});
  // Three writes since the store's first checkpoint: what a compaction would
  // free is about nothing, so the count may be 0 (storage.md, automatic
  // compaction); space_test pins how it grows.
  CHECK_THAT(stats, Catch::Matches("store: " + tmp.path() +
                                   "\nreplica: [0-9a-f]{32}\nrevision: 3\n"
                                   "branches: main \\(revision 3\\)\nkeys on main: 2\n"
                                   "versions: 3\nbytes on disk: [1-9]\\d*\n"
                                   "data file \\(bytes\\): [1-9]\\d*\n"
                                   "garbage \\(bytes\\): \\d+ \\(\\d+%\\)\n"
                                   "last compaction: never\n"));
  MustKvs(tmp.path(), {"compact"});
  CHECK_THAT(MustKvs(tmp.path(), {"stats"}),
             Catch::Contains("garbage (bytes): 0 (0%)\nlast compaction: after "
                             "revision 3 (") &&
                 Catch::Matches("(.|\n)*\\), [1-9]\\d* bytes\n(.|\n)*"));
}

}  // namespace kvs::cli::test
