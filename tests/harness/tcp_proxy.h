// A TCP proxy for fault-injection tests: listens on 127.0.0.1 (a free port)
// and forwards each connection to 127.0.0.1:target, while the test switches
// what the network does at any moment: pass, drop (a partition), added
// latency, every open connection cut now, or each connection cut after N
// bytes (in the middle of a message).
//
// A thread accepts, and one thread per connection copies bytes both ways
// (poll on both sockets). Faults are shutdown() calls on the sockets, which
// wake those threads; each thread closes its own sockets. Either side
// closing ends the whole connection (no half-close: HTTP does not need it).
// The destructor stops every thread and closes every socket, so a failing
// test leaves nothing behind.
#ifndef KVS_TESTS_HARNESS_TCP_PROXY_H_
#define KVS_TESTS_HARNESS_TCP_PROXY_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <thread>

namespace kvs::server::test {

class TcpProxy {
 public:
  // Listens at once; until a target is set, connections are closed as they
  // come (as in drop mode).
  explicit TcpProxy(int target_port = 0);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // Where new connections go; open ones keep their target.
  void SetTarget(int port) { target_port_ = port; }

  // A healthy network again: new connections are forwarded, with no delay
  // and no cut (ends every fault below).
  void Pass();
  // A partition: open connections are cut, new ones closed once accepted.
  void Drop();
  // Holds every chunk this long before forwarding it (zero: none).
  void SetDelay(std::chrono::milliseconds delay) { delay_ms_ = delay.count(); }
  // Cuts each connection once it has forwarded this many bytes, both ways
  // together, counted from its start (zero: never).
  void SetCutAfter(uint64_t bytes) { cut_after_ = bytes; }
  // Closes every open connection now, whatever it is in the middle of.
  void CutAll();

  // Bytes forwarded so far, both ways, all connections: moving while a
  // transfer goes through.
  uint64_t bytes_forwarded() const { return bytes_forwarded_; }

 private:
  struct Connection {
    int client = -1;    // guarded by mu_; -1 once closed by its thread
    int upstream = -1;  // guarded by mu_
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void AcceptLoop();
  void Forward(Connection* connection);
  // shutdown() of both sockets of every open connection; needs mu_ held.
  void CutAllLocked();
  // Joins the threads of connections that ended; needs mu_ not held.
  void Reap();

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> target_port_;
  std::atomic<bool> dropping_{false};
  std::atomic<int64_t> delay_ms_{0};
  std::atomic<uint64_t> cut_after_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> bytes_forwarded_{0};
  std::mutex mu_;
  std::list<Connection> open_;  // guarded by mu_ (the list, and each fd)
  std::thread accept_thread_;
};

}  // namespace kvs::server::test

#endif  // KVS_TESTS_HARNESS_TCP_PROXY_H_
