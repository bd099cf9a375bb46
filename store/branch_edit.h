// BranchEdit: the changes one transaction makes to one branch, staged and
// written at the end (Finish), so a key written twice in a transaction
// reads its own pending state. Every transaction that changes a branch's
// keys goes through it: writes, replicated versions, key copies, resets.
#ifndef KVS_STORE_BRANCH_EDIT_H_
#define KVS_STORE_BRANCH_EDIT_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/store_impl.h"

namespace kvs {

class BranchEdit {
 public:
  BranchEdit(TxnContext* ctx, std::string branch) : ctx_(ctx), branch_name_(std::move(branch)) {}

  // Reads the branch's current entry (NotFound when the branch does not
  // exist); with create_if_missing, a missing branch starts empty here and
  // is stored by Finish.
  Status Load(bool create_if_missing = false);

  // The branch tree's root as loaded (without this transaction's changes).
  uint64_t root() const { return branch_.root; }

  // The key's current entry, including this transaction's changes.
  Result<std::optional<KeyEntry>> Current(const std::string& key);

  // Stores version v (already hashed) and makes it a head of its key:
  // it replaces exactly its parents among the heads of current, the key's
  // entry as Current gave it (read once by the caller, who needed it too).
  // Returns its offset.
  Result<uint64_t> AddVersion(const VersionRecord& v, const std::optional<KeyEntry>& current);

  // Stores version v (already hashed): its record, its index entry, the
  // links from its stored parents and, without one, its tail entry; heads
  // unchanged.
  Result<uint64_t> StoreVersion(const VersionRecord& v);

  // Makes entry the key's state here, as of this transaction.
  void SetEntry(const std::string& key, KeyEntry entry);

  // Extra parents of the commit Finish writes (a merge of branches).
  void AddMergedCommits(const std::vector<CommitId>& commits);

  // Stages a branch tree entry written as it is (a key's past state copied
  // from another branch); Finish writes it before the pending entries.
  void CopyTreeEntry(std::string tree_key, std::string value);

  // Writes the key entries, the branch's new root and (when anything
  // changed) a commit; returns the commit id (zero when none).
  Result<CommitId> Finish();

 private:
  Result<BranchEntry> ReadBranchEntryThrough();

  TxnContext* ctx_;
  std::string branch_name_;
  BranchEntry branch_;
  // The branch's tree as loaded, made by Load: Current reads through it,
  // so that Finish's edits find the nodes on their paths loaded.
  std::optional<TreeWriter> tree_;
  std::map<std::string, KeyEntry> pending_;  // sorted, so commits hash the same everywhere
  std::vector<std::pair<std::string, std::string>> copied_;
  std::vector<CommitId> merged_commits_;
};

// Whether two entries have the same heads, in any order.
bool SameHeads(const KeyEntry& a, const KeyEntry& b);

// Adds an id entry (store/id_runs.h) in the transaction: to its pending
// ids, or in a store without runs to its global tree.
Status PutIdEntry(TxnContext* ctx, std::string key, std::string value);

// An id entry's value (store/id_runs.h), read through the transaction's
// pending edits; NotFound when absent.
Result<std::string> IdEntryThrough(TxnContext* ctx, std::string_view key);

// The record offset of a stored version, read through the transaction's
// pending edits; NotFound when the version is not stored.
Result<uint64_t> StoredOffset(TxnContext* ctx, const VersionId& id);

}  // namespace kvs

#endif  // KVS_STORE_BRANCH_EDIT_H_
