// Retention and garbage collection end to end: the config's retention
// section applied by POST /_compact through a real nginx in front of the
// real kvs-fcgi, and by the size bound on its own (kvs gc: tests/cli/gc_test.cc).
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/form.h"
#include "store/coding.h"
#include "store/directory.h"
#include "store/format.h"
#include "tests/harness/server_stack.h"
#include "tests/store/test_util.h"

namespace kvs::server::test {
namespace {

using kvs::test::Filler;
using kvs::test::ValueOf;

const httplib::Headers& kBearer = BearerHeaders();

// The REST path of key: its slashes as %2F, so that none reads as a fork.
std::string PathOf(const std::string& key) { return "/" + PercentEncode(key); }

void Put(const ServerStack& stack, const std::string& key, const std::string& value) {
  auto res = Answer(stack.Client()->Put(PathOf(key).c_str(), kBearer, value, "text/plain"), stack);
  INFO(key << ": " << res.body);
  REQUIRE(res.status == 200);
}

std::string CacheKey(int i) {
  return std::string("cache/k") + (i < 10 ? "0" : "") + std::to_string(i);
}

// How many versions of key the server keeps: the current one and the
// earlier revisions /info counts.
int VersionsOf(const ServerStack& stack, const std::string& key) {
  return MustGetJson(stack, PathOf(key) + "/main/info")["revision_count"].get<int>() + 1;
}

bool Exists(const ServerStack& stack, const std::string& key) {
  return !MustGetJson(stack, PathOf(key)).empty();
}

uint64_t ServedDataBytes(const ServerStack& stack) { return *OpenServedStore(stack)->DataBytes(); }

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// The kind and revision of the served store's newest block, from its
// trailer, the last 64 bytes of its data (store/format.h).
struct LastBlock {
  uint32_t kind;
  uint64_t revision;
};
LastBlock LastBlockOf(const ServerStack& stack) {
  for (const auto& entry : std::filesystem::directory_iterator(stack.dir() + "/kvs-data")) {
    if (!entry.path().filename().string().starts_with("data.")) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const char* trailer =
        data.data() + kvs::test::DataFileBytes(entry.path()) - format::kTrailerSize;
    return {DecodeFixed32(trailer + 40), DecodeFixed64(trailer + 8)};
  }
  FAIL("no data file");
  return {};
}

constexpr size_t kValue = 5000;

// Trimmed logs, protected accounts, and an evictable cache with a protected
// corner.
const char* kRetention =
    "retention:\n"
    "  max_bytes: 120000\n"
    "  low_water_bytes: 90000\n"
    "  check_interval: 1h\n"
    "  prefixes:\n"
    "    logs/: {keep_last: 3}\n"
    "    cache/: {keep_last: 1, evictable: true}\n"
    "    cache/pinned/: {protected: true}\n"
    "    accounts/: {protected: true}\n";

}  // namespace

TEST_CASE(
    "through nginx, POST /_compact drops exactly what the policy says, never a protected "
    "prefix") {
  StackOptions options;
  options.extra_config += kRetention;
  ServerStack stack(options);
  for (int i = 0; i < 10; ++i) Put(stack, "logs/a", "line " + std::to_string(i));
  for (int i = 0; i < 10; ++i) Put(stack, "accounts/x", "balance " + std::to_string(i));
  for (int i = 0; i < 5; ++i) Put(stack, "plain", std::to_string(i));
  for (int i = 0; i < 5; ++i) Put(stack, "cache/pinned/p", Filler("p" + std::to_string(i), kValue));
  for (int i = 0; i < 20; ++i) {
    Put(stack, CacheKey(i), "old");
    Put(stack, CacheKey(i), Filler(CacheKey(i), kValue));
    SleepMs(3);
  }
  // Reading the first five makes them the most recently used, in order.
  for (int i = 0; i < 5; ++i) {
    SleepMs(3);
    REQUIRE(Answer(stack.Client()->Get(("/?k=" + CacheKey(i)).c_str()), stack).status == 200);
  }
  std::vector<std::string> lru;  // least recently used first
  for (int i = 5; i < 20; ++i) lru.push_back(CacheKey(i));
  for (int i = 0; i < 5; ++i) lru.push_back(CacheKey(i));

  // Without the secret: refused, and nothing changes.
  const uint64_t before = ServedDataBytes(stack);
  auto refused = Answer(stack.Client()->Post("/_compact", "", "text/plain"), stack);
  CHECK(refused.status == 403);
  CHECK(ServedDataBytes(stack) == before);

  auto res = Answer(stack.Client()->Post("/_compact", kBearer, "", "text/plain"), stack);
  INFO(res.body);
  REQUIRE(res.status == 200);
  nlohmann::json report = nlohmann::json::parse(res.body);
  CHECK(report["status"] == "ok");
  CHECK(report["bytes_before"] == before);
  const uint64_t after = report["bytes_after"];
  CHECK(report["freed"] == before - after);
  CHECK(ServedDataBytes(stack) == after);
  CHECK(after <= 90000);
  CHECK(after + kValue > 90000);  // no more dropped than the mark needs
  CHECK(report["above_low_water"] == false);

  // Evicted: exactly the least recently used cache keys, in that order.
  std::vector<std::string> evicted = report["evicted"];
  REQUIRE(!evicted.empty());
  REQUIRE(evicted.size() <= 15);  // none that was read
  CHECK(report["keys_evicted"] == evicted.size());
  CHECK(evicted == std::vector<std::string>(lru.begin(), lru.begin() + evicted.size()));
  for (size_t i = 0; i < lru.size(); ++i) {
    INFO(lru[i]);
    CHECK(Exists(stack, lru[i]) == (i >= evicted.size()));
    if (i >= evicted.size()) CHECK(VersionsOf(stack, lru[i]) == 1);  // keep_last: 1
  }
  // The rules: logs keep 3, protected prefixes and keys under no rule keep all.
  CHECK(VersionsOf(stack, "logs/a") == 3);
  CHECK(VersionsOf(stack, "accounts/x") == 10);
  CHECK(VersionsOf(stack, "cache/pinned/p") == 5);
  CHECK(VersionsOf(stack, "plain") == 5);
  // Dropped: 7 of logs/a, the "old" of every cache key, and each evicted
  // key's last version.
  CHECK(report["versions_dropped"] == 7 + 20 + evicted.size());

  // Under the bound now: a second run evicts nothing and drops nothing.
  nlohmann::json second = nlohmann::json::parse(
      Answer(stack.Client()->Post("/_compact", kBearer, "", "text/plain"), stack).body);
  CHECK(second["keys_evicted"] == 0);
  CHECK(second["versions_dropped"] == 0);
}

// Another compaction (here: the lock it holds, taken by the test) may run
// for minutes; a request that waited for it held a worker thread, and enough
// of them left none for reads.
TEST_CASE("through nginx, POST /_compact answers 409 at once while another compaction runs") {
  ServerStack stack;
  Put(stack, "k", "1");
  Put(stack, "k", "2");
  {
    auto held = CompactionLock::Take(stack.dir() + "/kvs-data", /*wait=*/false);
    REQUIRE(held.ok());
    for (int i = 0; i < 20; ++i) {  // more than kvs-fcgi has worker threads
      auto res = Answer(stack.Client()->Post("/_compact", kBearer, "", "text/plain"), stack);
      INFO(res.body);
      REQUIRE(res.status == 409);
      CHECK(nlohmann::json::parse(res.body)["error"] == "compaction_running");
    }
    CHECK(Answer(stack.Client()->Get("/?k=k"), stack).body == "2");
  }
  auto res = Answer(stack.Client()->Post("/_compact", kBearer, "", "text/plain"), stack);
  INFO(res.body);
  CHECK(res.status == 200);
}

TEST_CASE("through nginx, the size bound compacts by itself once the store passes it") {
  StackOptions options;
  options.extra_config +=
      "retention:\n"
      "  max_bytes: 100000\n"
      "  low_water_bytes: 60000\n"
      "  check_interval: 1s\n"
      "  prefixes:\n"
      "    cache/: {keep_last: 1, evictable: true}\n"
      "    keep/: {protected: true}\n";
  ServerStack stack(options);
  for (int i = 0; i < 3; ++i) Put(stack, "keep/me", Filler("keep" + std::to_string(i), kValue));
  for (int i = 0; i < 25; ++i) Put(stack, CacheKey(i), Filler(CacheKey(i), kValue));
  REQUIRE(ServedDataBytes(stack) > 100000);
  // The watch looks once a second, and logs once the new file is in place;
  // give it time on a slow machine.
  auto logged = [&stack] {
    return stack.Logs().find("compaction: the store has") != std::string::npos;
  };
  uint64_t bytes = ServedDataBytes(stack);
  for (int waited = 0; waited < 300 && (bytes > 60000 || !logged()); ++waited) {
    SleepMs(100);
    bytes = ServedDataBytes(stack);
  }
  INFO(stack.Logs());
  CHECK(bytes <= 60000);
  CHECK(logged());
  CHECK(VersionsOf(stack, "keep/me") == 3);
  CHECK_FALSE(Exists(stack, CacheKey(0)));  // the oldest went first
  CHECK(Exists(stack, CacheKey(24)));       // the newest stayed
}

TEST_CASE("through nginx, the store is compacted by itself once garbage gathers") {
  StackOptions options;
  options.extra_config +=
      "retention:\n"
      "  check_interval: 1s\n"
      "  garbage_ratio: 0.3\n"
      "  min_garbage_bytes: 200000\n";
  ServerStack stack(options);
  // Small writes to few keys: much of what each appends is edit records
  // and tree nodes that the next ones replace (about 45% of the file, so
  // the ratio is set below that). Writes go on while the server compacts.
  constexpr int kKeys = 10;
  int written = 0;
  auto logged = [&stack] { return stack.Logs().find("are garbage") != std::string::npos; };
  for (int waited = 0; waited < 300 && !logged(); ++waited) {
    for (int i = 0; i < 20; ++i, ++written) {
      Put(stack, "k" + std::to_string(written % kKeys), std::to_string(written));
    }
    if (written > 200) SleepMs(100);
  }
  INFO(stack.Logs());
  REQUIRE(logged());
  auto store = OpenServedStore(stack);
  auto space = store->Space();
  REQUIRE(space.ok());
  CHECK(space->compacted_bytes > 0);
  // All history is kept: every write is a version of its key.
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = "k" + std::to_string(k);
    CHECK(VersionsOf(stack, key) == (written - k + kKeys - 1) / kKeys);
  }
  CHECK(store->Check()->ok());
}

TEST_CASE("through nginx, an idle server checkpoints the store, and writes log on from there") {
  StackOptions options;
  options.extra_config +=
      "retention:\n"
      "  check_interval: 1s\n";
  ServerStack stack(options);
  for (int i = 0; i < 5; ++i) Put(stack, "k" + std::to_string(i), "v" + std::to_string(i));
  const uint64_t revision = ServedStoreRevision(stack);
  // A checkpoint comes one to two looks after the last write.
  auto checkpointed = [&] {
    LastBlock last = LastBlockOf(stack);
    return last.kind == format::kKindTransaction && last.revision == revision;
  };
  for (int waited = 0; waited < 300 && !checkpointed(); ++waited) SleepMs(100);
  REQUIRE(checkpointed());
  CHECK(ServedStoreRevision(stack) == revision);

  Put(stack, "k0", "after");
  CHECK(LastBlockOf(stack).revision == revision + 1);
  auto store = OpenServedStore(stack);
  CHECK(ValueOf(store.get(), "k0") == "after");
  CHECK(ValueOf(store.get(), "k4") == "v4");
  CHECK(store->Check()->ok());
}

}  // namespace kvs::server::test
