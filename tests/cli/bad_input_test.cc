// Bad input for every kvs command: usage errors exit with 2 and show the
// command's usage, failures exit with 1 and say what failed, and neither
// changes the store.
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/cli/kvs_runner.h"
#include "tests/store/test_util.h"

namespace kvs::cli::test {

TEST_CASE("usage errors exit with 2, say what is wrong and show the usage") {
  kvs::test::TempDir tmp;
  std::string id = Create(tmp.path(), "k", "v");
  RequireRefusals(
      tmp.path(), 2,
      {
          {{}, "kvs: no command given"},
          {{"frobnicate"}, "kvs: unknown command 'frobnicate'"},
          {{"forks", "k", "--bogus"}, "kvs: unknown option '--bogus' for forks"},
          {{"--branch", "main", "forks", "k"}, "kvs: unknown option '--branch'"},
          {{"tails", "k", "--branch=main"}, "kvs: unknown option '--branch' for tails"},
          {{"list", "--yaml"}, "kvs: unknown option '--yaml' for list"},
          {{"create"}, "kvs: missing KEY"},
          {{"rm"}, "kvs: missing KEY"},
          {{"links", "--ids=1"}, "kvs: --ids takes no value"},
          {{"links"}, "kvs: missing ID"},
          {{"read"}, "kvs: missing ID"},
          {{"get"}, "kvs: missing ID"},
          {{"history"}, "kvs: missing ID"},
          {{"future"}, "kvs: missing ID"},
          {{"get-key"}, "kvs: missing KEY"},
          {{"import"}, "kvs: missing FILE"},
          {{"put"}, "kvs: missing KEY and VALUE"},
          {{"put", "k"}, "kvs: missing VALUE"},
          {{"concestor", id}, "kvs: missing two or more IDs"},
          {{"forks", "a", "b"}, "kvs: unexpected argument 'b'"},
          {{"tails", "a", "b"}, "kvs: unexpected argument 'b'"},
          {{"put", "k", "v", "w"}, "kvs: unexpected argument 'w'"},
          {{"check", "now"}, "kvs: unexpected argument 'now'"},
          {{"compact", "x"}, "kvs: unexpected argument 'x'"},
          {{"gc", "x"}, "kvs: unexpected argument 'x'"},
          {{"gc", "--config"}, "kvs: --config needs a value"},
          {{"compact", "--config", "kvs.yaml"}, "kvs: unknown option '--config' for compact"},
          {{"stats", "x"}, "kvs: unexpected argument 'x'"},
          {{"list", "x"}, "kvs: unexpected argument 'x'"},
          {{"keys", "x"}, "kvs: unexpected argument 'x'"},
          {{"export", "x"}, "kvs: unexpected argument 'x'"},
          {{"import", "a.yaml", "b.yaml"}, "kvs: unexpected argument 'b.yaml'"},
          {{"help", "frobnicate"}, "kvs: unknown command 'frobnicate'"},
          {{"create", "k", "--prev"}, "kvs: --prev needs a value"},
          {{"put", "k", "v", "--branch="}, "kvs: --branch needs a value"},
          {{"keys", "--limit"}, "kvs: --limit needs a value"},
          {{"keys", "--limit=0"}, "kvs: --limit takes a positive number, not '0'"},
          {{"history", id, "--limit", "ten"}, "kvs: --limit takes a positive number, not 'ten'"},
          {{"list", "--limit=-1"}, "kvs: --limit takes a positive number, not '-1'"},
          {{"list", "--gt=xyz"}, "kvs: --gt takes hex digits, not 'xyz'"},
          {{"export", "--yaml=1"}, "kvs: --yaml takes no value"},
          {{"read", "xyz"},
           "kvs: ID: 'xyz' is not a version id (8 to 64 hex digits: an id or a unique prefix)"},
          {{"get", id.substr(0, 7)},
           "kvs: ID: '" + id.substr(0, 7) +
               "' is not a version id (8 to 64 hex digits: an id or a "
               "unique prefix)"},
          {{"links", id + "0"},
           "kvs: ID: '" + id + "0" +
               "' is not a version id (8 to 64 hex digits: an id or a "
               "unique prefix)"},
          {{"create", "k", "--prev=nothex!!"},
           "kvs: --prev: 'nothex!!' is not a version id (8 to 64 hex digits: an id or a unique "
           "prefix)"},
          {{"concestor", id, "12345678g"},
           "kvs: ID: '12345678g' is not a version id (8 to 64 hex digits: an id or a unique "
           "prefix)"},
      });
  ProgramRun no_dir = RunKvs({"-d"});
  CHECK(no_dir.exit_code == 2);
  CHECK(FirstLine(no_dir.log) == "kvs: -d needs a value");
}

TEST_CASE("a usage error shows the usage of the command it is about") {
  ProgramRun run = RunKvs({"put", "k"});
  CHECK(run.exit_code == 2);
  CHECK(run.log ==
        "kvs: missing VALUE\nusage: kvs [-d DIR] put KEY VALUE [--branch NAME]\n"
        "  Write VALUE as the new value of KEY, replacing all its heads (which also\n"
        "  resolves a conflict), and print the new version's id.\n"
        "Run 'kvs help' for every command.\n");
}

TEST_CASE("failures exit with 1, say what failed and change nothing") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.path();
  std::string other_key = Create(dir, "other", "v");
  std::string id = Create(dir, "k", "v");
  {
    auto store = kvs::test::OpenStore(dir);
    WriteBatch batch;
    batch.Delete("other");
    REQUIRE(store->Write(batch).ok());
  }
  std::string deleted_id;
  for (const std::string& line : Lines(MustKvs(dir, {"list"}))) {
    if (line.find("\"deleted\":true") != std::string::npos) deleted_id = line.substr(7, 64);
  }
  REQUIRE(deleted_id.size() == 64);
  std::string unknown = "00000000";
  if (id.rfind(unknown, 0) == 0 || other_key.rfind(unknown, 0) == 0) unknown = "ffffffff";

  RequireRefusals(
      dir, 1,
      {
          {{"read", unknown}, "kvs: no version id starts with " + unknown},
          {{"get", unknown}, "kvs: no version id starts with " + unknown},
          {{"links", unknown}, "kvs: no version id starts with " + unknown},
          {{"history", unknown}, "kvs: no version id starts with " + unknown},
          {{"future", unknown}, "kvs: no version id starts with " + unknown},
          {{"concestor", id, unknown}, "kvs: no version id starts with " + unknown},
          {{"concestor", id, id.substr(0, 8)}, "kvs: concestor names version " + id + " twice"},
          {{"read", deleted_id},
           "kvs: version " + deleted_id + " is a deletion of 'other': it has no value"},
          {{"forks", "nope"}, "kvs: key 'nope' does not exist on branch 'main'"},
          {{"tails", "nope"}, "kvs: key 'nope' has no versions"},
          {{"get-key", "nope"}, "kvs: key 'nope' does not exist on branch 'main'"},
          {{"get-key", "other"},
           "kvs: key 'other' was deleted on branch 'main' (version " + deleted_id + ")"},
          {{"forks", "k", "--branch", "nope"}, "kvs: branch 'nope' does not exist"},
          {{"keys", "--branch", "nope"}, "kvs: branch 'nope' does not exist"},
          {{"export", "--branch", "nope"}, "kvs: branch 'nope' does not exist"},
          {{"stats", "--branch", "nope"}, "kvs: branch 'nope' does not exist"},
          {{"create", "k", "--prev", unknown}, "kvs: no version id starts with " + unknown},
          {{"create", "k", "--prev", other_key},
           "kvs: parent version " + other_key + " belongs to key 'other', not 'k'"},
          {{"create", "k", "--prev", id, "--prev", id.substr(0, 9)},
           "kvs: --prev names version " + id + " twice"},
          {{"create", "_k"}, "kvs: keys beginning with '_' are reserved for the system: '_k'"},
          {{"put", "_k", "v"}, "kvs: keys beginning with '_' are reserved for the system: '_k'"},
          {{"put", "", "v"}, "kvs: empty key: a key needs at least one byte"},
          {{"put", std::string(1025, 'k'), "v"},
           "kvs: a key of 1025 bytes is too long; the limit is 1024"},
          {{"put", "\xff", "v"},
           "kvs: keys are UTF-8 text, and the key '\\xff' is not, from byte 0"},
          {{"put", "k", "v", "--branch", "bad/name?"},
           "kvs: branch name 'bad/name?' may only hold letters, digits, '-', '_' and '.'"},
          {{"create", "k"},
           "kvs: standard input holds more than 67108864 bytes, the store's limit",
           std::string((64 << 20) + 1, 'x')},
      });
}

TEST_CASE("a full disk fails kvs put with exit 1, says so, and writes nothing") {
  kvs::test::TempDir tmp;
  MustKvs(tmp.path(), {"put", "k", "before"});
  uint64_t size = 0;
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
    if (entry.path().filename().string().starts_with("data.")) {
      size = kvs::test::DataFileBytes(entry.path());
    }
  }
  // A file size limit is a full disk to the processes started under it: a
  // write past it fails, also over the zeros kept ahead of the data.
  rlimit unlimited;
  REQUIRE(getrlimit(RLIMIT_FSIZE, &unlimited) == 0);
  rlimit full{size + 100, unlimited.rlim_max};
  REQUIRE(setrlimit(RLIMIT_FSIZE, &full) == 0);
  ProgramRun run = RunKvs({"-d", tmp.path(), "put", "k", "during"});
  REQUIRE(setrlimit(RLIMIT_FSIZE, &unlimited) == 0);
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.log, Catch::StartsWith("kvs: the disk is full"));
  CHECK(MustKvs(tmp.path(), {"get-key", "k"}) == "before");
  MustKvs(tmp.path(), {"put", "k", "after"});
  CHECK(MustKvs(tmp.path(), {"get-key", "k"}) == "after");
}

TEST_CASE("commands other than create, put and import refuse a missing store") {
  kvs::test::TempDir tmp;
  std::string missing = tmp.Sub("missing");
  const std::vector<std::vector<std::string>> commands = {
      {"forks", "k"}, {"keys"},  {"list"},   {"check"},
      {"compact"},    {"stats"}, {"export"}, {"get-key", "k"}};
  for (std::vector<std::string> args : commands) {
    args.insert(args.begin(), {"-d", missing});
    ProgramRun run = RunKvs(args);
    INFO(args[2]);
    CHECK(run.exit_code == 1);
    CHECK(run.log == "kvs: cannot open the store in " + missing + ": " + missing +
                         " does not exist (give -d DIR or set KVS_DIR)\n");
  }
  CHECK_FALSE(std::filesystem::exists(missing));
}

TEST_CASE("create, put and import refuse bad input before they create a store") {
  kvs::test::TempDir tmp;
  std::string missing = tmp.Sub("missing");
  std::string yaml = tmp.Sub("bad.yaml");
  server::test::WriteFile(yaml, "a: [1\n");
  for (const Refusal& refusal : std::vector<Refusal>{
           {{"create", "_reserved"},
            "kvs: keys beginning with '_' are reserved for the system: '_reserved'"},
           {{"create", "k"},
            "kvs: standard input holds more than 67108864 bytes, the store's limit",
            std::string((64 << 20) + 1, 'x')},
           {{"put", "", "v"}, "kvs: empty key: a key needs at least one byte"},
           {{"import", yaml}, "kvs: " + yaml + ":2:1: end of sequence flow not found"},
       }) {
    std::vector<std::string> args = {"-d", missing};
    args.insert(args.end(), refusal.args.begin(), refusal.args.end());
    ProgramRun run = RunKvs(args, refusal.input);
    CHECK(run.exit_code == 1);
    CHECK(run.log == refusal.first_line + "\n");
  }
  CHECK_FALSE(std::filesystem::exists(missing));
}

TEST_CASE("the store directory comes from -d, else from KVS_DIR") {
  kvs::test::TempDir tmp;
  ProgramRun put = RunKvs({"put", "k", "from env"}, "", {{"KVS_DIR", tmp.Sub("env")}});
  CHECK(put.exit_code == 0);
  CHECK(MustKvs(tmp.Sub("env"), {"get-key", "k"}) == "from env");
  ProgramRun flag =
      RunKvs({"get-key", "k", "--dir", tmp.Sub("env")}, "", {{"KVS_DIR", tmp.Sub("elsewhere")}});
  CHECK(flag.exit_code == 0);
  CHECK(flag.output == "from env");
}

TEST_CASE("kvs --version prints the version kvs-fcgi prints, defined once in the build") {
  ProgramRun run = RunKvs({"--version"});
  INFO(run.log);
  CHECK(run.exit_code == 0);
  CHECK(run.output == std::string("kvs ") + KVS_VERSION + "\n");
  CHECK(run.log.empty());
  CHECK(RunKvs({"--version=1"}).exit_code == 2);
}

TEST_CASE("help prints every command; --help after a command prints that one's") {
  ProgramRun help = RunKvs({"help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.output, Catch::StartsWith("usage: kvs [-d DIR] COMMAND [OPTIONS]\n"));
  std::vector<std::string> listed;  // the command of each "kvs COMMAND ..." line
  for (const std::string& line : Lines(help.output)) {
    if (line.rfind("kvs ", 0) == 0) listed.push_back(line.substr(4, line.find(' ', 4) - 4));
  }
  CHECK(listed == std::vector<std::string>{
                      "create", "forks",   "tails",  "links",   "concestor", "read",    "get",
                      "list",   "history", "future", "put",     "rm",        "get-key", "keys",
                      "export", "import",  "branch", "branch",  "branch",    "log",     "diff",
                      "merge",  "reset",   "sync",   "push",    "pull",      "check",   "compact",
                      "gc",     "stats",   "backup", "restore", "upgrade",   "help"});
  CHECK(RunKvs({"--help"}).output == help.output);
  CHECK(RunKvs({"-h"}).output == help.output);

  ProgramRun one = RunKvs({"create", "--help"});
  CHECK(one.exit_code == 0);
  CHECK_THAT(one.output,
             Catch::StartsWith("usage: kvs [-d DIR] create KEY [--prev=ID ...] [--branch NAME]\n"));
  CHECK(RunKvs({"help", "create"}).output == one.output);
  CHECK(RunKvs({"create", "-h", "k"}).output == one.output);
}

}  // namespace kvs::cli::test
