// GET /_health (faces/admin/health.h).
#include "faces/admin/health.h"

namespace kvs::server {

Response GetHealth(const Request& request, Service& service) {
  Response response;
  if (!request.query_string.empty()) {
    response = JsonError({400, "/_health takes no query parameters"});
  } else if (Status health = service.store->Health(); !health.ok()) {
    response = JsonError({503, "the store cannot serve: " + health.message()});
  } else {
    response = OkResponse();
  }
  response.headers.Set("Cache-Control", "no-store");
  return response;
}

}  // namespace kvs::server
