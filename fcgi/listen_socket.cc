// Creating listening sockets.
#include "fcgi/listen_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace kvs::server {
namespace {

// Connections the kernel queues before a worker thread accepts one. nginx
// opens one per request it passes on and answers 502 when the queue is
// full, so a burst of requests beyond the worker threads must fit: the
// kernel's own bound (net.core.somaxconn) is the limit that counts.
constexpr int kBacklog = 4096;

// Where systemd puts the first socket it passes (SD_LISTEN_FDS_START).
constexpr int kSystemdFirstFd = 3;

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

Result<int> SystemdSocketCount(const char* listen_pid, const char* listen_fds, pid_t self) {
  if (listen_pid == nullptr || listen_fds == nullptr) return 0;
  std::string_view pid_text = listen_pid;
  pid_t pid = 0;
  auto [pid_end, pid_ec] = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
  if (pid_ec != std::errc() || pid_end != pid_text.data() + pid_text.size() || pid != self) {
    return 0;
  }
  std::string_view fds_text = listen_fds;
  int count = 0;
  auto [end, ec] = std::from_chars(fds_text.data(), fds_text.data() + fds_text.size(), count);
  if (fds_text.empty() || ec != std::errc() || end != fds_text.data() + fds_text.size() ||
      count < 0) {
    return Status::InvalidArgument("LISTEN_FDS must be a number of sockets, not '" +
                                   std::string(fds_text) + "'");
  }
  return count;
}

Result<std::optional<int>> TakeSystemdSocket() {
  auto count = SystemdSocketCount(std::getenv("LISTEN_PID"), std::getenv("LISTEN_FDS"), getpid());
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  if (!count.ok()) return count.status();
  if (*count == 0) return std::optional<int>();
  if (*count > 1) {
    return Status::InvalidArgument(
        "systemd passed " + std::to_string(*count) +
        " sockets (LISTEN_FDS); kvs-fcgi serves one: give its socket unit one ListenStream=");
  }
  const int fd = kSystemdFirstFd;
  int type = 0, listening = 0;
  socklen_t type_size = sizeof type, listening_size = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_size) != 0 || type != SOCK_STREAM ||
      getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &listening_size) != 0 || !listening) {
    return Status::InvalidArgument(
        "the socket systemd passed (fd 3) is not a listening stream socket: give the socket "
        "unit ListenStream=, and Accept=no");
  }
  // Not for a later child, as the sockets kvs-fcgi creates are not.
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return std::optional<int>(fd);
}

}  // namespace kvs::server
