// Keys as folders: a listing with a delimiter, as object stores answer it.
//
// With prefix "a/" and delimiter "/", the keys "a/x" and "a/y" are listed,
// while "a/b/1" and "a/b/2" show up once, as the sub-prefix "a/b/". Each
// sub-prefix costs one seek past its keys, so a folder with a few children
// lists in O(children), however many keys lie below them.
#ifndef KVS_FACES_LISTING_KEY_NAMESPACE_H_
#define KVS_FACES_LISTING_KEY_NAMESPACE_H_

#include <string>
#include <vector>

#include "kvs/store.h"

namespace kvs::server {

struct NamespacePage {
  std::vector<KeyState> keys;         // direct children, in key order
  std::vector<std::string> prefixes;  // sub-prefixes, each ending with the delimiter
  // Whether more entries follow: list again with after = the last entry
  // (a key or a prefix) of this page.
  bool more = false;
  std::string last;  // the last entry listed ("" when none)
};

// What a listing holds besides the live keys' names (KeyListOptions).
struct NamespaceShows {
  bool values = false;         // with_values
  bool hidden_writes = false;  // include_hidden_writes
};

// Up to limit entries (keys and sub-prefixes together, in order) of branch
// below prefix, after `after`. An empty delimiter lists every key below
// prefix.
Result<NamespacePage> ListNamespace(Store& store, const std::string& branch,
                                    const std::string& prefix, const std::string& delimiter,
                                    const std::string& after, size_t limit,
                                    NamespaceShows shows = {});

}  // namespace kvs::server

#endif  // KVS_FACES_LISTING_KEY_NAMESPACE_H_
