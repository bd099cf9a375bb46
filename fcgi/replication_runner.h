// Background replication: while kvs-fcgi serves FastCGI, a thread runs each
// peer of the config's replication: section every interval (pull, push or
// both, as `kvs sync` does), and records how it went on the service's
// status board for GET /_replication. A failed run is retried after twice
// the wait of the one before (from interval up to 5 minutes; a cluster's
// own pulls are its node's, cluster/cluster_node.h, and back off at most
// 10 s). A peer with
// live: true runs instead as either side changes (replication/live.h, its
// own threads), backing off the same way from 1 s. The secret file is read
// again for every run (a live peer's: for every connection), so a new
// secret takes effect without a restart. Plain CGI serves one request per
// process and runs none: there, `kvs sync` from cron does the same.
#ifndef KVS_FCGI_REPLICATION_RUNNER_H_
#define KVS_FCGI_REPLICATION_RUNNER_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "http/service.h"
#include "replication/live.h"

namespace kvs::server {

class ReplicationRunner {
 public:
  // Sets service.replication and starts the threads when the config names
  // peers; else does nothing.
  explicit ReplicationRunner(Service& service);
  // Stops the threads: the interval thread after the run it may be in
  // (each message of a run times out: a peer that stopped answering cannot
  // hold it for long); live peers at once.
  ~ReplicationRunner();
  ReplicationRunner(const ReplicationRunner&) = delete;
  ReplicationRunner& operator=(const ReplicationRunner&) = delete;

 private:
  void Run();
  // One run of peer i; returns its error, OK when it succeeded.
  Status RunPeer(size_t i);
  // Adds a run's figures to peer i's status.
  void Count(size_t i, replication::Direction way, const replication::ReplicateStats& stats);
  std::unique_ptr<replication::LiveReplication> StartLive(size_t i);

  Service& service_;
  std::vector<int64_t> due_ns_;  // when each interval peer runs next (steady clock)
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;   // Guarded by mu_
  std::thread thread_;  // runs the interval peers; none when all are live
  std::vector<std::unique_ptr<replication::LiveReplication>> live_;
};

}  // namespace kvs::server

#endif  // KVS_FCGI_REPLICATION_RUNNER_H_
