// The FastCGI thread pool.
#include "fcgi/fastcgi_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fcgi/cgi_gateway.h"
#include "fcgi/fastcgi_connection.h"

namespace kvs::server {
namespace {

// What the workers share.
struct Pool {
  int listen_fd;
  int stop_fd;  // readable once the server is stopping (a pipe's read end)
  Service* service;
  std::mutex accept_mu;               // held by the one thread waiting for a connection
  std::atomic<bool> stopping{false};  // set before stop_fd becomes readable
};

// How long a worker waits for the web server on one connection: for the
// next bytes of a request, for room to write the answer, and between the
// requests of a kept connection. A web server sends a request at once
// (nginx and mod_fcgid read the client's body before they connect), so
// only a peer that holds a worker thread without using it waits this long,
// and then loses its connection instead of keeping the thread from others.
constexpr int kPeerTimeoutSeconds = 10;

// Blocks until input is waiting on fd (true), or the server stops or
// timeout_ms passes (false; -1 waits without a limit).
bool WaitForInput(int fd, int stop_fd, int timeout_ms) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  for (;;) {
    int ready = poll(fds, 2, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || fds[1].revents != 0) return false;
    if (fds[0].revents != 0) return true;
  }
}

// Serves the requests of one connection until it ends, or until the server
// stops while it waits for another request on a kept connection.
void ServeConnection(FastCgiConnection& connection, const Pool& pool, int fd) {
  connection.Reset(fd);
  const timeval timeout{kPeerTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  for (bool first = true;; first = false) {
    if (!first) {
      if (!connection.keep_open()) return;
      if (!connection.has_buffered_input() &&
          !WaitForInput(fd, pool.stop_fd, kPeerTimeoutSeconds * 1000)) {
        return;
      }
    }
    if (!connection.NextRequest()) return;
    BodyReader read = [&connection](char* buffer, size_t size) {
      return connection.ReadBody(buffer, size);
    };
    std::string log;
    std::string out = HandleCgiRequest(connection.params(), read, *pool.service, &log);
    if (!log.empty()) log += "\n";
    // A web server that went away makes this fail; there is no one left to tell.
    if (!connection.Respond(out, log)) return;
  }
}

void Worker(Pool& pool) {
  FastCgiConnection connection;
  for (;;) {
    int fd;
    {
      // Accept first and wait only when no connection is queued: under load
      // one is, and the poll() would be a system call per request for
      // nothing. The stop flag is checked before each accept, so a busy
      // server still stops after the requests it is serving.
      std::lock_guard<std::mutex> lock(pool.accept_mu);
      if (pool.stopping.load(std::memory_order_acquire)) break;
      fd = accept4(pool.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          // Nothing queued (or another process took it): wait for more.
          if (!WaitForInput(pool.listen_fd, pool.stop_fd, -1)) break;
        } else if (errno != EINTR && errno != ECONNABORTED) {
          // Out of file descriptors and the like: retried after a pause,
          // not spun on.
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        continue;
      }
    }
    if (WebServerAllowed(fd, std::getenv("FCGI_WEB_SERVER_ADDRS"))) {
      ServeConnection(connection, pool, fd);
    }
    close(fd);
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
  Pool pool{listen_fd, stop_pipe[0], &service, {}};
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
  close(stop_pipe[0]);
  return Status::OK();
}

}  // namespace kvs::server
