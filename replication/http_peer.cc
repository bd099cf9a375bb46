// HttpPeer: protocol messages as HTTP POSTs (replication/http_peer.h).
#include "replication/http_peer.h"

#include "common/json_value.h"
#include "common/secret_file.h"

namespace kvs::replication {
namespace {

// The error a server's refusal stands for, with its message.
Status RefusalStatus(int status, const std::string& url, const std::string& body) {
  std::string message;
  if (auto j = Parse(body);
      j.ok() && j->is_object() && j->contains("message") && (*j)["message"].is_string()) {
    message = (*j)["message"].get<std::string>();
  } else {
    message = body.substr(0, 200);
    while (!message.empty() && message.back() == '\n') message.pop_back();
  }
  std::string text = url + " answered " + std::to_string(status) + ": " + message;
  switch (status) {
    case 400:
      return Status::InvalidArgument(text);
    case 404:
      return Status::NotFound(text);
    case 409:
      return Status::Conflict(text);
    case 410:
      return Status::Compacted(text);
    case 507:
      return Status::NoSpace(text);
    default:
      return Status::IOError(text);
  }
}

// The secret for a server, from its file (HttpPeer::Connect).
Result<std::string> ReadPeerSecret(const std::string& path) {
  KVS_ASSIGN_OR_RETURN(std::string secret, common::ReadSecretFile(path, "the secret file"));
  if (secret.empty()) {
    return Status::InvalidArgument("the secret file " + path +
                                   " holds no secret on its first line");
  }
  return secret;
}

}  // namespace

Result<ServerUrl> ParseServerUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument("'" + url +
                                   "' is not a server's URL: it starts with http:// or https://");
  }
  const size_t path_start = url.find('/', scheme_end + 3);
  ServerUrl server;
  server.host = url.substr(0, path_start);
  server.path = path_start == std::string::npos ? "" : url.substr(path_start);
  while (!server.path.empty() && server.path.back() == '/') server.path.pop_back();
  if (server.host.size() <= scheme.size() + 3) {
    return Status::InvalidArgument("'" + url + "' names no host");
  }
  if (server.path.find_first_of("?#") != std::string::npos) {
    return Status::InvalidArgument("'" + url + "' has a query or fragment; give the mount root");
  }
  return server;
}

Result<std::unique_ptr<HttpPeer>> HttpPeer::Connect(const std::string& url,
                                                    const std::optional<std::string>& secret_file) {
  std::string secret;
  if (secret_file) {
    KVS_ASSIGN_OR_RETURN(secret, ReadPeerSecret(*secret_file));
  }
  KVS_ASSIGN_OR_RETURN(ServerUrl server, ParseServerUrl(url));
  std::unique_ptr<common::HttpClient> clients[3];
  for (auto& client : clients) {
    KVS_ASSIGN_OR_RETURN(client, common::HttpClient::Create(server.host));
  }
  return std::unique_ptr<HttpPeer>(new HttpPeer(std::move(clients[0]), std::move(clients[1]),
                                                std::move(clients[2]), url, server.path,
                                                std::move(secret)));
}

HttpPeer::HttpPeer(std::unique_ptr<common::HttpClient> client,
                   std::unique_ptr<common::HttpClient> apply_client,
                   std::unique_ptr<common::HttpClient> changes_client, std::string url,
                   std::string path, std::string secret)
    : client_(std::move(client)),
      apply_client_(std::move(apply_client)),
      changes_client_(std::move(changes_client)),
      url_(std::move(url)),
      path_(std::move(path)),
      secret_(std::move(secret)) {}

HttpPeer::~HttpPeer() = default;

void HttpPeer::Interrupt() {
  interrupted_ = true;
  client_->Stop();
  apply_client_->Stop();
  changes_client_->Stop();
}

Result<std::string> HttpPeer::Post(Op op, const std::string& body) {
  if (interrupted_) return Status::IOError("replication with " + url_ + " was stopped");
  common::HttpHeaders headers = {{"Content-Type", "application/json"}};
  if (!secret_.empty()) headers.emplace_back("Authorization", "Bearer " + secret_);
  const std::string path = path_ + "/_sync/" + std::string(OpName(op));
  common::HttpClient& client = op == Op::kApply     ? *apply_client_
                               : op == Op::kChanges ? *changes_client_
                                                    : *client_;
  auto response = client.Send("POST", path, headers, body);
  if (!response.ok())
    return Status::IOError("cannot reach " + url_ + ": " + response.status().message());
  if (response->status == 403 && secret_.empty()) {
    return Status::IOError(
        RefusalStatus(response->status, url_, response->body).message() +
        " (no secret was sent: give the server's with --secret-file FILE, or as the peer's "
        "secret_file in a server's config)");
  }
  if (response->status != 200) return RefusalStatus(response->status, url_, response->body);
  return std::move(response->body);
}

Status HttpPeer::NotTheProtocol() const {
  return Status::IOError(url_ + " answered something that is not the replication protocol" +
                         " (is it a kvs server's mount root?)");
}

Result<Json> HttpPeer::Call(Op op, const Json& body) {
  return CallWithText(op, common::DumpJson(body));
}

Result<Json> HttpPeer::CallWithText(Op op, const std::string& body) {
  KVS_ASSIGN_OR_RETURN(std::string text, Post(op, body));
  auto answer = Parse(text);
  if (!answer.ok()) return NotTheProtocol();
  return answer;
}

Result<std::vector<ReplicatedVersion>> HttpPeer::CallFetch(const Json& body) {
  KVS_ASSIGN_OR_RETURN(std::string text, Post(Op::kFetch, common::DumpJson(body)));
  auto versions = FetchAnswerFromText(text);
  if (!versions.ok() && !Parse(text).ok()) return NotTheProtocol();
  return versions;
}

Result<ApplyOutcome> HttpPeer::CallApply(const ReplicationBatch& batch,
                                         const std::vector<std::string>& may_fork) {
  KVS_ASSIGN_OR_RETURN(Json answer, CallWithText(Op::kApply, ApplyRequestText(batch, may_fork)));
  return ApplyOutcomeFromJson(answer);
}

}  // namespace kvs::replication
