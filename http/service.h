// The per-process state every handler shares: the configuration, the
// secret, and the store, opened once at start and used by all threads (a
// kvs::Store is thread-safe).
#ifndef KVS_HTTP_SERVICE_H_
#define KVS_HTTP_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cluster/cluster_node.h"
#include "config/config.h"
#include "http/auth.h"
#include "http/query.h"
#include "http/request.h"
#include "http/request_metrics.h"
#include "kvs/status.h"
#include "kvs/store.h"
#include "replication/status_board.h"

namespace kvs::server {

// The config's types, under the names every part of the server uses.
using config::Config;
using config::Limits;
using config::ReadAccess;
using merge::MergeRule;

struct Service {
  Config config;
  Secret secret;
  std::unique_ptr<Store> store;
  // This server's node of a cluster (the config's cluster: section);
  // nullptr when it is none.
  std::unique_ptr<cluster::ClusterNode> cluster;
  // The background replication's state, per peer of the config's
  // replication: section; nullptr where none runs (plain CGI, or a FastCGI
  // server not started yet).
  std::shared_ptr<replication::StatusBoard> replication;
  // Long polls (POST /_sync/wait), and cluster requests waiting for their
  // causal context, hold a worker thread each: at most max_waiting wait at
  // once (kvs-fcgi sets it from its thread count; 0, as in plain CGI: none
  // waits), and all end soon once stopping is set.
  int max_waiting = 0;
  std::atomic<int> waiting{0};
  std::atomic<bool> stopping{false};
  // Every request Route answers, counted for GET /_metrics.
  RequestMetrics metrics;
  // The compactions this process ran (CompactByRetention: POST /_compact and
  // the size bound's), and the bytes they freed, for GET /_metrics.
  std::atomic<uint64_t> compactions{0};
  std::atomic<uint64_t> compaction_freed_bytes{0};
  // When the service started (nanoseconds since 1970).
  int64_t started_ns = 0;
};

// A place among the requests allowed to wait (Service::max_waiting), held
// for one request; none when they are all taken.
class WaitSlot {
 public:
  explicit WaitSlot(Service& service) : service_(service) {
    held_ = service.waiting.fetch_add(1) < service.max_waiting;
  }
  ~WaitSlot() { service_.waiting.fetch_sub(1); }
  WaitSlot(const WaitSlot&) = delete;
  WaitSlot& operator=(const WaitSlot&) = delete;
  bool held() const { return held_; }

 private:
  Service& service_;
  bool held_;
};

// Reads the secret, opens (creating if missing) the store for a process of
// that lifetime, and creates the default branch from main when the store
// does not have it yet. A failure message names the config file and what
// went wrong.
Result<std::unique_ptr<Service>> StartService(
    const Config& config, config::Lifetime lifetime = config::Lifetime::kServer);

// Whether the request may read: always with read_access: public; with
// read_access: secret, a 403 unless it offers the secret (query_auth: the
// auth fields of its query string, or a bearer token).
std::optional<HttpError> AuthorizeRead(const Service& service, std::vector<std::string> query_auth,
                                       const Request& request);

// Whether a write whose body is the value (so no form field can carry the
// secret) may go on: it needs "Authorization: Bearer SECRET"; a missing or
// wrong one is a 403. (A secret in its query string is refused by
// ParseQuery, http/query.h, as a route that writes does not take auth.)
std::optional<HttpError> AuthorizeBodyWrite(const Service& service, const Request& request);

// The query of a route that reads, parsed (it takes auth besides what spec
// names) and its read authorized; else the refusal.
std::variant<Query, HttpError> ReadQuery(const Request& request, const Service& service,
                                         QuerySpec spec);

// The query of a route that writes with the secret in a header, parsed and
// its write authorized; else the refusal.
std::variant<Query, HttpError> WriteQuery(const Request& request, const Service& service,
                                          const QuerySpec& spec);

// For a write that takes no query parameters: a 400 for any (the secret in
// the URL too), a 403 without the secret; nullopt when it may go on.
std::optional<HttpError> RefuseBareWrite(const Request& request, const Service& service);

// Runs a write planned from what the store holds: attempt plans and writes,
// and answers, or returns nullopt when a key moved between its reads and its
// write (the write's compare-and-set failed with kConflict), to plan again.
// After kWriteAttempts tries the answer is a 409 with gave_up's message.
inline constexpr int kWriteAttempts = 5;
Response RetryOnConflict(const std::function<std::optional<Response>()>& attempt,
                         const std::string& gave_up);

// The one mapping of a store error to HTTP: 404 NotFound, 400
// InvalidArgument and Ambiguous, 409 Conflict, 410 Compacted (error
// "compacted"), 507 NoSpace (a full disk; the details, which name paths, go
// to log_message); anything else is the server's fault, a 500 that tells the
// client little and puts the details in log_message.
// not_found_code, when given, is the "error" of a 404 JSON answer.
HttpError StoreError(const Status& status, std::string not_found_code = "");

// StoreError as a response in format.
Response StoreErrorResponse(const Status& status, Format format, std::string not_found_code = "");

// StoreError for an operation on a branch: a NotFound is "fork_not_found"
// when the branch does not exist, not_found_code otherwise.
HttpError StoreErrorOnBranch(const Status& status, const Service& service,
                             const std::string& branch,
                             const std::string& not_found_code = "not_found");

}  // namespace kvs::server

#endif  // KVS_HTTP_SERVICE_H_
