// Background replication: while kvs-fcgi serves FastCGI, a thread runs each
// peer of the config's replication: section every interval (pull, push or
// both, as `kvs sync` does), and records how it went on the service's
// status board for GET /_replication. A failed run is retried after twice
// the wait of the one before (from interval up to kMaxBackoff). The secret
// file is read again for every run, so a new secret takes effect without a
// restart. Plain CGI serves one request per process and runs none: there,
// `kvs sync` from cron does the same.
#ifndef KVS_FCGI_REPLICATION_RUNNER_H_
#define KVS_FCGI_REPLICATION_RUNNER_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "http/service.h"

namespace kvs::server {

inline constexpr int64_t kMaxBackoff = int64_t{300} * 1000000000;  // 5 minutes

class ReplicationRunner {
 public:
  // Sets service.replication and starts the thread when the config names
  // peers; else does nothing.
  explicit ReplicationRunner(Service& service);
  // Stops the thread, after the run it may be in (each message of a run
  // times out: a peer that stopped answering cannot hold it for long).
  ~ReplicationRunner();
  ReplicationRunner(const ReplicationRunner&) = delete;
  ReplicationRunner& operator=(const ReplicationRunner&) = delete;

 private:
  void Run();
  // One run of peer i; returns its error, OK when it succeeded.
  Status RunPeer(size_t i);

  Service& service_;
  std::vector<int64_t> due_ns_;  // when each peer runs next (steady clock)
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // Guarded by mu_
  std::thread thread_;
};

}  // namespace kvs::server

#endif  // KVS_FCGI_REPLICATION_RUNNER_H_
