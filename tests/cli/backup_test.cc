// kvs backup and kvs restore: a copy of a live store as of one commit, next
// to a server that keeps writing (a real nginx and kvs-fcgi) and a
// compaction in another process; put back in place only when it passes its
// check and no process has the store there open.
#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/cli/kvs_runner.h"
#include "tests/harness/child_process.h"
#include "tests/harness/service_fixture.h"
#include "tests/store/test_util.h"

namespace kvs::cli::test {
namespace {

namespace fs = std::filesystem;

// What kvs shows of the store in dir that a faithful copy shows alike: its
// branches, every version and tail, and each branch's values, heads and log.
std::string Contents(const std::string& dir) {
  std::string branches = MustKvs(dir, {"branch", "list"});
  std::string out = branches + MustKvs(dir, {"list"}) + MustKvs(dir, {"tails"});
  for (const std::string& line : Lines(branches)) {
    const std::string name = line.substr(0, line.find(' '));
    for (const char* command : {"export", "forks", "log"}) {
      out += MustKvs(dir, {command, "--branch", name});
    }
  }
  return out;
}

// The current values of the branch main of the store in dir.
std::map<std::string, std::string> Values(const std::string& dir) {
  std::map<std::string, std::string> values;
  for (const std::string& line : Lines(MustKvs(dir, {"export"}))) {
    nlohmann::json entry = nlohmann::json::parse(line);
    values[entry["key"]] = entry["value"];
  }
  return values;
}

std::set<std::string> NamesIn(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// A store with history, forks, a deleted key and three branches, one merged.
void WriteHistory(const std::string& dir) {
  MustKvs(dir, {"put", "count", "10"});
  MustKvs(dir, {"put", "title", "draft"});
  MustKvs(dir, {"branch", "create", "dev"});
  MustKvs(dir, {"put", "count", "15"});
  MustKvs(dir, {"put", "count", "17", "--branch", "dev"});
  MustKvs(dir, {"put", "title", "final", "--branch", "dev"});
  MustKvs(dir, {"merge", "dev", "main", "--strategy", "counter"});
  std::string a = Create(dir, "doc", "beep boop");
  Create(dir, "doc", "BEEP BOOP", {a});
  Create(dir, "doc", "BeEp BoOp", {a});
  MustKvs(dir, {"put", "gone", "soon"});
  MustKvs(dir, {"rm", "gone"});
  MustKvs(dir, {"branch", "create", "at-r2", "--at", "2"});
}

// kvs -d dir backup dest, which must succeed; its printed fields.
std::map<std::string, std::string> Backup(const std::string& dir, const std::string& dest) {
  return Fields(MustKvs(dir, {"backup", dest}));
}

// Flips one byte of file at offset.
void Damage(const std::string& file, uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = static_cast<char>(f.get() ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(c);
  REQUIRE(f.good());
}

// Writes tick=i, mirror=i and ti=i in one transaction (POST /), for i = 0,
// 1, ... until stopped or a write fails: the store's keys t0..tN then say
// which transactions it holds, and tick and mirror that none is torn. Runs
// on a thread of its own, so it counts instead of asserting.
class TickWriter {
 public:
  explicit TickWriter(const server::test::ServerStack& stack)
      : http_(stack.Client()), thread_([this] { Run(); }) {}
  ~TickWriter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int written() const { return written_; }
  bool failed() const { return failed_; }

 private:
  void Run() {
    for (int i = 0; !stop_; ++i) {
      const std::string n = std::to_string(i);
      auto res = http_->Post(
          "/", server::test::AuthField() + "&tick=" + n + "&mirror=" + n + "&t" + n + "=" + n,
          "application/x-www-form-urlencoded");
      if (!res || res->status != 200) {
        failed_ = true;
        return;
      }
      ++written_;
    }
  }

  std::unique_ptr<httplib::Client> http_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::atomic<int> written_{0};
  std::thread thread_;  // last: runs once the rest is made
};

}  // namespace

TEST_CASE("a backup holds every branch, version and commit, and reads as the store does") {
  kvs::test::TempDir dir;
  const std::string store = dir.Sub("store"), copy = dir.Sub("copy");
  WriteHistory(store);

  std::map<std::string, std::string> printed = Backup(store, copy);
  CHECK(printed["backup"] == copy);
  CHECK(printed["revision"] == std::to_string(RevisionOf(store)));
  CHECK(std::stoul(printed["commits"]) >= 10);
  CHECK(printed["versions"] == std::to_string(Lines(MustKvs(store, {"list"})).size()));
  CHECK(printed["bytes"] == std::to_string(fs::file_size(copy + "/data.000001")));
  CHECK(NamesIn(copy) == std::set<std::string>{"STORE", "data.000001"});
  CHECK_THAT(MustKvs(copy, {"check"}), Catch::EndsWith("problems: 0\n"));
  CHECK(Contents(copy) == Contents(store));
  // The same replica: a backup stands in for its store.
  CHECK(Lines(MustKvs(copy, {"stats"}))[1] == Lines(MustKvs(store, {"stats"}))[1]);

  // An empty directory takes a backup too.
  fs::create_directory(dir.Sub("empty"));
  Backup(store, dir.Sub("empty") + "/");
  CHECK(Contents(dir.Sub("empty")) == Contents(store));
}

TEST_CASE("a backup taken while the server writes holds a prefix of its transactions, none torn") {
  server::test::ServerStack stack;
  const std::string store = stack.dir() + "/kvs-data";
  // Enough bytes that a backup takes a while: writes land during it.
  std::string seed;
  for (int i = 0; i < 2000; ++i) {
    seed +=
        "seed" + std::to_string(i) + ": \"" + kvs::test::Filler(std::to_string(i), 500) + "\"\n";
  }
  MustKvs(store, {"import", "-"}, seed);

  TickWriter writer(stack);
  kvs::test::TempDir backups;
  std::vector<std::string> copies;
  bool written_during_a_backup = false;
  for (int b = 0; b < 4 && !writer.failed(); ++b) {
    // Let the writer get ahead first, so each backup sees new transactions.
    for (int before = writer.written(); writer.written() < before + 5 && !writer.failed();) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    copies.push_back(backups.Sub("copy" + std::to_string(b)));
    const int before = writer.written();
    Backup(store, copies.back());
    written_during_a_backup = written_during_a_backup || writer.written() > before;
  }
  writer.Stop();
  INFO(stack.Logs());
  REQUIRE_FALSE(writer.failed());
  REQUIRE(copies.size() == 4);
  CHECK(written_during_a_backup);

  const std::vector<std::string> log = Lines(MustKvs(store, {"log"}));
  std::set<std::string> ticks;
  for (const std::string& copy : copies) {
    INFO(copy);
    CHECK_THAT(MustKvs(copy, {"check"}), Catch::EndsWith("problems: 0\n"));
    std::map<std::string, std::string> values = Values(copy);
    // Whole transactions only: tick and mirror come from the same one, and
    // every transaction up to it is there, and none after.
    REQUIRE(values.count("tick") == 1);
    CHECK(values["mirror"] == values["tick"]);
    const int last = std::stoi(values["tick"]);
    for (int i = 0; i <= last + 1; ++i) {
      const std::string key = "t" + std::to_string(i);
      CHECK(values.count(key) == (i <= last ? 1u : 0u));
    }
    CHECK(values.size() == 2000 + 2 + static_cast<size_t>(last) + 1);
    ticks.insert(values["tick"]);
    // The copy's log is the store's, up to the copy's commit.
    const std::vector<std::string> copied = Lines(MustKvs(copy, {"log"}));
    REQUIRE(copied.size() <= log.size());
    CHECK(std::equal(copied.rbegin(), copied.rend(), log.rbegin()));
  }
  CHECK(ticks.size() == copies.size());
}

TEST_CASE("a backup taken while another process compacts the store is whole") {
  kvs::test::TempDir dir;
  const std::string store = dir.Sub("store");
  // History large enough that a compaction and a backup take a while.
  for (int round = 0; round < 8; ++round) {
    std::string map;
    for (int i = 0; i < 1000; ++i) {
      map += "k" + std::to_string(i) + ": \"" +
             kvs::test::Filler(std::to_string(round) + "/" + std::to_string(i), 800) + "\"\n";
    }
    MustKvs(store, {"import", "-"}, map);
  }
  MustKvs(store, {"branch", "create", "dev", "--at", "3"});
  const std::string want = Contents(store);

  for (int b = 0; b < 4; ++b) {
    const std::string copy = dir.Sub("copy" + std::to_string(b));
    // Started one right after the other, each first in turn: the backup
    // reads the newest commit before the compaction takes the writer lock,
    // or after it let go.
    std::vector<std::vector<std::string>> runs = {{KVS_CLI_BINARY, "-d", store, "backup", copy},
                                                  {KVS_CLI_BINARY, "-d", store, "compact"}};
    if (b % 2 == 1) std::swap(runs[0], runs[1]);
    server::test::ChildProcess first(runs[0], dir.Sub("first.log"));
    server::test::ChildProcess second(runs[1], dir.Sub("second.log"));
    for (server::test::ChildProcess* run : {&first, &second}) {
      while (!run->Exited()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      CHECK(WIFEXITED(run->wait_status()));
      CHECK(WEXITSTATUS(run->wait_status()) == 0);
    }
    INFO(copy);
    CHECK_THAT(MustKvs(copy, {"check"}), Catch::EndsWith("problems: 0\n"));
    CHECK(Contents(copy) == want);
  }
  CHECK(Contents(store) == want);
}

TEST_CASE("backup refuses a destination that holds anything, or none to name") {
  kvs::test::TempDir dir;
  const std::string store = dir.Sub("store");
  MustKvs(store, {"put", "k", "v"});
  const std::string full = dir.Sub("full");
  fs::create_directory(full);
  std::ofstream(full + "/notes.txt") << "keep me\n";

  RequireRefusals(
      store, 1,
      {
          {{"backup", full}, "kvs: " + full + " is not empty"},
          {{"backup", store},
           "kvs: " + store + " is in use: a server or another process has its store open"},
          {{"backup", dir.Sub("no/such")},
           "kvs: mkdir " + dir.Sub("no/such") + ": No such file or directory"},
      });
  RequireRefusals(
      store, 2,
      {
          {{"backup"}, "kvs: missing DEST"},
          {{"backup", "a", "b"}, "kvs: unexpected argument 'b'"},
          {{"backup", "--force", dir.Sub("b")}, "kvs: unknown option '--force' for backup"},
      });
  CHECK(NamesIn(full) == std::set<std::string>{"notes.txt"});
  CHECK(NamesIn(dir.path()) == std::set<std::string>{"store", "full"});
}

TEST_CASE("restore puts a backup in place in a new or an empty directory") {
  kvs::test::TempDir dir;
  const std::string store = dir.Sub("store"), backup = dir.Sub("backup");
  WriteHistory(store);
  Backup(store, backup);
  const std::string want = Contents(store);

  const std::string fresh = dir.Sub("fresh"), empty = dir.Sub("empty");
  fs::create_directory(empty);
  for (const std::string& target : {fresh, empty}) {
    INFO(target);
    std::map<std::string, std::string> printed = Fields(MustKvs(target, {"restore", backup}));
    CHECK(printed["restored"] == target);
    CHECK(printed["revision"] == std::to_string(RevisionOf(store)));
    CHECK(printed.count("moved aside") == 0);
    CHECK(Contents(target) == want);
    // A store like any other: it takes writes.
    MustKvs(target, {"put", "after", "restore"});
    CHECK_THAT(MustKvs(target, {"check"}), Catch::EndsWith("problems: 0\n"));
  }
  CHECK(Contents(backup) == want);
}

TEST_CASE("restore --force moves the store that was there aside and says where") {
  kvs::test::TempDir dir;
  const std::string store = dir.Sub("store"), backup = dir.Sub("backup"), live = dir.Sub("live");
  WriteHistory(store);
  Backup(store, backup);
  MustKvs(live, {"put", "only", "in the old store"});
  const std::string old = Contents(live);

  ProgramRun refused = RunKvs({"-d", live, "restore", backup});
  CHECK(refused.exit_code == 1);
  CHECK(refused.log == "kvs: " + live + " is not empty; --force moves what it holds aside\n");
  CHECK(Contents(live) == old);

  std::map<std::string, std::string> printed =
      Fields(MustKvs(live, {"restore", backup, "--force"}));
  CHECK(printed["restored"] == live);
  const std::string aside = printed["moved aside"];
  CHECK_THAT(aside, Catch::Matches(live + "\\.old-[0-9]{8}T[0-9]{6}Z"));
  CHECK(Contents(live) == Contents(store));
  CHECK(Contents(aside) == old);
}

TEST_CASE("restore refuses a store that a server or another process has open, changing nothing") {
  kvs::test::TempDir dir;
  const std::string backup = dir.Sub("backup");
  MustKvs(dir.Sub("store"), {"put", "from", "backup"});
  Backup(dir.Sub("store"), backup);

  // Held open by this process (a Store of its own).
  const std::string held = dir.Sub("held");
  MustKvs(held, {"put", "k", "in use"});
  {
    auto open = kvs::test::OpenStore(held);
    RequireRefusals(
        held, 1,
        {{{"restore", backup, "--force"},
          "kvs: " + held + " is in use: a server or another process has its store open"}});
  }
  CHECK(NamesIn(dir.path()) == std::set<std::string>{"store", "backup", "held"});
  MustKvs(held, {"restore", backup, "--force"});  // closed now: it goes

  // Served by kvs-fcgi behind nginx: refused by the store's directory, and
  // by the server's, whose kvs.yaml names it.
  server::test::ServerStack stack;
  const std::string served = stack.dir() + "/kvs-data";
  auto res = stack.Client()->Post("/", server::test::AuthField() + "&k=served",
                                  "application/x-www-form-urlencoded");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  const std::string in_use =
      "kvs: " + served + " is in use: a server or another process has its store open";
  RequireRefusals(served, 1, {{{"restore", backup, "--force"}, in_use}});
  ProgramRun by_config = RunKvs({"-d", stack.dir(), "restore", backup, "--force"});
  CHECK(by_config.exit_code == 1);
  CHECK(by_config.log == in_use + "\n");
  CHECK(MustKvs(served, {"get-key", "k"}) == "served");
  for (const std::string& name : NamesIn(stack.dir()))
    CHECK(name.find(".old-") == std::string::npos);
}

TEST_CASE("restore refuses a damaged backup, changing nothing") {
  kvs::test::TempDir dir;
  const std::string store = dir.Sub("store"), backup = dir.Sub("backup"), live = dir.Sub("live");
  WriteHistory(store);
  Backup(store, backup);
  // A byte in the middle of the data file: opening the backup reads only
  // its last block, the check reads them all.
  const std::string data = backup + "/data.000001";
  Damage(data, fs::file_size(data) / 3);
  CHECK(RunKvs({"-d", backup, "check"}).exit_code == 1);
  MustKvs(live, {"put", "k", "kept"});
  const std::string before = Contents(live);

  const std::string damaged =
      "kvs: the copy of the store in " + backup + " is damaged, so nothing was put in ";
  for (const std::string& target : {dir.Sub("fresh"), live}) {
    INFO(target);
    ProgramRun run = RunKvs({"-d", target, "restore", backup, "--force"});
    CHECK(run.exit_code == 1);
    CHECK(run.output.empty());
    CHECK_THAT(run.log, Catch::StartsWith(damaged + target + ": "));
  }
  CHECK(Contents(live) == before);
  CHECK(NamesIn(dir.path()) == std::set<std::string>{"store", "backup", "live"});

  ProgramRun nothing = RunKvs({"-d", live, "restore", dir.Sub("nothing")});
  CHECK(nothing.exit_code == 1);
  CHECK_THAT(nothing.log, Catch::StartsWith("kvs: cannot open the store in " + dir.Sub("nothing")));
  RequireRefusals(live, 2, {{{"restore"}, "kvs: missing SRC"}});
}

}  // namespace kvs::cli::test
