// Live replication's two loops (replication/live.h).
#include "replication/live.h"

#include <algorithm>
#include <chrono>

namespace kvs::replication {

LiveReplication::LiveReplication(Store& store, LocalPeerOptions local, ConnectRemote connect,
                                 Direction direction, ReplicateOptions options, LiveHooks hooks,
                                 LiveTiming timing)
    : store_(store),
      local_(std::move(local)),
      connect_(std::move(connect)),
      direction_(direction),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      timing_(timing) {
  local_.stop = &stopping_;
}

LiveReplication::~LiveReplication() { Stop(); }

void LiveReplication::Start() {
  std::vector<Direction> ways;
  if (Receives(direction_)) ways.push_back(Direction::kPull);
  if (Sends(direction_)) ways.push_back(Direction::kPush);
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = static_cast<int>(ways.size());
  }
  for (size_t slot = 0; slot < ways.size(); ++slot) {
    threads_.emplace_back([this, slot, way = ways[slot]] { Loop(slot, way); });
  }
}

void LiveReplication::Stop() {
  stopping_ = true;
  {
    // A connection made just as Stop began may miss one interruption:
    // interrupt again until every thread has ended.
    std::unique_lock<std::mutex> lock(mu_);
    while (running_ > 0) {
      for (Peer* remote : remotes_) {
        if (remote != nullptr) remote->Interrupt();
      }
      wake_.notify_all();
      wake_.wait_for(lock, std::chrono::milliseconds(50));
    }
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void LiveReplication::Nudge() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    nudged_ = true;
  }
  wake_.notify_all();
}

bool LiveReplication::Pause(int64_t ns) {
  std::unique_lock<std::mutex> lock(mu_);
  wake_.wait_for(lock, std::chrono::nanoseconds(ns), [this] { return stopping_ || nudged_; });
  nudged_ = false;
  return !stopping_;
}

bool LiveReplication::Publish(size_t slot, Peer* remote) {
  std::lock_guard<std::mutex> lock(mu_);
  remotes_[slot] = remote;
  return !stopping_;
}

void LiveReplication::Loop(size_t slot, Direction way) {
  LocalPeer local(store_, local_);
  std::unique_ptr<Peer> remote;
  int64_t retry_ns = timing_.retry_ns;
  bool run = true;     // replicate before the next wait
  uint64_t since = 0;  // the source's revision the next wait starts from
  // Drops the connection and pauses; false when stopping.
  auto fail = [&](const Status& status) {
    Publish(slot, nullptr);
    remote.reset();
    if (stopping_) return false;
    if (hooks_.failed) hooks_.failed(way, status, retry_ns);
    const int64_t pause = retry_ns;
    retry_ns = std::min(retry_ns * 2, std::max(timing_.max_retry_ns, timing_.retry_ns));
    run = true;
    return Pause(pause);
  };
  while (!stopping_) {
    if (!remote) {
      auto connected = connect_();
      if (!connected.ok()) {
        if (!fail(connected.status())) break;
        continue;
      }
      remote = std::move(*connected);
      if (!Publish(slot, remote.get())) break;
    }
    if (run) {
      if (hooks_.running) hooks_.running(way);
      auto stats = way == Direction::kPull ? Replicate(*remote, local, options_)
                                           : Replicate(local, *remote, options_);
      if (!stats.ok()) {
        if (!fail(stats.status())) break;
        continue;
      }
      retry_ns = timing_.retry_ns;
      since = stats->source_revision;
      if (hooks_.done) hooks_.done(way, *stats);
    }
    Peer& source = way == Direction::kPull ? *remote : static_cast<Peer&>(local);
    auto waited = source.Wait({since, options_.branches, options_.prefix, timing_.wait_ms,
                               options_.hash_ranges, timing_.each_revision});
    if (!waited.ok()) {
      if (!fail(waited.status())) break;
      continue;
    }
    if (waited->busy) {  // no long poll to be had: replicate now and then
      if (!Pause(timing_.busy_pause_ns)) break;
      run = true;
      continue;
    }
    run = waited->changed;
    if (!run) {
      since = waited->revision;
      if (hooks_.caught_up) hooks_.caught_up(way, since);
    }
  }
  Publish(slot, nullptr);
  remote.reset();
  {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
  }
  wake_.notify_all();
}

}  // namespace kvs::replication
