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
constexpr uint8_t kEditCopyBranch = 4;

// Whether a global tree value names nodes in memory: a branch entry's root.
bool NamesNodesInMemory(std::string_view key, std::string_view value) {
  if (key.empty() || key[0] != 'B') return false;
  Result<BranchEntry> entry = DecodeBranchEntry(value);
  return entry.ok() && IsVirtual(entry->root);
}

void PutLength(std::string* out, std::string_view bytes) {
  PutFixed32(out, static_cast<uint32_t>(bytes.size()));
}
}  // namespace

// ---- Writing -------------------------------------------------------------------

void EditLog::Put(std::string_view key, std::string_view value) {
  if (NamesNodesInMemory(key, value)) loggable_ = false;
  edits_.push_back(static_cast<char>(kEditPut));
  PutLength(&edits_, key);
  PutLength(&edits_, value);
  edits_.append(key);
  edits_.append(value);
  ++count_;
}

void EditLog::Delete(std::string_view key) {
  edits_.push_back(static_cast<char>(kEditDelete));
  PutLength(&edits_, key);
  edits_.append(key);
  ++count_;
}

void EditLog::PutBranch(std::string_view name, std::string_view entry,
                        const std::vector<std::pair<std::string, std::string>>& tree_puts) {
  edits_.push_back(static_cast<char>(kEditBranch));
  branch_edits_ = true;
  PutLength(&edits_, name);
  PutLength(&edits_, entry);
  PutFixed32(&edits_, static_cast<uint32_t>(tree_puts.size()));
  edits_.append(name);
  edits_.append(entry);
  for (const auto& [key, value] : tree_puts) {
    PutLength(&edits_, key);
    PutLength(&edits_, value);
    edits_.append(key);
    edits_.append(value);
  }
  ++count_;
}

void EditLog::CopyBranch(std::string_view name, std::string_view entry, std::string_view source) {
  edits_.push_back(static_cast<char>(kEditCopyBranch));
  branch_edits_ = true;
  PutLength(&edits_, name);
  PutLength(&edits_, entry);
  PutLength(&edits_, source);
  edits_.append(name);
  edits_.append(entry);
  edits_.append(source);
  ++count_;
}

void EditLog::Clear() {
  edits_.clear();
  count_ = 0;
  loggable_ = true;
  branch_edits_ = false;
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

Status PutUnlogged(TreeWriter* tree, std::string_view key, std::string_view value) {
  EditLog* log = tree->log();
  tree->set_log(nullptr);
  Status put = tree->Put(key, value);
  tree->set_log(log);
  return put;
}

// ---- Replaying -----------------------------------------------------------------

struct EditReplay::OpenBranch {
  OpenBranch(const RecordSource* source, uint64_t root, BranchEntry entry)
      : tree(source, root), entry(entry) {}
  TreeWriter tree;
  BranchEntry entry;
};

EditReplay::EditReplay(TreeWriter* tree, const RecordSource* source, NodeSink* branch_nodes)
    : tree_(tree), source_(source), branch_nodes_(branch_nodes) {}

EditReplay::~EditReplay() = default;

Status EditReplay::Put(std::string_view key, std::string_view value) {
  KVS_RETURN_IF_ERROR(Settle(key));
  return tree_->Put(key, value);
}

Status EditReplay::Delete(std::string_view key) {
  KVS_RETURN_IF_ERROR(Settle(key));
  return tree_->Delete(key);
}

Status EditReplay::PutBranch(
    std::string_view name, std::string_view entry,
    const std::vector<std::pair<std::string_view, std::string_view>>& tree_puts) {
  KVS_ASSIGN_OR_RETURN(BranchEntry next, DecodeBranchEntry(entry));
  const std::string key = gkey::Branch(name);
  auto it = open_.find(key);
  if (it == open_.end()) {
    KVS_ASSIGN_OR_RETURN(uint64_t root, SettledRoot(key));
    it = open_.emplace(key, std::make_unique<OpenBranch>(source_, root, next)).first;
  }
  for (const auto& [k, v] : tree_puts) KVS_RETURN_IF_ERROR(it->second->tree.Put(k, v));
  it->second->entry = next;
  return Status::OK();
}

Status EditReplay::CopyBranch(std::string_view name, std::string_view entry,
                              std::string_view source) {
  KVS_ASSIGN_OR_RETURN(BranchEntry next, DecodeBranchEntry(entry));
  const std::string key = gkey::Branch(name);
  KVS_RETURN_IF_ERROR(Settle(key));
  KVS_ASSIGN_OR_RETURN(next.root, SettledRoot(gkey::Branch(source)));
  return tree_->Put(key, EncodeBranchEntry(next));
}

Status EditReplay::Finish() {
  while (!open_.empty()) KVS_RETURN_IF_ERROR(Settle(open_.begin()->first));
  return Status::OK();
}

Status EditReplay::Settle(std::string_view key) {
  auto it = open_.find(key);
  if (it == open_.end()) return Status::OK();
  const std::string settled = it->first;  // key may be a view of it
  std::unique_ptr<OpenBranch> open = std::move(it->second);
  open_.erase(it);
  KVS_ASSIGN_OR_RETURN(open->entry.root, open->tree.Flush(branch_nodes_));
  return tree_->Put(settled, EncodeBranchEntry(open->entry));
}

Result<uint64_t> EditReplay::SettledRoot(std::string_view key) {
  KVS_RETURN_IF_ERROR(Settle(key));
  Result<std::string> entry = tree_->Get(key);
  if (entry.status().IsNotFound()) return uint64_t{0};  // a new branch starts empty
  if (!entry.ok()) return entry.status();
  KVS_ASSIGN_OR_RETURN(BranchEntry e, DecodeBranchEntry(*entry));
  return e.root;
}

Result<size_t> ApplyEdits(std::string_view body, EditReplay* replay) {
  auto bad = [] { return Status::Corruption("an edit record does not parse"); };
  if (body.size() < 16) return bad();
  Decoder d(body.substr(0, body.size() - 8));
  uint32_t count = d.U32();
  d.U32();
  std::vector<std::pair<std::string_view, std::string_view>> puts;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t op = d.U8();
    const uint32_t key_length = d.U32();
    Status applied;
    if (op == kEditPut) {
      uint32_t value_length = d.U32();
      std::string_view key = d.Bytes(key_length);
      std::string_view value = d.Bytes(value_length);
      if (!d.ok()) return bad();
      if (replay != nullptr) applied = replay->Put(key, value);
    } else if (op == kEditDelete) {
      std::string_view key = d.Bytes(key_length);
      if (!d.ok()) return bad();
      if (replay != nullptr) applied = replay->Delete(key);
    } else if (op == kEditBranch) {
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
      if (replay != nullptr) applied = replay->PutBranch(name, entry, puts);
    } else if (op == kEditCopyBranch) {
      uint32_t entry_length = d.U32();
      uint32_t source_length = d.U32();
      std::string_view name = d.Bytes(key_length);
      std::string_view entry = d.Bytes(entry_length);
      std::string_view source = d.Bytes(source_length);
      if (!d.ok()) return bad();
      if (replay != nullptr) applied = replay->CopyBranch(name, entry, source);
    } else {
      return bad();
    }
    KVS_RETURN_IF_ERROR(applied);
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
