// The measuring half of the benchmarks: clocks, a bounded multi-threaded
// rate loop, a scratch directory, and the comparison table they fill.
//
// Every measurement is bounded twice, in time and in operations, so a slow
// engine shortens the run instead of hanging it; what was actually reached
// is what gets reported.
#ifndef KVS_BENCH_HARNESS_H_
#define KVS_BENCH_HARNESS_H_

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "kvs/status.h"

namespace kvs::bench {

using Clock = std::chrono::steady_clock;

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The scratch directory of the run; Fail removes it too, since it may hold
// gigabytes.
inline std::filesystem::path& ScratchDir() {
  static std::filesystem::path dir;
  return dir;
}

// The benchmark's name, for messages (ParseArgs in bench/workload.h sets it).
inline std::string& ProgramName() {
  static std::string name = "bench";
  return name;
}

// A benchmark whose engine fails has nothing left to measure: report and exit.
[[noreturn]] inline void Fail(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", ProgramName().c_str(), what.c_str());
  std::error_code ignored;
  if (!ScratchDir().empty()) std::filesystem::remove_all(ScratchDir(), ignored);
  std::exit(1);
}

inline void Must(const Status& s, const char* what) {
  if (!s.ok()) Fail(std::string(what) + ": " + s.ToString());
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) Fail(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}

// Makes a fresh directory under parent and records it in ScratchDir();
// returns its path.
inline std::string MakeScratchDir(const std::string& parent) {
  std::string pattern = parent + "/" + ProgramName() + ".XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) Fail("cannot create a directory in " + parent);
  ScratchDir() = pattern;
  return pattern;
}

// The disk blocks a file takes (what du(1) counts), not its length: a
// store's read clock (DIR/reads) is a 4 MiB table that stays sparse until
// keys are read, and a length would count all of it.
inline uint64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

// What a store costs on disk: the blocks of all regular files under dir.
inline uint64_t DiskBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) total += AllocatedBytes(entry.path().string());
  }
  return total;
}

// The 1-minute load average: other work on the machine shows in every
// figure, so a report says how much there was.
inline std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one_minute;
  in >> one_minute;
  return one_minute.empty()
             ? "?"
             : one_minute + " on " + std::to_string(std::thread::hardware_concurrency()) + " CPUs";
}

// Wall time of one call, in seconds.
template <typename F>
double TimeOnce(F&& f) {
  Clock::time_point start = Clock::now();
  f();
  return SecondsSince(start);
}

// The middle of times: one slow outlier (a page fault storm, a writeback
// burst) should not be the figure.
inline double Median(std::vector<double> times) {
  if (times.empty()) return 0;
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// The median wall time of rounds calls of f. What each call returns is
// destroyed after its call is timed: a store's close, a result's memory.
template <typename F>
double MedianSeconds(int rounds, F&& f) {
  std::vector<double> times;
  for (int i = 0; i < rounds; ++i) {
    std::invoke_result_t<F&> kept;
    times.push_back(TimeOnce([&] { kept = f(); }));
  }
  return Median(times);
}

// What a rate measurement reached.
struct Rate {
  uint64_t ok = 0;
  uint64_t failed = 0;
  double seconds = 0;
  double PerSecond() const { return seconds > 0 ? ok / seconds : 0; }
};

// One thread's operation, called in a loop; false when it failed. Failures
// are counted, not fatal: a writer SQLite turned away is a result.
using Op = std::function<bool()>;

// Runs ops[i] on its own thread until `seconds` have passed or `max_ops`
// were attempted in all. Each thread gets an equal share of max_ops, so
// the loop shares nothing but the stop flag.
inline Rate RunRate(std::vector<Op>& ops, double seconds, uint64_t max_ops) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ok{0}, failed{0};
  std::atomic<size_t> running{ops.size()};
  const uint64_t share = std::max<uint64_t>(1, max_ops / ops.size());
  Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (Op& op : ops) {
    threads.emplace_back([&, op = &op] {
      uint64_t mine_ok = 0, mine_failed = 0;
      for (uint64_t i = 0; i < share && !stop.load(std::memory_order_relaxed); ++i) {
        ((*op)() ? mine_ok : mine_failed) += 1;
      }
      ok += mine_ok;
      failed += mine_failed;
      --running;
    });
  }
  while (running > 0 && SecondsSince(start) < seconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  return Rate{ok, failed, SecondsSince(start)};
}

// ---- The comparison table ---------------------------------------------------

enum class Better { kHigher, kLower };

// One line of the table. Either side may be missing (no SQLite peer, or a
// phase that was cut short).
struct Row {
  std::string metric;
  std::optional<double> kvs;
  std::optional<double> sqlite;
  Better better;
};

class Report {
 public:
  Report() : start_(Clock::now()) {}

  // Logs progress to stderr, so a long run shows where it is.
  void Progress(const std::string& what) const {
    std::fprintf(stderr, "[%6.1fs] %s\n", SecondsSince(start_), what.c_str());
  }

  void Add(std::string metric, std::optional<double> kvs, std::optional<double> sqlite,
           Better better) {
    Progress("  " + metric + ": kvs " + Format(kvs) + ", SQLite " + Format(sqlite));
    rows_.push_back(Row{std::move(metric), kvs, sqlite, better});
  }

  // A line printed above the table: what the figures stand on.
  void Header(std::string line) { headers_.push_back(std::move(line)); }
  // A line printed under the table: context a number needs.
  void Note(std::string line) { notes_.push_back(std::move(line)); }

  void Print() const {
    size_t width = 6;
    for (const Row& r : rows_) width = std::max(width, r.metric.size());
    int w = static_cast<int>(width);
    std::printf("\n");
    for (const std::string& line : headers_) std::printf("%s\n", line.c_str());
    std::printf("\n%-*s  %12s  %12s  %10s  %-7s  %s\n", w, "metric", "kvs", "SQLite", "kvs/SQLite",
                "better", "winner");
    std::printf("%s\n", std::string(width + 64, '-').c_str());
    for (const Row& r : rows_) {
      std::printf("%-*s  %12s  %12s  %10s  %-7s  %s\n", w, r.metric.c_str(), Format(r.kvs).c_str(),
                  Format(r.sqlite).c_str(), Ratio(r).c_str(),
                  r.better == Better::kHigher ? "higher" : "lower", Winner(r));
    }
    std::printf("\n");
    for (const std::string& note : notes_) std::printf("%s\n", note.c_str());
    std::printf("total run time: %.0f s\n", SecondsSince(start_));
  }

 private:
  static std::string Format(std::optional<double> v) {
    if (!v) return "-";
    char buf[32];
    double a = *v < 0 ? -*v : *v;
    std::snprintf(buf, sizeof(buf), a >= 100 ? "%.0f" : a >= 1 ? "%.2f" : "%.3g", *v);
    return buf;
  }
  static std::string Ratio(const Row& r) {
    if (!r.kvs || !r.sqlite || *r.sqlite == 0) return "-";
    return Format(*r.kvs / *r.sqlite) + "x";
  }
  static const char* Winner(const Row& r) {
    if (!r.kvs || !r.sqlite || *r.kvs == *r.sqlite) return "";
    bool kvs_higher = *r.kvs > *r.sqlite;
    return kvs_higher == (r.better == Better::kHigher) ? "kvs" : "SQLite";
  }

  Clock::time_point start_;
  std::vector<Row> rows_;
  std::vector<std::string> headers_;
  std::vector<std::string> notes_;
};

}  // namespace kvs::bench

#endif  // KVS_BENCH_HARNESS_H_
