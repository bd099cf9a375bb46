#include "store/data_file.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "store/coding.h"
#include "store/crc32c.h"
#include "store/format.h"
#include "store/node_arena.h"

namespace kvs {

using namespace format;

namespace {

constexpr size_t kMinMapping = size_t{1} << 30;  // address space, not memory
constexpr size_t kScanChunk = size_t{1} << 20;
// How far past its end the writer keeps the file written with zeros (see
// DataFile::Write).
constexpr uint64_t kZeroAhead = uint64_t{256} << 10;
// What a fresh open reads at a time, looking for where the zeros start and
// checking the newest group's crc: small enough to stay in the cache.
constexpr size_t kReadChunk = size_t{64} << 10;

// The commit a verified trailer t describes; block is where its block
// starts, trailer_at where t is.
CommitPoint CommitPointOf(const char* t, uint64_t block, uint64_t trailer_at) {
  const uint32_t kind = DecodeFixed32(t + 40);
  const uint64_t root = DecodeFixed64(t + 24);
  CommitPoint p;
  p.revision = DecodeFixed64(t + 8);
  p.time_ns = static_cast<int64_t>(DecodeFixed64(t + 16));
  p.block = block;
  p.end = trailer_at + kTrailerSize;
  p.moved = kind == kKindMoved;
  p.moved_to = p.moved ? root : 0;
  p.base = kind == kKindLogged ? root : 0;
  p.root = p.moved || p.logged() ? 0 : root;
  return p;
}

}  // namespace

Mapping::~Mapping() {
  if (data != nullptr) munmap(const_cast<char*>(data), capacity);
}

Result<RecordView> Snapshot::ReadRecord(uint64_t offset) const {
  if (IsVirtual(offset)) {
    if (arena_ && arena_->Holds(offset)) return arena_->ReadRecord(offset);
    for (const auto& pinned : pinned_) {
      if (pinned->Holds(offset)) return pinned->ReadRecord(offset);
    }
    // A tree of another window (an older snapshot's, or one replayed for a
    // past revision), while its holder keeps it.
    if (auto arena = NodeArena::Find(offset)) return arena->ReadRecord(offset);
    return Status::Corruption("node offset " + std::to_string(offset) + " is no longer in memory");
  }
  if (!map_ || offset < kFileHeaderSize || offset >= head_.end) {
    return Status::Corruption("record offset " + std::to_string(offset) +
                              " points outside the committed file");
  }
  bool known = verified_ && verified_->Contains(offset);
  auto rec = ParseRecord(std::string_view(map_->data, head_.end), 0, offset, !known);
  if (rec.ok() && !known && verified_) verified_->Insert(offset);
  return rec;
}

Result<std::string_view> Snapshot::Bytes(uint64_t offset, uint64_t n) const {
  if (!map_ || offset > head_.end || n > head_.end - offset) {
    return Status::Corruption("range past the committed end of the file");
  }
  return std::string_view(map_->data + offset, n);
}

Result<CommitPoint> Snapshot::ReadCommitPoint(uint64_t block) const {
  auto bad = [&] {
    return Status::Corruption("the block at offset " + std::to_string(block) + " is damaged");
  };
  KVS_ASSIGN_OR_RETURN(std::string_view header, Bytes(block, kBlockHeaderSize));
  if (DecodeFixed32(header.data()) != kBlockMagic ||
      Crc32c(0, header.data() + 8, kBlockHeaderSize - 8) != DecodeFixed32(header.data() + 4)) {
    return bad();
  }
  uint64_t trailer_at = block + kBlockHeaderSize + DecodeFixed64(header.data() + 8);
  if (trailer_at < block) return bad();
  KVS_ASSIGN_OR_RETURN(std::string_view t, Bytes(trailer_at, kTrailerSize));
  auto check = TrailerCheck(salt_, t.substr(0, kTrailerCheckedSize));
  if (DecodeFixed32(t.data()) != kTrailerMagic || DecodeFixed64(t.data() + 32) != block ||
      std::memcmp(check.data(), t.data() + kTrailerCheckedSize, check.size()) != 0) {
    return bad();
  }
  return CommitPointOf(t.data(), block, trailer_at);
}

std::string EncodeFileHeader(uint64_t generation, const ReplicaId& replica) {
  std::string h(kDataMagic, sizeof(kDataMagic));
  PutFixed32(&h, kDataFormatVersion);
  PutFixed32(&h, 0);
  PutFixed64(&h, generation);
  h.append(reinterpret_cast<const char*>(replica.bytes.data()), replica.bytes.size());
  h.resize(60, '\0');
  PutFixed32(&h, Crc32c(0, h.data(), 60));
  return h;
}

Result<DataFileHeader> ReadFileHeader(const File& file, const std::string& path) {
  KVS_ASSIGN_OR_RETURN(uint64_t size, file.Size());
  char header[kFileHeaderSize];
  if (size < kFileHeaderSize || !file.Read(0, kFileHeaderSize, header).ok()) {
    return Status::Corruption(path + ": too short to be a kvs data file");
  }
  if (std::memcmp(header, kDataMagic, sizeof(kDataMagic)) != 0 ||
      Crc32c(0, header, 60) != DecodeFixed32(header + 60)) {
    return Status::Corruption(path + ": not a kvs data file (bad magic or header checksum)");
  }
  if (DecodeFixed32(header + 8) != kDataFormatVersion) {
    return Status::Corruption(path + ": data format version " +
                              std::to_string(DecodeFixed32(header + 8)) + " is not supported");
  }
  DataFileHeader h;
  h.generation = DecodeFixed64(header + 16);
  std::memcpy(h.replica.bytes.data(), header + 24, h.replica.bytes.size());
  return h;
}

Result<std::unique_ptr<DataFile>> DataFile::Open(Env* env, const std::string& path,
                                                 uint64_t generation, const Salt& salt,
                                                 const ReplicaId& replica) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<File> file, env->Open(path, /*create=*/false));
  KVS_ASSIGN_OR_RETURN(DataFileHeader header, ReadFileHeader(*file, path));
  if (header.generation != generation || header.replica != replica) {
    return Status::Corruption(path + ": belongs to another store or generation");
  }
  KVS_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::unique_ptr<DataFile> df(new DataFile(path, std::move(file), generation, salt));
  std::lock_guard<std::mutex> lock(df->mu_);
  KVS_ASSIGN_OR_RETURN(uint64_t data_end, df->EndOfData(size));
  KVS_RETURN_IF_ERROR(df->FindNewestFromEnd(data_end, size));
  df->tail_bytes_at_open_ = data_end > df->head_.end ? data_end - df->head_.end : 0;
  df->tail_clean_ = df->tail_bytes_at_open_ == 0;
  df->size_ = size;
  df->written_ = df->head_;
  df->head_end_.store(df->head_.end, std::memory_order_release);
  KVS_RETURN_IF_ERROR(df->EnsureMapped(df->head_.end));
  return df;
}

Result<uint64_t> DataFile::EndOfData(uint64_t size) const {
  // The writer's blocks and zeros both come in whole 8-byte units.
  if (size % kRecordAlign != 0) return size;
  static const std::string zeros(kReadChunk, '\0');
  std::unique_ptr<char[]> chunk(new char[kReadChunk]);
  uint64_t end = size;
  while (end > kFileHeaderSize) {
    const uint64_t from = end - std::min<uint64_t>(kReadChunk, end - kFileHeaderSize);
    size_t n = static_cast<size_t>(end - from);
    KVS_RETURN_IF_ERROR(file_->Read(from, n, chunk.get()));
    if (std::memcmp(chunk.get(), zeros.data(), n) == 0) {
      end = from;
      continue;
    }
    // from is 8-byte aligned: step back a word at a time to the last one
    // with a byte set.
    while (DecodeFixed64(chunk.get() + n - kRecordAlign) == 0) n -= kRecordAlign;
    return from + n;
  }
  return end;
}

bool DataFile::BlockStartsAt(uint64_t offset) const {
  char magic[4];
  return file_->Read(offset, sizeof(magic), magic).ok() && DecodeFixed32(magic) == kBlockMagic;
}

bool DataFile::VerifyBlockAt(uint64_t offset, uint64_t file_size, CommitPoint* point,
                             uint32_t* kind) const {
  char header[kBlockHeaderSize];
  if (offset + kBlockHeaderSize + kTrailerSize > file_size ||
      !file_->Read(offset, kBlockHeaderSize, header).ok()) {
    return false;
  }
  if (DecodeFixed32(header) != kBlockMagic ||
      Crc32c(0, header + 8, kBlockHeaderSize - 8) != DecodeFixed32(header + 4)) {
    return false;
  }
  uint64_t payload = DecodeFixed64(header + 8);
  if (payload > file_size || offset + kBlockHeaderSize + payload + kTrailerSize > file_size) {
    return false;
  }
  return VerifyBlockEndingAt(offset + kBlockHeaderSize + payload, file_size, point, kind) &&
         point->block == offset;
}

bool DataFile::VerifyBlockEndingAt(uint64_t trailer_offset, uint64_t file_size, CommitPoint* point,
                                   uint32_t* kind) const {
  char t[kTrailerSize];
  if (trailer_offset + kTrailerSize > file_size ||
      !file_->Read(trailer_offset, kTrailerSize, t).ok()) {
    return false;
  }
  if (DecodeFixed32(t) != kTrailerMagic) return false;
  auto check = TrailerCheck(salt_, std::string_view(t, kTrailerCheckedSize));
  if (std::memcmp(check.data(), t + kTrailerCheckedSize, check.size()) != 0) return false;
  uint64_t block = DecodeFixed64(t + 32);
  if (block < kFileHeaderSize || block + kBlockHeaderSize > trailer_offset) return false;
  // The trailer is genuine; now the block it closes must be whole.
  char header[kBlockHeaderSize];
  if (!file_->Read(block, kBlockHeaderSize, header).ok() || DecodeFixed32(header) != kBlockMagic ||
      Crc32c(0, header + 8, kBlockHeaderSize - 8) != DecodeFixed32(header + 4) ||
      block + kBlockHeaderSize + DecodeFixed64(header + 8) != trailer_offset) {
    return false;
  }
  uint64_t group_distance = uint64_t{DecodeFixed32(t + 44)} * kRecordAlign;
  if (group_distance > block - kFileHeaderSize) return false;
  uint32_t crc = 0;
  std::unique_ptr<char[]> chunk(new char[kReadChunk]);
  for (uint64_t at = block - group_distance; at < trailer_offset;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, trailer_offset - at));
    if (!file_->Read(at, n, chunk.get()).ok()) return false;
    crc = Crc32c(crc, chunk.get(), n);
    at += n;
  }
  if (crc != DecodeFixed32(t + 4)) return false;
  *kind = DecodeFixed32(t + 40);
  if (*kind != kKindTransaction && *kind != kKindMoved && *kind != kKindPart &&
      *kind != kKindLogged) {
    return false;
  }
  *point = CommitPointOf(t, block, trailer_offset);
  return true;
}

Status DataFile::FindNewestFromEnd(uint64_t data_end, uint64_t file_size) {
  // Common case: the data ends with a valid trailer.
  uint32_t kind = 0;
  if (data_end >= kFileHeaderSize + kTrailerSize &&
      VerifyBlockEndingAt(data_end - kTrailerSize, file_size, &head_, &kind) && kind != kKindPart) {
    return Status::OK();
  }
  // A torn or in-flight tail: look for the last genuine trailer, scanning
  // 8-byte aligned positions backward in chunks. A trailer's last bytes may
  // be zero: start a trailer's length past where the data seemed to end.
  const uint64_t from = std::min(file_size, data_end + kTrailerSize);
  uint64_t pos = from < kTrailerSize ? 0 : (from - kTrailerSize) / kRecordAlign * kRecordAlign;
  std::string chunk;
  while (pos >= kFileHeaderSize) {
    uint64_t lo = pos >= kScanChunk + kFileHeaderSize ? pos - kScanChunk : kFileHeaderSize;
    chunk.resize(static_cast<size_t>(pos - lo + 4));
    KVS_RETURN_IF_ERROR(file_->Read(lo, chunk.size(), chunk.data()));
    for (uint64_t at = pos; at >= lo; at -= kRecordAlign) {
      if (DecodeFixed32(chunk.data() + (at - lo)) == kTrailerMagic &&
          VerifyBlockEndingAt(at, file_size, &head_, &kind) && kind != kKindPart) {
        return Status::OK();
      }
      if (at < kRecordAlign) break;
    }
    if (lo == kFileHeaderSize) break;
    pos = lo - kRecordAlign;
  }
  return Status::Corruption(path_ + ": no valid commit found in the data file");
}

Status DataFile::EnsureMapped(uint64_t end) {
  if (map_ && map_->capacity >= end) return Status::OK();
  size_t capacity = std::max(kMinMapping, static_cast<size_t>(end) * 2);
  void* addr = mmap(nullptr, capacity, PROT_READ, MAP_SHARED, file_->fd(), 0);
  if (addr == MAP_FAILED) {
    return Status::IOError(path_ + ": mmap failed: " + std::strerror(errno));
  }
  map_ = std::make_shared<const Mapping>(static_cast<const char*>(addr), capacity);
  return Status::OK();
}

Status DataFile::RefreshLocked() {
  // Blocks this process wrote and is still syncing sit past head_; nothing
  // else can follow them yet, so there is nothing to pick up meanwhile.
  if (head_.moved || written_.end != head_.end || !BlockStartsAt(head_.end)) return Status::OK();
  KVS_ASSIGN_OR_RETURN(uint64_t size, file_->Size());
  // Parts carry no commit: step over them, and count the state only at the
  // next commit block.
  CommitPoint next;
  uint32_t kind;
  for (uint64_t at = head_.end; !head_.moved && VerifyBlockAt(at, size, &next, &kind);) {
    at = next.end;
    if (kind != kKindPart) head_ = next;
  }
  written_ = head_;
  size_ = size;
  head_end_.store(head_.end, std::memory_order_release);
  return EnsureMapped(head_.end);
}

Result<uint64_t> DataFile::TornTailBytes() {
  std::lock_guard<std::mutex> lock(mu_);
  KVS_RETURN_IF_ERROR(RefreshLocked());
  KVS_ASSIGN_OR_RETURN(uint64_t size, file_->Size());
  KVS_ASSIGN_OR_RETURN(uint64_t data_end, EndOfData(size));
  return data_end > head_.end ? data_end - head_.end : 0;
}

Result<Snapshot> DataFile::Latest() {
  // Whether a block starts past the newest known one is read before taking
  // mu_: readers on many threads would otherwise queue behind one another's
  // system call.
  const bool grown = BlockStartsAt(head_end_.load(std::memory_order_acquire));
  std::lock_guard<std::mutex> lock(mu_);
  if (grown) KVS_RETURN_IF_ERROR(RefreshLocked());
  return Snapshot(map_, head_, salt_, verified_, generation_);
}

Result<Snapshot> DataFile::PrepareAppend() {
  std::lock_guard<std::mutex> lock(mu_);
  // Zeros where the blocks this process knows end say both that no other
  // process appended since (a block starts with its magic) and that the
  // tail is clean: one read instead of two, on every group commit.
  if (!tail_clean_ || !ZerosAt(written_.end)) {
    KVS_RETURN_IF_ERROR(RefreshLocked());
    // A replaced file takes no more blocks: its tail stays as it is.
    if (!head_.moved) KVS_RETURN_IF_ERROR(FixTail());
  }
  return Snapshot(map_, written_, salt_, verified_, generation_);
}

Status DataFile::FixTail() {
  // Past the newest block there are zeros this file was grown by, or what a
  // writer killed mid-write left, from the first byte on (a crash of the
  // machine may leave pieces anywhere, but then the store was opened again
  // since, and that open saw them), or nothing. The size is read only when
  // it is not zeros: measured on Linux 6.18 and ext4, a stat of the file
  // between writes made each fdatasync write the inode too, which cost a
  // third more time per sync.
  if (tail_clean_ && ZerosAt(written_.end)) return Status::OK();
  KVS_ASSIGN_OR_RETURN(uint64_t size, file_->Size());
  if (size > written_.end) KVS_RETURN_IF_ERROR(file_->Truncate(written_.end));
  size_ = written_.end;
  tail_clean_ = true;
  return Status::OK();
}

bool DataFile::ZerosAt(uint64_t offset) const {
  char bytes[kRecordAlign];
  return file_->Read(offset, sizeof(bytes), bytes).ok() && DecodeFixed64(bytes) == 0;
}

Status DataFile::Write(const std::string& blocks, const CommitPoint& last) {
  uint64_t at, size;
  {
    std::lock_guard<std::mutex> lock(mu_);
    at = written_.end;
    size = size_;
  }
  // An fdatasync after an append also writes the inode, for the file's new
  // size; one after overwriting written bytes does not, and took about two
  // thirds of the time (ext4, docs/benchmarks.md). So the file is kept
  // written with zeros up to kZeroAhead past its end, in the same write as
  // the blocks that need it to grow. The zeros come from memory no one
  // writes, which the kernel maps to its one page of zeros: copying the
  // blocks into a buffer with them cost a bulk load a tenth of its time,
  // most of it faulting that buffer's fresh pages in.
  static const char kZeros[kZeroAhead] = {};
  const uint64_t end = at + blocks.size();
  if (end > size) {
    KVS_RETURN_IF_ERROR(file_->WriteThen(at, blocks, std::string_view(kZeros, kZeroAhead)));
    size = end + kZeroAhead;
  } else {
    KVS_RETURN_IF_ERROR(file_->Write(at, blocks));
  }
  std::lock_guard<std::mutex> lock(mu_);
  KVS_RETURN_IF_ERROR(EnsureMapped(last.end));
  written_ = last;
  size_ = size;
  return Status::OK();
}

void DataFile::Publish(const CommitPoint& last) {
  std::lock_guard<std::mutex> lock(mu_);
  if (last.end > head_.end) {
    head_ = last;
    head_end_.store(head_.end, std::memory_order_release);
  }
}

Status DataFile::RollBack() {
  std::lock_guard<std::mutex> lock(mu_);
  written_ = head_;
  KVS_ASSIGN_OR_RETURN(uint64_t size, file_->Size());
  if (size > head_.end) KVS_RETURN_IF_ERROR(file_->Truncate(head_.end));
  size_ = head_.end;
  tail_clean_ = true;
  return file_->Sync();
}

Status DataFile::Append(const std::string& blocks, const CommitPoint& last, bool sync) {
  KVS_RETURN_IF_ERROR(Write(blocks, last));
  if (sync) KVS_RETURN_IF_ERROR(Sync());
  Publish(last);
  return Status::OK();
}

}  // namespace kvs
