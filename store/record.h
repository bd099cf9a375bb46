// Records: the checksummed units inside a data file block (tree nodes,
// versions, commits; layout in store/format.h).
//
// RecordSource is anything records can be read from by file offset: the
// mapped, committed part of the data file, or a block still being built in
// memory (a writer reads its own uncommitted nodes). Every read verifies the
// record's crc, so corrupt bytes surface as Status::Corruption and are never
// served.
#ifndef KVS_STORE_RECORD_H_
#define KVS_STORE_RECORD_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "kvs/status.h"

namespace kvs {

struct RecordView {
  char type = 0;
  std::string_view body;
};

// The bytes a record with a body of that size takes in the file: its
// header, the body and the padding to the next record (store/format.h).
uint64_t RecordFileBytes(size_t body_size);

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // The record at offset, verified. The view stays valid as long as the
  // source does.
  virtual Result<RecordView> ReadRecord(uint64_t offset) const = 0;
};

// Where a tree writer's flush puts its nodes (a block being built, or an
// arena in memory: store/node_arena.h), and what they replace.
class NodeSink {
 public:
  virtual ~NodeSink() = default;
  virtual uint64_t Append(char type, std::string_view body) = 0;
  // Bytes of file records the appended nodes take the place of.
  virtual void AddSuperseded(uint64_t bytes) = 0;
  // Whether nodes appended here take the compact layout (store/btree.h):
  // a file of a store of format 6.
  virtual bool compact_nodes() const { return false; }
};

// Parses the record at bytes[offset - base, ...) where bytes holds file
// range [base, base + bytes.size()), checking its bounds always and its crc
// when verify_crc.
Result<RecordView> ParseRecord(std::string_view bytes, uint64_t base, uint64_t offset,
                               bool verify_crc = true);

// Offsets of records whose crc already passed, so hot records are not
// checksummed on every read. Records never change once written, so a hit is
// always right; a slot holds one offset and collisions just overwrite (a
// miss costs one crc). Lock-free; shared by every thread reading one file.
class VerifiedOffsets {
 public:
  // The slots are pages the kernel zeroes when first touched: a process
  // that opens the store to read a key or two (a CGI request, kvs) pays for
  // the few it uses, not for clearing 512 KiB.
  VerifiedOffsets();
  ~VerifiedOffsets();
  VerifiedOffsets(const VerifiedOffsets&) = delete;
  VerifiedOffsets& operator=(const VerifiedOffsets&) = delete;
  bool Contains(uint64_t offset) const {
    return std::atomic_ref<uint64_t>(slots_[Slot(offset)]).load(std::memory_order_relaxed) ==
           offset;
  }
  void Insert(uint64_t offset) {
    std::atomic_ref<uint64_t>(slots_[Slot(offset)]).store(offset, std::memory_order_relaxed);
  }

 private:
  static constexpr size_t kSlots = size_t{1} << 16;
  static size_t Slot(uint64_t offset) {
    return static_cast<size_t>((offset >> 3) * 0x9E3779B97F4A7C15ull >> 48);
  }
  uint64_t* slots_;
};

// Accumulates, in memory, the blocks of one group (one write, one sync):
// each block is BeginBlock, records, then EndBlock (or AbortBlock for a
// transaction that failed). Offsets it hands out are file offsets: the bytes
// will be written at start. Encodes block headers and trailers, whose crc
// covers the group so far (store/format.h).
class BlockBuilder : public RecordSource, public NodeSink {
 public:
  // buffer: memory to build in (its bytes are dropped), see TakeBuffer.
  BlockBuilder(uint64_t start, const std::array<uint8_t, 16>& salt, std::string buffer = {})
      : start_(start),
        salt_(salt),
        group_start_(start),
        group_crc_end_(start),
        bytes_(std::move(buffer)) {
    bytes_.clear();
  }

  // With a limit, a block whose payload reaches it is closed as a "part"
  // and the next record opens a new block in a new group (compaction).
  void set_part_limit(uint64_t bytes) { part_limit_ = bytes; }
  // A builder of a file of a store of format 6 writes compact nodes.
  void set_compact_nodes(bool compact) { compact_nodes_ = compact; }
  bool compact_nodes() const override { return compact_nodes_; }
  void BeginBlock();
  // Appends a record to the open block; returns its file offset.
  uint64_t Append(char type, std::string_view body) override;
  // Closes the open block with its trailer; returns the offset just past it.
  uint64_t EndBlock(uint64_t revision, int64_t time_ns, uint64_t root, uint32_t kind);
  // Drops the open block's bytes (and the superseded bytes it counted).
  void AbortBlock();

  // The bytes of records in the file that later records replaced (tree
  // nodes a newer copy took the place of): what the blocks before start
  // held, at construction; each block's header carries the total through
  // that block (store/format.h).
  void set_superseded(uint64_t bytes) { superseded_closed_ = bytes; }
  void AddSuperseded(uint64_t bytes) override { superseded_open_ += bytes; }

  uint64_t block_start() const { return block_start_; }
  bool Contains(uint64_t offset) const {
    return offset >= start_ && offset < start_ + bytes_.size();
  }
  Result<RecordView> ReadRecord(uint64_t offset) const override;
  uint64_t end() const { return start_ + bytes_.size(); }
  // The bytes from the first one still held (start() on) to end().
  const std::string& bytes() const { return bytes_; }
  uint64_t start() const { return start_; }
  // With a part limit: the bytes of the closed parts, each a whole group,
  // from start(); and dropping them once they are written elsewhere, so a
  // builder can make a file larger than memory. Offsets stay file offsets;
  // a dropped record is no longer Contains()ed.
  std::string_view closed_bytes() const {
    return std::string_view(bytes_).substr(0, static_cast<size_t>(group_start_ - start_));
  }
  void DropClosed();
  // The memory it built in, for another builder; it holds nothing after.
  std::string TakeBuffer() { return std::exchange(bytes_, std::string()); }

 private:
  uint64_t start_;
  std::array<uint8_t, 16> salt_;
  uint64_t block_start_ = 0;  // of the open block
  uint64_t group_start_;
  uint32_t group_crc_ = 0;  // crc of [group_start_, group_crc_end_)
  uint64_t group_crc_end_;
  uint64_t part_limit_ = 0;
  bool compact_nodes_ = false;
  uint64_t superseded_closed_ = 0;  // through the last closed block
  uint64_t superseded_open_ = 0;    // counted in the open block
  std::string bytes_;
};

// The salted check that ends a block trailer: the first 16 bytes of
// SHA-256(salt || the trailer's first 48 bytes).
std::array<uint8_t, 16> TrailerCheck(const std::array<uint8_t, 16>& salt, std::string_view checked);

// Reads from a builder for offsets it holds and from `committed` otherwise:
// the view of a writer in the middle of a group commit.
class LayeredSource : public RecordSource {
 public:
  LayeredSource(const RecordSource* committed, const BlockBuilder* pending)
      : committed_(committed), pending_(pending) {}
  Result<RecordView> ReadRecord(uint64_t offset) const override {
    return pending_->Contains(offset) ? pending_->ReadRecord(offset)
                                      : committed_->ReadRecord(offset);
  }

 private:
  const RecordSource* committed_;
  const BlockBuilder* pending_;
};

}  // namespace kvs

#endif  // KVS_STORE_RECORD_H_
