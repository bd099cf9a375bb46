// TreeBuilder: a tree written from scratch, bottom-up, from keys in
// ascending order (a compaction's trees, store/compaction.cc), in the node
// layout of store/btree.h.
#ifndef KVS_STORE_TREE_BUILDER_H_
#define KVS_STORE_TREE_BUILDER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kvs/status.h"
#include "store/btree.h"
#include "store/entries.h"
#include "store/record.h"

namespace kvs {

// Nodes written by trees built apart, by the SHA-256 of their type and
// body: a node alike to one written before is not written again but named
// where it is. A compaction rebuilds each branch's tree on its own, and
// branches mostly hold the same entries; so their rebuilt trees share what
// they have alike, as the copy-on-write trees they were rebuilt from did.
class WrittenNodes {
 public:
  // The offset of a node alike written before, else of the node appended
  // to out now (body in the fixed layout; AppendNode, store/btree.h).
  uint64_t Append(NodeSink* out, bool leaf, std::string_view body);
  // Nodes named again rather than written.
  uint64_t reused() const { return reused_; }

 private:
  std::unordered_map<Hash, uint64_t, HashHasher> offsets_;
  uint64_t reused_ = 0;
};

// A new tree written bottom-up from keys put in ascending order: each node
// is written once it is full, then its parent's entry added, so a build
// costs a copy of each entry and no search. Nodes fill as a TreeWriter's
// do when keys come in ascending order (whole, split before the entry that
// would pass the node size).
//
// Built to share (ShareAlike), a tree's nodes also end after each entry
// whose key's hash says so (about one in kLeafCutEvery, one in
// kInnerCutEvery in inner nodes). Where they end then depends on the keys
// near the end, not on all the keys before: two trees whose keys differ in
// one place end their nodes alike from the first such key on, and their
// nodes away from the difference are alike, byte for byte.
class TreeBuilder {
 public:
  static constexpr uint32_t kLeafCutEvery = 8;
  static constexpr uint32_t kInnerCutEvery = 16;

  // Nodes are written once their body would pass leaf_bytes (leaves) or
  // inner_bytes (inner nodes).
  explicit TreeBuilder(NodeSink* out, size_t leaf_bytes = kMaxNodeBytes,
                       size_t inner_bytes = kMaxInnerNodeBytes)
      : out_(out), leaf_bytes_(leaf_bytes), inner_bytes_(inner_bytes) {}
  // Ends nodes where their keys say as well, and writes through written:
  // trees built with the same written share the nodes they have alike.
  // Before the first Put.
  void ShareAlike(WrittenNodes* written) { written_ = written; }
  // InvalidArgument when key is not above the key put before.
  Status Put(std::string_view key, std::string_view value);
  // Writes the nodes not yet written; returns the root (0: no key put).
  Result<uint64_t> Finish();
  // The key put last; empty before the first.
  std::string_view last_key() const { return last_key_; }

 private:
  // The node being filled at one level of the tree.
  struct Level {
    std::string entries;           // encoded, back to back
    std::vector<uint32_t> starts;  // where each starts in entries
    std::string lead;              // the key leading to the node from the level above
    size_t bytes = kNodeFixed;     // the node's body size so far
    bool wrote_any = false;        // a node of this level is written
    bool cut = false;              // the node ends here (ShareAlike)
  };
  // Adds an entry to the node being filled at level (0: the leaves), first
  // writing that node when the entry would overfill it; lead is the key
  // that leads to the node the entry starts, in the level above.
  void Add(size_t level, std::string_view lead, std::string_view entry_key, std::string_view value,
           uint64_t child);
  // Writes the node being filled at level, and returns its offset.
  uint64_t Write(size_t level);

  NodeSink* out_;
  const size_t leaf_bytes_, inner_bytes_;
  WrittenNodes* written_ = nullptr;
  std::vector<Level> levels_;
  std::string last_key_;
  bool any_ = false;
  std::string body_;  // Write's scratch
};

}  // namespace kvs

#endif  // KVS_STORE_TREE_BUILDER_H_
