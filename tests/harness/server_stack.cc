#include "tests/harness/server_stack.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

namespace kvs::server::test {
namespace {

using Clock = std::chrono::steady_clock;

// Generous: a sanitizer build starts slowly on a busy machine.
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr int kIoTimeoutSeconds = 30;

bool CanConnectTcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string UserName() {
  passwd* entry = getpwuid(geteuid());
  REQUIRE(entry != nullptr);
  return entry->pw_name;
}

// A wait status as words, for failure messages.
std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

bool CanConnectUnix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof address.sun_path - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  close(fd);
  return ntohs(address.sin_port);
}

ServerStack::ServerStack(StackOptions options) : options_(std::move(options)) {
  WriteKvsConfig();
  StartKvs();
  StartNginx();
}

ServerStack::~ServerStack() {
  if (nginx_) nginx_->Stop();
  if (kvs_) {
    // kvs-fcgi stops cleanly on SIGTERM; any other end (a sanitizer report,
    // a crash) fails the test that ran it.
    int status = kvs_->Stop();
    INFO(Logs());
    INFO("kvs-fcgi ended with " << DescribeWaitStatus(status));
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
}

void ServerStack::KillKvs() {
  kill(kvs_->pid(), SIGKILL);
  kvs_->Stop();
  kvs_.reset();
}

void ServerStack::StopKvs() {
  int status = kvs_->Stop();
  kvs_.reset();
  INFO(Logs());
  INFO("kvs-fcgi ended with " << DescribeWaitStatus(status));
  REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

void ServerStack::RestartKvs() {
  REQUIRE(!kvs_);
  StartKvs();
}

void ServerStack::WriteKvsConfig() {
  std::string text = "data_dir: kvs-data\nsync: none\n";
  if (options_.secret) {
    WriteFile(dir() + "/auth.txt", *options_.secret + "\n");
    text += "auth_file: auth.txt\n";
  }
  WriteFile(dir() + "/kvs.yaml", text + options_.extra_config);
  // nginx is configured once: a restarted kvs-fcgi listens where the first did.
  if (options_.transport == StackOptions::Transport::kTcp) kvs_port_ = FreePort();
}

void ServerStack::StartKvs() {
  std::string config = dir() + "/kvs.yaml";
  std::vector<std::string> argv;
  std::string socket_path = dir() + "/kvs.sock";
  switch (options_.transport) {
    case StackOptions::Transport::kUnixSocket:
      argv = {KVS_FCGI_BINARY, "--config", config, "--socket", socket_path};
      fastcgi_pass_ = "unix:" + socket_path;
      break;
    case StackOptions::Transport::kTcp:
      argv = {KVS_FCGI_BINARY, "--config", config, "--listen",
              "127.0.0.1:" + std::to_string(kvs_port_)};
      fastcgi_pass_ = "127.0.0.1:" + std::to_string(kvs_port_);
      break;
    case StackOptions::Transport::kSpawnFcgi:
      // -n: spawn-fcgi creates the socket, then becomes kvs-fcgi with the
      // socket as fd 0, as mod_fcgid would start it.
      argv = {KVS_SPAWN_FCGI_BINARY, "-n",       "-s",  socket_path, "--",
              KVS_FCGI_BINARY,       "--config", config};
      fastcgi_pass_ = "unix:" + socket_path;
      break;
    case StackOptions::Transport::kSystemdSocket:
      // The socket listens before kvs-fcgi runs: "ready" below is
      // systemd-socket-activate's, and the first connection starts kvs-fcgi
      // in its place (the same process, as a service's ExecStart).
      argv = {KVS_SYSTEMD_SOCKET_ACTIVATE_BINARY,
              "--listen",
              socket_path,
              KVS_FCGI_BINARY,
              "--config",
              config};
      fastcgi_pass_ = "unix:" + socket_path;
      break;
  }
  if (options_.threads != 0) {
    argv.insert(argv.end(), {"--threads", std::to_string(options_.threads)});
  }
  kvs_ = std::make_unique<ChildProcess>(argv, dir() + "/kvs.log");
  auto deadline = Clock::now() + kStartTimeout;
  for (;;) {
    bool ready = kvs_port_ != 0 ? CanConnectTcp(kvs_port_) : CanConnectUnix(socket_path);
    if (ready) return;
    INFO(Logs());
    REQUIRE_FALSE(kvs_->Exited());
    REQUIRE(Clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ServerStack::StartNginx() {
  std::string conf = ReadFile(KVS_NGINX_TEMPLATE);
  REQUIRE(!conf.empty());
  conf = Replace(conf, "@USER@", UserName());
  conf = Replace(conf, "@FASTCGI_PASS@", fastcgi_pass_);
  conf = Replace(conf, "@MOUNT@", options_.mount);
  conf = Replace(conf, "@MAX_BODY@", "1m");
  INFO(Logs());
  nginx_ = test::StartNginx(dir(), conf, &port_);
}

std::unique_ptr<ChildProcess> StartNginx(const std::string& dir, const std::string& conf,
                                         int* port) {
  auto logs = [&dir] { return ReadFile(dir + "/error.log") + ReadFile(dir + "/nginx.log"); };
  // The port may be taken between FreePort and nginx's bind: try again.
  for (int attempt = 0;; ++attempt) {
    *port = FreePort();
    WriteFile(dir + "/nginx.conf", Replace(conf, "@LISTEN@", "127.0.0.1:" + std::to_string(*port)));
    auto nginx = std::make_unique<ChildProcess>(
        std::vector<std::string>{KVS_NGINX_BINARY, "-p", dir + "/", "-c", dir + "/nginx.conf", "-e",
                                 dir + "/error.log", "-g",
                                 "daemon off; pid " + dir + "/nginx.pid;"},
        dir + "/nginx.log");
    auto deadline = Clock::now() + kStartTimeout;
    while (!CanConnectTcp(*port) && !nginx->Exited() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!nginx->Exited() && CanConnectTcp(*port)) return nginx;
    INFO("--- nginx's logs:\n" << logs());
    bool port_taken = logs().find("Address already in use") != std::string::npos;
    REQUIRE((port_taken && attempt < 5));
    nginx->Stop();
  }
}

std::unique_ptr<httplib::Client> LoopbackClient(int port) {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
  client->set_url_encode(false);
  client->set_connection_timeout(kIoTimeoutSeconds, 0);
  client->set_read_timeout(kIoTimeoutSeconds, 0);
  client->set_write_timeout(kIoTimeoutSeconds, 0);
  return client;
}

std::unique_ptr<httplib::Client> ServerStack::Client() const { return LoopbackClient(port_); }

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

std::string RawExchange(int port, const std::string& bytes) {
  int fd = ConnectLoopback(port);
  timeval timeout{kIoTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  REQUIRE(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  std::string answer;
  char buffer[4096];
  for (;;) {
    ssize_t got = recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    answer.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  return answer;
}

std::string ServerStack::Logs() const {
  return "--- kvs-fcgi log:\n" + ReadFile(dir() + "/kvs.log") + "--- nginx error log:\n" +
         ReadFile(dir() + "/error.log") + ReadFile(dir() + "/nginx.log");
}

ProgramRun RunProgram(const std::vector<std::string>& argv, const std::string& input,
                      const std::optional<std::map<std::string, std::string>>& env) {
  // A child that exits without reading its whole stdin must not kill us.
  signal(SIGPIPE, SIG_IGN);
  kvs::test::TempDir dir;
  int in_pipe[2], out_pipe[2];
  REQUIRE(pipe2(in_pipe, O_CLOEXEC) == 0);
  REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
  ChildIo io;
  io.stdin_fd = in_pipe[0];
  io.stdout_fd = out_pipe[1];
  io.env = env;
  ChildProcess child(argv, dir.Sub("stderr"), io);
  close(in_pipe[0]);
  close(out_pipe[1]);

  // Feed stdin from a thread while reading stdout here, so neither side can
  // block the other on a full pipe.
  std::thread feeder([&input, fd = in_pipe[1]] {
    size_t written = 0;
    while (written < input.size()) {
      ssize_t n = write(fd, input.data() + written, input.size() - written);
      if (n <= 0) break;
      written += static_cast<size_t>(n);
    }
    close(fd);
  });
  ProgramRun run;
  char buffer[4096];
  for (;;) {
    ssize_t got = read(out_pipe[0], buffer, sizeof buffer);
    if (got <= 0) break;
    run.output.append(buffer, static_cast<size_t>(got));
  }
  close(out_pipe[0]);
  feeder.join();
  auto deadline = Clock::now() + kStartTimeout;
  while (!child.Exited() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  int status = child.Stop();
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.log = ReadFile(dir.Sub("stderr"));
  return run;
}

CgiRun RunCgi(const std::map<std::string, std::string>& env, const std::string& body,
              const std::vector<std::string>& args) {
  std::vector<std::string> argv = {KVS_FCGI_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, body, env);
}

const httplib::Headers& BearerHeaders() {
  static const httplib::Headers headers = {{"Authorization", std::string("Bearer ") + kTestSecret}};
  return headers;
}

httplib::Response Answer(const httplib::Result& result, const ServerStack& stack) {
  INFO(stack.Logs());
  REQUIRE(result);
  return *result;
}

nlohmann::json MustGetJson(const ServerStack& stack, const std::string& path) {
  httplib::Response res = Answer(stack.Client()->Get(path.c_str()), stack);
  INFO(path << " -> " << res.body);
  REQUIRE(res.status == 200);
  CHECK(res.get_header_value("Content-Type") == "application/json");
  return nlohmann::json::parse(res.body);
}

std::unique_ptr<Store> OpenServedStore(const ServerStack& stack) {
  Options options;
  options.create_if_missing = false;
  auto store = Store::Open(stack.dir() + "/kvs-data", options);
  REQUIRE(store.ok());
  return std::move(store).value();
}

uint64_t ServedStoreRevision(const ServerStack& stack) {
  auto revision = OpenServedStore(stack)->Revision();
  REQUIRE(revision.ok());
  return *revision;
}

}  // namespace kvs::server::test
