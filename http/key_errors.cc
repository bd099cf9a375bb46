// Key rules as HTTP errors.
#include "http/key_errors.h"

#include "common/key_rules.h"

namespace kvs::server {

std::optional<HttpError> CheckKey(std::string_view key, const config::Limits& limits) {
  auto broken = common::BrokenKeyRule(key, limits.max_key_bytes, "limits.max_key_bytes");
  if (!broken) return std::nullopt;
  return HttpError{400, std::move(*broken),
                   key.size() > limits.max_key_bytes ? "key_too_long" : "bad_key"};
}

std::optional<HttpError> CheckKeyText(std::string_view parameter, std::string_view text) {
  auto broken = common::NonUtf8KeyText(parameter, text);
  if (!broken) return std::nullopt;
  return HttpError{400, std::move(*broken), "bad_key"};
}

}  // namespace kvs::server
