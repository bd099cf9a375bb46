// Compaction and retention.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

#include "store/directory.h"
#include "tests/store/fault_env.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {
uint64_t DataBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("data.", 0) == 0) total += DataFileBytes(e.path());
  }
  return total;
}
}  // namespace

TEST_CASE("compaction with no rules keeps every value and every past revision") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<uint64_t> revisions;
  for (int i = 0; i < 50; ++i)
    revisions.push_back(MustPut(store.get(), "k", std::to_string(i)).revision);
  MustPut(store.get(), "other", "x");
  REQUIRE(store->CreateBranch("dev", "main").ok());
  MustPut(store.get(), "k", "dev-value", "dev");
  auto stats = store->Compact(CompactOptions());
  INFO(stats.status().ToString());
  REQUIRE(stats.ok());
  CHECK(stats->versions_dropped == 0);
  CHECK(stats->versions_kept == 52);
  // No byte count to compare: fifty writes in one log window take about
  // what the trees a compaction writes for them do (store/edit_log.h).
  for (int i = 0; i < 50; ++i) {
    CHECK(ValueOf(store.get(), "k", "main", ReadPoint::AtRevision(revisions[i])) ==
          std::to_string(i));
  }
  CHECK(ValueOf(store.get(), "k", "dev") == "dev-value");
  CHECK(store->Check()->ok());
  // Writes continue on the new file, and a reopen finds it.
  MustPut(store.get(), "after", "compaction");
  store.reset();
  store = OpenStore(dir.path());
  CHECK(ValueOf(store.get(), "after") == "compaction");
  CHECK(ValueOf(store.get(), "k") == "49");
  auto history = store->History(store->Get("main", "k")->winner.id, 0, 1000, false);
  CHECK(history->size() == 50);
  CHECK(store->Check()->ok());
}

TEST_CASE("a compaction writes its new file as it goes, not all at once from memory") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  // 40 MB of values, more than twice what the output holds in memory, and
  // more keys than the rebuilt trees take between flushes (32768), so the
  // branch tree and the global tree are written in several flushes.
  constexpr int kBig = 2000, kSmall = 35000;
  auto big_value = [](int i) {
    return std::string(20000, static_cast<char>('a' + i % 26)) + std::to_string(i);
  };
  for (int first = 0; first < kBig; first += 100) {
    WriteBatch b;
    for (int i = first; i < first + 100; ++i) b.Put("big/" + std::to_string(i), big_value(i));
    REQUIRE(store->Write(b).ok());
  }
  for (int first = 0; first < kSmall; first += 1000) {
    WriteBatch b;
    for (int i = first; i < first + 1000; ++i)
      b.Put("small/" + std::to_string(i), std::to_string(i));
    REQUIRE(store->Write(b).ok());
  }
  CompactOptions options;
  std::vector<uint64_t> written;  // the new file's size at each progress report
  options.progress = [&](uint64_t, uint64_t) {
    uint64_t size = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      if (e.path().extension() == ".compacting") size = e.file_size();
    }
    written.push_back(size);
  };
  auto stats = store->Compact(options);
  INFO(stats.status().ToString());
  REQUIRE(stats.ok());
  REQUIRE(written.size() >= 2);
  // At the first report 1024 big values are copied: most of them are in the
  // file already.
  CHECK(written.front() >= (uint64_t{12} << 20));
  CHECK(stats->versions_kept == kBig + kSmall);
  store.reset();
  store = OpenStore(dir.path());
  for (int i = 0; i < kBig; ++i)
    REQUIRE(ValueOf(store.get(), "big/" + std::to_string(i)) == big_value(i));
  for (int i = 0; i < kSmall; ++i) {
    REQUIRE(ValueOf(store.get(), "small/" + std::to_string(i)) == std::to_string(i));
  }
  KeyListOptions list;
  list.limit = kBig + kSmall + 1;
  auto keys = store->ListKeys("main", list);
  REQUIRE(keys.ok());
  CHECK(keys->size() == kBig + kSmall);
  auto report = store->Check();
  REQUIRE(report.ok());
  CHECK(report->ok());
}

TEST_CASE("a retention rule keeps the last N versions of keys under its prefix only") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 20; ++i) {
    WriteBatch b;
    b.Put("cache/x", std::to_string(i)).Put("keep/y", std::to_string(i));
    REQUIRE(b.writes.size() == 2);
    REQUIRE(store->Write(b).ok());
  }
  CompactOptions options;
  options.rules.push_back(RetentionRule{"cache/", 3, std::nullopt});
  auto stats = store->Compact(options);
  REQUIRE(stats.ok());
  CHECK(stats->versions_dropped == 17);
  auto cache = store->History(store->Get("main", "cache/x")->winner.id, 0, 100, true);
  auto keep = store->History(store->Get("main", "keep/y")->winner.id, 0, 100, true);
  REQUIRE(cache->size() == 3);
  CHECK(cache->back().value == "17");
  CHECK(keep->size() == 20);
  // The dropped past reads as missing; the kept past still reads.
  CHECK(ValueOf(store.get(), "cache/x", "main", ReadPoint::AtRevision(18)) == "17");
  CHECK(ValueOf(store.get(), "cache/x", "main", ReadPoint::AtRevision(5)) == "<missing>");
  CHECK(ValueOf(store.get(), "keep/y", "main", ReadPoint::AtRevision(5)) == "4");
  auto tails = store->Tails("cache/x");
  // The oldest kept version has lost its parent, so it is the key's tail now.
  REQUIRE(tails->size() == 1);
  CHECK(tails->front().id == cache->back().id);
  CHECK(store->Check()->ok());
}

TEST_CASE("a compaction drops the keys it is told to, whole, and keeps every other's history") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 10; ++i) {
    WriteBatch b;
    b.Put("gone/" + std::to_string(i % 3), std::to_string(i)).Put("kept", std::to_string(i));
    REQUIRE(store->Write(b).ok());
  }
  REQUIRE(store->CreateBranch("dev", "main").ok());
  MustPut(store.get(), "gone/0", "on dev", "dev");
  CompactOptions options;
  options.drop_key = [](std::string_view key) { return key.starts_with("gone/"); };
  auto stats = store->Compact(options);
  REQUIRE(stats.ok());
  CHECK(stats->versions_dropped == 11);
  CHECK(stats->versions_kept == 10);
  for (const char* branch : {"main", "dev"}) {
    for (int i = 0; i < 3; ++i) {
      CHECK(store->Get(branch, "gone/" + std::to_string(i)).status().IsNotFound());
    }
  }
  CHECK(store->Tails("gone/0")->empty());
  auto kept = store->History(store->Get("main", "kept")->winner.id, 0, 100, true);
  CHECK(kept->size() == 10);
  CHECK(ValueOf(store.get(), "kept", "main", ReadPoint::AtRevision(3)) == "2");
  CHECK(store->Check()->ok());
  // The key can be written again, from nothing.
  MustPut(store.get(), "gone/1", "back");
  CHECK(ValueOf(store.get(), "gone/1") == "back");
  CHECK(store->Check()->ok());
}

TEST_CASE("a compacted store larger than one block reopens and checks clean") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    for (int i = 0; i < 40; ++i) {
      WriteBatch b;
      for (int k = 0; k < 10; ++k) b.Put("k" + std::to_string(k), std::string(20000, 'a' + i % 26));
      REQUIRE(store->Write(b).ok());
    }
    auto stats = store->Compact(CompactOptions());
    REQUIRE(stats.ok());
    CHECK(stats->bytes_after > 4 * (1 << 20));  // several parts
  }
  auto store = OpenStore(dir.path());
  CHECK(store->recovery_info().dropped_tail_bytes == 0);
  CHECK(*store->Revision() == 40);
  CHECK(ValueOf(store.get(), "k3") == std::string(20000, 'a' + 39 % 26));
  CHECK(ValueOf(store.get(), "k3", "main", ReadPoint::AtRevision(2)) == std::string(20000, 'b'));
  auto report = store->Check();
  REQUIRE(report.ok());
  CHECK(report->problems.empty());
  CHECK(report->blocks == 1);
  CHECK(report->revisions == 41);  // revision 0, the store's creation, too
  CHECK(report->commits == 40);
}

TEST_CASE("a compaction writes once what branches' trees have alike") {
  // A main of 3,000 keys, and ten branches of it that each changed a key:
  // the copy-on-write trees share all but ten paths, and so must the
  // compacted ones, which are each rebuilt on their own.
  auto load_main = [](Store* store) {
    WriteBatch load;
    for (int i = 0; i < 3000; ++i) load.Put("key" + std::to_string(i), Filler("v", 60));
    REQUIRE(store->Write(load).ok());
  };
  uint64_t alone_bytes = 0;
  {
    TempDir alone;
    auto store = OpenStore(alone.path());
    load_main(store.get());
    REQUIRE(store->Compact(CompactOptions()).ok());
    alone_bytes = *store->DataBytes();
  }
  TempDir dir;
  auto store = OpenStore(dir.path());
  load_main(store.get());
  for (int b = 0; b < 10; ++b) {
    const std::string branch = "b" + std::to_string(b);
    REQUIRE(store->CreateBranch(branch, "main").ok());
    MustPut(store.get(), "key" + std::to_string(b * 299), "changed " + branch, branch);
  }
  for (int round = 0; round < 2; ++round) {
    INFO("compaction " << round + 1);
    REQUIRE(store->Compact(CompactOptions()).ok());
    // Written whole, each branch's tree would add about a third of the
    // store's size; shared, the ten trees add a few paths each.
    CHECK(*store->DataBytes() < alone_bytes * 11 / 10);
    auto diff = store->Diff("b3", ReadPoint::Latest(), "b7", ReadPoint::Latest());
    REQUIRE(diff.ok());
    REQUIRE(diff->size() == 2);
    CHECK((*diff)[0].key == "key2093");  // b7's key, then b3's, in byte order
    CHECK((*diff)[1].key == "key897");
    CHECK(ValueOf(store.get(), "key897", "b3") == "changed b3");
    CHECK(ValueOf(store.get(), "key897", "b7") == Filler("v", 60));
    CHECK(ValueOf(store.get(), "key2093", "b7") == "changed b7");
    CHECK(ValueOf(store.get(), "key2093", "main") == Filler("v", 60));
    auto report = store->Check();
    REQUIRE(report.ok());
    CHECK(report->problems.empty());
  }
}

TEST_CASE("after compaction a past revision's exact tree is gone, and says so") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  uint64_t r = MustPut(store.get(), "k", "1").revision;
  MustPut(store.get(), "k", "2");
  REQUIRE(store->Compact(CompactOptions()).ok());
  CHECK(store->CreateBranch("old", "main", ReadPoint::AtRevision(r)).status().code() ==
        Status::Code::kCompacted);
  CHECK(store->CreateBranch("now", "main").ok());
}

TEST_CASE("after compaction a branch's head commit still names its state") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  MustPut(store.get(), "k", "main's");
  REQUIRE(store->CreateBranch("dev", "main").ok());
  WriteBatch on_dev;
  on_dev.branch = "dev";
  on_dev.Put("k", "dev's");
  const WriteResult dev_head = *store->Write(on_dev);
  const uint64_t main_unchanged_since = MustPut(store.get(), "k", "main's last").revision;
  MustPut(store.get(), "other", "x");  // main changes, dev does not
  REQUIRE(store->Compact(CompactOptions()).ok());

  REQUIRE(store->CreateBranch("copy", "dev", ReadPoint::AtCommit(dev_head.commit)).ok());
  CHECK(ValueOf(store.get(), "k", "copy") == "dev's");
  CHECK(store->Diff("dev", ReadPoint::AtCommit(dev_head.commit), "dev", ReadPoint::Latest())
            ->empty());
  // main changed after main_unchanged_since: that state is gone.
  CHECK(store->CreateBranch("old", "main", ReadPoint::AtRevision(main_unchanged_since))
            .status()
            .code() == Status::Code::kCompacted);
}

TEST_CASE("another store object follows a compaction, for reads and for writes") {
  TempDir dir;
  auto first = OpenStore(dir.path());
  auto second = OpenStore(dir.path());
  for (int i = 0; i < 100; ++i)
    MustPut(first.get(), "k" + std::to_string(i % 10), std::to_string(i));
  uint64_t before = DataBytes(dir.path());
  REQUIRE(first->Compact(CompactOptions()).ok());
  CHECK(ValueOf(second.get(), "k9") == "99");
  MustPut(second.get(), "k9", "from-second");
  CHECK(ValueOf(first.get(), "k9") == "from-second");
  CHECK(DataBytes(dir.path()) < before);
  CHECK(second->Check()->ok());
}

TEST_CASE("a store object that slept through several compactions follows them all") {
  // kvs gc from cron beside an idle server: the server's store object still
  // holds data.1 while data.2 and data.3 come and go.
  TempDir dir;
  auto sleeper = OpenStore(dir.path());
  MustPut(sleeper.get(), "k", "before");
  for (int i = 0; i < 3; ++i) {
    auto compactor = OpenStore(dir.path());
    MustPut(compactor.get(), "k", "compaction " + std::to_string(i));
    REQUIRE(compactor->Compact(CompactOptions()).ok());
  }
  CHECK(ValueOf(sleeper.get(), "k") == "compaction 2");
  MustPut(sleeper.get(), "k", "after");
  CHECK(ValueOf(OpenStore(dir.path()).get(), "k") == "after");
  CHECK(sleeper->Check()->ok());
}

TEST_CASE("a writer that slept through compactions writes into the live file") {
  TempDir dir;
  auto sleeper = OpenStore(dir.path());
  MustPut(sleeper.get(), "k", "before");
  for (int i = 0; i < 2; ++i) REQUIRE(OpenStore(dir.path())->Compact(CompactOptions()).ok());
  // No read first: the write itself must find the live generation.
  MustPut(sleeper.get(), "k", "after");
  CHECK(ValueOf(OpenStore(dir.path()).get(), "k") == "after");
}

namespace {

// Runs test once, on a store whose compaction published data.2 but failed
// to end data.1 with its "moved" block (a crash there leaves the same),
// with a store object opened before, still holding data.1, that wrote k =
// "before".
void AfterAFailedMove(const std::function<void(const std::string& dir, Store* sleeper)>& test) {
  for (uint64_t n = 1;; ++n) {
    INFO("failing file operation " << n << " of the compaction");
    TempDir dir;
    auto sleeper = OpenStore(dir.path());
    MustPut(sleeper.get(), "k", "before");
    FaultEnv env(Env::Default());
    Options options;
    options.env = &env;
    env.FailAfter(n);
    Status failed = OpenStore(dir.path(), options)->Compact(CompactOptions()).status();
    REQUIRE(!failed.ok());  // the moved block is the last operation that can fail
    if (!std::filesystem::exists(dir.path() + "/data.000002")) continue;
    test(dir.path(), sleeper.get());
    return;
  }
}

}  // namespace

TEST_CASE("a compactor that failed before ending the old file leaves no writer behind") {
  // A later compaction removes data.1 and data.2; the sleeper must not
  // write into data.1.
  AfterAFailedMove([](const std::string& dir, Store* sleeper) {
    REQUIRE(OpenStore(dir)->Compact(CompactOptions()).ok());
    MustPut(sleeper, "k", "after");
    CHECK(ValueOf(OpenStore(dir).get(), "k") == "after");
    CHECK(ValueOf(sleeper, "k") == "after");
  });
}

TEST_CASE("a compactor that failed before ending the old file leaves no reader behind") {
  // Nobody who holds data.1 writes again: the next writes come from a
  // process that opens the store afresh, on data.2. A FastCGI worker that
  // only reads, still on data.1, must see them all the same.
  AfterAFailedMove([](const std::string& dir, Store* sleeper) {
    MustPut(OpenStore(dir).get(), "k", "after");
    CHECK(ValueOf(sleeper, "k") == "after");
    CHECK(sleeper->Check()->ok());
  });
}

// A crash that leaves data.1 beside the published data.2 left it there until
// the next compaction: as much disk again as the store, for as long as the
// automatic compaction took to come. Opening the store ends and removes it.
TEST_CASE("the file a crashed compactor replaced is removed by the next open") {
  AfterAFailedMove([](const std::string& dir, Store* sleeper) {
    REQUIRE(std::filesystem::exists(dir + "/data.000001"));
    auto opened = OpenStore(dir);
    CHECK_FALSE(std::filesystem::exists(dir + "/data.000001"));
    CHECK(ValueOf(opened.get(), "k") == "before");
    // The sleeper read data.1 until now: it follows the move.
    MustPut(sleeper, "k", "after");
    CHECK(ValueOf(opened.get(), "k") == "after");
    CHECK(opened->Check()->ok());
  });
}

TEST_CASE("a crashed compactor's unfinished file is removed by the next open, unless one runs") {
  TempDir dir;
  MustPut(OpenStore(dir.path()).get(), "k", "v");
  const std::string unfinished = dir.path() + "/data.000002.compacting";
  std::ofstream(unfinished) << "what a compactor had written when it crashed";
  {
    // A compaction running now is writing it: it stays.
    auto running = CompactionLock::Take(dir.path(), /*wait=*/false);
    REQUIRE(running.ok());
    CHECK(ValueOf(OpenStore(dir.path()).get(), "k") == "v");
    CHECK(std::filesystem::exists(unfinished));
  }
  CHECK(ValueOf(OpenStore(dir.path()).get(), "k") == "v");
  CHECK_FALSE(std::filesystem::exists(unfinished));
}

}  // namespace kvs::test
