#include "tests/harness/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <vector>

namespace kvs::server::test {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A connection to 127.0.0.1:port, or -1 (nothing listens there): called
// from the accept thread, so it reports instead of failing the test.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address = Loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  NoDelay(fd);
  return fd;
}

bool SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t sent = send(fd, data, size, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    data += sent;
    size -= static_cast<size_t>(sent);
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listen_fd_ >= 0);
  sockaddr_in address = Loopback(0);
  REQUIRE(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(listen(listen_fd_, 128) == 0);
  socklen_t length = sizeof address;
  REQUIRE(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  port_ = ntohs(address.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  // On Linux, shutdown() of a listening socket wakes the blocked accept().
  shutdown(listen_fd_, SHUT_RDWR);
  accept_thread_.join();
  close(listen_fd_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    CutAllLocked();
  }
  // No connection is added any more; each thread closes its sockets.
  for (Connection& connection : open_) connection.thread.join();
}

void TcpProxy::Pass() {
  dropping_ = false;
  delay_ms_ = 0;
  cut_after_ = 0;
}

void TcpProxy::Drop() {
  std::lock_guard<std::mutex> lock(mu_);
  dropping_ = true;
  CutAllLocked();
}

void TcpProxy::CutAll() {
  std::lock_guard<std::mutex> lock(mu_);
  CutAllLocked();
}

void TcpProxy::CutAllLocked() {
  for (Connection& connection : open_) {
    if (connection.client >= 0) shutdown(connection.client, SHUT_RDWR);
    if (connection.upstream >= 0) shutdown(connection.upstream, SHUT_RDWR);
  }
}

void TcpProxy::Reap() {
  std::vector<std::thread> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = open_.begin(); it != open_.end();) {
      if (!it->done) {
        ++it;
        continue;
      }
      ended.push_back(std::move(it->thread));
      it = open_.erase(it);
    }
  }
  for (std::thread& thread : ended) thread.join();
}

void TcpProxy::AcceptLoop() {
  for (;;) {
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (stopping_) {
      if (client >= 0) close(client);
      return;
    }
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // the listening socket is gone: nothing more to accept
    }
    Reap();
    const int target = target_port_;
    int upstream = dropping_ || target == 0 ? -1 : Connect(target);
    if (upstream < 0) {
      close(client);
      continue;
    }
    NoDelay(client);
    std::lock_guard<std::mutex> lock(mu_);
    if (dropping_) {  // Drop() came while connecting: this one is cut too
      close(client);
      close(upstream);
      continue;
    }
    Connection& connection = open_.emplace_back();
    connection.client = client;
    connection.upstream = upstream;
    connection.thread = std::thread([this, &connection] { Forward(&connection); });
  }
}

void TcpProxy::Forward(Connection* connection) {
  pollfd fds[2];
  {
    std::lock_guard<std::mutex> lock(mu_);
    fds[0] = {connection->client, POLLIN, 0};
    fds[1] = {connection->upstream, POLLIN, 0};
  }
  char buffer[16384];
  uint64_t forwarded = 0;
  // Invariant: while open, forwarded is below the cut-after limit in force.
  bool open = true;
  while (open) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int from = 0; from < 2 && open; ++from) {
      if (fds[from].revents == 0) continue;
      ssize_t got = recv(fds[from].fd, buffer, sizeof buffer, 0);
      if (got <= 0) {  // closed, reset, or shut down by a fault
        open = false;
        break;
      }
      size_t size = static_cast<size_t>(got);
      const uint64_t limit = cut_after_;
      if (limit != 0 && forwarded + size >= limit) {
        size = limit > forwarded ? static_cast<size_t>(limit - forwarded) : 0;
        open = false;
      }
      if (const int64_t delay = delay_ms_; delay > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      }
      if (!SendAll(fds[1 - from].fd, buffer, size)) open = false;
      forwarded += size;
      bytes_forwarded_ += size;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  close(connection->client);
  close(connection->upstream);
  connection->client = -1;
  connection->upstream = -1;
  connection->done = true;
}

}  // namespace kvs::server::test
