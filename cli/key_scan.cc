// Paged walks over keys and versions.
#include "cli/key_scan.h"

#include <algorithm>
#include <limits>

namespace kvs::cli {
namespace {

constexpr size_t kPageSize = 1000;

}  // namespace

Status ForEachKey(Store& store, std::string_view branch, const KeyRange& range, const ReadPoint& at,
                  bool with_values, const std::function<Status(const KeyState&)>& visit) {
  size_t left = range.limit.value_or(std::numeric_limits<size_t>::max());
  KeyListOptions options;
  options.start_after = range.gt;
  options.at = at;
  options.include_deleted = range.include_deleted;
  while (left > 0) {
    options.limit = std::min(left, kPageSize);
    KVS_ASSIGN_OR_RETURN(std::vector<KeyState> page, store.ListKeys(branch, options));
    for (KeyState& state : page) {
      std::string key = state.winner.key;
      if (!range.lt.empty() && key >= range.lt) return Status::OK();
      // Values are read one at a time: a page of them could be gigabytes.
      if (with_values) {
        KVS_ASSIGN_OR_RETURN(state, store.Get(branch, key, at));
      }
      KVS_RETURN_IF_ERROR(visit(state));
      --left;
    }
    if (page.size() < options.limit) return Status::OK();
    options.start_after = page.back().winner.key;
  }
  return Status::OK();
}

Status ForEachVersion(Store& store, const KeyRange& range,
                      const std::function<Status(const Version&)>& visit) {
  size_t left = range.limit.value_or(std::numeric_limits<size_t>::max());
  VersionListOptions options;
  options.gt = range.gt;
  options.lt = range.lt;
  while (left > 0) {
    options.limit = std::min(left, kPageSize);
    KVS_ASSIGN_OR_RETURN(std::vector<Version> page, store.ListVersions(options));
    for (const Version& version : page) {
      KVS_RETURN_IF_ERROR(visit(version));
      --left;
    }
    if (page.size() < options.limit) return Status::OK();
    options.gt = page.back().id.Hex();
  }
  return Status::OK();
}

}  // namespace kvs::cli
