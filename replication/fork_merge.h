// Merging the forks replication creates, the same way on every replica.
//
// When an apply leaves a key with several heads and the receiver's merge
// rules (the config's merge: section) name a function that makes a value
// for it (not keep or reject), the receiver merges the heads at once. Two
// replicas that received the same fork must make the same merge version,
// with the same id, or each would send the other a new fork forever; so
// nothing of the merge depends on which replica makes it or when:
//   - heads are merged two at a time, the two smallest ids first, with the
//     smaller id as "ours" (merge/merge_function.h), against their newest
//     common ancestor, until one head is left;
//   - the merge version's parents are the two heads, its time 1 ns after the
//     later of theirs, and its replica all zeros (no replica wrote it; every
//     replica makes it alike).
// A function that cannot merge the values (a conflict) leaves the fork as
// it is, for a person (kvs forks KEY).
#ifndef KVS_REPLICATION_FORK_MERGE_H_
#define KVS_REPLICATION_FORK_MERGE_H_

#include <optional>
#include <string>
#include <vector>

#include "kvs/store.h"
#include "merge/branch_merge.h"

namespace kvs::replication {

// The version merging a and b (a.id < b.id; values filled) with f, as
// every replica makes it; nullopt when f keeps both or cannot merge them.
Result<std::optional<ReplicatedVersion>> ForkMergeVersion(Store& store, const Version& a,
                                                          const Version& b, merge::MergeFunction f);

// Merges key's heads on branch as above, each merge version applied as its
// own transaction (Store::ApplyReplicated). Whether one head is left.
Result<bool> MergeFork(Store& store, const std::string& branch, const std::string& key,
                       merge::MergeFunction f);

// Whether rules merge a fork of key by themselves: the function of the
// first rule matching it makes a value (anything but keep and reject; no
// rule matching is reject).
std::optional<merge::MergeFunction> ForkMergeFunction(const std::vector<merge::MergeRule>& rules,
                                                      const std::string& key);

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_FORK_MERGE_H_
