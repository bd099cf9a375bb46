// Space: the compacted part of the data file and its garbage, counted by
// every block's header (store/format.h), and estimated for files written
// before blocks counted it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "store/coding.h"
#include "store/format.h"
#include "store/record.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

// Compacts the store, keeping all history, and checks that it freed the
// garbage counted before: all of it, but for the compacted trees' own
// layout, which differs a little from the one they replace. (A compaction
// packs its trees' nodes fuller than edits leave them, and its id entries
// into one run of large nodes, store/id_runs.h, while the part of the
// trees that a logged store keeps in memory counts at its edited size:
// after a bulk write, that is most of the tree, and the compaction frees up
// to 17% more than counted. When the count nets the trees in memory
// against compact edit records of about their size, what is left is small
// next to the file, and so is the error: up to a twentieth of the file.)
void CompactFreesCounted(Store* store, const SpaceInfo& counted) {
  auto stats = store->Compact(CompactOptions());
  REQUIRE(stats.ok());
  const double freed =
      static_cast<double>(stats->bytes_before) - static_cast<double>(stats->bytes_after);
  const double error = std::max(0.2 * freed, 0.05 * static_cast<double>(stats->bytes_before));
  INFO("counted " << counted.garbage_bytes << ", freed " << freed);
  CHECK(static_cast<double>(counted.garbage_bytes) > freed - error);
  CHECK(static_cast<double>(counted.garbage_bytes) < 1.1 * freed);
}

}  // namespace

TEST_CASE("Space tells the compacted part of the file and counts its garbage") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 3000; ++i) MustPut(store.get(), "k" + std::to_string(i % 500), "v");
  auto fresh = store->Space();
  REQUIRE(fresh.ok());
  CHECK(fresh->compacted_bytes == 0);
  CHECK(fresh->compacted_revision == 0);
  CHECK(fresh->data_bytes == *store->DataBytes());
  // Small writes over and over to the same keys: much of what they append
  // is edit records and tree nodes that later writes replace.
  CHECK(fresh->garbage_ratio() > 0.3);
  CHECK(fresh->garbage_ratio() < 1.0);

  CompactFreesCounted(store.get(), *fresh);
  auto compacted = store->Space();
  REQUIRE(compacted.ok());
  CHECK(compacted->compacted_bytes == compacted->data_bytes);
  CHECK(compacted->garbage_bytes == 0);
  CHECK(compacted->compacted_revision == *store->Revision());
  CHECK(compacted->compacted_time_ns > 0);

  // Past a checkpoint (store/log_window.h), which counts the nodes its
  // trees replace.
  const uint64_t revision = *store->Revision();
  for (int i = 0; i < 1200; ++i) MustPut(store.get(), "k" + std::to_string(i % 200), "w");
  auto later = store->Space();
  REQUIRE(later.ok());
  CHECK(later->compacted_bytes == compacted->data_bytes);
  CHECK(later->compacted_revision == revision);
  CHECK(later->garbage_bytes > 0);
  CHECK(later->garbage_bytes < later->data_bytes - later->compacted_bytes);
  // Another store object sees the same.
  auto other = OpenStore(dir.path())->Space();
  REQUIRE(other.ok());
  CHECK(other->compacted_bytes == later->compacted_bytes);
  CHECK(other->garbage_bytes == later->garbage_bytes);
}

TEST_CASE("A bulk write leaves next to no garbage, and a compaction frees what was counted") {
  // Before blocks counted it, the garbage of a big transaction was taken
  // for its tree nodes' share of its bytes (about half), and a store
  // compacted itself after every import to free almost nothing.
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriteBatch batch;
  for (int i = 0; i < 5000; ++i) batch.Put("key" + std::to_string(i), std::string(100, 'v'));
  REQUIRE(store->Write(batch).ok());
  auto space = store->Space();
  REQUIRE(space.ok());
  CHECK(space->garbage_ratio() < 0.01);

  // Single writes to those keys replace their paths: each one's garbage is
  // what its nodes replaced, and a compaction frees that much. Checkpointed
  // first: until then the new paths are in memory, and counted at their
  // edited size, which here is most of the tree and about 10% more than
  // the compaction writes them in.
  for (int i = 0; i < 500; ++i) MustPut(store.get(), "key" + std::to_string(i * 7), "w");
  REQUIRE(store->Checkpoint().ok());
  space = store->Space();
  REQUIRE(space.ok());
  CompactFreesCounted(store.get(), *space);
}

TEST_CASE("A failed transaction counts nothing of what it built") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 100; ++i) MustPut(store.get(), "k" + std::to_string(i), "v");
  auto before = store->Space();
  REQUIRE(before.ok());
  // A compare-and-set that fails before it builds anything, and a merge
  // that fails after its branch tree was written into the block: the edits
  // of both are dropped with their blocks.
  WriteBatch stale;
  stale.Put("k1", "x");
  stale.writes.back().expected_heads = std::vector<VersionId>();
  CHECK(store->Write(stale).status().IsConflict());
  WriteBatch merge;
  for (int i = 0; i < 50; ++i) merge.Put("k" + std::to_string(i), "y");
  merge.merged_commits.push_back(CommitId());
  merge.merged_commits.back().bytes.fill(7);
  CHECK(store->Write(merge).status().IsNotFound());
  auto after = store->Space();
  REQUIRE(after.ok());
  CHECK(after->garbage_bytes == before->garbage_bytes);
  CHECK(after->data_bytes == before->data_bytes);
}

TEST_CASE("Writers in several threads and store objects count together what they replace") {
  TempDir dir;
  auto first = OpenStore(dir.path());
  auto second = OpenStore(dir.path());
  for (int i = 0; i < 200; ++i) MustPut(first.get(), "k" + std::to_string(i), "v");
  // Group commits of several transactions, some of which fail a
  // compare-and-set after others in their group built on the same paths,
  // from two store objects (as two processes would) that take turns.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Store* store = t % 2 == 0 ? first.get() : second.get();
      for (int i = 0; i < 150; ++i) {
        WriteBatch batch;
        batch.Put("k" + std::to_string((i * 7 + t * 13) % 200), std::to_string(i));
        if (i % 5 == 0) batch.writes.back().expected_heads = std::vector<VersionId>();
        Result<WriteResult> r = store->Write(batch);
        CHECK((i % 5 == 0 ? r.status().IsConflict() : r.ok()));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  auto space = second->Space();
  REQUIRE(space.ok());
  CHECK(first->Space()->garbage_bytes == space->garbage_bytes);
  CompactFreesCounted(first.get(), *space);
}

TEST_CASE("Deleting a branch counts the nodes of its tree that no other branch shares") {
  TempDir dir;
  // Every transaction a checkpoint: a global tree kept in memory would be
  // netted against the count (Space), and after the bulk writes below it
  // outweighs it, hiding what the deletions add.
  Options options;
  options.checkpoint_blocks = 1;
  auto store = OpenStore(dir.path(), options);
  auto write_keys = [&](const std::string& branch, int from, int to) {
    WriteBatch batch;
    batch.branch = branch;
    for (int i = from; i < to; ++i) batch.Put("key" + std::to_string(i), branch);
    REQUIRE(store->Write(batch).ok());
  };
  // dev branches off while main is empty, so the two trees share nothing
  // (a write to a tree another branch shares counts the nodes it replaces,
  // which the other branch keeps: the one case the count is too high).
  REQUIRE(store->CreateBranch("dev", "main").ok());
  write_keys("main", 0, 3000);
  write_keys("dev", 0, 1000);

  // A branch that never moved shares its whole tree: deleting it leaves
  // only what the deletion's own transaction replaces.
  REQUIRE(store->CreateBranch("idle", "main").ok());
  const uint64_t before_idle = store->Space()->garbage_bytes;
  REQUIRE(store->DeleteBranch("idle").ok());
  CHECK(store->Space()->garbage_bytes - before_idle < 4096);

  // dev's whole tree is left to the compaction, and the count says so.
  const uint64_t before_dev = store->Space()->garbage_bytes;
  REQUIRE(store->DeleteBranch("dev").ok());
  auto space = store->Space();
  REQUIRE(space.ok());
  CHECK(space->garbage_bytes - before_dev > 50000);
  CompactFreesCounted(store.get(), *space);
}

TEST_CASE("Each block header carries the superseded bytes of its file through that block") {
  const std::array<uint8_t, 16> salt{};
  BlockBuilder builder(format::kFileHeaderSize, salt);
  builder.set_superseded(1000);
  auto header_field = [&](uint64_t block) {
    return DecodeFixed64(builder.bytes().data() + (block - builder.start()) + 24);
  };
  builder.BeginBlock();
  const uint64_t first = builder.block_start();
  builder.AddSuperseded(100);
  builder.EndBlock(1, 1, 0, format::kKindTransaction);
  CHECK(header_field(first) == (format::kSupersededCounted | 1100));
  // An aborted block's count goes with its bytes.
  builder.BeginBlock();
  builder.AddSuperseded(50);
  builder.AbortBlock();
  builder.BeginBlock();
  const uint64_t second = builder.block_start();
  builder.AddSuperseded(8);
  builder.EndBlock(2, 2, 0, format::kKindTransaction);
  CHECK(header_field(second) == (format::kSupersededCounted | 1108));
}

TEST_CASE("A store that kvs 0.1 wrote estimates its garbage, then counts on from there") {
  TempDir dir;
  CopyTestStore("store-0.1", dir.path());  // written by kvs 0.1
  auto store = OpenStore(dir.path());
  auto check = store->Check();
  REQUIRE(check.ok());
  CHECK(check->ok());
  CHECK(ValueOf(store.get(), "counter") == "59");
  CHECK(ValueOf(store.get(), "note", "draft") == "draft note");

  // Its blocks carry no count: the estimate from the newest blocks stands in.
  auto old = store->Space();
  REQUIRE(old.ok());
  CHECK(old->compacted_bytes > 0);
  CHECK(old->garbage_bytes > 0);
  CHECK(old->garbage_bytes < old->data_bytes - old->compacted_bytes);

  // New blocks count, starting from that estimate.
  for (int i = 0; i < 20; ++i) MustPut(store.get(), "counter", std::to_string(100 + i));
  auto counted = store->Space();
  REQUIRE(counted.ok());
  CHECK(counted->garbage_bytes > old->garbage_bytes);
  CHECK(counted->garbage_bytes - old->garbage_bytes <= counted->data_bytes - old->data_bytes);
  CHECK(OpenStore(dir.path())->Space()->garbage_bytes == counted->garbage_bytes);

  auto stats = store->Compact(CompactOptions());
  REQUIRE(stats.ok());
  CHECK(store->Space()->garbage_bytes == 0);
  CHECK(ValueOf(store.get(), "counter") == "119");
  CHECK(ValueOf(store.get(), "counter", "main", ReadPoint::AtRevision(1)) == "0");
  CHECK(store->Check()->ok());
}

}  // namespace kvs::test
