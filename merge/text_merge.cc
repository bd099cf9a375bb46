// diff3 over lines: each side's changes against the base, grouped where they
// overlap, each group settled or reported. See text_merge.h.
#include "merge/text_merge.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "merge/outcomes.h"
#include "merge/token_diff.h"

namespace kvs::merge {
namespace {

enum class Side { kOurs, kTheirs };

// The lines of text, each with its '\n' (the last may have none).
std::vector<std::string_view> SplitLinesKeepingNewlines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = std::min(text.find('\n'), text.size() - 1) + 1;  // past '\n' or the end
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end);
  }
  return lines;
}

// One text as lines and as tokens for the diff: equal lines, equal tokens.
struct Lines {
  std::vector<std::string_view> text;
  std::vector<uint32_t> tokens;
};

// A change by one side: base lines [base_begin, base_end) replaced by that
// side's lines [side_begin, side_end). Either range may be empty, not both.
struct Change {
  Side side;
  size_t base_begin, base_end;
  size_t side_begin, side_end;
};

// The changes that turn base into side, in base order, separated by at
// least one unchanged line.
std::vector<Change> Changes(const Lines& base, const Lines& side_lines, Side side) {
  std::vector<Change> changes;
  size_t base_pos = 0, side_pos = 0;
  for (const TokenRun& run : DiffTokens(base.tokens, side_lines.tokens, kMaxLineEdits)) {
    if (run.op == EditOp::kEqual) {
      base_pos += run.count;
      side_pos += run.count;
      continue;
    }
    // A kDelete and the kInsert after it make one change.
    if (changes.empty() || changes.back().base_end != base_pos ||
        changes.back().side_end != side_pos) {
      changes.push_back({side, base_pos, base_pos, side_pos, side_pos});
    }
    if (run.op == EditOp::kDelete) {
      base_pos += run.count;
      changes.back().base_end = base_pos;
    } else {
      side_pos += run.count;
      changes.back().side_end = side_pos;
    }
  }
  return changes;
}

// Whether two base ranges [begin, end) conflict when changed by different
// sides: they share a line, one is an insertion strictly inside the other,
// or both are insertions at the same place.
bool Overlap(size_t begin1, size_t end1, size_t begin2, size_t end2) {
  if (begin1 == end1 && begin2 == end2) return begin1 == begin2;
  if (begin1 == end1) return begin2 < begin1 && begin1 < end2;
  if (begin2 == end2) return begin1 < begin2 && begin2 < end1;
  return begin1 < end2 && begin2 < end1;
}

// Overlapping changes and the base lines [begin, end) they cover.
struct Group {
  size_t begin, end;
  std::vector<Change> changes;  // in base order
};

// The changes of both sides grouped, in base order.
std::vector<Group> GroupChanges(std::vector<Change> changes) {
  std::stable_sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
    return std::pair(a.base_begin, a.base_end) < std::pair(b.base_begin, b.base_end);
  });
  // Sorted so, a change that does not overlap the current group starts at or
  // after its end, and so does every later one: the group is complete.
  std::vector<Group> groups;
  for (const Change& change : changes) {
    if (groups.empty() ||
        !Overlap(groups.back().begin, groups.back().end, change.base_begin, change.base_end)) {
      groups.push_back({change.base_begin, change.base_end, {}});
    }
    groups.back().end = std::max(groups.back().end, change.base_end);
    groups.back().changes.push_back(change);
  }
  return groups;
}

void AppendLines(const Lines& lines, size_t begin, size_t end, std::string* out) {
  for (size_t i = begin; i < end; ++i) *out += lines.text[i];
}

// The base lines of group as `side` (whose text is side_lines) left them.
std::string SideText(const Group& group, Side side, const Lines& base, const Lines& side_lines) {
  std::string text;
  size_t pos = group.begin;
  for (const Change& change : group.changes) {
    if (change.side != side) continue;
    AppendLines(base, pos, change.base_begin, &text);
    AppendLines(side_lines, change.side_begin, change.side_end, &text);
    pos = change.base_end;
  }
  AppendLines(base, pos, group.end, &text);
  return text;
}

// What a person reads about a group both sides changed differently.
std::string DescribeConflict(const Group& group) {
  if (group.begin == group.end) {
    return "both sides inserted different lines " +
           (group.begin == 0 ? std::string("at the start")
                             : "after line " + std::to_string(group.begin));
  }
  if (group.end - group.begin == 1) {
    return "both sides changed line " + std::to_string(group.end);
  }
  return "both sides changed lines " + std::to_string(group.begin + 1) + "-" +
         std::to_string(group.end);
}

}  // namespace

MergeOutcome MergeText(std::string_view base, std::string_view ours, std::string_view theirs) {
  Lines texts[3];
  std::unordered_map<std::string_view, uint32_t> token_of_line;
  for (auto [lines, text] : {std::pair{&texts[0], base}, {&texts[1], ours}, {&texts[2], theirs}}) {
    lines->text = SplitLinesKeepingNewlines(text);
    for (std::string_view line : lines->text) {
      lines->tokens.push_back(
          token_of_line.emplace(line, static_cast<uint32_t>(token_of_line.size())).first->second);
    }
  }
  const Lines& base_lines = texts[0];
  const Lines& ours_lines = texts[1];
  const Lines& theirs_lines = texts[2];
  std::vector<Change> changes = Changes(base_lines, ours_lines, Side::kOurs);
  std::vector<Change> theirs_changes = Changes(base_lines, theirs_lines, Side::kTheirs);
  changes.insert(changes.end(), theirs_changes.begin(), theirs_changes.end());

  std::string merged;
  std::string conflicts;
  size_t pos = 0;  // base lines before pos are settled in merged
  for (const Group& group : GroupChanges(std::move(changes))) {
    AppendLines(base_lines, pos, group.begin, &merged);
    pos = group.end;
    bool ours_changed = false, theirs_changed = false;
    for (const Change& change : group.changes) {
      (change.side == Side::kOurs ? ours_changed : theirs_changed) = true;
    }
    std::string ours_text = SideText(group, Side::kOurs, base_lines, ours_lines);
    std::string theirs_text = SideText(group, Side::kTheirs, base_lines, theirs_lines);
    if (!theirs_changed || ours_text == theirs_text) {
      merged += ours_text;
    } else if (!ours_changed) {
      merged += theirs_text;
    } else {
      if (!conflicts.empty()) conflicts += "; ";
      conflicts += DescribeConflict(group);
    }
  }
  AppendLines(base_lines, pos, base_lines.text.size(), &merged);
  if (!conflicts.empty()) return MergeConflict(conflicts);
  return MergedValue(std::move(merged));
}

}  // namespace kvs::merge
