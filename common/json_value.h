// Stored values inside JSON documents.
//
// JSON strings hold Unicode text, but a stored value is any byte string. A
// value that is valid UTF-8 goes into JSON as a string, exactly; any other
// value goes in as standard base64 (RFC 4648, with padding) next to
// "encoding": "base64" (or, where a value stands alone, as {"base64": ...}),
// so every value survives a JSON round trip.
#ifndef KVS_COMMON_JSON_VALUE_H_
#define KVS_COMMON_JSON_VALUE_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace kvs::common {

// True when bytes is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

// The offset of the first byte that starts no well-formed UTF-8 sequence;
// nullopt when bytes is all UTF-8.
std::optional<size_t> FirstInvalidUtf8(std::string_view bytes);

// bytes with each byte that is not part of a well-formed UTF-8 sequence
// written as \xNN (lowercase hex): how messages show input that is not
// text, without dropping a byte or replacing it with U+FFFD.
std::string EscapeInvalidUtf8(std::string_view bytes);

// Standard base64 with '=' padding.
std::string Base64Encode(std::string_view bytes);

// Decodes standard base64 (padding required); nullopt for anything else.
std::optional<std::string> Base64Decode(std::string_view text);

// A value written as JSON (Version::json, json below) goes into a JSON
// document as that JSON itself, so a number stays a number; were its text
// ever not JSON, or nested deeper than kMaxJsonValueDepth, it goes in as
// text. Writes refuse deeper values (http/json_body.h), but a store may
// hold one from before: nlohmann's serializer (and its comparisons)
// recurse once per level, and reading a value of 100,000 levels as JSON
// overflowed kvs-fcgi's stack. The merge functions that read values as
// JSON (merge/json_merge.h) read them the same way.
inline constexpr size_t kMaxJsonValueDepth = 256;

// Whether text is JSON that nests containers at most kMaxJsonValueDepth
// deep: how a value written as JSON is read.
bool ReadsAsJson(std::string_view text);

// text as JSON when ReadsAsJson; nullopt otherwise. Never throws.
std::optional<nlohmann::ordered_json> ParseStoredJson(std::string_view text);

// Sets object["value"] to value, as a string when it is valid UTF-8, else
// base64 with object["encoding"] = "base64".
void SetJsonValue(nlohmann::ordered_json& object, const std::string& value, bool json = false);

// A value standing alone in a JSON document (an array element, a patch's
// text): a string when it is valid UTF-8, else {"base64": "..."}.
nlohmann::ordered_json ValueJson(std::string_view value, bool json = false);

// Appends ValueJson(value, json) serialized, without building a JSON tree:
// for answers that hold many values (a key's whole history).
void AppendJsonValue(std::string* out, std::string_view value, bool json = false);

// object serialized on one line plus a newline. Never throws: text that is
// not UTF-8 (which SetJsonValue never produces) is replaced.
std::string DumpJson(const nlohmann::ordered_json& object);

}  // namespace kvs::common

#endif  // KVS_COMMON_JSON_VALUE_H_
