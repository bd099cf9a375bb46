// The hash that places a key in a cluster, and sets of its values.
//
// nginx's split_clients hashes with MurmurHash2 (ngx_murmur_hash2), and a
// kvs cluster routes keys with split_clients (common/cluster_map.h), so a
// set of keys one shard owns is a set of ranges of this hash. Replication
// filters by such ranges (ReplicateOptions::hash_ranges) to copy only the
// keys whose owner changes in a view change.
#ifndef KVS_COMMON_KEY_HASH_H_
#define KVS_COMMON_KEY_HASH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kvs/status.h"

namespace kvs::common {

// nginx's MurmurHash2 (ngx_murmur_hash2): seed 0, little-endian words.
uint32_t MurmurHash2(std::string_view data);

// The hashes from lo up to, not including, hi (at most 2^32). A list of
// them is in increasing order, without overlap.
struct HashRange {
  uint32_t lo = 0;
  uint64_t hi = 0;
  bool operator==(const HashRange&) const = default;
};
using HashRanges = std::vector<HashRange>;

// Whether key's MurmurHash2 falls in one of ranges.
bool KeyInRanges(std::string_view key, const HashRanges& ranges);

// The hashes in both; in either.
HashRanges IntersectRanges(const HashRanges& a, const HashRanges& b);
HashRanges UniteRanges(const HashRanges& a, const HashRanges& b);

// "lo-hi,lo-hi" in decimal, as a checkpoint's name and the protocol write
// them; "" for none.
std::string HashRangesText(const HashRanges& ranges);
// InvalidArgument unless each range is lo-hi with lo < hi <= 2^32, in
// increasing order without overlap.
Result<HashRanges> HashRangesFromText(std::string_view text);

}  // namespace kvs::common

#endif  // KVS_COMMON_KEY_HASH_H_
