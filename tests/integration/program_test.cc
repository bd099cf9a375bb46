// The kvs-fcgi program without nginx: run as a CGI program with CGI
// environment variables, its refusals at start (also as a systemd service), and
// its clean stop.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "http/form.h"
#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

// A config and secret in a temporary directory, as a CGI deployment has.
struct CgiSite {
  kvs::test::TempDir dir;
  std::string config = dir.Sub("kvs.yaml");
  CgiSite() {
    WriteFile(dir.Sub("auth.txt"), std::string(kTestSecret) + "\n");
    WriteFile(config,
              "data_dir: kvs-data\nauth_file: auth.txt\nsync: none\n"
              "limits:\n  max_body_bytes: 1000\n");
  }
  CgiRun Get(const std::string& query, std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> env = {{"REQUEST_METHOD", "GET"},
                                              {"QUERY_STRING", query},
                                              {"PATH_INFO", "/"},
                                              {"GATEWAY_INTERFACE", "CGI/1.1"}};
    for (auto& [name, value] : extra) env[name] = value;
    return RunCgi(env, "", {"--config", config});
  }
  CgiRun Post(const std::string& body,
              const std::string& content_type = "application/x-www-form-urlencoded") const {
    return RunCgi({{"REQUEST_METHOD", "POST"},
                   {"QUERY_STRING", ""},
                   {"PATH_INFO", "/"},
                   {"CONTENT_TYPE", content_type},
                   {"CONTENT_LENGTH", std::to_string(body.size())}},
                  body, {"--config", config});
  }
};

}  // namespace

TEST_CASE("kvs-fcgi --version prints the version the build defines, and nothing else") {
  CHECK_THAT(KVS_VERSION, Catch::Matches("[0-9]+\\.[0-9]+\\.[0-9]+"));
  ProgramRun run = RunProgram({KVS_FCGI_BINARY, "--version"}, "");
  INFO(run.log);
  CHECK(run.exit_code == 0);
  CHECK(run.output == std::string("kvs-fcgi ") + KVS_VERSION + "\n");
  CHECK(run.log.empty());
}

TEST_CASE("as a CGI program, kvs-fcgi answers the request in its environment") {
  CgiSite site;
  CgiRun posted = site.Post(AuthField() + "&greeting=hi+there&n=1");
  INFO(posted.log);
  CHECK(posted.exit_code == 0);
  CHECK_THAT(posted.output, Catch::StartsWith("Status: 200 OK\r\n"));
  CHECK_THAT(posted.output, Catch::EndsWith("\r\n\r\nrevision 1\ngreeting\nn\n"));

  CgiRun read = site.Get("k=greeting");
  INFO(read.log);
  CHECK(read.exit_code == 0);
  CHECK_THAT(read.output, Catch::StartsWith("Status: 200 OK\r\n"));
  CHECK_THAT(read.output, Catch::Contains("\r\nX-Kvs-Revision: 1\r\n"));
  CHECK_THAT(read.output, Catch::EndsWith("\r\n\r\nhi there"));

  CgiRun missing = site.Get("k=nope&format=json");
  CHECK_THAT(missing.output, Catch::StartsWith("Status: 404 Not Found\r\n"));
  CHECK_THAT(missing.output, Catch::Contains("\"error\":\"not_found\""));

  CgiRun other_path = site.Get("k=greeting", {{"PATH_INFO", "/a/b/c/d/e"}});
  CHECK_THAT(other_path.output, Catch::StartsWith("Status: 404 Not Found\r\n"));

  CgiRun too_big = site.Post(AuthField() + "&k=" + std::string(2000, 'x'));
  CHECK_THAT(too_big.output, Catch::StartsWith("Status: 413 Payload Too Large\r\n"));
  CHECK_THAT(too_big.output, Catch::Contains("limits.max_body_bytes"));

  CgiRun multipart = site.Post("--b\r\nContent-Disposition: form-data; name=\"auth\"\r\n\r\n" +
                                   std::string(kTestSecret) +
                                   "\r\n--b\r\nContent-Disposition: form-data; name=\"m\"\r\n\r\n" +
                                   std::string("\x00\xff", 2) + "\r\n--b--",
                               "multipart/form-data; boundary=b");
  CHECK_THAT(multipart.output, Catch::StartsWith("Status: 200 OK\r\n"));
}

TEST_CASE("as a CGI program, the config may come from KVS_CONFIG") {
  CgiSite site;
  CgiRun run =
      RunCgi({{"REQUEST_METHOD", "GET"}, {"QUERY_STRING", ""}, {"KVS_CONFIG", site.config}}, "");
  INFO(run.log);
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.output, Catch::StartsWith("Status: 200 OK\r\n"));
  CHECK_THAT(run.output, Catch::Contains("\r\nContent-Type: text/html"));
}

TEST_CASE("a bad config stops the program with the file, line and reason") {
  kvs::test::TempDir dir;
  WriteFile(dir.Sub("bad.yaml"), "data_dir: d\nsink: none\n");
  SECTION("as CGI, with a 500 for the web server") {
    CgiRun run = RunCgi({{"REQUEST_METHOD", "GET"}}, "", {"--config", dir.Sub("bad.yaml")});
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.log, Catch::Contains(dir.Sub("bad.yaml") + ":2:1: unknown key 'sink'"));
    CHECK_THAT(run.output, Catch::StartsWith("Status: 500 Internal Server Error\r\n"));
    CHECK(run.output.find("sink") == std::string::npos);  // details only in the log
  }
  SECTION("as a FastCGI server") {
    CgiRun run = RunCgi({}, "", {"--config", dir.Sub("bad.yaml"), "--socket", dir.Sub("s")});
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.log, Catch::Contains(dir.Sub("bad.yaml") + ":2:1: unknown key 'sink'"));
  }
  SECTION("a YAML syntax error") {
    WriteFile(dir.Sub("bad.yaml"), "data_dir: d\nlimits: {max_key_bytes: 3\n");
    CgiRun run = RunCgi({}, "", {"--config", dir.Sub("bad.yaml"), "--socket", dir.Sub("s")});
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.log, Catch::Contains(dir.Sub("bad.yaml") + ":"));
  }
  SECTION("an auth_file that does not exist") {
    WriteFile(dir.Sub("bad.yaml"), "data_dir: d\nauth_file: missing.txt\n");
    CgiRun run = RunCgi({}, "", {"--config", dir.Sub("bad.yaml"), "--socket", dir.Sub("s")});
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.log, Catch::Contains(dir.Sub("missing.txt")));
  }
}

TEST_CASE("started neither by a web server nor with a socket, the program explains itself") {
  CgiSite site;
  CgiRun run = RunCgi({}, "", {"--config", site.config});
  CHECK(run.exit_code == 2);
  CHECK_THAT(run.log, Catch::Contains("give --socket or --listen"));

  CgiRun bad_args = RunCgi({}, "", {"--bogus"});
  CHECK(bad_args.exit_code == 2);
  CHECK_THAT(bad_args.log, Catch::Contains("unknown argument '--bogus'"));
  CHECK_THAT(bad_args.log, Catch::Contains("usage: kvs-fcgi"));
}

// Runs kvs-fcgi --config site.config from a shell that sets what systemd
// sets for a socket-activated service: LISTEN_PID, the process itself
// (which exec keeps), and LISTEN_FDS; fd3 is the shell's redirection of fd 3.
ProgramRun RunAsSystemdService(const CgiSite& site, const std::string& listen_fds,
                               const std::string& fd3) {
  return RunProgram(
      {"/bin/sh", "-c",
       "export LISTEN_PID=$$ LISTEN_FDS=" + listen_fds + "; exec \"$0\" \"$@\" " + fd3,
       KVS_FCGI_BINARY, "--config", site.config},
      "");
}

TEST_CASE("started by systemd with other than one listening socket, the program says why") {
  CgiSite site;
  ProgramRun two = RunAsSystemdService(site, "2", "");
  CHECK(two.exit_code == 1);
  CHECK_THAT(two.log,
             Catch::Contains("systemd passed 2 sockets (LISTEN_FDS); kvs-fcgi serves one"));

  ProgramRun not_listening = RunAsSystemdService(site, "1", "3</dev/null");
  CHECK(not_listening.exit_code == 1);
  CHECK_THAT(not_listening.log,
             Catch::Contains("the socket systemd passed (fd 3) is not a listening stream socket"));

  // Variables left for another process are not this one's: no socket.
  ProgramRun others =
      RunProgram({"/bin/sh", "-c", "export LISTEN_PID=1 LISTEN_FDS=1; exec \"$0\" \"$@\"",
                  KVS_FCGI_BINARY, "--config", site.config},
                 "");
  CHECK(others.exit_code == 2);
  CHECK_THAT(others.log, Catch::Contains("give --socket or --listen"));
}

TEST_CASE("a socket from systemd and --socket at once are refused") {
  CgiSite site;
  const std::string socket = site.dir.Sub("systemd.sock");
  ChildProcess server({KVS_SYSTEMD_SOCKET_ACTIVATE_BINARY, "--listen", socket, KVS_FCGI_BINARY,
                       "--config", site.config, "--socket", site.dir.Sub("own.sock")},
                      site.dir.Sub("log"));
  // systemd-socket-activate starts the program at the first connection.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!server.Exited()) {
    INFO(ReadFile(site.dir.Sub("log")));
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    if (std::filesystem::exists(socket)) {
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      socket.copy(address.sun_path, sizeof address.sun_path - 1);
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
      close(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO(ReadFile(site.dir.Sub("log")));
  CHECK(WIFEXITED(server.wait_status()));
  CHECK(WEXITSTATUS(server.wait_status()) == 2);
  CHECK_THAT(ReadFile(site.dir.Sub("log")),
             Catch::Contains("systemd passed a listening socket (LISTEN_FDS), and --socket names "
                             "another: give one"));
}

TEST_CASE("the FastCGI server stops cleanly on SIGTERM and removes its socket") {
  CgiSite site;
  std::string socket = site.dir.Sub("kvs.sock");
  ChildProcess server({KVS_FCGI_BINARY, "--config", site.config, "--socket", socket},
                      site.dir.Sub("log"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!std::filesystem::exists(socket)) {
    INFO(ReadFile(site.dir.Sub("log")));
    REQUIRE_FALSE(server.Exited());
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  int status = server.Stop();
  INFO(ReadFile(site.dir.Sub("log")));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_FALSE(std::filesystem::exists(socket));
}

// A crash mid-write leaves part of a block past the last whole one; opening
// drops it. kvs-fcgi says so in its log, once, at start.
TEST_CASE("kvs-fcgi says at start that it dropped a torn tail, and serves every whole write") {
  ServerStack stack;
  auto posted =
      stack.Client()->Post("/", AuthField() + "&k=whole", "application/x-www-form-urlencoded");
  REQUIRE(posted);
  REQUIRE(posted->status == 200);
  stack.StopKvs();
  uint64_t end = 0;
  {
    auto store = OpenServedStore(stack);
    auto bytes = store->DataBytes();
    REQUIRE(bytes.ok());
    end = *bytes;
  }
  // What a writer killed mid-write leaves: bytes of a block that never got
  // its trailer.
  {
    std::fstream file(stack.dir() + "/kvs-data/data.000001",
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(end));
    file << std::string(100, '\xab');
  }
  stack.RestartKvs();
  CHECK_THAT(stack.Logs(), Catch::Contains("bytes of a write that a crash cut short"));
  auto res = stack.Client()->Get("/?k=k");
  REQUIRE(res);
  CHECK(res->body == "whole");
}

}  // namespace kvs::server::test
