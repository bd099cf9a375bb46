// Retention beyond keep-last: protected prefixes, and the size bound that
// drops the least recently read keys of evictable prefixes.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "store/read_clock.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

std::string Key(const std::string& prefix, int i) {
  return prefix + (i < 10 ? "0" : "") + std::to_string(i);
}

// A cache-like prefix (keeping keep_last versions of each key, or all).
RetentionRule Evictable(const std::string& prefix, std::optional<uint64_t> keep_last) {
  RetentionRule rule;
  rule.prefix = prefix;
  rule.keep_last = keep_last;
  rule.evictable = true;
  return rule;
}

RetentionRule Protected(const std::string& prefix) {
  RetentionRule rule;
  rule.prefix = prefix;
  rule.protect = true;
  return rule;
}

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

size_t HistoryLength(Store* store, const std::string& key) {
  auto head = store->Get("main", key);
  REQUIRE(head.ok());
  auto history = store->History(head->winner.id, 0, 1000, false);
  REQUIRE(history.ok());
  return history->size();
}

}  // namespace

TEST_CASE("the read clock keeps the newest read per key, shared by every mapping") {
  TempDir dir;
  auto clock = ReadClock::Open(dir.path());
  auto other = ReadClock::Open(dir.path());  // as another process would map it
  CHECK(clock->LastRead("never") == 0);
  clock->Touch("k", 5'000'000'000);
  CHECK(other->LastRead("k") == 5'000'000'000);
  other->Touch("k", 4'000'000'000);  // older: no move back
  CHECK(clock->LastRead("k") == 5'000'000'000);
  clock->Touch("k", 7'123'456'789);  // kept in whole milliseconds
  CHECK(other->LastRead("k") == 7'123'000'000);
  CHECK(clock->LastRead("other key") == 0);
}

TEST_CASE("a read clock that cannot map its file records nothing and reads as never") {
  auto clock = ReadClock::Open("/nonexistent/kvs-read-clock-test");
  clock->Touch("k", 5'000'000'000);
  CHECK(clock->LastRead("k") == 0);
}

TEST_CASE("the size bound drops the least recently read cache keys, down to the low-water mark") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  constexpr size_t kValue = 4000;
  // 20 cache keys written in order, then 5 protected keys with 3 versions
  // each, and a key under no rule with 10.
  for (int i = 0; i < 20; ++i) {
    MustPut(store.get(), Key("cache/", i), Filler(Key("cache/", i), kValue));
    SleepMs(2);
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5; ++i) {
      MustPut(store.get(), Key("keep/", i),
              Filler(Key("keep/", i) + std::to_string(round), kValue));
    }
  }
  for (int round = 0; round < 10; ++round) MustPut(store.get(), "plain", std::to_string(round));
  // Reads make the first five cache keys the most recently used, in order.
  for (int i = 0; i < 5; ++i) {
    SleepMs(2);
    REQUIRE(store->Get("main", Key("cache/", i)).ok());
  }
  // Least recently used first: 05..19 by write time, then 00..04 by read.
  std::vector<std::string> lru;
  for (int i = 5; i < 20; ++i) lru.push_back(Key("cache/", i));
  for (int i = 0; i < 5; ++i) lru.push_back(Key("cache/", i));

  CompactOptions options;
  options.rules = {Evictable("cache/", 1), Protected("keep/")};
  // What is kept without eviction, 20 + 15 values of 4 kB and the trees,
  // takes about 160 kB.
  const uint64_t low_water = 120'000;
  options.size_bound = SizeBound{130'000, low_water};
  auto stats = store->Compact(options);
  INFO(stats.status().ToString());
  REQUIRE(stats.ok());
  CHECK_FALSE(stats->above_low_water);
  CHECK(stats->bytes_after <= low_water);
  // No more than needed: keeping the last key it dropped would pass the mark.
  CHECK(stats->bytes_after + kValue > low_water);
  // Exactly the least recently used, in that order; none it read.
  const std::vector<std::string>& evicted = stats->evicted_keys;
  REQUIRE(!evicted.empty());
  INFO("before " << stats->bytes_before << " after " << stats->bytes_after);
  REQUIRE(evicted.size() <= 15);
  CHECK(evicted == std::vector<std::string>(lru.begin(), lru.begin() + evicted.size()));
  for (size_t i = 0; i < lru.size(); ++i) {
    INFO(lru[i]);
    bool dropped = i < evicted.size();
    auto got = store->Get("main", lru[i]);
    CHECK(got.status().IsNotFound() == dropped);
    if (!dropped) CHECK(got->winner.value == Filler(lru[i], kValue));
  }
  for (int i = 0; i < 5; ++i) CHECK(HistoryLength(store.get(), Key("keep/", i)) == 3);
  CHECK(HistoryLength(store.get(), "plain") == 10);  // no rule: all history
  CHECK(store->Check()->ok());
  CHECK(*store->DataBytes() == stats->bytes_after);

  // Under the bound, nothing is dropped.
  auto again = store->Compact(options);
  REQUIRE(again.ok());
  CHECK(again->evicted_keys.empty());
}

TEST_CASE("a protected prefix is never dropped, even inside an evictable one") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 10; ++i) {
    MustPut(store.get(), Key("tmp/pinned/", i), Filler(Key("tmp/pinned/", i), 3000));
    MustPut(store.get(), Key("tmp/pinned/", i), Filler(Key("tmp/pinned/", i) + "b", 3000));
  }
  MustPut(store.get(), "tmp/scratch", Filler("tmp/scratch", 3000));
  CompactOptions options;
  options.rules = {Evictable("tmp/", 1), Protected("tmp/pinned/")};
  options.size_bound = SizeBound{2'000, 1'000};  // unreachable
  auto stats = store->Compact(options);
  REQUIRE(stats.ok());
  CHECK(stats->evicted_keys == std::vector<std::string>{"tmp/scratch"});
  CHECK(stats->above_low_water);
  CHECK(stats->versions_dropped == 1);
  for (int i = 0; i < 10; ++i) CHECK(HistoryLength(store.get(), Key("tmp/pinned/", i)) == 2);
  CHECK(store->Check()->ok());
}

TEST_CASE("an evicted key leaves every branch and its whole history") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  MustPut(store.get(), "c/a", Filler("c/a", 5000));
  MustPut(store.get(), "c/a", Filler("c/a2", 5000));
  REQUIRE(store->CreateBranch("dev", "main").ok());
  MustPut(store.get(), "c/a", Filler("c/a3", 5000), "dev");
  MustPut(store.get(), "c/b", Filler("c/b", 100));
  SleepMs(2);
  REQUIRE(store->Get("main", "c/b").ok());
  CompactOptions options;
  options.rules = {Evictable("c/", std::nullopt)};
  options.size_bound = SizeBound{8'000, 4'000};
  auto stats = store->Compact(options);
  REQUIRE(stats.ok());
  CHECK(stats->evicted_keys == std::vector<std::string>{"c/a"});
  CHECK(store->Get("main", "c/a").status().IsNotFound());
  CHECK(store->Get("dev", "c/a").status().IsNotFound());
  CHECK(store->Tails("c/a")->empty());
  CHECK(ValueOf(store.get(), "c/b") == Filler("c/b", 100));
  CHECK(stats->versions_dropped == 3);
  CHECK(store->Check()->ok());
  store.reset();
  store = OpenStore(dir.path());
  CHECK(store->Get("dev", "c/a").status().IsNotFound());
  MustPut(store.get(), "c/a", "back");  // the key can be written again
  CHECK(ValueOf(store.get(), "c/a") == "back");
}

TEST_CASE("retention that contradicts itself is refused and changes nothing") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  MustPut(store.get(), "k", "v");
  uint64_t before = *store->DataBytes();
  CompactOptions protected_trimmed;
  protected_trimmed.rules = {Protected("a/")};
  protected_trimmed.rules[0].keep_last = 2;
  CHECK(store->Compact(protected_trimmed).status().code() == Status::Code::kInvalidArgument);
  CompactOptions bad_bound;
  bad_bound.size_bound = SizeBound{1000, 1000};
  CHECK(store->Compact(bad_bound).status().code() == Status::Code::kInvalidArgument);
  CHECK(*store->DataBytes() == before);
}

}  // namespace kvs::test
