// What the REST face's handlers share (faces/rest/rest.h).
#include "faces/rest/rest.h"

#include <variant>

#include "common/json_value.h"
#include "faces/rest/rest_args.h"
#include "http/key_errors.h"

namespace kvs::server {

Response RestError(const HttpError& error) { return ErrorResponse(error, Format::kJson); }

Response JsonResponse(const nlohmann::ordered_json& body) {
  return ContentResponse("application/json", common::DumpJson(body));
}

Response OkResponse(nlohmann::ordered_json fields) {
  nlohmann::ordered_json body = {{"status", "ok"}};
  body.update(fields);
  return JsonResponse(body);
}

std::string ForkOf(const RestPath& path, const Service& service) {
  return path.fork.value_or(service.config.default_branch);
}

std::optional<HttpError> CheckKeyAndFork(const RestPath& path, const Service& service) {
  if (auto error = CheckKey(path.key, service.config.limits)) return error;
  if (path.fork) return CheckForkName(*path.fork);
  return std::nullopt;
}

std::optional<Response> RefuseBareWrite(const Request& request, Service& service) {
  auto parsed = ParseRestQuery(request.query_string, {});
  if (auto* error = std::get_if<HttpError>(&parsed)) return RestError(*error);
  if (auto refused =
          AuthorizeBodyWrite(service, !std::get<RestQuery>(parsed).credentials.empty(), request)) {
    return RestError(*refused);
  }
  return std::nullopt;
}

Response RestStoreError(const Status& status, Service& service, const std::string& branch,
                        const std::string& not_found_code) {
  if (status.IsNotFound() && service.store->GetBranch(branch).status().IsNotFound()) {
    return RestError({404, "fork '" + branch + "' does not exist", "fork_not_found"});
  }
  return StoreErrorResponse(status, Format::kJson, not_found_code);
}

}  // namespace kvs::server
