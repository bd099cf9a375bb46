// The key rules of format/key_rules.h as HTTP errors: a 400 with the rule
// a key breaks, coded "key_too_long" or "bad_key" for JSON answers.
#ifndef KVS_FCGI_KEY_RULES_H_
#define KVS_FCGI_KEY_RULES_H_

#include <optional>
#include <string_view>

#include "fcgi/config.h"
#include "fcgi/request.h"

namespace kvs::fcgi {

// The rules of a key to read; nullopt when it is fine.
std::optional<HttpError> CheckKey(std::string_view key, const Limits& limits);

// The rules of a key to write (also UTF-8).
std::optional<HttpError> CheckKeyToWrite(std::string_view key, const Limits& limits);

}  // namespace kvs::fcgi

#endif  // KVS_FCGI_KEY_RULES_H_
