// The multipart/form-data parser. It walks the body once with string_views
// into it; only field names and values are copied out.
#include "http/multipart.h"

#include <cctype>
#include <optional>
#include <string>

namespace kvs::server {
namespace {

constexpr size_t kMaxBoundaryBytes = 70;  // RFC 2046, section 5.1.1

Status Malformed(const std::string& what, size_t at) {
  return Status::InvalidArgument("malformed multipart/form-data body: " + what + " (at byte " +
                                 std::to_string(at) + ")");
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// What follows a "--boundary" at body[pos]: the last one ("--"), another
// part (optional spaces, then CRLF), or neither (the match was content).
enum class AfterBoundary { kClose, kPart, kNotADelimiter };

// On kPart, *next is where the part's headers start.
AfterBoundary Classify(std::string_view body, size_t pos, size_t* next) {
  if (body.substr(pos, 2) == "--") return AfterBoundary::kClose;
  while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;  // padding
  if (body.substr(pos, 2) != "\r\n") return AfterBoundary::kNotADelimiter;
  *next = pos + 2;
  return AfterBoundary::kPart;
}

// The field name from a part's headers, which run from body[*pos] to an empty
// line; *pos ends after that line.
Result<std::string> ParsePartHeaders(std::string_view body, size_t* pos) {
  std::optional<std::string> name;
  for (;;) {
    size_t start = *pos;
    size_t end = body.find("\r\n", start);
    if (end == std::string_view::npos) return Malformed("part headers do not end", start);
    std::string_view line = body.substr(start, end - start);
    *pos = end + 2;
    if (line.empty()) break;
    static constexpr std::string_view kDisposition = "content-disposition:";
    if (!StartsWithNoCase(line, kDisposition)) continue;  // Content-Type etc.: not needed
    auto disposition = ParseMediaType(line.substr(kDisposition.size()));
    if (!disposition.ok()) {
      return Malformed("bad Content-Disposition: " + disposition.status().message(), start);
    }
    if (disposition->type != "form-data") {
      return Malformed("Content-Disposition is " + disposition->type + ", not form-data", start);
    }
    auto it = disposition->params.find("name");
    if (it == disposition->params.end()) {
      return Malformed("Content-Disposition without a name", start);
    }
    name = it->second;
  }
  if (!name) return Malformed("a part has no Content-Disposition naming its field", *pos);
  return *name;
}

}  // namespace

Result<FormFields> ParseMultipart(std::string_view boundary, std::string_view body) {
  if (boundary.empty() || boundary.size() > kMaxBoundaryBytes) {
    return Status::InvalidArgument("multipart boundary must be 1 to 70 characters, not " +
                                   std::to_string(boundary.size()));
  }
  const std::string dash = "--" + std::string(boundary);
  const std::string delimiter = "\r\n" + dash;

  // The first boundary line starts the body or follows a preamble.
  size_t pos;
  if (body.substr(0, dash.size()) == dash) {
    pos = dash.size();
  } else {
    size_t found = body.find(delimiter);
    if (found == std::string_view::npos) {
      return Malformed("the boundary '" + std::string(boundary) + "' does not occur", 0);
    }
    pos = found + delimiter.size();
  }

  FormFields fields;
  // Invariant: pos is just after a "--boundary" that was a real delimiter.
  for (;;) {
    size_t headers_start = 0;
    AfterBoundary after = Classify(body, pos, &headers_start);
    if (after == AfterBoundary::kClose) return fields;  // the epilogue is ignored
    if (after == AfterBoundary::kNotADelimiter) {
      return Malformed("boundary line not followed by a line end", pos);
    }
    pos = headers_start;
    KVS_ASSIGN_OR_RETURN(std::string name, ParsePartHeaders(body, &pos));

    // The value runs to the next delimiter that is followed by "--" or a
    // line end; other matches are part of the value.
    size_t value_start = pos;
    size_t search = pos;
    for (;;) {
      size_t found = body.find(delimiter, search);
      if (found == std::string_view::npos) {
        return Malformed("the body ends before the closing boundary", body.size());
      }
      size_t unused;
      if (Classify(body, found + delimiter.size(), &unused) != AfterBoundary::kNotADelimiter) {
        fields.push_back(
            {std::move(name), std::string(body.substr(value_start, found - value_start))});
        pos = found + delimiter.size();
        break;
      }
      search = found + 1;
    }
  }
}

}  // namespace kvs::server
