#include "store/edit_log.h"

#include "store/btree.h"
#include "store/coding.h"
#include "store/entries.h"
#include "store/format.h"
#include "store/node_arena.h"

namespace kvs {

using namespace format;

namespace {
constexpr uint8_t kEditPut = 1;
constexpr uint8_t kEditDelete = 2;
constexpr uint8_t kEditBranch = 3;

// Whether a global tree value names nodes in memory: a branch entry's root.
bool NamesNodesInMemory(std::string_view key, std::string_view value) {
  if (key.empty() || key[0] != 'B') return false;
  Result<BranchEntry> entry = DecodeBranchEntry(value);
  return entry.ok() && IsVirtual(entry->root);
}

// Op 3 applied: the branch's tree as tree holds its entry, the puts, then
// the entry with the root they made.
Status ApplyBranchEdit(std::string_view name, std::string_view entry,
                       const std::vector<std::pair<std::string_view, std::string_view>>& puts,
                       TreeWriter* tree, const RecordSource* source, NodeSink* branch_nodes) {
  KVS_ASSIGN_OR_RETURN(BranchEntry next, DecodeBranchEntry(entry));
  const std::string key = gkey::Branch(name);
  uint64_t root = 0;
  Result<std::string> was = tree->Get(key);
  if (was.ok()) {
    KVS_ASSIGN_OR_RETURN(BranchEntry e, DecodeBranchEntry(*was));
    root = e.root;
  } else if (!was.status().IsNotFound()) {
    return was.status();
  }
  if (source == nullptr || branch_nodes == nullptr) {
    return Status::Corruption("an edit record edits a branch tree where none can be built");
  }
  TreeWriter branch(source, root);
  for (const auto& [k, v] : puts) KVS_RETURN_IF_ERROR(branch.Put(k, v));
  KVS_ASSIGN_OR_RETURN(next.root, branch.Flush(branch_nodes));
  return tree->Put(key, EncodeBranchEntry(next));
}
}  // namespace

void EditLog::Put(std::string_view key, std::string_view value) {
  if (NamesNodesInMemory(key, value)) loggable_ = false;
  edits_.push_back(static_cast<char>(kEditPut));
  PutFixed32(&edits_, static_cast<uint32_t>(key.size()));
  PutFixed32(&edits_, static_cast<uint32_t>(value.size()));
  edits_.append(key);
  edits_.append(value);
  ++count_;
}

void EditLog::Delete(std::string_view key) {
  edits_.push_back(static_cast<char>(kEditDelete));
  PutFixed32(&edits_, static_cast<uint32_t>(key.size()));
  edits_.append(key);
  ++count_;
}

void EditLog::PutBranch(std::string_view name, std::string_view entry,
                        const std::vector<std::pair<std::string, std::string>>& tree_puts) {
  edits_.push_back(static_cast<char>(kEditBranch));
  PutFixed32(&edits_, static_cast<uint32_t>(name.size()));
  PutFixed32(&edits_, static_cast<uint32_t>(entry.size()));
  PutFixed32(&edits_, static_cast<uint32_t>(tree_puts.size()));
  edits_.append(name);
  edits_.append(entry);
  for (const auto& [key, value] : tree_puts) {
    PutFixed32(&edits_, static_cast<uint32_t>(key.size()));
    PutFixed32(&edits_, static_cast<uint32_t>(value.size()));
    edits_.append(key);
    edits_.append(value);
  }
  ++count_;
}

void EditLog::Clear() {
  edits_.clear();
  count_ = 0;
  loggable_ = true;
}

std::string EditLog::Encode() const {
  std::string body;
  body.reserve(edits_.size() + 24);
  PutFixed32(&body, count_);
  PutFixed32(&body, 0);
  body.append(edits_);
  // Header and body together a multiple of kRecordAlign, size last.
  while ((kRecordHeaderSize + body.size() + 8) % kRecordAlign != 0) body.push_back('\0');
  PutFixed64(&body, kRecordHeaderSize + body.size() + 8);
  return body;
}

Result<size_t> ApplyEdits(std::string_view body, TreeWriter* tree, const RecordSource* source,
                          NodeSink* branch_nodes) {
  auto bad = [] { return Status::Corruption("an edit record does not parse"); };
  if (body.size() < 16) return bad();
  Decoder d(body.substr(0, body.size() - 8));
  uint32_t count = d.U32();
  d.U32();
  std::vector<std::pair<std::string_view, std::string_view>> puts;
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t op = d.U8();
    uint32_t key_length = d.U32();
    if (op == kEditBranch) {
      uint32_t entry_length = d.U32();
      uint32_t put_count = d.U32();
      std::string_view name = d.Bytes(key_length);
      std::string_view entry = d.Bytes(entry_length);
      puts.clear();
      for (uint32_t j = 0; j < put_count && d.ok(); ++j) {
        uint32_t k = d.U32(), v = d.U32();
        std::string_view key = d.Bytes(k);
        puts.emplace_back(key, d.Bytes(v));
      }
      if (!d.ok()) return bad();
      if (tree != nullptr) {
        KVS_RETURN_IF_ERROR(ApplyBranchEdit(name, entry, puts, tree, source, branch_nodes));
      }
    } else if (op == kEditPut) {
      uint32_t value_length = d.U32();
      std::string_view key = d.Bytes(key_length);
      std::string_view value = d.Bytes(value_length);
      if (!d.ok()) return bad();
      if (tree != nullptr) KVS_RETURN_IF_ERROR(tree->Put(key, value));
    } else if (op == kEditDelete) {
      std::string_view key = d.Bytes(key_length);
      if (!d.ok()) return bad();
      if (tree != nullptr) KVS_RETURN_IF_ERROR(tree->Delete(key));
    } else {
      return bad();
    }
  }
  if (!d.ok()) return bad();
  while (d.remaining() > 0) {
    if (d.U8() != 0) return bad();
  }
  return size_t{count};
}

Result<std::string_view> ReadEditRecord(const Snapshot& snap, const CommitPoint& block) {
  auto bad = [&] {
    return Status::Corruption("the logged block at offset " + std::to_string(block.block) +
                              " has no edit record");
  };
  const uint64_t payload_end = block.end - kTrailerSize;
  const uint64_t payload_start = block.block + kBlockHeaderSize;
  if (payload_end < payload_start + 8) return bad();
  KVS_ASSIGN_OR_RETURN(std::string_view size_bytes, snap.Bytes(payload_end - 8, 8));
  uint64_t size = DecodeFixed64(size_bytes.data());
  if (size < kRecordHeaderSize + 16 || size > payload_end - payload_start) return bad();
  KVS_ASSIGN_OR_RETURN(RecordView rec, snap.ReadRecord(payload_end - size));
  if (rec.type != kEditRecord || kRecordHeaderSize + rec.body.size() != size) return bad();
  return rec.body;
}

}  // namespace kvs
