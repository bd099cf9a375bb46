// The pipelined group commit (store/group_commit.cc): while one group's
// blocks are being synced, the next leader builds its group on them, but
// writes nothing until that sync ends. FaultEnv holds syncs so the tests can
// look at the store and the file in that window, and counts writes made over
// unsynced bytes, which would let a power loss keep a group whose
// predecessor was torn.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/store/fault_env.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

// Polls until done() holds; fails the test after 30 s.
void WaitFor(const std::function<bool()>& done, const char* what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("timed out waiting: " << what);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// The bytes of the store's one data file, without the zeros kept ahead.
uint64_t DataFileSize(const std::string& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("data.", 0) == 0) return DataFileBytes(entry.path());
  }
  FAIL("no data file in " << dir);
  return 0;
}

// Writes on threads of their own while the test holds syncs; releases the
// syncs and joins them however the test ends, so a failed check cannot
// leave a writer blocked.
class BackgroundWrites {
 public:
  BackgroundWrites(Store* store, FaultEnv* env) : store_(store), env_(env) {}
  ~BackgroundWrites() { Join(); }

  // Writes key = value; the result lands in *out.
  void Put(std::string key, std::string value, std::optional<Result<WriteResult>>* out) {
    threads_.emplace_back([this, key, value, out] {
      WriteBatch batch;
      batch.Put(key, value);
      out->emplace(store_->Write(batch));
    });
  }

  void Join() {
    env_->ReleaseSyncs();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  Store* store_;
  FaultEnv* env_;
  std::vector<std::thread> threads_;
};

// A write from a thread other than the test's (Catch's assertions are not
// thread-safe): failures are counted instead.
void PutCounting(Store* store, const std::string& key, const std::string& value,
                 std::atomic<int>* failures) {
  WriteBatch batch;
  batch.Put(key, value);
  if (!store->Write(batch).ok()) failures->fetch_add(1);
}

// Starts writing key = value (the result lands in *out) and waits until its
// sync is held; returns the data file's size then.
uint64_t WriteUntilItsSyncIsHeld(BackgroundWrites* writes, FaultEnv* env, const std::string& dir,
                                 std::string key, std::string value,
                                 std::optional<Result<WriteResult>>* out) {
  env->HoldSyncs();
  writes->Put(std::move(key), std::move(value), out);
  WaitFor([&] { return env->held_syncs() == 1; }, "the first write's sync");
  return DataFileSize(dir);
}

// Gives a writer just started time to queue and be built on the group being
// synced. The checks after it hold whether or not it got that far.
void LetItQueue() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

}  // namespace

TEST_CASE("a write is seen by readers only once synced, and the next group waits for that sync") {
  TempDir dir;
  FaultEnv env(Env::Default());
  Options options;
  options.env = &env;
  auto store = OpenStore(dir.path(), options);
  MustPut(store.get(), "a", "old");
  const uint64_t revision_before = *store->Revision();

  std::optional<Result<WriteResult>> first, second;
  BackgroundWrites writes(store.get(), &env);
  const uint64_t size_in_sync =
      WriteUntilItsSyncIsHeld(&writes, &env, dir.path(), "a", "new", &first);
  // Written, not yet durable: this process's readers still see the old state.
  CHECK(ValueOf(store.get(), "a") == "old");
  CHECK(*store->Revision() == revision_before);

  writes.Put("b", "x", &second);
  LetItQueue();
  CHECK(DataFileSize(dir.path()) == size_in_sync);
  CHECK(env.held_syncs() == 1);
  CHECK_FALSE(second.has_value());

  writes.Join();
  REQUIRE(first->ok());
  REQUIRE(second->ok());
  CHECK((*first)->revision == revision_before + 1);
  CHECK((*second)->revision == revision_before + 2);
  CHECK(ValueOf(store.get(), "a") == "new");
  CHECK(ValueOf(store.get(), "b") == "x");
  CHECK(env.writes_over_unsynced() == 0);
  CHECK(store->Check()->problems.empty());
}

TEST_CASE("a failed sync fails the group built on it, which never reaches the file") {
  TempDir dir;
  FaultEnv env(Env::Default());
  Options options;
  options.env = &env;
  {
    auto store = OpenStore(dir.path(), options);
    MustPut(store.get(), "k", "before");
    const uint64_t size_before = DataFileSize(dir.path());

    std::optional<Result<WriteResult>> first, second;
    BackgroundWrites writes(store.get(), &env);
    WriteUntilItsSyncIsHeld(&writes, &env, dir.path(), "k", "first", &first);
    writes.Put("k2", "second", &second);
    LetItQueue();
    env.FailAfter(1);  // the held sync
    writes.Join();
    CHECK(first->status().code() == Status::Code::kIOError);
    CHECK(second->status().code() == Status::Code::kIOError);
    // The failed group was cut off again; the one built on it never written.
    CHECK(DataFileSize(dir.path()) == size_before);

    CHECK(ValueOf(store.get(), "k") == "before");
    CHECK(store->Get("main", "k2", ReadPoint::Latest()).status().IsNotFound());
    env.FailAfter(0);  // the store writes again, over the failed groups' bytes
    MustPut(store.get(), "k3", "after");
    CHECK(store->Get("main", "k2", ReadPoint::Latest()).status().IsNotFound());
  }
  REQUIRE(env.DropUnsyncedData().ok());
  auto store = OpenStore(dir.path());
  CHECK(ValueOf(store.get(), "k") == "before");
  CHECK(store->Get("main", "k2", ReadPoint::Latest()).status().IsNotFound());
  CHECK(store->Check()->problems.empty());
  CHECK(env.writes_over_unsynced() == 0);
}

TEST_CASE("under concurrent writers each group is synced before the next reaches the file") {
  TempDir dir;
  FaultEnv env(Env::Default());
  Options options;
  options.env = &env;
  constexpr int kThreads = 8, kWrites = 100;
  {
    auto store = OpenStore(dir.path(), options);
    const uint64_t operations_before = env.operations();
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kWrites; ++i) {
          PutCounting(store.get(), "t" + std::to_string(t) + "-" + std::to_string(i), "v",
                      &failures);
        }
      });
    }
    for (auto& t : threads) t.join();
    REQUIRE(failures == 0);
    CHECK(*store->Revision() == kThreads * kWrites);
    // One write and one sync per group; groups of one would need twice as
    // many operations as transactions.
    CHECK(env.operations() - operations_before < 2 * kThreads * kWrites);
    CHECK(env.writes_over_unsynced() == 0);
  }
  // Everything acknowledged was synced: a power loss keeps all of it.
  REQUIRE(env.DropUnsyncedData().ok());
  auto store = OpenStore(dir.path());
  KeyListOptions all;
  all.limit = 10000;
  CHECK(store->ListKeys("main", all)->size() == kThreads * kWrites);
  CHECK(store->Check()->problems.empty());
}

TEST_CASE("a compaction of the same store gets the writer lock from busy writers") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  constexpr int kThreads = 4, kWrites = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        PutCounting(store.get(), "t" + std::to_string(t) + "-" + std::to_string(i % 20),
                    std::to_string(i), &failures);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::vector<Status> compactions;
  for (int i = 0; i < 3; ++i) compactions.push_back(store->Compact(CompactOptions{}).status());
  for (auto& t : threads) t.join();
  REQUIRE(failures == 0);
  for (const Status& s : compactions) CHECK(s.ok());
  CHECK(*store->Revision() == kThreads * kWrites);
  for (int t = 0; t < kThreads; ++t) {
    CHECK(ValueOf(store.get(), "t" + std::to_string(t) + "-9") == std::to_string(kWrites - 1));
  }
  store.reset();
  auto reopened = OpenStore(dir.path());
  CHECK(*reopened->Revision() == kThreads * kWrites);
  CHECK(reopened->Check()->problems.empty());
}

TEST_CASE("group commits are counted: transactions per group and each sync's duration") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 5; ++i) MustPut(store.get(), "k", std::to_string(i));
  GroupCommitStats one = store->GroupCommits();
  CHECK(one.groups == 5);
  CHECK(one.transactions == 5);
  CHECK(one.group_buckets[0] == 5);  // one transaction each
  CHECK(one.syncs == 5);
  CHECK(one.sync_seconds > 0);
  uint64_t synced = 0;
  for (uint64_t n : one.sync_buckets) synced += n;
  CHECK(synced <= 5);  // a sync slower than the last bound counts only in syncs

  // Eight threads at once: every transaction is in some group.
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        WriteBatch batch;
        batch.Put("t" + std::to_string(t), std::to_string(i));
        if (!store->Write(batch).ok()) return;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  GroupCommitStats many = store->GroupCommits();
  CHECK(many.transactions == 5 + 8 * 50);
  CHECK(many.groups <= many.transactions);
  CHECK(many.syncs == many.groups);
  uint64_t grouped = 0;
  for (uint64_t n : many.group_buckets) grouped += n;
  CHECK(grouped == many.groups);  // none above 128: there are only 8 writers

  Options none;
  none.sync = SyncMode::kNone;
  auto unsynced = OpenStore(dir.path(), none);
  MustPut(unsynced.get(), "k", "not synced");
  CHECK(unsynced->GroupCommits().groups == 1);
  CHECK(unsynced->GroupCommits().syncs == 0);
}

}  // namespace kvs::test
