#include "store/edit_log.h"

#include <cstring>
#include <optional>

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
constexpr uint8_t kEditRevision = 5;  // compact records only
constexpr uint32_t kFlagCompact = 1;
constexpr size_t kIdBytes = 32;
constexpr size_t kNoId = std::string_view::npos;
constexpr size_t kScannedIds = 16;  // EditLog::FindId
// Where a branch entry holds its head commit: after its root and head
// revision (EncodeBranchEntry).
constexpr size_t kHeadCommitAt = 16;

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

// What a field of a compact record holds, which says where its ids are.
enum class EditLog::Field {
  kPlain,        // a branch name, a branch tree key
  kKey,          // a global tree key: lead is its first byte
  kValue,        // an op 1 value: lead is its key's first byte
  kBranchEntry,  // an op 3 or 4 entry
  kKeyEntry,     // an op 3 value: a key entry (store/entries.h); lead is
                 // its first byte when it is a compact one
};

namespace {
using Field = EditLog::Field;

// Where the next id in a field of kind and size starts, at or after from
// (kNoId: none): in 'V', 'C', 'L' and 'T' keys, a branch entry's head
// commit and a key entry's heads. Writer and reader find the same places
// from the length and the lead byte alone.
//
// Whether a field's first byte is its lead, which the reader takes before
// asking for the field's first id: a global tree key's, and a compact key
// entry's (its head count).
bool LeadIsFirstByte(Field kind, size_t size) {
  return size > 0 &&
         (kind == Field::kKey || (kind == Field::kKeyEntry && IsCompactKeyEntrySize(size)));
}

size_t NextIdAt(Field kind, char lead, size_t size, size_t from) {
  auto at = [&](size_t p) { return p >= from && p + kIdBytes <= size ? p : kNoId; };
  switch (kind) {
    case Field::kKey:
      if ((lead == 'V' || lead == 'C') && size == 1 + kIdBytes) return at(1);
      if (lead == 'L' && size == 1 + 2 * kIdBytes) return from <= 1 ? 1 : at(1 + kIdBytes);
      if (lead == 'T' && size >= 2 + kIdBytes) return at(size - kIdBytes);
      return kNoId;
    case Field::kValue:
      return lead == 'B' && size == kBranchEntrySize ? at(kHeadCommitAt) : kNoId;
    case Field::kBranchEntry:
      return size == kBranchEntrySize ? at(kHeadCommitAt) : kNoId;
    case Field::kKeyEntry: {
      if (IsCompactKeyEntrySize(size)) {
        // count[1], then count ids.
        const size_t count = static_cast<uint8_t>(lead);
        const size_t next = from <= 1 ? 1 : 1 + (from - 1 + kIdBytes - 1) / kIdBytes * kIdBytes;
        return next < 1 + count * kIdBytes ? at(next) : kNoId;
      }
      if (size < kKeyEntryFixedSize + kHeadSize || (size - kKeyEntryFixedSize) % kHeadSize != 0) {
        return kNoId;
      }
      const size_t heads_from = from <= kKeyEntryFixedSize ? 0 : from - kKeyEntryFixedSize;
      return at(kKeyEntryFixedSize + (heads_from + kHeadSize - 1) / kHeadSize * kHeadSize);
    }
    case Field::kPlain:
      return kNoId;
  }
  return kNoId;
}
}  // namespace

// ---- Writing -------------------------------------------------------------------

void EditLog::Start(bool compact, uint64_t block, uint64_t revision, int64_t time_ns) {
  edits_.clear();
  count_ = 0;
  loggable_ = true;
  branch_edits_ = false;
  compact_ = compact;
  block_ = block;
  revision_ = revision;
  time_ns_ = time_ns;
  ids_.clear();
  id_index_.clear();
}

std::optional<uint64_t> EditLog::FindId(std::string_view id) const {
  // A transaction of a write or two writes a handful: a scan is quicker
  // than a hash, which only larger ones build.
  if (id_index_.empty()) {
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (std::memcmp(ids_[i].data(), id.data(), kIdBytes) == 0) return i;
    }
    return std::nullopt;
  }
  auto it = id_index_.find(id);
  return it == id_index_.end() ? std::nullopt : std::optional<uint64_t>(it->second);
}

void EditLog::AddId(std::string_view id) {
  std::array<char, kIdBytes>& added = ids_.emplace_back();
  std::memcpy(added.data(), id.data(), kIdBytes);
  if (ids_.size() == kScannedIds + 1) {
    for (size_t i = 0; i < ids_.size(); ++i) {
      id_index_.emplace(std::string_view(ids_[i].data(), kIdBytes), i);
    }
  } else if (ids_.size() > kScannedIds) {
    id_index_.emplace(std::string_view(added.data(), kIdBytes), ids_.size() - 1);
  }
}

void EditLog::PutField(Field kind, char lead, std::string_view bytes) {
  if (!compact_) {
    PutLength(&edits_, bytes);
    edits_.append(bytes);
    return;
  }
  PutVarint64(&edits_, bytes.size());
  if (LeadIsFirstByte(kind, bytes.size())) lead = bytes[0];
  size_t done = 0;
  for (size_t at = NextIdAt(kind, lead, bytes.size(), 0); at != kNoId;
       at = NextIdAt(kind, lead, bytes.size(), at + kIdBytes)) {
    edits_.append(bytes.substr(done, at - done));
    const std::string_view id = bytes.substr(at, kIdBytes);
    if (std::optional<uint64_t> index = FindId(id)) {
      PutVarint64(&edits_, *index + 1);
    } else {
      PutVarint64(&edits_, 0);
      edits_.append(id);
      AddId(id);
    }
    done = at + kIdBytes;
  }
  edits_.append(bytes.substr(done));
}

void EditLog::Put(std::string_view key, std::string_view value) {
  if (NamesNodesInMemory(key, value)) loggable_ = false;
  ++count_;
  if (compact_ && key.starts_with('R') && key == gkey::Revision(revision_)) {
    // The transaction's own revision entry: its block and time are the
    // block's, its commit follows the block's start.
    Result<RevisionEntry> r = DecodeRevisionEntry(value);
    if (r.ok() && r->block == block_ && r->time_ns == time_ns_ &&
        (r->commit == 0 || r->commit > block_)) {
      edits_.push_back(static_cast<char>(kEditRevision));
      PutVarint64(&edits_, r->commit == 0 ? 0 : r->commit - block_);
      return;
    }
  }
  edits_.push_back(static_cast<char>(kEditPut));
  if (compact_) {
    PutField(Field::kKey, 0, key);
    PutField(Field::kValue, key.empty() ? 0 : key[0], value);
    return;
  }
  PutLength(&edits_, key);
  PutLength(&edits_, value);
  edits_.append(key);
  edits_.append(value);
}

void EditLog::Delete(std::string_view key) {
  edits_.push_back(static_cast<char>(kEditDelete));
  PutField(Field::kKey, 0, key);
  ++count_;
}

void EditLog::PutBranch(std::string_view name, std::string_view entry,
                        const std::vector<std::pair<std::string, std::string>>& tree_puts) {
  edits_.push_back(static_cast<char>(kEditBranch));
  branch_edits_ = true;
  ++count_;
  if (compact_) {
    PutField(Field::kPlain, 0, name);
    PutField(Field::kBranchEntry, 0, entry);
    PutVarint64(&edits_, tree_puts.size());
    for (const auto& [key, value] : tree_puts) {
      PutField(Field::kPlain, 0, key);
      PutField(Field::kKeyEntry, 0, value);
    }
    return;
  }
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
}

void EditLog::CopyBranch(std::string_view name, std::string_view entry, std::string_view source) {
  edits_.push_back(static_cast<char>(kEditCopyBranch));
  branch_edits_ = true;
  ++count_;
  if (compact_) {
    PutField(Field::kPlain, 0, name);
    PutField(Field::kBranchEntry, 0, entry);
    PutField(Field::kPlain, 0, source);
    return;
  }
  PutLength(&edits_, name);
  PutLength(&edits_, entry);
  PutLength(&edits_, source);
  edits_.append(name);
  edits_.append(entry);
  edits_.append(source);
}

std::string EditLog::Encode() const {
  std::string body;
  body.reserve(edits_.size() + 24);
  PutFixed32(&body, count_);
  PutFixed32(&body, compact_ ? kFlagCompact : 0);
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

namespace {

Status BadEdits() { return Status::Corruption("an edit record does not parse"); }

// The edits of a record of store formats 2 to 4: fixed-width lengths.
Result<size_t> ApplyFixedEdits(Decoder& d, uint32_t count, EditReplay* replay) {
  std::vector<std::pair<std::string_view, std::string_view>> puts;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t op = d.U8();
    const uint32_t key_length = d.U32();
    Status applied;
    if (op == kEditPut) {
      uint32_t value_length = d.U32();
      std::string_view key = d.Bytes(key_length);
      std::string_view value = d.Bytes(value_length);
      if (!d.ok()) return BadEdits();
      if (replay != nullptr) applied = replay->Put(key, value);
    } else if (op == kEditDelete) {
      std::string_view key = d.Bytes(key_length);
      if (!d.ok()) return BadEdits();
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
      if (!d.ok()) return BadEdits();
      if (replay != nullptr) applied = replay->PutBranch(name, entry, puts);
    } else if (op == kEditCopyBranch) {
      uint32_t entry_length = d.U32();
      uint32_t source_length = d.U32();
      std::string_view name = d.Bytes(key_length);
      std::string_view entry = d.Bytes(entry_length);
      std::string_view source = d.Bytes(source_length);
      if (!d.ok()) return BadEdits();
      if (replay != nullptr) applied = replay->CopyBranch(name, entry, source);
    } else {
      return BadEdits();
    }
    KVS_RETURN_IF_ERROR(applied);
  }
  return size_t{count};
}

// Reads the fields of a compact record, resolving ids written before.
class CompactFields {
 public:
  explicit CompactFields(Decoder* d, std::vector<std::string_view>* ids) : d_(d), ids_(ids) {
    ids_->clear();
  }

  // The next field, of kind (lead as EditLog::PutField takes it): a view
  // into the record, or into *scratch when it has ids to resolve; nullopt
  // when it does not parse.
  std::optional<std::string_view> Read(Field kind, char lead, std::string* scratch) {
    const uint64_t size = d_->Varint();
    // An id reference of one byte stands for 32: no field is longer.
    if (!d_->ok() || size > kIdBytes * (d_->remaining() + 1)) return std::nullopt;
    std::string_view head;
    if (LeadIsFirstByte(kind, size)) {
      head = d_->Bytes(1);
      if (head.empty()) return std::nullopt;
      lead = head[0];
    }
    size_t at = NextIdAt(kind, lead, size, head.size());
    if (at == kNoId) {
      // No id: the field lies in the record whole, its first byte too.
      std::string_view rest = d_->Bytes(size - head.size());
      if (!d_->ok()) return std::nullopt;
      return head.empty() ? rest : std::string_view(head.data(), size);
    }
    scratch->assign(head);
    size_t done = head.size();
    for (; at != kNoId; at = NextIdAt(kind, lead, size, at + kIdBytes)) {
      scratch->append(d_->Bytes(at - done));
      const uint64_t ref = d_->Varint();
      if (ref == 0) {
        std::string_view id = d_->Bytes(kIdBytes);
        if (!d_->ok()) return std::nullopt;
        ids_->push_back(id);
        scratch->append(id);
      } else {
        if (ref > ids_->size()) return std::nullopt;
        scratch->append((*ids_)[ref - 1]);
      }
      done = at + kIdBytes;
    }
    scratch->append(d_->Bytes(size - done));
    if (!d_->ok() || scratch->size() != size) return std::nullopt;
    return std::string_view(*scratch);
  }

 private:
  Decoder* d_;
  std::vector<std::string_view>* ids_;  // literal ids, into the record
};

// Buffers a thread reuses from one compact record to the next: a replay
// reads one per logged block.
struct CompactScratch {
  std::vector<std::string_view> ids;
  std::string key, value, name, entry, source;
  std::vector<std::string> put_keys, put_values;
  std::vector<std::pair<std::string_view, std::string_view>> puts;
};

// The edits of a compact record (store format 5).
Result<size_t> ApplyCompactEdits(Decoder& d, uint32_t count, const CommitPoint& block,
                                 EditReplay* replay) {
  thread_local CompactScratch s;
  CompactFields fields(&d, &s.ids);
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t op = d.U8();
    Status applied;
    if (op == kEditPut) {
      auto key = fields.Read(Field::kKey, 0, &s.key);
      if (!key) return BadEdits();
      auto value = fields.Read(Field::kValue, key->empty() ? 0 : (*key)[0], &s.value);
      if (!value) return BadEdits();
      if (replay != nullptr) applied = replay->Put(*key, *value);
    } else if (op == kEditDelete) {
      auto key = fields.Read(Field::kKey, 0, &s.key);
      if (!key) return BadEdits();
      if (replay != nullptr) applied = replay->Delete(*key);
    } else if (op == kEditBranch) {
      auto name = fields.Read(Field::kPlain, 0, &s.name);
      auto entry = name ? fields.Read(Field::kBranchEntry, 0, &s.entry) : std::nullopt;
      const uint64_t put_count = entry ? d.Varint() : 0;
      // Each put takes at least its two lengths.
      if (!entry || !d.ok() || put_count > d.remaining() / 2) return BadEdits();
      if (s.put_keys.size() < put_count) {
        s.put_keys.resize(put_count);
        s.put_values.resize(put_count);
      }
      s.puts.clear();
      for (uint64_t j = 0; j < put_count; ++j) {
        auto key = fields.Read(Field::kPlain, 0, &s.put_keys[j]);
        auto value = key ? fields.Read(Field::kKeyEntry, 0, &s.put_values[j]) : std::nullopt;
        if (!value) return BadEdits();
        s.puts.emplace_back(*key, *value);
      }
      if (replay != nullptr) applied = replay->PutBranch(*name, *entry, s.puts);
    } else if (op == kEditCopyBranch) {
      auto name = fields.Read(Field::kPlain, 0, &s.name);
      auto entry = name ? fields.Read(Field::kBranchEntry, 0, &s.entry) : std::nullopt;
      auto source = entry ? fields.Read(Field::kPlain, 0, &s.source) : std::nullopt;
      if (!source) return BadEdits();
      if (replay != nullptr) applied = replay->CopyBranch(*name, *entry, *source);
    } else if (op == kEditRevision) {
      const uint64_t commit = d.Varint();
      if (!d.ok() || commit > block.end - block.block) return BadEdits();
      if (replay != nullptr) {
        applied =
            replay->Put(gkey::Revision(block.revision),
                        EncodeRevisionEntry(
                            {block.block, commit == 0 ? 0 : block.block + commit, block.time_ns}));
      }
    } else {
      return BadEdits();
    }
    KVS_RETURN_IF_ERROR(applied);
  }
  return size_t{count};
}

}  // namespace

Result<size_t> ApplyEdits(std::string_view body, const CommitPoint& block, EditReplay* replay) {
  if (body.size() < 16) return BadEdits();
  Decoder d(body.substr(0, body.size() - 8));
  const uint32_t count = d.U32();
  const uint32_t flags = d.U32();
  if (flags != 0 && flags != kFlagCompact) return BadEdits();
  Result<size_t> applied = flags == kFlagCompact ? ApplyCompactEdits(d, count, block, replay)
                                                 : ApplyFixedEdits(d, count, replay);
  if (!applied.ok()) return applied;
  if (!d.ok()) return BadEdits();
  while (d.remaining() > 0) {
    if (d.U8() != 0) return BadEdits();
  }
  return applied;
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
