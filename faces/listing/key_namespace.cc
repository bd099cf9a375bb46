// Listing keys and sub-prefixes below a prefix.
#include "faces/listing/key_namespace.h"

namespace kvs::server {
namespace {

// Sorts after every key that starts with prefix: keys are UTF-8, which never
// holds the byte 0xFF.
std::string PastEveryKeyUnder(const std::string& prefix) { return prefix + '\xff'; }

}  // namespace

Result<NamespacePage> ListNamespace(Store& store, const std::string& branch,
                                    const std::string& prefix, const std::string& delimiter,
                                    const std::string& after, size_t limit, NamespaceShows shows) {
  NamespacePage page;
  KeyListOptions options;
  options.prefix = prefix;
  options.with_values = shows.values;
  options.include_hidden_writes = shows.hidden_writes;
  // A page that ended on a sub-prefix continues after all its keys.
  options.start_after = !delimiter.empty() && !after.empty() && after.ends_with(delimiter) &&
                                after.starts_with(prefix)
                            ? PastEveryKeyUnder(after)
                            : after;
  size_t listed = 0;
  while (listed <= limit) {
    options.limit = limit + 1 - listed;
    KVS_ASSIGN_OR_RETURN(std::vector<KeyState> batch, store.ListKeys(branch, options));
    if (batch.empty()) break;
    bool skipped = false;
    for (KeyState& state : batch) {
      const std::string& key = state.winner.key;
      size_t cut = delimiter.empty() ? std::string::npos : key.find(delimiter, prefix.size());
      if (listed == limit) {
        page.more = true;
        return page;
      }
      ++listed;
      if (cut == std::string::npos) {
        page.last = key;
        page.keys.push_back(std::move(state));
        continue;
      }
      // A sub-prefix: listed once, then the listing jumps past its keys.
      page.last = key.substr(0, cut + delimiter.size());
      page.prefixes.push_back(page.last);
      options.start_after = PastEveryKeyUnder(page.last);
      skipped = true;
      break;
    }
    if (!skipped) {
      if (batch.size() < options.limit) break;  // the end of the keys below prefix
      options.start_after = page.last;
    }
  }
  return page;
}

}  // namespace kvs::server
