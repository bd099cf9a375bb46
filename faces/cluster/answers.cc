// The cluster face's shared answers (faces/cluster/answers.h).
#include "faces/cluster/answers.h"

#include <variant>

namespace kvs::server {

nlohmann::ordered_json SeedErrorBody(const std::string& what, const Request& request) {
  return {{"status", "error"}, {"error", what}, {"message", "Error in " + request.method}};
}

Response SeedError(int status, const std::string& what, const Request& request,
                   const std::string& detail) {
  nlohmann::ordered_json body = SeedErrorBody(what, request);
  if (!detail.empty()) body["detail"] = detail;
  Response response = JsonResponse(body);
  response.status = status;
  return response;
}

Response ContextAnswer(int status, nlohmann::ordered_json body,
                       const cluster::CausalContext& context) {
  body["causal-context"] = cluster::ContextToJson(context);
  Response response = JsonResponse(body);
  response.status = status;
  return response;
}

Response StoreFailure(const Status& status) { return StoreErrorResponse(status, Format::kJson); }

std::optional<Response> RefuseQuery(const Request& request, const Service& service, bool writes) {
  auto query = writes ? WriteQuery(request, service, {}) : ReadQuery(request, service, {});
  if (auto* refused = std::get_if<HttpError>(&query)) return JsonError(*refused);
  return std::nullopt;
}

}  // namespace kvs::server
