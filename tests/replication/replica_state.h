// What two replicas must agree on after replicating, read from each store
// for the replication tests to compare.
#ifndef KVS_TESTS_REPLICATION_REPLICA_STATE_H_
#define KVS_TESTS_REPLICATION_REPLICA_STATE_H_

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "kvs/store.h"

namespace kvs::replication::test {

// Every version id the store holds, in order (revisions differ between
// replicas; ids do not).
inline std::vector<std::string> VersionIds(Store& store) {
  VersionListOptions options;
  options.limit = 1000000;
  auto versions = store.ListVersions(options);
  REQUIRE(versions.ok());
  std::vector<std::string> ids;
  for (const Version& v : *versions) ids.push_back(v.id.Hex());
  return ids;
}

// Every key of every branch ("BRANCH/KEY") with its heads, winner first.
inline std::map<std::string, std::vector<std::string>> AllHeads(Store& store) {
  std::map<std::string, std::vector<std::string>> out;
  auto branches = store.ListBranches();
  REQUIRE(branches.ok());
  for (const BranchInfo& b : *branches) {
    KeyListOptions options;
    options.limit = 1000000;
    options.include_deleted = true;
    auto keys = store.ListKeys(b.name, options);
    REQUIRE(keys.ok());
    for (const KeyState& k : *keys) {
      for (const Version& h : k.heads) out[b.name + "/" + k.winner.key].push_back(h.id.Hex());
    }
  }
  return out;
}

// The same versions, and the same heads for every key of every branch.
inline void RequireSame(Store& a, Store& b) {
  REQUIRE(VersionIds(a) == VersionIds(b));
  REQUIRE(AllHeads(a) == AllHeads(b));
}

}  // namespace kvs::replication::test

#endif  // KVS_TESTS_REPLICATION_REPLICA_STATE_H_
