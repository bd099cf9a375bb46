// HTML form encodings: percent-encoding, query strings and POST bodies.
//
// A form arrives as application/x-www-form-urlencoded (the query string and
// most POST bodies: name=value pairs joined by '&', '+' for a space, %XX for
// any byte) or as multipart/form-data (multipart.h). Both parse into the same
// ordered list of fields, with names and values as exact bytes, so the
// handlers never see an encoding. Malformed input is an InvalidArgument whose
// message says what and where, never a guess.
#ifndef KVS_HTTP_FORM_H_
#define KVS_HTTP_FORM_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kvs/status.h"

namespace kvs::server {

struct FormField {
  std::string name;
  std::string value;
  bool operator==(const FormField&) const = default;
};
using FormFields = std::vector<FormField>;

// The value of a hex digit (either case); -1 for any other character.
int HexDigitValue(char c);

// Decodes %XX escapes (either hex case) and, when plus_as_space, '+' as a
// space. InvalidArgument for a '%' not followed by two hex digits.
Result<std::string> PercentDecode(std::string_view text, bool plus_as_space);

// Escapes every byte outside RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~)
// as %XX, so any byte string fits in a header or a URL.
std::string PercentEncode(std::string_view bytes);

// Parses application/x-www-form-urlencoded text (a query string or a body):
// fields in order, empty segments ("a=1&&b=2") skipped, a segment without
// '=' is a name with an empty value. Duplicate names are kept.
Result<FormFields> ParseUrlEncoded(std::string_view text);

// The same split, with each value left as sent (a view into text), for a
// value whose own syntax needs the encoding: in the classic face's
// k=a,b%2Cc the literal commas separate keys and the encoded one is part of
// the key "b,c". The names are decoded.
struct EncodedField {
  std::string name;
  std::string_view raw_value;
};
Result<std::vector<EncodedField>> SplitUrlEncoded(std::string_view text);

// A field's value read as a count: decimal digits only (no sign, no space),
// within size_t. nullopt for anything else, including the empty string.
std::optional<size_t> ParseCount(std::string_view text);

// A Content-Type value split into its parts: "multipart/form-data;
// boundary=x" -> type "multipart/form-data", params {"boundary": "x"}.
// The type and parameter names are lower-cased; values are unquoted.
struct MediaType {
  std::string type;
  std::map<std::string, std::string> params;
};
Result<MediaType> ParseMediaType(std::string_view content_type);

// The fields of a POST body, by its Content-Type: urlencoded or
// multipart/form-data. InvalidArgument for any other type (or none) and for
// a malformed body.
Result<FormFields> ParseFormBody(std::string_view content_type, std::string_view body);

}  // namespace kvs::server

#endif  // KVS_HTTP_FORM_H_
