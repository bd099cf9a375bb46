// The edit record ('E') of a logged transaction: its edits of the global
// tree, in order, in place of the tree nodes they make (store/format.h).
// Whoever reads the block applies them to the tree its base block names
// (LogWindow, store/log_window.h), so a logged transaction writes its
// records and this record, not the global tree's paths to its version,
// link, commit, revision and branch entries; in a store of format 3 not
// its branch tree's path either (an op 3 edit: the branch's new key
// entries and its new entry).
#ifndef KVS_STORE_EDIT_LOG_H_
#define KVS_STORE_EDIT_LOG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kvs/status.h"
#include "store/data_file.h"

namespace kvs {

class NodeSink;
class RecordSource;
class TreeWriter;

class EditLog {
 public:
  // A put of a branch entry whose tree is in memory (store/node_arena.h)
  // makes the log unloggable: no other process could read that tree.
  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // Op 3: puts into the tree of branch `name`, then its entry (its root
  // field unread: each reader sets it to the tree the puts make).
  void PutBranch(std::string_view name, std::string_view entry,
                 const std::vector<std::pair<std::string, std::string>>& tree_puts);
  bool empty() const { return count_ == 0; }
  size_t count() const { return count_; }
  // False when an edit cannot be logged: the transaction must be a
  // checkpoint instead.
  bool loggable() const { return loggable_; }
  void Clear();
  // The record body: count[4] zero[4], the edits, zero padding, and the
  // record's size in the file[8] last, which puts it in the last 8 bytes
  // of the block's payload (a record of this body needs no padding).
  std::string Encode() const;

 private:
  std::string edits_;
  uint32_t count_ = 0;
  bool loggable_ = true;
};

// Applies an edit record's body to tree (nullptr: only parses it), reading
// the branch trees that op 3 edits from source and writing their changed
// nodes to branch_nodes. Corruption when it does not parse. Returns how
// many edits it applied.
Result<size_t> ApplyEdits(std::string_view body, TreeWriter* tree,
                          const RecordSource* source = nullptr, NodeSink* branch_nodes = nullptr);

// The edit record body of the logged block at block (the last record of
// its payload), verified.
Result<std::string_view> ReadEditRecord(const Snapshot& snap, const CommitPoint& block);

}  // namespace kvs

#endif  // KVS_STORE_EDIT_LOG_H_
