// Key rules as HTTP errors.
#include "fcgi/key_rules.h"

#include "format/key_rules.h"

namespace kvs::fcgi {
namespace {

std::optional<HttpError> Check(std::string_view key, format::KeyUse use, const Limits& limits) {
  auto broken = format::BrokenKeyRule(key, use, limits.max_key_bytes, "limits.max_key_bytes");
  if (!broken) return std::nullopt;
  return HttpError{400, std::move(*broken),
                   key.size() > limits.max_key_bytes ? "key_too_long" : "bad_key"};
}

}  // namespace

std::optional<HttpError> CheckKey(std::string_view key, const Limits& limits) {
  return Check(key, format::KeyUse::kRead, limits);
}

std::optional<HttpError> CheckKeyToWrite(std::string_view key, const Limits& limits) {
  return Check(key, format::KeyUse::kWrite, limits);
}

}  // namespace kvs::fcgi
