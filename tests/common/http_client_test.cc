// HttpClient against a server that answers each request with bytes the test
// wrote: every way an HTTP/1.1 answer may be framed, kept and closed
// connections, answers that are not HTTP, timeouts and Stop.
#include "common/http_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kvs::common {
namespace {

using namespace std::chrono_literals;

// Listens on 127.0.0.1; each accepted connection is served on a thread of
// its own by reading requests (head and Content-Length body) and sending,
// for the n-th request of the server, script(n, request). An answer that
// ends with kClose is sent without it and the connection is closed; an
// empty answer closes it without sending anything.
class ScriptedServer {
 public:
  static constexpr std::string_view kClose = "<close>";
  using Script = std::function<std::string(int n, const std::string& request)>;

  explicit ScriptedServer(Script script) : script_(std::move(script)) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(listen(listener_, 16) == 0);
    socklen_t size = sizeof(address);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~ScriptedServer() {
    shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    close(listener_);
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_) shutdown(fd, SHUT_RDWR);
    for (auto& t : servers_) t.join();
  }

  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_;
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Accept() {
    for (;;) {
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      ++connections_;
      open_.push_back(fd);
      servers_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    std::string in;
    char buffer[4096];
    for (;;) {
      size_t head_end;
      while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = read(fd, buffer, sizeof(buffer));
        if (n <= 0) return;
        in.append(buffer, static_cast<size_t>(n));
      }
      size_t length = 0;
      if (size_t at = in.find("Content-Length: "); at != std::string::npos && at < head_end) {
        length = std::stoul(in.substr(at + 16));
      }
      while (in.size() < head_end + 4 + length) {
        const ssize_t n = read(fd, buffer, sizeof(buffer));
        if (n <= 0) return;
        in.append(buffer, static_cast<size_t>(n));
      }
      const std::string request = in.substr(0, head_end + 4 + length);
      in.erase(0, request.size());
      int n;
      {
        std::lock_guard<std::mutex> lock(mu_);
        n = static_cast<int>(requests_.size());
        requests_.push_back(request);
      }
      std::string answer = script_(n, request);
      const bool close_after = answer.empty() || answer.ends_with(kClose);
      if (close_after && !answer.empty()) answer.resize(answer.size() - kClose.size());
      if (!answer.empty()) (void)!write(fd, answer.data(), answer.size());
      if (close_after) {
        shutdown(fd, SHUT_RDWR);
        return;
      }
    }
  }

  Script script_;
  int listener_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  int connections_ = 0;                // guarded by mu_
  std::vector<int> open_;              // guarded by mu_
  std::vector<std::thread> servers_;   // guarded by mu_
  std::vector<std::string> requests_;  // guarded by mu_
};

std::unique_ptr<HttpClient> ClientOf(const std::string& origin, HttpTimeouts timeouts = {}) {
  auto client = HttpClient::Create(origin, timeouts);
  REQUIRE(client.ok());
  return std::move(client).value();
}

std::string Get(HttpClient& client, const std::string& target = "/") {
  auto answer = client.Send("GET", target, {}, "");
  REQUIRE(answer.ok());
  return answer->body;
}

std::string FailureOf(HttpClient& client) {
  auto answer = client.Send("GET", "/", {}, "");
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.status().code() == Status::Code::kIOError);
  return answer.status().message();
}

}  // namespace

TEST_CASE("an answer is read whole however it is framed, past an interim 100 Continue") {
  ScriptedServer server([](int n, const std::string&) -> std::string {
    switch (n) {
      case 0:
        return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: one\r\n\r\nhello";
      case 1:
        return "HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n"
               "3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n";
      case 2:
        return "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno";
      default:
        return std::string("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end") +
               std::string(ScriptedServer::kClose);
    }
  });
  auto client = ClientOf(server.origin());
  auto first = client->Send("GET", "/a", {}, "");
  REQUIRE(first.ok());
  CHECK(first->status == 200);
  CHECK(first->body == "hello");
  CHECK(first->Header("x-a") == "one");
  CHECK(first->Header("X-None").empty());

  auto chunked = client->Send("GET", "/b", {}, "");
  REQUIRE(chunked.ok());
  CHECK(chunked->status == 201);
  CHECK(chunked->body == "abc0123456789abcdef");

  auto interim = client->Send("GET", "/c", {}, "");
  REQUIRE(interim.ok());
  CHECK(interim->status == 404);
  CHECK(interim->body == "no");

  CHECK(Get(*client) == "until the end");
  CHECK(server.connections() == 1);  // kept until the answer that ran to the end
}

TEST_CASE("a request carries its Host, its headers and its body's length") {
  ScriptedServer server(
      [](int, const std::string&) { return std::string("HTTP/1.1 204 No Content\r\n\r\n"); });
  auto client = ClientOf(server.origin());
  auto answer = client->Send("POST", "/_sync/apply?x=1", {{"Authorization", "Bearer s"}}, "{}");
  REQUIRE(answer.ok());
  CHECK(answer->status == 204);
  CHECK(answer->body.empty());
  REQUIRE(client->Send("PUT", "/empty", {}, "").ok());
  REQUIRE(client->Send("GET", "/plain", {}, "").ok());
  const auto requests = server.requests();
  REQUIRE(requests.size() == 3);
  const std::string host = "Host: 127.0.0.1:" + server.origin().substr(17) + "\r\n";
  CHECK(requests[0].starts_with("POST /_sync/apply?x=1 HTTP/1.1\r\n" + host));
  CHECK(requests[0].find("\r\nAuthorization: Bearer s\r\n") != std::string::npos);
  CHECK(requests[0].ends_with("\r\nContent-Length: 2\r\n\r\n{}"));
  CHECK(requests[1].ends_with("\r\nContent-Length: 0\r\n\r\n"));
  CHECK(requests[2].find("Content-Length") == std::string::npos);

  auto injected = client->Send("GET", "/", {{"X-A", "b\r\nX-Evil: 1"}}, "");
  CHECK(injected.status().code() == Status::Code::kInvalidArgument);
  CHECK(server.requests().size() == 3);
}

TEST_CASE("a kept connection the server closed is replaced, and the request goes through") {
  SECTION("closed with Connection: close") {
    ScriptedServer server([](int n, const std::string&) {
      return "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n" +
             std::to_string(n) + std::string(ScriptedServer::kClose);
    });
    auto client = ClientOf(server.origin());
    CHECK(Get(*client) == "0");
    CHECK(Get(*client) == "1");
    CHECK(server.connections() == 2);
  }
  SECTION("closed without a word, before or after the next request came") {
    // The first connection is closed after its answer (the client sees it
    // closed when it sends again); the second is closed on the next request
    // without an answer, as a server that ended it as idle just then would.
    ScriptedServer server([](int n, const std::string&) -> std::string {
      if (n == 2) return "";
      std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n" + std::to_string(n);
      return n == 0 ? answer + std::string(ScriptedServer::kClose) : answer;
    });
    auto client = ClientOf(server.origin());
    CHECK(Get(*client) == "0");
    std::this_thread::sleep_for(50ms);  // the close reaches the client
    CHECK(Get(*client) == "1");
    CHECK(Get(*client) == "3");  // request 2 met a closed connection; 3 is its resend
    CHECK(server.connections() == 3);
  }
}

TEST_CASE("an answer that is not HTTP, or not whole, is an IOError saying so") {
  std::string reply;
  ScriptedServer server([&reply](int, const std::string&) { return reply; });
  auto client = ClientOf(server.origin(), {1000ms, 300ms, 1000ms});

  reply = "SSH-2.0-OpenSSH\r\n\r\n" + std::string(ScriptedServer::kClose);
  CHECK(FailureOf(*client) == "its answer is not HTTP (its first line is 'SSH-2.0-OpenSSH')");
  reply = "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n" + std::string(ScriptedServer::kClose);
  CHECK(FailureOf(*client) == "its answer is not HTTP (its Content-Length is '5x')");
  reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n" +
          std::string(ScriptedServer::kClose);
  CHECK(FailureOf(*client) == "its answer is not HTTP (its Content-Length is '5')");
  reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" +
          std::string(ScriptedServer::kClose);
  CHECK(FailureOf(*client) == "its answer is not HTTP (a chunk's size is 'zz')");
  reply = "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n" + std::string(ScriptedServer::kClose);
  CHECK(FailureOf(*client) == "its answer is not HTTP (a header line is 'no colon here')");
  reply =
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort" + std::string(ScriptedServer::kClose);
  CHECK(FailureOf(*client) == "it closed the connection before its answer was whole");
  reply = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";  // and then nothing
  CHECK(FailureOf(*client) == "it took the request but sent no more of its answer within 300 ms");
  reply = "HTTP/1.1 200 OK\r\nX: " + std::string(70000, 'x');
  CHECK(FailureOf(*client) == "its answer is not HTTP (a line of its answer is too long)");

  reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  CHECK(Get(*client) == "ok");  // the client goes on after every failure
}

TEST_CASE("nothing listening, or an origin that is not one, is said in words") {
  // A port just freed: nothing listens there.
  std::string origin;
  {
    origin = ScriptedServer([](int, const std::string&) { return ""; }).origin();
  }
  auto client = ClientOf(origin);
  CHECK(FailureOf(*client) ==
        "nothing answers there (the connection was refused, or the host is unreachable)");

  for (const char* bad : {"ftp://example.org", "http://", "http://host/path", "http://host:0",
                          "http://host:99999", "http://host:80x", "http://[::1", "http://a@b"}) {
    CAPTURE(bad);
    CHECK(HttpClient::Create(bad).status().code() == Status::Code::kInvalidArgument);
  }
  CHECK(HttpClient::Create("https://[::1]:8443").ok());
  CHECK(HttpClient::Create("http://example.org").ok());
}

TEST_CASE("Stop ends a request in flight and every later one") {
  // The server never answers while the client waits, and the client would
  // wait longer than the test may take: only Stop ends the request.
  std::atomic<bool> released{false};
  ScriptedServer server([&released](int, const std::string&) {
    while (!released) std::this_thread::sleep_for(10ms);
    return std::string();
  });
  auto client = ClientOf(server.origin(), {1000ms, 3600'000ms, 1000ms});
  std::thread stopper([&client] {
    std::this_thread::sleep_for(200ms);
    client->Stop();
  });
  CHECK(FailureOf(*client) == "the request was stopped");
  stopper.join();
  CHECK(FailureOf(*client) == "the request was stopped");
  CHECK(server.requests().size() == 1);
  released = true;
}

}  // namespace kvs::common
