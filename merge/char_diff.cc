// Character diffs: UTF-8 or byte units, the token diff, edits back to text.
#include "merge/char_diff.h"

#include <algorithm>
#include <cstdint>

#include "common/json_value.h"
#include "merge/token_diff.h"

namespace kvs::merge {
namespace {

bool IsContinuationByte(char c) { return (static_cast<uint8_t>(c) & 0xC0) == 0x80; }

// True when a cut of s before byte `pos` would split a UTF-8 character.
bool SplitsCharacter(std::string_view s, size_t pos) {
  return pos < s.size() && IsContinuationByte(s[pos]);
}

// The bytes of the UTF-8 character starting with lead byte c.
size_t Utf8Length(char c) {
  auto lead = static_cast<uint8_t>(c);
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// The units of s: its code points when `utf8` (s must then be valid UTF-8),
// else its bytes.
std::vector<uint32_t> Units(std::string_view s, bool utf8) {
  std::vector<uint32_t> units;
  units.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t length = utf8 ? Utf8Length(s[i]) : 1;
    uint32_t unit = static_cast<uint8_t>(s[i]);
    if (length > 1) unit &= 0x7F >> length;
    for (size_t k = 1; k < length; ++k) unit = unit << 6 | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    units.push_back(unit);
    i += length;
  }
  return units;
}

// The bytes taken by `count` units of s starting at byte pos.
size_t UnitBytes(std::string_view s, size_t pos, size_t count, bool utf8) {
  if (!utf8) return count;
  size_t end = pos;
  for (; count > 0; --count) end += Utf8Length(s[end]);
  return end - pos;
}

// Appends an edit, merging it into the last one when the op is the same.
void AppendEdit(EditOp op, std::string_view text, std::vector<Edit>* edits) {
  if (text.empty()) return;
  if (!edits->empty() && edits->back().op == op) {
    edits->back().text += text;
  } else {
    edits->push_back({op, std::string(text)});
  }
}

}  // namespace

std::string_view EditOpName(EditOp op) {
  switch (op) {
    case EditOp::kEqual:
      return "eq";
    case EditOp::kDelete:
      return "del";
    case EditOp::kInsert:
      return "ins";
  }
  return "?";
}

std::vector<Edit> DiffChars(std::string_view from, std::string_view to, size_t max_cost) {
  const bool utf8 = common::IsValidUtf8(from) && common::IsValidUtf8(to);
  // The common prefix and suffix are cut here, on bytes and back to a
  // character boundary, so that a small edit to a large value decodes only
  // the changed middle.
  size_t prefix =
      std::mismatch(from.begin(), from.end(), to.begin(), to.end()).first - from.begin();
  while (utf8 && prefix > 0 && (SplitsCharacter(from, prefix) || SplitsCharacter(to, prefix))) {
    --prefix;
  }
  std::string_view from_rest = from.substr(prefix), to_rest = to.substr(prefix);
  size_t suffix =
      std::mismatch(from_rest.rbegin(), from_rest.rend(), to_rest.rbegin(), to_rest.rend()).first -
      from_rest.rbegin();
  while (utf8 && suffix > 0 &&
         (SplitsCharacter(from_rest, from_rest.size() - suffix) ||
          SplitsCharacter(to_rest, to_rest.size() - suffix))) {
    --suffix;
  }
  std::string_view from_middle = from_rest.substr(0, from_rest.size() - suffix);
  std::string_view to_middle = to_rest.substr(0, to_rest.size() - suffix);

  std::vector<Edit> edits;
  AppendEdit(EditOp::kEqual, from.substr(0, prefix), &edits);
  // Byte positions in from_middle and to_middle of the next unit.
  size_t from_pos = 0, to_pos = 0;
  for (const TokenRun& run :
       DiffTokens(Units(from_middle, utf8), Units(to_middle, utf8), max_cost)) {
    if (run.op == EditOp::kInsert) {
      size_t bytes = UnitBytes(to_middle, to_pos, run.count, utf8);
      AppendEdit(run.op, to_middle.substr(to_pos, bytes), &edits);
      to_pos += bytes;
      continue;
    }
    size_t bytes = UnitBytes(from_middle, from_pos, run.count, utf8);
    AppendEdit(run.op, from_middle.substr(from_pos, bytes), &edits);
    from_pos += bytes;
    if (run.op == EditOp::kEqual) to_pos += bytes;
  }
  AppendEdit(EditOp::kEqual, from_rest.substr(from_rest.size() - suffix), &edits);
  return edits;
}

std::optional<std::string> ApplyEdits(std::string_view from, const std::vector<Edit>& edits) {
  std::string to;
  size_t pos = 0;
  for (const Edit& edit : edits) {
    if (edit.op == EditOp::kInsert) {
      to += edit.text;
      continue;
    }
    if (from.substr(pos, edit.text.size()) != edit.text) return std::nullopt;
    if (edit.op == EditOp::kEqual) to += edit.text;
    pos += edit.text.size();
  }
  if (pos != from.size()) return std::nullopt;
  return to;
}

}  // namespace kvs::merge
