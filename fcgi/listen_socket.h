// The listening sockets kvs-fcgi can serve FastCGI on: one it creates
// (--socket, --listen), or one systemd passes it (socket activation). A
// socket inherited as fd 0 (spawn-fcgi, mod_fcgid) needs nothing from here.
#ifndef KVS_FCGI_LISTEN_SOCKET_H_
#define KVS_FCGI_LISTEN_SOCKET_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "kvs/status.h"

namespace kvs::server {

// A unix socket at path, replacing a stale socket file left there (but no
// other kind of file), readable and writable by owner and group (mode 0660),
// so a web server in the owner's group can connect. Returns the fd.
Result<int> ListenUnix(const std::string& path);

// A TCP socket on "HOST:PORT", HOST a numeric IPv4 address (127.0.0.1 to
// serve only the local web server). Returns the fd.
Result<int> ListenTcp(const std::string& address);

// How many sockets systemd passed this process, by the protocol of
// sd_listen_fds(3): LISTEN_FDS when LISTEN_PID is self, else 0 (the
// variables were meant for another process, such as a parent). listen_pid
// and listen_fds are the variables' values, nullptr when unset.
// InvalidArgument when LISTEN_PID names self and LISTEN_FDS is not a count.
Result<int> SystemdSocketCount(const char* listen_pid, const char* listen_fds, pid_t self);

// The listening socket systemd passed this process (a socket unit's
// ListenStream=), which the protocol puts at fd 3; nullopt when none was
// passed. Removes LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from the
// environment either way, as sd_listen_fds(3) does, so call it before any
// thread starts. InvalidArgument when systemd passed more than one socket,
// or fd 3 is not a listening stream socket.
Result<std::optional<int>> TakeSystemdSocket();

}  // namespace kvs::server

#endif  // KVS_FCGI_LISTEN_SOCKET_H_
