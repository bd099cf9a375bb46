// Id runs (store/id_runs.h): a checkpoint of a store of format 4 moves the
// id entries of its global tree into a run, runs merge by tier, a
// compaction writes all of them as one run, and every lookup by id finds
// an entry wherever it is. A store of format 3 keeps them in its tree until
// upgraded.
#include "store/id_runs.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "store/coding.h"
#include "store/entries.h"
#include "store/format.h"
#include "store/record.h"
#include "tests/store/blocks.h"
#include "tests/store/fault_env.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

// A closed (or idle) store's data file, read whole.
class FileSource : public RecordSource {
 public:
  explicit FileSource(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    data_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  Result<RecordView> ReadRecord(uint64_t offset) const override {
    return ParseRecord(data_, 0, offset);
  }

 private:
  std::string data_;
};

// What the newest checkpoint's global tree holds: its id entries left in
// the tree, and its runs.
struct CheckpointState {
  size_t id_entries_in_tree = 0;
  std::vector<RunEntry> runs;
  uint64_t entries_in_runs = 0;
};

CheckpointState ReadCheckpoint(const std::string& dir, const std::string& file = "data.000001") {
  FileSource source(dir + "/" + file);
  uint64_t root = 0;
  for (const BlockInfo& b : Blocks(dir, file)) {
    if (b.kind == format::kKindTransaction) root = b.root;
  }
  CheckpointState state;
  TreeCursor cursor(&source, root);
  REQUIRE(cursor.Seek("").ok());
  while (cursor.Valid()) {
    if (IsIdKey(cursor.key())) ++state.id_entries_in_tree;
    REQUIRE(cursor.Next().ok());
  }
  auto runs = ReadRuns(source, root);
  REQUIRE(runs.ok());
  state.runs = *runs;
  for (const RunEntry& r : state.runs) state.entries_in_runs += r.entries;
  return state;
}

// Every version of the keys, by walking each key's history from its head.
std::vector<Version> AllVersions(Store* store, const std::vector<std::string>& keys) {
  std::vector<Version> out;
  for (const std::string& key : keys) {
    auto state = store->Get("main", key);
    REQUIRE(state.ok());
    auto history = store->History(state->heads.front().id, 0, 1000, false);
    REQUIRE(history.ok());
    out.insert(out.end(), history->begin(), history->end());
  }
  return out;
}

// Every lookup by id finds what the store holds, wherever its entry is:
// the versions of keys on main (versions of them), and all the store's
// versions (stored of them).
void CheckLookups(Store* store, const std::vector<std::string>& keys, size_t versions,
                  size_t stored) {
  std::vector<Version> all = AllVersions(store, keys);
  REQUIRE(all.size() == versions);
  VersionListOptions list;
  list.limit = stored + 10;
  auto listed = store->ListVersions(list);
  REQUIRE(listed.ok());
  CHECK(listed->size() == stored);
  for (const Version& v : all) {
    auto got = store->GetVersion(v.id, true);
    REQUIRE(got.ok());
    CHECK(got->key == v.key);
    auto resolved = store->ResolveVersion(v.id.Hex().substr(0, 16));
    REQUIRE(resolved.ok());
    CHECK(*resolved == v.id);
    if (!v.parents.empty()) {
      auto children = store->Children(v.parents.front());
      REQUIRE(children.ok());
      CHECK(std::any_of(children->begin(), children->end(),
                        [&](const Version& c) { return c.id == v.id; }));
    }
  }
  for (const std::string& key : keys) {
    auto tails = store->Tails(key);
    REQUIRE(tails.ok());
    CHECK(tails->size() == 1);
  }
  auto branch = store->GetBranch("main");
  REQUIRE(branch.ok());
  auto commit = store->GetCommit(branch->head_commit);
  REQUIRE(commit.ok());
  CHECK(commit->revision == branch->head_revision);
  auto at_commit = store->Get("main", keys.front(), ReadPoint::AtCommit(branch->head_commit));
  CHECK(at_commit.ok());
  auto report = store->Check();
  REQUIRE(report.ok());
  INFO((report->problems.empty() ? "" : report->problems.front()));
  CHECK(report->ok());
}

}  // namespace

TEST_CASE("Pending id entries are found as put and come out sorted, each key once") {
  PendingIds ids;
  ids.Put("V2", "two");
  ids.Put("C1", "one");
  CHECK(ids.Find("V3") == nullptr);
  REQUIRE(ids.Find("V2") != nullptr);
  CHECK(*ids.Find("V2") == "two");
  // Put again after the first lookup, and before another.
  ids.Put("V2", "two again");
  ids.Put("L1", "");
  CHECK(*ids.Find("V2") == "two again");
  REQUIRE(ids.Find("L1") != nullptr);
  CHECK(ids.size() == 4);
  // Keys alike in their first 8 bytes, or in all 16 the sort reads as
  // numbers, are ordered by the rest.
  ids.Put("T_long_key_b", "b");
  ids.Put("T_long_key_a", "a");
  ids.Put("T_a_key_longer_than_16_2", "2");
  ids.Put("T_a_key_longer_than_16_1", "1");
  IdEntries sorted = ids.TakeSorted();
  const IdEntries want{{"C1", "one"},
                       {"L1", ""},
                       {"T_a_key_longer_than_16_1", "1"},
                       {"T_a_key_longer_than_16_2", "2"},
                       {"T_long_key_a", "a"},
                       {"T_long_key_b", "b"},
                       {"V2", "two again"}};
  CHECK(sorted == want);
  CHECK(ids.size() == 0);
  CHECK(ids.Find("V2") == nullptr);
}

TEST_CASE("A transaction that is a checkpoint puts its id entries into its run, and reads them") {
  TempDir dir;
  std::vector<std::string> keys{"k0", "k1"};
  {
    auto store = OpenStore(dir.path());
    // Logged writes first, whose entries the checkpoint moves out of the tree.
    for (const std::string& key : keys) MustPut(store.get(), key, "logged");
    // 400 keys of another replica, three versions each, in one batch: each
    // version's parent is found among the entries the transaction added,
    // which are more than a logged transaction holds.
    std::vector<ReplicatedVersion> versions;
    for (int k = 0; k < 400; ++k) {
      keys.push_back("r" + std::to_string(k));
      std::vector<VersionId> parents;
      for (int i = 0; i < 3; ++i) {
        versions.push_back(RemoteVersion(keys.back(), std::to_string(i), parents, 100 + i));
        parents = {versions.back().id};
      }
    }
    ReplicationBatch batch;
    batch.versions = std::move(versions);
    auto applied = store->ApplyReplicated(batch);
    INFO(applied.status().ToString());
    REQUIRE(applied.ok());
    CheckpointState state = ReadCheckpoint(dir.path());
    CHECK(state.id_entries_in_tree == 0);
    // The logged writes' 2 versions, 2 tails and 2 commits; the batch's
    // 1,200 versions, 800 links, 400 tails and its commit.
    CHECK(state.entries_in_runs == 6 + 2401);
    CheckLookups(store.get(), keys, 1202, 1202);

    // A write of 600 new keys: 1,201 entries.
    WriteBatch load;
    for (int k = 0; k < 600; ++k) {
      keys.push_back("w" + std::to_string(k));
      load.Put(keys.back(), "loaded");
    }
    REQUIRE(store->Write(load).ok());
    CHECK(ReadCheckpoint(dir.path()).entries_in_runs == 6 + 2401 + 1201);
    CheckLookups(store.get(), keys, 1802, 1802);
  }
  auto reopened = OpenStore(dir.path());
  CheckLookups(reopened.get(), keys, 1802, 1802);
}

TEST_CASE("A checkpoint moves the id entries into a run, where every lookup finds them") {
  TempDir dir;
  Options options;
  options.checkpoint_blocks = 4;
  const std::vector<std::string> keys{"a", "b", "c"};
  {
    auto store = OpenStore(dir.path(), options);
    for (int i = 0; i < 10; ++i) MustPut(store.get(), keys[i % 3], std::to_string(i));
    // A merge names a commit that is in a run by now.
    REQUIRE(store->CreateBranch("dev", "main", ReadPoint::Latest()).ok());
    MustPut(store.get(), "d", "on dev", "dev");
    REQUIRE(store->Checkpoint().ok());
    WriteBatch merge;
    merge.Put("a", "merged");
    merge.merged_commits.push_back(store->GetBranch("dev")->head_commit);
    REQUIRE(store->Write(merge).ok());
    REQUIRE(store->Checkpoint().ok());
    CheckpointState state = ReadCheckpoint(dir.path());
    CHECK(state.id_entries_in_tree == 0);
    CHECK(!state.runs.empty());
    // 12 versions (11 of a, b and c on main, d on dev), their 8 links and
    // 4 tails, and the 12 commits (the empty store and the branch make none).
    CHECK(state.entries_in_runs == 12 + 8 + 4 + 12);
    CheckLookups(store.get(), keys, 11, 12);
  }
  auto reopened = OpenStore(dir.path(), options);
  CheckLookups(reopened.get(), keys, 11, 12);
  // Writes carry on, mid-window again, their entries in the tree.
  MustPut(reopened.get(), "a", "after");
  CheckLookups(reopened.get(), keys, 12, 13);
}

TEST_CASE("Runs merge once a tier holds enough of them, and a compaction makes one") {
  TempDir dir;
  Options options;
  options.checkpoint_blocks = 1;  // every transaction a checkpoint, each its own run
  const std::vector<std::string> keys{"a", "b"};
  auto store = OpenStore(dir.path(), options);
  std::set<size_t> run_counts;
  for (int i = 0; i < 30; ++i) {
    MustPut(store.get(), keys[i % 2], std::to_string(i));
    CheckpointState state = ReadCheckpoint(dir.path());
    CHECK(state.id_entries_in_tree == 0);
    CHECK(state.runs.size() < kRunFanIn);
    // A version, its commit, and a link or (the first of a key) a tail.
    CHECK(state.entries_in_runs == 3 * static_cast<uint64_t>(i + 1));
    run_counts.insert(state.runs.size());
  }
  CHECK(run_counts.count(1) == 1);  // right after a merge
  CheckLookups(store.get(), keys, 30, 30);

  REQUIRE(store->Compact(CompactOptions()).ok());
  CheckpointState compacted = ReadCheckpoint(dir.path(), "data.000002");
  CHECK(compacted.id_entries_in_tree == 0);
  REQUIRE(compacted.runs.size() == 1);
  CHECK(compacted.entries_in_runs == 90);
  CheckLookups(store.get(), keys, 30, 30);
  for (int i = 30; i < 40; ++i) MustPut(store.get(), keys[i % 2], std::to_string(i));
  CheckLookups(store.get(), keys, 40, 40);
}

TEST_CASE("Runs made and merged by checkpoints of one group commit hold every entry") {
  TempDir dir;
  Options options;
  options.checkpoint_blocks = 1;
  auto store = OpenStore(dir.path(), options);
  // Writers in several threads share group commits, whose checkpoints
  // merge runs that earlier checkpoints of the same group wrote, still in
  // the block being built.
  constexpr int kThreads = 4, kWrites = 60;
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        WriteBatch batch;
        batch.Put("t" + std::to_string(t), std::to_string(i));
        if (!store->Write(batch).ok()) ++failed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  REQUIRE(failed == 0);
  CheckLookups(store.get(), {"t0", "t1", "t2", "t3"}, kThreads * kWrites, kThreads * kWrites);
  auto reopened = OpenStore(dir.path(), options);
  CheckLookups(reopened.get(), {"t0", "t1", "t2", "t3"}, kThreads * kWrites, kThreads * kWrites);
}

// Bulk writes of kLoadKeys new keys, each a checkpoint (checkpoint_blocks
// 1) making a run of 2 x kLoadKeys + 1 entries (a version and a tail per
// key, and the commit): seven of them pass kSlicedMergeEntries, so the
// checkpoint that makes the eighth begins a sliced merge of the seven
// (store/id_runs.h).
constexpr int kLoadKeys = 1200;
constexpr uint64_t kLoadRunEntries = 2 * kLoadKeys + 1;
static_assert(7 * kLoadRunEntries >= kSlicedMergeEntries);
static_assert(7 * kLoadRunEntries < kSlicedMergeEntries + kMergeSliceEntries);

class SlicedMergeLoad {
 public:
  explicit SlicedMergeLoad(int keys_per_load = kLoadKeys) : keys_per_load_(keys_per_load) {}
  // Loads into store, times times; every 100th key goes to sample.
  void Load(Store* store, int times, std::vector<std::string>* sample) {
    for (int i = 0; i < times; ++i) {
      WriteBatch batch;
      for (int k = 0; k < keys_per_load_; ++k, ++next_) {
        std::string key = "load" + std::to_string(next_);
        if (next_ % 100 == 0) sample->push_back(key);
        batch.Put(key, "value " + key);
      }
      REQUIRE(store->Write(batch).ok());
    }
  }
  size_t keys() const { return static_cast<size_t>(next_); }

 private:
  int keys_per_load_;
  int next_ = 0;
};

// A store whose every transaction is a checkpoint, the loads into it, and
// a sample of their keys.
struct SlicedMergeTest {
  SlicedMergeTest() { options.checkpoint_blocks = 1; }
  TempDir dir;
  Options options;
  SlicedMergeLoad load;
  std::vector<std::string> sample;
};

uint64_t LargestRun(const CheckpointState& state) {
  uint64_t largest = 0;
  for (const RunEntry& r : state.runs) largest = std::max(largest, r.entries);
  return largest;
}

TEST_CASE_METHOD(
    SlicedMergeTest,
    "A large merge of runs is written a slice per checkpoint, and its run named at the last") {
  {
    auto store = OpenStore(dir.path(), options);
    load.Load(store.get(), 8, &sample);
    // The first slice is in the file, and no tree names it yet.
    CheckpointState begun = ReadCheckpoint(dir.path());
    CHECK(begun.runs.size() == 8);
    CHECK(LargestRun(begun) == kLoadRunEntries);
    CHECK(begun.entries_in_runs == 8 * kLoadRunEntries);
    CheckLookups(store.get(), sample, sample.size(), load.keys());

    // The next checkpoint writes the rest and names the run.
    MustPut(store.get(), "x", "1");
    sample.push_back("x");
    CheckpointState done = ReadCheckpoint(dir.path());
    CHECK(done.runs.size() == 3);
    CHECK(LargestRun(done) == 7 * kLoadRunEntries);
    CHECK(done.entries_in_runs == 8 * kLoadRunEntries + 3);
    CheckLookups(store.get(), sample, sample.size(), load.keys() + 1);
  }
  auto reopened = OpenStore(dir.path(), options);
  CheckLookups(reopened.get(), sample, sample.size(), load.keys() + 1);
}

TEST_CASE_METHOD(SlicedMergeTest,
                 "A sliced merge whose runs another writer merged first is dropped") {
  auto a = OpenStore(dir.path(), options);
  auto b = OpenStore(dir.path(), options);
  load.Load(a.get(), 8, &sample);
  // b knows nothing of a's merge of seven runs: it begins one of all eight.
  MustPut(b.get(), "x", "1");
  CHECK(ReadCheckpoint(dir.path()).runs.size() == 9);
  // a finishes its merge; b's runs are then gone, and b drops its merge.
  MustPut(a.get(), "y", "1");
  CheckpointState merged = ReadCheckpoint(dir.path());
  CHECK(merged.runs.size() == 4);
  CHECK(LargestRun(merged) == 7 * kLoadRunEntries);
  MustPut(b.get(), "z", "1");
  CheckpointState after = ReadCheckpoint(dir.path());
  CHECK(after.runs.size() == 5);
  CHECK(LargestRun(after) == 7 * kLoadRunEntries);
  CHECK(after.entries_in_runs == 8 * kLoadRunEntries + 9);
  for (const char* key : {"x", "y", "z"}) sample.push_back(key);
  CheckLookups(a.get(), sample, sample.size(), load.keys() + 3);
  CheckLookups(b.get(), sample, sample.size(), load.keys() + 3);
}

TEST_CASE_METHOD(SlicedMergeTest,
                 "A sliced merge under way when the store is compacted is dropped") {
  auto store = OpenStore(dir.path(), options);
  load.Load(store.get(), 8, &sample);
  REQUIRE(store->Compact(CompactOptions()).ok());
  // Its runs were in the file the compaction replaced.
  MustPut(store.get(), "x", "1");
  sample.push_back("x");
  CheckpointState state = ReadCheckpoint(dir.path(), "data.000002");
  CHECK(state.runs.size() == 2);
  CHECK(LargestRun(state) == 8 * kLoadRunEntries);
  CheckLookups(store.get(), sample, sample.size(), load.keys() + 1);
}

TEST_CASE_METHOD(SlicedMergeTest,
                 "A sliced merge whose slice was not written is dropped, and the store writes on") {
  FaultEnv env(Env::Default());
  options.env = &env;
  // Runs of 4,801 entries: seven of them take three slices.
  constexpr int kKeys = 2400;
  constexpr uint64_t kRunEntries = 2 * kKeys + 1;
  static_assert(7 * kRunEntries > kSlicedMergeEntries + kMergeSliceEntries);
  static_assert(8 * kRunEntries <= kSlicedMergeEntries + 2 * kMergeSliceEntries);
  load = SlicedMergeLoad(kKeys);
  auto store = OpenStore(dir.path(), options);
  load.Load(store.get(), 8, &sample);
  // The block with the second slice fails to be written and is rolled back.
  env.FailAfter(1);
  WriteBatch lost;
  lost.Put("lost", "1");
  CHECK_FALSE(store->Write(lost).ok());
  env.FailAfter(0);
  // The merge went with it: the next checkpoint begins another, of all
  // eight runs, which two more finish.
  for (const char* key : {"x", "y", "z"}) {
    MustPut(store.get(), key, "1");
    sample.push_back(key);
  }
  CheckpointState state = ReadCheckpoint(dir.path());
  CHECK(LargestRun(state) == 8 * kRunEntries);
  CHECK(state.entries_in_runs == 8 * kRunEntries + 9);
  CheckLookups(store.get(), sample, sample.size(), load.keys() + 3);
  auto reopened = OpenStore(dir.path());
  CheckLookups(reopened.get(), sample, sample.size(), load.keys() + 3);
}

TEST_CASE("A store of format 3 keeps its id entries in its tree until upgraded") {
  TempDir dir;
  CopyTestStore("store-0.4", dir.path());
  const std::vector<std::string> keys{"counter", "note"};
  {
    auto store = OpenStore(dir.path());
    CHECK(ValueOf(store.get(), "counter") == "39");
    MustPut(store.get(), "counter", "40");
    REQUIRE(store->Checkpoint().ok());
  }
  CheckpointState before = ReadCheckpoint(dir.path(), "data.000002");
  CHECK(before.runs.empty());
  CHECK(before.id_entries_in_tree > 0);

  auto upgraded = Store::Upgrade(dir.path());
  REQUIRE(upgraded.ok());
  CHECK(upgraded->from == 3);
  CHECK(upgraded->to == format::kStoreFormatVersion);
  auto store = OpenStore(dir.path());
  CheckLookups(store.get(), {"counter"}, 41, 42);
  MustPut(store.get(), "counter", "41");
  REQUIRE(store->Checkpoint().ok());
  CheckpointState after = ReadCheckpoint(dir.path(), "data.000002");
  CHECK(after.id_entries_in_tree == 0);
  CHECK(after.entries_in_runs == before.id_entries_in_tree + 3);
  CheckLookups(store.get(), {"counter"}, 42, 43);
  CHECK(ValueOf(store.get(), "note", "draft") == "draft note");
}

}  // namespace kvs::test
