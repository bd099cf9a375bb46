// OffsetMap: file offset -> file offset, for compaction's maps from the
// old file's records to the new file's. Open addressing in one array: a
// node-based std::unordered_map spent a tenth of a compaction looking up
// (a cache miss per node), and another twentieth freeing its nodes.
#ifndef KVS_STORE_OFFSET_MAP_H_
#define KVS_STORE_OFFSET_MAP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kvs {

class OffsetMap {
 public:
  OffsetMap() { Rehash(16); }

  // The value of key, added as 0 when absent.
  uint64_t& operator[](uint64_t key) {
    if ((size_ + 1) * 2 > slots_.size()) Rehash(slots_.size() * 2);
    Slot& s = slots_[SlotOf(key)];
    if (s.key == kEmpty) {
      s = {key, 0};
      ++size_;
    }
    return s.value;
  }
  // The value of key; null when absent.
  const uint64_t* Find(uint64_t key) const {
    const Slot& s = slots_[SlotOf(key)];
    return s.key == kEmpty ? nullptr : &s.value;
  }
  bool Contains(uint64_t key) const { return Find(key) != nullptr; }
  // Starts loading the slot where key's search begins. Keys are spread at
  // random over the slots, so a loop over many keys misses the cache on
  // each; one that prefetches a key some iterations ahead waits less.
  void Prefetch(uint64_t key) const { __builtin_prefetch(&slots_[Home(key)]); }
  // Makes room for n keys without growing.
  void Reserve(size_t n) {
    size_t slots = slots_.size();
    while (n * 2 > slots) slots *= 2;
    if (slots != slots_.size()) Rehash(slots);
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // no file offset
  struct Slot {
    uint64_t key = kEmpty;
    uint64_t value = 0;
  };

  // The slot holding key, or the empty one where it would go (linear
  // probing; at most half the slots are taken, so there is one).
  size_t Home(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  size_t SlotOf(uint64_t key) const {
    const size_t mask = slots_.size() - 1;
    size_t i = Home(key);
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask;
    return i;
  }
  void Rehash(size_t slots) {
    std::vector<Slot> old(slots, Slot());
    old.swap(slots_);
    shift_ = 64;
    for (size_t n = slots; n > 1; n /= 2) --shift_;
    for (const Slot& s : old) {
      if (s.key != kEmpty) slots_[SlotOf(s.key)] = s;
    }
  }

  std::vector<Slot> slots_;  // a power of two of them
  int shift_ = 64;           // 64 - log2(slots_.size())
  size_t size_ = 0;
};

}  // namespace kvs

#endif  // KVS_STORE_OFFSET_MAP_H_
