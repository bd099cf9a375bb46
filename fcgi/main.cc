// kvs-fcgi: the kvs server program. One binary for every way a web server
// runs a program: FastCGI on a socket of its own (--socket, --listen), on a
// socket inherited as fd 0 (spawn-fcgi, Apache mod_fcgid), or plain CGI (one
// process per request, detected by libfcgi's FCGX_IsCGI). It loads the
// config, opens the store once, and hands each request to the router.
#include <fcgiapp.h>
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "fcgi/cgi_gateway.h"
#include "fcgi/cli.h"
#include "fcgi/config.h"
#include "fcgi/fastcgi_server.h"
#include "fcgi/listen_socket.h"
#include "fcgi/service.h"

extern char** environ;

namespace kvs::fcgi {
namespace {

void WriteAll(int fd, const std::string& bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    written += static_cast<size_t>(n);
  }
}

// Plain CGI: the request is in the environment and on stdin; the response
// goes to stdout, log lines to stderr (the web server's error log).
int ServeCgi(Service& service) {
  BodyReader read = [](char* buffer, size_t size) -> size_t {
    for (;;) {
      ssize_t n = ::read(STDIN_FILENO, buffer, size);
      if (n < 0 && errno == EINTR) continue;
      return n > 0 ? static_cast<size_t>(n) : 0;
    }
  };
  std::string log;
  std::string out = HandleCgiRequest(environ, read, service, &log);
  if (!log.empty()) WriteAll(STDERR_FILENO, log + "\n");
  WriteAll(STDOUT_FILENO, out);
  return 0;
}

int Main(int argc, char** argv) {
  // A web server that closed a connection must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  auto cli = ParseCommandLine(argc, argv, std::getenv("KVS_CONFIG"));
  if (!cli.ok()) {
    std::fprintf(stderr, "kvs-fcgi: %s\n\n%s", cli.status().message().c_str(), Usage().c_str());
    return 2;
  }
  if (cli->help) {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }

  if (FCGX_Init() != 0) {
    std::fprintf(stderr, "kvs-fcgi: cannot initialize libfcgi\n");
    return 1;
  }
  const bool own_socket = cli->socket_path || cli->listen_address;
  const bool cgi = !own_socket && FCGX_IsCGI();
  if (cgi && std::getenv("REQUEST_METHOD") == nullptr) {
    std::fprintf(stderr,
                 "kvs-fcgi: started neither by a FastCGI server (fd 0 is not a listening socket) "
                 "nor as CGI (no REQUEST_METHOD); give --socket or --listen\n\n%s",
                 Usage().c_str());
    return 2;
  }

  auto config = LoadConfig(cli->config_path);
  auto service =
      config.ok() ? StartService(*config) : Result<std::unique_ptr<Service>>(config.status());
  if (!service.ok()) {
    std::fprintf(stderr, "kvs-fcgi: %s\n", service.status().message().c_str());
    if (cgi) {
      WriteAll(STDOUT_FILENO,
               "Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n"
               "kvs cannot start; the server's error log says why.\n");
    }
    return 1;
  }
  if (cgi) return ServeCgi(**service);

  // Every thread created from here on inherits the blocked stop signals;
  // ServeFastCgi waits for them.
  sigset_t stop = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  int listen_fd = STDIN_FILENO;
  if (own_socket) {
    auto fd = cli->socket_path ? ListenUnix(*cli->socket_path) : ListenTcp(*cli->listen_address);
    if (!fd.ok()) {
      std::fprintf(stderr, "kvs-fcgi: %s\n", fd.status().message().c_str());
      return 1;
    }
    listen_fd = *fd;
  }
  Status served = ServeFastCgi(listen_fd, cli->threads, **service);
  if (cli->socket_path) unlink(cli->socket_path->c_str());
  if (!served.ok()) {
    std::fprintf(stderr, "kvs-fcgi: %s\n", served.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kvs::fcgi

int main(int argc, char** argv) { return kvs::fcgi::Main(argc, argv); }
