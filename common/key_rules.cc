// The rules of keys named by clients.
#include "common/key_rules.h"

#include "common/json_value.h"

namespace kvs::common {

std::optional<std::string> BrokenKeyRule(std::string_view key, size_t max_key_bytes,
                                         std::string_view limit_name) {
  if (key.empty()) return "empty key: a key needs at least one byte";
  if (key.size() > max_key_bytes) {
    std::string message = "a key of " + std::to_string(key.size()) +
                          " bytes is too long; the limit is " + std::to_string(max_key_bytes);
    if (!limit_name.empty()) message += " (" + std::string(limit_name) + ")";
    return message;
  }
  if (key.find('\0') != std::string_view::npos) return "keys cannot contain a NUL byte";
  if (auto broken = NonUtf8KeyText("the key", key)) return broken;
  if (key.front() == '_') {
    return "keys beginning with '_' are reserved for the system: '" + std::string(key) + "'";
  }
  return std::nullopt;
}

std::optional<std::string> NonUtf8KeyText(std::string_view what, std::string_view text) {
  auto offset = FirstInvalidUtf8(text);
  if (!offset) return std::nullopt;
  return "keys are UTF-8 text, and " + std::string(what) + " '" + EscapeInvalidUtf8(text) +
         "' is not, from byte " + std::to_string(*offset);
}

}  // namespace kvs::common
