// The rules every face applies to a key a client names: not empty, at most
// the configured number of bytes, no NUL byte (the store refuses them), and
// not beginning with '_', which is reserved for the system's own paths and
// names. A key that is written must also be valid UTF-8, so that every JSON
// answer can carry it as a string.
#ifndef KVS_FORMAT_KEY_RULES_H_
#define KVS_FORMAT_KEY_RULES_H_

#include <optional>
#include <string>
#include <string_view>

namespace kvs::format {

enum class KeyUse { kRead, kWrite };

// Which rule key breaks, as one sentence, or nullopt when it may be used so.
// limit_name names the setting behind max_key_bytes in the message (the
// server's "limits.max_key_bytes"); empty: not named.
std::optional<std::string> BrokenKeyRule(std::string_view key, KeyUse use, size_t max_key_bytes,
                                         std::string_view limit_name);

}  // namespace kvs::format

#endif  // KVS_FORMAT_KEY_RULES_H_
