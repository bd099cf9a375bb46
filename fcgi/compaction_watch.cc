// CompactionWatch: a thread that checkpoints the store when it is idle, and
// compacts when it passes its size bound or gathers enough garbage.
#include "fcgi/compaction_watch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "faces/admin/compact.h"

namespace kvs::server {

CompactionWatch::CompactionWatch(Service& service) : service_(service) {
  const config::Retention& retention = service.config.retention;
  if (retention.size_bound) size_trigger_bytes_ = retention.size_bound->max_bytes;
  thread_ = std::thread([this] { Run(); });
}

CompactionWatch::~CompactionWatch() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void CompactionWatch::Run() {
  const auto interval = std::chrono::nanoseconds(service_.config.retention.check_interval_ns);
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, interval, [this] { return stop_; })) {
    lock.unlock();
    CheckOnce();
    lock.lock();
  }
}

namespace {
unsigned long long Ull(uint64_t n) { return static_cast<unsigned long long>(n); }
}  // namespace

void CompactionWatch::CheckOnce() {
  if (auto revision = service_.store->Revision(); revision.ok()) {
    if (last_revision_ == *revision) {
      if (Status s = service_.store->Checkpoint(); !s.ok()) {
        std::fprintf(stderr, "kvs-fcgi: checkpoint failed: %s\n", s.ToString().c_str());
      }
    }
    last_revision_ = *revision;
  }
  const config::Retention& retention = service_.config.retention;
  if (!retention.size_bound && !retention.garbage_ratio) return;
  auto space = service_.store->Space();
  if (!space.ok()) {
    std::fprintf(stderr, "kvs-fcgi: compaction: cannot read the store's size: %s\n",
                 space.status().ToString().c_str());
    return;
  }
  if (size_trigger_bytes_ != 0 && space->data_bytes > size_trigger_bytes_) {
    Compact("the store has " + std::to_string(space->data_bytes) + " bytes (max_bytes " +
            std::to_string(retention.size_bound->max_bytes) + ")");
  } else if (retention.GarbageDue(*space)) {
    Compact("about " + std::to_string(space->garbage_bytes) + " of the store's " +
            std::to_string(space->data_bytes) + " bytes are garbage (" +
            std::to_string(static_cast<int>(space->garbage_ratio() * 100)) + "%)");
  }
}

void CompactionWatch::Compact(const std::string& why) {
  const config::Retention& retention = service_.config.retention;
  const auto started = std::chrono::steady_clock::now();
  auto stats = CompactByRetention(service_, /*if_idle=*/true);
  if (stats.status().code() == Status::Code::kConflict) return;  // another one is running
  if (!stats.ok()) {
    std::fprintf(stderr, "kvs-fcgi: compaction: %s; compaction failed: %s\n", why.c_str(),
                 stats.status().ToString().c_str());
    return;
  }
  if (const auto& bound = retention.size_bound) {
    size_trigger_bytes_ = std::max(
        bound->max_bytes, stats->bytes_after + (bound->max_bytes - bound->low_water_bytes));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::fprintf(
      stderr,
      "kvs-fcgi: compaction: %s; compacted to %llu bytes in %.2f s, %zu key(s) "
      "evicted%s\n",
      why.c_str(), Ull(stats->bytes_after), seconds, stats->evicted_keys.size(),
      stats->above_low_water ? "; still above low_water_bytes: the rest may not be dropped" : "");
}

}  // namespace kvs::server
