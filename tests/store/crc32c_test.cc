// Crc32c: the instruction's three streams, joined, give the CRC a table
// gives a byte at a time, at every length and split.
#include "store/crc32c.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>

namespace kvs {
namespace {

TEST_CASE("Crc32c matches the published check value") {
  const std::string digits = "123456789";
  CHECK(Crc32c(0, digits.data(), digits.size()) == 0xe3069283);
  CHECK(Crc32cByTable(0, digits.data(), digits.size()) == 0xe3069283);
  CHECK(Crc32c(0, nullptr, 0) == 0);
}

TEST_CASE("Crc32c gives the table's CRC at every length, continued or not") {
  std::mt19937_64 rng(11);
  std::string data(40000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  // Around the three-stream sizes (3 x 64, 3 x 256, 3 x 4096) and far past.
  for (size_t n = 0; n <= data.size(); n += (n < 13000 ? 1 : 997)) {
    INFO("length " << n);
    const uint32_t want = Crc32cByTable(0, data.data(), n);
    REQUIRE(Crc32c(0, data.data(), n) == want);
    const size_t split = rng() % (n + 1);
    REQUIRE(Crc32c(Crc32c(0, data.data(), split), data.data() + split, n - split) == want);
    // Any start within a word.
    const size_t skip = n % 8;
    REQUIRE(Crc32c(0, data.data() + skip, n - skip) ==
            Crc32cByTable(0, data.data() + skip, n - skip));
  }
}

}  // namespace
}  // namespace kvs
