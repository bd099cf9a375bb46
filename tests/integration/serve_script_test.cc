// scripts/serve end to end: the real script, run as a user runs it but with
// --binary (this tree's kvs-fcgi), so that it neither builds nor installs
// anything, on a free port and a temporary directory. The curl commands it
// prints are run exactly as printed. Every run is stopped, with whatever it
// started, on scope exit, also when a test fails.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/harness/script_run.h"
#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

using Clock = std::chrono::steady_clock;

// A socket on a free 127.0.0.1 port, held until scope exit: listening
// (connections succeed), or only bound (connections are refused, but nobody
// else can bind the port).
class HeldPort {
 public:
  explicit HeldPort(bool listening) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    if (listening) REQUIRE(listen(fd_, 16) == 0);
    socklen_t length = sizeof address;
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~HeldPort() { close(fd_); }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// The lines of text that are commands starting with curl, without their
// indentation.
std::vector<std::string> CurlCommands(const std::string& text) {
  std::vector<std::string> commands;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    size_t start = line.find_first_not_of(' ');
    if (start != std::string::npos && line.compare(start, 5, "curl ") == 0) {
      commands.push_back(line.substr(start));
    }
  }
  return commands;
}

// scripts/serve --binary KVS_FCGI_BINARY --port port --data data_dir: the
// script as a user runs it, but with this tree's kvs-fcgi, so that it
// neither builds nor installs anything.
std::vector<std::string> ServeArgs(const std::string& data_dir, int port) {
  return {KVS_SOURCE_DIR "/scripts/serve",
          "--binary",
          KVS_FCGI_BINARY,
          "--port",
          std::to_string(port),
          "--data",
          data_dir};
}

// The secret in a printed write command (auth=SECRET&...).
std::string SecretIn(const std::string& command) {
  std::smatch match;
  REQUIRE(std::regex_search(command, match, std::regex("auth=([^&\" ]+)&")));
  return match[1];
}

// The first line of path.
std::string FirstLine(const std::string& path) {
  std::string text = ReadFile(path);
  return text.substr(0, text.find('\n'));
}

// The workers of the nginx master master_pid, a member of process group
// group.
std::vector<pid_t> NginxWorkers(pid_t master_pid, pid_t group) {
  std::vector<pid_t> workers;
  for (pid_t pid : GroupMembers(group)) {
    auto process = ReadProcessStat(pid);
    if (process && process->parent == master_pid && CommandName(pid) == "nginx") {
      workers.push_back(pid);
    }
  }
  return workers;
}

// The line of the log at path that ends with " " + id, waiting for nginx to
// flush its buffer (once a second, as the template says) for up to
// kScriptReadyTimeout; "" when none came.
std::string LogLineEndingWith(const std::string& path, const std::string& id) {
  for (auto deadline = Clock::now() + kScriptReadyTimeout; Clock::now() < deadline;) {
    std::istringstream lines(ReadFile(path));
    for (std::string line; std::getline(lines, line);) {
      if (line.size() > id.size() &&
          line.compare(line.size() - id.size() - 1, std::string::npos, " " + id) == 0) {
        return line;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

// Requires that the script, which has exited, left nothing running or
// listening: no process of its group, no answer on port, no kvs-fcgi
// socket, no nginx pid file, no lock file.
void RequireNothingLeft(const ScriptRun& serve, const std::string& data_dir, int port) {
  INFO(serve.Transcript());
  CHECK(GroupMembers(serve.pid()).empty());
  CHECK_FALSE(PortAnswers(port));
  CHECK_FALSE(std::filesystem::exists(data_dir + "/run/kvs.sock"));
  CHECK_FALSE(std::filesystem::exists(data_dir + "/run/nginx.pid"));
  CHECK_FALSE(std::filesystem::exists(data_dir + "/run/serve.lock"));
}

// Sends signal to the script alone (not its group: forwarding the stop is
// the script's job) and requires a clean stop with exit code 0.
void RequireCleanStop(ScriptRun& serve, int signal, const std::string& data_dir, int port) {
  REQUIRE(kill(serve.pid(), signal) == 0);
  int status = serve.WaitForExit();
  INFO(serve.Transcript());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(serve.output(), Catch::Contains("== stopped"));
  RequireNothingLeft(serve, data_dir, port);
}

// Waits for a run that must fail and requires a non-zero exit code.
void RequireFailedExit(ScriptRun& serve) {
  int status = serve.WaitForExit();
  INFO(serve.Transcript());
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) != 0));
}

// Runs a printed command and requires that it succeeds.
ShellRun MustRun(const std::string& command) {
  ShellRun run = RunShell(command);
  INFO(command);
  INFO(run.log);
  REQUIRE(run.exit_code == 0);
  return run;
}

}  // namespace

TEST_CASE("scripts/serve starts a server that its printed curl commands write and read") {
  kvs::test::TempDir dir;
  const std::string data = dir.Sub("data");  // the script creates it
  const int port = FreePort();
  std::string secret, config;
  {
    ScriptRun serve(ServeArgs(data, port), dir.Sub("serve1.log"));
    serve.WaitUntilReady();
    INFO(serve.Transcript());
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
    CHECK_THAT(serve.output(), Catch::Contains("kvs is serving " + url + "\n"));
    CHECK_THAT(serve.output(), Catch::Contains(data + "/auth.txt\n"));
    CHECK_THAT(serve.output(), Catch::Contains(data + "/run/"));
    // --binary: nothing built, nothing installed.
    CHECK_THAT(serve.output(), !Catch::Contains("== building"));
    CHECK_THAT(serve.Stderr(), !Catch::Contains("== installing"));

    auto commands = CurlCommands(serve.output());
    REQUIRE(commands.size() == 2);
    CHECK(MustRun(commands[0]).output == "revision 1\nhello\n");
    CHECK(MustRun(commands[1]).output == "world");

    // The printed secret is the generated one, kept private.
    secret = SecretIn(commands[0]);
    CHECK(secret.size() >= 32);
    CHECK(FirstLine(data + "/auth.txt") == secret);
    struct stat auth_stat;
    REQUIRE(stat((data + "/auth.txt").c_str(), &auth_stat) == 0);
    CHECK((auth_stat.st_mode & 0777) == 0600);
    config = ReadFile(data + "/kvs.yaml");
    CHECK_THAT(config, Catch::Contains("\nsync: sync\n"));
    CHECK_THAT(config, Catch::Contains("\nauth_file: auth.txt\n"));

    // A second server on the same directory is refused while this one runs.
    {
      const int other_port = FreePort();
      ScriptRun second(ServeArgs(data, other_port), dir.Sub("second.log"));
      RequireFailedExit(second);
      INFO(second.Transcript());
      CHECK_THAT(second.Stderr(), Catch::Contains("already being served"));
      CHECK_FALSE(PortAnswers(other_port));
      // The refused run leaves the running one's lock alone.
      CHECK(std::filesystem::exists(data + "/run/serve.lock"));
    }
    CHECK(MustRun(commands[1]).output == "world");

    RequireCleanStop(serve, SIGTERM, data, port);
  }

  // A later run keeps the secret, the config and the store.
  const int port2 = FreePort();
  ScriptRun serve(ServeArgs(data, port2), dir.Sub("serve2.log"));
  serve.WaitUntilReady();
  INFO(serve.Transcript());
  auto commands = CurlCommands(serve.output());
  REQUIRE(commands.size() == 2);
  CHECK(SecretIn(commands[0]) == secret);
  CHECK(FirstLine(data + "/auth.txt") == secret);
  CHECK(ReadFile(data + "/kvs.yaml") == config);
  CHECK(MustRun(commands[1]).output == "world");
  CHECK(MustRun(commands[0]).output == "revision 2\nhello\n");
  RequireCleanStop(serve, SIGINT, data, port2);
}

TEST_CASE("scripts/serve's nginx runs a worker per core and a buffered log naming request ids") {
  kvs::test::TempDir dir;
  const std::string data = dir.Sub("data");
  const int port = FreePort();
  ScriptRun serve(ServeArgs(data, port), dir.Sub("serve.log"));
  serve.WaitUntilReady();
  INFO(serve.Transcript());
  const std::string conf = ReadFile(data + "/run/nginx.conf");
  INFO(conf);
  CHECK_THAT(conf, Catch::Contains("\nworker_processes auto;\n"));
  CHECK(std::regex_search(
      conf, std::regex(R"(\n *access_log access\.log kvs buffer=\d+k flush=\d+s;\n)")));
  CHECK(std::regex_search(conf, std::regex(R"(\n *log_format kvs [^;]* \$request_id';\n)")));

  // "auto" is a worker per core nginx may run on: the cores online, or
  // those of the CPU affinity when nginx counts that instead.
  const pid_t master = std::atoi(ReadFile(data + "/run/nginx.pid").c_str());
  REQUIRE(master > 0);
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  cpu_set_t affinity;
  REQUIRE(sched_getaffinity(0, sizeof affinity, &affinity) == 0);
  const long usable = CPU_COUNT(&affinity);
  auto expected = [&](size_t workers) {
    return static_cast<long>(workers) == online || static_cast<long>(workers) == usable;
  };
  std::vector<pid_t> workers = NginxWorkers(master, serve.pid());
  for (auto deadline = Clock::now() + kScriptReadyTimeout;
       !expected(workers.size()) && Clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    workers = NginxWorkers(master, serve.pid());
  }
  INFO("cores online: " << online << ", in the affinity mask: " << usable);
  CHECK(expected(workers.size()));

  // A request's line reaches the access log (after the buffer's flush),
  // ending with the id the answer carried.
  httplib::Client client("127.0.0.1", port);
  auto answer = client.Get("/");
  REQUIRE(answer);
  CHECK(answer->status == 200);
  const std::string id = answer->get_header_value("X-Request-Id");
  REQUIRE(id.size() >= 16);
  const std::string line = LogLineEndingWith(data + "/run/access.log", id);
  INFO(ReadFile(data + "/run/access.log"));
  CHECK_THAT(line, Catch::StartsWith("127.0.0.1 - - ["));
  CHECK_THAT(line, Catch::Contains("\"GET / HTTP/1.1\" 200 "));
  RequireCleanStop(serve, SIGTERM, data, port);
}

TEST_CASE("scripts/serve refuses a taken port, says so, and leaves nothing running") {
  kvs::test::TempDir dir;
  const std::string data = dir.Sub("data");
  SECTION("another program listens on it: refused before anything starts") {
    HeldPort taken(/*listening=*/true);
    ScriptRun serve(ServeArgs(data, taken.port()), dir.Sub("serve.log"));
    RequireFailedExit(serve);
    INFO(serve.Transcript());
    CHECK_THAT(serve.output(), !Catch::Contains("starting"));
    CHECK_THAT(serve.Stderr(),
               Catch::Contains("127.0.0.1:" + std::to_string(taken.port()) + " is already in use"));
    RequireNothingLeft(serve, data, taken.port());
  }
  SECTION("bound without listening: nginx's bind fails, kvs-fcgi is stopped") {
    HeldPort taken(/*listening=*/false);
    ScriptRun serve(ServeArgs(data, taken.port()), dir.Sub("serve.log"));
    RequireFailedExit(serve);
    INFO(serve.Transcript());
    CHECK_THAT(serve.output(), Catch::Contains("== starting kvs-fcgi"));
    CHECK_THAT(serve.Stderr(),
               Catch::Contains("nginx cannot listen on 127.0.0.1:" + std::to_string(taken.port()) +
                               ": the port is already in use"));
    CHECK_THAT(serve.Stderr(), Catch::Contains("Address already in use"));
    RequireNothingLeft(serve, data, taken.port());
  }
}

TEST_CASE("when a server dies, scripts/serve stops the other and exits with an error") {
  kvs::test::TempDir dir;
  const std::string data = dir.Sub("data");
  const int port = FreePort();
  ScriptRun serve(ServeArgs(data, port), dir.Sub("serve.log"));
  serve.WaitUntilReady();
  INFO(serve.Transcript());
  pid_t kvs_pid = 0;
  for (pid_t pid : GroupMembers(serve.pid())) {
    if (CommandName(pid) == "kvs-fcgi") kvs_pid = pid;
  }
  REQUIRE(kvs_pid != 0);
  const pid_t nginx_pid = std::atoi(ReadFile(data + "/run/nginx.pid").c_str());
  REQUIRE(nginx_pid > 0);

  std::string expected;
  SECTION("kvs-fcgi") {
    REQUIRE(kill(kvs_pid, SIGKILL) == 0);
    expected = "kvs-fcgi stopped on its own";
  }
  SECTION("nginx (its worker outlives a killed master, and must go too)") {
    REQUIRE(kill(nginx_pid, SIGKILL) == 0);
    expected = "nginx stopped on its own";
  }
  RequireFailedExit(serve);
  CHECK_THAT(serve.Stderr(), Catch::Contains(expected));
  CHECK(GroupMembers(serve.pid()).empty());
  CHECK_FALSE(PortAnswers(port));
}

}  // namespace kvs::server::test
