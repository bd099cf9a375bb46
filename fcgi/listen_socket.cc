// Creating listening sockets.
#include "fcgi/listen_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace kvs::server {
namespace {

// Connections the kernel queues before a worker thread accepts one. nginx
// opens one per request it passes on and answers 502 when the queue is
// full, so a burst of requests beyond the worker threads must fit: the
// kernel's own bound (net.core.somaxconn) is the limit that counts.
constexpr int kBacklog = 4096;

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

}  // namespace

Result<int> ListenUnix(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    return Status::InvalidArgument("socket path must be 1 to " +
                                   std::to_string(sizeof address.sun_path - 1) + " bytes: " + path);
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  struct stat existing;
  if (lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      return Status::InvalidArgument(path + " exists and is not a socket; not replacing it");
    }
    unlink(path.c_str());
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      chmod(path.c_str(), 0660) != 0 || listen(fd, kBacklog) != 0) {
    Status status = Errno("cannot listen on " + path);
    close(fd);
    return status;
  }
  return fd;
}

Result<int> ListenTcp(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("--listen needs HOST:PORT, like 127.0.0.1:9000, not " + address);
  }
  std::string host = address.substr(0, colon);
  std::string port_text = address.substr(colon + 1);
  uint16_t port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  sockaddr_in socket_address{};
  socket_address.sin_family = AF_INET;
  socket_address.sin_port = htons(port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      inet_pton(AF_INET, host.c_str(), &socket_address.sin_addr) != 1) {
    return Status::InvalidArgument(
        "--listen needs a numeric IPv4 HOST:PORT, like 127.0.0.1:9000, not " + address);
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&socket_address), sizeof socket_address) != 0 ||
      listen(fd, kBacklog) != 0) {
    Status status = Errno("cannot listen on " + address);
    close(fd);
    return status;
  }
  return fd;
}

}  // namespace kvs::server
