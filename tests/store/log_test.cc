// Logged transactions (store/log_window.h): a transaction's tree edits
// written as an edit record and its nodes kept in memory until a
// checkpoint; what other store objects, a reopened store and reads of past
// revisions make of them; stores of format version 1, which stay unlogged,
// and of format version 2, which log only the global tree's edits.
#include <catch2/catch.hpp>
#include <vector>

#include "store/format.h"
#include "tests/store/blocks.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

// What a store shows of keys k0..k{n-1} on main.
std::vector<std::string> Values(Store* store, int n, const ReadPoint& at = ReadPoint::Latest()) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(ValueOf(store, "k" + std::to_string(i), "main", at));
  return out;
}

// Check's report on the store, which must find no problem (the first one
// it finds is shown).
CheckReport CheckClean(Store* store) {
  auto report = store->Check();
  REQUIRE(report.ok());
  INFO((report->problems.empty() ? std::string() : report->problems.front()));
  CHECK(report->ok());
  return *report;
}

}  // namespace

TEST_CASE("Transactions are logged between checkpoints, which come every checkpoint_blocks") {
  TempDir dir;
  Options options;
  options.checkpoint_blocks = 4;
  {
    auto store = OpenStore(dir.path(), options);
    for (int i = 0; i < 10; ++i) MustPut(store.get(), "k" + std::to_string(i % 3), "v");
  }
  std::vector<BlockInfo> blocks = Blocks(dir.path());
  REQUIRE(blocks.size() == 11);  // the empty store's, then one per write
  CHECK(blocks[0].kind == format::kKindTransaction);
  uint64_t checkpoint = blocks[0].offset;
  size_t logged_in_a_row = 0, checkpoints = 0;
  for (size_t i = 1; i < blocks.size(); ++i) {
    if (blocks[i].kind == format::kKindTransaction) {
      CHECK(logged_in_a_row == 3);
      checkpoint = blocks[i].offset;
      logged_in_a_row = 0;
      ++checkpoints;
    } else {
      REQUIRE(blocks[i].kind == format::kKindLogged);
      CHECK(blocks[i].root == checkpoint);  // its base
      ++logged_in_a_row;
    }
  }
  CHECK(checkpoints == 2);
  auto store = OpenStore(dir.path(), options);
  CHECK(Values(store.get(), 3) == std::vector<std::string>{"v", "v", "v"});
  CheckClean(store.get());
}

TEST_CASE("Another store object, and the store reopened, replay the log to the same state") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto other = OpenStore(dir.path());
  MustPut(other.get(), "k0", "before");  // the other object knows the window from the start
  for (int i = 0; i < 40; ++i)
    MustPut(store.get(), "k" + std::to_string(i % 20), std::to_string(i));
  REQUIRE(store->CreateBranch("dev", "main", ReadPoint::Latest()).ok());
  MustPut(store.get(), "k1", "on dev", "dev");
  WriteBatch gone;
  gone.Delete("k2");
  REQUIRE(store->Write(gone).ok());
  std::vector<std::string> expected = Values(store.get(), 20);
  CHECK(expected[2] == "<deleted>");
  CHECK(Values(other.get(), 20) == expected);
  CHECK(ValueOf(other.get(), "k1", "dev") == "on dev");
  // Writes from the other object go on from what it replayed.
  MustPut(other.get(), "k3", "from the other");
  expected[3] = "from the other";
  CHECK(Values(store.get(), 20) == expected);
  store.reset();
  other.reset();
  auto reopened = OpenStore(dir.path());
  CHECK(Values(reopened.get(), 20) == expected);
  CHECK(ValueOf(reopened.get(), "k1", "dev") == "on dev");
  std::vector<BlockInfo> blocks = Blocks(dir.path());
  CHECK(blocks.back().kind == format::kKindLogged);
  CheckClean(reopened.get());
}

TEST_CASE("Two store objects writing by turns each build on the other's writes") {
  // Each object's writer keeps its global tree writer between writes
  // (LogWindow::KeepWriter); a write of the other object in between must
  // make it start again from the tree the log gives.
  TempDir dir;
  auto a = OpenStore(dir.path());
  auto b = OpenStore(dir.path());
  std::vector<std::string> expected(8);
  for (int i = 0; i < 24; ++i) {
    Store* writer = (i / 3) % 2 == 0 ? a.get() : b.get();  // three writes each in turn
    const int key = i % 8;
    expected[key] = "w" + std::to_string(i);
    MustPut(writer, "k" + std::to_string(key), expected[key]);
  }
  CHECK(Values(a.get(), 8) == expected);
  CHECK(Values(b.get(), 8) == expected);
  a.reset();
  b.reset();
  auto reopened = OpenStore(dir.path());
  CHECK(Values(reopened.get(), 8) == expected);
  CheckClean(reopened.get());
}

TEST_CASE("A logged block holds no tree node: branch tree edits are logged too") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  MustPut(store.get(), "k0", "v");
  REQUIRE(store->Checkpoint().ok());
  REQUIRE(store->CreateBranch("dev", "main", ReadPoint::Latest()).ok());
  const size_t from = Blocks(dir.path()).size();
  uint64_t third = 0;
  for (int i = 0; i < 6; ++i) {
    uint64_t revision =
        MustPut(store.get(), "k" + std::to_string(i % 3), std::to_string(i), i % 2 ? "dev" : "main")
            .revision;
    if (i == 3) third = revision;  // dev: k0 "3", k1 "1"
  }
  std::vector<BlockInfo> blocks = Blocks(dir.path());
  REQUIRE(blocks.size() == from + 6);
  for (size_t i = from; i < blocks.size(); ++i) {
    CHECK(blocks[i].kind == format::kKindLogged);
    CHECK(blocks[i].record_types == "vcE");  // the version, the commit (compact), the edits
  }
  // A branch made from one whose tree is only in memory is logged as a
  // copy of it (op 4): still O(1).
  REQUIRE(store->CreateBranch("dev2", "dev", ReadPoint::Latest()).ok());
  blocks = Blocks(dir.path());
  CHECK(blocks.back().kind == format::kKindLogged);
  CHECK(blocks.back().record_types == "E");
  MustPut(store.get(), "k1", "on dev2", "dev2");
  CHECK(Blocks(dir.path()).back().record_types == "vcE");
  // One made from such a tree as it was at a past revision cannot be
  // logged: that transaction is a checkpoint, and writes the trees the
  // window changed.
  REQUIRE(store->CreateBranch("dev3", "dev", ReadPoint::AtRevision(third)).ok());
  blocks = Blocks(dir.path());
  CHECK(blocks.back().kind == format::kKindTransaction);
  CHECK(blocks.back().record_types.find('E') == std::string::npos);

  auto fresh = OpenStore(dir.path());
  CHECK(Values(fresh.get(), 3) == std::vector<std::string>{"0", "4", "2"});
  CHECK(ValueOf(fresh.get(), "k0", "dev") == "3");
  CHECK(ValueOf(fresh.get(), "k1", "dev") == "1");
  CHECK(ValueOf(fresh.get(), "k2", "dev") == "5");
  CHECK(ValueOf(fresh.get(), "k1", "dev2") == "on dev2");
  CHECK(ValueOf(fresh.get(), "k2", "dev2") == "5");
  CHECK(ValueOf(fresh.get(), "k0", "dev3") == "3");
  CHECK(ValueOf(fresh.get(), "k1", "dev3") == "1");
  CHECK(ValueOf(fresh.get(), "k2", "dev3") == "<missing>");
  CheckClean(fresh.get());
}

TEST_CASE("Branches edited in one window are read back at every revision by a fresh object") {
  TempDir dir;
  Options options;
  options.checkpoint_blocks = 16;
  auto store = OpenStore(dir.path(), options);
  REQUIRE(store->CreateBranch("side", "main", ReadPoint::Latest()).ok());
  std::vector<uint64_t> revisions;
  std::vector<std::vector<std::string>> main_states, side_states;
  for (int i = 0; i < 40; ++i) {
    const std::string branch = i % 3 == 0 ? "side" : "main";
    revisions.push_back(
        MustPut(store.get(), "k" + std::to_string(i % 4), std::to_string(i), branch).revision);
    main_states.push_back(Values(store.get(), 4));
    std::vector<std::string> side;
    for (int k = 0; k < 4; ++k)
      side.push_back(ValueOf(store.get(), "k" + std::to_string(k), "side"));
    side_states.push_back(side);
  }
  auto fresh = OpenStore(dir.path(), options);
  for (size_t i = 0; i < revisions.size(); ++i) {
    const ReadPoint at = ReadPoint::AtRevision(revisions[i]);
    INFO("revision " << revisions[i]);
    CHECK(Values(fresh.get(), 4, at) == main_states[i]);
    for (int k = 0; k < 4; ++k) {
      CHECK(ValueOf(fresh.get(), "k" + std::to_string(k), "side", at) == side_states[i][k]);
    }
    auto diff = fresh->Diff("main", at, "side", at);
    REQUIRE(diff.ok());
    size_t differ = 0;
    for (int k = 0; k < 4; ++k) differ += main_states[i][k] != side_states[i][k];
    CHECK(diff->size() == differ);
  }
  CheckClean(fresh.get());
}

TEST_CASE("The exact states of past revisions inside and before the log are read back") {
  TempDir dir;
  Options options;
  options.checkpoint_blocks = 8;
  auto store = OpenStore(dir.path(), options);
  std::vector<uint64_t> revisions;
  std::vector<std::vector<std::string>> states;
  for (int i = 0; i < 30; ++i) {
    revisions.push_back(
        MustPut(store.get(), "k" + std::to_string(i % 5), std::to_string(i)).revision);
    states.push_back(Values(store.get(), 5));
  }
  // A branch made at each past revision holds that revision's state: its
  // tree is found by replaying the log up to it, in this object's windows
  // and, for a fresh object, in windows it has to build.
  auto fresh = OpenStore(dir.path(), options);
  for (size_t i = 0; i < revisions.size(); i += 3) {
    const std::string name = "at" + std::to_string(revisions[i]);
    REQUIRE(store->CreateBranch(name, "main", ReadPoint::AtRevision(revisions[i])).ok());
    for (int k = 0; k < 5; ++k) {
      CHECK(ValueOf(fresh.get(), "k" + std::to_string(k), name) == states[i][k]);
    }
    auto diff = fresh->Diff("main", ReadPoint::AtRevision(revisions[i]), name, ReadPoint::Latest());
    REQUIRE(diff.ok());
    CHECK(diff->empty());
  }
  auto diff = fresh->Diff("main", ReadPoint::AtRevision(revisions[4]), "main",
                          ReadPoint::AtRevision(revisions[6]));
  REQUIRE(diff.ok());
  REQUIRE(diff->size() == 2);  // k0 and k1 written at i = 5 and 6
  CHECK((*diff)[0].key == "k0");
  CHECK((*diff)[1].key == "k1");
}

TEST_CASE("Checkpoint writes the state the log left, as a block of the same revision") {
  TempDir dir;
  Options options;
  options.checkpoint_blocks = 100;
  auto store = OpenStore(dir.path(), options);
  auto other = OpenStore(dir.path(), options);  // reads all along
  std::vector<uint64_t> revisions;
  std::vector<std::vector<std::string>> states;
  for (int i = 0; i < 12; ++i) {
    revisions.push_back(
        MustPut(store.get(), "k" + std::to_string(i % 4), std::to_string(i)).revision);
    states.push_back(Values(store.get(), 4));
  }
  const uint64_t revision = revisions.back();
  const size_t logged = Blocks(dir.path()).size();
  REQUIRE(store->Checkpoint().ok());
  std::vector<BlockInfo> blocks = Blocks(dir.path());
  REQUIRE(blocks.size() == logged + 1);
  CHECK(blocks.back().kind == format::kKindTransaction);
  CHECK(blocks.back().revision == revision);
  CHECK(*store->Revision() == revision);
  CHECK(*other->Revision() == revision);
  CHECK(Values(other.get(), 4) == states.back());
  // Nothing is logged since: nothing to write.
  REQUIRE(other->Checkpoint().ok());
  CHECK(Blocks(dir.path()).size() == blocks.size());

  // The next write logs against the new checkpoint, from either object.
  MustPut(other.get(), "k0", "after");
  blocks = Blocks(dir.path());
  CHECK(blocks.back().kind == format::kKindLogged);
  CHECK(blocks.back().root == blocks[blocks.size() - 2].offset);
  CHECK(blocks.back().revision == revision + 1);
  CHECK(ValueOf(store.get(), "k0") == "after");

  // The states before it are still replayed from the window they were in.
  auto fresh = OpenStore(dir.path(), options);
  for (size_t i = 0; i < revisions.size(); i += 2) {
    const std::string name = "at" + std::to_string(revisions[i]);
    REQUIRE(fresh->CreateBranch(name, "main", ReadPoint::AtRevision(revisions[i])).ok());
    for (int k = 0; k < 4; ++k) {
      CHECK(ValueOf(fresh.get(), "k" + std::to_string(k), name) == states[i][k]);
    }
  }
  CHECK(CheckClean(fresh.get()).revisions == *fresh->Revision() + 1);
}

TEST_CASE("A checkpoint written while a compaction runs leaves the compacted store whole") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto other = OpenStore(dir.path());
  for (int i = 0; i < 10; ++i) MustPut(store.get(), "k" + std::to_string(i % 3), std::to_string(i));
  const std::vector<std::string> expected = Values(store.get(), 3);
  CompactOptions compact;
  bool checkpointed = false;
  compact.progress = [&](uint64_t, uint64_t) {
    if (!checkpointed) checkpointed = other->Checkpoint().ok();
  };
  REQUIRE(store->Compact(compact).ok());
  CHECK(checkpointed);
  CHECK(Values(OpenStore(dir.path()).get(), 3) == expected);
  CheckClean(store.get());
}

TEST_CASE("A logged write appends much less than a checkpoint") {
  // The global tree's paths to a write's version, link, commit, revision and
  // branch entries are what a checkpoint writes for each transaction; a
  // logged one writes its edits instead, and the next checkpoint writes the
  // nodes once for all the transactions in between.
  auto bytes_of = [](size_t checkpoint_blocks) {
    TempDir dir;
    Options options;
    options.checkpoint_blocks = checkpoint_blocks;
    options.sync = SyncMode::kNone;
    auto store = OpenStore(dir.path(), options);
    WriteBatch load;
    for (int i = 0; i < 2000; ++i) load.Put("k" + std::to_string(i), "v");
    REQUIRE(store->Write(load).ok());
    const uint64_t before = *store->DataBytes();
    for (int i = 0; i < 300; ++i) MustPut(store.get(), "k" + std::to_string(i * 7 % 2000), "w");
    return *store->DataBytes() - before;
  };
  const uint64_t checkpointed = bytes_of(1), logged = bytes_of(1024);
  INFO("checkpointed " << checkpointed << ", logged " << logged);
  CHECK(logged < checkpointed / 2);
}

TEST_CASE("A store of format version 1 is read and written without logged blocks") {
  TempDir dir;
  CopyTestStore("store-0.1", dir.path());
  const size_t old_blocks = Blocks(dir.path(), "data.000002").size();
  {
    auto store = OpenStore(dir.path());
    for (int i = 0; i < 5; ++i) MustPut(store.get(), "new" + std::to_string(i), "v");
    CHECK(ValueOf(store.get(), "counter") == "59");
  }
  std::vector<BlockInfo> blocks = Blocks(dir.path(), "data.000002");
  REQUIRE(blocks.size() == old_blocks + 5);
  for (size_t i = old_blocks; i < blocks.size(); ++i) {
    CHECK(blocks[i].kind == format::kKindTransaction);
  }

  // Upgraded, it logs the next writes, on the same file.
  auto upgraded = Store::Upgrade(dir.path());
  REQUIRE(upgraded.ok());
  CHECK(upgraded->from == 1);
  CHECK(upgraded->to == format::kStoreFormatVersion);
  {
    auto store = OpenStore(dir.path());
    for (int i = 0; i < 5; ++i) MustPut(store.get(), "newer" + std::to_string(i), "v");
    CHECK(ValueOf(store.get(), "new4") == "v");
    CheckClean(store.get());
  }
  blocks = Blocks(dir.path(), "data.000002");
  REQUIRE(blocks.size() == old_blocks + 10);
  for (size_t i = old_blocks + 5; i < blocks.size(); ++i) {
    CHECK(blocks[i].kind == format::kKindLogged);
    CHECK(blocks[i].root == blocks[old_blocks + 4].offset);
  }
}

TEST_CASE("A store of format version 2 logs only its global tree's edits until upgraded") {
  TempDir dir;
  CopyTestStore("store-0.3", dir.path());
  const size_t old_blocks = Blocks(dir.path(), "data.000002").size();
  {
    auto store = OpenStore(dir.path());
    CHECK(ValueOf(store.get(), "counter") == "39");
    CHECK(ValueOf(store.get(), "note", "draft") == "draft note");
    MustPut(store.get(), "counter", "40");
    MustPut(store.get(), "note", "second", "draft");
  }
  std::vector<BlockInfo> blocks = Blocks(dir.path(), "data.000002");
  REQUIRE(blocks.size() == old_blocks + 2);
  for (size_t i = old_blocks; i < blocks.size(); ++i) {
    CHECK(blocks[i].kind == format::kKindLogged);
    CHECK(blocks[i].record_types.find('L') != std::string::npos);  // the branch tree's path
  }

  auto upgraded = Store::Upgrade(dir.path());
  REQUIRE(upgraded.ok());
  CHECK(upgraded->from == 2);
  CHECK(upgraded->to == format::kStoreFormatVersion);
  {
    auto store = OpenStore(dir.path());
    MustPut(store.get(), "counter", "41");
    MustPut(store.get(), "note", "third", "draft");
  }
  blocks = Blocks(dir.path(), "data.000002");
  REQUIRE(blocks.size() == old_blocks + 4);
  for (size_t i = old_blocks + 2; i < blocks.size(); ++i) {
    CHECK(blocks[i].kind == format::kKindLogged);
    CHECK(blocks[i].record_types == "vcE");
  }
  auto store = OpenStore(dir.path());
  CHECK(ValueOf(store.get(), "counter") == "41");
  CHECK(ValueOf(store.get(), "note", "draft") == "third");
  CHECK(ValueOf(store.get(), "counter", "main", ReadPoint::AtRevision(*store->Revision() - 2)) ==
        "40");
  CheckClean(store.get());
}

}  // namespace kvs::test
