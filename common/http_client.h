// HttpClient: the HTTP/1.1 client kvs talks to other servers with (a
// replication peer, replication/http_peer.h; another node of a cluster,
// faces/cluster/forward.h), over TCP or, for https://, TLS.
//
// It is kvs's own rather than cpp-httplib's because that library sets up
// OpenSSL's ciphers, digests and error strings as it loads: every process
// linking it paid for that at start, though a plain CGI request and most
// `kvs` commands never talk to another server (docs/benchmarks.md). Here TLS
// is set up by the first connection that needs it.
//
// A connection is kept for the next request when the server allows it, and
// a request that finds a kept connection closed by the server goes once
// more on a new one. TLS verifies the server's certificate against the
// system's trusted ones (or SSL_CERT_FILE / SSL_CERT_DIR, as OpenSSL reads
// them) and its name or address. A TLS connection broken by the server can
// raise SIGPIPE: kvs and kvs-fcgi ignore it.
#ifndef KVS_COMMON_HTTP_CLIENT_H_
#define KVS_COMMON_HTTP_CLIENT_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kvs/status.h"

namespace kvs::common {

class HttpConnection;  // common/http_client.cc

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpAnswer {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  // The value of the first header of that name, in any case; "" when none.
  std::string Header(std::string_view name) const;
};

struct HttpTimeouts {
  std::chrono::milliseconds connect{10'000};  // TCP connect and TLS handshake
  std::chrono::milliseconds read{120'000};    // the longest wait for more of the answer
  std::chrono::milliseconds write{120'000};   // the longest wait to send more of the request
};

class HttpClient {
 public:
  // origin: "http://HOST[:PORT]" or "https://HOST[:PORT]", HOST a name, an
  // IPv4 address or a bracketed IPv6 one. InvalidArgument otherwise.
  static Result<std::unique_ptr<HttpClient>> Create(std::string_view origin,
                                                    HttpTimeouts timeouts = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request (target: the path and query) with a Content-Length
  // for body, and reads its whole answer, whatever its status. IOError
  // saying in words what failed: nothing answers, a timeout, a connection
  // closed or broken mid-answer, an answer that is not HTTP, a certificate
  // not accepted, a stopped client. Requests on one client take turns.
  Result<HttpAnswer> Send(std::string_view method, std::string_view target,
                          const HttpHeaders& headers, std::string_view body);

  // From any thread: ends the request in flight, if any, and fails every
  // later one.
  void Stop();

 private:
  struct Origin {
    bool tls = false;
    std::string host;  // without brackets
    std::string port;
    std::string host_header;
  };
  HttpClient(Origin origin, HttpTimeouts timeouts);
  // One attempt on conn_, connecting first when there is none.
  Result<HttpAnswer> Attempt(const std::string& request, bool head, bool* sent_nothing_back);
  Status Connect();
  void Close();

  const Origin origin_;
  const HttpTimeouts timeouts_;
  std::mutex send_mu_;  // one request at a time
  // The connection, and whether Stop was called. Guarded by conn_mu_ where
  // Stop may race: conn_ is replaced and closed under it, and Stop shuts its
  // socket down under it; the thread holding send_mu_ reads it without.
  std::mutex conn_mu_;
  std::unique_ptr<HttpConnection> conn_;
  std::atomic<bool> stopped_{false};
};

}  // namespace kvs::common

#endif  // KVS_COMMON_HTTP_CLIENT_H_
