// Compaction beside writers: what is committed while a compaction copies
// reaches the compacted file (store/compaction.cc's catch-up), and writers
// are not kept waiting for the copy.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

std::string Ids(const std::vector<Version>& versions) {
  std::string out;
  for (const Version& v : versions) out += v.id.Hex().substr(0, 16) + " ";
  return out;
}

// Everything a store shows of its contents, as text: branches with their
// keys, heads and values; every version with its parents, value, tails and
// children; each branch's head commit; the checkpoints. Two stores (or one
// store before and after a compaction) hold the same when their dumps are
// equal.
std::string Dump(Store* store) {
  std::string out;
  auto branches = store->ListBranches();
  REQUIRE(branches.ok());
  for (const BranchInfo& b : *branches) {
    out += "branch " + b.name + " head " + std::to_string(b.head_revision) + " commit " +
           b.head_commit.Hex() + "\n";
    if (!b.head_commit.IsZero()) {
      auto commit = store->GetCommit(b.head_commit);
      REQUIRE(commit.ok());
      out += "  commit keys";
      for (const std::string& k : commit->keys) out += " " + k;
      out += "\n";
    }
    KeyListOptions options;
    options.limit = 100000;
    options.include_deleted = true;
    options.with_values = true;
    auto keys = store->ListKeys(b.name, options);
    REQUIRE(keys.ok());
    for (const KeyState& k : *keys) {
      out += "  " + k.winner.key + " = " + (k.winner.deleted ? "<deleted>" : k.winner.value) +
             " heads " + Ids(k.heads) + "rev " + std::to_string(k.revision) + "\n";
    }
  }
  VersionListOptions all;
  all.limit = 100000;
  auto versions = store->ListVersions(all);
  REQUIRE(versions.ok());
  std::map<std::string, bool> keys;
  for (const Version& v : *versions) {
    auto full = store->GetVersion(v.id, true);
    REQUIRE(full.ok());
    out += "version " + v.id.Hex().substr(0, 16) + " " + v.key + " parents";
    for (const VersionId& p : full->parents) out += " " + p.Hex().substr(0, 16);
    out += " value " + full->value + " children ";
    auto children = store->Children(v.id);
    REQUIRE(children.ok());
    out += Ids(*children) + "\n";
    keys[v.key] = true;
  }
  for (const auto& [key, unused] : keys) {
    auto tails = store->Tails(key);
    REQUIRE(tails.ok());
    out += "tails " + key + " " + Ids(*tails) + "\n";
  }
  auto checkpoints = store->Checkpoints("");
  REQUIRE(checkpoints.ok());
  for (const auto& [peer, bytes] : *checkpoints) out += "checkpoint " + peer + " " + bytes + "\n";
  return out;
}

}  // namespace

TEST_CASE("what is written while a compaction copies is all in the compacted store") {
  TempDir dir;
  // With checkpoints every few writes, the id entries are in many runs
  // before the compaction, and the writes during it make runs and merge
  // some of the runs the compaction copies (store/id_runs.h).
  Options open;
  open.checkpoint_blocks = GENERATE(size_t{1024}, size_t{3});
  INFO("checkpoint_blocks " << open.checkpoint_blocks);
  auto store = OpenStore(dir.path(), open);
  // More than 1024 versions, so progress is reported before the copy ends.
  for (int i = 0; i < 1500; ++i) {
    MustPut(store.get(), "k" + std::to_string(i % 300), "v" + std::to_string(i));
  }
  const uint64_t early = MustPut(store.get(), "k1", "early").revision;
  REQUIRE(store->CreateBranch("gone", "main").ok());
  REQUIRE(store->CreateBranch("reset", "main").ok());
  const CommitId reset_to = MustPut(store.get(), "k2", "on reset", "reset").commit;
  MustPut(store.get(), "k2", "on reset, later", "reset");

  std::string expected;
  CompactOptions options;
  options.progress = [&](uint64_t done, uint64_t total) {
    if (!expected.empty() || done == total) return;
    // New keys, new versions of old keys, a delete, a fork, new branches
    // (one at an old state), a branch deleted, a reset, a checkpoint.
    for (int i = 0; i < 50; ++i) MustPut(store.get(), "new" + std::to_string(i), "n");
    MustPut(store.get(), "k3", "changed during compaction");
    WriteBatch remove;
    remove.Delete("k4");
    REQUIRE(store->Write(remove).ok());
    auto k5 = store->Get("main", "k5");
    REQUIRE(k5.ok());
    WriteBatch fork;
    fork.writes.push_back({"k5", "left", k5->winner.parents, std::nullopt, std::nullopt, false});
    fork.writes.push_back({"k6", "plain", std::nullopt, std::nullopt, std::nullopt, false});
    REQUIRE(store->Write(fork).ok());
    REQUIRE(store->CreateBranch("dev", "main").ok());
    MustPut(store.get(), "k7", "on dev", "dev");
    REQUIRE(store->CreateBranch("old", "main", ReadPoint::AtRevision(early)).ok());
    REQUIRE(store->DeleteBranch("gone").ok());
    REQUIRE(store->ResetBranch("reset", reset_to).ok());
    ReplicationBatch checkpoint;
    checkpoint.peer = "peer-a";
    checkpoint.checkpoint = "through 42";
    REQUIRE(store->ApplyReplicated(checkpoint).ok());
    expected = Dump(store.get());
  };
  auto stats = store->Compact(options);
  INFO(stats.status().ToString());
  REQUIRE(stats.ok());
  REQUIRE(!expected.empty());
  CHECK(stats->versions_dropped == 0);
  CHECK(Dump(store.get()) == expected);
  CHECK(ValueOf(store.get(), "k5") != "<missing>");
  CHECK(store->Get("main", "k5")->heads.size() == 2);
  CHECK(ValueOf(store.get(), "k2", "reset") == "on reset");
  CHECK(ValueOf(store.get(), "k1", "old") == "early");
  auto report = store->Check();
  REQUIRE(report.ok());
  for (const std::string& p : report->problems) INFO(p);
  CHECK(report->problems.empty());

  // The compacted file is what a fresh open finds, and writes go on there.
  store.reset();
  store = OpenStore(dir.path(), open);
  CHECK(Dump(store.get()) == expected);
  MustPut(store.get(), "after", "compaction");
  CHECK(ValueOf(store.get(), "after") == "compaction");
  CHECK(store->Check()->ok());
}

TEST_CASE("a head the rules dropped, made a head again during the compaction, is kept") {
  // A branch made meanwhile at an old state names versions the retention
  // rule was dropping: the catch-up cannot carry it, and the compaction is
  // made again from the newest state, holding the lock.
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 1100; ++i) MustPut(store.get(), "filler" + std::to_string(i), "f");
  MustPut(store.get(), "t/k", "one");
  const uint64_t second = MustPut(store.get(), "t/k", "two").revision;
  for (int i = 3; i <= 5; ++i) MustPut(store.get(), "t/k", std::to_string(i));
  CompactOptions options;
  options.rules.push_back({"t/", 1, std::nullopt, false, false});
  bool branched = false;
  options.progress = [&](uint64_t done, uint64_t total) {
    if (branched || done == total) return;
    REQUIRE(store->CreateBranch("old", "main", ReadPoint::AtRevision(second)).ok());
    branched = true;
  };
  auto stats = store->Compact(options);
  INFO(stats.status().ToString());
  REQUIRE(stats.ok());
  REQUIRE(branched);
  CHECK(ValueOf(store.get(), "t/k", "old") == "two");
  CHECK(ValueOf(store.get(), "t/k") == "5");
  CHECK(store->Check()->ok());
}

TEST_CASE("one compaction runs at a time; another asked for if idle says so") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto other = OpenStore(dir.path());
  for (int i = 0; i < 1100; ++i) MustPut(store.get(), "k" + std::to_string(i), "v");
  Status second;
  CompactOptions options;
  options.progress = [&](uint64_t done, uint64_t total) {
    if (done == total || !second.ok()) return;
    CompactOptions if_idle;
    if_idle.if_idle = true;
    second = other->Compact(if_idle).status();
  };
  REQUIRE(store->Compact(options).ok());
  CHECK(second.code() == Status::Code::kConflict);
  CHECK(second.message().find("another compaction") != std::string::npos);
  CompactOptions if_idle;
  if_idle.if_idle = true;
  CHECK(other->Compact(if_idle).ok());  // once the first is done
}

TEST_CASE("writers in other threads lose nothing to compactions running beside them") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 2000; ++i) MustPut(store.get(), "base" + std::to_string(i), "b");
  constexpr int kWriters = 2, kMaxWrites = 20000;
  std::atomic<bool> stop{false};
  std::vector<std::vector<std::string>> acknowledged(kWriters);
  std::vector<Status> failures(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kMaxWrites && !stop; ++i) {
        WriteBatch batch;
        std::string value = "w" + std::to_string(w) + "-" + std::to_string(i);
        batch.Put("writer" + std::to_string(w) + "/" + std::to_string(i % 100), value);
        auto written = store->Write(batch);
        if (!written.ok()) {
          failures[w] = written.status();
          return;
        }
        acknowledged[w].push_back(value);
      }
    });
  }
  std::vector<Status> compactions;
  for (int i = 0; i < 3; ++i) compactions.push_back(store->Compact(CompactOptions()).status());
  stop = true;
  for (std::thread& t : writers) t.join();
  for (const Status& s : compactions) CHECK(s.ok());
  for (int w = 0; w < kWriters; ++w) {
    INFO("writer " << w << ": " << failures[w].ToString());
    CHECK(failures[w].ok());
    // Every key's newest value is the last one acknowledged for it, and its
    // history holds every one acknowledged.
    std::map<std::string, std::vector<std::string>> by_key;
    for (size_t i = 0; i < acknowledged[w].size(); ++i) {
      by_key["writer" + std::to_string(w) + "/" + std::to_string(i % 100)].push_back(
          acknowledged[w][i]);
    }
    for (const auto& [key, values] : by_key) {
      auto state = store->Get("main", key);
      REQUIRE(state.ok());
      CHECK(ValueOf(store.get(), key) == values.back());
      auto history = store->History(state->winner.id, 0, 100000, true);
      REQUIRE(history.ok());
      CHECK(history->size() == values.size());
    }
  }
  auto report = store->Check();
  REQUIRE(report.ok());
  for (const std::string& p : report->problems) INFO(p);
  CHECK(report->problems.empty());
}

}  // namespace kvs::test
