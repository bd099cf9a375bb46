// scripts/cluster end to end: the real script, run as a user runs it but
// with --binary (this tree's kvs-fcgi), so that it neither builds nor
// installs anything, on free ports and a temporary directory. The example
// it prints is run exactly as printed, and Ctrl-C stops every node and the
// front.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <sstream>

#include "tests/harness/script_run.h"
#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

// Four nodes that start one after another, each a kvs-fcgi that may be a
// sanitizer build, and then the front.
constexpr auto kClusterReadyTimeout = std::chrono::seconds(240);

// Whether nothing listens on 127.0.0.1:port now.
bool PortFree(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool free = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return free;
}

// A port p with p .. p + count - 1 free: the front's and the nodes'.
int FreePorts(int count) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int first = FreePort();
    if (first + count > 65535) continue;
    bool all = true;
    for (int i = 1; i < count && all; ++i) all = PortFree(first + i);
    if (all) return first;
  }
  FAIL("no " << count << " free ports in a row");
  return 0;
}

// The indented lines after the one that holds heading, up to the next
// empty line, without their indentation: a block of commands as printed.
std::string PrintedBlock(const std::string& text, const std::string& heading) {
  std::istringstream lines(text);
  std::string line, block;
  while (std::getline(lines, line) && line.find(heading) == std::string::npos) {
  }
  while (std::getline(lines, line) && line.empty()) {
  }
  do {
    if (line.empty()) break;
    block += line.substr(line.find_first_not_of(' ')) + "\n";
  } while (std::getline(lines, line));
  return block;
}

}  // namespace

TEST_CASE("scripts/cluster starts a cluster that its printed example writes to and reads from") {
  kvs::test::TempDir dir;
  const std::string data = dir.Sub("cluster");  // the script creates it
  const int port = FreePorts(5);
  ScriptRun cluster({KVS_SOURCE_DIR "/scripts/cluster", "--binary", KVS_FCGI_BINARY, "--port",
                     std::to_string(port), "--data", data},
                    dir.Sub("cluster.log"));
  const bool ready = cluster.ReadUntil(kBannerEnd, kClusterReadyTimeout);
  INFO(cluster.Transcript());
  REQUIRE(ready);
  // --binary: nothing built.
  CHECK_THAT(cluster.output(), !Catch::Contains("== building"));
  CHECK_THAT(
      cluster.output(),
      Catch::Contains("answers at\nhttp://127.0.0.1:" + std::to_string(port) + " (the front"));

  const std::string example =
      PrintedBlock(cluster.output(), "the causal context the write answered:");
  INFO(example);
  REQUIRE_THAT(example, Catch::StartsWith("put=$(curl"));
  ShellRun run = RunShell(example);
  INFO(run.log);
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.output, Catch::Contains(R"("doesExist":true)"));
  CHECK_THAT(run.output, Catch::Contains(R"("value":"1")"));

  // Ctrl-C stops every node and the front.
  REQUIRE(kill(cluster.pid(), SIGINT) == 0);
  int status = cluster.WaitForExit();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(cluster.output(), Catch::Contains("== stopped"));
  CHECK(GroupMembers(cluster.pid()).empty());
  for (int i = 0; i <= 4; ++i) CHECK_FALSE(PortAnswers(port + i));
}

}  // namespace kvs::server::test
