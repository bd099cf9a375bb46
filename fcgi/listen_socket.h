// The listening sockets kvs-fcgi can serve FastCGI on, when it does not
// inherit one (fd 0, from spawn-fcgi or mod_fcgid).
#ifndef KVS_FCGI_LISTEN_SOCKET_H_
#define KVS_FCGI_LISTEN_SOCKET_H_

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

}  // namespace kvs::server

#endif  // KVS_FCGI_LISTEN_SOCKET_H_
