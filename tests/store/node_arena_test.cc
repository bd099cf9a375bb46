// The in-memory arena of a log window's tree nodes.
#include "store/node_arena.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace kvs::test {
namespace {

// Appends records of varied sizes, each filled with its own byte; returns
// their offsets.
std::vector<uint64_t> Fill(NodeArena* arena, char fill, size_t count) {
  std::vector<uint64_t> offsets;
  for (size_t i = 0; i < count; ++i) {
    offsets.push_back(arena->Append('N', std::string(1 + i % 700, fill)));
  }
  return offsets;
}

}  // namespace

TEST_CASE("an arena reads back what it holds, also in the chunks of an arena gone before it") {
  std::vector<uint64_t> old_offsets;
  {
    auto old_arena = NodeArena::Create();
    old_offsets = Fill(old_arena.get(), 'a', 6000);  // a few 1 MiB chunks
    CHECK(old_arena->bytes() > (uint64_t{2} << 20));
  }
  auto arena = NodeArena::Create();  // takes the chunks the old one left
  const std::vector<uint64_t> offsets = Fill(arena.get(), 'b', 6000);
  for (size_t i = 0; i < offsets.size(); ++i) {
    Result<RecordView> r = arena->ReadRecord(offsets[i]);
    REQUIRE(r.ok());
    CHECK(r->type == 'N');
    CHECK(r->body == std::string(1 + i % 700, 'b'));
  }
  // Offsets name their arena: the old one's are no longer anyone's.
  CHECK_FALSE(arena->ReadRecord(old_offsets[0]).ok());
  CHECK(NodeArena::Find(old_offsets[0]) == nullptr);
  CHECK(NodeArena::Find(offsets[0]) == arena);
}

TEST_CASE("a record larger than a chunk gets an allocation of its own") {
  auto arena = NodeArena::Create();
  const uint64_t small = arena->Append('N', "small");
  const std::string big((uint64_t{3} << 20) / 2 * 3, 'z');  // 4.5 MiB
  const uint64_t large = arena->Append('N', big);
  const uint64_t after = arena->Append('N', "after");
  CHECK(arena->ReadRecord(small)->body == "small");
  CHECK(arena->ReadRecord(large)->body == big);
  CHECK(arena->ReadRecord(after)->body == "after");
}

}  // namespace kvs::test
