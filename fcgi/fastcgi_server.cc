// The FastCGI thread pool.
#include "fcgi/fastcgi_server.h"

#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fcgi/cgi_gateway.h"

namespace kvs::fcgi {
namespace {

// What the workers share.
struct Pool {
  int listen_fd;
  int stop_fd;  // readable once the server is stopping (a pipe's read end)
  Service* service;
  std::mutex accept_mu;               // held by the one thread waiting for a connection
  std::atomic<bool> stopping{false};  // set before stop_fd becomes readable
};

// Blocks until a connection is waiting (true) or the server stops (false).
bool WaitForConnection(const Pool& pool) {
  pollfd fds[2] = {{pool.listen_fd, POLLIN, 0}, {pool.stop_fd, POLLIN, 0}};
  for (;;) {
    int ready = poll(fds, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0 || fds[1].revents != 0) return false;
    if (fds[0].revents != 0) return true;
  }
}

void Serve(FCGX_Request& request, Service& service) {
  BodyReader read = [&request](char* buffer, size_t size) -> size_t {
    int got = FCGX_GetStr(buffer, static_cast<int>(size), request.in);
    return got > 0 ? static_cast<size_t>(got) : 0;
  };
  std::string log;
  std::string out = HandleCgiRequest(request.envp, read, service, &log);
  if (!log.empty()) {
    log += "\n";
    FCGX_PutStr(log.data(), static_cast<int>(log.size()), request.err);
  }
  // A client that went away makes this fail; there is no one left to tell.
  FCGX_PutStr(out.data(), static_cast<int>(out.size()), request.out);
}

void Worker(Pool& pool) {
  FCGX_Request request;
  FCGX_InitRequest(&request, pool.listen_fd, 0);
  for (;;) {
    {
      // Accept first and wait only when no connection is queued: under load
      // one is, and the poll() would be a system call per request for
      // nothing. The stop flag is checked before each accept, so a busy
      // server still stops after the requests it is serving.
      std::lock_guard<std::mutex> lock(pool.accept_mu);
      if (pool.stopping.load(std::memory_order_acquire)) break;
      int accepted = FCGX_Accept_r(&request);
      if (accepted < 0) {
        if (accepted == -EAGAIN || accepted == -EWOULDBLOCK) {
          // Nothing queued (or another process took it): wait for more.
          if (!WaitForConnection(pool)) break;
        } else {
          // Out of file descriptors and the like: retried after a pause,
          // not spun on.
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        continue;
      }
    }
    Serve(request, *pool.service);
    FCGX_Finish_r(&request);
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
  close(stop_pipe[1]);
  for (std::thread& worker : workers) worker.join();
  close(stop_pipe[0]);
  return Status::OK();
}

}  // namespace kvs::fcgi
