// A copy-on-write B+-tree of byte keys to byte values, stored as records in
// the append-only data file.
//
// A tree is named by the file offset of its root node (0: the empty tree).
// Nodes are never modified: TreeWriter loads the nodes on the path to a
// change into memory, edits them there, and Flush appends the changed nodes
// (and only those) as new records, returning the new root. Unchanged
// subtrees keep their offsets, so the old and the new tree share them; that
// is what makes branch creation O(1) and Diff O(differences).
//
// Node body ('L' leaf / 'I' inner record):
//   count[2] zero[6] offsets: count x [4] (entry start within the body)
//   leaf entry:  key_length[2] value_length[4] key value
//   inner entry: key_length[2] child offset[8] key
// Compact node body ('l' leaf / 'i' inner record; in stores of format 6):
//   count[2] offsets: count x [2] (entry start within the body)
//   leaf entry:  key_length[varint] value_length[varint] key value
//   inner entry: key_length[varint] child offset[varint] key
// The same entries as the layout above, which writers still size nodes by:
// a writer whose sink asks for compact nodes (NodeSink::compact_nodes)
// writes each node whose compact body is under 64 KiB that way.
// Inner entry i covers keys from its key (inclusive; entry 0's key is empty
// and means "from the start") to entry i+1's key. Nodes split when their
// body passes kMaxNodeBytes, at the byte midpoint, or, when the new entry is
// the node's last, leaving the left node full (keys that come in ascending
// order fill whole nodes); separators are the shortest that divide.
//
// Node sizes trade write bytes for depth: a transaction rewrites whole
// nodes on each changed path, and the global tree's random keys (version,
// link and commit ids) and each key's new history entry put every change on
// its own path, so node size sets most of what a small write appends. A path
// is one leaf and several inner nodes, so inner nodes are kept smaller than
// leaves; both sizes were chosen by measuring the bytes a write appends and
// its CPU with bench/http_bench on an aged store (docs/benchmarks.md keeps the
// figures). Readers accept any size, so the values are not part of the file
// format.
#ifndef KVS_STORE_BTREE_H_
#define KVS_STORE_BTREE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kvs/status.h"
#include "kvs/store.h"
#include "store/format.h"
#include "store/record.h"

namespace kvs {

constexpr size_t kMaxNodeBytes = 512;       // leaves
constexpr size_t kMaxInnerNodeBytes = 192;  // inner nodes
constexpr size_t kMaxTreeKeyBytes = 4096;
// The longest tree key is a 'T' entry: 'T', the key, 0x00 and an id.
static_assert(kMaxKeyBytes + 34 <= kMaxTreeKeyBytes);

// What a node body takes (see the layout above): its fixed part, and for
// each entry its offset and the entry itself.
constexpr size_t kNodeFixed = 8;
inline size_t NodeEntryBytes(bool leaf, size_t key_size, size_t value_size) {
  return 4 + (leaf ? 6 + key_size + value_size : 10 + key_size);
}
// The shortest key s with left < s <= right: the separator of a node whose
// keys end at left from the next one, whose keys start at right.
std::string ShortestSeparator(std::string_view left, std::string_view right);

// Whether a record of that type is a tree node, of either layout.
inline bool IsNodeRecord(char type) {
  return type == format::kLeafNode || type == format::kInnerNode ||
         type == format::kCompactLeafNode || type == format::kCompactInnerNode;
}

// A verified node record, read in place.
class NodeView {
 public:
  static Result<NodeView> Read(const RecordSource& source, uint64_t offset);
  // A node record's body of that type; offset is for messages.
  static Result<NodeView> Parse(char type, std::string_view body, uint64_t offset);
  bool leaf() const { return leaf_; }
  size_t count() const { return count_; }
  std::string_view key(size_t i) const;
  std::string_view value(size_t i) const;  // leaf only
  uint64_t child(size_t i) const;          // inner only
  // Index of the first entry with key >= target (leaf), or of the child
  // whose range holds target (inner).
  size_t Find(std::string_view target) const;
  // The whole record body every key and value above points into.
  std::string_view body() const { return body_; }
  bool compact() const { return compact_; }

 private:
  // Where entry i starts in the body.
  size_t EntryAt(size_t i) const;
  // Entry i of a compact node, its fields cut at the entry's end (the next
  // entry's start): key, then the value's length or the child, and the
  // bytes after the key; whole when nothing was cut from its lengths and key.
  struct CompactEntry {
    std::string_view key;
    uint64_t second = 0;
    std::string_view rest;
    bool whole = false;
  };
  CompactEntry CompactEntryAt(size_t i) const;
  std::string_view body_;
  bool leaf_ = true;
  bool compact_ = false;
  size_t count_ = 0;
};

// Appends a node whose body is in the fixed layout to out: in the compact
// layout when out asks for it and the node fits, else as it is. Returns
// its offset and the size of the body appended.
struct AppendedNode {
  uint64_t offset;
  size_t body_size;
};
AppendedNode AppendNode(NodeSink* out, bool leaf, std::string_view fixed_body);
// The size of the body AppendNode would append for a node of the fixed
// layout.
size_t AppendedNodeBytes(const NodeView& fixed, bool compact);

// Looks up one key. NotFound when absent.
Result<std::string> TreeGet(const RecordSource& source, uint64_t root, std::string_view key);

// Forward iteration in key order.
class TreeCursor {
 public:
  TreeCursor(const RecordSource* source, uint64_t root) : source_(source), root_(root) {}
  // Positions at the first key >= target.
  Status Seek(std::string_view target);
  bool Valid() const { return !stack_.empty(); }
  std::string_view key() const { return stack_.back().node.key(stack_.back().index); }
  std::string_view value() const { return stack_.back().node.value(stack_.back().index); }
  Status Next();

 private:
  friend class TreeDiffer;
  struct Frame {
    NodeView node;
    uint64_t offset;
    size_t index;
  };
  // Descends from the node at offset to its first leaf entry.
  Status DescendLeftmost(uint64_t offset);
  // Moves up from the leaf until some frame has a next entry, then descends.
  Status Advance();

  const RecordSource* source_;
  uint64_t root_;
  std::vector<Frame> stack_;
};

// Entries that differ between two trees within [begin, end) (end empty: no
// bound), in key order: a key with its value on each side (nullopt where
// absent). Subtrees with the same offset are skipped without being read.
Status TreeDiff(const RecordSource& source, uint64_t root_a, uint64_t root_b,
                std::string_view begin, std::string_view end,
                const std::function<Status(std::string_view key, std::optional<std::string_view> a,
                                           std::optional<std::string_view> b)>& visit);

// The bytes of the node records in the file of the tree at root that none
// of the trees at others shares: what dropping that tree (a deleted
// branch's) leaves for a compaction to free. Costs a path of each other
// tree per node it counts, not the shared part: a shared node's subtree is
// skipped.
Result<uint64_t> UnsharedBytes(const RecordSource& source, uint64_t root,
                               const std::vector<uint64_t>& others);

// Writes the tree at root into out where it is in memory (its virtual
// nodes, store/node_arena.h; subtrees in the file are kept as they are) and
// returns its root there. written maps the nodes already written to where,
// so trees sharing them write them once.
Result<uint64_t> MaterializeTree(const RecordSource& source, uint64_t root, NodeSink* out,
                                 std::unordered_map<uint64_t, uint64_t>* written);

// The bytes MaterializeTree would write for the tree at root, into a sink
// that asks for compact nodes or not.
Result<uint64_t> InMemoryBytes(const RecordSource& source, uint64_t root, bool compact);

class EditLog;

// Batched copy-on-write edits of one tree.
class TreeWriter {
 public:
  TreeWriter(const RecordSource* source, uint64_t root);
  ~TreeWriter();
  TreeWriter(const TreeWriter&) = delete;
  TreeWriter& operator=(const TreeWriter&) = delete;

  Status Put(std::string_view key, std::string_view value);
  // Removes key if present.
  Status Delete(std::string_view key);
  // Reads through the pending edits. NotFound when absent.
  Result<std::string> Get(std::string_view key);
  // The first entry at or after target, read through the pending edits;
  // nullopt when there is none. It loads the nodes on its way, so that
  // edits there next find them loaded. The views stay valid until the
  // writer drops its nodes (Flush).
  using Entry = std::pair<std::string_view, std::string_view>;
  Result<std::optional<Entry>> Seek(std::string_view target);
  bool changed() const;
  // The root the writer continues from: its last flush's, or the one it
  // was made with.
  uint64_t root() const { return root_offset_; }
  // Reads the nodes it has not loaded yet from source from now on (a
  // writer kept past the source it was made with, store/log_window.h).
  void set_source(const RecordSource* source) { source_ = source; }
  // The memory its loaded nodes' bytes take.
  size_t held_bytes() const;
  // Records every later Put and Delete in log too (a logged transaction's
  // global tree edits, store/edit_log.h); nullptr stops it.
  void set_log(EditLog* log) { log_ = log; }
  EditLog* log() const { return log_; }
  // Appends every changed node to out and returns the new root offset; the
  // writer then continues from that root. The records of the nodes it
  // replaced (or removed) are counted in out's superseded bytes. Flush
  // drops the loaded nodes, so the writer's memory stays bounded by one
  // flush's paths; FlushAndKeep
  // keeps them (now clean, at their new offsets), so the next edits reuse
  // them instead of reading them again: for a few flushes in a row into one
  // block builder, as a group commit does.
  Result<uint64_t> Flush(NodeSink* out);
  Result<uint64_t> FlushAndKeep(NodeSink* out);

 private:
  struct Node;
  struct Spares;
  // Nodes and arena chunks come from, and go back to, a per-thread stock of
  // spares: a writer per transaction then allocates almost nothing.
  static Spares& ThreadSpares();
  static std::unique_ptr<Node> NewNode();
  static void Recycle(std::unique_ptr<Node> node);
  // Drops every loaded node and the bytes they point into.
  void DropNodes();
  Result<std::unique_ptr<Node>> Load(uint64_t offset);
  Result<Node*> Root();
  Result<Node*> LoadChild(Node* parent, size_t i);
  Result<std::optional<Entry>> SeekIn(Node* node, std::string_view target);
  // Marks a node edited; the first edit of a node read from a record
  // counts that record as superseded.
  void MarkDirty(Node* node);
  // The bytes the node's record takes in the file (0: it has none there).
  static uint64_t FileBytesOf(const Node& node);
  Status Insert(Node* node, std::string_view key, std::string_view value,
                std::unique_ptr<Node>* split_right, std::string* split_key);
  Status Remove(Node* node, std::string_view key, bool* now_empty);
  Result<uint64_t> FlushNode(Node* node, NodeSink* out);

  // Copies bytes into the arena and returns a view that stays valid until
  // the writer drops its nodes (after Flush, or on destruction).
  std::string_view Keep(std::string_view bytes);

  const RecordSource* source_;
  uint64_t root_offset_;
  std::unique_ptr<Node> root_;  // loaded lazily; null until first edit
  // The bytes the loaded nodes' keys and values point into: each loaded
  // node's body, copied whole (a copy because a pending block the node was
  // read from may grow while the writer flushes), and every key, value and
  // separator edits added. Chunks of kArenaChunk bytes, filled in turn and
  // never moved, so views into them stay valid; bytes too large for a chunk
  // get a string of their own in big_.
  static constexpr size_t kArenaChunk = 16384;
  std::vector<std::unique_ptr<char[]>> chunks_;
  size_t chunk_used_ = kArenaChunk;  // in chunks_.back()
  std::deque<std::string> big_;
  std::string body_;  // FlushNode's scratch: the body being encoded
  // Bytes of the records that the edits since the last flush replace.
  uint64_t superseded_ = 0;
  EditLog* log_ = nullptr;
};

}  // namespace kvs

#endif  // KVS_STORE_BTREE_H_
