// Reading and writing the YAML map of import and export.
#include "cli/yaml_io.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "common/json_value.h"

namespace kvs::cli {
namespace {

constexpr const char* kBinaryTag = "tag:yaml.org,2002:binary";
constexpr const char* kJsonTag = "!json";

// Words that YAML 1.1 (booleans, null) or 1.2 read as something else than
// a string when written plain. Compared ignoring case.
constexpr std::array<std::string_view, 9> kSpecialWords = {"y",  "n",   "yes",   "no",  "true",
                                                           "on", "off", "false", "null"};

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The code point starting at text[*at] (text is valid UTF-8); advances *at.
uint32_t NextCodePoint(std::string_view text, size_t* at) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  uint8_t lead = byte(*at);
  size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  uint32_t code = length == 1 ? lead : lead & (0x7F >> length);
  for (size_t k = 1; k < length; ++k) code = code << 6 | (byte(*at + k) & 0x3F);
  *at += length;
  return code;
}

// Code points a YAML reader takes as line breaks or a byte-order mark, or
// that are not printable: never written raw.
bool MustEscape(uint32_t code) {
  return code < 0x20 || code == 0x7F || (code >= 0x80 && code <= 0x9F) || code == 0x2028 ||
         code == 0x2029 || code == 0xFEFF;
}

bool IsPlainSafe(std::string_view text) {
  if (text.empty() || text.back() == ' ') return false;
  char first = text.front();
  if (!IsAsciiLetter(first) && first != '_' && static_cast<uint8_t>(first) < 0x80) return false;
  for (std::string_view word : kSpecialWords) {
    if (EqualsIgnoringCase(text, word)) return false;
  }
  for (size_t at = 0; at < text.size();) {
    char c = text[at];
    uint32_t code = NextCodePoint(text, &at);
    if (code >= 0x80) {
      if (MustEscape(code)) return false;
    } else if (!IsAsciiLetter(c) && !(c >= '0' && c <= '9') &&
               std::string_view(" _./@+-").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::string DoubleQuoted(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (size_t at = 0; at < text.size();) {
    size_t start = at;
    uint32_t code = NextCodePoint(text, &at);
    switch (code) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case 0:
        out += "\\0";
        continue;
    }
    if (!MustEscape(code)) {
      out.append(text.substr(start, at - start));
    } else if (code < 0x80) {
      out += {'\\', 'x', kHex[code >> 4], kHex[code & 15]};
    } else {
      out += {'\\',           'u', kHex[code >> 12], kHex[(code >> 8) & 15], kHex[(code >> 4) & 15],
              kHex[code & 15]};
    }
  }
  return out + "\"";
}

std::string YamlScalar(std::string_view bytes) {
  if (!common::IsValidUtf8(bytes)) return "!!binary \"" + common::Base64Encode(bytes) + "\"";
  if (IsPlainSafe(bytes)) return std::string(bytes);
  return DoubleQuoted(bytes);
}

std::string Where(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// Reads the one map of a parsed document; yaml-cpp may throw from any node
// access, so the caller catches.
class MapReader {
 public:
  explicit MapReader(const std::string& file) : file_(file) {}

  Result<std::vector<YamlEntry>> Read(const YAML::Node& root) {
    if (!root.IsMap()) {
      return Error(root.Mark(),
                   "expected a map of key: value at the top level, not " + KindOf(root));
    }
    std::vector<YamlEntry> entries;
    std::unordered_set<std::string> keys;
    for (const auto& pair : root) {
      const YAML::Mark key_mark = pair.first.Mark();
      KVS_ASSIGN_OR_RETURN(std::string key, Text(pair.first, key_mark, "a key"));
      if (!keys.insert(key).second) return Error(key_mark, "key '" + key + "' appears twice");
      const std::string what = "the value of '" + key + "'";
      KVS_ASSIGN_OR_RETURN(std::string value, Text(pair.second, key_mark, what));
      const bool json = pair.second.Tag() == kJsonTag;
      if (json && !nlohmann::json::accept(value)) {
        return Error(pair.second.Mark(), what + " is tagged !json but is not JSON");
      }
      entries.push_back({std::move(key), std::move(value), json, Where(file_, key_mark)});
    }
    return entries;
  }

 private:
  Status Error(const YAML::Mark& mark, const std::string& what) const {
    return Status::InvalidArgument(Where(file_, mark) + ": " + what);
  }

  static std::string KindOf(const YAML::Node& node) {
    if (node.IsSequence()) return "a list";
    if (node.IsMap()) return "a map";
    if (node.IsNull()) return "null";
    return "a single value";
  }

  // The bytes a scalar stands for. A null node has no useful mark of its
  // own (yaml-cpp points past it), so null is reported at the key.
  Result<std::string> Text(const YAML::Node& node, const YAML::Mark& key_mark,
                           const std::string& what) const {
    if (node.IsNull()) {
      return Error(key_mark, what + " is null; write \"\" for an empty value");
    }
    if (!node.IsScalar()) {
      return Error(node.Mark(), what + " is " + KindOf(node) + "; only text can be imported");
    }
    if (node.Tag() != kBinaryTag) return node.Scalar();
    std::vector<unsigned char> decoded = YAML::DecodeBase64(node.Scalar());
    std::string bytes(decoded.begin(), decoded.end());
    // yaml-cpp's decoder skips what it does not understand: accept only
    // the base64 that encoding the result gives back.
    std::string written;
    for (char c : node.Scalar()) {
      if (c != ' ' && c != '\n' && c != '\t' && c != '\r') written += c;
    }
    if (common::Base64Encode(bytes) != written) {
      return Error(node.Mark(), what + " is tagged !!binary but is not valid base64");
    }
    return bytes;
  }

  const std::string& file_;
};

}  // namespace

Result<std::vector<YamlEntry>> ParseYamlMap(std::string_view text, const std::string& file) {
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    if (documents.empty() || (documents.size() == 1 && documents[0].IsNull())) {
      return Status::InvalidArgument(file + ": holds no YAML map (write {} for an empty one)");
    }
    if (documents.size() > 1) {
      return Status::InvalidArgument(Where(file, documents[1].Mark()) +
                                     ": a second YAML document; import reads one map");
    }
    return MapReader(file).Read(documents[0]);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(Where(file, e.mark) + ": " + e.msg);
  }
}

std::string YamlMapEntry(std::string_view key, std::string_view value, bool json) {
  return YamlScalar(key) + ": " + (json ? "!json " : "") + YamlScalar(value) + "\n";
}

}  // namespace kvs::cli
