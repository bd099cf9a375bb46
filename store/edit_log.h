// The edit record ('E') of a logged transaction: its edits of the global
// tree, in order, in place of the tree nodes they make (store/format.h).
// Whoever reads the block applies them to the tree its base block names
// (LogWindow, store/log_window.h), so a logged transaction writes its
// records, its branch tree's path and this record, not the global tree's
// paths to its version, link, commit, revision and branch entries.
#ifndef KVS_STORE_EDIT_LOG_H_
#define KVS_STORE_EDIT_LOG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "kvs/status.h"
#include "store/data_file.h"

namespace kvs {

class TreeWriter;

class EditLog {
 public:
  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  bool empty() const { return count_ == 0; }
  size_t count() const { return count_; }
  void Clear();
  // The record body: count[4] zero[4], the edits, zero padding, and the
  // record's size in the file[8] last, which puts it in the last 8 bytes
  // of the block's payload (a record of this body needs no padding).
  std::string Encode() const;

 private:
  std::string edits_;
  uint32_t count_ = 0;
};

// Applies an edit record's body to tree (nullptr: only parses it).
// Corruption when it does not parse.
// Returns how many it applied.
Result<size_t> ApplyEdits(std::string_view body, TreeWriter* tree);

// The edit record body of the logged block at block (the last record of
// its payload), verified.
Result<std::string_view> ReadEditRecord(const Snapshot& snap, const CommitPoint& block);

}  // namespace kvs

#endif  // KVS_STORE_EDIT_LOG_H_
