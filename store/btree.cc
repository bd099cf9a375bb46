#include "store/btree.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "store/coding.h"
#include "store/edit_log.h"
#include "store/format.h"
#include "store/node_arena.h"

namespace kvs {

std::string ShortestSeparator(std::string_view left, std::string_view right) {
  size_t i = 0;
  while (i < left.size() && i < right.size() && left[i] == right[i]) ++i;
  return std::string(right.substr(0, std::min(i + 1, right.size())));
}

// ---- Reading (nodes themselves: store/btree_node.cc) ----------------------

Result<std::string> TreeGet(const RecordSource& source, uint64_t root, std::string_view key) {
  uint64_t offset = root;
  while (offset != 0) {
    KVS_ASSIGN_OR_RETURN(NodeView node, NodeView::Read(source, offset));
    size_t i = node.Find(key);
    if (node.leaf()) {
      if (i < node.count() && node.key(i) == key) return std::string(node.value(i));
      break;
    }
    offset = node.child(i);
  }
  return Status::NotFound("no such tree key");
}

namespace {

// Whether the node at offset is in the tree at root. probe is a key inside
// the node's range (not its lower bound, which an ancestor's separator in
// another tree may exceed): every tree holding the node reaches it by probe.
Result<bool> TreeHoldsNode(const RecordSource& source, uint64_t root, uint64_t offset,
                           std::string_view probe) {
  for (uint64_t at = root; at != 0;) {
    if (at == offset) return true;
    KVS_ASSIGN_OR_RETURN(NodeView node, NodeView::Read(source, at));
    if (node.leaf()) break;
    at = node.child(node.Find(probe));
  }
  return false;
}

// A key inside the range of the node: a leaf's first key, or an inner
// node's second separator (its first is empty); through a single child.
Result<std::string> ProbeKey(const RecordSource& source, const NodeView& node) {
  if (node.leaf()) return std::string(node.key(0));
  if (node.count() >= 2) return std::string(node.key(1));
  KVS_ASSIGN_OR_RETURN(NodeView child, NodeView::Read(source, node.child(0)));
  return ProbeKey(source, child);
}

}  // namespace

Result<uint64_t> MaterializeTree(const RecordSource& source, uint64_t root, NodeSink* out,
                                 std::unordered_map<uint64_t, uint64_t>* written) {
  if (!IsVirtual(root)) return root;
  if (auto done = written->find(root); done != written->end()) return done->second;
  KVS_ASSIGN_OR_RETURN(NodeView node, NodeView::Read(source, root));
  // Nodes in memory keep the fixed layout (NodeArena asks for no other).
  if (node.compact()) return Status::Corruption("a compact node in memory");
  std::string body(node.body());
  if (!node.leaf()) {
    // Children first; each entry's child offset is patched in place.
    for (size_t i = 0; i < node.count(); ++i) {
      KVS_ASSIGN_OR_RETURN(uint64_t child, MaterializeTree(source, node.child(i), out, written));
      size_t at = DecodeFixed32(body.data() + kNodeFixed + 4 * i);
      EncodeFixed64(body.data() + at + 2, child);
    }
  }
  const uint64_t offset = AppendNode(out, node.leaf(), body).offset;
  written->emplace(root, offset);
  return offset;
}

Result<uint64_t> InMemoryBytes(const RecordSource& source, uint64_t root, bool compact) {
  if (!IsVirtual(root)) return uint64_t{0};
  KVS_ASSIGN_OR_RETURN(NodeView node, NodeView::Read(source, root));
  uint64_t bytes = RecordFileBytes(AppendedNodeBytes(node, compact));
  for (size_t i = 0; !node.leaf() && i < node.count(); ++i) {
    KVS_ASSIGN_OR_RETURN(uint64_t child, InMemoryBytes(source, node.child(i), compact));
    bytes += child;
  }
  return bytes;
}

Result<uint64_t> UnsharedBytes(const RecordSource& source, uint64_t root,
                               const std::vector<uint64_t>& others) {
  if (root == 0) return uint64_t{0};
  KVS_ASSIGN_OR_RETURN(NodeView node, NodeView::Read(source, root));
  // A node in memory (store/node_arena.h) has no bytes in the file; its
  // subtree may.
  const uint64_t own = IsVirtual(root) ? 0 : RecordFileBytes(node.body().size());
  if (node.leaf() && node.count() == 0) return own;
  KVS_ASSIGN_OR_RETURN(std::string probe, ProbeKey(source, node));
  for (uint64_t other : others) {
    KVS_ASSIGN_OR_RETURN(bool shared, TreeHoldsNode(source, other, root, probe));
    if (shared) return uint64_t{0};
  }
  uint64_t bytes = own;
  if (!node.leaf()) {
    for (size_t i = 0; i < node.count(); ++i) {
      KVS_ASSIGN_OR_RETURN(uint64_t below, UnsharedBytes(source, node.child(i), others));
      bytes += below;
    }
  }
  return bytes;
}

// ---- Cursor -------------------------------------------------------------

Status TreeCursor::Seek(std::string_view target) {
  stack_.clear();
  uint64_t offset = root_;
  while (offset != 0) {
    KVS_ASSIGN_OR_RETURN(NodeView node, NodeView::Read(*source_, offset));
    size_t i = node.Find(target);
    stack_.push_back({node, offset, i});
    if (node.leaf()) break;
    offset = node.child(i);
  }
  if (!stack_.empty() && stack_.back().index >= stack_.back().node.count()) return Advance();
  return Status::OK();
}

Status TreeCursor::DescendLeftmost(uint64_t offset) {
  while (true) {
    KVS_ASSIGN_OR_RETURN(NodeView node, NodeView::Read(*source_, offset));
    stack_.push_back({node, offset, 0});
    if (node.leaf()) {
      return node.count() == 0 ? Advance() : Status::OK();
    }
    offset = node.child(0);
  }
}

Status TreeCursor::Advance() {
  // Pop exhausted frames; the leaf frame on top has index == count.
  stack_.pop_back();
  while (!stack_.empty()) {
    Frame& f = stack_.back();
    if (++f.index < f.node.count()) return DescendLeftmost(f.node.child(f.index));
    stack_.pop_back();
  }
  return Status::OK();
}

Status TreeCursor::Next() {
  Frame& leaf = stack_.back();
  if (++leaf.index < leaf.node.count()) return Status::OK();
  return Advance();
}

// ---- Diff ---------------------------------------------------------------

// Walks two cursors in step. A cursor may stand before a subtree it has not
// read yet ("pending": its top frame is an inner node, and the cursor is at
// the start of that node's child at index). Whenever both cursors stand at
// the start of subtrees with the same offset (a pending child, or a node
// already read whose first entry is where the cursor stands), the subtree is
// identical on both sides and both cursors jump past it without reading it.
// Otherwise pending cursors read one more level and the search repeats; only
// cursors on leaf entries compare keys. So the walk reads the paths to the
// differences and the nodes bordering them, not the shared siblings.
class TreeDiffer {
 public:
  // Skips the largest subtree both cursors stand at the start of, if any.
  static bool SkipShared(TreeCursor* a, TreeCursor* b) {
    for (size_t i = FirstStart(*a); i < EndOfStarts(*a); ++i) {
      for (size_t j = FirstStart(*b); j < EndOfStarts(*b); ++j) {
        if (StartOffset(*a, i) != StartOffset(*b, j)) continue;
        SkipPast(a, i);
        SkipPast(b, j);
        return true;
      }
    }
    return false;
  }
  static bool Pending(const TreeCursor& c) {
    return !c.stack_.empty() && !c.stack_.back().node.leaf();
  }
  // Reads the node a pending cursor stands before.
  static Status DescendOne(TreeCursor* c) {
    const TreeCursor::Frame& top = c->stack_.back();
    uint64_t offset = top.node.child(top.index);
    KVS_ASSIGN_OR_RETURN(NodeView node, NodeView::Read(*c->source_, offset));
    c->stack_.push_back({node, offset, 0});
    if (node.leaf() && node.count() == 0) PopAndStep(c);
    return Status::OK();
  }
  // Moves a cursor on a leaf entry to the next entry, or before the next
  // subtree (pending), reading nothing.
  static void Next(TreeCursor* c) {
    TreeCursor::Frame& leaf = c->stack_.back();
    if (++leaf.index < leaf.node.count()) return;
    PopAndStep(c);
  }

 private:
  // The subtrees that start where a cursor stands are numbered from
  // FirstStart (the largest) to EndOfStarts: start i < stack size is frame
  // i's node, which qualifies if it and every frame below it have index 0;
  // start i == stack size is the child a pending cursor stands before.
  static size_t FirstStart(const TreeCursor& c) {
    size_t k = c.stack_.size();
    while (k > 0 && c.stack_[k - 1].index == 0) --k;
    return k;
  }
  static size_t EndOfStarts(const TreeCursor& c) { return c.stack_.size() + (Pending(c) ? 1 : 0); }
  static uint64_t StartOffset(const TreeCursor& c, size_t i) {
    if (i < c.stack_.size()) return c.stack_[i].offset;
    return c.stack_.back().node.child(c.stack_.back().index);
  }
  static void SkipPast(TreeCursor* c, size_t start) {
    if (start == c->stack_.size()) {
      if (++c->stack_.back().index < c->stack_.back().node.count()) return;
    } else {
      c->stack_.resize(start + 1);
    }
    PopAndStep(c);
  }
  // Pops the top frame (done with), then moves up until some frame has a
  // next child; the cursor then stands before it, pending, or is exhausted.
  static void PopAndStep(TreeCursor* c) {
    c->stack_.pop_back();
    while (!c->stack_.empty()) {
      if (++c->stack_.back().index < c->stack_.back().node.count()) return;
      c->stack_.pop_back();
    }
  }
};

Status TreeDiff(const RecordSource& source, uint64_t root_a, uint64_t root_b,
                std::string_view begin, std::string_view end,
                const std::function<Status(std::string_view, std::optional<std::string_view>,
                                           std::optional<std::string_view>)>& visit) {
  if (root_a == root_b) return Status::OK();
  TreeCursor a(&source, root_a), b(&source, root_b);
  KVS_RETURN_IF_ERROR(a.Seek(begin));
  KVS_RETURN_IF_ERROR(b.Seek(begin));
  auto in_range = [&](const TreeCursor& c) { return c.Valid() && (end.empty() || c.key() < end); };
  while (a.Valid() || b.Valid()) {
    if (a.Valid() && b.Valid() && TreeDiffer::SkipShared(&a, &b)) continue;
    // Keys are needed: pending cursors read one level, then look for shared
    // subtrees again.
    bool a_pending = TreeDiffer::Pending(a), b_pending = TreeDiffer::Pending(b);
    if (a_pending || b_pending) {
      if (a_pending) KVS_RETURN_IF_ERROR(TreeDiffer::DescendOne(&a));
      if (b_pending) KVS_RETURN_IF_ERROR(TreeDiffer::DescendOne(&b));
      continue;
    }
    bool a_in = in_range(a), b_in = in_range(b);
    if (!a_in && !b_in) break;
    if (a_in && (!b_in || a.key() < b.key())) {
      KVS_RETURN_IF_ERROR(visit(a.key(), a.value(), std::nullopt));
      TreeDiffer::Next(&a);
    } else if (b_in && (!a_in || b.key() < a.key())) {
      KVS_RETURN_IF_ERROR(visit(b.key(), std::nullopt, b.value()));
      TreeDiffer::Next(&b);
    } else {
      if (a.value() != b.value()) KVS_RETURN_IF_ERROR(visit(a.key(), a.value(), b.value()));
      TreeDiffer::Next(&a);
      TreeDiffer::Next(&b);
    }
  }
  return Status::OK();
}

// ---- Writer -------------------------------------------------------------

// An editable node. A loaded node keeps its file offset until edited
// (dirty); inner nodes hold their children's offsets and, once a child is
// loaded, the child itself.
struct TreeWriter::Node {
  bool leaf = true;
  bool dirty = false;
  uint64_t offset = 0;
  uint64_t record_bytes = 0;  // of the record at offset, padding included
  // Views into the writer's arena_ (or, for an inner node's entry 0, empty).
  std::vector<std::string_view> keys;
  std::vector<std::string_view> values;         // leaf
  std::vector<uint64_t> child_offsets;          // inner
  std::vector<std::unique_ptr<Node>> children;  // inner; null until loaded
  size_t bytes = kNodeFixed;                    // serialized body size

  size_t EntryBytes(size_t i) const {
    return NodeEntryBytes(leaf, keys[i].size(), leaf ? values[i].size() : 0);
  }
  void Recount() {
    bytes = kNodeFixed;
    for (size_t i = 0; i < keys.size(); ++i) bytes += EntryBytes(i);
  }
};

// Bounds on the spares a thread keeps: about what a group commit's global
// tree and a branch tree load.
constexpr size_t kMaxSpareNodes = 1024;
constexpr size_t kMaxSpareChunks = 16;

struct TreeWriter::Spares {
  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<std::unique_ptr<char[]>> chunks;
};

TreeWriter::Spares& TreeWriter::ThreadSpares() {
  thread_local Spares spares;
  return spares;
}

std::unique_ptr<TreeWriter::Node> TreeWriter::NewNode() {
  std::vector<std::unique_ptr<Node>>& nodes = ThreadSpares().nodes;
  if (nodes.empty()) return std::make_unique<Node>();
  std::unique_ptr<Node> node = std::move(nodes.back());
  nodes.pop_back();
  return node;
}

void TreeWriter::Recycle(std::unique_ptr<Node> node) {
  if (!node) return;
  for (std::unique_ptr<Node>& child : node->children) Recycle(std::move(child));
  std::vector<std::unique_ptr<Node>>& nodes = ThreadSpares().nodes;
  if (nodes.size() >= kMaxSpareNodes) return;
  // Cleared, the vectors keep their capacity for the next use.
  node->leaf = true;
  node->dirty = false;
  node->offset = 0;
  node->record_bytes = 0;
  node->keys.clear();
  node->values.clear();
  node->child_offsets.clear();
  node->children.clear();
  node->bytes = kNodeFixed;
  nodes.push_back(std::move(node));
}

void TreeWriter::DropNodes() {
  Recycle(std::move(root_));
  std::vector<std::unique_ptr<char[]>>& spare = ThreadSpares().chunks;
  for (std::unique_ptr<char[]>& chunk : chunks_) {
    if (spare.size() < kMaxSpareChunks) spare.push_back(std::move(chunk));
  }
  chunks_.clear();
  chunk_used_ = kArenaChunk;
  big_.clear();
}

TreeWriter::TreeWriter(const RecordSource* source, uint64_t root)
    : source_(source), root_offset_(root) {}
TreeWriter::~TreeWriter() { DropNodes(); }

size_t TreeWriter::held_bytes() const {
  size_t bytes = chunks_.size() * kArenaChunk;
  for (const std::string& b : big_) bytes += b.size();
  return bytes;
}

Result<std::unique_ptr<TreeWriter::Node>> TreeWriter::Load(uint64_t offset) {
  KVS_ASSIGN_OR_RETURN(NodeView view, NodeView::Read(*source_, offset));
  std::unique_ptr<Node> node = NewNode();
  node->leaf = view.leaf();
  node->offset = offset;
  node->record_bytes = RecordFileBytes(view.body().size());
  std::string_view body = Keep(view.body());
  // The same bytes at the same place in the copy.
  auto in_copy = [&](std::string_view v) {
    return body.substr(static_cast<size_t>(v.data() - view.body().data()), v.size());
  };
  node->keys.reserve(view.count());
  if (view.leaf()) {
    node->values.reserve(view.count());
  } else {
    node->child_offsets.reserve(view.count());
    node->children.reserve(view.count());
  }
  for (size_t i = 0; i < view.count(); ++i) {
    node->keys.push_back(in_copy(view.key(i)));
    if (view.leaf()) {
      node->values.push_back(in_copy(view.value(i)));
    } else {
      node->child_offsets.push_back(view.child(i));
      node->children.emplace_back();
    }
  }
  node->Recount();
  return node;
}

std::string_view TreeWriter::Keep(std::string_view bytes) {
  if (bytes.empty()) return std::string_view();
  if (bytes.size() > kArenaChunk / 4) return big_.emplace_back(bytes);
  if (chunk_used_ + bytes.size() > kArenaChunk) {
    std::vector<std::unique_ptr<char[]>>& spare = ThreadSpares().chunks;
    if (spare.empty()) {
      chunks_.push_back(std::make_unique_for_overwrite<char[]>(kArenaChunk));
    } else {
      chunks_.push_back(std::move(spare.back()));
      spare.pop_back();
    }
    chunk_used_ = 0;
  }
  char* at = chunks_.back().get() + chunk_used_;
  std::memcpy(at, bytes.data(), bytes.size());
  chunk_used_ += bytes.size();
  return std::string_view(at, bytes.size());
}

Result<TreeWriter::Node*> TreeWriter::Root() {
  if (!root_) {
    if (root_offset_ == 0) {
      root_ = NewNode();
    } else {
      KVS_ASSIGN_OR_RETURN(root_, Load(root_offset_));
    }
  }
  return root_.get();
}

Result<TreeWriter::Node*> TreeWriter::LoadChild(Node* parent, size_t i) {
  if (!parent->children[i]) {
    KVS_ASSIGN_OR_RETURN(parent->children[i], Load(parent->child_offsets[i]));
  }
  return parent->children[i].get();
}

namespace {

// Index of the child of an inner node whose range holds key.
size_t ChildIndex(const std::vector<std::string_view>& keys, std::string_view key) {
  auto it = std::upper_bound(keys.begin() + 1, keys.end(), key);
  return static_cast<size_t>(it - keys.begin()) - 1;
}

}  // namespace

void TreeWriter::MarkDirty(Node* node) {
  if (!node->dirty) superseded_ += FileBytesOf(*node);
  node->dirty = true;
}

uint64_t TreeWriter::FileBytesOf(const Node& node) {
  // A new node has no record, and one in memory (store/node_arena.h) none
  // in the file.
  return node.offset == 0 || IsVirtual(node.offset) ? 0 : node.record_bytes;
}

Status TreeWriter::Insert(Node* node, std::string_view key, std::string_view value,
                          std::unique_ptr<Node>* split_right, std::string* split_key) {
  MarkDirty(node);
  bool appended = false;  // the new entry is the node's last
  if (node->leaf) {
    auto it = std::lower_bound(node->keys.begin(), node->keys.end(), key);
    size_t i = static_cast<size_t>(it - node->keys.begin());
    if (it != node->keys.end() && *it == key) {
      node->bytes += value.size();
      node->bytes -= node->values[i].size();
      node->values[i] = Keep(value);
    } else {
      node->keys.insert(it, Keep(key));
      node->values.insert(node->values.begin() + i, Keep(value));
      node->bytes += node->EntryBytes(i);
      appended = i + 1 == node->keys.size();
    }
  } else {
    size_t i = ChildIndex(node->keys, key);
    KVS_ASSIGN_OR_RETURN(Node * child, LoadChild(node, i));
    std::unique_ptr<Node> right;
    std::string sep;
    KVS_RETURN_IF_ERROR(Insert(child, key, value, &right, &sep));
    if (right) {
      node->keys.insert(node->keys.begin() + i + 1, Keep(sep));
      node->child_offsets.insert(node->child_offsets.begin() + i + 1, 0);
      node->children.insert(node->children.begin() + i + 1, std::move(right));
      node->bytes += node->EntryBytes(i + 1);
      appended = i + 2 == node->keys.size();
    }
  }
  if (node->bytes <= (node->leaf ? kMaxNodeBytes : kMaxInnerNodeBytes) ||
      node->keys.size() < (node->leaf ? 2u : 4u)) {
    return Status::OK();
  }
  // Split at the byte midpoint; but after an append, keep the left node
  // full: keys that arrive in ascending order (revisions, a compaction's
  // rebuild) then fill whole nodes instead of leaving halves behind.
  size_t half = 0, acc = kNodeFixed;
  while (half < node->keys.size() - 1 && acc < node->bytes / 2) acc += node->EntryBytes(half++);
  // Each side keeps at least one entry; an inner node keeps two, so long
  // separators cannot stack up chains of single-child nodes.
  size_t least = node->leaf ? 1 : 2;
  if (appended) half = node->keys.size() - least;
  half = std::clamp(half, least, node->keys.size() - least);
  std::unique_ptr<Node> right = NewNode();
  right->leaf = node->leaf;
  right->dirty = true;
  right->keys.assign(std::make_move_iterator(node->keys.begin() + half),
                     std::make_move_iterator(node->keys.end()));
  node->keys.resize(half);
  if (node->leaf) {
    right->values.assign(std::make_move_iterator(node->values.begin() + half),
                         std::make_move_iterator(node->values.end()));
    node->values.resize(half);
    *split_key = ShortestSeparator(node->keys.back(), right->keys.front());
  } else {
    right->child_offsets.assign(node->child_offsets.begin() + half, node->child_offsets.end());
    right->children.assign(std::make_move_iterator(node->children.begin() + half),
                           std::make_move_iterator(node->children.end()));
    node->child_offsets.resize(half);
    node->children.resize(half);
    *split_key = right->keys.front();
    right->keys.front() = {};  // entry 0 of an inner node means "from the start"
  }
  node->Recount();
  right->Recount();
  *split_right = std::move(right);
  return Status::OK();
}

Status TreeWriter::Put(std::string_view key, std::string_view value) {
  if (key.size() > kMaxTreeKeyBytes) return Status::InvalidArgument("tree key too long");
  KVS_ASSIGN_OR_RETURN(Node * root, Root());
  std::unique_ptr<Node> right;
  std::string sep;
  KVS_RETURN_IF_ERROR(Insert(root, key, value, &right, &sep));
  if (right) {
    std::unique_ptr<Node> new_root = NewNode();
    new_root->leaf = false;
    new_root->dirty = true;
    new_root->keys = {std::string_view(), Keep(sep)};
    new_root->child_offsets = {0, 0};
    new_root->children.push_back(std::move(root_));
    new_root->children.push_back(std::move(right));
    new_root->Recount();
    root_ = std::move(new_root);
  }
  if (log_ != nullptr) log_->Put(key, value);
  return Status::OK();
}

Status TreeWriter::Remove(Node* node, std::string_view key, bool* now_empty) {
  *now_empty = false;
  if (node->leaf) {
    auto it = std::lower_bound(node->keys.begin(), node->keys.end(), key);
    if (it == node->keys.end() || *it != key) return Status::OK();
    size_t i = static_cast<size_t>(it - node->keys.begin());
    MarkDirty(node);
    node->bytes -= node->EntryBytes(i);
    node->keys.erase(it);
    node->values.erase(node->values.begin() + i);
    *now_empty = node->keys.empty();
    return Status::OK();
  }
  size_t i = ChildIndex(node->keys, key);
  KVS_ASSIGN_OR_RETURN(Node * child, LoadChild(node, i));
  bool child_empty;
  KVS_RETURN_IF_ERROR(Remove(child, key, &child_empty));
  if (child->dirty) MarkDirty(node);
  if (child_empty) {
    // Underfull nodes are left as they are (compaction rewrites them);
    // only empty ones are removed, so no node is ever left without entries.
    node->bytes -= node->EntryBytes(i);
    node->keys.erase(node->keys.begin() + i);
    node->child_offsets.erase(node->child_offsets.begin() + i);
    node->children.erase(node->children.begin() + i);
    if (!node->keys.empty()) node->keys.front() = {};
    node->Recount();
    *now_empty = node->keys.empty();
  }
  return Status::OK();
}

Status TreeWriter::Delete(std::string_view key) {
  KVS_ASSIGN_OR_RETURN(Node * root, Root());
  bool empty;
  KVS_RETURN_IF_ERROR(Remove(root, key, &empty));
  if (empty) {
    Recycle(std::move(root_));
    root_ = NewNode();
    root_->dirty = true;
  }
  // Collapse inner roots with a single child.
  while (!root_->leaf && root_->keys.size() == 1) {
    KVS_ASSIGN_OR_RETURN(Node * only, LoadChild(root_.get(), 0));
    (void)only;
    bool was_dirty = root_->dirty;
    // The old root's record is left behind (counted already when dirty).
    if (!was_dirty) superseded_ += FileBytesOf(*root_);
    std::unique_ptr<Node> child = std::move(root_->children[0]);
    root_ = std::move(child);
    if (was_dirty) MarkDirty(root_.get());
  }
  if (log_ != nullptr) log_->Delete(key);
  return Status::OK();
}

Result<std::string> TreeWriter::Get(std::string_view key) {
  if (!root_) return TreeGet(*source_, root_offset_, key);
  Node* node = root_.get();
  while (!node->leaf) {
    size_t i = ChildIndex(node->keys, key);
    if (!node->children[i]) return TreeGet(*source_, node->child_offsets[i], key);
    node = node->children[i].get();
  }
  auto it = std::lower_bound(node->keys.begin(), node->keys.end(), key);
  if (it == node->keys.end() || *it != key) return Status::NotFound("no such tree key");
  return std::string(node->values[static_cast<size_t>(it - node->keys.begin())]);
}

Result<std::optional<TreeWriter::Entry>> TreeWriter::Seek(std::string_view target) {
  KVS_ASSIGN_OR_RETURN(Node * root, Root());
  return SeekIn(root, target);
}

Result<std::optional<TreeWriter::Entry>> TreeWriter::SeekIn(Node* node, std::string_view target) {
  if (node->leaf) {
    auto it = std::lower_bound(node->keys.begin(), node->keys.end(), target);
    if (it == node->keys.end()) return std::optional<Entry>();
    const size_t i = static_cast<size_t>(it - node->keys.begin());
    return std::optional<Entry>(Entry{node->keys[i], node->values[i]});
  }
  // In the child whose range holds target, else first in the next one
  // (a leaf may have no entry left after target, or none at all).
  for (size_t i = ChildIndex(node->keys, target); i < node->keys.size(); ++i) {
    KVS_ASSIGN_OR_RETURN(Node * child, LoadChild(node, i));
    KVS_ASSIGN_OR_RETURN(std::optional<Entry> found, SeekIn(child, target));
    if (found) return found;
  }
  return std::optional<Entry>();
}

bool TreeWriter::changed() const { return root_ && root_->dirty; }

Result<uint64_t> TreeWriter::FlushNode(Node* node, NodeSink* out) {
  if (!node->dirty) return node->offset;
  // Children first: the body below needs their new offsets.
  if (!node->leaf) {
    for (size_t i = 0; i < node->keys.size(); ++i) {
      if (node->children[i]) {
        KVS_ASSIGN_OR_RETURN(node->child_offsets[i], FlushNode(node->children[i].get(), out));
      }
    }
  }
  // Written in place at the size every edit keeps: this runs for every
  // node a transaction changes.
  const size_t count = node->keys.size();
  const size_t size = node->bytes;
  std::string& body = body_;
  body.resize(size);  // every byte is written below
  char* const start = body.data();
  EncodeFixed16(start, static_cast<uint16_t>(count));
  std::memset(start + 2, 0, kNodeFixed - 2);
  char* at = start + kNodeFixed + 4 * count;
  auto copy = [&at](std::string_view bytes) {
    if (!bytes.empty()) std::memcpy(at, bytes.data(), bytes.size());
    at += bytes.size();
  };
  for (size_t i = 0; i < count; ++i) {
    EncodeFixed32(start + kNodeFixed + 4 * i, static_cast<uint32_t>(at - start));
    EncodeFixed16(at, static_cast<uint16_t>(node->keys[i].size()));
    at += 2;
    if (node->leaf) {
      EncodeFixed32(at, static_cast<uint32_t>(node->values[i].size()));
      at += 4;
      copy(node->keys[i]);
      copy(node->values[i]);
    } else {
      EncodeFixed64(at, node->child_offsets[i]);
      at += 8;
      copy(node->keys[i]);
    }
  }
  if (at != start + size) std::abort();  // a node's bytes out of step with its entries
  const AppendedNode appended = AppendNode(out, node->leaf, body);
  node->offset = appended.offset;
  node->record_bytes = RecordFileBytes(appended.body_size);
  node->dirty = false;
  return node->offset;
}

Result<uint64_t> TreeWriter::FlushAndKeep(NodeSink* out) {
  out->AddSuperseded(superseded_);
  superseded_ = 0;
  if (!root_) return root_offset_;
  if (root_->leaf && root_->keys.empty()) {
    DropNodes();
    root_offset_ = 0;
  } else {
    KVS_ASSIGN_OR_RETURN(root_offset_, FlushNode(root_.get(), out));
  }
  return root_offset_;
}

Result<uint64_t> TreeWriter::Flush(NodeSink* out) {
  KVS_ASSIGN_OR_RETURN(uint64_t root, FlushAndKeep(out));
  // The next edit reloads from the new root.
  DropNodes();
  return root;
}

}  // namespace kvs
