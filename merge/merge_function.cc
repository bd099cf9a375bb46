// The merge functions' names, the trivial cases they share, and the functions
// that read values as numbers (counter, max, min) or not at all (lww, keep,
// reject). union and json are in json_merge.cc, text in text_merge.cc.
#include "merge/merge_function.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "merge/json_merge.h"
#include "merge/outcomes.h"
#include "merge/text_merge.h"

namespace kvs::merge {
namespace {

constexpr std::array<std::pair<MergeFunction, std::string_view>, 9> kNames = {{
    {MergeFunction::kLww, "lww"},
    {MergeFunction::kCounter, "counter"},
    {MergeFunction::kMax, "max"},
    {MergeFunction::kMin, "min"},
    {MergeFunction::kUnion, "union"},
    {MergeFunction::kJson, "json"},
    {MergeFunction::kText, "text"},
    {MergeFunction::kKeep, "keep"},
    {MergeFunction::kReject, "reject"},
}};

// A side's value as the outcome: nullopt is a deletion.
MergeOutcome Settled(const std::optional<std::string>& value) {
  if (!value) return OutcomeOfKind(MergeOutcome::Kind::kDeleted);
  return MergedValue(*value);
}

std::string_view TrimAsciiSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) + 1 - begin);
}

// The whole of `text` (but surrounding ASCII whitespace) parsed as T by
// std::from_chars, or nullopt.
template <typename T>
std::optional<T> ParseWhole(std::string_view text) {
  text = TrimAsciiSpace(text);
  T number{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return number;
}

MergeOutcome MergeLww(const MergeInput& in) {
  const MergeSide& ours = in.ours;
  const MergeSide& theirs = in.theirs;
  bool ours_wins;
  if (ours.time_ns != theirs.time_ns) {
    ours_wins = ours.time_ns > theirs.time_ns;
  } else if (ours.tiebreak != theirs.tiebreak) {
    ours_wins = ours.tiebreak > theirs.tiebreak;
  } else {
    ours_wins = ours.value > theirs.value;  // nullopt is less than any value
  }
  return Settled(ours_wins ? ours.value : theirs.value);
}

MergeOutcome MergeCounter(const std::optional<std::string>& base, const std::string& ours,
                          const std::string& theirs) {
  std::optional<int64_t> base_number = base ? ParseWhole<int64_t>(*base) : 0;
  std::optional<int64_t> ours_number = ParseWhole<int64_t>(ours);
  std::optional<int64_t> theirs_number = ParseWhole<int64_t>(theirs);
  if (!base_number) return MergeConflict("the base is not a decimal int64 integer");
  if (!ours_number) return MergeConflict("ours is not a decimal int64 integer");
  if (!theirs_number) return MergeConflict("theirs is not a decimal int64 integer");
  // Wide enough for any sum of three int64s, so only the result can overflow.
  __int128 sum = static_cast<__int128>(*ours_number) + *theirs_number - *base_number;
  if (sum < std::numeric_limits<int64_t>::min() || sum > std::numeric_limits<int64_t>::max()) {
    return MergeConflict("ours + theirs - base overflows a 64-bit integer");
  }
  return MergedValue(std::to_string(static_cast<int64_t>(sum)));
}

// max (want_larger) or min.
MergeOutcome MergeExtreme(const std::string& ours, const std::string& theirs, bool want_larger) {
  std::optional<double> ours_number = ParseWhole<double>(ours);
  std::optional<double> theirs_number = ParseWhole<double>(theirs);
  if (!ours_number || !std::isfinite(*ours_number)) {
    return MergeConflict("ours is not a number");
  }
  if (!theirs_number || !std::isfinite(*theirs_number)) {
    return MergeConflict("theirs is not a number");
  }
  bool ours_wins;
  if (*ours_number != *theirs_number) {
    ours_wins = (*ours_number > *theirs_number) == want_larger;
  } else {
    ours_wins = ours > theirs;  // "1.0" against "1": the same either way round
  }
  return MergedValue(ours_wins ? ours : theirs);
}

}  // namespace

std::optional<MergeFunction> ParseMergeFunction(std::string_view name) {
  for (const auto& [function, function_name] : kNames) {
    if (name == function_name) return function;
  }
  return std::nullopt;
}

std::string_view MergeFunctionName(MergeFunction f) {
  for (const auto& [function, function_name] : kNames) {
    if (f == function) return function_name;
  }
  return "?";
}

std::string MergeFunctionNames() {
  std::string names;
  for (const auto& [function, function_name] : kNames) {
    if (!names.empty()) names += ", ";
    names += function_name;
  }
  return names;
}

MergeOutcome Merge(MergeFunction f, const MergeInput& in) {
  const std::optional<std::string>& ours = in.ours.value;
  const std::optional<std::string>& theirs = in.theirs.value;
  if (ours == theirs) return Settled(ours);
  if (ours == in.base) return Settled(theirs);
  if (theirs == in.base) return Settled(ours);
  // Both sides changed the value, differently. All but lww, keep and reject
  // combine the two values, so they need both.
  const bool combines_values =
      f != MergeFunction::kLww && f != MergeFunction::kKeep && f != MergeFunction::kReject;
  if (combines_values && !ours) return MergeConflict("ours deleted the key and theirs changed it");
  if (combines_values && !theirs)
    return MergeConflict("theirs deleted the key and ours changed it");
  switch (f) {
    case MergeFunction::kLww:
      return MergeLww(in);
    case MergeFunction::kCounter:
      return MergeCounter(in.base, *ours, *theirs);
    case MergeFunction::kMax:
      return MergeExtreme(*ours, *theirs, /*want_larger=*/true);
    case MergeFunction::kMin:
      return MergeExtreme(*ours, *theirs, /*want_larger=*/false);
    case MergeFunction::kUnion:
      return MergeUnion(in.base, *ours, *theirs);
    case MergeFunction::kJson:
      return MergeJsonObjects(in.base, *ours, *theirs);
    case MergeFunction::kText:
      return MergeText(in.base.value_or(""), *ours, *theirs);
    case MergeFunction::kKeep:
      return OutcomeOfKind(MergeOutcome::Kind::kKeepBoth);
    case MergeFunction::kReject:
      return MergeConflict("changed on both sides");
  }
  return MergeConflict("unknown merge function");  // f is not one of the enumerators
}

}  // namespace kvs::merge
