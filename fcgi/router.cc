// Dispatch on PATH_INFO and method.
#include "fcgi/router.h"

#include "fcgi/classic.h"

namespace kvs::fcgi {

Response Route(const Request& request, Service& service) {
  if (request.path_info.empty() || request.path_info == "/") {
    if (request.method == "GET" || request.method == "HEAD") return ClassicRead(request, service);
    if (request.method == "POST") return ClassicWrite(request, service);
    Response response =
        ErrorResponse({405, "method " + request.method + " is not allowed here; use GET or POST"},
                      RequestedFormat(request));
    response.headers.Set("Allow", "GET, HEAD, POST");
    return response;
  }
  return ErrorResponse({404, "no such path: " + request.path_info + " (this server answers at /)"},
                       RequestedFormat(request));
}

}  // namespace kvs::fcgi
