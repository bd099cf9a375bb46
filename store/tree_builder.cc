#include "store/tree_builder.h"

#include "store/coding.h"
#include "store/crc32c.h"
#include "store/format.h"
#include "store/sha256.h"

namespace kvs {

uint64_t WrittenNodes::Append(NodeSink* out, bool leaf, std::string_view body) {
  std::string typed;
  typed.reserve(1 + body.size());
  typed.push_back(leaf ? format::kLeafNode : format::kInnerNode);
  typed.append(body);
  auto [it, added] = offsets_.try_emplace(Sha256(typed), 0);
  if (added) {
    it->second = AppendNode(out, leaf, body).offset;
  } else {
    ++reused_;
  }
  return it->second;
}

Status TreeBuilder::Put(std::string_view key, std::string_view value) {
  if (key.size() > kMaxTreeKeyBytes) return Status::InvalidArgument("tree key too long");
  if (any_ && key <= last_key_) {
    return Status::InvalidArgument("a tree built in order takes its keys ascending");
  }
  const std::string lead = any_ ? ShortestSeparator(last_key_, key) : std::string();
  Add(0, lead, key, value, 0);
  last_key_.assign(key);
  any_ = true;
  return Status::OK();
}

void TreeBuilder::Add(size_t level, std::string_view lead, std::string_view entry_key,
                      std::string_view value, uint64_t child) {
  if (levels_.size() == level) levels_.emplace_back();
  const bool leaf = level == 0;
  const size_t entry_bytes = NodeEntryBytes(leaf, entry_key.size(), value.size());
  const size_t least = leaf ? 1 : 2;
  if (levels_[level].starts.size() >= least &&
      (levels_[level].cut ||
       levels_[level].bytes + entry_bytes > (leaf ? leaf_bytes_ : inner_bytes_))) {
    Level& full = levels_[level];
    const uint64_t offset = Write(level);
    std::string full_lead = std::move(full.lead);
    Add(level + 1, full_lead, full_lead, {}, offset);  // may grow levels_
  }
  Level& l = levels_[level];
  if (written_ != nullptr) {
    // The level salts the hash, so that a key that ends a leaf does not
    // end every node above it too.
    const uint32_t every = leaf ? kLeafCutEvery : kInnerCutEvery;
    l.cut = Crc32c(static_cast<uint32_t>(level), entry_key.data(), entry_key.size()) % every == 0;
  }
  if (l.starts.empty()) {
    l.lead.assign(lead);
    if (!leaf) entry_key = {};  // an inner node's entry 0 means "from the start"
  }
  l.starts.push_back(static_cast<uint32_t>(l.entries.size()));
  PutFixed16(&l.entries, static_cast<uint16_t>(entry_key.size()));
  if (leaf) {
    PutFixed32(&l.entries, static_cast<uint32_t>(value.size()));
    l.entries.append(entry_key);
    l.entries.append(value);
  } else {
    PutFixed64(&l.entries, child);
    l.entries.append(entry_key);
  }
  l.bytes += NodeEntryBytes(leaf, entry_key.size(), value.size());
}

uint64_t TreeBuilder::Write(size_t level) {
  Level& l = levels_[level];
  body_.clear();
  PutFixed16(&body_, static_cast<uint16_t>(l.starts.size()));
  body_.append(kNodeFixed - 2, '\0');
  const size_t table_end = kNodeFixed + 4 * l.starts.size();
  for (uint32_t start : l.starts) PutFixed32(&body_, static_cast<uint32_t>(table_end + start));
  body_.append(l.entries);
  const bool leaf = level == 0;
  const uint64_t offset = written_ != nullptr ? written_->Append(out_, leaf, body_)
                                              : AppendNode(out_, leaf, body_).offset;
  l.entries.clear();
  l.starts.clear();
  l.bytes = kNodeFixed;
  l.cut = false;
  l.wrote_any = true;
  return offset;
}

Result<uint64_t> TreeBuilder::Finish() {
  if (!any_) return uint64_t{0};
  for (size_t level = 0;; ++level) {
    // The top level's only node is the root.
    if (level + 1 == levels_.size() && !levels_[level].wrote_any) return Write(level);
    std::string lead = std::move(levels_[level].lead);
    const uint64_t offset = Write(level);
    Add(level + 1, lead, lead, {}, offset);
  }
}

}  // namespace kvs
