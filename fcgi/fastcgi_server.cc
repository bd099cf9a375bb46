// The FastCGI thread pool.
#include "fcgi/fastcgi_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fcgi/cgi_gateway.h"
#include "fcgi/fastcgi_connection.h"

namespace kvs::server {
namespace {

// How long a worker waits for the web server on one connection: for the
// next bytes of a request and for room to write the answer; and how long a
// kept connection may idle between requests before it is closed. A web
// server sends a request at once (nginx and mod_fcgid read the client's
// body before they connect), so only a peer that holds a connection
// without using it waits this long, and then loses its connection.
constexpr int kPeerTimeoutSeconds = 10;
// How often the accepting thread looks for kept connections idle too long.
constexpr int kIdleSweepMs = 1000;

using Clock = std::chrono::steady_clock;

// What the workers share.
//
// A kept connection (FCGI_KEEP_CONN) that idles between requests holds a
// worker thread only while fewer than max_watching threads do so: that
// thread waits for the connection's next request itself, the cheapest way
// to serve it. Any other is parked in `idle` and in the epoll set, and its
// worker goes back to waiting for work. The one thread waiting for work
// (holding accept_mu) waits on the epoll set, which holds the listening
// socket, the stop pipe and every parked connection, and takes whichever is
// ready first: a new connection or the next request on a parked one. So
// nginx may keep more connections open than there are threads (a pool per
// nginx worker) without requests waiting for a thread that an idle
// connection holds.
struct Pool {
  int listen_fd;
  int stop_fd;   // readable once the server is stopping (a pipe's read end)
  int epoll_fd;  // listen_fd, stop_fd and the parked connections
  Service* service;
  int max_watching;  // threads that may wait on their own kept connection
  std::atomic<int> watching{0};
  std::mutex accept_mu{};             // held by the one thread waiting for work
  std::atomic<bool> stopping{false};  // set before stop_fd becomes readable
  Clock::time_point last_sweep;       // of idle; guarded by accept_mu
  std::mutex idle_mu{};
  // The parked connections and when each idles too long. Guarded by
  // idle_mu; added to by any worker, removed from by the thread holding
  // accept_mu (or by Park, for a connection epoll refused).
  std::map<int, Clock::time_point> idle{};
};

// Parks a kept connection between requests (see Pool); closes it when it
// cannot be watched.
void Park(Pool& pool, int fd) {
  {
    std::lock_guard<std::mutex> lock(pool.idle_mu);
    pool.idle[fd] = Clock::now() + std::chrono::seconds(kPeerTimeoutSeconds);
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = fd;
  if (epoll_ctl(pool.epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
    std::lock_guard<std::mutex> lock(pool.idle_mu);
    pool.idle.erase(fd);
    close(fd);
  }
}

// Takes a parked connection out of the epoll set and the idle map, to be
// served (or closed) by the caller. Only with accept_mu held.
void Unpark(Pool& pool, int fd) {
  epoll_ctl(pool.epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
  std::lock_guard<std::mutex> lock(pool.idle_mu);
  pool.idle.erase(fd);
}

// Closes the parked connections idle past their time. Only with accept_mu
// held.
void CloseIdleTooLong(Pool& pool) {
  std::vector<int> expired;
  {
    std::lock_guard<std::mutex> lock(pool.idle_mu);
    const Clock::time_point now = Clock::now();
    for (const auto& [fd, deadline] : pool.idle) {
      if (deadline <= now) expired.push_back(fd);
    }
  }
  for (int fd : expired) {
    Unpark(pool, fd);
    close(fd);
  }
}

// Serves the requests of one connection until it ends (false: the caller
// closes it) or is kept open with nothing more to read yet (true: the
// caller waits for its next request, or parks it).
bool ServeConnection(FastCgiConnection& connection, const Pool& pool, int fd) {
  connection.Reset(fd);
  for (;;) {
    if (!connection.NextRequest()) return false;
    BodyReader read = [&connection](char* buffer, size_t size) {
      return connection.ReadBody(buffer, size);
    };
    std::string log;
    std::string out = HandleCgiRequest(connection.params(), read, *pool.service, &log);
    if (!log.empty()) log += "\n";
    // A web server that went away makes this fail; there is no one left to tell.
    if (!connection.Respond(out, log) || !connection.keep_open()) return false;
    // Bytes of the next request already read stay with this connection's
    // buffer, so it is served here; otherwise it may idle without a thread.
    if (!connection.has_buffered_input()) return true;
  }
}

// Waits for the next connection to serve, new or kept, while holding
// accept_mu; -1 once the server stops.
int NextConnection(Pool& pool) {
  for (;;) {
    if (pool.stopping.load(std::memory_order_acquire)) return -1;
    // Accept first and wait only when no connection is queued: under load
    // one is, and the wait would be a system call per request for nothing.
    // The stop flag is checked before each accept, so a busy server still
    // stops after the requests it is serving.
    int fd = accept4(pool.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      if (!WebServerAllowed(fd, std::getenv("FCGI_WEB_SERVER_ADDRS"))) {
        close(fd);
        continue;
      }
      const timeval timeout{kPeerTimeoutSeconds, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      return fd;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
      // Out of file descriptors and the like: retried after a pause, not
      // spun on.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    // Nothing queued (or another process took it): wait for a connection,
    // a request on a parked one, or the stop.
    bool any_idle;
    {
      std::lock_guard<std::mutex> lock(pool.idle_mu);
      any_idle = !pool.idle.empty();
    }
    epoll_event event;
    int ready = epoll_wait(pool.epoll_fd, &event, 1, any_idle ? kIdleSweepMs : -1);
    if (Clock::now() - pool.last_sweep >= std::chrono::milliseconds(kIdleSweepMs)) {
      CloseIdleTooLong(pool);
      pool.last_sweep = Clock::now();
    }
    if (ready <= 0 || event.data.fd == pool.listen_fd) continue;
    if (event.data.fd == pool.stop_fd) return -1;
    bool parked;
    {
      std::lock_guard<std::mutex> lock(pool.idle_mu);
      parked = pool.idle.count(event.data.fd) != 0;
    }
    if (!parked) continue;  // closed by the sweep above
    Unpark(pool, event.data.fd);
    return event.data.fd;
  }
}

// Blocks until input is waiting on fd (true), or the server stops or
// timeout_ms passes (false).
bool WaitForInput(int fd, int stop_fd, int timeout_ms) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  for (;;) {
    int ready = poll(fds, 2, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || fds[1].revents != 0) return false;
    if (fds[0].revents != 0) return true;
  }
}

void Worker(Pool& pool) {
  FastCgiConnection connection;
  for (;;) {
    int fd;
    {
      std::lock_guard<std::mutex> lock(pool.accept_mu);
      fd = NextConnection(pool);
    }
    if (fd < 0) break;
    for (;;) {
      if (!ServeConnection(connection, pool, fd) || pool.stopping.load(std::memory_order_acquire)) {
        close(fd);
        break;
      }
      // While few threads do, wait for the connection's next request here:
      // that costs one wake-up, where a parked connection's request passes
      // through the waiting thread to another. The rest are parked, so
      // that most threads stay free for new work.
      if (pool.watching.fetch_add(1) >= pool.max_watching) {
        pool.watching.fetch_sub(1);
        Park(pool, fd);
        break;
      }
      bool next = WaitForInput(fd, pool.stop_fd, kPeerTimeoutSeconds * 1000);
      pool.watching.fetch_sub(1);
      if (!next) {
        close(fd);
        break;
      }
    }
  }
}

}  // namespace

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  return signals;
}

Status ServeFastCgi(int listen_fd, int threads, Service& service) {
  int flags = fcntl(listen_fd, F_GETFL);
  if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return Status::IOError(std::string("cannot make the listening socket non-blocking: ") +
                           std::strerror(errno));
  }
  int stop_pipe[2];
  if (pipe2(stop_pipe, O_CLOEXEC) != 0) {
    return Status::IOError(std::string("pipe: ") + std::strerror(errno));
  }
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event listen_event{}, stop_event{};
  listen_event.events = stop_event.events = EPOLLIN;
  listen_event.data.fd = listen_fd;
  stop_event.data.fd = stop_pipe[0];
  if (epoll_fd < 0 || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &listen_event) != 0 ||
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, stop_pipe[0], &stop_event) != 0) {
    Status status = Status::IOError(std::string("epoll: ") + std::strerror(errno));
    if (epoll_fd >= 0) close(epoll_fd);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    return status;
  }
  Pool pool{.listen_fd = listen_fd,
            .stop_fd = stop_pipe[0],
            .epoll_fd = epoll_fd,
            .service = &service,
            .max_watching = threads / 2,
            .last_sweep = Clock::now()};
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back(Worker, std::ref(pool));

  sigset_t stop = StopSignals();
  int signal_number = 0;
  while (sigwait(&stop, &signal_number) != 0) {
  }
  // Closing the write end makes the read end readable for every worker.
  pool.stopping.store(true, std::memory_order_release);
  service.stopping.store(true);  // long polls in flight end too
  close(stop_pipe[1]);
  for (std::thread& worker : workers) worker.join();
  // The web server sees its kept connections end, and opens new ones to
  // whatever serves the socket next.
  for (const auto& [fd, deadline] : pool.idle) close(fd);
  close(epoll_fd);
  close(stop_pipe[0]);
  return Status::OK();
}

}  // namespace kvs::server
