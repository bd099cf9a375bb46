// UTF-8 validation and base64 for values in JSON.
#include "common/json_value.h"

#include <cstdint>

namespace kvs::common {
namespace {

// The length of the well-formed UTF-8 sequence at bytes[i], or 0 when none
// starts there.
size_t SequenceLength(std::string_view bytes, size_t i) {
  auto c = static_cast<uint8_t>(bytes[i]);
  if (c < 0x80) return 1;
  // Lead byte: sequence length and the allowed range of the second byte
  // (narrowed to exclude overlongs, surrogates and > U+10FFFF).
  size_t length;
  uint8_t low = 0x80, high = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    if (c == 0xE0) low = 0xA0;
    if (c == 0xED) high = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    if (c == 0xF0) low = 0x90;
    if (c == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > bytes.size()) return 0;
  auto second = static_cast<uint8_t>(bytes[i + 1]);
  if (second < low || second > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    auto next = static_cast<uint8_t>(bytes[i + k]);
    if (next < 0x80 || next > 0xBF) return 0;
  }
  return length;
}

}  // namespace

std::optional<size_t> FirstInvalidUtf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    size_t length = SequenceLength(bytes, i);
    if (length == 0) return i;
    i += length;
  }
  return std::nullopt;
}

bool IsValidUtf8(std::string_view bytes) { return !FirstInvalidUtf8(bytes); }

std::string EscapeInvalidUtf8(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    size_t length = SequenceLength(bytes, i);
    if (length > 0) {
      out.append(bytes.substr(i, length));
      i += length;
    } else {
      auto c = static_cast<uint8_t>(bytes[i++]);
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16 | static_cast<uint8_t>(bytes[i + 1]) << 8 |
                 static_cast<uint8_t>(bytes[i + 2]);
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63],
            kAlphabet[n & 63]};
  }
  size_t left = bytes.size() - i;
  if (left == 1) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (left == 2) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16 | static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += {kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto sextet = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (pad == 1 && text[i + 2] == '=') return std::nullopt;  // "x=y=" is not padding
    uint32_t bits = 0;
    for (int j = 0; j < 4 - pad; ++j) {
      int v = sextet(text[i + j]);
      if (v < 0) return std::nullopt;
      bits |= static_cast<uint32_t>(v) << (18 - 6 * j);
    }
    out.push_back(static_cast<char>(bits >> 16));
    if (pad < 2) out.push_back(static_cast<char>((bits >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(bits & 0xFF));
  }
  return out;
}

namespace {

// Whether text nests at most kMaxJsonValueDepth containers, counted outside
// strings: cheap, and it stops a deep value early. Whether it is JSON at
// all is left to nlohmann's parser, which does not recurse.
bool NestsWithinLimit(std::string_view text) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonValueDepth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace

bool ReadsAsJson(std::string_view text) {
  return NestsWithinLimit(text) && nlohmann::ordered_json::accept(text);
}

std::optional<nlohmann::ordered_json> ParseStoredJson(std::string_view text) {
  if (!NestsWithinLimit(text)) return std::nullopt;
  nlohmann::ordered_json value =
      nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

void SetJsonValue(nlohmann::ordered_json& object, const std::string& value, bool json) {
  std::optional<nlohmann::ordered_json> parsed;
  if (json) parsed = ParseStoredJson(value);
  if (parsed) {
    object["value"] = std::move(*parsed);
  } else if (IsValidUtf8(value)) {
    object["value"] = value;
  } else {
    object["value"] = Base64Encode(value);
    object["encoding"] = "base64";
  }
}

nlohmann::ordered_json ValueJson(std::string_view value, bool json) {
  if (json) {
    if (auto parsed = ParseStoredJson(value)) return std::move(*parsed);
  }
  if (IsValidUtf8(value)) return std::string(value);
  return {{"base64", Base64Encode(value)}};
}

void AppendJsonValue(std::string* out, std::string_view value, bool json) {
  if (json && ReadsAsJson(value)) {
    *out += value;
    return;
  }
  if (!IsValidUtf8(value)) {
    *out += "{\"base64\":\"";
    *out += Base64Encode(value);
    *out += "\"}";
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : value) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[(c >> 4) & 0xF]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

std::string DumpJson(const nlohmann::ordered_json& object) {
  return object.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace kvs::common
