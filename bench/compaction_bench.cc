// What a compaction costs the writers beside it: the latency of durable
// single-key puts while compactions run back to back, next to the same
// puts with no compaction (the reference, measured in the same run on the
// same store), and how long each compaction took: before kvs 0.2 writers
// waited that long, as a compaction held the writer lock throughout.
//
//   build/compaction_bench [--quick] [--dir DIR]
//
// The store: 100k keys (20k with --quick) of 100-byte values loaded in
// 5,000-key transactions, then as many single-key updates, so the file
// holds garbage to compact. Then, for a few seconds each: puts alone, and
// puts beside compactions. Figures: puts/s, p50, p99 and the longest put.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include "bench/harness.h"
#include "bench/workload.h"

namespace kvs::bench {
namespace {

struct Latencies {
  std::vector<double> ms;
  double seconds = 0;
  double At(double quantile) const {
    if (ms.empty()) return 0;
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    return sorted[std::min(sorted.size() - 1, static_cast<size_t>(quantile * sorted.size()))];
  }
};

// Durable single-key puts from one thread until stop is set; the latency
// of each.
Latencies PutUntil(Store* store, uint64_t keys, const std::atomic<bool>& stop, uint64_t seed) {
  Latencies out;
  std::mt19937_64 random(seed);
  const Clock::time_point start = Clock::now();
  for (uint64_t n = 0; !stop; ++n) {
    WriteBatch batch;
    batch.Put(Key(random() % keys), MakeValue(seed + n));
    const Clock::time_point before = Clock::now();
    Must(store->Write(batch).status(), "Write");
    out.ms.push_back(SecondsSince(before) * 1000);
  }
  out.seconds = SecondsSince(start);
  return out;
}

void Print(const char* what, const Latencies& l) {
  std::printf("%-34s %9.0f %9.2f %9.2f %9.2f\n", what, static_cast<double>(l.ms.size()) / l.seconds,
              l.At(0.5), l.At(0.99),
              l.ms.empty() ? 0 : *std::max_element(l.ms.begin(), l.ms.end()));
}

}  // namespace
}  // namespace kvs::bench

int main(int argc, char** argv) {
  using namespace kvs;
  using namespace kvs::bench;
  const Args args = ParseArgs(argc, argv);
  const uint64_t keys = args.quick ? 20000 : 100000;
  const double seconds = args.quick ? 2 : 4;
  const std::string dir = MakeScratchDir(args.parent);
  auto store = OpenStore(dir + "/store", SyncMode::kSync);

  std::printf("compaction_bench: %s keys, then %s single-key updates\n", CountLabel(keys).c_str(),
              CountLabel(keys).c_str());
  for (uint64_t first = 0; first < keys; first += 5000) {
    WriteBatch batch;
    for (uint64_t i = first; i < std::min(keys, first + 5000); ++i) batch.Put(Key(i), MakeValue(i));
    Must(store->Write(batch).status(), "load");
  }
  {
    // The updates, from two threads so that group commits make them quick.
    std::vector<std::thread> threads;
    for (uint64_t t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        for (uint64_t i = t; i < keys; i += 2) {
          WriteBatch batch;
          batch.Put(Key(i), MakeValue(keys + i));
          Must(store->Write(batch).status(), "update");
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }
  SpaceInfo space = Must(store->Space(), "Space");
  std::printf("data file %.1f MB, garbage %.1f MB (%.0f%%)\n\n", space.data_bytes / 1e6,
              space.garbage_bytes / 1e6, space.garbage_ratio() * 100);

  std::printf("%-34s %9s %9s %9s %9s\n", "durable puts, 1 thread", "puts/s", "p50 ms", "p99 ms",
              "max ms");
  std::atomic<bool> stop{false};
  std::thread timer;
  Latencies alone;
  {
    std::thread writer([&] { alone = PutUntil(store.get(), keys, stop, 1u << 30); });
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    writer.join();
  }
  Print("no compaction (reference)", alone);

  stop = false;
  Latencies beside;
  std::vector<double> compactions;
  uint64_t before = 0, after = 0;
  {
    std::thread writer([&] { beside = PutUntil(store.get(), keys, stop, 1u << 31); });
    const Clock::time_point start = Clock::now();
    do {
      const Clock::time_point one = Clock::now();
      CompactStats stats = Must(store->Compact(CompactOptions()), "Compact");
      compactions.push_back(SecondsSince(one));
      if (before == 0) before = stats.bytes_before;
      after = stats.bytes_after;
    } while (SecondsSince(start) < seconds);
    stop = true;
    writer.join();
  }
  Print("beside compactions", beside);
  std::sort(compactions.begin(), compactions.end());
  std::printf(
      "\n%zu compactions, %.0f ms each (median; the writer stall before kvs 0.2), "
      "first %.1f MB -> %.1f MB\n",
      compactions.size(), compactions[compactions.size() / 2] * 1000, before / 1e6, after / 1e6);
  std::printf("p99 beside compactions / without: %.2fx\n", beside.At(0.99) / alone.At(0.99));
  store.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}
