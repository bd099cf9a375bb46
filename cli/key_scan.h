// Walking the keys of a branch in pages, so that listing or exporting a
// store of any size holds at most one page of keys and one value in memory.
#ifndef KVS_CLI_KEY_SCAN_H_
#define KVS_CLI_KEY_SCAN_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "kvs/store.h"

namespace kvs::cli {

struct KeyRange {
  std::string gt;                // only keys after this ("" : from the first)
  std::string lt;                // only keys before this ("" : to the last)
  std::optional<size_t> limit;   // at most this many
  bool include_deleted = false;  // ForEachKey: keys whose winner is a deletion too
};

// Calls visit for each key of branch within range that has a value at
// `at` (keys whose winner is a deletion are skipped unless
// range.include_deleted), in byte order. With
// with_values, winner.value is filled, read at the same point. Stops at
// the first error, the store's or visit's.
Status ForEachKey(Store& store, std::string_view branch, const KeyRange& range, const ReadPoint& at,
                  bool with_values, const std::function<Status(const KeyState&)>& visit);

// Every version in the store with an id in (gt, lt) (hex prefixes, "" for
// no bound), by id, at most limit of them; values not filled.
Status ForEachVersion(Store& store, const KeyRange& range,
                      const std::function<Status(const Version&)>& visit);

}  // namespace kvs::cli

#endif  // KVS_CLI_KEY_SCAN_H_
