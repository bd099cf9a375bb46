// The background replication thread (fcgi/replication_runner.h).
#include "fcgi/replication_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>

#include "common/time.h"
#include "replication/http_peer.h"
#include "replication/local_peer.h"
#include "replication/replicator.h"

namespace kvs::server {
namespace {

// The longest wait after failures in a row (as LiveTiming's).
constexpr int64_t kMaxBackoffNs = int64_t{300} * 1000000000;

}  // namespace

ReplicationRunner::ReplicationRunner(Service& service) : service_(service) {
  const auto& peers = service.config.replication;
  if (peers.empty()) return;
  std::vector<replication::PeerStatus> board;
  for (const config::ReplicationPeer& peer : peers) {
    replication::PeerStatus status;
    status.url = peer.url;
    status.mode = replication::DirectionName(peer.mode);
    status.live = peer.live;
    board.push_back(std::move(status));
  }
  service.replication = std::make_shared<replication::StatusBoard>(std::move(board));
  // Interval peers run once at start; live peers never in the thread.
  due_ns_.assign(peers.size(), std::numeric_limits<int64_t>::max());
  bool any_interval = false;
  for (size_t i = 0; i < peers.size(); ++i) {
    if (peers[i].live) {
      live_.push_back(StartLive(i));
    } else {
      due_ns_[i] = common::SteadyClockNs();
      any_interval = true;
    }
  }
  if (any_interval) thread_ = std::thread([this] { Run(); });
}

ReplicationRunner::~ReplicationRunner() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  live_.clear();
}

std::unique_ptr<replication::LiveReplication> ReplicationRunner::StartLive(size_t i) {
  const config::ReplicationPeer& peer = service_.config.replication[i];
  replication::StatusBoard& board = *service_.replication;
  replication::LiveHooks hooks;
  hooks.running = [&board, i](replication::Direction) {
    board.Update(i, [](replication::PeerStatus& s) {
      s.state = "running";
      s.last_attempt_ns = common::WallClockNs();
    });
  };
  auto succeeded = [&board, i] {
    board.Update(i, [](replication::PeerStatus& s) {
      s.state = "live";
      s.last_success_ns = common::WallClockNs();
      s.next_attempt_ns = 0;
      s.failures = 0;
    });
  };
  hooks.done = [this, i, succeeded](replication::Direction way,
                                    const replication::ReplicateStats& stats) {
    Count(i, way, stats);
    succeeded();
  };
  hooks.caught_up = [succeeded](replication::Direction, uint64_t) { succeeded(); };
  hooks.failed = [&board, &peer, i](replication::Direction way, const Status& status,
                                    int64_t retry_ns) {
    std::fprintf(stderr, "kvs-fcgi: live %s with %s failed (retrying in %llds): %s\n",
                 replication::DirectionName(way).data(), peer.url.c_str(),
                 static_cast<long long>(retry_ns / 1000000000), status.message().c_str());
    board.Update(i, [&](replication::PeerStatus& s) {
      s.state = "backing off";
      s.last_error = status.message();
      s.last_error_ns = common::WallClockNs();
      s.next_attempt_ns = common::WallClockNs() + retry_ns;
      ++s.failures;
    });
  };
  replication::ReplicateOptions options;
  options.branches = peer.branches;
  options.prefix = peer.prefix;
  auto live = std::make_unique<replication::LiveReplication>(
      *service_.store, replication::LocalPeerOptions{service_.config.merge_rules},
      [&peer]() -> Result<std::unique_ptr<replication::Peer>> {
        KVS_ASSIGN_OR_RETURN(std::unique_ptr<replication::HttpPeer> remote,
                             replication::HttpPeer::Connect(peer.url, peer.secret_file));
        return std::unique_ptr<replication::Peer>(std::move(remote));
      },
      peer.mode, options, hooks, replication::LiveTiming{.max_retry_ns = kMaxBackoffNs});
  live->Start();
  return live;
}

void ReplicationRunner::Count(size_t i, replication::Direction way,
                              const replication::ReplicateStats& stats) {
  service_.replication->Update(i, [&](replication::PeerStatus& s) {
    if (way == replication::Direction::kPull) {
      s.versions_received += stats.versions;
    } else {
      s.versions_sent += stats.versions;
      s.pushed_through = stats.source_revision;
    }
  });
}

void ReplicationRunner::Run() {
  const auto& peers = service_.config.replication;
  std::vector<int64_t> wait_ns(peers.size());
  for (size_t i = 0; i < peers.size(); ++i) wait_ns[i] = peers[i].interval_ns;
  for (;;) {
    size_t next = std::min_element(due_ns_.begin(), due_ns_.end()) - due_ns_.begin();
    {
      std::unique_lock<std::mutex> lock(mu_);
      const auto due =
          std::chrono::steady_clock::time_point(std::chrono::nanoseconds(due_ns_[next]));
      if (wake_.wait_until(lock, due, [this] { return stop_; })) return;
    }
    service_.replication->Update(next, [](replication::PeerStatus& s) {
      s.state = "running";
      s.last_attempt_ns = common::WallClockNs();
    });
    Status done = RunPeer(next);
    if (done.ok()) {
      wait_ns[next] = peers[next].interval_ns;
    } else {
      wait_ns[next] = std::min(wait_ns[next] * 2, std::max(kMaxBackoffNs, peers[next].interval_ns));
      std::fprintf(stderr, "kvs-fcgi: replication with %s failed (retrying in %llds): %s\n",
                   peers[next].url.c_str(), static_cast<long long>(wait_ns[next] / 1000000000),
                   done.message().c_str());
    }
    due_ns_[next] = common::SteadyClockNs() + wait_ns[next];
    const int64_t next_wall = common::WallClockNs() + wait_ns[next];
    service_.replication->Update(next, [&](replication::PeerStatus& s) {
      s.next_attempt_ns = next_wall;
      if (done.ok()) {
        s.state = "waiting";
        s.last_success_ns = common::WallClockNs();
        s.failures = 0;
      } else {
        s.state = "backing off";
        s.last_error = done.message();
        s.last_error_ns = common::WallClockNs();
        ++s.failures;
      }
    });
  }
}

Status ReplicationRunner::RunPeer(size_t i) {
  const config::ReplicationPeer& peer = service_.config.replication[i];
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<replication::HttpPeer> remote,
                       replication::HttpPeer::Connect(peer.url, peer.secret_file));
  replication::LocalPeer local(*service_.store, {service_.config.merge_rules});
  replication::ReplicateOptions options;
  options.branches = peer.branches;
  options.prefix = peer.prefix;
  return replication::Exchange(
      local, *remote, peer.mode, options,
      [&](replication::Direction way, const replication::ReplicateStats& stats) {
        Count(i, way, stats);
      });
}

}  // namespace kvs::server
