// The REST face's handlers (fcgi/rest_read.cc, fcgi/rest_write.cc) and what
// they share; fcgi/rest_face.cc routes to them. Each handler gets the parsed
// path and parses its own query.
#ifndef KVS_FCGI_REST_HANDLERS_H_
#define KVS_FCGI_REST_HANDLERS_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "fcgi/request.h"
#include "fcgi/rest_path.h"
#include "fcgi/service.h"

namespace kvs::fcgi {

Response GetRestKey(const Request& request, Service& service, const RestPath& path);
Response GetRestKeyInfo(const Request& request, Service& service, const RestPath& path);
Response ListRestKeys(const Request& request, Service& service);
Response PutRestKey(const Request& request, Service& service, const RestPath& path);
Response DeleteRestKey(const Request& request, Service& service, const RestPath& path);
Response ForkRestKey(const Request& request, Service& service, const RestPath& path);
Response MergeRestKey(const Request& request, Service& service, const RestPath& path);

// ---- Shared by the handlers ------------------------------------------------

// An error answer in the REST face's shape.
Response RestError(const HttpError& error);

// A 200 carrying body as one line of JSON.
Response JsonResponse(const nlohmann::ordered_json& body);

// {"status": "ok"} plus fields.
Response OkResponse(nlohmann::ordered_json fields = nlohmann::ordered_json::object());

// The branch the path names (the configured default when none).
std::string ForkOf(const RestPath& path, const Service& service);

// The key's and the fork's rules.
std::optional<HttpError> CheckKeyAndFork(const RestPath& path, const Service& service);

// The answer for a store error: a NotFound is "fork_not_found" when branch
// does not exist and not_found_code otherwise.
Response RestStoreError(const Status& status, Service& service, const std::string& branch,
                        const std::string& not_found_code = "not_found");

}  // namespace kvs::fcgi

#endif  // KVS_FCGI_REST_HANDLERS_H_
