// Which handler answers a request: by PATH_INFO and method, so the service
// works wherever it is mounted (the web server strips the mount prefix into
// SCRIPT_NAME and leaves the route in PATH_INFO).
//
// The routes: the classic face at "/" (classic.h), the index page's files
// at /_static/ (web.h), and the system endpoints: /_keys (key_listing.h),
// POST /_create (version_create.h) and the version graph's reads
// (history_face.h). Unknown paths are 404; a known path with another method
// is 405 with an Allow header.
#ifndef KVS_FCGI_ROUTER_H_
#define KVS_FCGI_ROUTER_H_

#include "fcgi/request.h"
#include "fcgi/service.h"

namespace kvs::fcgi {

Response Route(const Request& request, Service& service);

}  // namespace kvs::fcgi

#endif  // KVS_FCGI_ROUTER_H_
