// The FastCGI protocol on one connection, byte by byte: records written into
// one end of a socket pair as a web server would send them, FastCgiConnection
// on the other end, and its answer parsed back into records. The nginx,
// spawn-fcgi and Apache mod_fcgid tests run the same code against the real
// web servers.
#include "fcgi/fastcgi_connection.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace kvs::server::test {
namespace {

constexpr uint8_t kBeginRequest = 1, kAbortRequest = 2, kEndRequest = 3, kParams = 4, kStdin = 5,
                  kStdout = 6, kStderr = 7, kGetValues = 9, kGetValuesResult = 10,
                  kUnknownType = 11;

std::string RecordBytes(uint8_t type, uint16_t id, const std::string& content, uint8_t padding = 0,
                        uint8_t version = 1) {
  std::string out{static_cast<char>(version),
                  static_cast<char>(type),
                  static_cast<char>(id >> 8),
                  static_cast<char>(id),
                  static_cast<char>(content.size() >> 8),
                  static_cast<char>(content.size()),
                  static_cast<char>(padding),
                  0};
  return out + content + std::string(padding, 'p');
}

std::string Begin(uint16_t id, bool keep_conn, uint16_t role = 1) {
  std::string body{static_cast<char>(role >> 8),
                   static_cast<char>(role),
                   static_cast<char>(keep_conn ? 1 : 0),
                   0,
                   0,
                   0,
                   0,
                   0};
  return RecordBytes(kBeginRequest, id, body);
}

std::string Length(size_t n) {
  if (n < 128) return std::string(1, static_cast<char>(n));
  return {static_cast<char>(0x80 | (n >> 24)), static_cast<char>(n >> 16),
          static_cast<char>(n >> 8), static_cast<char>(n)};
}

std::string Pair(const std::string& name, const std::string& value) {
  return Length(name.size()) + Length(value.size()) + name + value;
}

struct Record {
  uint8_t type;
  uint16_t id;
  std::string content;
};

// The web server's end of the connection.
class WebServerEnd {
 public:
  enum class Kind { kUnix, kTcp };
  explicit WebServerEnd(Kind kind = Kind::kUnix) {
    if (kind == Kind::kUnix) {
      int fds[2];
      REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
      ours_ = fds[0];
      theirs_ = fds[1];
      return;
    }
    // A TCP connection over 127.0.0.1, as nginx's fastcgi_pass to a port makes.
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(listener, 1) == 0);
    REQUIRE(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    ours_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(connect(ours_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    theirs_ = accept(listener, nullptr, nullptr);
    close(listener);
    REQUIRE(theirs_ >= 0);
  }
  ~WebServerEnd() {
    if (ours_ >= 0) close(ours_);
    CloseApp();
  }
  void CloseApp() {
    if (theirs_ >= 0) close(theirs_);
    theirs_ = -1;
  }
  int app_fd() const { return theirs_; }
  void Send(const std::string& bytes) const {
    REQUIRE(write(ours_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }
  // Send without asserting, for other threads (Catch2 asserts from the
  // test's thread only); stops at the first failed write.
  void SendAll(const std::string& bytes) const {
    for (size_t done = 0; done < bytes.size();) {
      ssize_t n = write(ours_, bytes.data() + done, bytes.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }
  void CloseOurs() {
    close(ours_);
    ours_ = -1;
  }
  // Reads records until one of type kEndRequest (or until the app's end closes).
  std::vector<Record> ReadUntilEnd() {
    std::vector<Record> records;
    for (;;) {
      while (buffer_.size() >= 8) {
        size_t length = static_cast<uint8_t>(buffer_[4]) << 8 | static_cast<uint8_t>(buffer_[5]);
        size_t padding = static_cast<uint8_t>(buffer_[6]);
        if (buffer_.size() < 8 + length + padding) break;
        CHECK(buffer_[0] == 1);
        Record r{static_cast<uint8_t>(buffer_[1]),
                 static_cast<uint16_t>(static_cast<uint8_t>(buffer_[2]) << 8 |
                                       static_cast<uint8_t>(buffer_[3])),
                 buffer_.substr(8, length)};
        buffer_.erase(0, 8 + length + padding);
        records.push_back(r);
        if (r.type == kEndRequest || r.type == kGetValuesResult || r.type == kUnknownType) {
          return records;
        }
      }
      char chunk[65536];
      ssize_t n = read(ours_, chunk, sizeof chunk);
      if (n <= 0) return records;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int ours_ = -1;
  int theirs_ = -1;
  std::string buffer_;
};

std::string StreamOf(const std::vector<Record>& records, uint8_t type, bool* ended) {
  std::string out;
  *ended = false;
  for (const Record& r : records) {
    if (r.type != type) continue;
    if (r.content.empty()) *ended = true;
    out += r.content;
  }
  return out;
}

std::vector<std::string> ParamsOf(const FastCgiConnection& connection) {
  std::vector<std::string> out;
  for (const char* const* p = connection.params(); *p != nullptr; ++p) out.emplace_back(*p);
  return out;
}

std::string ReadAllBody(FastCgiConnection& connection, size_t chunk) {
  std::string body;
  std::vector<char> buffer(chunk);
  while (size_t n = connection.ReadBody(buffer.data(), buffer.size()))
    body.append(buffer.data(), n);
  return body;
}

uint8_t ProtocolStatus(const Record& end) {
  REQUIRE(end.type == kEndRequest);
  REQUIRE(end.content.size() == 8);
  return static_cast<uint8_t>(end.content[4]);
}

}  // namespace

TEST_CASE("a request's params and stdin arrive whole, however the records split them") {
  WebServerEnd server;
  std::string long_value(300, 'v');  // a four-byte length
  std::string params = Pair("REQUEST_METHOD", "POST") + Pair("QUERY_STRING", "") +
                       Pair("HTTP_X_LONG", long_value) + Pair("CONTENT_LENGTH", "11");
  // The params stream cut mid-pair across three records, one padded.
  server.Send(Begin(7, false) + RecordBytes(kParams, 7, params.substr(0, 5), 3) +
              RecordBytes(kParams, 7, params.substr(5, 300)) +
              RecordBytes(kParams, 7, params.substr(305)) + RecordBytes(kParams, 7, "") +
              RecordBytes(kStdin, 7, "hello ", 2) + RecordBytes(kStdin, 7, "world") +
              RecordBytes(kStdin, 7, ""));
  FastCgiConnection connection;
  connection.Reset(server.app_fd());
  REQUIRE(connection.NextRequest());
  CHECK(ParamsOf(connection) == std::vector<std::string>{"REQUEST_METHOD=POST", "QUERY_STRING=",
                                                         "HTTP_X_LONG=" + long_value,
                                                         "CONTENT_LENGTH=11"});
  CHECK(ReadAllBody(connection, 4) == "hello world");
  CHECK_FALSE(connection.keep_open());

  REQUIRE(connection.Respond("Status: 200 OK\r\n\r\nok", "a log line\n"));
  std::vector<Record> answer = server.ReadUntilEnd();
  REQUIRE_FALSE(answer.empty());
  bool out_ended = false, err_ended = false;
  CHECK(StreamOf(answer, kStdout, &out_ended) == "Status: 200 OK\r\n\r\nok");
  CHECK(StreamOf(answer, kStderr, &err_ended) == "a log line\n");
  CHECK(out_ended);
  CHECK(err_ended);
  for (const Record& r : answer) CHECK(r.id == 7);
  CHECK(ProtocolStatus(answer.back()) == 0);

  // The web server closes its end: no further request.
  server.CloseOurs();
  CHECK_FALSE(connection.NextRequest());
}

TEST_CASE("an answer longer than one record spans several, byte for byte") {
  WebServerEnd server;
  server.Send(Begin(1, false) + RecordBytes(kParams, 1, Pair("REQUEST_METHOD", "GET")) +
              RecordBytes(kParams, 1, "") + RecordBytes(kStdin, 1, ""));
  FastCgiConnection connection;
  connection.Reset(server.app_fd());
  REQUIRE(connection.NextRequest());
  std::string big;
  for (int i = 0; i < 200000; ++i) big.push_back(static_cast<char>(i * 7));
  std::vector<Record> answer;
  std::thread reader([&] { answer = server.ReadUntilEnd(); });  // the socket buffer is smaller
  CHECK(connection.Respond(big, ""));
  reader.join();
  bool ended = false;
  CHECK(StreamOf(answer, kStdout, &ended) == big);
  CHECK(ended);
  size_t stdout_records = 0;
  for (const Record& r : answer) stdout_records += r.type == kStdout;
  CHECK(stdout_records >= 5);  // 200000 bytes need four of at most 65535, and the end
  bool err_ended = false;
  CHECK(StreamOf(answer, kStderr, &err_ended).empty());
}

TEST_CASE("a kept connection serves requests one after another, unread bodies skipped") {
  WebServerEnd server;
  auto request = [](uint16_t id, const std::string& path, const std::string& body) {
    return Begin(id, true) + RecordBytes(kParams, id, Pair("PATH_INFO", path)) +
           RecordBytes(kParams, id, "") + RecordBytes(kStdin, id, body) +
           RecordBytes(kStdin, id, "");
  };
  // Both requests at once: the second is already buffered when the first ends.
  server.Send(request(1, "/first", std::string(70000 / 2, 'x')) + request(2, "/second", "b"));
  FastCgiConnection connection;
  connection.Reset(server.app_fd());
  REQUIRE(connection.NextRequest());
  CHECK(ParamsOf(connection) == std::vector<std::string>{"PATH_INFO=/first"});
  CHECK(connection.keep_open());
  REQUIRE(connection.Respond("one", ""));  // the body was never read
  std::vector<Record> first = server.ReadUntilEnd();
  REQUIRE_FALSE(first.empty());
  CHECK(first.back().id == 1);

  REQUIRE(connection.keep_open());
  REQUIRE(connection.NextRequest());
  CHECK(ParamsOf(connection) == std::vector<std::string>{"PATH_INFO=/second"});
  CHECK(ReadAllBody(connection, 100) == "b");
  REQUIRE(connection.Respond("two", ""));
  std::vector<Record> second = server.ReadUntilEnd();
  bool ended = false;
  CHECK(StreamOf(second, kStdout, &ended) == "two");
  CHECK(second.back().id == 2);
}

TEST_CASE("over TCP, a handler that reads no body still gets its whole answer out") {
  // Respond reads the rest of the request before it answers: a TCP socket
  // closed with input unread sends a reset, which can cost the web server an
  // answer still in flight. (On loopback nothing is in flight, so this shows
  // the reading and the answer, not the reset.)
  WebServerEnd server(WebServerEnd::Kind::kTcp);
  // More body than one read of the connection's buffer takes in, so some of
  // it is still in the socket when the answer is written. Sent from a
  // thread: the socket buffers may not hold it all at once.
  std::string request = Begin(1, false) + RecordBytes(kParams, 1, Pair("REQUEST_METHOD", "POST")) +
                        RecordBytes(kParams, 1, "");
  for (int i = 0; i < 8; ++i) request += RecordBytes(kStdin, 1, std::string(60000, 'b'));
  request += RecordBytes(kStdin, 1, "");
  std::thread sender([&] { server.SendAll(request); });
  FastCgiConnection connection;
  connection.Reset(server.app_fd());
  REQUIRE(connection.NextRequest());
  REQUIRE(connection.Respond("Status: 413 Payload Too Large\r\n\r\ntoo large", ""));
  server.CloseApp();
  sender.join();
  std::vector<Record> answer = server.ReadUntilEnd();
  bool ended = false;
  CHECK(StreamOf(answer, kStdout, &ended) == "Status: 413 Payload Too Large\r\n\r\ntoo large");
  REQUIRE_FALSE(answer.empty());
  CHECK(answer.back().type == kEndRequest);
}

TEST_CASE("management records, other roles and a second request on one connection") {
  WebServerEnd server;
  FastCgiConnection connection;
  connection.Reset(server.app_fd());
  // The records below all end without a request for the handler; the
  // connection ends when the web server closes it. (Catch2 asserts only
  // from the test's own thread.)
  bool got_request = true;
  std::thread app([&] { got_request = connection.NextRequest(); });

  SECTION("FCGI_GET_VALUES: no multiplexing") {
    server.Send(RecordBytes(kGetValues, 0, Pair("FCGI_MPXS_CONNS", "") + Pair("OTHER", "")));
    std::vector<Record> answer = server.ReadUntilEnd();
    REQUIRE(answer.size() == 1);
    CHECK(answer[0].type == kGetValuesResult);
    CHECK(answer[0].content == Pair("FCGI_MPXS_CONNS", "0"));
  }
  SECTION("an unknown management record") {
    server.Send(RecordBytes(42, 0, "?"));
    std::vector<Record> answer = server.ReadUntilEnd();
    REQUIRE(answer.size() == 1);
    CHECK(answer[0].type == kUnknownType);
    CHECK(static_cast<uint8_t>(answer[0].content[0]) == 42);
  }
  SECTION("the authorizer role") {
    server.Send(Begin(3, true, 2));
    std::vector<Record> answer = server.ReadUntilEnd();
    REQUIRE(answer.size() == 1);
    CHECK(answer[0].id == 3);
    CHECK(ProtocolStatus(answer[0]) == 3);  // FCGI_UNKNOWN_ROLE
  }
  SECTION("a second request while one is open") {
    server.Send(Begin(1, true) + Begin(2, true));
    std::vector<Record> answer = server.ReadUntilEnd();
    REQUIRE(answer.size() == 1);
    CHECK(answer[0].id == 2);
    CHECK(ProtocolStatus(answer[0]) == 1);  // FCGI_CANT_MPX_CONN
  }
  SECTION("a request aborted before its params end") {
    server.Send(Begin(5, true) + RecordBytes(kParams, 5, Pair("A", "b")) +
                RecordBytes(kAbortRequest, 5, ""));
    std::vector<Record> answer = server.ReadUntilEnd();
    REQUIRE(answer.size() == 1);
    CHECK(answer[0].id == 5);
    CHECK(ProtocolStatus(answer[0]) == 0);
  }
  server.CloseOurs();
  app.join();
  CHECK_FALSE(got_request);
}

TEST_CASE("a record that breaks the protocol ends the connection") {
  WebServerEnd server;
  FastCgiConnection connection;
  connection.Reset(server.app_fd());
  SECTION("a version other than 1") {
    server.Send(RecordBytes(kBeginRequest, 1, std::string(8, '\0'), 0, 2));
  }
  SECTION("a name-value pair longer than its stream") {
    server.Send(Begin(1, false) + RecordBytes(kParams, 1, Length(5) + Length(200) + "short") +
                RecordBytes(kParams, 1, ""));
  }
  SECTION("stdin before the params end") {
    server.Send(Begin(1, false) + RecordBytes(kStdin, 1, "body"));
  }
  SECTION("a record cut off by the end of the connection") {
    server.Send(Begin(1, false) + RecordBytes(kParams, 1, Pair("A", "b")).substr(0, 9));
    server.CloseOurs();
  }
  CHECK_FALSE(connection.NextRequest());
  CHECK_FALSE(connection.keep_open());
}

TEST_CASE("a body cut off by the end of the connection reads as empty") {
  // Found by fuzz_fastcgi (fuzz/corpus/fastcgi/regress-stdin-cut-off): with
  // no stdin read yet, ReadBody gave memcpy the null data() of an empty
  // view, which UndefinedBehaviorSanitizer reports (build-asan/).
  WebServerEnd server;
  server.Send(Begin(1, false) + RecordBytes(kParams, 1, Pair("CONTENT_LENGTH", "5")) +
              RecordBytes(kParams, 1, "") + RecordBytes(kStdin, 1, "hello").substr(0, 10));
  server.CloseOurs();
  FastCgiConnection connection;
  connection.Reset(server.app_fd());
  REQUIRE(connection.NextRequest());
  char buffer[8];
  CHECK(connection.ReadBody(buffer, sizeof buffer) == 0);
  CHECK_FALSE(connection.keep_open());
}

TEST_CASE("FCGI_WEB_SERVER_ADDRS limits TCP connections to the addresses it lists") {
  WebServerEnd tcp(WebServerEnd::Kind::kTcp);  // the peer is 127.0.0.1
  CHECK(WebServerAllowed(tcp.app_fd(), nullptr));
  CHECK(WebServerAllowed(tcp.app_fd(), "127.0.0.1"));
  CHECK(WebServerAllowed(tcp.app_fd(), "10.0.0.1, 127.0.0.1"));
  CHECK_FALSE(WebServerAllowed(tcp.app_fd(), "10.0.0.1"));
  CHECK_FALSE(WebServerAllowed(tcp.app_fd(), "127.0.0.10,127.0.0"));
  CHECK_FALSE(WebServerAllowed(tcp.app_fd(), ""));
  WebServerEnd unix_socket;
  CHECK(WebServerAllowed(unix_socket.app_fd(), "10.0.0.1"));
}

}  // namespace kvs::server::test
