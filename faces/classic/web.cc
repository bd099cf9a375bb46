// Serving the embedded web/ files: the pages (the index page and the key
// explorer's) with their Content-Security-Policy, the rest under /_static/.
#include "faces/classic/web.h"

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "faces/classic/web_assets.h"
#include "http/form.h"
#include "http/key_errors.h"
#include "http/query.h"

namespace kvs::server {
namespace {

// Scripts, styles, images and fetches from this origin only; no plugins, no
// framing, no <base> tricks. Form posts go to this origin too.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const WebAsset* FindWebAsset(std::string_view name) {
  for (const WebAsset& asset : WebAssets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

Response AssetResponse(const Request& request, const WebAsset& asset) {
  Response response;
  response.headers.Set("ETag", std::string(asset.etag));
  response.headers.Set("Cache-Control", "no-cache");
  if (IfNoneMatchHits(request.headers.Get("If-None-Match"), asset.etag)) {
    response.status = 304;
    return response;
  }
  response.headers.Set("Content-Type", std::string(asset.content_type));
  response.body = asset.bytes;
  return response;
}

// web/<name> as a page: with the policy, and never sending its URL (which
// may name a key) to another site.
Response PageResponse(const Request& request, std::string_view name, Format error_format) {
  const WebAsset* page = FindWebAsset(name);
  if (page == nullptr) {
    Response response =
        ErrorResponse({500, "this kvs-fcgi was built without its page"}, error_format);
    response.log_message = "kvs-fcgi: web/" + std::string(name) + " is missing from the build";
    return response;
  }
  Response response = AssetResponse(request, *page);
  response.headers.Set("Content-Security-Policy", std::string(kContentSecurityPolicy));
  response.headers.Set("Referrer-Policy", "no-referrer");
  return response;
}

// An explorer page whose query may hold the names its script reads (the
// script reads them; the server only refuses others, as every route does).
Response ExplorerPage(const Request& request, std::string_view name,
                      std::vector<std::string_view> names) {
  auto parsed = ParseQuery(request.query_string, {.once = std::move(names)});
  if (auto* error = std::get_if<HttpError>(&parsed)) return ErrorResponse(*error, Format::kJson);
  return PageResponse(request, name, Format::kJson);
}

}  // namespace

Response ServeIndexPage(const Request& request) {
  return PageResponse(request, "index.html", Format::kText);
}

Response ServeKeyPage(const Request& request, Service& service) {
  constexpr std::string_view kPrefix = "/_ui/keys/";
  const std::string_view path = request.path_info;
  const bool in_path = path.starts_with(kPrefix) && path.size() > kPrefix.size();
  auto parsed = ParseQuery(request.query_string, {.once = {"key", "branch"}});
  if (auto* error = std::get_if<HttpError>(&parsed)) return ErrorResponse(*error, Format::kJson);
  const std::optional<std::string> from_query = std::get<Query>(parsed).Get("key");
  const bool in_query = from_query.has_value();
  // The page's script reads the key from its URL: exactly one place names it.
  if (in_path && in_query) {
    return ErrorResponse({400, "name the key in the path or as key=, not both"}, Format::kJson);
  }
  if (!in_path && !in_query) {
    return ErrorResponse({404,
                          "name a key: /_ui/keys/KEY (the key as one percent-encoded "
                          "segment), or /_ui/keys/?key=KEY"},
                         Format::kJson);
  }
  // A key no endpoint would take is refused here, not by each fetch of the page.
  const std::string_view key =
      in_path ? path.substr(kPrefix.size()) : std::string_view(*from_query);
  if (auto error = CheckKey(key, service.config.limits))
    return ErrorResponse(*error, Format::kJson);
  return PageResponse(request, "key.html", Format::kJson);
}

Response ServeBranchesPage(const Request& request, Service&) {
  return ExplorerPage(request, "branches.html", {"from", "into"});
}

Response ServeLogPage(const Request& request, Service&) {
  return ExplorerPage(request, "log.html", {"branch"});
}

Response ServeStaticFile(const Request& request, std::string_view name) {
  auto parsed = ParseQuery(request.query_string, {});
  if (auto* error = std::get_if<HttpError>(&parsed)) return ErrorResponse(*error, Format::kJson);
  const WebAsset* asset = FindWebAsset(name);
  // Pages are served at their own routes only, with their policy.
  if (asset == nullptr || name.ends_with(".html")) {
    // JSON, as every error under /_.
    return ErrorResponse({404, "no such file: /_static/" + std::string(name)}, Format::kJson);
  }
  return AssetResponse(request, *asset);
}

}  // namespace kvs::server
