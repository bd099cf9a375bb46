#include "fuzz/store_seal.h"

#include <cstring>

#include "store/coding.h"
#include "store/crc32c.h"
#include "store/format.h"
#include "store/record.h"

namespace kvs::fuzz {

using namespace format;

void SealIdentityFile(std::string* store_file) {
  if (store_file->size() != kStoreFileSize) return;
  char* p = store_file->data();
  EncodeFixed32(p + 56, Crc32c(0, p, 56));
}

namespace {

// Fixes the crc of every record in the payload [begin, end); stops at the
// first whose length does not fit.
void SealRecords(char* file, uint64_t begin, uint64_t end) {
  for (uint64_t at = begin; at + kRecordHeaderSize <= end;) {
    char* p = file + at;
    uint32_t length = DecodeFixed32(p + 8);
    if (length < kRecordHeaderSize || length > end - at) return;
    EncodeFixed32(p, Crc32c(0, p + 4, length - 4));
    at += (length + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
  }
}

}  // namespace

void SealDataFile(std::string* data_file, uint64_t generation, const ReplicaId& replica,
                  const Salt& salt) {
  const uint64_t size = data_file->size();
  if (size < kFileHeaderSize) return;
  char* file = data_file->data();
  EncodeFixed64(file + 16, generation);
  std::memcpy(file + 24, replica.bytes.data(), replica.bytes.size());
  EncodeFixed32(file + 60, Crc32c(0, file, 60));

  for (uint64_t block = kFileHeaderSize; block + kBlockHeaderSize + kTrailerSize <= size;) {
    char* header = file + block;
    uint64_t payload = DecodeFixed64(header + 8);
    if (DecodeFixed32(header) != kBlockMagic ||
        payload > size - block - kBlockHeaderSize - kTrailerSize) {
      return;
    }
    uint64_t trailer_at = block + kBlockHeaderSize + payload;
    SealRecords(file, block + kBlockHeaderSize, trailer_at);
    EncodeFixed32(header + 4, Crc32c(0, header + 8, kBlockHeaderSize - 8));

    char* trailer = file + trailer_at;
    if (DecodeFixed32(trailer) != kTrailerMagic) return;
    uint64_t group_distance = uint64_t{DecodeFixed32(trailer + 44)} * kRecordAlign;
    if (group_distance <= block - kFileHeaderSize) {
      uint64_t group = block - group_distance;
      EncodeFixed32(trailer + 4, Crc32c(0, file + group, trailer_at - group));
    }
    auto check = TrailerCheck(salt, std::string_view(trailer, kTrailerCheckedSize));
    std::memcpy(trailer + kTrailerCheckedSize, check.data(), check.size());
    block = trailer_at + kTrailerSize;
  }
}

}  // namespace kvs::fuzz
