// The server when resources run out, through a real nginx and kvs-fcgi: a
// disk that fills up (a file size limit set on the running kvs-fcgi, the
// limit a full disk is to it), a thousand connections at once, clients too
// slow to send their body or read their answer, and peers on kvs-fcgi's own
// socket that stall.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/harness/server_stack.h"
#include "tests/store/test_util.h"

namespace kvs::server::test {
namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";

// Generous, for a sanitizer build on a busy machine; only a hang reaches it.
constexpr auto kHangLimit = std::chrono::seconds(120);

// The bytes of the served store's data file, without the zeros kept ahead.
uint64_t DataFileSize(const ServerStack& stack) {
  uint64_t size = 0;
  for (const auto& entry : std::filesystem::directory_iterator(stack.dir() + "/kvs-data")) {
    if (entry.path().filename().string().starts_with("data.")) {
      size += kvs::test::DataFileBytes(entry.path());
    }
  }
  return size;
}

// Limits how large a file process pid may write: past it, its writes fail
// with EFBIG, as they fail with ENOSPC on a full disk (also over the zeros
// kept ahead of the data, unlike a full disk).
void SetFileSizeLimit(pid_t pid, rlim_t bytes) {
  rlimit limit{bytes, RLIM_INFINITY};
  REQUIRE(prlimit(pid, RLIMIT_FSIZE, &limit, nullptr) == 0);
}

// Raises this process's open-file limit (and so that of the servers it
// starts) to at least n.
void AllowOpenFiles(rlim_t n) {
  rlimit limit;
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  REQUIRE((limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= n));
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < n) {
    limit.rlim_cur = n;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &limit) == 0);
  }
}

httplib::Response Post(const ServerStack& stack, const std::string& fields) {
  return Answer(stack.Client()->Post("/", AuthField() + "&" + fields, kForm), stack);
}

std::string ValueOf(const ServerStack& stack, const std::string& key) {
  httplib::Response res = Answer(stack.Client()->Get(("/?k=" + key).c_str()), stack);
  return res.status == 200 ? res.body : "<" + std::to_string(res.status) + ">";
}

// A client on a raw TCP connection to nginx, for sending and reading at
// whatever pace a test wants.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(ConnectLoopback(port)) {}
  ~RawClient() { close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void Send(const std::string& bytes) {
    REQUIRE(send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  // Reads what has arrived, without waiting; false once the server closed.
  bool ReadAvailable() {
    char buffer[65536];
    for (;;) {
      ssize_t got = recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (got > 0) {
        answer_.append(buffer, static_cast<size_t>(got));
        continue;
      }
      return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
  }
  int fd() const { return fd_; }
  const std::string& answer() const { return answer_; }

 private:
  int fd_ = -1;
  std::string answer_;
};

// Reads every client's answer until each server closed its connection
// (every request says "Connection: close").
void ReadUntilClosed(std::vector<std::unique_ptr<RawClient>>& clients) {
  std::vector<bool> open(clients.size(), true);
  size_t still_open = clients.size();
  const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
  while (still_open > 0) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::vector<pollfd> fds;
    std::vector<size_t> which;
    for (size_t i = 0; i < clients.size(); ++i) {
      if (!open[i]) continue;
      fds.push_back({clients[i]->fd(), POLLIN, 0});
      which.push_back(i);
    }
    REQUIRE(poll(fds.data(), fds.size(), 1000) >= 0);
    for (size_t j = 0; j < fds.size(); ++j) {
      if (fds[j].revents == 0) continue;
      if (!clients[which[j]]->ReadAvailable()) {
        open[which[j]] = false;
        --still_open;
      }
    }
  }
}

// The head of a request that closes its connection: "GET /?k=a", or a
// "POST /" announcing a form body of form_bytes.
std::string Head(const std::string& line, size_t form_bytes = 0) {
  std::string head = line + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (line.starts_with("POST")) {
    head += "Content-Type: " + std::string(kForm) +
            "\r\nContent-Length: " + std::to_string(form_bytes) + "\r\n";
  }
  return head + "\r\n";
}

}  // namespace

TEST_CASE("a full disk answers 507, keeps every acknowledged write, and heals without a restart") {
  ServerStack stack;
  REQUIRE(Post(stack, "before=1").status == 200);
  const uint64_t revision = ServedStoreRevision(stack);

  // A little room, less than a transaction takes: the first write of each
  // request gets part of its bytes in, the next one fails.
  SetFileSizeLimit(stack.kvs_pid(), DataFileSize(stack) + 100);
  for (int i = 0; i < 3; ++i) {
    httplib::Response full = Post(stack, "during=" + std::to_string(i));
    INFO(full.body);
    CHECK(full.status == 507);
    CHECK(full.body.find("full") != std::string::npos);
    CHECK(full.body.find(stack.dir()) == std::string::npos);  // no server paths
  }
  httplib::Response rest =
      Answer(stack.Client()->Put("/rest-key", BearerHeaders(), "v", "text/plain"), stack);
  CHECK(rest.status == 507);
  CHECK(nlohmann::json::parse(rest.body)["error"] == "insufficient_storage");
  CHECK(ValueOf(stack, "before") == "1");
  CHECK(ServedStoreRevision(stack) == revision);

  SetFileSizeLimit(stack.kvs_pid(), RLIM_INFINITY);  // space was freed
  REQUIRE(Post(stack, "after=2").status == 200);
  CHECK(ValueOf(stack, "after") == "2");
  CHECK(ValueOf(stack, "before") == "1");
  CHECK(ValueOf(stack, "during") == "<404>");
  CHECK(ServedStoreRevision(stack) == revision + 1);
  CHECK(OpenServedStore(stack)->Check()->ok());
}

TEST_CASE("a thousand connections at once are all answered, and so is one more client") {
  constexpr int kConnections = 1000;
  AllowOpenFiles(4 * kConnections);  // nginx holds two descriptors per request
  ServerStack stack;
  REQUIRE(Post(stack, "k=v").status == 200);

  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<RawClient>(stack.port()));
    clients.back()->Send(Head("GET /?k=k"));
  }
  CHECK(ValueOf(stack, "k") == "v");
  ReadUntilClosed(clients);
  int ok = 0;
  for (const auto& client : clients) ok += client->answer().starts_with("HTTP/1.1 200");
  INFO(clients.front()->answer());
  CHECK(ok == kConnections);
}

TEST_CASE("clients that send a byte a second or never read do not hold up the others") {
  ServerStack stack;  // kvs-fcgi runs 16 worker threads
  constexpr int kSlow = 40;
  const std::string big(90000, 'x');
  REQUIRE(Post(stack, "big=" + big).status == 200);

  // Slow senders: a form body announced, one byte of it sent.
  std::vector<std::unique_ptr<RawClient>> senders;
  const std::string body = AuthField() + "&slow=drip";
  for (int i = 0; i < kSlow; ++i) {
    senders.push_back(std::make_unique<RawClient>(stack.port()));
    senders.back()->Send(Head("POST /", body.size()) + body.substr(0, 1));
  }
  // Slow readers: a big value asked for, its answer never read.
  std::vector<std::unique_ptr<RawClient>> readers;
  for (int i = 0; i < kSlow; ++i) {
    readers.push_back(std::make_unique<RawClient>(stack.port()));
    readers.back()->Send(Head("GET /?k=big"));
  }
  for (size_t sent = 1; sent < 4; ++sent) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    for (auto& sender : senders) sender->Send(body.substr(sent, 1));
  }

  // Meanwhile everybody else is served.
  REQUIRE(Post(stack, "other=served").status == 200);
  CHECK(ValueOf(stack, "other") == "served");

  for (auto& sender : senders) sender->Send(body.substr(4));
  ReadUntilClosed(senders);
  ReadUntilClosed(readers);
  for (const auto& sender : senders) CHECK(sender->answer().starts_with("HTTP/1.1 200"));
  for (const auto& reader : readers) {
    CHECK(reader->answer().starts_with("HTTP/1.1 200"));
    CHECK(reader->answer().ends_with(big));
  }
  CHECK(ValueOf(stack, "slow") == "drip");
}

TEST_CASE("connections to kvs-fcgi that stall hold no worker thread for long") {
  // More than kvs-fcgi's 16 worker threads, each sending the start of a
  // FastCGI record and then nothing: without a timeout they would hold
  // every thread, and nginx's requests would wait for as long as they last.
  ServerStack stack;
  std::vector<int> stalled;
  for (int i = 0; i < 20; ++i) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    (stack.dir() + "/kvs.sock").copy(address.sun_path, sizeof address.sun_path - 1);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(send(fd, "\x01\x01", 2, MSG_NOSIGNAL) == 2);
    stalled.push_back(fd);
  }
  // Served once the first stalled ones are dropped: before the client's
  // timeout, which is longer than kvs-fcgi's.
  REQUIRE(Post(stack, "served=yes").status == 200);
  CHECK(ValueOf(stack, "served") == "yes");
  char byte;
  CHECK(recv(stalled.front(), &byte, 1, 0) == 0);  // closed by kvs-fcgi
  for (int fd : stalled) close(fd);
}

}  // namespace kvs::server::test
