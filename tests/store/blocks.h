// Blocks: the blocks of a store's data file as the store tests read them
// (store/format.h), for tests that check what kind of block a write made
// and what it holds. Header-only: it needs the engine's compiled code
// (RecordFileBytes), which the store tests link and the test support
// library does not.
#ifndef KVS_TESTS_STORE_BLOCKS_H_
#define KVS_TESTS_STORE_BLOCKS_H_

#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "store/coding.h"
#include "store/format.h"
#include "store/record.h"

namespace kvs::test {

struct BlockInfo {
  uint64_t offset;
  uint32_t kind;
  uint64_t root;  // the trailer's root field: a logged block's base
  uint64_t revision;
  std::string record_types;  // of the records in its payload, in order
  std::string edit_body;     // the body of its edit record ('E'), if any
};

// Every block of a closed (or idle) store's data file, in order, up to the
// zeros kept ahead of its end.
inline std::vector<BlockInfo> Blocks(const std::string& dir,
                                     const std::string& file = "data.000001") {
  std::ifstream in(dir + "/" + file, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<BlockInfo> blocks;
  for (uint64_t at = format::kFileHeaderSize;
       at + format::kBlockHeaderSize <= data.size() && DecodeFixed32(data.data() + at) != 0;) {
    const uint64_t trailer = at + format::kBlockHeaderSize + DecodeFixed64(data.data() + at + 8);
    REQUIRE(trailer + format::kTrailerSize <= data.size());
    std::string types, edit_body;
    for (uint64_t r = at + format::kBlockHeaderSize; r < trailer;) {
      types.push_back(data[r + 4]);
      const uint64_t body = DecodeFixed32(data.data() + r + 8) - format::kRecordHeaderSize;
      if (data[r + 4] == format::kEditRecord) {
        edit_body = data.substr(r + format::kRecordHeaderSize, body);
      }
      r += RecordFileBytes(body);
    }
    blocks.push_back({at, DecodeFixed32(data.data() + trailer + 40),
                      DecodeFixed64(data.data() + trailer + 24),
                      DecodeFixed64(data.data() + trailer + 8), types, edit_body});
    at = trailer + format::kTrailerSize;
  }
  return blocks;
}

}  // namespace kvs::test

#endif  // KVS_TESTS_STORE_BLOCKS_H_
