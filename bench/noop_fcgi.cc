// noop_fcgi: the FastCGI responder that does nothing, the floor kvs-fcgi is
// measured against by bench/http_bench. Behind the same nginx configuration,
// on the same kind of socket and with as many threads as kvs-fcgi, it shows
// what nginx, libfcgi and the socket cost on their own: kvs-fcgi's figure
// divided by this one is the share of the HTTP path left over by kvs itself.
//
// It is the plain libfcgi threaded responder (as in libfcgi's threaded.c):
// every thread loops on FCGX_Accept_r on the one listening socket, under a
// mutex so that one thread at a time accepts. Each request's body is read
// and dropped, as any responder reads its input, and the answer is a fixed
// "200 text/plain" of three bytes.
//
// Usage: noop_fcgi --socket PATH [--threads N] [--backlog N]
// (16 threads and a listen backlog of 4096 unless given, as kvs-fcgi's;
// bench/serving_bench measures a smaller backlog with it). It runs until
// killed (SIGTERM); the socket file is left behind.
#include <fcgiapp.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr char kResponse[] =
    "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n";

std::mutex accept_mu;  // held by the one thread inside FCGX_Accept_r

void Worker(int listen_fd) {
  FCGX_Request request;
  FCGX_InitRequest(&request, listen_fd, 0);
  char drain[16 << 10];
  for (;;) {
    int accepted;
    {
      std::lock_guard<std::mutex> lock(accept_mu);
      accepted = FCGX_Accept_r(&request);
    }
    if (accepted < 0) break;
    while (FCGX_GetStr(drain, sizeof drain, request.in) > 0) {
    }
    FCGX_PutStr(kResponse, sizeof kResponse - 1, request.out);
    FCGX_Finish_r(&request);
  }
}

[[noreturn]] void Usage() {
  std::fprintf(stderr, "usage: noop_fcgi --socket PATH [--threads N] [--backlog N]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path;
  int threads = 16;
  int backlog = 4096;  // as kvs-fcgi's listening sockets (fcgi/listen_socket.cc)
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
      socket_path = argv[++i];
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--backlog") == 0 && i + 1 < argc) {
      backlog = std::atoi(argv[++i]);
    } else {
      Usage();
    }
  }
  if (socket_path.empty() || threads < 1 || backlog < 1) Usage();

  if (FCGX_Init() != 0) {
    std::fprintf(stderr, "noop_fcgi: cannot initialize libfcgi\n");
    return 1;
  }
  // libfcgi's SIGTERM handler only asks the next accept to stop, and a
  // thread blocked in accept never gets there: SIGTERM ends the program.
  std::signal(SIGTERM, SIG_DFL);
  int listen_fd = FCGX_OpenSocket(socket_path.c_str(), backlog);
  if (listen_fd < 0) {
    std::fprintf(stderr, "noop_fcgi: cannot listen on %s\n", socket_path.c_str());
    return 1;
  }
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back(Worker, listen_fd);
  for (std::thread& worker : workers) worker.join();
  return 0;
}
