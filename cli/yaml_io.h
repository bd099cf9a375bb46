// YAML for `kvs import` and `kvs export --yaml`: one map of key: value.
//
// Writing is done here by hand rather than by yaml-cpp's emitter, so that
// the output is the same whatever the library version and reads back
// unchanged in any YAML parser:
//   - a key or value that is not UTF-8 is `!!binary "BASE64"`;
//   - text that every YAML 1.1 and 1.2 parser reads as that very string is
//     written plain (`greeting: hello world`): it starts with a letter or '_'
//     or a non-ASCII character, holds only letters, digits, non-ASCII
//     characters and " _./@+-", does not end with a space, and is not a word
//     YAML gives another meaning (null, true, yes, off, ...);
//   - anything else is double-quoted, with \" \\ \n \t \r \0 escaped, other
//     control characters as \xXX, and the characters YAML treats as line
//     breaks or byte-order marks (U+0080..U+009F, U+2028, U+2029, U+FEFF) as
//     \uXXXX.
// A value written as JSON (Version::json) is tagged `!json`, its JSON text
// quoted as above (`score: !json "42"`), so that it imports as JSON again.
// An empty map is written `{}`, so that an export always imports.
//
// Reading uses yaml-cpp, whose exceptions are caught here. Scalars are taken
// as the text they are written with (`n: 012` is the string "012"); a value
// tagged !!binary must be canonical base64 (padded, as written above), and
// one tagged !json must be JSON text.
#ifndef KVS_CLI_YAML_IO_H_
#define KVS_CLI_YAML_IO_H_

#include <string>
#include <string_view>
#include <vector>

#include "kvs/status.h"

namespace kvs::cli {

struct YamlEntry {
  std::string key;
  std::string value;
  bool json = false;  // tagged !json: to be written as JSON
  std::string where;  // "FILE:LINE:COLUMN" of the key, for messages
};

// The entries of a YAML document that is one map of scalar keys to scalar
// values, in file order. InvalidArgument naming "file:line:column" and what
// is wrong: a syntax error, more than one document, a top level that is not
// a map, a key given twice, a key or value that is null, a list or a map,
// bad base64, a !json value that is not JSON.
Result<std::vector<YamlEntry>> ParseYamlMap(std::string_view text, const std::string& file);

// "KEY: VALUE\n", as described above; json: VALUE is JSON text written as JSON.
std::string YamlMapEntry(std::string_view key, std::string_view value, bool json = false);

// What an export of no keys prints: "{}\n".
inline constexpr std::string_view kEmptyYamlMap = "{}\n";

}  // namespace kvs::cli

#endif  // KVS_CLI_YAML_IO_H_
