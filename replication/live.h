// Live replication: `kvs sync URL --live` and a server's peers configured
// with live: true. Instead of running every interval, each direction runs
// again as soon as its source changed:
//
//   pull  replicate remote -> local, then long-poll the remote (wait, at
//         most wait_ms) for a change after the revision that run started
//         from, and again;
//   push  replicate local -> remote, then wait the same way for the local
//         store (which other processes write too: it is polled).
//
// Each direction has its own thread and its own connection (one HTTP
// client carries one request at a time), made anew after a failure, which
// is retried after a pause doubling from retry_ns up to max_retry_ns. A
// remote that is too busy to hold a long poll answers at once; then the
// direction replicates every busy_pause instead. Writes made while a run
// is in flight are seen by the next wait (it starts from the revision the
// run started from), so none waits for a later change to travel.
#ifndef KVS_REPLICATION_LIVE_H_
#define KVS_REPLICATION_LIVE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "replication/direction.h"
#include "replication/local_peer.h"
#include "replication/replicator.h"

namespace kvs::replication {

struct LiveTiming {
  uint64_t wait_ms = 20000;  // per long poll; a server answers within 25 s
  int64_t retry_ns = int64_t{1} * 1000000000;
  int64_t max_retry_ns = int64_t{300} * 1000000000;
  int64_t busy_pause_ns = int64_t{1} * 1000000000;
  // A wait ends at each new revision of the source, so that caught_up says
  // how far the direction has seen (WaitRequest::each_revision).
  bool each_revision = false;
};

struct LiveHooks {
  // Before a run starts, and after it succeeded, with its figures. May be
  // empty; called from the direction's thread.
  std::function<void(Direction)> running;
  std::function<void(Direction, const ReplicateStats&)> done;
  // After a wait that found nothing new: the direction is up to date, with
  // everything it would copy of the source's revisions up to `revision`.
  std::function<void(Direction, uint64_t revision)> caught_up;
  // After a connection, a run or a wait failed; the direction tries again
  // after retry_ns.
  std::function<void(Direction, const Status&, int64_t retry_ns)> failed;
};

// Makes a connection to the remote side (HttpPeer::Connect, with the
// secret read anew).
using ConnectRemote = std::function<Result<std::unique_ptr<Peer>>()>;

class LiveReplication {
 public:
  // store outlives it; its side is a LocalPeer with local (whose stop is
  // set here). direction kSync runs a pull thread and a push thread.
  LiveReplication(Store& store, LocalPeerOptions local, ConnectRemote connect, Direction direction,
                  ReplicateOptions options, LiveHooks hooks, LiveTiming timing = {});
  // Stop().
  ~LiveReplication();
  LiveReplication(const LiveReplication&) = delete;
  LiveReplication& operator=(const LiveReplication&) = delete;

  void Start();
  // Ends both directions and joins their threads: a wait or a message in
  // flight is cut (a cut run is resumed from its checkpoint by the next).
  void Stop();
  // Ends a pause after a failure (or a busy remote) at once, so that the
  // next attempt runs now: for a request waiting on what it brings.
  void Nudge();

 private:
  void Loop(size_t slot, Direction way);
  // Sleeps for ns, or until Stop; false when stopping.
  bool Pause(int64_t ns);
  // Sets (or clears, with nullptr) the remote Stop must interrupt for a
  // direction; false when stopping.
  bool Publish(size_t slot, Peer* remote);

  Store& store_;
  LocalPeerOptions local_;
  ConnectRemote connect_;
  Direction direction_;
  ReplicateOptions options_;
  LiveHooks hooks_;
  LiveTiming timing_;

  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  Peer* remotes_[2] = {nullptr, nullptr};  // Guarded by mu_; one per thread
  bool nudged_ = false;                    // Guarded by mu_
  int running_ = 0;                        // Guarded by mu_; threads not yet ended
  std::vector<std::thread> threads_;
};

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_LIVE_H_
