// The translation between the CGI interface and the abstract Request and
// Response, shared by both front ends: a FastCGI request carries exactly the
// CGI variables (as params) and body (as its stdin stream), and a plain CGI
// process gets them as its environment and stdin.
//
// Variables: REQUEST_METHOD, PATH_INFO, QUERY_STRING, CONTENT_TYPE and
// CONTENT_LENGTH, and every HTTP_* header (HTTP_IF_NONE_MATCH becomes the
// header if-none-match). The response goes back as a CGI response: a
// "Status:" line, the headers, Content-Length, a blank line and the body.
#ifndef KVS_FCGI_CGI_GATEWAY_H_
#define KVS_FCGI_CGI_GATEWAY_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/request.h"
#include "http/service.h"

namespace kvs::server {

// Request line and headers from CGI variables, given as a NULL-terminated
// array of "NAME=value" strings (environ for CGI, FastCgiConnection::params()
// for FastCGI), and its id: REQUEST_ID or UNIQUE_ID when one holds 1 to 64
// letters, digits, '-', '_' or '@', else a new one (32 hex digits, as
// nginx's). The body is left empty.
Request RequestFromCgiVariables(const char* const* variables);

// Reads up to size bytes of the body into buffer; 0 at its end (or on error).
using BodyReader = std::function<size_t(char* buffer, size_t size)>;

// Reads the body announced by CONTENT_LENGTH into request->body. Without
// one, a POST, PUT or PATCH has its body read to the end of the stream: a
// chunked request reaches kvs that way from Apache's CGI (always) and
// mod_proxy_fcgi (past 16 KB), and was taken as empty, so a streamed PUT
// stored an empty value. Other methods have no body then. 400 when
// CONTENT_LENGTH is not a number; 413 when the body is larger than
// max_body_bytes, in which case the body is read and dropped (up to a
// bound) so the web server is not cut off while still sending it.
std::optional<HttpError> ReadBody(const BodyReader& read, size_t max_body_bytes, Request* request);

// The bytes of a CGI response, with X-Content-Type-Options: nosniff added to
// every one. A HEAD request gets the headers of the GET,
// including its Content-Length, and no body; a 304 has no body either.
std::string SerializeCgiResponse(const Response& response, bool head_request);

// One whole exchange: the request from variables and body, routed to its
// handler, serialized, with X-Request-Id: the request's id. Anything a
// handler throws becomes a 500. *log gets the lines meant for the web
// server's error log (empty when none), each ending with "(request ID)", so
// that the id a user reports finds them.
std::string HandleCgiRequest(const char* const* variables, const BodyReader& read, Service& service,
                             std::string* log);

}  // namespace kvs::server

#endif  // KVS_FCGI_CGI_GATEWAY_H_
