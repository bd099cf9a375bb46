// ReadClock: a shared memory map of read times (see read_clock.h).
#include "store/read_clock.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "store/owner.h"

namespace kvs {
namespace {

constexpr size_t kBytes = ReadClock::kSlots * sizeof(uint64_t);

// FNV-1a, then a second, independent-looking hash from a 64-bit mix of the
// first: stable across processes and builds, as slots in a shared file must be.
std::pair<size_t, size_t> SlotsOf(std::string_view key) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  uint64_t g = h;
  g ^= g >> 33;
  g *= 0xff51afd7ed558ccdull;
  g ^= g >> 33;
  g *= 0xc4ceb9fe1a85ec53ull;
  g ^= g >> 33;
  const size_t mask = ReadClock::kSlots - 1;
  return {h & mask, g & mask};
}

}  // namespace

std::unique_ptr<ReadClock> ReadClock::Open(const std::string& dir) {
  std::string path = dir + "/" + kFileName;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return std::unique_ptr<ReadClock>(new ReadClock(nullptr));
  KeepDirectoryOwner(path);
  struct stat st;
  void* map = MAP_FAILED;
  // ftruncate only grows a file that is short (new, or cut by something
  // else); processes that race to create it both set the same size.
  if (::fstat(fd, &st) == 0 &&
      (static_cast<size_t>(st.st_size) == kBytes || ::ftruncate(fd, kBytes) == 0)) {
    map = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  ::close(fd);  // the mapping keeps the file
  return std::unique_ptr<ReadClock>(
      new ReadClock(map == MAP_FAILED ? nullptr : static_cast<uint64_t*>(map)));
}

ReadClock::~ReadClock() {
  if (slots_ != nullptr) ::munmap(slots_, kBytes);
}

void ReadClock::Touch(std::string_view key, int64_t time_ns) {
  if (slots_ == nullptr || time_ns <= 0) return;
  // Whole milliseconds: fine enough to order reads, and coarse enough that
  // a hot key's slots change once a millisecond, not on every read.
  constexpr uint64_t kTick = 1000000;
  const uint64_t now = static_cast<uint64_t>(time_ns) / kTick * kTick;
  auto [a, b] = SlotsOf(key);
  for (size_t slot : {a, b}) {
    // Only forward, and without a write when the slot is already as new:
    // most reads of a hot key then leave its cache line clean.
    uint64_t seen = __atomic_load_n(&slots_[slot], __ATOMIC_RELAXED);
    while (seen < now && !__atomic_compare_exchange_n(&slots_[slot], &seen, now, true,
                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
  }
}

int64_t ReadClock::LastRead(std::string_view key) const {
  if (slots_ == nullptr) return 0;
  auto [a, b] = SlotsOf(key);
  uint64_t first = __atomic_load_n(&slots_[a], __ATOMIC_RELAXED);
  uint64_t second = __atomic_load_n(&slots_[b], __ATOMIC_RELAXED);
  return static_cast<int64_t>(first < second ? first : second);
}

}  // namespace kvs
