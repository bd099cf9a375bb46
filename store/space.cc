// Space: how the data file's bytes are spent, for automatic compaction and
// for operators (kvs stats, GET /_stats, GET /_metrics).
//
// The compacted part ends where the first block a transaction wrote after
// the last compaction begins: its revision is the oldest whose 'R' entry
// still names a block (compaction sets the block of every revision it took
// in to 0), found by a binary search over revisions.
//
// Garbage: a transaction appends its new versions and commit, and new
// copies of the tree nodes on the paths it changed (store/btree.h); the
// copies it replaced are what a compaction frees. Every block's header
// counts them, for the whole file through that block (store/format.h), so
// the newest block tells the garbage exactly, but for nodes that another
// branch's tree still shares (counted, though a compaction keeps them).
// Blocks written before kvs 0.2 do not count: for a file that ends with
// one, the garbage of the blocks written since the last compaction is
// estimated as their tree nodes' share of their bytes, measured on the
// newest kSampleBlocks blocks, and the first group commit that follows
// starts its count from that estimate.
#include "store/coding.h"
#include "store/format.h"
#include "store/store_impl.h"

namespace kvs {

using namespace format;

namespace {

constexpr int kSampleBlocks = 64;

// The oldest revision at or after `from` whose 'R' entry names a block;
// nullopt when none does.
Result<std::optional<std::pair<uint64_t, RevisionEntry>>> FirstWithBlock(const Snapshot& snap,
                                                                         uint64_t from) {
  TreeCursor cursor(&snap, snap.head().root);
  KVS_RETURN_IF_ERROR(cursor.Seek(gkey::Revision(from)));
  if (!cursor.Valid() || cursor.key()[0] != 'R') {
    return std::optional<std::pair<uint64_t, RevisionEntry>>();
  }
  if (cursor.key().size() != 9) return Status::Corruption("malformed revision entry");
  KVS_ASSIGN_OR_RETURN(RevisionEntry r, DecodeRevisionEntry(cursor.value()));
  const uint64_t revision = DecodeBigEndian64(cursor.key().data() + 1);
  return std::optional<std::pair<uint64_t, RevisionEntry>>({revision, r});
}

// The superseded bytes the head block's header counts; nullopt when it
// was written before blocks counted them.
Result<std::optional<uint64_t>> CountedGarbage(const Snapshot& snap) {
  KVS_ASSIGN_OR_RETURN(std::string_view header, snap.Bytes(snap.head().block, kBlockHeaderSize));
  const uint64_t field = DecodeFixed64(header.data() + 24);
  if ((field & kSupersededCounted) == 0) return std::optional<uint64_t>();
  return std::optional<uint64_t>(field & ~kSupersededCounted);
}

// The estimate for files whose newest block does not count: the tree
// nodes' share of the newest blocks written since appended_from, applied to
// all of them.
Result<uint64_t> SampledGarbage(const Snapshot& snap, uint64_t appended_from) {
  uint64_t sampled = 0, nodes = 0;
  uint64_t block = snap.head().block, end = snap.head().end;
  for (int n = 0; n < kSampleBlocks && block >= appended_from && end > block; ++n) {
    const uint64_t payload_at = block + kBlockHeaderSize, trailer_at = end - kTrailerSize;
    KVS_ASSIGN_OR_RETURN(std::string_view payload, snap.Bytes(payload_at, trailer_at - payload_at));
    uint64_t node_bytes = kBlockHeaderSize + kTrailerSize;
    for (uint64_t r = payload_at; r < trailer_at;) {
      KVS_ASSIGN_OR_RETURN(RecordView rec, ParseRecord(payload, payload_at, r, false));
      const uint64_t length = RecordFileBytes(rec.body.size());
      if (IsNodeRecord(rec.type)) node_bytes += length;
      r += length;
    }
    sampled += end - block;
    nodes += node_bytes;
    if (block < appended_from + kTrailerSize) break;
    KVS_ASSIGN_OR_RETURN(std::string_view before, snap.Bytes(block - kTrailerSize, kTrailerSize));
    end = block;
    block = DecodeFixed64(before.data() + 32);
  }
  if (sampled == 0 || snap.head().end <= appended_from) return uint64_t{0};
  const double share = static_cast<double>(nodes) / static_cast<double>(sampled);
  return static_cast<uint64_t>(share * static_cast<double>(snap.head().end - appended_from));
}

}  // namespace

Result<uint64_t> StoreImpl::GarbageBytes(const Snapshot& snap, uint64_t generation) {
  KVS_ASSIGN_OR_RETURN(std::optional<uint64_t> counted, CountedGarbage(snap));
  if (counted) return *counted;
  KVS_ASSIGN_OR_RETURN(SpaceInfo info, SpaceOf(snap, generation));
  return info.garbage_bytes;
}

Result<SpaceInfo> StoreImpl::Space() {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  return SpaceOf(snap, data()->generation());
}

Result<SpaceInfo> StoreImpl::SpaceOf(const Snapshot& snap, uint64_t generation) {
  SpaceInfo info;
  info.data_bytes = snap.head().end;
  uint64_t appended_from = kFileHeaderSize;
  if (generation > 1) {
    // The revisions whose block is 0 come first: find the first that has
    // one, the oldest revision at or after which an entry names a block.
    const uint64_t head = snap.head().revision;
    KVS_ASSIGN_OR_RETURN(auto first, FirstWithBlock(snap, head));
    if (first && first->second.block != 0) {
      uint64_t lo = 0, hi = head;
      while (lo < hi) {
        const uint64_t mid = lo + (hi - lo) / 2;
        KVS_ASSIGN_OR_RETURN(auto found, FirstWithBlock(snap, mid));
        if (found && found->second.block != 0) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      KVS_ASSIGN_OR_RETURN(first, FirstWithBlock(snap, lo));
    } else {
      first.reset();  // nothing written since the compaction
    }
    info.compacted_bytes = first ? first->second.block : snap.head().end;
    info.compacted_revision = first ? first->first - 1 : head;
    auto compacted = TreeGet(snap, snap.head().root, gkey::Revision(info.compacted_revision));
    if (compacted.ok()) {
      KVS_ASSIGN_OR_RETURN(RevisionEntry r, DecodeRevisionEntry(*compacted));
      info.compacted_time_ns = r.time_ns;
    }
    appended_from = info.compacted_bytes;
  }

  KVS_ASSIGN_OR_RETURN(std::optional<uint64_t> counted, CountedGarbage(snap));
  if (counted) {
    // A compaction also writes the part of the trees that lives in memory
    // since the last checkpoint (store/log_window.h): the count less that
    // is what it frees.
    KVS_ASSIGN_OR_RETURN(uint64_t in_memory, InMemoryStateBytes(snap, snap.head().root,
                                                                identity_.format_version >=
                                                                    kStoreFormatCompactRecords));
    info.garbage_bytes = *counted - std::min(*counted, in_memory);
  } else {
    KVS_ASSIGN_OR_RETURN(info.garbage_bytes, SampledGarbage(snap, appended_from));
  }
  return info;
}

}  // namespace kvs
