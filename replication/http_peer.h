// A kvs server as a replication peer: each message is a POST of its JSON
// to URL/_sync/OP, where URL is the server's mount root
// ("http://host:8080", "https://example.org/kvs"). The secret, when given,
// goes in an Authorization header, never in the URL. Applies, and pages of
// changes, travel on connections of their own, so that they can be in
// flight while the replicator asks a page's questions on the third.
#ifndef KVS_REPLICATION_HTTP_PEER_H_
#define KVS_REPLICATION_HTTP_PEER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "common/http_client.h"
#include "replication/serve.h"

namespace kvs::replication {

// A kvs server's URL (its mount root) split: the scheme and host
// ("http://host:8080", an HttpClient's origin), and the mount's path without a trailing
// '/' ("" or "/kvs"). InvalidArgument when it is not http:// or https://
// with a host, or has a query or fragment.
struct ServerUrl {
  std::string host;
  std::string path;
};
Result<ServerUrl> ParseServerUrl(const std::string& url);

class HttpPeer : public RemotePeer {
 public:
  // The secret, when secret_file names one, is the file's first line, read
  // as the server reads its own auth_file (common/secret_file.h).
  // InvalidArgument when url is not http:// or https:// with a host, or the
  // file's first line holds no secret; IOError when it cannot be read.
  static Result<std::unique_ptr<HttpPeer>> Connect(const std::string& url,
                                                   const std::optional<std::string>& secret_file);
  ~HttpPeer() override;

  // Closes the connection under a call in flight, and fails every call
  // from then on.
  void Interrupt() override;
  bool ConcurrentCalls() const override { return true; }  // Call picks a connection per op

 protected:
  Result<Json> Call(Op op, const Json& body) override;
  Result<std::vector<ReplicatedVersion>> CallFetch(const Json& body) override;
  Result<ApplyOutcome> CallApply(const ReplicationBatch& batch,
                                 const std::vector<std::string>& may_fork) override;

 private:
  HttpPeer(std::unique_ptr<common::HttpClient> client,
           std::unique_ptr<common::HttpClient> apply_client,
           std::unique_ptr<common::HttpClient> changes_client, std::string url, std::string path,
           std::string secret);
  // POSTs one message's text; the answer's text, or the server's refusal.
  Result<std::string> Post(Op op, const std::string& body);
  // Call, for a message already written as text.
  Result<Json> CallWithText(Op op, const std::string& body);
  // The error for an answer that is not the protocol.
  Status NotTheProtocol() const;

  std::unique_ptr<common::HttpClient> client_;
  std::unique_ptr<common::HttpClient> apply_client_;    // Op::kApply's
  std::unique_ptr<common::HttpClient> changes_client_;  // Op::kChanges's
  std::string url_;                                     // as given, for messages
  std::string path_;                                    // the mount's path, without a trailing '/'
  std::string secret_;
  std::atomic<bool> interrupted_{false};
};

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_HTTP_PEER_H_
