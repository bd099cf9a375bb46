// Crash test, as SQLite does it: a child process commits transactions and
// reports each one the store acknowledged through a pipe; the parent kills it
// with SIGKILL at a random moment, reopens the store and checks that every
// acknowledged transaction is there, whole, and that no revision holds part
// of one. This repeats a few hundred times on one store, with one writer
// thread or four (group commit), with both sync modes (a process crash must
// lose nothing acknowledged even under SyncMode::kNone: the bytes are in the
// page cache), and with occasional large values, so that some kills land in
// the middle of writing a block and leave a torn tail for recovery to drop,
// and with a thread compacting beside the writers now and then, so that
// kills land in every step of a compaction too. A reader Store stays open in the parent throughout
// and must follow the same history without reopening.
//
// Every transaction writes the same value to all of kKeyCount keys (and, now
// and then, a large value to a "blob" key), so a partial transaction would
// show as keys that disagree at one revision.
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

constexpr int kKeyCount = 10;
constexpr char kBlobKey[] = "blob";
constexpr int kChildFailed = 3;  // exit code of a child whose store call failed

std::string KeyName(int i) { return "k" + std::to_string(i); }

// The value every key of the transaction with this token holds; it says
// whether the transaction also wrote the blob key.
std::string KeyValue(uint64_t token, bool with_blob) {
  return std::to_string(token) + (with_blob ? "+blob" : "");
}

// The blob's value starts with the token of its transaction.
std::string BlobValue(uint64_t token, size_t size) {
  std::string value = std::to_string(token) + ":";
  value.resize(std::max(size, value.size()), 'b');
  return value;
}

// What the child sends for each acknowledged transaction. 16 bytes, so each
// write to the pipe is atomic (less than PIPE_BUF) even from several threads.
struct Ack {
  uint64_t revision;
  uint64_t token;
};
// Sent instead of an Ack when a compaction finished.
constexpr Ack kCompacted{0, ~uint64_t{0}};

// How one child writes, and when the parent kills it.
struct Round {
  int threads = 1;
  SyncMode sync = SyncMode::kSync;
  bool blobs = false;          // some transactions carry a large value
  bool kill_at_start = false;  // kill 0-5 ms after fork, while the child opens
  bool compacting = false;     // a thread compacts the store over and over meanwhile
};

// ---- The child --------------------------------------------------------------
// It runs outside Catch2: it never returns from RunChild and never touches the
// parent's objects; failures are reported on stderr and by exit code.

[[noreturn]] void ChildFail(const std::string& what, const Status& status) {
  std::string line = "crash_test child: " + what + ": " + status.ToString() + "\n";
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
  _exit(kChildFailed);
}

void WriteUntilKilled(Store* store, const Round& round, uint64_t child_id, uint64_t thread,
                      int ack_fd) {
  std::mt19937_64 rng(child_id * 31 + thread);
  for (uint64_t seq = 0;; ++seq) {
    uint64_t token = child_id << 40 | thread << 32 | seq;
    bool with_blob = round.blobs && rng() % 4 == 0;
    WriteBatch batch;
    for (int k = 0; k < kKeyCount; ++k) batch.Put(KeyName(k), KeyValue(token, with_blob));
    if (with_blob) batch.Put(kBlobKey, BlobValue(token, (256 << 10) + rng() % (2 << 20)));
    auto result = store->Write(batch);
    if (!result.ok()) ChildFail("write", result.status());
    Ack ack{result->revision, token};
    if (write(ack_fd, &ack, sizeof(ack)) != static_cast<ssize_t>(sizeof(ack))) _exit(0);
  }
}

[[noreturn]] void RunChild(const std::string& dir, const Round& round, uint64_t child_id,
                           int ack_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a parent that died mid-test
  if (getppid() == 1) _exit(0);
  Options options;
  options.sync = round.sync;
  auto store = Store::Open(dir, options);
  if (!store.ok()) ChildFail("open", store.status());
  std::vector<std::thread> threads;
  for (int t = 0; t < round.threads; ++t) {
    threads.emplace_back([&, t] {
      WriteUntilKilled(store->get(), round, child_id, static_cast<uint64_t>(t), ack_fd);
    });
  }
  if (round.compacting) {
    threads.emplace_back([&] {
      for (;;) {
        auto compacted = (*store)->Compact(CompactOptions());
        if (!compacted.ok()) ChildFail("compact", compacted.status());
        if (write(ack_fd, &kCompacted, sizeof(kCompacted)) != sizeof(kCompacted)) _exit(0);
      }
    });
  }
  for (std::thread& t : threads) t.join();  // never: the writers loop until killed
  _exit(0);
}

// ---- The parent -------------------------------------------------------------

// Collects the acks from the read end of the pipe.
class AckReader {
 public:
  explicit AckReader(int fd) : fd_(fd) {}
  ~AckReader() { close(fd_); }

  // Reads what arrives until the deadline (or EOF); false on EOF.
  bool ReadUntil(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      auto left = std::max(deadline - std::chrono::steady_clock::now(),
                           std::chrono::steady_clock::duration::zero());
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec timeout{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
      pollfd p{fd_, POLLIN, 0};
      int ready = ppoll(&p, 1, &timeout, nullptr);
      if (ready == 0) return true;
      if (ready < 0) {
        if (errno == EINTR) continue;
        FAIL("ppoll: " << std::strerror(errno));
      }
      if (!ReadSome()) return false;
      if (std::chrono::steady_clock::now() >= deadline) return true;
    }
  }

  // Reads everything left, once the writer is dead.
  void Drain() {
    while (ReadSome()) {
    }
  }

  const std::vector<Ack>& acks() const { return acks_; }

 private:
  bool ReadSome() {
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) return true;
    REQUIRE(n >= 0);
    pending_.append(buf, static_cast<size_t>(n));
    size_t whole = pending_.size() / sizeof(Ack) * sizeof(Ack);
    for (size_t at = 0; at < whole; at += sizeof(Ack)) {
      Ack ack;
      std::memcpy(&ack, pending_.data() + at, sizeof(ack));
      acks_.push_back(ack);
    }
    pending_.erase(0, whole);
    return n > 0;
  }

  int fd_;
  std::string pending_;  // a partial ack, until its rest arrives
  std::vector<Ack> acks_;
};

// Forks a writer child for the round, kills it with SIGKILL at a random
// moment and returns what it acknowledged before dying.
std::vector<Ack> RunAndKill(const std::string& dir, const Round& round, uint64_t child_id,
                            int* compactions, std::mt19937_64* rng) {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  std::cout.flush();
  std::cerr.flush();
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    RunChild(dir, round, child_id, fds[1]);
  }
  close(fds[1]);
  // Kills and reaps the child when a failed REQUIRE leaves this early.
  struct KillOnExit {
    pid_t pid;
    ~KillOnExit() {
      if (pid > 0 && kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
    }
  } guard{pid};
  AckReader reader(fds[0]);
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  auto now = std::chrono::steady_clock::now;
  bool alive;
  if (round.kill_at_start) {
    alive = reader.ReadUntil(now() + microseconds((*rng)() % 5000));
  } else {
    // Wait for the first acknowledgement, so the kill lands among writes.
    auto give_up = now() + std::chrono::seconds(30);
    alive = true;
    while (alive && reader.acks().empty() && now() < give_up) {
      alive = reader.ReadUntil(now() + milliseconds(10));
    }
    // Compactions take longer than writes: give some time to finish.
    const uint64_t window_us = round.compacting ? 600000 : 30000;
    if (alive) alive = reader.ReadUntil(now() + microseconds((*rng)() % window_us));
  }
  kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  guard.pid = 0;
  reader.Drain();
  INFO("the child ended before the kill: "
       << (WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                             : std::string("signal ") + strsignal(WTERMSIG(status)))
       << " (its stderr may say why)");
  REQUIRE(alive);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
  if (!round.kill_at_start) {
    INFO("the child acknowledged nothing in 30 s");
    REQUIRE(!reader.acks().empty());
  }
  std::vector<Ack> acks;
  for (const Ack& ack : reader.acks()) {
    if (ack.token == kCompacted.token) {
      ++*compactions;
    } else {
      acks.push_back(ack);
    }
  }
  return acks;
}

// The token a key's value at revision r carries, and whether that revision
// changed it.
struct KeyAt {
  uint64_t token = 0;
  bool with_blob = false;
  uint64_t changed_at = 0;
};

KeyAt ReadKeyAt(Store* store, const std::string& key, uint64_t revision) {
  auto state = store->Get("main", key, ReadPoint::AtRevision(revision));
  INFO("key " << key << " at revision " << revision << ": " << state.status().ToString());
  REQUIRE(state.ok());
  REQUIRE(!state->winner.deleted);
  REQUIRE(state->heads.size() == 1);
  const std::string& value = state->winner.value;
  KeyAt out;
  size_t digits = 0;
  out.token = std::stoull(value, &digits);
  out.with_blob = value.substr(digits) == "+blob";
  out.changed_at = state->revision;
  return out;
}

// Every transaction writes all keys, so at each revision all of them must
// have changed at that very revision, to the same value, and the blob key
// exactly when the keys say their transaction wrote it.
void CheckWholeTransaction(Store* store, uint64_t revision) {
  INFO("revision " << revision);
  KeyAt first = ReadKeyAt(store, KeyName(0), revision);
  REQUIRE(first.changed_at == revision);
  for (int k = 1; k < kKeyCount; ++k) {
    KeyAt other = ReadKeyAt(store, KeyName(k), revision);
    REQUIRE(other.changed_at == revision);
    REQUIRE(other.token == first.token);
    REQUIRE(other.with_blob == first.with_blob);
  }
  auto blob = store->Get("main", kBlobKey, ReadPoint::AtRevision(revision));
  if (first.with_blob) {
    REQUIRE(blob.ok());
    CHECK(blob->revision == revision);
    CHECK(blob->winner.value.substr(0, blob->winner.value.find(':')) ==
          std::to_string(first.token));
  } else if (blob.ok()) {
    CHECK(blob->revision < revision);
  } else {
    CHECK(blob.status().IsNotFound());
  }
}

struct CrashStats {
  int kills = 0;
  int torn_tails = 0;
  uint64_t acknowledged = 0;
  uint64_t unacknowledged_commits = 0;  // committed, killed before the ack
  int compactions = 0;                  // finished before a kill
};

// Reopens the store after a kill and checks it; returns its revision.
uint64_t CheckAfterKill(const std::string& dir, uint64_t revision_before,
                        const std::vector<Ack>& acks, bool full_check, CrashStats* stats) {
  auto store = OpenStore(dir);
  if (store->recovery_info().dropped_tail_bytes > 0) ++stats->torn_tails;
  auto revision = store->Revision();
  REQUIRE(revision.ok());
  uint64_t newest_ack = 0;
  for (const Ack& ack : acks) newest_ack = std::max(newest_ack, ack.revision);
  INFO("revision before the child: " << revision_before << ", newest acknowledged: " << newest_ack
                                     << ", after reopening: " << *revision);
  REQUIRE(*revision >= revision_before);
  REQUIRE(*revision >= newest_ack);
  REQUIRE(*revision - revision_before >= acks.size());
  for (uint64_t r = revision_before + 1; r <= *revision; ++r) {
    CheckWholeTransaction(store.get(), r);
  }
  for (const Ack& ack : acks) {
    INFO("acknowledged revision " << ack.revision);
    REQUIRE(ack.revision > revision_before);
    CHECK(ReadKeyAt(store.get(), KeyName(0), ack.revision).token == ack.token);
  }
  stats->acknowledged += acks.size();
  stats->unacknowledged_commits += *revision - revision_before - acks.size();
  if (full_check) {
    auto report = store->Check();
    REQUIRE(report.ok());
    INFO((report->problems.empty() ? std::string() : report->problems.front()));
    CHECK(report->ok());
    CHECK(report->revisions == *revision + 1);
  }
  return *revision;
}

// How many kills: 240 (a sanitizer build takes about 35 s for them), or
// KVS_CRASH_KILLS for a longer soak.
int KillCount() {
  if (const char* env = std::getenv("KVS_CRASH_KILLS")) return std::max(1, std::atoi(env));
  return 240;
}

// The schedule, on one store: four writer threads in every third round,
// page-cache-only writes in every fourth, large values in every fifth,
// compactions beside the writers in every sixth, and a kill while the child
// is still opening the store in every sixteenth.
Round RoundFor(int i) {
  Round round;
  round.threads = i % 3 == 2 ? 4 : 1;
  round.sync = i % 4 == 1 ? SyncMode::kNone : SyncMode::kSync;
  round.blobs = i % 5 == 3;
  round.kill_at_start = i % 16 == 7;
  round.compacting = i % 6 == 4;
  return round;
}

TEST_CASE("every acknowledged transaction survives SIGKILL, and no partial one appears") {
  TempDir dir;
  // A reader that stays open across all the crashes, as a FastCGI worker
  // would: it picks up what each child committed without reopening, and must
  // end up where a fresh open (recovery from scratch) does. The children
  // open their own Store; they never touch this one.
  auto reader = OpenStore(dir.path());
  uint64_t seed = std::random_device()();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  CrashStats stats;
  uint64_t revision = 0;
  int kills = KillCount();
  for (int i = 0; i < kills; ++i) {
    Round round = RoundFor(i);
    INFO("kill " << i << ": " << round.threads << " thread(s), "
                 << (round.sync == SyncMode::kSync ? "kSync" : "kNone")
                 << (round.blobs ? ", large values" : "")
                 << (round.kill_at_start ? ", killed at start" : "")
                 << (round.compacting ? ", compacting" : ""));
    std::vector<Ack> acks =
        RunAndKill(dir.path(), round, static_cast<uint64_t>(i) + 1, &stats.compactions, &rng);
    ++stats.kills;
    revision = CheckAfterKill(dir.path(), revision, acks, i % 20 == 19 || i + 1 == kills, &stats);
    auto seen = reader->Revision();
    REQUIRE(seen.ok());
    REQUIRE(*seen == revision);
    if (revision > 0) CheckWholeTransaction(reader.get(), revision);
  }
  std::cout << "crash test: " << stats.kills << " kills, " << stats.torn_tails
            << " torn tails dropped, " << stats.acknowledged << " acknowledged transactions, "
            << stats.unacknowledged_commits << " committed but killed before the ack, " << revision
            << " revisions, " << stats.compactions << " compactions finished beside the writers\n";
}

}  // namespace
}  // namespace kvs::test
