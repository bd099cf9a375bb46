// Key rules as HTTP errors.
#include "fcgi/key_rules.h"

#include "format/key_rules.h"

namespace kvs::fcgi {

std::optional<HttpError> CheckKey(std::string_view key, const Limits& limits) {
  auto broken = format::BrokenKeyRule(key, limits.max_key_bytes, "limits.max_key_bytes");
  if (!broken) return std::nullopt;
  return HttpError{400, std::move(*broken),
                   key.size() > limits.max_key_bytes ? "key_too_long" : "bad_key"};
}

std::optional<HttpError> CheckKeyText(std::string_view parameter, std::string_view text) {
  auto broken = format::NonUtf8KeyText(parameter, text);
  if (!broken) return std::nullopt;
  return HttpError{400, std::move(*broken), "bad_key"};
}

}  // namespace kvs::fcgi
