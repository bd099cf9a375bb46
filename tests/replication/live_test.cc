// Live replication between two stores in this process: the long poll a
// source answers (LocalPeer::Wait) and the loops that replicate again as
// either side changes (LiveReplication), with the remote side a LocalPeer
// too, so that only the waiting and the loops are under test here; the
// HTTP form is tested against real servers (tests/integration,
// tests/cli/sync_test.cc).
#include "replication/live.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "replication/local_peer.h"
#include "tests/replication/replica_state.h"
#include "tests/store/test_util.h"

namespace kvs::replication {
namespace {

using kvs::replication::test::VersionIds;
using kvs::test::MustPut;
using kvs::test::OpenStore;
using kvs::test::TempDir;

WaitOutcome MustWait(LocalPeer& peer, const WaitRequest& request) {
  auto outcome = peer.Wait(request);
  REQUIRE(outcome.ok());
  return *outcome;
}

// Runs write on another thread after a moment, while the caller waits.
// (No test macros in write: Catch's are for the test's thread only.)
class LaterWrite {
 public:
  explicit LaterWrite(std::function<void()> write)
      : thread_([write = std::move(write)] {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          write();
        }) {}
  ~LaterWrite() { thread_.join(); }

 private:
  std::thread thread_;
};

// Whether store's key reads value within about 20 s.
bool Eventually(Store& store, const std::string& key, const std::string& value) {
  for (int i = 0; i < 2000; ++i) {
    auto state = store.Get("main", key);
    if (state.ok() && !state->winner.deleted && state->winner.value == value) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Stores a replication checkpoint alone: a revision with no key in it.
Status WriteCheckpoint(Store& store) {
  ReplicationBatch checkpoint;
  checkpoint.peer = "some-peer";
  checkpoint.checkpoint = "{}";
  return store.ApplyReplicated(checkpoint).status();
}

// A peer that is the given store, as a ConnectRemote makes one.
ConnectRemote LocalRemote(Store& store) {
  return [&store]() -> Result<std::unique_ptr<Peer>> {
    return std::unique_ptr<Peer>(std::make_unique<LocalPeer>(store));
  };
}

}  // namespace

TEST_CASE("a wait answers when a key changes after the revision asked about") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("a"));
  MustPut(store.get(), "k", "1");
  LocalPeer peer(*store);
  const uint64_t now = *store->Revision();

  // Nothing new: it waits its whole time and says where it looked.
  WaitOutcome idle = MustWait(peer, {now, {}, "", 20, {}});
  CHECK_FALSE(idle.changed);
  CHECK_FALSE(idle.busy);
  CHECK(idle.revision == now);

  // Already behind: it answers at once.
  CHECK(MustWait(peer, {now - 1, {}, "", 20000, {}}).changed);

  // A write while it waits wakes it.
  WaitOutcome woken;
  {
    LaterWrite write([&] { (void)store->Write(WriteBatch().Put("k", "2")); });
    woken = MustWait(peer, {now, {}, "", 20000, {}});
  }
  CHECK(woken.changed);
  CHECK(woken.revision == now + 1);

  // A revision this store never reached (it was replaced): replicate to
  // find out.
  CHECK(MustWait(peer, {now + 100, {}, "", 20000, {}}).changed);
}

TEST_CASE("a wait ignores what the replication would not copy") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("a"));
  MustPut(store.get(), "logs/1", "x");
  REQUIRE(store->CreateBranch("dev", "main").ok());
  LocalPeer peer(*store);
  const uint64_t before = *store->Revision();

  // Another prefix, another branch, and a checkpoint (which every
  // replication writes) pass without waking a wait for users/ on main.
  MustPut(store.get(), "logs/2", "y");
  WriteBatch on_dev;
  on_dev.branch = "dev";
  on_dev.Put("users/ann", "1");
  REQUIRE(store->Write(on_dev).ok());
  REQUIRE(WriteCheckpoint(*store).ok());
  const uint64_t after = *store->Revision();
  REQUIRE(after == before + 3);
  WaitOutcome quiet = MustWait(peer, {before, {"main"}, "users/", 20, {}});
  CHECK_FALSE(quiet.changed);
  CHECK(quiet.revision == after);

  // The same changes do wake waits that would copy them.
  CHECK(MustWait(peer, {before, {"main"}, "logs/", 20, {}}).changed);
  CHECK(MustWait(peer, {before, {"dev"}, "users/", 20, {}}).changed);
  CHECK(MustWait(peer, {before, {}, "users/", 20, {}}).changed);

  // A branch created after the revision is new as a whole.
  REQUIRE(store->CreateBranch("fresh", "main").ok());
  CHECK(MustWait(peer, {after, {}, "nothing/", 20, {}}).changed);
  CHECK_FALSE(MustWait(peer, {after, {"main"}, "nothing/", 20, {}}).changed);
}

TEST_CASE("a wait for each revision ends at one that has nothing to copy") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("a"));
  MustPut(store.get(), "users/ann", "1");
  LocalPeer peer(*store);
  const uint64_t before = *store->Revision();
  WaitOutcome outcome;
  {
    // A checkpoint, then (long after the wait saw it) a key it copies.
    LaterWrite writes([&] {
      (void)WriteCheckpoint(*store);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      (void)store->Write(WriteBatch().Put("users/bob", "2"));
    });
    outcome = MustWait(peer, {before, {"main"}, "users/", 20000, {}, true});
  }
  CHECK_FALSE(outcome.changed);
  CHECK(outcome.revision == before + 1);
}

TEST_CASE("a wait ends early once its stop flag is set") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("a"));
  std::atomic<bool> stop{false};
  LocalPeer peer(*store, {{}, &stop});
  WaitOutcome outcome;
  {
    LaterWrite set_stop([&] { stop = true; });
    outcome = MustWait(peer, {0, {}, "", 20000, {}});
  }
  CHECK_FALSE(outcome.changed);
}

TEST_CASE("an interrupted wait fails at once, and so does every one after it") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("a"));
  LocalPeer peer(*store);
  Result<WaitOutcome> outcome = Status::OK();
  {
    LaterWrite interrupt([&] { peer.Interrupt(); });
    outcome = peer.Wait({0, {}, "", 20000, {}});
  }
  CHECK(outcome.status().code() == Status::Code::kIOError);
  CHECK(peer.Wait({0, {}, "", 20000, {}}).status().code() == Status::Code::kIOError);
}

TEST_CASE("live replication copies each side's writes as they happen, and stops") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  MustPut(a.get(), "early", "from a");
  std::atomic<int> runs{0};
  std::atomic<int> failures{0};
  LiveHooks hooks;  // called on the live threads: no test macros there
  hooks.done = [&](Direction, const ReplicateStats&) { ++runs; };
  hooks.failed = [&](Direction, const Status&, int64_t) { ++failures; };
  {
    LiveReplication live(*a, {}, LocalRemote(*b), Direction::kSync, {}, hooks);
    live.Start();
    CHECK(Eventually(*b, "early", "from a"));
    MustPut(b.get(), "later", "from b");
    CHECK(Eventually(*a, "later", "from b"));
    for (int i = 0; i < 20; ++i) MustPut(a.get(), "counter", std::to_string(i));
    CHECK(Eventually(*b, "counter", "19"));
    live.Stop();
  }
  CHECK(runs >= 4);
  CHECK(failures == 0);
  // Both hold the same versions: history travelled, not only the winners.
  CHECK(VersionIds(*a) == VersionIds(*b));
}

TEST_CASE("a live pull that waits for each revision says how far it has seen") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  MustPut(b.get(), "users/ann", "1");
  std::atomic<uint64_t> seen{0};
  LiveHooks hooks;
  hooks.caught_up = [&](Direction, uint64_t revision) { seen = revision; };
  LiveTiming timing;
  timing.wait_ms = 600000;  // longer than the test: only the new revision ends a wait
  timing.each_revision = true;
  ReplicateOptions options;
  options.prefix = "users/";
  LiveReplication live(*a, {}, LocalRemote(*b), Direction::kPull, options, hooks, timing);
  live.Start();
  CHECK(Eventually(*a, "users/ann", "1"));
  // A key the pull does not copy moves the source's revision: the pull's
  // wait ends there, and says so.
  MustPut(b.get(), "logs/1", "x");
  const uint64_t moved = *b->Revision();
  for (int i = 0; i < 2000 && seen < moved; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(seen == moved);
  live.Stop();
}

TEST_CASE("live replication backs off while the remote cannot be reached, then catches up") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  MustPut(b.get(), "k", "v");
  std::atomic<int> attempts{0};
  std::atomic<int> failures{0};
  ConnectRemote flaky = [&]() -> Result<std::unique_ptr<Peer>> {
    if (++attempts <= 2) return Status::IOError("cannot reach the remote (test)");
    return std::unique_ptr<Peer>(std::make_unique<LocalPeer>(*b));
  };
  std::atomic<int> other_failures{0};
  LiveHooks hooks;
  hooks.failed = [&](Direction, const Status& status, int64_t) {
    ++(status.message() == "cannot reach the remote (test)" ? failures : other_failures);
  };
  LiveTiming timing;
  timing.retry_ns = 1000000;  // 1 ms, doubling
  LiveReplication live(*a, {}, flaky, Direction::kPull, {}, hooks, timing);
  live.Start();
  CHECK(Eventually(*a, "k", "v"));
  live.Stop();
  CHECK(failures == 2);
  CHECK(other_failures == 0);
}

}  // namespace kvs::replication
