// Writers on one store from several processes, several Store objects and
// several threads at once. Most add one to a shared counter by
// compare-and-set (KeyWrite::expected_heads) and retry on kConflict. If the
// writer locks ever let two transactions check the same heads and both
// commit, an increment is lost or the key forks; so the counter must end at
// exactly the number of successful increments, with one head and one version
// per increment in its history. Others write and copy branches, whose
// logged edits each process replays from the others'.
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

constexpr char kCounterKey[] = "counter";
constexpr int kIncrementsPerWriter = 1000;
constexpr int kWriters = 4;

struct IncrementStats {
  uint64_t successes = 0;
  uint64_t conflicts = 0;  // attempts that lost the race and were retried
};

// Adds one to the counter by compare-and-set until `increments` attempts
// succeeded; a conflict (another writer got there first) is counted and
// retried. Returns the first other error.
Status IncrementCounter(Store* store, uint64_t increments, IncrementStats* stats) {
  while (stats->successes < increments) {
    auto state = store->Get("main", kCounterKey);
    uint64_t value = 0;
    std::vector<VersionId> heads;  // empty: the key must not exist yet
    if (state.ok()) {
      const std::string& text = state->winner.value;
      if (std::from_chars(text.data(), text.data() + text.size(), value).ec != std::errc()) {
        return Status::Corruption("the counter holds '" + text + "'");
      }
      for (const Version& head : state->heads) heads.push_back(head.id);
    } else if (!state.status().IsNotFound()) {
      return state.status();
    }
    WriteBatch batch;
    batch.writes.push_back(
        KeyWrite{kCounterKey, std::to_string(value + 1), std::nullopt, heads, std::nullopt});
    auto result = store->Write(batch);
    if (result.ok()) {
      ++stats->successes;
    } else if (result.status().IsConflict()) {
      ++stats->conflicts;
    } else {
      return result.status();
    }
  }
  return Status::OK();
}

// The counter must equal total, with one head whose history holds exactly
// one version per increment, counting down to 1; the store took one revision
// per increment (a conflicting attempt writes nothing) and checks clean.
void CheckCounterEndsAt(const std::string& dir, uint64_t total) {
  auto store = OpenStore(dir);
  auto state = store->Get("main", kCounterKey);
  INFO(state.status().ToString());
  REQUIRE(state.ok());
  CHECK(state->winner.value == std::to_string(total));
  CHECK(state->heads.size() == 1);
  auto revision = store->Revision();
  REQUIRE(revision.ok());
  CHECK(*revision == total);

  auto history = store->History(state->winner.id, 0, 2 * total, /*with_values=*/true);
  INFO(history.status().ToString());
  REQUIRE(history.ok());
  REQUIRE(history->size() == total);
  for (uint64_t i = 0; i < total; ++i) {
    const Version& v = (*history)[i];
    INFO("history entry " << i);
    REQUIRE(v.value == std::to_string(total - i));
    REQUIRE(v.parents.size() == (i + 1 == total ? 0u : 1u));
  }

  auto report = store->Check();
  REQUIRE(report.ok());
  INFO((report->problems.empty() ? std::string() : report->problems.front()));
  CHECK(report->ok());
}

// A child process: waits until the parent says go (EOF on go_fd), opens the
// store itself (the first ones race to create it), increments, writes its
// IncrementStats to result_fd and exits 0. It never returns into Catch2; a
// store failure goes to stderr and exit code 3 (4: the result could not be sent).
[[noreturn]] void RunIncrementProcess(const std::string& dir, int go_fd, int result_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a parent that died mid-test
  char ignored;
  while (read(go_fd, &ignored, 1) > 0) {
  }
  auto store = Store::Open(dir, Options());  // SyncMode::kSync
  IncrementStats stats;
  Status s =
      store.ok() ? IncrementCounter(store->get(), kIncrementsPerWriter, &stats) : store.status();
  if (!s.ok()) {
    std::string line = "multiprocess_test child: " + s.ToString() + "\n";
    ssize_t n = write(STDERR_FILENO, line.data(), line.size());
    (void)n;
    _exit(3);
  }
  _exit(write(result_fd, &stats, sizeof(stats)) == sizeof(stats) ? 0 : 4);
}

// Forks count children; child i runs child(i), which must end the process
// (a Run*Process below). Kills the ones started if a fork fails.
template <typename Child>
std::vector<pid_t> ForkChildren(int count, Child child) {
  std::cout.flush();
  std::cerr.flush();
  std::vector<pid_t> children;
  for (int i = 0; i < count; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      child(i);
      _exit(127);  // never back into Catch2
    }
    if (pid < 0) {
      for (pid_t started : children) kill(started, SIGKILL);
    }
    REQUIRE(pid > 0);
    children.push_back(pid);
  }
  return children;
}

// Waits for every child; each must have exited with code 0.
void RequireChildrenSucceeded(const std::vector<pid_t>& children) {
  for (pid_t child : children) {
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    INFO("a child failed: " << (WIFEXITED(status)
                                    ? "exit code " + std::to_string(WEXITSTATUS(status))
                                    : std::string("signal ") + strsignal(WTERMSIG(status)))
                            << " (its stderr says why)");
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
}

TEST_CASE("compare-and-set increments from four processes are counted exactly once") {
  TempDir dir;
  std::string store_dir = dir.Sub("store");  // created by whichever child opens first
  int go[2], results[2];
  REQUIRE(pipe(go) == 0);
  REQUIRE(pipe(results) == 0);
  std::vector<pid_t> children = ForkChildren(kWriters, [&](int) {
    close(go[1]);
    close(results[0]);
    RunIncrementProcess(store_dir, go[0], results[1]);
  });
  close(go[0]);
  close(results[1]);
  close(go[1]);  // go: all four start at once
  RequireChildrenSucceeded(children);
  IncrementStats total;
  IncrementStats one;
  while (read(results[0], &one, sizeof(one)) == sizeof(one)) {
    total.successes += one.successes;
    total.conflicts += one.conflicts;
  }
  close(results[0]);
  REQUIRE(total.successes == kWriters * kIncrementsPerWriter);
  std::cout << "multiprocess: " << kWriters << " processes, " << total.successes << " increments, "
            << total.conflicts << " conflicts retried\n";
  CheckCounterEndsAt(store_dir, total.successes);
}

TEST_CASE("compare-and-set increments from threads on two Store objects are counted exactly once") {
  TempDir dir;
  // Two Store objects on one directory share the process's writer lock; two
  // threads on each share its group commit, where the second transaction of
  // a group must see the first one's write and conflict. Without fsync (the
  // four-process test pays for durable writes), so the threads race harder.
  Options options;
  options.sync = SyncMode::kNone;
  std::unique_ptr<Store> stores[2] = {OpenStore(dir.path(), options),
                                      OpenStore(dir.path(), options)};
  std::mutex mu;
  std::vector<std::string> errors;  // Guarded by mu
  std::vector<IncrementStats> stats(kWriters);
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      Status s = IncrementCounter(stores[t % 2].get(), kIncrementsPerWriter, &stats[t]);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        errors.push_back("thread " + std::to_string(t) + ": " + s.ToString());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& e : errors) FAIL_CHECK(e);
  REQUIRE(errors.empty());
  uint64_t successes = 0, conflicts = 0;
  for (const IncrementStats& s : stats) {
    successes += s.successes;
    conflicts += s.conflicts;
  }
  REQUIRE(successes == kWriters * kIncrementsPerWriter);
  std::cout << "multiprocess: " << kWriters << " threads on 2 stores, " << successes
            << " increments, " << conflicts << " conflicts retried\n";
  stores[0].reset();
  stores[1].reset();
  CheckCounterEndsAt(dir.path(), successes);
}

// A child process that writes without pause from 16 threads, durably, until
// the parent closes stop_fd or kBusyDeadline passes. Exit code 0: stopped by
// the parent; 5: the deadline came first; 3: a write failed.
constexpr auto kBusyDeadline = std::chrono::seconds(20);
[[noreturn]] void RunBusyWriterProcess(const std::string& dir, int stop_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto store = Store::Open(dir, Options());  // SyncMode::kSync
  if (!store.ok()) _exit(3);
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        WriteBatch batch;
        batch.Put("busy-" + std::to_string(t) + "-" + std::to_string(i % 50), "x");
        if (!(*store)->Write(batch).ok()) failed = true;
      }
    });
  }
  pollfd stop_poll{stop_fd, POLLIN, 0};
  int waited =
      poll(&stop_poll, 1, static_cast<int>(std::chrono::milliseconds(kBusyDeadline).count()));
  stop = true;
  for (std::thread& t : threads) t.join();
  _exit(failed ? 3 : waited > 0 ? 0 : 5);
}

TEST_CASE("a process that writes without pause still lets another process write") {
  // Leaders of a busy process's group commit pass the writer lock on to one
  // another while each group syncs; another process cannot be seen waiting,
  // so the lock must still be let go now and then.
  TempDir dir;
  auto store = OpenStore(dir.path());
  int stop[2];
  REQUIRE(pipe(stop) == 0);
  const pid_t child = ForkChildren(1, [&](int) {
    close(stop[1]);
    RunBusyWriterProcess(dir.path(), stop[0]);
  })[0];
  close(stop[0]);
  // Once the child is well under way,
  for (int waited = 0; *store->Revision() < 500 && waited < 2000; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  uint64_t child_revisions = *store->Revision();
  // this process writes, one transaction at a time, while the child goes on.
  for (int i = 0; i < 20; ++i) MustPut(store.get(), "quiet-" + std::to_string(i), "y");
  close(stop[1]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(child_revisions >= 500);
  INFO("the child's exit code: 5 means this process wrote only once the child stopped");
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

// A child process for the branch test below: writes its own keys on two
// branches, and every 25 writes creates a branch from "b0" (logged as a copy
// of a tree that may be only in the writers' memory). Exit code 3 on a store
// failure, its message on stderr.
[[noreturn]] void RunBranchWriterProcess(const std::string& dir, int id, int go_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  char ignored;
  while (read(go_fd, &ignored, 1) > 0) {
  }
  Options options;
  options.create_if_missing = false;
  options.sync = SyncMode::kNone;
  auto store = Store::Open(dir, options);
  Status s = store.status();
  for (int i = 0; s.ok() && i < 200; ++i) {
    WriteBatch batch;
    batch.branch = i % 2 == 0 ? "b0" : "b1";
    batch.Put("p" + std::to_string(id) + "-" + std::to_string(i % 10), std::to_string(i));
    s = (*store)->Write(batch).status();
    if (s.ok() && i % 25 == 24) {
      s = (*store)
              ->CreateBranch("c" + std::to_string(id) + "-" + std::to_string(i), "b0",
                             ReadPoint::Latest())
              .status();
    }
  }
  if (!s.ok()) {
    std::string line = "multiprocess_test child: " + s.ToString() + "\n";
    ssize_t n = write(STDERR_FILENO, line.data(), line.size());
    (void)n;
    _exit(3);
  }
  _exit(0);
}

TEST_CASE("branch edits and copies logged by three processes replay to the same states") {
  // Store format 3 logs branch tree edits; every writer replays the others'
  // before it writes, and a reader replays them all.
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    REQUIRE(store->CreateBranch("b0", "main", ReadPoint::Latest()).ok());
    REQUIRE(store->CreateBranch("b1", "main", ReadPoint::Latest()).ok());
  }
  int go[2];
  REQUIRE(pipe(go) == 0);
  std::vector<pid_t> children = ForkChildren(3, [&](int id) {
    close(go[1]);
    RunBranchWriterProcess(dir.path(), id, go[0]);
  });
  close(go[0]);
  close(go[1]);
  RequireChildrenSucceeded(children);

  auto store = OpenStore(dir.path());
  // Each process's last writes, on both branches.
  for (int id = 0; id < 3; ++id) {
    for (int k = 0; k < 10; ++k) {
      const std::string key = "p" + std::to_string(id) + "-" + std::to_string(k);
      CHECK(ValueOf(store.get(), key, k % 2 == 0 ? "b0" : "b1") == std::to_string(190 + k));
    }
  }
  // Each branch created from b0 holds b0 as it was when it was created.
  auto branches = store->ListBranches();
  REQUIRE(branches.ok());
  size_t copies = 0;
  for (const BranchInfo& b : *branches) {
    if (b.name[0] != 'c') continue;
    ++copies;
    const ReadPoint at = ReadPoint::AtRevision(b.created_revision);
    auto diff = store->Diff("b0", at, b.name, at);
    INFO(b.name << " at revision " << b.created_revision);
    REQUIRE(diff.ok());
    CHECK(diff->empty());
    auto now = store->Diff("b0", at, b.name, ReadPoint::Latest());
    REQUIRE(now.ok());
    CHECK(now->empty());
  }
  CHECK(copies == 3 * 8);
  auto report = store->Check();
  REQUIRE(report.ok());
  INFO((report->problems.empty() ? std::string() : report->problems.front()));
  CHECK(report->ok());
}

}  // namespace
}  // namespace kvs::test
