// HttpClient (common/http_client.h): requests written and answers read by
// hand, over non-blocking sockets waited on with poll(2), so that every wait
// has its timeout and Stop can end any of them.
#include "common/http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

#include "common/secret_file.h"

namespace kvs::common {
namespace {

constexpr size_t kMaxLine = 16 * 1024;         // a status line, a header, a chunk size
constexpr size_t kMaxHead = 64 * 1024;         // the status line and headers together
constexpr uint64_t kMaxBodyPart = 1ull << 40;  // a Content-Length or a chunk's size

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Whether the comma-separated list holds token, in any case.
bool ListHas(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (EqualsIgnoreCase(TrimBlanks(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string Seconds(std::chrono::milliseconds t) {
  const auto ms = t.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

// Waits until fd is ready for events; false once timeout passed first.
bool Ready(int fd, short events, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return true;  // the next call on fd says what is wrong
  }
}

// The context every TLS connection is made from, made by the first: the
// system's trusted certificates, TLS 1.2 at least, and an end of stream
// without TLS's own close read as one (an answer's length says whether it
// is whole). Null when OpenSSL could not make it.
SSL_CTX* ClientTlsContext() {
  static SSL_CTX* const context = [] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) return ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) ERR_clear_error();
    return ctx;
  }();
  return context;
}

std::string TlsErrorText() {
  const unsigned long error = ERR_get_error();
  ERR_clear_error();
  if (error == 0) return "the connection closed";
  char text[256];
  ERR_error_string_n(error, text, sizeof(text));
  return text;
}

}  // namespace

std::string HttpAnswer::Header(std::string_view name) const {
  for (const auto& [n, value] : headers) {
    if (EqualsIgnoreCase(n, name)) return value;
  }
  return "";
}

// One socket, and its TLS session for https. Reads and writes wait with
// poll for as long as their timeout allows.
class HttpConnection {
 public:
  // How a read or write ended, when not with bytes.
  enum class Outcome { kOk, kClosed, kTimeout, kFailed };

  explicit HttpConnection(int fd) : fd_(fd) {}
  ~HttpConnection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    close(fd_);
  }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  int fd() const { return fd_; }
  void Shutdown() { shutdown(fd_, SHUT_RDWR); }
  // Whether the server closed the connection, or sent what no request asked
  // for, while it was kept: either way it cannot take the next request.
  bool Unusable() const {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) != 0 || (ssl_ != nullptr && SSL_pending(ssl_) > 0);
  }

  // The TLS handshake with host (a name or an address), whose certificate
  // must be valid for it. "" when done, else what failed.
  std::string StartTls(const std::string& host, std::chrono::milliseconds timeout) {
    SSL_CTX* context = ClientTlsContext();
    if (context == nullptr || (ssl_ = SSL_new(context)) == nullptr) {
      return "TLS cannot be set up: " + TlsErrorText();
    }
    SSL_set_fd(ssl_, fd_);
    in6_addr address;
    if (inet_pton(AF_INET, host.c_str(), &address) == 1 ||
        inet_pton(AF_INET6, host.c_str(), &address) == 1) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, host.c_str());
      SSL_set1_host(ssl_, host.c_str());
    }
    for (;;) {
      const int r = SSL_connect(ssl_);
      if (r == 1) return "";
      const int error = SSL_get_error(ssl_, r);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (!Ready(fd_, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout)) {
          return "the TLS handshake did not end within " + Seconds(timeout);
        }
        continue;
      }
      const long verified = SSL_get_verify_result(ssl_);
      if (verified != X509_V_OK) {
        ERR_clear_error();
        return std::string("its certificate was not accepted: ") +
               X509_verify_cert_error_string(verified);
      }
      return "the TLS handshake failed: " + TlsErrorText();
    }
  }

  Outcome Write(std::string_view data, std::chrono::milliseconds timeout) {
    while (!data.empty()) {
      size_t n = 0;
      if (ssl_ != nullptr) {
        // After a wait, TLS takes the same bytes again.
        if (SSL_write_ex(ssl_, data.data(), data.size(), &n) != 1) {
          const Outcome waited = WaitTls(timeout);
          if (waited != Outcome::kOk) return waited;
        }
      } else if (const ssize_t sent = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
                 sent >= 0) {
        n = static_cast<size_t>(sent);
      } else if (errno == EAGAIN || errno == EINTR) {
        if (!Ready(fd_, POLLOUT, timeout)) return Outcome::kTimeout;
      } else {
        return errno == EPIPE || errno == ECONNRESET ? Outcome::kClosed : Outcome::kFailed;
      }
      data.remove_prefix(n);
    }
    return Outcome::kOk;
  }

  // Up to size bytes into buffer, at least one when the outcome is kOk
  // (kClosed: the stream ended).
  Outcome Read(char* buffer, size_t size, std::chrono::milliseconds timeout, size_t* got) {
    for (;;) {
      if (ssl_ != nullptr) {
        if (SSL_read_ex(ssl_, buffer, size, got) == 1) return Outcome::kOk;
        const Outcome waited = WaitTls(timeout);
        if (waited != Outcome::kOk) return waited;
        continue;
      }
      const ssize_t n = recv(fd_, buffer, size, 0);
      if (n > 0) {
        *got = static_cast<size_t>(n);
        return Outcome::kOk;
      }
      if (n == 0 || errno == ECONNRESET) return Outcome::kClosed;
      if (errno != EAGAIN && errno != EINTR) return Outcome::kFailed;
      if (!Ready(fd_, POLLIN, timeout)) return Outcome::kTimeout;
    }
  }

 private:
  // After a TLS read or write that did not complete: waits for what it
  // wants (kOk: call it again), or says how the connection ended.
  Outcome WaitTls(std::chrono::milliseconds timeout) {
    const int error = SSL_get_error(ssl_, 0);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      return Ready(fd_, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout)
                 ? Outcome::kOk
                 : Outcome::kTimeout;
    }
    ERR_clear_error();
    if (error == SSL_ERROR_ZERO_RETURN) return Outcome::kClosed;
    if (error == SSL_ERROR_SYSCALL && (errno == 0 || errno == ECONNRESET || errno == EPIPE)) {
      return Outcome::kClosed;
    }
    return Outcome::kFailed;
  }

  const int fd_;
  SSL* ssl_ = nullptr;
};

namespace {

using Outcome = HttpConnection::Outcome;

// Reads one answer from a connection: lines, counted bytes, or all until
// the stream ends. Every failure is an IOError in words; closed_early says
// whether the stream ended before the answer's first byte.
class AnswerReader {
 public:
  AnswerReader(HttpConnection* conn, std::chrono::milliseconds timeout)
      : conn_(conn), timeout_(timeout) {}
  bool closed_early() const { return closed_early_; }

  // The next line, without its line end (CRLF, or a bare LF).
  Result<std::string> Line() {
    for (;;) {
      const size_t end = buffer_.find('\n', pos_);
      if (end != std::string::npos) {
        std::string line = buffer_.substr(pos_, end - pos_);
        pos_ = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (buffer_.size() - pos_ > kMaxLine) return NotHttp("a line of its answer is too long");
      KVS_RETURN_IF_ERROR(More());
    }
  }

  // The next n bytes, appended to out.
  Status Take(uint64_t n, std::string* out) {
    while (n > 0) {
      if (pos_ == buffer_.size()) KVS_RETURN_IF_ERROR(More());
      const size_t part = static_cast<size_t>(std::min<uint64_t>(n, buffer_.size() - pos_));
      out->append(buffer_, pos_, part);
      pos_ += part;
      n -= part;
    }
    return Status::OK();
  }

  // Everything until the stream ends, appended to out.
  Status TakeAll(std::string* out) {
    for (;;) {
      out->append(buffer_, pos_);
      pos_ = buffer_.size();
      Status more = More(/*end_is_fine=*/true);
      if (!more.ok()) return more;
      if (ended_) return Status::OK();
    }
  }

  static Status NotHttp(const std::string& why) {
    return Status::IOError("its answer is not HTTP (" + why + ")");
  }

 private:
  // Reads more into the buffer (dropping what was taken).
  Status More(bool end_is_fine = false) {
    buffer_.erase(0, pos_);
    pos_ = 0;
    char chunk[16 * 1024];
    size_t got = 0;
    switch (conn_->Read(chunk, sizeof(chunk), timeout_, &got)) {
      case Outcome::kOk:
        any_ = true;
        buffer_.append(chunk, got);
        return Status::OK();
      case Outcome::kClosed:
        ended_ = true;
        if (end_is_fine) return Status::OK();
        closed_early_ = !any_;
        return Status::IOError("it closed the connection before its answer was whole");
      case Outcome::kTimeout:
        return Status::IOError("it took the request but sent no more of its answer within " +
                               Seconds(timeout_));
      case Outcome::kFailed:
        break;
    }
    return Status::IOError(std::string("reading its answer failed: ") + std::strerror(errno));
  }

  HttpConnection* conn_;
  const std::chrono::milliseconds timeout_;
  std::string buffer_;
  size_t pos_ = 0;
  bool any_ = false;
  bool ended_ = false;
  bool closed_early_ = false;
};

// A decimal or hexadecimal size, whole, and at most kMaxBodyPart.
std::optional<uint64_t> ParseSize(std::string_view text, int base) {
  uint64_t n = 0;
  const char* end = text.data() + text.size();
  auto [at, error] = std::from_chars(text.data(), end, n, base);
  if (text.empty() || error != std::errc() || at != end || n > kMaxBodyPart) return std::nullopt;
  return n;
}

// The status line and headers of an answer, past any 1xx interim one.
Status ReadHead(AnswerReader* in, HttpAnswer* answer, bool* http10) {
  for (;;) {
    KVS_ASSIGN_OR_RETURN(std::string status_line, in->Line());
    // "HTTP/1.1 200 OK": a version of HTTP/1, a three-digit status.
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") ||
        !std::isdigit(static_cast<unsigned char>(status_line[7])) || status_line[8] != ' ' ||
        (status_line.size() > 12 && status_line[12] != ' ')) {
      return AnswerReader::NotHttp("its first line is '" + status_line.substr(0, 80) + "'");
    }
    auto status = ParseSize(std::string_view(status_line).substr(9, 3), 10);
    if (!status || *status < 100 || *status > 999) {
      return AnswerReader::NotHttp("its status is '" + status_line.substr(9, 3) + "'");
    }
    answer->status = static_cast<int>(*status);
    *http10 = status_line[7] == '0';
    answer->headers.clear();
    size_t head_bytes = status_line.size();
    for (;;) {
      KVS_ASSIGN_OR_RETURN(std::string line, in->Line());
      if (line.empty()) break;
      head_bytes += line.size();
      if (head_bytes > kMaxHead) return AnswerReader::NotHttp("its headers are too long");
      const size_t colon = line.find(':');
      if (colon == 0 || colon == std::string::npos) {
        return AnswerReader::NotHttp("a header line is '" + line.substr(0, 80) + "'");
      }
      answer->headers.emplace_back(
          line.substr(0, colon), std::string(TrimBlanks(std::string_view(line).substr(colon + 1))));
    }
    // 100 Continue and the like come before the answer (101 would switch
    // protocols, which no request here asks for).
    if (answer->status >= 200 || answer->status == 101) return Status::OK();
  }
}

// The body of an answer whose head is read; *keep says whether the
// connection can take another request after it.
Status ReadBody(AnswerReader* in, bool head, bool http10, HttpAnswer* answer, bool* keep) {
  const std::string connection = answer->Header("Connection");
  *keep = http10 ? ListHas(connection, "keep-alive") : !ListHas(connection, "close");
  if (head || answer->status < 200 || answer->status == 204 || answer->status == 304) {
    return Status::OK();
  }
  const std::string coding = answer->Header("Transfer-Encoding");
  if (!coding.empty()) {
    const size_t comma = coding.rfind(',');
    const std::string_view last =
        TrimBlanks(std::string_view(coding).substr(comma == std::string::npos ? 0 : comma + 1));
    if (!EqualsIgnoreCase(last, "chunked")) {
      *keep = false;
      return in->TakeAll(&answer->body);
    }
    for (;;) {
      KVS_ASSIGN_OR_RETURN(std::string line, in->Line());
      const std::string_view size_text =
          TrimBlanks(std::string_view(line).substr(0, line.find(';')));
      auto size = ParseSize(size_text, 16);
      if (!size) return AnswerReader::NotHttp("a chunk's size is '" + line.substr(0, 80) + "'");
      if (*size == 0) break;
      KVS_RETURN_IF_ERROR(in->Take(*size, &answer->body));
      KVS_ASSIGN_OR_RETURN(std::string chunk_end, in->Line());
      if (!chunk_end.empty()) return AnswerReader::NotHttp("a chunk runs past its size");
    }
    for (;;) {  // trailer fields, unused
      KVS_ASSIGN_OR_RETURN(std::string line, in->Line());
      if (line.empty()) return Status::OK();
    }
  }
  const std::string length_text = answer->Header("Content-Length");
  if (length_text.empty()) {
    *keep = false;
    return in->TakeAll(&answer->body);
  }
  auto length = ParseSize(length_text, 10);
  for (const auto& [name, value] : answer->headers) {
    if (EqualsIgnoreCase(name, "Content-Length") && value != length_text) length.reset();
  }
  if (!length) return AnswerReader::NotHttp("its Content-Length is '" + length_text + "'");
  answer->body.reserve(static_cast<size_t>(std::min<uint64_t>(*length, 64 << 20)));
  return in->Take(*length, &answer->body);
}

bool HasLineEnd(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view origin_text,
                                                       HttpTimeouts timeouts) {
  const std::string given(origin_text);
  auto bad = [&given](const std::string& why) {
    return Status::InvalidArgument("'" + given + "' is not a server's origin: " + why);
  };
  Origin origin;
  std::string_view rest = origin_text;
  if (rest.starts_with("https://")) {
    origin.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return bad("it starts with neither http:// nor https://");
  }
  std::string_view port;
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("its IPv6 address has no ']'");
    origin.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return bad("it goes on after its host");
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const size_t colon = rest.find(':');
    origin.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (origin.host.empty() || origin.host.find_first_of("/?#@ \t\r\n") != std::string::npos) {
    return bad("it names no host, or more than a host and a port");
  }
  if (!port.empty()) {
    auto number = ParseSize(port, 10);
    if (!number || *number == 0 || *number > 65535) return bad("its port is not a number");
  }
  origin.port = port.empty() ? (origin.tls ? "443" : "80") : std::string(port);
  const bool v6 = origin.host.find(':') != std::string::npos;
  origin.host_header =
      (v6 ? "[" + origin.host + "]" : origin.host) + (port.empty() ? "" : ":" + std::string(port));
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(origin), timeouts));
}

HttpClient::HttpClient(Origin origin, HttpTimeouts timeouts)
    : origin_(std::move(origin)), timeouts_(timeouts) {}

HttpClient::~HttpClient() = default;

void HttpClient::Stop() {
  std::lock_guard<std::mutex> lock(conn_mu_);
  stopped_ = true;
  if (conn_) conn_->Shutdown();
}

void HttpClient::Close() {
  std::unique_ptr<HttpConnection> closing;
  std::lock_guard<std::mutex> lock(conn_mu_);
  closing = std::move(conn_);
}

Status HttpClient::Connect() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int error = getaddrinfo(origin_.host.c_str(), origin_.port.c_str(), &hints, &found)) {
    return Status::IOError("its host name cannot be resolved (" + std::string(gai_strerror(error)) +
                           ")");
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, &freeaddrinfo);
  bool timed_out = false;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    {
      std::lock_guard<std::mutex> lock(conn_mu_);
      conn_ = std::make_unique<HttpConnection>(fd);
      if (stopped_) conn_->Shutdown();
    }
    int error = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (error == EINPROGRESS) {
      if (!Ready(fd, POLLOUT, timeouts_.connect)) {
        timed_out = true;
        Close();
        continue;
      }
      socklen_t size = sizeof(error);
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
    }
    if (error != 0) {
      Close();
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // head and body: no Nagle wait
    if (origin_.tls) {
      const std::string failed = conn_->StartTls(origin_.host, timeouts_.connect);
      if (!failed.empty()) {
        Close();
        return Status::IOError(failed);
      }
    }
    return Status::OK();
  }
  if (timed_out) {
    return Status::IOError("the connection was not accepted within " + Seconds(timeouts_.connect));
  }
  return Status::IOError(
      "nothing answers there (the connection was refused, or the host is unreachable)");
}

Result<HttpAnswer> HttpClient::Attempt(const std::string& request, bool head,
                                       bool* sent_nothing_back) {
  *sent_nothing_back = false;
  switch (conn_->Write(request, timeouts_.write)) {
    case Outcome::kOk:
      break;
    case Outcome::kTimeout:
      return Status::IOError("it took no more of the request within " + Seconds(timeouts_.write));
    case Outcome::kClosed:
      *sent_nothing_back = true;
      [[fallthrough]];
    case Outcome::kFailed:
      return Status::IOError("the connection broke while the request was being sent");
  }
  AnswerReader in(conn_.get(), timeouts_.read);
  HttpAnswer answer;
  bool http10 = false, keep = false;
  Status read = ReadHead(&in, &answer, &http10);
  if (read.ok()) read = ReadBody(&in, head, http10, &answer, &keep);
  if (!read.ok()) {
    *sent_nothing_back = in.closed_early();
    return read;
  }
  if (!keep) Close();
  return answer;
}

Result<HttpAnswer> HttpClient::Send(std::string_view method, std::string_view target,
                                    const HttpHeaders& headers, std::string_view body) {
  bool clean = !HasLineEnd(method) && !HasLineEnd(target);
  std::string request;
  request.reserve(256 + body.size());
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
  request.append(origin_.host_header).append("\r\nUser-Agent: kvs\r\n");
  for (const auto& [name, value] : headers) {
    clean = clean && !HasLineEnd(name) && !HasLineEnd(value);
    request.append(name).append(": ").append(value).append("\r\n");
  }
  if (!clean) return Status::InvalidArgument("a request line or header holds a line end");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  request.append("\r\n").append(body);

  std::lock_guard<std::mutex> lock(send_mu_);
  const bool head = method == "HEAD";
  for (int attempt = 0;; ++attempt) {
    if (stopped_) return Status::IOError("the request was stopped");
    // A kept connection the server has closed meanwhile takes no request.
    const bool kept = conn_ != nullptr && !conn_->Unusable();
    if (!kept) {
      Close();
      Status connected = Connect();
      if (!connected.ok()) return stopped_ ? Status::IOError("the request was stopped") : connected;
    }
    bool sent_nothing_back = false;
    auto answer = Attempt(request, head, &sent_nothing_back);
    if (answer.ok()) return answer;
    Close();
    if (stopped_) return Status::IOError("the request was stopped");
    // A kept connection can close between the look above and the request
    // (the server ended it as idle): once, a new one.
    if (!(kept && sent_nothing_back && attempt == 0)) return answer.status();
  }
}

}  // namespace kvs::common
