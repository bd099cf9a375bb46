// The key rules of common/key_rules.h as HTTP errors: a 400 with the rule
// a key breaks, coded "key_too_long" or "bad_key" for JSON answers. Every
// face checks every key a client names here, for reads and writes alike.
#ifndef KVS_HTTP_KEY_ERRORS_H_
#define KVS_HTTP_KEY_ERRORS_H_

#include <optional>
#include <string_view>

#include "config/config.h"
#include "http/request.h"

namespace kvs::server {

// The rules of a key; nullopt when it is fine.
std::optional<HttpError> CheckKey(std::string_view key, const config::Limits& limits);

// A parameter that stands for keys or parts of them (a listing's prefix,
// delimiter or bounds) must be UTF-8 like the keys; nullopt when it is.
std::optional<HttpError> CheckKeyText(std::string_view parameter, std::string_view text);

}  // namespace kvs::server

#endif  // KVS_HTTP_KEY_ERRORS_H_
