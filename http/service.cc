// Opening the store and secret at start; mapping store errors to HTTP.
#include "http/service.h"

#include "common/time.h"

namespace kvs::server {

Result<std::unique_ptr<Service>> StartService(const Config& config, config::Lifetime lifetime) {
  auto service = std::make_unique<Service>();
  service->config = config;
  service->started_ns = common::WallClockNs();
  auto secret = Secret::Load(config.auth_file);
  if (!secret.ok()) return Status::IOError(config.path + ": " + secret.status().message());
  service->secret = std::move(secret).value();

  auto store = Store::Open(config.data_dir, config.StoreOptions(lifetime));
  if (store.status().IsCorruption()) {
    return Status::Corruption(config.path + ": the store in " + config.data_dir +
                              " is damaged: " + store.status().message());
  }
  if (!store.ok()) {
    return Status::IOError(config.path + ": cannot open the store in " + config.data_dir + ": " +
                           store.status().message());
  }
  service->store = std::move(store).value();

  auto branch = service->store->GetBranch(config.default_branch);
  if (branch.status().IsNotFound()) {
    branch = service->store->CreateBranch(config.default_branch, "main");
  }
  if (!branch.ok()) {
    return Status::InvalidArgument(config.path + ": default_branch '" + config.default_branch +
                                   "': " + branch.status().message());
  }
  if (config.cluster) {
    service->cluster = std::make_unique<cluster::ClusterNode>(
        *config.cluster, *service->store, config.default_branch, *config.auth_file,
        config.merge_rules, config.retention.ToCompactOptions());
  }
  return service;
}

std::optional<HttpError> AuthorizeRead(const Service& service, std::vector<std::string> query_auth,
                                       const Request& request) {
  if (service.config.read_access == ReadAccess::kPublic) return std::nullopt;
  return service.secret.Authorize(OfferedCredentials(std::move(query_auth), request.headers),
                                  "reading");
}

std::optional<HttpError> AuthorizeBodyWrite(const Service& service, const Request& request) {
  std::vector<std::string> offered = OfferedCredentials({}, request.headers);
  if (service.secret.configured() && offered.empty()) {
    return HttpError{403,
                     "writing needs the secret: send the header 'Authorization: Bearer SECRET' "
                     "(this request has no form field to carry it)"};
  }
  return service.secret.Authorize(offered, "writing");
}

std::variant<Query, HttpError> ReadQuery(const Request& request, const Service& service,
                                         QuerySpec spec) {
  spec.repeatable.push_back("auth");
  auto parsed = ParseQuery(request.query_string, spec);
  if (auto* query = std::get_if<Query>(&parsed)) {
    if (auto refused = AuthorizeRead(service, query->All("auth"), request)) return *refused;
  }
  return parsed;
}

std::variant<Query, HttpError> WriteQuery(const Request& request, const Service& service,
                                          const QuerySpec& spec) {
  auto parsed = ParseQuery(request.query_string, spec);
  if (std::holds_alternative<Query>(parsed)) {
    if (auto refused = AuthorizeBodyWrite(service, request)) return *refused;
  }
  return parsed;
}

std::optional<HttpError> RefuseBareWrite(const Request& request, const Service& service) {
  auto parsed = WriteQuery(request, service, {});
  if (auto* error = std::get_if<HttpError>(&parsed)) return std::move(*error);
  return std::nullopt;
}

Response RetryOnConflict(const std::function<std::optional<Response>()>& attempt,
                         const std::string& gave_up) {
  for (int i = 0; i < kWriteAttempts; ++i) {
    if (std::optional<Response> answer = attempt()) return std::move(*answer);
  }
  return JsonError({409, gave_up});
}

HttpError StoreErrorOnBranch(const Status& status, const Service& service,
                             const std::string& branch, const std::string& not_found_code) {
  if (status.IsNotFound() && service.store->GetBranch(branch).status().IsNotFound()) {
    return HttpError{404, "fork '" + branch + "' does not exist", "fork_not_found"};
  }
  return StoreError(status, not_found_code);
}

HttpError StoreError(const Status& status, std::string not_found_code) {
  switch (status.code()) {
    case Status::Code::kNotFound:
      return HttpError{404, status.message(), std::move(not_found_code)};
    case Status::Code::kInvalidArgument:
    case Status::Code::kAmbiguous:
      return HttpError{400, status.message()};
    case Status::Code::kConflict:
      return HttpError{409, status.message()};
    case Status::Code::kCompacted:
      return HttpError{410, status.message(), "compacted"};
    case Status::Code::kNoSpace: {
      HttpError error{507,
                      "the disk that holds the store is full: nothing was written; writes work "
                      "again once space is freed, with no restart"};
      error.log_message = "kvs-fcgi: store error: " + status.ToString();
      return error;
    }
    default: {
      HttpError error{500,
                      "internal error: the store failed; the server's error log has the details"};
      error.log_message = "kvs-fcgi: store error: " + status.ToString();
      return error;
    }
  }
}

Response StoreErrorResponse(const Status& status, Format format, std::string not_found_code) {
  return ErrorResponse(StoreError(status, std::move(not_found_code)), format);
}

}  // namespace kvs::server
