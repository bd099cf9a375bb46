// union and json: parsing with a depth limit, JSON equality, the array and
// line unions, the field-by-field object merge. See json_merge.h.
#include "merge/json_merge.h"

#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/json_value.h"
#include "merge/outcomes.h"

namespace kvs::merge {
namespace {

using nlohmann::ordered_json;

// v with its object fields in sorted order: a value whose == and < are JSON
// equality and an order consistent with it.
nlohmann::json Unordered(const ordered_json& v) { return nlohmann::json(v); }

// Equal as JSON; nullptr stands for an absent field, equal only to another.
bool SameJson(const ordered_json* a, const ordered_json* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return Unordered(*a) == Unordered(*b);
}

std::vector<std::string_view> SplitLinesWithoutNewlines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return lines;
}

MergeOutcome UnionOfLines(const std::string& ours, const std::string& theirs) {
  std::vector<std::string_view> lines = SplitLinesWithoutNewlines(ours);
  std::unordered_set<std::string_view> present(lines.begin(), lines.end());
  for (std::string_view line : SplitLinesWithoutNewlines(theirs)) {
    if (present.insert(line).second) lines.push_back(line);
  }
  std::string merged;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) merged += '\n';
    merged += lines[i];
  }
  if (ours.ends_with('\n') || theirs.ends_with('\n')) merged += '\n';
  return MergedValue(std::move(merged));
}

// The field-by-field merge, collecting the paths of conflicting fields.
class ObjectMerger {
 public:
  // The merge of objects base, ours and theirs; their fields' paths are
  // prefix + key (prefix is "" at the top level, else "a.b.").
  ordered_json MergeObjects(const ordered_json& base, const ordered_json& ours,
                            const ordered_json& theirs, const std::string& prefix) {
    FieldIndex base_fields = Fields(base), ours_fields = Fields(ours);
    FieldIndex theirs_fields = Fields(theirs);
    ordered_json merged = ordered_json::object();
    // Keys are unique by construction (ours', then theirs' not in ours), so
    // fields are appended without ordered_json's linear search for the key.
    auto& merged_fields = merged.get_ref<ordered_json::object_t&>();
    for (const auto& [key, value] : ours.items()) {
      auto field =
          MergeField(Find(base_fields, key), &value, Find(theirs_fields, key), prefix + key);
      if (field) merged_fields.emplace_back(key, std::move(*field));
    }
    for (const auto& [key, value] : theirs.items()) {
      if (Find(ours_fields, key) != nullptr) continue;
      auto field = MergeField(Find(base_fields, key), nullptr, &value, prefix + key);
      if (field) merged_fields.emplace_back(key, std::move(*field));
    }
    return merged;
  }

  const std::vector<std::string>& conflicts() const { return conflicts_; }

 private:
  using FieldIndex = std::unordered_map<std::string_view, const ordered_json*>;

  // ordered_json finds a field by a linear search; this index makes a merge
  // of objects with many fields cost O(fields), not O(fields^2).
  static FieldIndex Fields(const ordered_json& object) {
    FieldIndex index;
    for (const auto& [key, value] : object.items()) index[key] = &value;
    return index;
  }

  static const ordered_json* Find(const FieldIndex& index, std::string_view key) {
    auto it = index.find(key);
    return it == index.end() ? nullptr : it->second;
  }

  // The merged value of one field, nullopt for absent; nullptr arguments are
  // absent fields.
  std::optional<ordered_json> MergeField(const ordered_json* base, const ordered_json* ours,
                                         const ordered_json* theirs, const std::string& path) {
    const ordered_json* taken = nullptr;
    if (SameJson(ours, theirs) || SameJson(theirs, base)) {
      taken = ours;
    } else if (SameJson(ours, base)) {
      taken = theirs;
    } else if (ours != nullptr && theirs != nullptr && ours->is_object() && theirs->is_object() &&
               (base == nullptr || base->is_object())) {
      return MergeObjects(base ? *base : ordered_json::object(), *ours, *theirs, path + ".");
    } else {
      conflicts_.push_back(path);
      taken = ours;
    }
    if (taken == nullptr) return std::nullopt;
    return *taken;
  }

  std::vector<std::string> conflicts_;
};

}  // namespace

MergeOutcome MergeUnion(const std::optional<std::string>& base, const std::string& ours,
                        const std::string& theirs) {
  try {
    std::optional<ordered_json> ours_json = common::ParseStoredJson(ours);
    std::optional<ordered_json> theirs_json = common::ParseStoredJson(theirs);
    bool arrays = ours_json && ours_json->is_array() && theirs_json && theirs_json->is_array();
    if (arrays && base) {
      std::optional<ordered_json> base_json = common::ParseStoredJson(*base);
      arrays = base_json && base_json->is_array();
    }
    if (!arrays) return UnionOfLines(ours, theirs);
    ordered_json merged = *ours_json;
    std::set<nlohmann::json> present;
    for (const ordered_json& element : merged) present.insert(Unordered(element));
    for (const ordered_json& element : *theirs_json) {
      if (present.insert(Unordered(element)).second) merged.push_back(element);
    }
    return MergedValue(merged.dump());
  } catch (const nlohmann::json::exception& e) {
    return MergeConflict(std::string("union failed: ") + e.what());
  }
}

MergeOutcome MergeJsonObjects(const std::optional<std::string>& base, const std::string& ours,
                              const std::string& theirs) {
  try {
    std::optional<ordered_json> base_json =
        base ? common::ParseStoredJson(*base) : ordered_json::object();
    std::optional<ordered_json> ours_json = common::ParseStoredJson(ours);
    std::optional<ordered_json> theirs_json = common::ParseStoredJson(theirs);
    // Which side is wrong, base first.
    for (auto [name, json] : {std::pair{"the base", &base_json}, std::pair{"ours", &ours_json},
                              std::pair{"theirs", &theirs_json}}) {
      if (!*json) {
        return MergeConflict(std::string(name) + " is not JSON (or nests deeper than " +
                             std::to_string(common::kMaxJsonValueDepth) + " levels)");
      }
      if (!(*json)->is_object()) return MergeConflict(std::string(name) + " is not a JSON object");
    }
    ObjectMerger merger;
    ordered_json merged = merger.MergeObjects(*base_json, *ours_json, *theirs_json, "");
    const std::vector<std::string>& conflicts = merger.conflicts();
    if (conflicts.empty()) return MergedValue(merged.dump());
    std::string reason = conflicts.size() == 1 ? "field " : "fields ";
    for (size_t i = 0; i < conflicts.size(); ++i) {
      if (i > 0) reason += ", ";
      reason += '"' + conflicts[i] + '"';
    }
    return MergeConflict(reason + " changed on both sides");
  } catch (const nlohmann::json::exception& e) {
    return MergeConflict(std::string("json merge failed: ") + e.what());
  }
}

}  // namespace kvs::merge
