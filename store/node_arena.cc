#include "store/node_arena.h"

#include <cstring>
#include <string>
#include <unordered_map>

#include "store/coding.h"
#include "store/format.h"
#include "store/spare_pool.h"

namespace kvs {

namespace {

// Every live arena by id, for NodeArena::Find.
struct Registry {
  std::mutex mu;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, std::weak_ptr<const NodeArena>> arenas;
};

Registry& TheRegistry() {
  static Registry* registry = new Registry;  // never destroyed: arenas may outlive statics
  return *registry;
}

// Chunks of arenas gone, for the arenas of the windows after them: a
// one-key write's window fills about 5 MiB.
SparePool<std::unique_ptr<char[]>>& SpareChunks() {
  static auto* pool = new SparePool<std::unique_ptr<char[]>>(16);  // never destroyed, as above
  return *pool;
}

}  // namespace

std::shared_ptr<NodeArena> NodeArena::Create() {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::shared_ptr<NodeArena> arena(new NodeArena(r.next_id++));
  r.arenas[arena->id_] = arena;
  return arena;
}

std::shared_ptr<const NodeArena> NodeArena::Find(uint64_t offset) {
  if (!IsVirtual(offset)) return nullptr;
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.arenas.find(IdOf(offset));
  return it == r.arenas.end() ? nullptr : it->second.lock();
}

NodeArena::NodeArena(uint64_t id) : id_(id), slots_(new std::atomic<char*>[kMaxChunks]()) {}

NodeArena::~NodeArena() {
  {
    Registry& r = TheRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.arenas.find(id_);
    if (it != r.arenas.end() && it->second.expired()) r.arenas.erase(it);
  }
  for (Allocation& a : owned_) {
    if (a.chunks == 1) SpareChunks().Give(std::move(a.bytes));
  }
}

uint64_t NodeArena::Append(char type, std::string_view body) {
  using namespace format;
  const uint64_t size = RecordFileBytes(body.size());
  constexpr uint64_t kChunk = uint64_t{1} << kChunkBits;
  std::lock_guard<std::mutex> lock(append_mu_);
  uint64_t at = end_;
  uint64_t in_chunk = at & (kChunk - 1);
  if (at == 0 || in_chunk == 0 || in_chunk + size > kChunk) {
    // A new allocation, starting at the next chunk boundary.
    if (in_chunk != 0) at += kChunk - in_chunk;
    const uint64_t chunks = (size + kChunk - 1) / kChunk;
    const size_t first = static_cast<size_t>(at >> kChunkBits);
    if (first + chunks > kMaxChunks) std::abort();  // 16 GiB of nodes in one window
    std::unique_ptr<char[]> bytes = chunks == 1 ? SpareChunks().Take() : nullptr;
    if (bytes == nullptr) bytes.reset(new char[chunks * kChunk]);
    owned_.push_back({std::move(bytes), chunks});
    for (uint64_t i = 0; i < chunks; ++i) {
      slots_[first + i].store(owned_.back().bytes.get() + i * kChunk, std::memory_order_release);
    }
  }
  char* p = slots_[static_cast<size_t>(at >> kChunkBits)].load(std::memory_order_relaxed) +
            (at & (kChunk - 1));
  const size_t length = kRecordHeaderSize + body.size();
  std::memset(p, 0, kRecordHeaderSize);
  p[4] = type;
  EncodeFixed32(p + 8, static_cast<uint32_t>(length));
  std::memcpy(p + kRecordHeaderSize, body.data(), body.size());
  std::memset(p + length, 0, static_cast<size_t>(size) - length);
  end_ = at + size;
  used_.store(end_, std::memory_order_relaxed);
  return kVirtualOffset | (id_ << kPositionBits) | at;
}

Result<RecordView> NodeArena::ReadRecord(uint64_t offset) const {
  using namespace format;
  const uint64_t at = offset & ((uint64_t{1} << kPositionBits) - 1);
  const size_t slot = static_cast<size_t>(at >> kChunkBits);
  const char* chunk =
      Holds(offset) && slot < kMaxChunks ? slots_[slot].load(std::memory_order_acquire) : nullptr;
  if (chunk == nullptr || offset % kRecordAlign != 0) {
    return Status::Corruption("node offset " + std::to_string(offset) + " is not in memory");
  }
  const char* p = chunk + (at & ((uint64_t{1} << kChunkBits) - 1));
  uint32_t length = DecodeFixed32(p + 8);
  return RecordView{p[4], std::string_view(p + kRecordHeaderSize, length - kRecordHeaderSize)};
}

}  // namespace kvs
