// Branches and commits through the real kvs program: branch list, create
// and delete, log, diff, merge (fast-forward, merge functions, conflicts,
// dry runs) and reset, and their refusals of bad input.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "common/time.h"
#include "merge/merge_function.h"
#include "tests/cli/kvs_runner.h"
#include "tests/store/test_util.h"

namespace kvs::cli::test {
namespace {

using Strings = std::vector<std::string>;

// The head commit of branch, read in this process; "-" before its first.
std::string Head(const std::string& dir, const std::string& branch = "main") {
  auto store = kvs::test::OpenStore(dir);
  auto info = store->GetBranch(branch);
  INFO(info.status().ToString());
  REQUIRE(info.ok());
  return info->head_commit.IsZero() ? "-" : info->head_commit.Hex();
}

// The lines kvs log prints for one commit, built from what the store says
// of it.
std::string LogEntry(const std::string& dir, const std::string& commit_hex) {
  auto store = kvs::test::OpenStore(dir);
  auto commit = store->GetCommit(Hash::FromHex(commit_hex).value());
  INFO(commit.status().ToString());
  REQUIRE(commit.ok());
  std::string text = "commit " + commit_hex + "  r" + std::to_string(commit->revision) + "  " +
                     commit->branch + "  " + common::FormatRfc3339(commit->time_ns) + "\n";
  for (const CommitId& parent : commit->parents) text += "  parent " + parent.Hex() + "\n";
  for (const std::string& key : commit->keys) text += "  key " + key + "\n";
  return text;
}

void Delete(const std::string& dir, const std::string& key, const std::string& branch) {
  auto store = kvs::test::OpenStore(dir);
  WriteBatch batch;
  batch.branch = branch;
  batch.Delete(key);
  REQUIRE(store->Write(batch).ok());
}

// count is 10 on main and on dev (forked after it), then 15 on main and 17
// on dev: both sides changed it.
struct CounterFork {
  kvs::test::TempDir tmp;
  std::string dir = tmp.path();

  CounterFork() {
    MustKvs(dir, {"put", "count", "10"});
    MustKvs(dir, {"branch", "create", "dev"});
    MustKvs(dir, {"put", "count", "15"});
    MustKvs(dir, {"put", "count", "17", "--branch", "dev"});
    MustKvs(dir, {"put", "extra", "x", "--branch", "dev"});
  }
};

}  // namespace

TEST_CASE("branch list prints name, head revision and head commit in aligned columns") {
  kvs::test::TempDir tmp;
  kvs::test::OpenStore(tmp.path());  // an empty store: main has no commit yet
  CHECK(MustKvs(tmp.path(), {"branch", "list"}) == "main  r0  -\n");
  CHECK(MustKvs(tmp.path(), {"branch", "create", "empty"}) == "empty  r0  -\n");

  for (int i = 0; i < 10; ++i) MustKvs(tmp.path(), {"put", "k", std::to_string(i)});
  std::string head = Head(tmp.path());
  CHECK(MustKvs(tmp.path(), {"branch", "create", "a-long-name"}) ==
        "a-long-name  r11  " + head + "\n");
  CHECK(MustKvs(tmp.path(), {"branch", "list"}) == "a-long-name  r11  " + head + "\n" +  //
                                                       "empty        r0   -\n" +         //
                                                       "main         r11  " + head + "\n");
}

TEST_CASE("branch create --at a revision, a time or a commit sees the branch as it was then") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.path();
  MustKvs(dir, {"put", "k", "one"});  // revision 1
  std::string first = Head(dir);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::string between =
      common::FormatRfc3339(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  MustKvs(dir, {"put", "k", "two"});  // revision 2

  CHECK(MustKvs(dir, {"branch", "create", "by-revision", "--at", "1"}) ==
        "by-revision  r1  " + first + "\n");
  CHECK(MustKvs(dir, {"branch", "create", "by-time", "--at=" + between}) ==
        "by-time  r1  " + first + "\n");
  CHECK(MustKvs(dir, {"branch", "create", "by-commit", "--at", first}) ==
        "by-commit  r1  " + first + "\n");
  for (const char* branch : {"by-revision", "by-time", "by-commit"}) {
    INFO(branch);
    CHECK(MustKvs(dir, {"get-key", "k", "--branch", branch}) == "one");
  }
  CHECK(MustKvs(dir, {"get-key", "k"}) == "two");

  // A branch is its own: writing it leaves main alone.
  MustKvs(dir, {"put", "k", "three", "--branch", "by-commit"});
  CHECK(MustKvs(dir, {"get-key", "k"}) == "two");
  CHECK(MustKvs(dir, {"get-key", "k", "--branch", "by-commit"}) == "three");
}

TEST_CASE("branch create --at a commit takes the commit's branch, and refuses another --from") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.path();
  MustKvs(dir, {"put", "k", "main's"});
  MustKvs(dir, {"branch", "create", "dev"});
  MustKvs(dir, {"put", "k", "dev's", "--branch", "dev"});
  std::string dev_head = Head(dir, "dev");
  MustKvs(dir, {"put", "k", "main's again"});

  MustKvs(dir, {"branch", "create", "copy", "--at", dev_head});
  CHECK(MustKvs(dir, {"get-key", "k", "--branch", "copy"}) == "dev's");
  RequireRefusals(dir, 1,
                  {{{"branch", "create", "other", "--from", "main", "--at", dev_head},
                    "kvs: commit " + dev_head +
                        " was made on branch 'dev', not 'main': leave --from out, or name "
                        "--from dev"}});
}

TEST_CASE("branch delete removes a branch, refuses main, and its printed head brings it back") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.path();
  MustKvs(dir, {"put", "k", "v"});
  MustKvs(dir, {"branch", "create", "dev"});
  MustKvs(dir, {"put", "k", "dev's", "--branch", "dev"});
  std::string dev_head = Head(dir, "dev");

  CHECK(MustKvs(dir, {"branch", "delete", "dev"}) == "deleted dev  r3  " + dev_head + "\n");
  CHECK(MustKvs(dir, {"branch", "list"}) == "main  r1  " + Head(dir) + "\n");
  RequireRefusals(dir, 1,
                  {{{"get-key", "k", "--branch", "dev"}, "kvs: branch 'dev' does not exist"},
                   {{"branch", "delete", "dev"}, "kvs: branch 'dev' does not exist"},
                   {{"branch", "delete", "main"}, "kvs: the main branch cannot be deleted"}});

  CHECK(MustKvs(dir, {"branch", "create", "dev", "--at", dev_head}) ==
        "dev  r3  " + dev_head + "\n");
  CHECK(MustKvs(dir, {"get-key", "k", "--branch", "dev"}) == "dev's");
}

TEST_CASE("log prints commits newest first over both parents of a merge, each once") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.path();
  MustKvs(dir, {"put", "a", "1"});
  std::string root = Head(dir);
  MustKvs(dir, {"branch", "create", "dev"});
  MustKvs(dir, {"put", "b", "1", "--branch", "dev"});
  std::string on_dev = Head(dir, "dev");
  MustKvs(dir, {"put", "c", "1"});
  std::string on_main = Head(dir);
  MustKvs(dir, {"merge", "dev", "main"});
  std::string merge = Head(dir);

  std::string log = MustKvs(dir, {"log"});
  const std::string time = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";
  CHECK_THAT(log, Catch::Matches("commit " + merge + "  r5  main  " + time + "\n" +  //
                                 "  parent " + on_main + "\n  parent " + on_dev + "\n  key b\n" +
                                 "commit " + on_main + "  r4  main  " + time + "\n" +  //
                                 "  parent " + root + "\n  key c\n" +                  //
                                 "commit " + on_dev + "  r3  dev  " + time + "\n" +    //
                                 "  parent " + root + "\n  key b\n" +                  //
                                 "commit " + root + "  r1  main  " + time + "\n  key a\n"));
  // The times are the commits' own.
  CHECK(log == LogEntry(dir, merge) + LogEntry(dir, on_main) + LogEntry(dir, on_dev) +
                   LogEntry(dir, root));
  CHECK(MustKvs(dir, {"log", "--limit", "2"}) == LogEntry(dir, merge) + LogEntry(dir, on_main));
  CHECK(MustKvs(dir, {"log", "--branch", "dev"}) == LogEntry(dir, on_dev) + LogEntry(dir, root));
}

TEST_CASE("diff prints the keys added, removed and modified from A to B") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.path();
  for (const char* key : {"changed", "gone", "same"}) MustKvs(dir, {"put", key, "1"});
  std::string before = Head(dir);
  MustKvs(dir, {"branch", "create", "dev"});
  MustKvs(dir, {"put", "changed", "2", "--branch", "dev"});
  MustKvs(dir, {"put", "new", "1", "--branch", "dev"});
  Delete(dir, "gone", "dev");

  CHECK(MustKvs(dir, {"diff", "main", "dev"}) == "M changed\n- gone\n+ new\n");
  CHECK(MustKvs(dir, {"diff", "dev", "main"}) == "M changed\n+ gone\n- new\n");
  // A commit stands for its branch as of that commit.
  CHECK(MustKvs(dir, {"diff", before, Head(dir, "dev")}) == "M changed\n- gone\n+ new\n");
  MustKvs(dir, {"put", "same", "2"});
  CHECK(MustKvs(dir, {"diff", before, "main"}) == "M same\n");
  CHECK(MustKvs(dir, {"diff", "main", "main"}).empty());
}

TEST_CASE("merge fast-forwards keys only FROM changed and prints the merge commit") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.path();
  MustKvs(dir, {"put", "count", "10"});
  MustKvs(dir, {"branch", "create", "dev"});
  MustKvs(dir, {"put", "extra", "x", "--branch", "dev"});
  MustKvs(dir, {"put", "count", "11", "--branch", "dev"});
  std::string main_before = Head(dir);
  std::string dev_head = Head(dir, "dev");

  std::string out = MustKvs(dir, {"merge", "dev", "main"});
  std::string merge = Head(dir);
  CHECK(out == "fast_forward count\nfast_forward extra\ncommit " + merge + "\n");
  CHECK(MustKvs(dir, {"get-key", "count"}) == "11");
  CHECK(MustKvs(dir, {"get-key", "extra"}) == "x");
  CHECK(Lines(MustKvs(dir, {"log", "--limit=1"})) ==
        Strings{Lines(LogEntry(dir, merge)).front(), "  parent " + main_before,
                "  parent " + dev_head, "  key count", "  key extra"});

  // Again: main has everything dev has.
  uint64_t revision = RevisionOf(dir);
  CHECK(MustKvs(dir, {"merge", "dev", "main"}) == "nothing to merge\n");
  CHECK(RevisionOf(dir) == revision);
}

TEST_CASE("merge --strategy counter adds both sides' deltas: 10, +5 and +7 gives 22") {
  CounterFork fork;
  std::string out = MustKvs(fork.dir, {"merge", "dev", "main", "--strategy", "counter"});
  CHECK(out == "merged count\nfast_forward extra\ncommit " + Head(fork.dir) + "\n");
  CHECK(MustKvs(fork.dir, {"get-key", "count"}) == "22");
  CHECK(MustKvs(fork.dir, {"get-key", "count", "--branch", "dev"}) == "17");
}

TEST_CASE("merge takes the server config's merge rules when -d names a server directory") {
  kvs::test::TempDir tmp;
  const std::string dir = tmp.path();  // a server's directory: kvs.yaml, the store below
  server::test::WriteFile(dir + "/kvs.yaml", "data_dir: store\nmerge:\n  count: counter\n");
  MustKvs(dir, {"put", "count", "10"});
  MustKvs(dir, {"put", "title", "a"});
  MustKvs(dir, {"branch", "create", "dev"});
  MustKvs(dir, {"put", "count", "15"});
  MustKvs(dir, {"put", "title", "b"});
  MustKvs(dir, {"put", "count", "17", "--branch", "dev"});
  MustKvs(dir, {"put", "title", "c", "--branch", "dev"});
  // count follows its rule; title has none, so it conflicts as before.
  ProgramRun run = RunKvs({"-d", dir, "merge", "dev", "main"});
  CHECK(run.exit_code == 1);
  CHECK(run.output == "merged count\nconflict title: changed on both sides\n");
  // --strategy still decides for every key.
  CHECK_THAT(MustKvs(dir, {"merge", "dev", "main", "--strategy", "lww"}),
             Catch::Matches("merged count\nmerged title\ncommit [0-9a-f]{64}\n"));
  CHECK(MustKvs(dir, {"get-key", "count"}) == "17");
}

TEST_CASE("merge without a strategy fails on a key both changed, names it, and writes nothing") {
  CounterFork fork;
  std::string log = MustKvs(fork.dir, {"log"});
  uint64_t revision = RevisionOf(fork.dir);

  ProgramRun run = RunKvs({"-d", fork.dir, "merge", "dev", "main"});
  CHECK(run.exit_code == 1);
  CHECK(run.output == "fast_forward extra\nconflict count: changed on both sides\n");
  CHECK(run.log ==
        "kvs: merging 'dev' into 'main': 1 key cannot be merged ('count'); nothing was "
        "written\n");

  CHECK(RevisionOf(fork.dir) == revision);
  CHECK(MustKvs(fork.dir, {"log"}) == log);
  CHECK(MustKvs(fork.dir, {"get-key", "count"}) == "15");
  ProgramRun extra = RunKvs({"-d", fork.dir, "get-key", "extra"});
  CHECK(extra.exit_code == 1);
  CHECK(extra.log == "kvs: key 'extra' does not exist on branch 'main'\n");
}

TEST_CASE("merge --dry-run prints the lines the merge prints, conflicts too, and writes nothing") {
  CounterFork fork;
  uint64_t revision = RevisionOf(fork.dir);

  std::string dry = MustKvs(fork.dir, {"merge", "dev", "main", "--dry-run"});
  CHECK(dry ==
        "fast_forward extra\nconflict count: changed on both sides\n"
        "dry run: nothing written\n");
  dry = MustKvs(fork.dir, {"merge", "dev", "main", "--dry-run", "--strategy=counter"});
  CHECK(RevisionOf(fork.dir) == revision);
  CHECK(MustKvs(fork.dir, {"get-key", "count"}) == "15");

  Strings dry_lines = Lines(dry);
  Strings real_lines = Lines(MustKvs(fork.dir, {"merge", "dev", "main", "--strategy=counter"}));
  CHECK(dry_lines.back() == "dry run: nothing written");
  CHECK(real_lines.back() == "commit " + Head(fork.dir));
  dry_lines.pop_back();
  real_lines.pop_back();
  CHECK(dry_lines == Strings{"merged count", "fast_forward extra"});
  CHECK(real_lines == dry_lines);
}

TEST_CASE("reset moves a branch to a commit and prints the previous head, which undoes it") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.path();
  MustKvs(dir, {"put", "a", "1"});
  std::string first = Head(dir);
  MustKvs(dir, {"put", "a", "2"});
  MustKvs(dir, {"put", "b", "1"});
  std::string last = Head(dir);

  std::string out = MustKvs(dir, {"reset", "main", first});
  std::string reset = Head(dir);
  CHECK(out == "commit " + reset + "\nprevious " + last + "\n");
  CHECK(MustKvs(dir, {"get-key", "a"}) == "1");
  ProgramRun b = RunKvs({"-d", dir, "get-key", "b"});
  CHECK(b.exit_code == 1);
  CHECK_THAT(b.log, Catch::StartsWith("kvs: key 'b' was deleted on branch 'main'"));

  // The undo: back to the printed previous head.
  out = MustKvs(dir, {"reset", "main", last});
  CHECK(out == "commit " + Head(dir) + "\nprevious " + reset + "\n");
  CHECK(MustKvs(dir, {"get-key", "a"}) == "2");
  CHECK(MustKvs(dir, {"get-key", "b"}) == "1");

  // Already there: no commit.
  std::string head = Head(dir);
  CHECK(MustKvs(dir, {"reset", "main", last}) == "commit -\nprevious " + head + "\n");
  CHECK(Head(dir) == head);
}

TEST_CASE("branch commands refuse bad usage with exit 2 and change nothing") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.path();
  MustKvs(dir, {"put", "k", "v"});
  const std::string at_error =
      "--at takes a revision number (from 1), a time like 2026-11-20T10:00:00Z or a commit id "
      "of 64 hex digits, not '";
  const std::string short_commit(63, 'a');
  RequireRefusals(
      dir, 2,
      {
          {{"branch"}, "kvs: missing subcommand of branch (list, create, delete)"},
          {{"branch", "rename", "a"},
           "kvs: unknown subcommand 'rename' of branch (known: list, create, delete)"},
          {{"branch", "list", "x"}, "kvs: unexpected argument 'x'"},
          {{"branch", "list", "--from", "main"}, "kvs: unknown option '--from' for branch list"},
          {{"branch", "create"}, "kvs: missing NAME"},
          {{"branch", "create", "a", "b"}, "kvs: unexpected argument 'b'"},
          {{"branch", "create", "a", "--at"}, "kvs: --at needs a value"},
          {{"branch", "create", "a", "--at", "yesterday"}, "kvs: " + at_error + "yesterday'"},
          {{"branch", "create", "a", "--at", "0"}, "kvs: " + at_error + "0'"},
          {{"branch", "create", "a", "--at", short_commit},
           "kvs: " + at_error + short_commit + "'"},
          {{"branch", "create", "a", "--at", "2026-13-01T00:00:00Z"},
           "kvs: " + at_error + "2026-13-01T00:00:00Z'"},
          {{"branch", "delete"}, "kvs: missing NAME"},
          {{"branch", "delete", "a", "--at", "1"}, "kvs: unknown option '--at' for branch delete"},
          {{"log", "main"}, "kvs: unexpected argument 'main'"},
          {{"log", "--limit=0"}, "kvs: --limit takes a positive number, not '0'"},
          {{"diff"}, "kvs: missing A and B"},
          {{"diff", "main"}, "kvs: missing B"},
          {{"diff", "a", "b", "c"}, "kvs: unexpected argument 'c'"},
          {{"merge"}, "kvs: missing FROM and INTO"},
          {{"merge", "dev"}, "kvs: missing INTO"},
          {{"merge", "main", "main"}, "kvs: a branch cannot be merged into itself"},
          {{"merge", "dev", "main", "--strategy", "best"},
           "kvs: unknown strategy 'best' (known: " + merge::MergeFunctionNames() + ")"},
          {{"merge", "dev", "main", "--dry-run=yes"}, "kvs: --dry-run takes no value"},
          {{"merge", "dev", "main", "--branch", "x"}, "kvs: unknown option '--branch' for merge"},
          {{"reset"}, "kvs: missing BRANCH and COMMIT"},
          {{"reset", "main"}, "kvs: missing COMMIT"},
          {{"reset", "main", short_commit},
           "kvs: COMMIT: '" + short_commit + "' is not a commit id (64 hex digits)"},
          {{"reset", "main", std::string(63, 'a') + "g"},
           "kvs: COMMIT: '" + std::string(63, 'a') + "g' is not a commit id (64 hex digits)"},
      });
}

TEST_CASE("branch commands fail with exit 1 on what the store refuses and change nothing") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.path();
  MustKvs(dir, {"put", "k", "v"});
  MustKvs(dir, {"branch", "create", "dev"});
  const std::string unknown(64, 'a');
  RequireRefusals(
      dir, 1,
      {
          {{"branch", "create", "dev"}, "kvs: branch 'dev' already exists"},
          {{"branch", "create", "x", "--from", "nope"}, "kvs: branch 'nope' does not exist"},
          {{"branch", "create", "x", "--at", "99"},
           "kvs: revision 99 is in the future; the newest is 2"},
          {{"branch", "create", "x", "--at", unknown},
           "kvs: commit " + unknown + " does not exist"},
          {{"branch", "create", "bad name"},
           "kvs: branch name 'bad name' may only hold letters, digits, '-', '_' and '.'"},
          {{"branch", "delete", "nope"}, "kvs: branch 'nope' does not exist"},
          {{"log", "--branch", "nope"}, "kvs: branch 'nope' does not exist"},
          {{"diff", "main", "nope"}, "kvs: branch 'nope' does not exist"},
          {{"diff", unknown, "main"}, "kvs: commit " + unknown + " does not exist"},
          {{"merge", "nope", "main"}, "kvs: branch 'nope' does not exist"},
          {{"merge", "dev", "nope"}, "kvs: branch 'nope' does not exist"},
          {{"merge", "dev", "nope", "--dry-run"}, "kvs: branch 'nope' does not exist"},
          {{"reset", "nope", Head(dir)}, "kvs: branch 'nope' does not exist"},
          {{"reset", "main", unknown}, "kvs: commit " + unknown + " does not exist"},
      });
}

TEST_CASE("help lists the branch commands; kvs branch --help shows every subcommand") {
  ProgramRun group = RunKvs({"branch", "--help"});
  CHECK(group.exit_code == 0);
  Strings synopses;
  for (const std::string& line : Lines(group.output)) {
    if (line.rfind("usage: ", 0) == 0 || line.rfind("kvs ", 0) == 0) synopses.push_back(line);
  }
  CHECK(synopses == Strings{"usage: kvs [-d DIR] branch list|create|delete", "kvs branch list",
                            "kvs branch create NAME [--from BRANCH] [--at REV|TIME|COMMIT]",
                            "kvs branch delete NAME"});
  CHECK(RunKvs({"help", "branch"}).output == group.output);

  ProgramRun one = RunKvs({"branch", "create", "--help"});
  CHECK(one.exit_code == 0);
  CHECK_THAT(one.output, Catch::StartsWith("usage: kvs [-d DIR] branch create NAME [--from "
                                           "BRANCH] [--at REV|TIME|COMMIT]\n  Make branch NAME"));
  for (const char* command : {"log", "diff", "merge", "reset"}) {
    ProgramRun help = RunKvs({command, "--help"});
    INFO(command);
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.output, Catch::StartsWith("usage: kvs [-d DIR] " + std::string(command) + " "));
  }
}

}  // namespace kvs::cli::test
