// kvs-fcgi: the kvs server program. One binary for every way a web server
// runs a program: FastCGI on a socket of its own (--socket, --listen), on a
// socket inherited as fd 0 (spawn-fcgi, Apache mod_fcgid) or passed by
// systemd (socket activation: LISTEN_FDS, fd 3), or plain CGI (one process
// per request, detected by libfcgi's FCGX_IsCGI). It loads the config, opens
// the store once, and hands each request to the router.
#include <fcgiapp.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_node.h"
#include "config/config.h"
#include "fcgi/cgi_gateway.h"
#include "fcgi/compaction_watch.h"
#include "fcgi/fastcgi_server.h"
#include "fcgi/flags.h"
#include "fcgi/listen_socket.h"
#include "fcgi/replication_runner.h"
#include "http/service.h"

extern char** environ;

namespace kvs::server {
namespace {

// The config of a run started by a web server when neither --config nor
// KVS_CONFIG names one: kvs.yaml in the working directory, which Apache's
// mod_cgi and mod_fcgid set to the program's own directory. mod_fcgid starts
// FastCGI programs with the server's environment, never a directory's
// (SetEnv in .htaccess does not reach it), so without this default an
// .htaccess alone could not configure kvs.
constexpr const char* kWebServerDefaultConfig = "kvs.yaml";

// RFC 3875 4.4: a CGI server turns a query string without '=' into
// command-line arguments, one per '+'-separated word, after the program's
// own (Apache's mod_cgi does). Any client could then pass options: --socket
// would leave a FastCGI server running after the request, --config would
// pick another config. In a CGI request those trailing words are dropped;
// returns the arguments left to parse.
std::vector<char*> OwnArguments(int argc, char** argv, bool cgi_request) {
  std::vector<char*> args(argv, argv + argc);
  const char* query = std::getenv("QUERY_STRING");
  if (cgi_request && argc > 0 && query != nullptr && *query != '\0' &&
      std::strchr(query, '=') == nullptr) {
    size_t words = std::count(query, query + std::strlen(query), '+') + 1;
    args.resize(args.size() - std::min(words, args.size() - 1));
  }
  return args;
}

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
void ServeCgi(Service& service) {
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
}

// --cluster-front: the front's nginx config for the cluster the config
// names, on stdout: by the map the node follows now (after view changes,
// kept in its store), or the config's first one.
int PrintClusterFront(const std::string& config_path, const std::string& listen) {
  auto config = config::LoadConfig(config_path);
  if (config.ok() && !config->cluster) {
    config = Status::InvalidArgument(config_path + ": it has no cluster: section");
  }
  if (!config.ok()) {
    std::fprintf(stderr, "kvs-fcgi: %s\n", config.status().message().c_str());
    return 1;
  }
  common::ClusterMap map = config->cluster->map;
  Options options = config->StoreOptions();
  options.create_if_missing = false;
  if (auto store = Store::Open(config->data_dir, options); store.ok()) {
    auto layout = cluster::StoredLayout(**store, config->default_branch, config->cluster->self);
    if (layout.ok() && *layout) map = (*layout)->active;
  }
  WriteAll(STDOUT_FILENO, map.NginxConf(listen));
  return 0;
}

int Main(int argc, char** argv) {
  // A web server that closed a connection must not kill the process, nor
  // a file size limit (ulimit -f) reached: the write fails instead, and the
  // store reports NoSpace until the limit is raised.
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);
  if (FCGX_Init() != 0) {
    std::fprintf(stderr, "kvs-fcgi: cannot initialize libfcgi\n");
    return 1;
  }
  // A web server started us: a CGI request (fd 0 is not a listening socket,
  // REQUEST_METHOD is set), or a FastCGI server that handed over its socket.
  const bool cgi_request = FCGX_IsCGI() && std::getenv("REQUEST_METHOD") != nullptr;
  const bool web_server = cgi_request || !FCGX_IsCGI();
  std::vector<char*> args = OwnArguments(argc, argv, cgi_request);
  const char* env_config = std::getenv("KVS_CONFIG");
  if (env_config == nullptr && web_server) env_config = kWebServerDefaultConfig;
  auto cli = ParseCommandLine(static_cast<int>(args.size()), args.data(), env_config);
  if (!cli.ok()) {
    std::fprintf(stderr, "kvs-fcgi: %s\n\n%s", cli.status().message().c_str(), Usage().c_str());
    return 2;
  }
  if (cli->help) {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  if (cli->version) {
    std::fputs("kvs-fcgi " KVS_VERSION "\n", stdout);
    return 0;
  }

  if (cli->cluster_front) return PrintClusterFront(cli->config_path, *cli->cluster_front);

  auto systemd_socket = TakeSystemdSocket();
  if (!systemd_socket.ok()) {
    std::fprintf(stderr, "kvs-fcgi: %s\n", systemd_socket.status().message().c_str());
    return 1;
  }
  const bool own_socket = cli->socket_path || cli->listen_address;
  if (own_socket && systemd_socket->has_value()) {
    std::fprintf(stderr,
                 "kvs-fcgi: systemd passed a listening socket (LISTEN_FDS), and %s names "
                 "another: give one\n",
                 cli->socket_path ? "--socket" : "--listen");
    return 2;
  }
  const bool cgi = !own_socket && !systemd_socket->has_value() && FCGX_IsCGI();
  if (cgi && std::getenv("REQUEST_METHOD") == nullptr) {
    std::fprintf(stderr,
                 "kvs-fcgi: started neither by a FastCGI server (fd 0 is not a listening socket "
                 "and systemd passed none) nor as CGI (no REQUEST_METHOD); give --socket or "
                 "--listen\n\n%s",
                 Usage().c_str());
    return 2;
  }

  auto config = config::LoadConfig(cli->config_path);
  auto service = config.ok() ? StartService(*config, cgi ? config::Lifetime::kOneShot
                                                         : config::Lifetime::kServer)
                             : Result<std::unique_ptr<Service>>(config.status());
  if (!service.ok()) {
    std::fprintf(stderr, "kvs-fcgi: %s\n", service.status().message().c_str());
    if (cgi) {
      WriteAll(STDOUT_FILENO,
               "Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n"
               "kvs cannot start; the server's error log says why.\n");
    }
    return 1;
  }
  // Said once, at start: what was dropped is gone, and an operator who
  // looks into a crash wants to know that the store lost no transaction.
  if (uint64_t torn = (*service)->store->recovery_info().dropped_tail_bytes; torn > 0) {
    std::fprintf(stderr,
                 "kvs-fcgi: the store in %s ended in %llu bytes of a write that a crash cut "
                 "short; they were dropped at open: the store holds every transaction up to "
                 "the last whole one\n",
                 config->data_dir.c_str(), static_cast<unsigned long long>(torn));
  }
  if (cgi) {
    Result<uint64_t> revision = (*service)->store->Revision();
    const uint64_t revision_before = revision.ok() ? *revision : 0;
    ServeCgi(**service);
    CompactDetachedIfDue(**service, revision_before);
    return 0;
  }

  // Every thread created from here on inherits the blocked stop signals;
  // ServeFastCgi waits for them.
  sigset_t stop = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  int listen_fd = systemd_socket->value_or(STDIN_FILENO);
  if (own_socket) {
    auto fd = cli->socket_path ? ListenUnix(*cli->socket_path) : ListenTcp(*cli->listen_address);
    if (!fd.ok()) {
      std::fprintf(stderr, "kvs-fcgi: %s\n", fd.status().message().c_str());
      return 1;
    }
    listen_fd = *fd;
  }
  // A quarter of the workers may hold a long poll; the rest keep serving.
  (*service)->max_waiting = std::max(1, cli->threads / 4);
  Status served = Status::OK();
  {
    CompactionWatch watch(**service);
    ReplicationRunner replication(**service);
    if ((*service)->cluster) (*service)->cluster->Start();
    served = ServeFastCgi(listen_fd, cli->threads, **service);
  }
  if (cli->socket_path) unlink(cli->socket_path->c_str());
  if (!served.ok()) {
    std::fprintf(stderr, "kvs-fcgi: %s\n", served.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kvs::server

int main(int argc, char** argv) { return kvs::server::Main(argc, argv); }
