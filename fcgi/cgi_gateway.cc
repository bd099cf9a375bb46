// CGI variables in, CGI response out.
#include "fcgi/cgi_gateway.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <exception>
#include <random>

#include "faces/routes.h"
#include "http/request.h"

namespace kvs::server {
namespace {

// How much of an oversized body is read and thrown away before giving up on
// it; beyond this the connection is simply closed.
constexpr size_t kMaxDrainBytes = 64 << 20;

// HTTP_IF_NONE_MATCH -> if-none-match
std::string HeaderName(std::string_view cgi_name) {
  std::string name;
  for (char c : cgi_name) {
    name.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return name;
}

// What a web server's request id may hold: safe in a header and a log line.
bool IsRequestId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '@';
  });
}

// 32 hex digits, different for each request of each process: a counter
// from a random start, mixed (splitmix64) so ids do not look sequential.
std::string NewRequestId() {
  static std::atomic<uint64_t> next{std::random_device()() * 0x100000001ull ^
                                    std::random_device()()};
  auto mix = [](uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  const uint64_t n = next.fetch_add(2);
  char id[33];
  std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(mix(n)),
                static_cast<unsigned long long>(mix(n + 1)));
  return id;
}

}  // namespace

Request RequestFromCgiVariables(const char* const* variables) {
  Request request;
  for (const char* const* p = variables; p != nullptr && *p != nullptr; ++p) {
    std::string_view variable(*p);
    size_t eq = variable.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = variable.substr(0, eq);
    std::string value(variable.substr(eq + 1));
    if (name == "REQUEST_METHOD") {
      request.method = std::move(value);
    } else if (name == "PATH_INFO") {
      request.path_info = std::move(value);
    } else if (name == "REQUEST_URI") {
      request.request_uri = std::move(value);
    } else if (name == "QUERY_STRING") {
      request.query_string = std::move(value);
    } else if (name == "CONTENT_TYPE") {
      if (!value.empty()) request.headers.Set("Content-Type", std::move(value));
    } else if (name == "CONTENT_LENGTH") {
      if (!value.empty()) request.headers.Set("Content-Length", std::move(value));
    } else if (name == "REQUEST_ID" || name == "UNIQUE_ID") {
      if (IsRequestId(value)) request.id = std::move(value);
    } else if (name.substr(0, 5) == "HTTP_" && name.size() > 5) {
      request.headers.Set(HeaderName(name.substr(5)), std::move(value));
    }
  }
  if (request.id.empty()) request.id = NewRequestId();
  return request;
}

namespace {

// A body without a length: read to the end of the stream, but no more than
// the limit allows.
std::optional<HttpError> ReadUnannouncedBody(const BodyReader& read, size_t max_body_bytes,
                                             Request* request) {
  char buffer[64 << 10];
  uint64_t total = 0;
  for (size_t got; (got = read(buffer, sizeof buffer)) > 0;) {
    total += got;
    if (total <= max_body_bytes) {
      request->body.append(buffer, got);
    } else if (total > kMaxDrainBytes) {
      break;
    }
  }
  if (total <= max_body_bytes) return std::nullopt;
  request->body.clear();
  return HttpError{413, "the body is over " + std::to_string(max_body_bytes) +
                            " bytes, the limit (limits.max_body_bytes)"};
}

}  // namespace

std::optional<HttpError> ReadBody(const BodyReader& read, size_t max_body_bytes, Request* request) {
  auto header = request->headers.Get("Content-Length");
  if (!header) {
    const std::string& method = request->method;
    if (method != "POST" && method != "PUT" && method != "PATCH") return std::nullopt;
    return ReadUnannouncedBody(read, max_body_bytes, request);
  }
  uint64_t length = 0;
  auto [end, ec] = std::from_chars(header->data(), header->data() + header->size(), length);
  if (header->empty() || ec != std::errc() || end != header->data() + header->size()) {
    return HttpError{400, "Content-Length is not a number: '" + std::string(*header) + "'"};
  }
  char buffer[64 << 10];
  if (length > max_body_bytes) {
    for (uint64_t left = std::min<uint64_t>(length, kMaxDrainBytes); left > 0;) {
      size_t got = read(buffer, std::min<uint64_t>(left, sizeof buffer));
      if (got == 0) break;
      left -= got;
    }
    return HttpError{413, "the body is " + std::to_string(length) + " bytes; the limit is " +
                              std::to_string(max_body_bytes) + " (limits.max_body_bytes)"};
  }
  request->body.resize(length);
  size_t filled = 0;
  while (filled < length) {
    size_t got = read(request->body.data() + filled, length - filled);
    if (got == 0) break;
    filled += got;
  }
  if (filled < length) {
    return HttpError{400, "the body ended after " + std::to_string(filled) + " of the " +
                              std::to_string(length) + " bytes Content-Length announced"};
  }
  return std::nullopt;
}

std::string SerializeCgiResponse(const Response& response, bool head_request) {
  const bool with_body = !head_request && response.status != 304;
  size_t size = 128 + (with_body ? response.body.size() : 0);
  for (const auto& [name, value] : response.headers) size += name.size() + value.size() + 4;
  std::string out;
  out.reserve(size);  // one allocation: the body can be large
  out.append("Status: ").append(std::to_string(response.status)).append(" ");
  out.append(StatusReason(response.status)).append("\r\n");
  for (const auto& [name, value] : response.headers) {
    out.append(name).append(": ").append(value).append("\r\n");
  }
  // A browser must never render a stored value as anything but its
  // Content-Type says (say, text/plain sniffed as HTML).
  out.append("X-Content-Type-Options: nosniff\r\n");
  if (response.status != 304) {
    out.append("Content-Length: ").append(std::to_string(response.body.size())).append("\r\n");
  }
  out.append("\r\n");
  if (with_body) out.append(response.body);
  return out;
}

std::string HandleCgiRequest(const char* const* variables, const BodyReader& read, Service& service,
                             std::string* log) {
  log->clear();
  Request request = RequestFromCgiVariables(variables);
  Response response;
  try {
    if (auto error = ReadBody(read, service.config.limits.max_body_bytes, &request)) {
      response = ErrorResponse(*error, RequestedFormat(request));
    } else {
      response = Route(request, service);
    }
  } catch (const std::exception& e) {
    response = ErrorResponse({500, "internal error; the server's error log has the details"},
                             Format::kText);
    response.log_message = std::string("kvs-fcgi: unexpected exception: ") + e.what();
  }
  response.headers.Set("X-Request-Id", request.id);
  if (!response.log_message.empty()) {
    *log = response.log_message + " (request " + request.id + ")";
  }
  return SerializeCgiResponse(response, request.method == "HEAD");
}

}  // namespace kvs::server
