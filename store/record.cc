#include "store/record.h"

#include <sys/mman.h>

#include <cstring>
#include <new>

#include "store/coding.h"
#include "store/crc32c.h"
#include "store/format.h"
#include "store/sha256.h"

namespace kvs {

VerifiedOffsets::VerifiedOffsets() {
  void* slots = mmap(nullptr, kSlots * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (slots == MAP_FAILED) throw std::bad_alloc();
  slots_ = static_cast<uint64_t*>(slots);
}

VerifiedOffsets::~VerifiedOffsets() { munmap(slots_, kSlots * sizeof(uint64_t)); }

Result<RecordView> ParseRecord(std::string_view bytes, uint64_t base, uint64_t offset,
                               bool verify_crc) {
  using namespace format;
  if (offset < base || offset % kRecordAlign != 0 ||
      offset - base + kRecordHeaderSize > bytes.size()) {
    return Status::Corruption("record offset " + std::to_string(offset) + " is out of bounds");
  }
  const char* p = bytes.data() + (offset - base);
  uint32_t length = DecodeFixed32(p + 8);
  if (length < kRecordHeaderSize || length > bytes.size() - (offset - base)) {
    return Status::Corruption("record at offset " + std::to_string(offset) + " has bad length");
  }
  if (verify_crc && Crc32c(0, p + 4, length - 4) != DecodeFixed32(p)) {
    return Status::Corruption("record at offset " + std::to_string(offset) + " fails its checksum");
  }
  return RecordView{p[4], std::string_view(p + kRecordHeaderSize, length - kRecordHeaderSize)};
}

uint64_t RecordFileBytes(size_t body_size) {
  using namespace format;
  return (kRecordHeaderSize + body_size + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
}

void BlockBuilder::BeginBlock() {
  block_start_ = end();
  bytes_.append(format::kBlockHeaderSize, '\0');
}

uint64_t BlockBuilder::Append(char type, std::string_view body) {
  using namespace format;
  if (part_limit_ != 0 && end() - block_start_ >= part_limit_) {
    EndBlock(0, 0, 0, kKindPart);
    group_start_ = end();
    group_crc_ = 0;
    group_crc_end_ = group_start_;
    BeginBlock();
  }
  uint64_t offset = end();
  size_t at = bytes_.size();
  uint32_t length = static_cast<uint32_t>(kRecordHeaderSize + body.size());
  bytes_.append(kRecordHeaderSize, '\0');
  bytes_[at + 4] = type;
  EncodeFixed32(&bytes_[at + 8], length);
  bytes_.append(body);
  EncodeFixed32(&bytes_[at], Crc32c(0, bytes_.data() + at + 4, length - 4));
  bytes_.append((kRecordAlign - bytes_.size() % kRecordAlign) % kRecordAlign, '\0');
  return offset;
}

uint64_t BlockBuilder::EndBlock(uint64_t revision, int64_t time_ns, uint64_t root, uint32_t kind) {
  using namespace format;
  size_t h = static_cast<size_t>(block_start_ - start_);
  size_t payload_at = h + kBlockHeaderSize;
  uint64_t payload = bytes_.size() - payload_at;
  EncodeFixed32(&bytes_[h], kBlockMagic);
  EncodeFixed64(&bytes_[h + 8], payload);
  EncodeFixed64(&bytes_[h + 16], revision);
  superseded_closed_ += superseded_open_;
  superseded_open_ = 0;
  EncodeFixed64(&bytes_[h + 24], kSupersededCounted | superseded_closed_);
  EncodeFixed32(&bytes_[h + 4], Crc32c(0, bytes_.data() + h + 8, kBlockHeaderSize - 8));
  size_t t = bytes_.size();
  group_crc_ =
      Crc32c(group_crc_, bytes_.data() + (group_crc_end_ - start_), end() - group_crc_end_);
  PutFixed32(&bytes_, kTrailerMagic);
  PutFixed32(&bytes_, group_crc_);
  PutFixed64(&bytes_, revision);
  PutFixed64(&bytes_, static_cast<uint64_t>(time_ns));
  PutFixed64(&bytes_, root);
  PutFixed64(&bytes_, block_start_);
  PutFixed32(&bytes_, kind);
  PutFixed32(&bytes_, static_cast<uint32_t>((block_start_ - group_start_) / kRecordAlign));
  auto check = TrailerCheck(salt_, std::string_view(bytes_.data() + t, kTrailerCheckedSize));
  bytes_.append(reinterpret_cast<const char*>(check.data()), check.size());
  group_crc_ = Crc32c(group_crc_, bytes_.data() + t, kTrailerSize);
  group_crc_end_ = end();
  return end();
}

void BlockBuilder::DropClosed() {
  bytes_.erase(0, static_cast<size_t>(group_start_ - start_));
  start_ = group_start_;
}

void BlockBuilder::AbortBlock() {
  bytes_.resize(static_cast<size_t>(block_start_ - start_));
  superseded_open_ = 0;
}

Result<RecordView> BlockBuilder::ReadRecord(uint64_t offset) const {
  return ParseRecord(bytes_, start_, offset);
}

std::array<uint8_t, 16> TrailerCheck(const std::array<uint8_t, 16>& salt,
                                     std::string_view checked) {
  std::string input(reinterpret_cast<const char*>(salt.data()), salt.size());
  input.append(checked);
  Hash h = Sha256(input);
  std::array<uint8_t, 16> out;
  std::memcpy(out.data(), h.bytes.data(), out.size());
  return out;
}

}  // namespace kvs
