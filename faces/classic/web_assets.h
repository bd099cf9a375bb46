// The files of web/ (the index page, its script and style sheet), compiled
// into the program by cmake/embed_web.cmake, so kvs-fcgi needs no files
// beside itself to serve its page.
#ifndef KVS_FACES_CLASSIC_WEB_ASSETS_H_
#define KVS_FACES_CLASSIC_WEB_ASSETS_H_

#include <span>
#include <string_view>

namespace kvs::server {

struct WebAsset {
  std::string_view name;          // the file name in web/, like "kvs.js"
  std::string_view content_type;  // like "text/javascript; charset=utf-8"
  std::string_view etag;          // quoted, from the file's SHA-256
  std::string_view bytes;
};

// Every file of web/, by name. Defined in the generated web_assets.cc.
std::span<const WebAsset> WebAssets();

}  // namespace kvs::server

#endif  // KVS_FACES_CLASSIC_WEB_ASSETS_H_
