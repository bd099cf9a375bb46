// SparePool: a few buffers kept for reuse. Memory fresh from the kernel
// costs a page fault and the zeroing of each page on its first touch, which
// took a fifth of the time of a bulk load (the blocks of a group, built into
// strings that grow) and a tenth of a write to one key (the nodes of its
// window's arena).
#ifndef KVS_STORE_SPARE_POOL_H_
#define KVS_STORE_SPARE_POOL_H_

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace kvs {

template <typename Buffer>
class SparePool {
 public:
  explicit SparePool(size_t kept) : kept_(kept) {}
  SparePool(const SparePool&) = delete;
  SparePool& operator=(const SparePool&) = delete;

  // A spare buffer, or an empty one when none is kept.
  Buffer Take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (spare_.empty()) return Buffer();
    Buffer b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }
  // Keeps b, unless the pool is full.
  void Give(Buffer b) {
    std::lock_guard<std::mutex> lock(mu_);
    if (spare_.size() < kept_) spare_.push_back(std::move(b));
  }

 private:
  const size_t kept_;
  std::mutex mu_;
  std::vector<Buffer> spare_;
};

}  // namespace kvs

#endif  // KVS_STORE_SPARE_POOL_H_
