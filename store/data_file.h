// DataFile: one generation of the append-only data file (layout in
// store/format.h), and how readers find its newest commit without a lock.
//
// Readers map the file and remember the end of the newest block they have
// verified. Each read first looks whether a block header starts at that
// end: when one does, they verify the new blocks forward from the known end
// (each block's header says where its trailer is), so they never interpret
// bytes that are not a block start. Only a fresh open, knowing nothing,
// scans backward from the end of the data; the salted trailer check makes
// that scan immune to stored values that imitate a trailer.
//
// The writer (holding the store's writer locks) appends whole blocks with
// one write and one sync, after cutting off any torn tail a crash left.
// The file runs on past its last block in zeros the writer wrote ahead (see
// Write), which the next blocks overwrite; where the data ends is where
// the zeros start.
// Between the write and the end of the sync the blocks are written but not
// published: the next writer of this process builds on them, while readers
// of this process still see the previous commit (see Write and Publish).
#ifndef KVS_STORE_DATA_FILE_H_
#define KVS_STORE_DATA_FILE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kvs/env.h"
#include "kvs/store.h"
#include "store/record.h"

namespace kvs {

class NodeArena;

using Salt = std::array<uint8_t, 16>;  // see TrailerCheck in store/record.h

// The newest committed block as a reader sees it.
struct CommitPoint {
  uint64_t revision = 0;
  int64_t time_ns = 0;
  uint64_t root = 0;   // global tree root
  uint64_t block = 0;  // offset of the block header
  uint64_t end = 0;    // offset just past the trailer
  bool moved = false;  // the file was replaced by generation moved_to
  uint64_t moved_to = 0;
  // A logged block's (store/format.h): the offset of the block whose tree
  // its edits apply to. Its root is then the state after its edits, known
  // only once they are applied: 0 as read from the file, until
  // StoreImpl::Latest resolves it (store/log_window.h).
  uint64_t base = 0;
  bool logged() const { return base != 0; }
};

struct Mapping {
  Mapping(const char* data, size_t capacity) : data(data), capacity(capacity) {}
  ~Mapping();
  const char* data;
  size_t capacity;
};

// A consistent, immutable view of the data file up to one commit.
class Snapshot : public RecordSource {
 public:
  Snapshot() = default;
  Snapshot(std::shared_ptr<const Mapping> map, CommitPoint head, const Salt& salt,
           std::shared_ptr<VerifiedOffsets> verified, uint64_t generation)
      : map_(std::move(map)),
        head_(head),
        salt_(salt),
        verified_(std::move(verified)),
        generation_(generation) {}
  const CommitPoint& head() const { return head_; }
  // The data file generation it is a state of.
  uint64_t generation() const { return generation_; }
  // Gives a logged head its root, whose nodes arena holds (or the file).
  void Resolve(uint64_t root, std::shared_ptr<const NodeArena> arena) {
    head_.root = root;
    arena_ = std::move(arena);
  }
  // Keeps arena alive as long as this snapshot, for a root read through it
  // (a past revision's, store/log_window.h). Not thread-safe.
  void Pin(std::shared_ptr<const NodeArena> arena) const { pinned_.push_back(std::move(arena)); }
  Result<RecordView> ReadRecord(uint64_t offset) const override;
  // The commit an earlier block made (its trailer, verified).
  Result<CommitPoint> ReadCommitPoint(uint64_t block) const;
  // The committed bytes [offset, offset + n), for Check.
  Result<std::string_view> Bytes(uint64_t offset, uint64_t n) const;

 private:
  std::shared_ptr<const Mapping> map_;
  CommitPoint head_;
  Salt salt_{};
  std::shared_ptr<VerifiedOffsets> verified_;
  uint64_t generation_ = 0;
  std::shared_ptr<const NodeArena> arena_;  // the nodes of a logged head's tree
  mutable std::vector<std::shared_ptr<const NodeArena>> pinned_;
};

// The 64-byte header that starts every data file, and its reader (which
// checks magic, checksum and format version).
struct DataFileHeader {
  uint64_t generation = 0;
  ReplicaId replica;
};
std::string EncodeFileHeader(uint64_t generation, const ReplicaId& replica);
Result<DataFileHeader> ReadFileHeader(const File& file, const std::string& path);

class DataFile {
 public:
  // Opens an existing data file and finds its newest valid block.
  static Result<std::unique_ptr<DataFile>> Open(Env* env, const std::string& path,
                                                uint64_t generation, const Salt& salt,
                                                const ReplicaId& replica);

  uint64_t generation() const { return generation_; }
  // Bytes past the newest valid block when the file was opened: what a
  // crash cut short, or a write another process was making just then.
  uint64_t tail_bytes_at_open() const { return tail_bytes_at_open_; }
  // Bytes past the newest valid block now. With the writer lock held, no
  // write is under way: they are what a crash left. Reads only.
  Result<uint64_t> TornTailBytes();

  // The newest committed state, after picking up blocks other processes
  // appended. Thread-safe; never blocks on writers.
  Result<Snapshot> Latest();

  // ---- Writer side: the caller holds the store's writer locks. --------
  // Refreshes and cuts off bytes past the newest valid block (a torn tail),
  // and returns the state the next blocks build on: the newest written
  // block, published or not. When that block is a "moved" one, the file
  // takes no more blocks, and its tail is left as it is.
  Result<Snapshot> PrepareAppend();
  // Appends blocks (from a BlockBuilder started at the written end); the
  // last one becomes the newest written commit, which PrepareAppend builds
  // on but readers do not see until Publish. On any failure the data file
  // must not be written again until RollBack succeeded.
  Status Write(const std::string& blocks, const CommitPoint& last);
  Status Sync() { return file_->Sync(); }
  // Makes the written commit last the newest one readers see.
  void Publish(const CommitPoint& last);
  // Write, Sync when sync is set, and Publish.
  Status Append(const std::string& blocks, const CommitPoint& last, bool sync);
  // After a failed Write or Sync: cuts the file back to the newest
  // published commit and syncs it, so the bytes of unknown fate are gone
  // from the file and the disk alike. The caller has held the writer lock
  // since the failure, so nothing past that commit is anyone else's.
  Status RollBack();

 private:
  DataFile(std::string path, std::unique_ptr<File> file, uint64_t generation, const Salt& salt)
      : path_(std::move(path)), file_(std::move(file)), generation_(generation), salt_(salt) {}
  // Verifies the block whose trailer is at trailer_offset (its header,
  // salted check, and the crc of its group up to the trailer); fills *point
  // and *kind.
  bool VerifyBlockEndingAt(uint64_t trailer_offset, uint64_t file_size, CommitPoint* point,
                           uint32_t* kind) const;
  // Verifies the block starting at offset; fills *point and *kind.
  bool VerifyBlockAt(uint64_t offset, uint64_t file_size, CommitPoint* point, uint32_t* kind) const;
  // Finds the newest valid block, at or before data_end (EndOfData), in a
  // file of file_size bytes.
  Status FindNewestFromEnd(uint64_t data_end, uint64_t file_size);
  // Where the bytes of a file of size bytes end before the zeros it was
  // grown by (see Write), rounded up to kRecordAlign; size when that is
  // not a multiple of kRecordAlign (then no writer grew it).
  Result<uint64_t> EndOfData(uint64_t size) const;
  // Whether a block header's magic is at offset: how a reader learns that
  // blocks follow the newest it knows.
  bool BlockStartsAt(uint64_t offset) const;
  // Whether the kRecordAlign bytes at offset are there and zero.
  bool ZerosAt(uint64_t offset) const;
  // Picks up blocks appended since head_, unless blocks of this process are
  // being synced. Requires mu_.
  Status RefreshLocked();
  // Cuts off what is past written_.end unless it is the zeros this file was
  // grown by. Requires mu_.
  Status FixTail();
  Status EnsureMapped(uint64_t end);  // requires mu_

  std::string path_;
  std::unique_ptr<File> file_;
  uint64_t generation_;
  Salt salt_;
  uint64_t tail_bytes_at_open_ = 0;
  // head_.end, for Latest to read before it takes mu_.
  std::atomic<uint64_t> head_end_{0};

  const std::shared_ptr<VerifiedOffsets> verified_ = std::make_shared<VerifiedOffsets>();

  std::mutex mu_;
  std::shared_ptr<const Mapping> map_;  // Guarded by mu_
  CommitPoint head_;                    // Guarded by mu_; what readers see
  // Guarded by mu_; the newest block written, at or past head_. Past it only
  // while this process holds the writer lock and has blocks being synced,
  // so no other process can have appended after them.
  CommitPoint written_;
  // Guarded by mu_; writer side. The file's size as of the last
  // PrepareAppend or Write, and whether it held nothing but zeros past the
  // newest block when this process last looked through all of it (at open
  // or after cutting it).
  uint64_t size_ = 0;
  bool tail_clean_ = true;
};

}  // namespace kvs

#endif  // KVS_STORE_DATA_FILE_H_
