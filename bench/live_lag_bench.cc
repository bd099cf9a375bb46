// live_lag_bench: how long a write to a kvs server takes to reach a replica
// that live replication keeps up to date (bench/sync_bench runs it).
//
//   live_lag_bench --url URL --secret-file FILE --source DIR --replica DIR
//                  [--rate N] [--seconds S] [--writers N]
//
// Writers post `lag/NNNNNNN=...` form writes to the server at URL at a
// steady --rate (writes per second, spread over --writers connections) for
// --seconds. Two observers, in this process, read the changes feed of a store
// every millisecond (Store::ChangesSince; stores may be opened by many
// processes) and note when each key first appears: one on the server's own
// store (--source: the reference, what observing costs with no replication
// in between) and one on the replica's (--replica, written by whatever
// replicates, e.g. `kvs pull URL --live`). Printed, in milliseconds, p50,
// p99 and max of:
//   source   from sending the write to seeing it in the server's store
//   replica  from sending the write to seeing it in the replica
//   lag      from the server's answer (the write is acknowledged) to seeing
//            it in the replica: the replication lag
// and the rate reached. Writes not seen in the replica 10 s after the last
// one count as lost, and fail the run.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kvs/store.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string url, secret_file, source, replica;
  int rate = 1000;
  int seconds = 10;
  int writers = 8;
};

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "live_lag_bench: %s\n", message.c_str());
  std::exit(1);
}

Args Parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--url") {
      args.url = value;
    } else if (flag == "--secret-file") {
      args.secret_file = value;
    } else if (flag == "--source") {
      args.source = value;
    } else if (flag == "--replica") {
      args.replica = value;
    } else if (flag == "--rate") {
      args.rate = std::stoi(value);
    } else if (flag == "--seconds") {
      args.seconds = std::stoi(value);
    } else if (flag == "--writers") {
      args.writers = std::stoi(value);
    } else {
      Fail("unknown option " + flag);
    }
  }
  if (args.url.empty() || args.secret_file.empty() || args.source.empty() ||
      args.replica.empty() || args.rate <= 0 || args.seconds <= 0 || args.writers <= 0) {
    Fail(
        "usage: live_lag_bench --url URL --secret-file FILE --source DIR --replica DIR "
        "[--rate N] [--seconds S] [--writers N]");
  }
  return args;
}

std::string PercentEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// When each write was sent and answered, and first seen in each store (0:
// not yet), by write number.
struct Timeline {
  explicit Timeline(size_t n) : sent(n), acked(n), in_source(n), in_replica(n) {}
  std::vector<int64_t> sent, acked;
  std::vector<std::atomic<int64_t>> in_source, in_replica;
};

std::string KeyOf(size_t i) {
  char key[32];
  std::snprintf(key, sizeof key, "lag/%07zu", i);
  return key;
}

// Reads store_dir's changes feed every millisecond until stop, noting when
// each lag/ key first shows up in seen.
void Observe(const std::string& store_dir, std::vector<std::atomic<int64_t>>& seen,
             const std::atomic<bool>& stop) {
  auto store = kvs::Store::Open(store_dir, kvs::Options());
  if (!store.ok()) Fail("cannot open " + store_dir + ": " + store.status().message());
  auto start = (*store)->Revision();
  if (!start.ok()) Fail(start.status().message());
  kvs::ChangesOptions options;
  options.since = *start;
  options.prefix = "lag/";
  options.limit = 100000;
  while (!stop) {
    auto changes = (*store)->ChangesSince(options);
    if (!changes.ok()) Fail("changes of " + store_dir + ": " + changes.status().message());
    const int64_t now = Now();
    for (const kvs::KeyHeads& k : changes->keys) {
      const size_t i = std::stoul(k.key.substr(4));
      if (i < seen.size() && seen[i] == 0) seen[i] = now;
    }
    options.since = changes->through;
    if (changes->keys.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

struct Summary {
  double p50 = 0, p99 = 0, max = 0;
  size_t missing = 0;
};

Summary Percentiles(const std::vector<int64_t>& from, const std::vector<std::atomic<int64_t>>& to,
                    const std::vector<int64_t>& acked) {
  std::vector<double> ms;
  Summary s;
  for (size_t i = 0; i < from.size(); ++i) {
    if (acked[i] == 0) continue;  // the write failed: reported apart
    if (to[i] == 0) {
      ++s.missing;
      continue;
    }
    ms.push_back(std::max<int64_t>(0, to[i] - from[i]) / 1e6);
  }
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  s.p50 = ms[ms.size() / 2];
  s.p99 = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  s.max = ms.back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  std::string secret;
  std::getline(std::ifstream(args.secret_file), secret);
  if (secret.empty()) Fail("no secret in " + args.secret_file);
  const std::string auth = "auth=" + PercentEncode(secret);

  const size_t total = static_cast<size_t>(args.rate) * args.seconds;
  Timeline t(total);
  std::atomic<bool> stop_observing{false};
  std::thread source_observer(
      [&] { Observe(args.source, t.in_source, stop_observing); });
  std::thread replica_observer(
      [&] { Observe(args.replica, t.in_replica, stop_observing); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both read their start

  // Write i is due at start + i / rate; writer w sends the writes i with
  // i % writers == w, each when due (or at once when late).
  std::atomic<size_t> failed{0};
  const int64_t start = Now() + 10000000;
  std::vector<std::thread> writers;
  for (int w = 0; w < args.writers; ++w) {
    writers.emplace_back([&, w] {
      httplib::Client client(args.url);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      for (size_t i = w; i < total; i += args.writers) {
        const int64_t due = start + static_cast<int64_t>(i * 1e9 / args.rate);
        const int64_t wait = due - Now();
        if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
        t.sent[i] = Now();
        auto res = client.Post("/", auth + "&" + KeyOf(i) + "=" + std::to_string(t.sent[i]),
                               "application/x-www-form-urlencoded");
        if (res && res->status == 200) {
          t.acked[i] = Now();
        } else {
          ++failed;
        }
      }
    });
  }
  for (std::thread& w : writers) w.join();
  const double wrote_s = (Now() - start) / 1e9;
  // Until every acknowledged write is in the replica, or 10 s.
  const int64_t deadline = Now() + 10000000000;
  for (;;) {
    size_t pending = 0;
    for (size_t i = 0; i < total; ++i) pending += t.acked[i] != 0 && t.in_replica[i] == 0;
    if (pending == 0 || Now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop_observing = true;
  source_observer.join();
  replica_observer.join();

  const Summary source = Percentiles(t.sent, t.in_source, t.acked);
  const Summary replica = Percentiles(t.sent, t.in_replica, t.acked);
  const Summary lag = Percentiles(t.acked, t.in_replica, t.acked);
  std::printf("  %zu writes in %.2f s (%.0f/s asked, %.0f/s reached, %zu failed)\n", total,
              wrote_s, static_cast<double>(args.rate), total / wrote_s, failed.load());
  std::printf("  %-44s %8s %8s %8s\n", "milliseconds", "p50", "p99", "max");
  std::printf("  %-44s %8.2f %8.2f %8.2f\n", "reference: sent -> seen in the server's store",
              source.p50, source.p99, source.max);
  std::printf("  %-44s %8.2f %8.2f %8.2f\n", "sent -> seen in the replica", replica.p50,
              replica.p99, replica.max);
  std::printf("  %-44s %8.2f %8.2f %8.2f\n", "lag: acknowledged -> seen in the replica", lag.p50,
              lag.p99, lag.max);
  if (replica.missing > 0) {
    Fail(std::to_string(replica.missing) + " acknowledged writes never reached the replica");
  }
  if (failed > 0) Fail(std::to_string(failed.load()) + " writes failed");
  return 0;
}
