// Fuzz target: the FastCGI record stream a web server sends on one
// connection (fcgi/fastcgi_connection.h), and the CGI variables and body
// the front end makes of each request (fcgi/cgi_gateway.h).
//
// Input: the bytes the web server sends, as they would arrive on the
// socket, before it closes its end. Each request whose params are complete
// is turned into a Request, its body read, and answered with a small
// response, as kvs-fcgi's workers do (without routing it: fuzz_route covers
// the handlers). The seeds in fuzz/corpus/fastcgi/ are record streams as
// nginx sends them.
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fcgi/cgi_gateway.h"
#include "fcgi/fastcgi_connection.h"

namespace kvs::server {
namespace {

// A connection whose web server has sent input and closed its sending
// side, in a socket pair one thread can play both ends of without ever
// waiting (a second thread would cost a wakeup per execution, slow on a
// busy machine): every input byte is in the socket before the connection
// reads, and the connection's end is non-blocking, so a read at the end of
// the input gives 0 as it would, and an answer that overflows the socket's
// buffer (as large as the kernel allows) fails to write, as when a web
// server stops reading, and ends the connection. Input beyond that buffer
// is cut off, as by a web server that went away. Returns the two ends:
// the connection's first.
std::array<int, 2> ConnectionWithInput(std::string_view input) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    std::perror("fuzz: socketpair");
    std::abort();
  }
  int size = 1 << 30;  // the kernel caps it
  for (int fd : fds) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  while (!input.empty()) {
    ssize_t n = write(fds[1], input.data(), input.size());
    if (n <= 0) break;
    input.remove_prefix(static_cast<size_t>(n));
  }
  shutdown(fds[1], SHUT_WR);
  return {fds[0], fds[1]};
}

void ServeConnection(int fd) {
  static FastCgiConnection connection;  // reused, as a worker reuses its own
  connection.Reset(fd);
  do {
    if (!connection.NextRequest()) return;
    Request request = RequestFromCgiVariables(connection.params());
    BodyReader read = [](char* buffer, size_t size) { return connection.ReadBody(buffer, size); };
    auto error = ReadBody(read, Limits().max_body_bytes, &request);
    Response response = error ? ErrorResponse(*error, Format::kText)
                              : ContentResponse("text/plain", request.path_info);
    if (!connection.Respond(SerializeCgiResponse(response, request.method == "HEAD"), "")) return;
  } while (connection.keep_open());
}

}  // namespace
}  // namespace kvs::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto fds =
      kvs::server::ConnectionWithInput(std::string_view(reinterpret_cast<const char*>(data), size));
  kvs::server::ServeConnection(fds[0]);
  for (int fd : fds) close(fd);
  return 0;
}
