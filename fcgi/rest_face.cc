// Routing of the REST face by path shape and method, and the helpers its
// handlers share.
#include "fcgi/rest_face.h"

#include <variant>

#include "fcgi/key_rules.h"
#include "fcgi/rest_args.h"
#include "fcgi/rest_handlers.h"
#include "format/json_value.h"

namespace kvs::fcgi {
namespace {

Response MethodNotAllowed(const Request& request, std::string allowed) {
  Response response =
      RestError({405, "method " + request.method + " is not allowed here; use " + allowed});
  response.headers.Set("Allow", std::move(allowed));
  return response;
}

}  // namespace

Response RouteRest(const Request& request, Service& service) {
  auto parsed = ParseRestPath(request);
  if (auto* error = std::get_if<HttpError>(&parsed)) return RestError(*error);
  const RestPath& path = std::get<RestPath>(parsed);
  const std::string& method = request.method;
  const bool reading = method == "GET" || method == "HEAD";
  switch (path.action) {
    case RestPath::Action::kKey:
      if (reading) return GetRestKey(request, service, path);
      if (method == "PUT") return PutRestKey(request, service, path);
      if (method == "DELETE") return DeleteRestKey(request, service, path);
      return MethodNotAllowed(request, "GET, HEAD, PUT, DELETE");
    case RestPath::Action::kInfo:
      if (reading) return GetRestKeyInfo(request, service, path);
      return MethodNotAllowed(request, "GET, HEAD");
    case RestPath::Action::kListKeys:
      if (reading) return ListRestKeys(request, service);
      return MethodNotAllowed(request, "GET, HEAD");
    case RestPath::Action::kFork:
      if (method == "POST") return ForkRestKey(request, service, path);
      return MethodNotAllowed(request, "POST");
    case RestPath::Action::kMerge:
      if (method == "POST") return MergeRestKey(request, service, path);
      return MethodNotAllowed(request, "POST");
  }
  return RestError({404, "no such path: " + request.path_info});
}

Response RestError(const HttpError& error) { return ErrorResponse(error, Format::kJson); }

Response JsonResponse(const nlohmann::ordered_json& body) {
  return ContentResponse("application/json", format::DumpJson(body));
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

Response RestStoreError(const Status& status, Service& service, const std::string& branch,
                        const std::string& not_found_code) {
  if (status.IsNotFound() && service.store->GetBranch(branch).status().IsNotFound()) {
    return RestError({404, "fork '" + branch + "' does not exist", "fork_not_found"});
  }
  return StoreErrorResponse(status, Format::kJson, not_found_code);
}

}  // namespace kvs::fcgi
