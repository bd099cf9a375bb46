#include "common/key_hash.h"

#include <algorithm>
#include <charconv>

namespace kvs::common {

uint32_t MurmurHash2(std::string_view data) {
  constexpr uint32_t kMultiplier = 0x5bd1e995;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t len = data.size();
  uint32_t h = static_cast<uint32_t>(len);
  while (len >= 4) {
    uint32_t k = p[0] | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
    k *= kMultiplier;
    k ^= k >> 24;
    k *= kMultiplier;
    h *= kMultiplier;
    h ^= k;
    p += 4;
    len -= 4;
  }
  switch (len) {
    case 3:
      h ^= uint32_t{p[2]} << 16;
      [[fallthrough]];
    case 2:
      h ^= uint32_t{p[1]} << 8;
      [[fallthrough]];
    case 1:
      h ^= p[0];
      h *= kMultiplier;
  }
  h ^= h >> 13;
  h *= kMultiplier;
  h ^= h >> 15;
  return h;
}

bool KeyInRanges(std::string_view key, const HashRanges& ranges) {
  const uint32_t hash = MurmurHash2(key);
  for (const HashRange& range : ranges) {
    if (hash >= range.lo && hash < range.hi) return true;
  }
  return false;
}

HashRanges IntersectRanges(const HashRanges& a, const HashRanges& b) {
  HashRanges both;
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const uint64_t lo = std::max<uint64_t>(a[i].lo, b[j].lo);
    const uint64_t hi = std::min(a[i].hi, b[j].hi);
    if (lo < hi) both.push_back({static_cast<uint32_t>(lo), hi});
    (a[i].hi < b[j].hi ? i : j) += 1;
  }
  return both;
}

HashRanges UniteRanges(const HashRanges& a, const HashRanges& b) {
  HashRanges all = a;
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end(),
            [](const HashRange& x, const HashRange& y) { return x.lo < y.lo; });
  HashRanges either;
  for (const HashRange& range : all) {
    if (!either.empty() && range.lo <= either.back().hi) {
      either.back().hi = std::max(either.back().hi, range.hi);
    } else {
      either.push_back(range);
    }
  }
  return either;
}

std::string HashRangesText(const HashRanges& ranges) {
  std::string text;
  for (const HashRange& range : ranges) {
    if (!text.empty()) text += ",";
    text += std::to_string(range.lo) + "-" + std::to_string(range.hi);
  }
  return text;
}

Result<HashRanges> HashRangesFromText(std::string_view text) {
  HashRanges ranges;
  auto bad = [&] {
    return Status::InvalidArgument("hash ranges '" + std::string(text) +
                                   "' are not lo-hi,... in increasing order, below 4294967297");
  };
  if (text.ends_with(',')) return bad();
  size_t at = 0;
  uint64_t previous_hi = 0;
  while (at < text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string_view item = text.substr(at, comma - at);
    const size_t dash = item.find('-');
    if (dash == std::string_view::npos) return bad();
    uint64_t lo = 0;
    uint64_t hi = 0;
    const auto lo_end = item.data() + dash;
    const auto hi_end = item.data() + item.size();
    auto [lo_at, lo_error] = std::from_chars(item.data(), lo_end, lo);
    auto [hi_at, hi_error] = std::from_chars(lo_end + 1, hi_end, hi);
    if (lo_error != std::errc() || lo_at != lo_end || hi_error != std::errc() || hi_at != hi_end ||
        lo >= hi || hi > (uint64_t{1} << 32) || (!ranges.empty() && lo < previous_hi)) {
      return bad();
    }
    ranges.push_back({static_cast<uint32_t>(lo), hi});
    previous_hi = hi;
    at = comma + 1;
  }
  return ranges;
}

}  // namespace kvs::common
