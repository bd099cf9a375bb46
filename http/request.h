// The abstract HTTP exchange every handler works on.
//
// A Request holds what the web server told us, as raw strings: the method,
// PATH_INFO, the query string, the headers and the body. The FastCGI and CGI
// front ends (cgi_gateway.h) only translate into a Request and out of a
// Response, so handlers run the same way under nginx, Apache, spawn-fcgi, a
// one-shot CGI process or a unit test. Handlers parse the raw strings once,
// into typed values, before acting on them.
#ifndef KVS_HTTP_REQUEST_H_
#define KVS_HTTP_REQUEST_H_

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kvs/store.h"

namespace kvs::server {

// Orders header names ignoring ASCII case, as HTTP compares them.
struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};

// Header name -> value, one value per name, names compared ignoring case.
class HeaderMap {
 public:
  // Replaces any earlier value of name.
  void Set(std::string name, std::string value);
  // nullopt when the header is absent.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  auto begin() const { return map_.begin(); }
  auto end() const { return map_.end(); }

 private:
  std::map<std::string, std::string, CaseInsensitiveLess> map_;
};

struct Request {
  std::string method;        // "GET", "POST", ... as sent
  std::string path_info;     // PATH_INFO: the route below the mount point ("" or "/...")
  std::string query_string;  // raw, still percent-encoded, without '?'
  // REQUEST_URI as the client sent it: the mount, the path still
  // percent-encoded, and the query. "" when the web server gives none.
  std::string request_uri;
  HeaderMap headers;  // Content-Type and Content-Length included
  std::string body;
  // The id its answer carries (X-Request-Id) and its log lines name: the
  // web server's own when it passes a well-formed one (nginx's $request_id
  // as REQUEST_ID, Apache's mod_unique_id as UNIQUE_ID), else one kvs made.
  std::string id;
};

struct Response {
  int status = 200;
  HeaderMap headers;
  std::string body;
  // A line for the web server's error log (internal errors); never sent to
  // the client.
  std::string log_message;
};

// The reason phrase of an HTTP status code ("Not Found"); "Unknown" for codes
// kvs does not send.
std::string_view StatusReason(int status);

// A failure decided while parsing or checking a request: the HTTP status and
// a short message for the client saying what was wrong.
struct HttpError {
  HttpError(int status, std::string message, std::string code = "")
      : status(status), message(std::move(message)), code(std::move(code)) {}

  int status = 400;
  std::string message;
  // The "error" field of a JSON answer, for clients to branch on; empty
  // means the status's own name ("not_found" for 404, ...).
  std::string code;
  // A line for the web server's error log (Response::log_message): what
  // only the operator may see, such as a server path. Never sent.
  std::string log_message;
};

// The comma-separated elements of a header value, without the blanks
// around them (If-Match: "a", "b" -> "a" and "b"); empty ones are dropped.
std::vector<std::string_view> HeaderListElements(std::string_view value);

// The ETag of a version: its id, quoted.
std::string QuotedEtag(const VersionId& id);

// Whether an If-None-Match header names etag (a quoted tag; "*" names any),
// comparing weakly as RFC 9110 asks for this header. False when absent.
bool IfNoneMatchHits(std::optional<std::string_view> header, std::string_view etag);

// The way a response is written: plain text (the default) or JSON
// (format=json in the query).
enum class Format { kText, kJson };

// A response carrying message, as text or as JSON {"status": "error",
// "error": ..., "message": ...} where "error" is error.code or else a short
// machine-readable name of the status. Bytes of the message that are not
// UTF-8 (quoted input) are written as \xNN.
Response ErrorResponse(const HttpError& error, Format format);

// An error response as JSON, the shape every face but the classic one uses.
Response JsonError(const HttpError& error);

// 200 with the given content type and body.
Response ContentResponse(std::string content_type, std::string body);

// 200 carrying body as one line of JSON.
Response JsonResponse(const nlohmann::ordered_json& body);

// 200 {"status": "ok"} plus fields.
Response OkResponse(nlohmann::ordered_json fields = nlohmann::ordered_json::object());

// The format a response should use: JSON when the query says format=json,
// for every path under /_ (/_keys, /_heads/KEY, /_static/..., ...) unless it
// says format=text, and always for the REST face (/KEY...). It looks at the
// query's text without parsing it, so that even the error for a query that
// does not parse, or one refused before its handler runs (404, 405, 413),
// comes in the format the client asked for.
Format RequestedFormat(const Request& request);

// The Content-Type of a stored value sent as it is: text/plain, with
// "; charset=utf-8" when the bytes are valid UTF-8. (With nosniff, a browser
// shows any value as text, never renders it.)
std::string ValueContentType(std::string_view value);
// application/json for a value written as JSON (Version::json), else as
// above.
std::string ValueContentType(const Version& version);

}  // namespace kvs::server

#endif  // KVS_HTTP_REQUEST_H_
