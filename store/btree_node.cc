// Tree nodes as records (store/btree.h): NodeView reads a node of either
// layout, the fixed one or the compact one of store format 6, and
// AppendNode writes one in the layout its sink asks for. The trees built
// of them (lookups, cursors, diffs, the writer) are in store/btree.cc.
#include <algorithm>
#include <string>

#include "store/btree.h"
#include "store/coding.h"
#include "store/format.h"

namespace kvs {

namespace {

Status BadNode(uint64_t offset, const char* why) {
  return Status::Corruption("tree node at offset " + std::to_string(offset) + ": " + why);
}

constexpr size_t kCompactNodeFixed = 2;
constexpr size_t kCompactNodeLimit = size_t{1} << 16;  // its entry offsets take 2 bytes

}  // namespace

Result<NodeView> NodeView::Read(const RecordSource& source, uint64_t offset) {
  KVS_ASSIGN_OR_RETURN(RecordView rec, source.ReadRecord(offset));
  return Parse(rec.type, rec.body, offset);
}

Result<NodeView> NodeView::Parse(char type, std::string_view body, uint64_t offset) {
  NodeView n;
  n.body_ = body;
  switch (type) {
    case format::kLeafNode:
    case format::kInnerNode:
      break;
    case format::kCompactLeafNode:
    case format::kCompactInnerNode:
      n.compact_ = true;
      break;
    default:
      return BadNode(offset, "not a node record");
  }
  n.leaf_ = type == format::kLeafNode || type == format::kCompactLeafNode;
  const size_t fixed = n.compact_ ? kCompactNodeFixed : kNodeFixed;
  if (n.body_.size() < fixed) return BadNode(offset, "too short");
  n.count_ = DecodeFixed16(n.body_.data());
  const size_t table_end = fixed + (n.compact_ ? 2 : 4) * n.count_;
  if (table_end > n.body_.size() || (!n.leaf_ && n.count_ == 0))
    return BadNode(offset, "bad count");
  // Check every entry's bounds, so the accessors below can trust them. Key
  // order is not checked here (the crc vouches for what the writer wrote;
  // Check() verifies order), but an unordered node could only misdirect a
  // search, never make it read out of bounds. A compact node's entries lie
  // one after the other in the order of its table, each at least two bytes:
  // checking the table bounds each entry by the next one's start, and the
  // accessors read no field past its entry's end (CompactEntryAt). Reading
  // every entry here, as for the fixed layout, made gets 5% slower; only the
  // last is read, which must end where the body does (a node cut short).
  if (n.compact_) {
    size_t next = table_end;
    for (size_t i = 0; i < n.count_; ++i) {
      const size_t at = n.EntryAt(i);
      if (at < next) return BadNode(offset, "bad entry offset");
      next = at + 2;
    }
    if (next > n.body_.size()) return BadNode(offset, "entry overruns node");
    if (n.count_ > 0) {
      const CompactEntry last = n.CompactEntryAt(n.count_ - 1);
      const size_t rest = n.leaf_ ? last.second : 0;
      if (!last.whole || last.rest.size() != rest) {
        return BadNode(offset, "entry overruns node");
      }
    }
    return n;
  }
  for (size_t i = 0; i < n.count_; ++i) {
    const size_t at = n.EntryAt(i);
    if (at < table_end) return BadNode(offset, "bad entry offset");
    const size_t head = n.leaf_ ? 6 : 10;
    if (at + head > n.body_.size()) return BadNode(offset, "bad entry offset");
    size_t klen = DecodeFixed16(n.body_.data() + at);
    size_t vlen = n.leaf_ ? DecodeFixed32(n.body_.data() + at + 2) : 0;
    if (at + head + klen + vlen > n.body_.size()) return BadNode(offset, "entry overruns node");
  }
  return n;
}

size_t NodeView::EntryAt(size_t i) const {
  if (compact_) return DecodeFixed16(body_.data() + kCompactNodeFixed + 2 * i);
  return DecodeFixed32(body_.data() + kNodeFixed + 4 * i);
}

NodeView::CompactEntry NodeView::CompactEntryAt(size_t i) const {
  const char* p = body_.data() + EntryAt(i);
  const char* const end = body_.data() + (i + 1 < count_ ? EntryAt(i + 1) : body_.size());
  // Views into the body even for an entry that does not parse: readers
  // find a field's place in the body from its view (TreeWriter::Load).
  CompactEntry entry{std::string_view(end, 0), 0, std::string_view(end, 0)};
  uint64_t klen = 0;
  if (!GetVarint64(&p, end, &klen) || !GetVarint64(&p, end, &entry.second)) return entry;
  const size_t left = static_cast<size_t>(end - p);
  entry.whole = klen <= left;
  entry.key = std::string_view(p, std::min<uint64_t>(klen, left));
  entry.rest = std::string_view(p + entry.key.size(), left - entry.key.size());
  return entry;
}

std::string_view NodeView::key(size_t i) const {
  if (compact_) return CompactEntryAt(i).key;
  const size_t at = EntryAt(i);
  size_t klen = DecodeFixed16(body_.data() + at);
  return body_.substr(at + (leaf_ ? 6 : 10), klen);
}

std::string_view NodeView::value(size_t i) const {
  if (compact_) {
    const CompactEntry entry = CompactEntryAt(i);
    return entry.rest.substr(0, entry.second);
  }
  const size_t at = EntryAt(i);
  size_t klen = DecodeFixed16(body_.data() + at);
  size_t vlen = DecodeFixed32(body_.data() + at + 2);
  return body_.substr(at + 6 + klen, vlen);
}

uint64_t NodeView::child(size_t i) const {
  if (compact_) return CompactEntryAt(i).second;
  return DecodeFixed64(body_.data() + EntryAt(i) + 2);
}

size_t AppendedNodeBytes(const NodeView& fixed, bool compact) {
  if (!compact || fixed.compact()) return fixed.body().size();
  // A child's offset once written is not known yet: a file offset takes 5
  // bytes up to 32 GiB.
  constexpr size_t kChildBytes = 5;
  size_t bytes = kCompactNodeFixed + 2 * fixed.count();
  for (size_t i = 0; i < fixed.count(); ++i) {
    const size_t key = fixed.key(i).size();
    bytes += VarintLength(key) + key;
    if (fixed.leaf()) {
      const size_t value = fixed.value(i).size();
      bytes += VarintLength(value) + value;
    } else {
      bytes += kChildBytes;
    }
  }
  return bytes < kCompactNodeLimit ? bytes : fixed.body().size();
}

AppendedNode AppendNode(NodeSink* out, bool leaf, std::string_view fixed_body) {
  const char fixed_type = leaf ? format::kLeafNode : format::kInnerNode;
  if (out->compact_nodes()) {
    Result<NodeView> node = NodeView::Parse(fixed_type, fixed_body, 0);
    if (node.ok()) {
      const size_t count = node->count();
      std::string body;
      body.reserve(fixed_body.size());
      PutFixed16(&body, static_cast<uint16_t>(count));
      body.append(2 * count, '\0');
      for (size_t i = 0; i < count; ++i) {
        EncodeFixed16(body.data() + kCompactNodeFixed + 2 * i, static_cast<uint16_t>(body.size()));
        const std::string_view key = node->key(i);
        PutVarint64(&body, key.size());
        if (leaf) {
          const std::string_view value = node->value(i);
          PutVarint64(&body, value.size());
          body.append(key);
          body.append(value);
        } else {
          PutVarint64(&body, node->child(i));
          body.append(key);
        }
        // An entry must start within the reach of a 2-byte offset.
        if (body.size() >= kCompactNodeLimit && i + 1 < count) break;
      }
      if (body.size() < kCompactNodeLimit) {
        const char type = leaf ? format::kCompactLeafNode : format::kCompactInnerNode;
        return {out->Append(type, body), body.size()};
      }
    }
  }
  return {out->Append(fixed_type, fixed_body), fixed_body.size()};
}

size_t NodeView::Find(std::string_view target) const {
  // Leaf: first index with key >= target. Inner: last index with key <=
  // target (entry 0 always qualifies).
  size_t lo = leaf_ ? 0 : 1, hi = count_;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    bool go_right = leaf_ ? key(mid) < target : key(mid) <= target;
    if (go_right) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return leaf_ ? lo : lo - 1;
}

}  // namespace kvs
