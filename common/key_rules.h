// The rules every face applies to a key a client names: not empty, at most
// the configured number of bytes, no NUL byte (the store refuses them),
// valid UTF-8 (so every JSON answer carries the key as it is, never with a
// byte replaced), and not beginning with '_', which is reserved for the
// system's own paths and names. Reads and writes follow the same rules: a
// key no write can create is refused, not looked up.
#ifndef KVS_COMMON_KEY_RULES_H_
#define KVS_COMMON_KEY_RULES_H_

#include <optional>
#include <string>
#include <string_view>

namespace kvs::common {

// Which rule key breaks, as one sentence, or nullopt when it may be used.
// limit_name names the setting behind max_key_bytes in the message (the
// server's "limits.max_key_bytes"); empty: not named. Bytes that are not
// UTF-8 are shown escaped (\xff), with the offset of the first.
std::optional<std::string> BrokenKeyRule(std::string_view key, size_t max_key_bytes,
                                         std::string_view limit_name);

// When text, which stands for keys or parts of keys (a listing's prefix or
// bounds), is not UTF-8: a sentence naming what (e.g. "prefix") and the
// first offending byte. No key can match such text, so it is refused.
std::optional<std::string> NonUtf8KeyText(std::string_view what, std::string_view text);

}  // namespace kvs::common

#endif  // KVS_COMMON_KEY_RULES_H_
