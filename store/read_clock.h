// ReadClock: when each key was last read, kept beside the data file so that
// a size-bounded compaction can drop the least recently read keys of a
// cache-like prefix first (RetentionRule::evictable).
//
// Recording a read must cost next to nothing and never touch the data file:
// a GET that wrote and synced the store would make every read a write. So
// the clock is a hint, not data. It lives in DIR/reads, a fixed table of
// 2^19 slots of 8 bytes (4 MiB, sparse until used) that every process with
// the store open maps shared, so a read in one process is seen by a
// compaction in another. A read stores the time, in ns, in two slots chosen
// by two hashes of the key, in whole milliseconds (a store only when that
// moves the slot forward, so a hot key dirties its slots once a millisecond,
// not once a read); a key's last read is the smaller of its two slots. Keys that
// share a slot can only make each other look more recently read, never
// less, so a collision keeps a key longer rather than dropping it early.
//
// Nothing is synced: the kernel writes the pages back when it likes. A
// process crash loses nothing (the pages belong to the file); a power loss
// may lose recent reads, which then look older. Without the file (it cannot
// be created or mapped), reads go unrecorded and every key reads as never
// read: eviction then goes by write time alone.
#ifndef KVS_STORE_READ_CLOCK_H_
#define KVS_STORE_READ_CLOCK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kvs {

class ReadClock {
 public:
  // Maps dir/reads, creating it when missing; a clock that records nothing
  // when that fails.
  static std::unique_ptr<ReadClock> Open(const std::string& dir);
  ~ReadClock();
  ReadClock(const ReadClock&) = delete;
  ReadClock& operator=(const ReadClock&) = delete;

  // Notes that key was read at time_ns.
  void Touch(std::string_view key, int64_t time_ns);
  // When key was last read, as far as the table knows; 0: never.
  int64_t LastRead(std::string_view key) const;

  static constexpr size_t kSlots = size_t{1} << 19;
  static constexpr const char* kFileName = "reads";

 private:
  explicit ReadClock(uint64_t* slots) : slots_(slots) {}
  uint64_t* slots_;  // kSlots of them, or nullptr when not mapped
};

}  // namespace kvs

#endif  // KVS_STORE_READ_CLOCK_H_
