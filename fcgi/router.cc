// Dispatch on PATH_INFO and method.
#include "fcgi/router.h"

#include "fcgi/classic.h"
#include "fcgi/key_listing.h"
#include "fcgi/web.h"

namespace kvs::fcgi {
namespace {

Response MethodNotAllowed(const Request& request, std::string allowed) {
  Response response =
      ErrorResponse({405, "method " + request.method + " is not allowed here; use " + allowed},
                    RequestedFormat(request));
  response.headers.Set("Allow", std::move(allowed));
  return response;
}

}  // namespace

Response Route(const Request& request, Service& service) {
  const bool reading = request.method == "GET" || request.method == "HEAD";
  if (request.path_info.empty() || request.path_info == "/") {
    if (reading) return ClassicRead(request, service);
    if (request.method == "POST") return ClassicWrite(request, service);
    return MethodNotAllowed(request, "GET, HEAD, POST");
  }
  if (request.path_info == "/_keys") {
    if (reading) return ListKeys(request, service);
    return MethodNotAllowed(request, "GET, HEAD");
  }
  static constexpr std::string_view kStatic = "/_static/";
  if (request.path_info.starts_with(kStatic)) {
    if (reading) return ServeStaticFile(request, request.path_info.substr(kStatic.size()));
    return MethodNotAllowed(request, "GET, HEAD");
  }
  return ErrorResponse({404, "no such path: " + request.path_info + " (this server answers at /)"},
                       RequestedFormat(request));
}

}  // namespace kvs::fcgi
