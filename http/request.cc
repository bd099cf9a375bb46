// Header maps, status phrases and the shape of error responses.
#include "http/request.h"

#include <algorithm>

#include "common/json_value.h"

namespace kvs::server {
namespace {

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// The "error" field of a JSON error body.
std::string_view ErrorName(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 410:
      return "gone";
    case 412:
      return "precondition_failed";
    case 413:
      return "too_large";
    case 503:
      return "unavailable";
    case 507:
      return "insufficient_storage";
    default:
      return status >= 500 ? "internal_error" : "error";
  }
}

}  // namespace

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](char x, char y) { return LowerAscii(x) < LowerAscii(y); });
}

void HeaderMap::Set(std::string name, std::string value) {
  auto it = map_.find(name);
  if (it != map_.end()) {
    it->second = std::move(value);
  } else {
    map_.emplace(std::move(name), std::move(value));
  }
}

std::optional<std::string_view> HeaderMap::Get(std::string_view name) const {
  auto it = map_.find(name);
  if (it == map_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string_view StatusReason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 507:
      return "Insufficient Storage";
    default:
      return "Unknown";
  }
}

std::vector<std::string_view> HeaderListElements(std::string_view value) {
  std::vector<std::string_view> elements;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view element = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) {
      element.remove_prefix(1);
    }
    while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) {
      element.remove_suffix(1);
    }
    if (!element.empty()) elements.push_back(element);
  }
  return elements;
}

std::string QuotedEtag(const VersionId& id) { return "\"" + id.Hex() + "\""; }

bool IfNoneMatchHits(std::optional<std::string_view> header, std::string_view etag) {
  if (!header) return false;
  for (std::string_view tag : HeaderListElements(*header)) {
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

Response ErrorResponse(const HttpError& error, Format format) {
  Response response;
  response.status = error.status;
  response.log_message = error.log_message;
  // Messages may quote input that is not UTF-8: its bytes are shown as
  // \xNN, never sent raw or replaced.
  std::string message = common::EscapeInvalidUtf8(error.message);
  if (format == Format::kJson) {
    nlohmann::ordered_json body = {
        {"status", "error"},
        {"error", error.code.empty() ? std::string(ErrorName(error.status)) : error.code},
        {"message", std::move(message)}};
    response.body = common::DumpJson(body);
    response.headers.Set("Content-Type", "application/json");
  } else {
    response.body = message + "\n";
    response.headers.Set("Content-Type", "text/plain; charset=utf-8");
  }
  return response;
}

Response ContentResponse(std::string content_type, std::string body) {
  Response response;
  response.headers.Set("Content-Type", std::move(content_type));
  response.body = std::move(body);
  return response;
}

std::string ValueContentType(const Version& version) {
  return version.json ? "application/json" : ValueContentType(version.value);
}

std::string ValueContentType(std::string_view value) {
  return common::IsValidUtf8(value) ? "text/plain; charset=utf-8" : "text/plain";
}

Response JsonError(const HttpError& error) { return ErrorResponse(error, Format::kJson); }

Response JsonResponse(const nlohmann::ordered_json& body) {
  return ContentResponse("application/json", common::DumpJson(body));
}

Response OkResponse(nlohmann::ordered_json fields) {
  nlohmann::ordered_json body = {{"status", "ok"}};
  body.update(fields);
  return JsonResponse(body);
}

namespace {

// Whether one of the '&'-separated parameters of a raw query is exactly
// parameter (looked for without decoding, so it works on any query).
bool HasLiteralParameter(std::string_view query_string, std::string_view parameter) {
  std::string_view rest = query_string;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    if (rest.substr(0, amp) == parameter) return true;
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return false;
}

}  // namespace

Format RequestedFormat(const Request& request) {
  const std::string_view path = request.path_info;
  if (path.starts_with("/_")) {
    return HasLiteralParameter(request.query_string, "format=text") ? Format::kText : Format::kJson;
  }
  if (path.size() > 1) return Format::kJson;  // the REST face
  return HasLiteralParameter(request.query_string, "format=json") ? Format::kJson : Format::kText;
}

}  // namespace kvs::server
