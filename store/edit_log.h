// The edit record ('E') of a logged transaction: its edits of the global
// tree, in order, in place of the tree nodes they make (store/format.h).
// Whoever reads the block applies them to the tree its base block names
// (LogWindow, store/log_window.h), so a logged transaction writes its
// records and this record, not the global tree's paths to its version,
// link, commit, revision and branch entries; in a store of format 3 not
// its branch tree's path either (an op 3 edit: the branch's new key
// entries and its new entry). In a store of format 5 the record is compact
// (store/format.h): varint lengths, each id written once and referred to
// after, and the transaction's own revision entry as a few bytes.
#ifndef KVS_STORE_EDIT_LOG_H_
#define KVS_STORE_EDIT_LOG_H_

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // Starts the edits of the transaction whose block starts at block, with
  // revision and time_ns, dropping any before; compact: in the encoding
  // of store format 5.
  void Start(bool compact, uint64_t block, uint64_t revision, int64_t time_ns);
  // A put of a branch entry whose tree is in memory (store/node_arena.h)
  // cannot be logged (loggable() turns false): no other process could
  // read that tree.
  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // Op 3: puts into the tree of branch `name`, then its entry (its root
  // field unread: each reader sets it to the tree the puts make).
  void PutBranch(std::string_view name, std::string_view entry,
                 const std::vector<std::pair<std::string, std::string>>& tree_puts);
  // Op 4: branch `name`'s entry, with the tree of branch `source` as it is
  // (the root field unread again).
  void CopyBranch(std::string_view name, std::string_view entry, std::string_view source);
  bool empty() const { return count_ == 0; }
  size_t count() const { return count_; }
  // Whether it holds an op 3 or 4, whose tree may be only in memory.
  bool branch_edits() const { return branch_edits_; }
  // False when an edit cannot be logged: the transaction must be a
  // checkpoint instead.
  bool loggable() const { return loggable_; }
  // The record body: count[4] flags[4], the edits, zero padding, and the
  // record's size in the file[8] last, which puts it in the last 8 bytes
  // of the block's payload (a record of this body needs no padding).
  std::string Encode() const;

  // The kinds of field a compact record holds (store/edit_log.cc).
  enum class Field;

 private:
  // A key, value, name or entry: its length and bytes (compact: varint
  // length, ids as references).
  void PutField(Field kind, char lead, std::string_view bytes);
  // Compact: the index of an id written in full before, if it was.
  std::optional<uint64_t> FindId(std::string_view id) const;
  void AddId(std::string_view id);

  std::string edits_;
  uint32_t count_ = 0;
  bool loggable_ = true;
  bool branch_edits_ = false;
  bool compact_ = false;
  uint64_t block_ = 0;
  uint64_t revision_ = 0;
  int64_t time_ns_ = 0;
  // Compact: the ids written in full so far, in order, and once there are
  // many, an index of them (views into ids_, whose elements stay put).
  std::deque<std::array<char, 32>> ids_;
  std::unordered_map<std::string_view, uint64_t> id_index_;
};

// Puts key into tree without logging it there: for an edit logged another
// way (op 3 or 4).
Status PutUnlogged(TreeWriter* tree, std::string_view key, std::string_view value);

// Applies edit records, in order, to a global tree. The branch trees that
// op 3 edits stay open from one record to the next, and are written (their
// changed nodes to branch_nodes, their roots into their entries) by Finish,
// or before an edit that reads or replaces their entry: a replay of many
// writes to one branch writes its path once, not once per write.
class EditReplay {
 public:
  // source: where the trees' nodes are read.
  EditReplay(TreeWriter* tree, const RecordSource* source, NodeSink* branch_nodes);
  ~EditReplay();
  EditReplay(const EditReplay&) = delete;
  EditReplay& operator=(const EditReplay&) = delete;

  // The edits, as EditLog's of the same names.
  Status Put(std::string_view key, std::string_view value);
  Status Delete(std::string_view key);
  Status PutBranch(std::string_view name, std::string_view entry,
                   const std::vector<std::pair<std::string_view, std::string_view>>& tree_puts);
  Status CopyBranch(std::string_view name, std::string_view entry, std::string_view source);
  // Writes every open branch tree. The global tree is then the state after
  // the records applied.
  Status Finish();

 private:
  struct OpenBranch;
  // Writes the open tree of the branch whose entry key is, if any.
  Status Settle(std::string_view key);
  // The root of a branch's tree, its open tree settled first.
  Result<uint64_t> SettledRoot(std::string_view key);

  TreeWriter* tree_;
  const RecordSource* source_;
  NodeSink* branch_nodes_;
  std::map<std::string, std::unique_ptr<OpenBranch>, std::less<>> open_;
};

// Parses the edit record body of the logged block `block`, applying it
// with replay (nullptr: only parses it). Corruption when it does not
// parse. Returns how many edits it holds.
Result<size_t> ApplyEdits(std::string_view body, const CommitPoint& block, EditReplay* replay);

// The edit record body of the logged block at block (the last record of
// its payload), verified.
Result<std::string_view> ReadEditRecord(const Snapshot& snap, const CommitPoint& block);

}  // namespace kvs

#endif  // KVS_STORE_EDIT_LOG_H_
