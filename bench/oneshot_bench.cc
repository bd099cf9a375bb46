// oneshot_bench: what a process that serves once and exits costs, start to
// end: a plain CGI request (kvs-fcgi run with a CGI environment, as Apache's
// mod_cgi runs it) and a `kvs` command, each reading one key of a store of
// 10,000 keys that a checkpoint left with nothing to replay. The reference is
// the same read by sqlite_get (bench/sqlite_get.cc), a program that opens
// an SQLite database of the same keys, prints the row and exits; above the
// table, the cost of starting a process that does nothing.
//
// Usage: oneshot_bench [--quick] [--dir DIR]
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "bench/harness.h"
#include "bench/sqlite_kv.h"
#include "bench/workload.h"

extern char** environ;

namespace kvs::bench {
namespace {

constexpr size_t kKeys = 10'000;
// Runs argv with env (null: this process's) and stdout on /dev/null, to
// its end; its wall time in seconds. A failed run fails the benchmark.
double TimeRun(const std::vector<std::string>& argv, char** env) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  Clock::time_point start = Clock::now();
  pid_t pid;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env ? env : environ) != 0) {
    Fail("cannot run " + argv[0]);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const double seconds = SecondsSince(start);
  posix_spawn_file_actions_destroy(&actions);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Fail(argv[0] + " failed");
  return seconds;
}

// The variables of a CGI GET of ?k=key, as a web server sets them.
std::vector<std::string> CgiEnvironment(const std::string& config, const std::string& key) {
  return {"GATEWAY_INTERFACE=CGI/1.1", "SERVER_PROTOCOL=HTTP/1.1", "REQUEST_METHOD=GET",
          "QUERY_STRING=k=" + key,     "KVS_CONFIG=" + config,     "REMOTE_ADDR=127.0.0.1",
          "SERVER_NAME=127.0.0.1",     "SERVER_PORT=80",           "SCRIPT_NAME=/kvs"};
}

void Run(const Args& args) {
  const int rounds = args.quick ? 30 : 200;
  const std::string root = MakeScratchDir(args.parent);
  Report report;
  report.Progress("loading " + std::to_string(kKeys) + " keys into kvs and SQLite");
  const std::string store_dir = root + "/store", db = root + "/kv.db";
  {
    auto store = OpenStore(store_dir, SyncMode::kNone);
    WriteBatch batch;
    for (size_t i = 0; i < kKeys; ++i) batch.Put(Key(i), MakeValue(i));
    Must(store->Write(batch), "loading kvs");  // a checkpoint: nothing to replay
  }
  {
    SqliteKv sqlite(db, SqliteSync::kOff);
    sqlite.Exec("BEGIN");
    for (size_t i = 0; i < kKeys; ++i) sqlite.Put(Key(i), MakeValue(i));
    sqlite.Exec("COMMIT; PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const std::string config = root + "/kvs.yaml";
  std::ofstream(config) << "data_dir: " << store_dir << "\n";
  const std::string key = Key(kKeys / 2);
  std::vector<std::string> cgi_env = CgiEnvironment(config, key);
  std::vector<char*> cgi_envp;
  for (std::string& v : cgi_env) cgi_envp.push_back(v.data());
  cgi_envp.push_back(nullptr);

  // By turns, round after round, so that a busy moment falls on all alike.
  std::map<std::string, std::vector<double>> times;
  report.Progress("timing " + std::to_string(rounds) + " rounds");
  for (int i = 0; i < rounds; ++i) {
    times["cgi"].push_back(TimeRun({KVS_FCGI_BINARY}, cgi_envp.data()));
    times["cli"].push_back(TimeRun({KVS_CLI_BINARY, "-d", store_dir, "get-key", key}, nullptr));
    times["sqlite"].push_back(TimeRun({KVS_SQLITE_GET_BINARY, db, key}, nullptr));
    times["true"].push_back(TimeRun({"/bin/true"}, nullptr));
  }
  const double sqlite_ms = Median(times["sqlite"]) * 1e3;
  report.Add("plain CGI GET, 10k keys (ms, median)", Median(times["cgi"]) * 1e3, sqlite_ms,
             Better::kLower);
  report.Add("kvs get-key, 10k keys (ms, median)", Median(times["cli"]) * 1e3, sqlite_ms,
             Better::kLower);
  char line[200];
  std::snprintf(line, sizeof(line),
                "a process that does nothing (/bin/true): %.2f ms (median of %d); load average %s",
                Median(times["true"]) * 1e3, rounds, LoadAverage().c_str());
  report.Header(line);
  report.Note(
      "SQLite: sqlite_get, a program linking only SQLite, that opens the database read-only, "
      "prints the row "
      "and exits.");
  report.Print();
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
}

}  // namespace
}  // namespace kvs::bench

int main(int argc, char** argv) { kvs::bench::Run(kvs::bench::ParseArgs(argc, argv)); }
