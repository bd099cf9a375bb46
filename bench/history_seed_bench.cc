// history_seed_bench: the seeding half of bench/history_bench, which reads
// keys with long histories over HTTP. Writing 100,000 revisions through
// nginx would take longer than reading them, so this program writes them
// straight into the store directory the server will open, before it starts.
//
// Each revision is its own transaction on branch main holding one plain
// write of the key, exactly what one REST `PUT /KEY` stores, so the server
// later finds the same version graph a client would have made. The value is
// a ~100-byte status line in which each revision changes a few characters
// (a reading counter, a temperature, a humidity), as a sensor or a job
// status would: the reverse patches the REST face computes stay small.
//
// Usage: history_seed_bench STORE_DIR KEY=REVISIONS...
//   e.g. history_seed_bench data history-10=10 history-100k=100000
// Prints one line per key (revisions written, value bytes, seconds). Writes
// with SyncMode::kNone: the data is in the page cache when the server opens
// the store, which is all a benchmark on the same machine needs. Exit status
// 1, with the store's message, when a write fails; 2 on bad arguments.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kvs/store.h"

namespace {

struct SeededKey {
  std::string key;
  uint64_t revisions = 0;
};

// "sensor greenhouse-3: reading 0000042, temperature 21.4 C, humidity 55 %,
// battery 97 %, status ok": revision n of a key (n counts from 1).
std::string StatusLine(uint64_t n) {
  char line[160];
  const uint64_t tenths = 180 + n * 37 % 80;  // 18.0 to 25.9 C
  std::snprintf(line, sizeof(line),
                "sensor greenhouse-3: reading %07llu, temperature %llu.%llu C, humidity %llu %%, "
                "battery 97 %%, status ok",
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(tenths / 10),
                static_cast<unsigned long long>(tenths % 10),
                static_cast<unsigned long long>(40 + n * 13 % 30));
  return line;
}

bool ParseSeededKey(std::string_view arg, SeededKey* out) {
  const size_t equals = arg.rfind('=');
  if (equals == std::string_view::npos || equals == 0 || equals + 1 == arg.size()) return false;
  uint64_t revisions = 0;
  for (char c : arg.substr(equals + 1)) {
    if (c < '0' || c > '9' || revisions > UINT64_MAX / 10 - 1) return false;
    revisions = revisions * 10 + static_cast<uint64_t>(c - '0');
  }
  if (revisions == 0) return false;
  out->key = std::string(arg.substr(0, equals));
  out->revisions = revisions;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<SeededKey> keys;
  for (int i = 2; i < argc; ++i) {
    SeededKey key;
    if (!ParseSeededKey(argv[i], &key)) {
      std::fprintf(stderr, "history_seed_bench: '%s' is not KEY=REVISIONS (REVISIONS >= 1)\n",
                   argv[i]);
      return 2;
    }
    keys.push_back(std::move(key));
  }
  if (argc < 3) {
    std::fprintf(stderr, "usage: history_seed_bench STORE_DIR KEY=REVISIONS...\n");
    return 2;
  }

  kvs::Options options;
  options.sync = kvs::SyncMode::kNone;
  auto store = kvs::Store::Open(argv[1], options);
  if (!store.ok()) {
    std::fprintf(stderr, "history_seed_bench: opening %s: %s\n", argv[1],
                 store.status().ToString().c_str());
    return 1;
  }
  for (const SeededKey& key : keys) {
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t n = 1; n <= key.revisions; ++n) {
      kvs::WriteBatch batch;
      batch.Put(key.key, StatusLine(n));
      auto written = (*store)->Write(batch);
      if (!written.ok()) {
        std::fprintf(stderr, "history_seed_bench: writing revision %llu of %s: %s\n",
                     static_cast<unsigned long long>(n), key.key.c_str(),
                     written.status().ToString().c_str());
        return 1;
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %llu revisions of %zu bytes written in %.1f s\n", key.key.c_str(),
                static_cast<unsigned long long>(key.revisions), StatusLine(key.revisions).size(),
                seconds);
  }
  return 0;
}
