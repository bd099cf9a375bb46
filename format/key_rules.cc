// The rules of keys named by clients.
#include "format/key_rules.h"

#include "format/json_value.h"

namespace kvs::format {

std::optional<std::string> BrokenKeyRule(std::string_view key, KeyUse use, size_t max_key_bytes,
                                         std::string_view limit_name) {
  if (key.empty()) return "empty key: a key needs at least one byte";
  if (key.size() > max_key_bytes) {
    std::string message = "a key of " + std::to_string(key.size()) +
                          " bytes is too long; the limit is " + std::to_string(max_key_bytes);
    if (!limit_name.empty()) message += " (" + std::string(limit_name) + ")";
    return message;
  }
  if (key.find('\0') != std::string_view::npos) return "keys cannot contain a NUL byte";
  if (use == KeyUse::kWrite && !IsValidUtf8(key)) return "keys must be UTF-8 text";
  if (key.front() == '_') {
    return "keys beginning with '_' are reserved for the system: '" + std::string(key) + "'";
  }
  return std::nullopt;
}

}  // namespace kvs::format
