// Serving the embedded web/ files.
#include "faces/classic/web.h"

#include <string>
#include <variant>

#include "faces/classic/web_assets.h"
#include "http/form.h"
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

}  // namespace

Response ServeIndexPage(const Request& request) {
  const WebAsset* page = FindWebAsset("index.html");
  if (page == nullptr) {
    Response response =
        ErrorResponse({500, "this kvs-fcgi was built without its page"}, Format::kText);
    response.log_message = "kvs-fcgi: web/index.html is missing from the build";
    return response;
  }
  Response response = AssetResponse(request, *page);
  response.headers.Set("Content-Security-Policy", std::string(kContentSecurityPolicy));
  response.headers.Set("Referrer-Policy", "no-referrer");
  return response;
}

Response ServeStaticFile(const Request& request, std::string_view name) {
  auto parsed = ParseQuery(request.query_string, {});
  if (auto* error = std::get_if<HttpError>(&parsed)) return ErrorResponse(*error, Format::kJson);
  const WebAsset* asset = FindWebAsset(name);
  if (asset == nullptr || name == "index.html") {
    // JSON, as every error under /_.
    return ErrorResponse({404, "no such file: /_static/" + std::string(name)}, Format::kJson);
  }
  return AssetResponse(request, *asset);
}

}  // namespace kvs::server
