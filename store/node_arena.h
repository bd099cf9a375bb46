// NodeArena: tree nodes kept in memory instead of the data file, at
// "virtual" offsets (bit 62 set), which no file offset reaches.
//
// A logged transaction (store/format.h, kind 4) writes its global tree
// edits as an edit record, not as nodes: the nodes its edits make live in
// the arena of the process that wrote or replayed them, each process
// building its own, until a checkpoint writes the tree into the file. An
// arena holds the nodes of one window (the transactions since a
// checkpoint); snapshots keep the arenas they read alive. Offsets are
// unique in the process (each arena has its own id), so a tree root from
// any arena names its nodes without ambiguity, and Find reaches an arena
// whoever holds it.
#ifndef KVS_STORE_NODE_ARENA_H_
#define KVS_STORE_NODE_ARENA_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "store/record.h"

namespace kvs {

constexpr uint64_t kVirtualOffset = uint64_t{1} << 62;
inline bool IsVirtual(uint64_t offset) { return (offset & kVirtualOffset) != 0; }

// As a NodeSink it takes nodes and ignores what they replace (a replay's:
// the block's writer counted that).
class NodeArena : public RecordSource, public NodeSink {
 public:
  static std::shared_ptr<NodeArena> Create();
  // The arena holding a virtual offset, while anyone holds that arena.
  static std::shared_ptr<const NodeArena> Find(uint64_t offset);
  ~NodeArena() override;
  NodeArena(const NodeArena&) = delete;
  NodeArena& operator=(const NodeArena&) = delete;

  bool Holds(uint64_t offset) const { return IsVirtual(offset) && IdOf(offset) == id_; }
  // Thread-safe, and safe beside readers of what was appended before.
  uint64_t Append(char type, std::string_view body) override;
  void AddSuperseded(uint64_t) override {}
  Result<RecordView> ReadRecord(uint64_t offset) const override;
  uint64_t bytes() const { return used_.load(std::memory_order_relaxed); }

 private:
  static constexpr int kPositionBits = 40;
  static constexpr int kChunkBits = 20;  // 1 MiB chunks
  static constexpr size_t kMaxChunks = size_t{1} << 14;
  explicit NodeArena(uint64_t id);
  static uint64_t IdOf(uint64_t offset) { return (offset & ~kVirtualOffset) >> kPositionBits; }

  const uint64_t id_;
  std::mutex append_mu_;
  uint64_t end_ = 0;  // next free position; guarded by append_mu_
  std::atomic<uint64_t> used_{0};
  // Chunk i holds positions [i << kChunkBits, (i + 1) << kChunkBits); a
  // record larger than a chunk gets consecutive slots of one allocation.
  std::unique_ptr<std::atomic<char*>[]> slots_;
  struct Allocation {
    std::unique_ptr<char[]> bytes;
    uint64_t chunks;
  };
  std::vector<Allocation> owned_;  // guarded by append_mu_
};

}  // namespace kvs

#endif  // KVS_STORE_NODE_ARENA_H_
