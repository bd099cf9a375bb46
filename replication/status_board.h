// What the server's background replication is doing, per configured peer:
// written by its runner (fcgi/replication_runner.h), read by
// GET /_replication (faces/replication/replication_status.h). Thread-safe.
#ifndef KVS_REPLICATION_STATUS_BOARD_H_
#define KVS_REPLICATION_STATUS_BOARD_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kvs::replication {

struct PeerStatus {
  std::string url;
  std::string mode;               // push, pull or sync
  bool live = false;              // runs as either side changes, not every interval
  std::string state = "waiting";  // running, waiting, backing off
  int64_t last_attempt_ns = 0;    // 0: none yet
  int64_t last_success_ns = 0;
  int64_t next_attempt_ns = 0;
  std::string last_error;  // of the last attempt that failed
  int64_t last_error_ns = 0;
  uint64_t failures = 0;           // in a row, since the last success
  uint64_t versions_received = 0;  // since the server started
  uint64_t versions_sent = 0;
  // Every local revision up to this one had been sent when the last
  // successful run started (push and sync only).
  uint64_t pushed_through = 0;

  // Seconds from when the peer was last up to date (from the first attempt,
  // before one succeeded) to now_ns; nullopt before any attempt.
  std::optional<double> LagSeconds(int64_t now_ns) const {
    const int64_t since = last_success_ns != 0 ? last_success_ns : last_attempt_ns;
    if (since == 0) return std::nullopt;
    return static_cast<double>(now_ns - since) / 1e9;
  }
};

class StatusBoard {
 public:
  explicit StatusBoard(std::vector<PeerStatus> peers) : peers_(std::move(peers)) {}

  void Update(size_t peer, const std::function<void(PeerStatus&)>& change) {
    std::lock_guard<std::mutex> lock(mu_);
    change(peers_.at(peer));
  }
  std::vector<PeerStatus> Peers() const {
    std::lock_guard<std::mutex> lock(mu_);
    return peers_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<PeerStatus> peers_;  // Guarded by mu_
};

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_STATUS_BOARD_H_
