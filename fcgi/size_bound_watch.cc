// SizeBoundWatch: a thread that compacts when the store passes its bound.
#include "fcgi/size_bound_watch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "faces/admin/compact.h"

namespace kvs::server {

SizeBoundWatch::SizeBoundWatch(Service& service) : service_(service) {
  const auto& bound = service.config.retention.size_bound;
  if (!bound) return;
  trigger_bytes_ = bound->max_bytes;
  thread_ = std::thread([this] { Run(); });
}

SizeBoundWatch::~SizeBoundWatch() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void SizeBoundWatch::Run() {
  const auto interval = std::chrono::nanoseconds(service_.config.retention.check_interval_ns);
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, interval, [this] { return stop_; })) {
    lock.unlock();
    CheckOnce();
    lock.lock();
  }
}

void SizeBoundWatch::CheckOnce() {
  const SizeBound& bound = *service_.config.retention.size_bound;
  auto bytes = service_.store->DataBytes();
  if (!bytes.ok()) {
    std::fprintf(stderr, "kvs-fcgi: size bound: cannot read the store's size: %s\n",
                 bytes.status().ToString().c_str());
    return;
  }
  if (*bytes <= trigger_bytes_) return;
  auto stats = CompactByRetention(service_);
  if (!stats.ok()) {
    std::fprintf(stderr,
                 "kvs-fcgi: size bound: the store has %llu bytes (max_bytes %llu); "
                 "compaction failed: %s\n",
                 static_cast<unsigned long long>(*bytes),
                 static_cast<unsigned long long>(bound.max_bytes),
                 stats.status().ToString().c_str());
    return;
  }
  trigger_bytes_ =
      std::max(bound.max_bytes, stats->bytes_after + (bound.max_bytes - bound.low_water_bytes));
  std::fprintf(
      stderr,
      "kvs-fcgi: size bound: the store had %llu bytes (max_bytes %llu); compacted to "
      "%llu bytes, %zu key(s) evicted%s\n",
      static_cast<unsigned long long>(stats->bytes_before),
      static_cast<unsigned long long>(bound.max_bytes),
      static_cast<unsigned long long>(stats->bytes_after), stats->evicted_keys.size(),
      stats->above_low_water ? "; still above low_water_bytes: the rest may not be dropped" : "");
}

}  // namespace kvs::server
