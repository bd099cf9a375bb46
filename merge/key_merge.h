// Merging one key from one branch into another: the REST face's
// POST /KEY/FORK/merge/TARGET, and the step a whole-branch merge repeats
// for each key.
//
// A plan is computed from the two sides' current states and carried out as
// one write on the target, a compare-and-set on the target's heads, so a
// target that moved in between makes the write fail (kConflict) instead of
// losing the change. Without a merge function the merge is the original
// REST face's blind overwrite: the target takes the source's value. With
// one it is three-way, against the most recent common ancestor of the two
// winners: the target is up to date when it already descends from the
// source, fast-forwards (takes the source's heads, writing no version) when
// the source descends from it, and otherwise gets the function's value as
// a new version whose parents are both sides' heads, so the history keeps
// both; keep makes both sides' heads heads of the target (a visible fork).
#ifndef KVS_MERGE_KEY_MERGE_H_
#define KVS_MERGE_KEY_MERGE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kvs/store.h"
#include "merge/merge_function.h"

namespace kvs::merge {

struct KeyMergePlan {
  enum class Outcome { kUpToDate, kOverwrite, kFastForward, kMerged, kKeptBoth, kConflict };
  Outcome outcome = Outcome::kUpToDate;
  // The write to apply on the target branch; nullopt for kUpToDate and
  // kConflict.
  std::optional<KeyWrite> write;
  std::string conflict;  // kConflict: why, for a person
};

// The ids of a key's heads, winner first; none for a key with no version.
std::vector<VersionId> HeadIds(const KeyState& state);
std::vector<VersionId> HeadIds(const std::optional<KeyState>& state);

// A version's value; nullopt for a tombstone.
std::optional<std::string> LiveValue(const Version& v);

// Whether a merged value is JSON text (Version::json): a value equal to one
// side's keeps that side's kind (theirs first); a new one is JSON when both
// sides' values are.
bool MergedIsJson(const std::optional<std::string>& merged, const std::optional<std::string>& ours,
                  bool ours_json, const std::optional<std::string>& theirs, bool theirs_json);

// The key's state on branch at a read point; nullopt when it has no
// version there (the store's NotFound), other failures as they are.
Result<std::optional<KeyState>> GetIfPresent(Store& store, const std::string& branch,
                                             const std::string& key,
                                             const ReadPoint& at = ReadPoint::Latest());

// "up_to_date", "overwrite", "fast_forward", "merged", "kept_both", "conflict".
std::string_view KeyMergeOutcomeName(KeyMergePlan::Outcome outcome);

// The plan that merges the key's state on the source branch into its state
// on the target (nullopt: no version there yet, so the target takes the
// source's heads). Both states come from Store::Get with values; strategy
// nullopt is the blind overwrite. Reads the common ancestor from store.
Result<KeyMergePlan> PlanKeyMerge(Store& store, const KeyState& source,
                                  const std::optional<KeyState>& target,
                                  std::optional<MergeFunction> strategy);

}  // namespace kvs::merge

#endif  // KVS_MERGE_KEY_MERGE_H_
