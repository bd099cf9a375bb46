// Compaction's map from old offsets to new ones.
#include "store/offset_map.h"

#include <catch2/catch.hpp>
#include <random>
#include <unordered_map>

namespace kvs::test {

TEST_CASE("an offset map keeps what a std::unordered_map would, through its growth") {
  OffsetMap map;
  std::unordered_map<uint64_t, uint64_t> model;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 50000; ++i) {
    // Offsets as a file has them (multiples of 16), close enough to meet
    // again, and now and then the same slot's neighbours.
    const uint64_t key = (rng() % 40000) * 16;
    const uint64_t value = rng();
    map[key] = value;
    model[key] = value;
  }
  CHECK(map.size() == model.size());
  for (const auto& [key, value] : model) {
    const uint64_t* found = map.Find(key);
    REQUIRE(found != nullptr);
    CHECK(*found == value);
  }
  for (uint64_t key = 8; key < 40000 * 16; key += 16) CHECK_FALSE(map.Contains(key));
}

TEST_CASE("an offset map adds a key read through [] as 0, and takes 0 as a key") {
  OffsetMap map;
  map.Reserve(1000);
  CHECK_FALSE(map.Contains(0));
  CHECK(map[0] == 0);
  CHECK(map.Contains(0));
  map[96] = 4096;
  CHECK(*map.Find(96) == 4096);
  CHECK(map.Find(112) == nullptr);
  CHECK(map.size() == 2);
}

}  // namespace kvs::test
