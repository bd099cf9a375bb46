// kvs sync, push and pull, as people run them: against a real kvs-fcgi
// behind nginx (the /_sync routes), and two kvs processes joined by pipes
// (--stdio), as forkdb replicates over any stream.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "tests/cli/kvs_runner.h"
#include "tests/harness/child_process.h"
#include "tests/harness/service_fixture.h"
#include "tests/store/test_util.h"

extern char** environ;

namespace kvs::cli::test {
namespace {

using kvs::test::TempDir;
using server::test::ServerStack;

std::string StoreDir(const ServerStack& stack) { return stack.dir() + "/kvs-data"; }
std::string Url(const ServerStack& stack) {
  return "http://127.0.0.1:" + std::to_string(stack.port());
}
std::string SecretFile(const ServerStack& stack) { return stack.dir() + "/auth.txt"; }

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Two `kvs -d DIR ARGS --stdio` joined by two pipes, run to their end:
// their exit codes and what each said on stderr.
struct PairRun {
  int a_exit = -1, b_exit = -1;
  std::string a_log, b_log;
};

// Two `kvs -d DIR ARGS --stdio` joined by two pipes, started: their pids.
struct Pair {
  pid_t a = -1, b = -1;
  std::string log_a, log_b;
};

// `kvs -d DIR ARGS --stdio` with stdin `in`, stdout `out` and stderr into
// log, the descriptors in `close` closed in it, and SIGPIPE as a shell
// leaves it (the test process may ignore it, which a child would inherit).
pid_t SpawnStdio(const std::string& dir, std::vector<std::string> args, int in, int out,
                 const std::string& log, const std::vector<int>& close) {
  args.insert(args.begin(), {KVS_CLI_BINARY, "-d", dir});
  args.push_back("--stdio");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, 0);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  for (int fd : close) posix_spawn_file_actions_addclose(&actions, fd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ) == 0);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

Pair SpawnJoined(const std::string& dir_a, std::vector<std::string> args_a,
                 const std::string& dir_b, std::vector<std::string> args_b,
                 const std::string& scratch) {
  int a_to_b[2], b_to_a[2];
  REQUIRE(pipe(a_to_b) == 0);
  REQUIRE(pipe(b_to_a) == 0);
  const std::vector<int> pipes{a_to_b[0], a_to_b[1], b_to_a[0], b_to_a[1]};
  Pair pair;
  pair.log_a = scratch + "/a.log";
  pair.log_b = scratch + "/b.log";
  pair.a = SpawnStdio(dir_a, std::move(args_a), b_to_a[0], a_to_b[1], pair.log_a, pipes);
  pair.b = SpawnStdio(dir_b, std::move(args_b), a_to_b[0], b_to_a[1], pair.log_b, pipes);
  for (int fd : pipes) close(fd);
  return pair;
}

// The exit code of pid once it ends (-1: killed by a signal); pid is
// reaped and set to -1.
int ExitCode(pid_t& pid) {
  int status = 0;
  const pid_t waited = waitpid(pid, &status, 0);
  pid = -1;
  REQUIRE(waited > 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Kills and reaps what is left of a pair when a test ends early.
struct ReapOnExit {
  Pair& pair;
  ~ReapOnExit() {
    for (pid_t* pid : {&pair.a, &pair.b}) {
      if (*pid <= 0) continue;
      kill(*pid, SIGKILL);
      waitpid(*pid, nullptr, 0);
    }
  }
};

// Both, run to their end: their exit codes and what each said on stderr.
PairRun RunJoined(const std::string& dir_a, std::vector<std::string> args_a,
                  const std::string& dir_b, std::vector<std::string> args_b,
                  const std::string& scratch) {
  Pair pair = SpawnJoined(dir_a, std::move(args_a), dir_b, std::move(args_b), scratch);
  ReapOnExit reap{pair};
  PairRun run;
  run.a_exit = ExitCode(pair.a);
  run.b_exit = ExitCode(pair.b);
  run.a_log = ReadText(pair.log_a);
  run.b_log = ReadText(pair.log_b);
  return run;
}

// Every version id the store holds, in order (`kvs list`: revisions differ
// between replicas, ids do not).
std::vector<std::string> VersionIds(const std::string& dir) {
  std::vector<std::string> ids;
  for (const std::string& line : Lines(MustKvs(dir, {"list"}))) {
    ids.push_back(nlohmann::json::parse(line)["id"]);
  }
  return ids;
}

std::string Forks(const std::string& dir, const std::string& key) {
  return MustKvs(dir, {"forks", key});
}

// `kvs get-key KEY` on dir until it prints value, for up to 30 s.
bool Eventually(const std::string& dir, const std::string& key, const std::string& value) {
  for (int i = 0; i < 300; ++i) {
    ProgramRun run = RunKvs({"-d", dir, "get-key", key});
    if (run.exit_code == 0 && run.output == value) return true;
    usleep(100 * 1000);
  }
  return false;
}

}  // namespace

TEST_CASE("forkdb's walk-through: edits on both sides, sync both ways, both heads on both") {
  TempDir scratch;
  const std::string a = scratch.path() + "/a", b = scratch.path() + "/b";
  std::string base = Create(a, "blorp", "beep boop");
  PairRun first = RunJoined(a, {"sync"}, b, {"sync"}, scratch.path());
  INFO(first.a_log << first.b_log);
  REQUIRE(first.a_exit == 0);
  REQUIRE(first.b_exit == 0);
  CHECK(Forks(b, "blorp") == base + "\n");

  // Both edit the same version: a fork, which sync makes visible on both.
  std::string on_a = Create(a, "blorp", "BEEP BOOP", {base});
  std::string on_b = Create(b, "blorp", "beep boop!", {base});
  PairRun second = RunJoined(a, {"sync"}, b, {"sync"}, scratch.path());
  INFO(second.a_log << second.b_log);
  REQUIRE(second.a_exit == 0);
  REQUIRE(second.b_exit == 0);
  CHECK(second.a_log.find("forked: blorp") != std::string::npos);
  std::vector<std::string> heads = Lines(Forks(a, "blorp"));
  std::sort(heads.begin(), heads.end());
  std::vector<std::string> expected{on_a, on_b};
  std::sort(expected.begin(), expected.end());
  CHECK(heads == expected);
  CHECK(Forks(a, "blorp") == Forks(b, "blorp"));  // same winner first on both

  // A merge on one side syncs, and leaves one head everywhere.
  std::string merged = Create(b, "blorp", "BEEP BOOP!", {on_a, on_b});
  PairRun third = RunJoined(a, {"pull"}, b, {"push"}, scratch.path());
  INFO(third.a_log << third.b_log);
  REQUIRE(third.a_exit == 0);
  CHECK(Forks(a, "blorp") == merged + "\n");
  CHECK(MustKvs(a, {"read", merged}) == "BEEP BOOP!");
  CHECK(VersionIds(a) == VersionIds(b));
  for (const std::string& dir : std::vector<std::string>{a, b}) {
    CHECK(MustKvs(dir, {"check"}).find("problems: 0") != std::string::npos);
  }
}

TEST_CASE("both sides pushing, or both pulling, moves nothing and says so") {
  TempDir scratch;
  const std::string a = scratch.path() + "/a", b = scratch.path() + "/b";
  Create(a, "only-on-a", "1");
  Create(b, "only-on-b", "2");
  for (const char* mode : {"push", "pull"}) {
    PairRun run = RunJoined(a, {mode}, b, {mode}, scratch.path());
    INFO(run.a_log << run.b_log);
    CHECK(run.a_exit == 0);
    CHECK(run.b_exit == 0);
    CHECK(run.a_log == "kvs: nothing to do: both sides " + std::string(mode) + "\n");
    CHECK(run.b_log == "kvs: nothing to do: both sides " + std::string(mode) + "\n");
  }
  CHECK(MustKvs(a, {"keys"}) == "only-on-a\n");
  CHECK(MustKvs(b, {"keys"}) == "only-on-b\n");
}

TEST_CASE("kvs sync URL exchanges every version with a server, and again costs nothing") {
  ServerStack stack;
  TempDir scratch;
  const std::string local = scratch.path() + "/local";
  const std::string served = StoreDir(stack);
  // History on both sides: three versions of one key here, two keys there.
  MustKvs(local, {"put", "here", "1"});
  MustKvs(local, {"put", "here", "2"});
  MustKvs(local, {"put", "here", "3"});
  MustKvs(served, {"put", "there", "x"});
  MustKvs(served, {"rm", "there"});
  MustKvs(served, {"branch", "create", "dev"});
  MustKvs(served, {"put", "also-there", "y", "--branch", "dev"});

  std::string out = MustKvs(local, {"sync", Url(stack), "--secret-file", SecretFile(stack)});
  CHECK(out.find("pull: 3 versions received") != std::string::npos);
  CHECK(out.find("push: 3 versions sent") != std::string::npos);
  // The same versions (ids, all of history) and the same heads everywhere.
  CHECK(VersionIds(local).size() == 6);
  CHECK(VersionIds(local) == VersionIds(served));
  CHECK(MustKvs(local, {"forks"}) == MustKvs(served, {"forks"}));
  CHECK(MustKvs(local, {"forks", "--branch", "dev"}) ==
        MustKvs(served, {"forks", "--branch", "dev"}));
  CHECK(MustKvs(local, {"get-key", "also-there", "--branch", "dev"}) == "y");

  // The next sync sees the server's side of the push as changes and finds
  // it has them all: only its checkpoint moves, and nothing travels.
  out = MustKvs(local, {"sync", Url(stack), "--secret-file", SecretFile(stack)});
  CHECK(out ==
        "pull: 0 versions received, 1 key compared\n"
        "push: 0 versions sent, 0 keys compared\n");
  // Nothing changed since: nothing travels and neither store writes.
  uint64_t local_revision = RevisionOf(local), served_revision = RevisionOf(served);
  out = MustKvs(local, {"sync", Url(stack), "--secret-file", SecretFile(stack)});
  CHECK(out ==
        "pull: 0 versions received, 0 keys compared\n"
        "push: 0 versions sent, 0 keys compared\n");
  CHECK(RevisionOf(local) == local_revision);
  CHECK(RevisionOf(served) == served_revision);

  // One change on the server: only it travels.
  MustKvs(served, {"put", "here", "4 from the server"});
  out = MustKvs(local, {"pull", Url(stack), "--secret-file", SecretFile(stack)});
  CHECK(out == "pull: 1 version received, 1 key compared\n");
  CHECK(MustKvs(local, {"get-key", "here"}) == "4 from the server");
}

TEST_CASE("pushing to a server needs its secret, and refusals say what is wrong") {
  ServerStack stack;
  TempDir scratch;
  const std::string local = scratch.path() + "/local";
  MustKvs(local, {"put", "k", "v"});
  ProgramRun run = RunKvs({"-d", local, "push", Url(stack)});
  CHECK(run.exit_code == 1);
  CHECK(run.log.find("answered 403") != std::string::npos);
  CHECK(run.log.find("give the server's with --secret-file FILE") != std::string::npos);
  CHECK(RevisionOf(StoreDir(stack)) <= 1);

  // Nothing listening: said in words, not as the HTTP library's error name.
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(server::test::FreePort());
  run = RunKvs({"-d", local, "push", nowhere});
  CHECK(run.exit_code == 1);
  CHECK(run.log == "kvs: cannot reach " + nowhere +
                       ": nothing answers there (the connection was refused, or the host is "
                       "unreachable)\n");

  run = RunKvs({"-d", local, "push", "ftp://example.org"});
  CHECK(run.exit_code == 1);
  CHECK(run.log.find("starts with http:// or https://") != std::string::npos);

  run = RunKvs({"-d", local, "push"});
  CHECK(run.exit_code == 2);
  CHECK(FirstLine(run.log) == "kvs: missing URL (or --stdio)");
}

TEST_CASE("kvs sync --live goes on exchanging writes until it is stopped") {
  ServerStack stack;
  TempDir scratch;
  const std::string local = scratch.path() + "/local";
  const std::string served = StoreDir(stack);
  MustKvs(local, {"put", "before", "1"});
  const std::string out_path = scratch.path() + "/live.out";
  const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(out >= 0);
  server::test::ChildIo io;
  io.stdout_fd = out;
  server::test::ChildProcess live({KVS_CLI_BINARY, "-d", local, "sync", Url(stack), "--secret-file",
                                   SecretFile(stack), "--live"},
                                  scratch.path() + "/live.log", io);
  close(out);
  INFO(ReadText(scratch.path() + "/live.log"));
  CHECK(Eventually(served, "before", "1"));
  // Each side's later writes travel too, without another command: a write
  // on the server (by another process than kvs-fcgi, as any kvs command
  // may) and one on the local store.
  MustKvs(served, {"put", "there", "from the server"});
  CHECK(Eventually(local, "there", "from the server"));
  MustKvs(local, {"put", "here", "from the local store"});
  CHECK(Eventually(served, "here", "from the local store"));
  MustKvs(served, {"put", "there", "again"});
  CHECK(Eventually(local, "there", "again"));

  const int status = live.Stop();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const std::string log = ReadText(scratch.path() + "/live.log");
  CHECK(log.find("live: stopped") != std::string::npos);
  const std::string printed = ReadText(out_path);
  CHECK(printed.find("pull: 1 version received") != std::string::npos);
  CHECK(printed.find("push: 1 version sent") != std::string::npos);
  CHECK(VersionIds(local) == VersionIds(served));
}

// The other side may stop reading before it closes its end: writes then
// fail (EPIPE, or SIGPIPE had it not been ignored) before any read sees
// the end, which ends a live run as the end of the stream does.
TEST_CASE("kvs sync --stdio --live ends tidily when the other side stops reading first") {
  TempDir scratch;
  const std::string dir = scratch.path() + "/b";
  MustKvs(dir, {"put", "early", "from b"});
  int to_kvs[2], from_kvs[2];
  REQUIRE(pipe(to_kvs) == 0);
  REQUIRE(pipe(from_kvs) == 0);
  const std::string log = scratch.path() + "/b.log";
  Pair pair;
  pair.b = SpawnStdio(dir, {"sync", "--live"}, to_kvs[0], from_kvs[1], log,
                      {to_kvs[0], to_kvs[1], from_kvs[0], from_kvs[1]});
  ReapOnExit reap{pair};
  close(to_kvs[0]);
  close(from_kvs[1]);
  // Its hello, then ours; then this side stops reading, its end still
  // open for writing, so kvs's next request is what meets the break.
  std::string hello;
  for (char c = 0; c != '\n' && read(from_kvs[0], &c, 1) == 1;) hello += c;
  CHECK(hello.find("\"hello\"") != std::string::npos);
  close(from_kvs[0]);
  const std::string ours = R"({"hello":{"mode":"sync","live":true}})"
                           "\n";
  REQUIRE(write(to_kvs[1], ours.data(), ours.size()) == static_cast<ssize_t>(ours.size()));
  CHECK(ExitCode(pair.b) == 0);
  close(to_kvs[1]);
  const std::string said = ReadText(log);
  INFO(said);
  CHECK(said.find("live: the other side ended the stream") != std::string::npos);
}

TEST_CASE("kvs sync --stdio --live on both ends goes on until one side ends the stream") {
  TempDir scratch;
  const std::string a = scratch.path() + "/a", b = scratch.path() + "/b";
  MustKvs(a, {"put", "early", "from a"});
  MustKvs(b, {"put", "early-b", "from b"});
  Pair pair = SpawnJoined(a, {"sync", "--live"}, b, {"sync", "--live"}, scratch.path());
  ReapOnExit reap{pair};
  CHECK(Eventually(b, "early", "from a"));
  CHECK(Eventually(a, "early-b", "from b"));
  MustKvs(a, {"put", "later", "1"});
  CHECK(Eventually(b, "later", "1"));
  MustKvs(b, {"put", "later", "2"});
  CHECK(Eventually(a, "later", "2"));
  // Stopping one side ends the other, which says so.
  REQUIRE(kill(pair.a, SIGTERM) == 0);
  CHECK(ExitCode(pair.a) == -1);
  CHECK(ExitCode(pair.b) == 0);
  const std::string log_b = ReadText(pair.log_b);
  CHECK(log_b.find("live: the other side ended the stream") != std::string::npos);
  CHECK(log_b.find("pull: 1 version received") != std::string::npos);
  CHECK(VersionIds(a) == VersionIds(b));
}

TEST_CASE("--live on one end of a stream only is refused by both") {
  TempDir scratch;
  const std::string a = scratch.path() + "/a", b = scratch.path() + "/b";
  MustKvs(a, {"put", "k", "v"});
  PairRun run = RunJoined(a, {"sync", "--live"}, b, {"sync"}, scratch.path());
  CHECK(run.a_exit == 1);
  CHECK(run.b_exit == 1);
  CHECK(run.a_log.find("this side is --live and the other not") != std::string::npos);
  CHECK(run.b_log.find("the other side is --live and this not") != std::string::npos);
}

TEST_CASE("kvs pull --live refuses what cannot work before it starts") {
  TempDir scratch;
  const std::string local = scratch.path() + "/local";
  ProgramRun run = RunKvs({"-d", local, "pull", "ftp://example.org", "--live"});
  CHECK(run.exit_code == 1);
  CHECK(run.log.find("starts with http:// or https://") != std::string::npos);
  run = RunKvs({"-d", local, "pull", "http://127.0.0.1:1", "--live", "--secret-file",
                scratch.path() + "/missing"});
  CHECK(run.exit_code == 1);
  CHECK(run.log.find("missing") != std::string::npos);
}

TEST_CASE("forks both sides merge by their merge rules end as the same single version") {
  server::test::StackOptions options;
  options.extra_config += "merge:\n  counters/*: counter\n";
  ServerStack stack(options);
  // The local side is a server directory too: its kvs.yaml names the store
  // and the same rule.
  TempDir scratch;
  std::ofstream(scratch.path() + "/kvs.yaml") << "data_dir: store\nmerge:\n  counters/*: counter\n";
  const std::string here = scratch.path();
  const std::string served = StoreDir(stack);
  MustKvs(here, {"put", "counters/visits", "10"});
  MustKvs(here, {"put", "title", "draft"});
  MustKvs(here, {"sync", Url(stack), "--secret-file", SecretFile(stack)});
  MustKvs(here, {"put", "counters/visits", "15"});
  MustKvs(here, {"put", "title", "mine"});
  MustKvs(served, {"put", "counters/visits", "13"});
  MustKvs(served, {"put", "title", "theirs"});

  const std::string out = MustKvs(here, {"sync", Url(stack), "--secret-file", SecretFile(stack)});
  CHECK(out.find("merged: counters/visits") != std::string::npos);
  CHECK(out.find("forked: title") != std::string::npos);  // no rule: both kept
  CHECK(MustKvs(here, {"get-key", "counters/visits"}) == "18");
  CHECK(MustKvs(served, {"get-key", "counters/visits"}) == "18");
  CHECK(Lines(Forks(here + "/store", "counters/visits")).size() == 1);
  CHECK(Forks(here + "/store", "counters/visits") == Forks(served, "counters/visits"));
  CHECK(Lines(Forks(served, "title")).size() == 2);
  CHECK(VersionIds(here + "/store") == VersionIds(served));
  // Nothing more to do either way: the merge does not fork again.
  CHECK(MustKvs(here, {"sync", Url(stack), "--secret-file", SecretFile(stack)}).find("merged") ==
        std::string::npos);
}

}  // namespace kvs::cli::test
