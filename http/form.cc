// Percent-encoding, urlencoded forms and Content-Type parsing; multipart
// bodies are in multipart.cc.
#include "http/form.h"

#include <cctype>
#include <charconv>

#include "http/multipart.h"

namespace kvs::server {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 7230 tchar: the characters of a token.
bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int high = i + 1 < text.size() ? HexDigitValue(text[i + 1]) : -1;
      int low = i + 2 < text.size() ? HexDigitValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return Status::InvalidArgument("bad percent-encoding at byte " + std::to_string(i) + ": '" +
                                       std::string(text.substr(i, 3)) +
                                       "' is not '%' followed by two hex digits");
      }
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PercentEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

Result<std::vector<EncodedField>> SplitUrlEncoded(std::string_view text) {
  std::vector<EncodedField> fields;
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view segment = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (segment.empty()) continue;
    size_t eq = segment.find('=');
    KVS_ASSIGN_OR_RETURN(std::string name, PercentDecode(segment.substr(0, eq), true));
    fields.push_back({std::move(name),
                      eq == std::string_view::npos ? std::string_view() : segment.substr(eq + 1)});
  }
  return fields;
}

Result<FormFields> ParseUrlEncoded(std::string_view text) {
  KVS_ASSIGN_OR_RETURN(std::vector<EncodedField> encoded, SplitUrlEncoded(text));
  FormFields fields;
  for (EncodedField& field : encoded) {
    KVS_ASSIGN_OR_RETURN(std::string value, PercentDecode(field.raw_value, true));
    fields.push_back({std::move(field.name), std::move(value)});
  }
  return fields;
}

std::optional<size_t> ParseCount(std::string_view text) {
  size_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

Result<MediaType> ParseMediaType(std::string_view content_type) {
  MediaType media;
  size_t semi = content_type.find(';');
  media.type = Lower(TrimSpaces(content_type.substr(0, semi)));
  if (media.type.empty()) return Status::InvalidArgument("empty Content-Type");
  std::string_view rest =
      semi == std::string_view::npos ? std::string_view() : content_type.substr(semi + 1);
  // Invariant: rest starts at a parameter (after its ';'), or is empty.
  while (!rest.empty()) {
    rest = TrimSpaces(rest);
    if (rest.empty()) break;
    if (rest.front() == ';') {  // an empty parameter ("a/b;;c=d")
      rest.remove_prefix(1);
      continue;
    }
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("Content-Type parameter without '=': " + std::string(rest));
    }
    std::string name = Lower(TrimSpaces(rest.substr(0, eq)));
    rest.remove_prefix(eq + 1);
    rest = TrimSpaces(rest);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value.push_back(rest[i]);
      }
      if (i == rest.size()) {
        return Status::InvalidArgument("unterminated quoted string in Content-Type parameter " +
                                       name);
      }
      rest.remove_prefix(i + 1);
    } else {
      size_t i = 0;
      while (i < rest.size() && IsTokenChar(rest[i])) ++i;
      value = std::string(rest.substr(0, i));
      rest.remove_prefix(i);
    }
    rest = TrimSpaces(rest);
    if (!rest.empty()) {
      if (rest.front() != ';') {
        return Status::InvalidArgument("unexpected text in Content-Type parameter " + name + ": " +
                                       std::string(rest));
      }
      rest.remove_prefix(1);
    }
    if (name.empty()) return Status::InvalidArgument("Content-Type parameter without a name");
    media.params[name] = std::move(value);
  }
  return media;
}

Result<FormFields> ParseFormBody(std::string_view content_type, std::string_view body) {
  static constexpr std::string_view kExpected =
      "send application/x-www-form-urlencoded or multipart/form-data";
  if (TrimSpaces(content_type).empty()) {
    return Status::InvalidArgument("the body is not a form: no Content-Type; " +
                                   std::string(kExpected));
  }
  auto media = ParseMediaType(content_type);
  if (!media.ok()) {
    return Status::InvalidArgument("the body is not a form: " + media.status().message());
  }
  if (media->type == "application/x-www-form-urlencoded") {
    auto fields = ParseUrlEncoded(body);
    if (!fields.ok()) return Status::InvalidArgument("form body: " + fields.status().message());
    return fields;
  }
  if (media->type == "multipart/form-data") {
    auto boundary = media->params.find("boundary");
    if (boundary == media->params.end() || boundary->second.empty()) {
      return Status::InvalidArgument("multipart/form-data without a boundary parameter");
    }
    return ParseMultipart(boundary->second, body);
  }
  return Status::InvalidArgument("the body is not a form: Content-Type is " + media->type + "; " +
                                 std::string(kExpected));
}

}  // namespace kvs::server
