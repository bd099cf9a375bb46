// Forks that replication creates, merged by the receiver's merge rules:
// the same merge version (same id) on every replica that merges the same
// fork, whatever order the replicas meet in, and forks left alone where no
// rule makes a value.
#include "replication/fork_merge.h"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <tuple>

#include "replication/local_peer.h"
#include "replication/replicator.h"
#include "tests/replication/replica_state.h"
#include "tests/store/test_util.h"

namespace kvs::replication {
namespace {

using kvs::replication::test::VersionIds;
using kvs::test::MustPut;
using kvs::test::OpenStore;
using kvs::test::TempDir;
using kvs::test::ValueOf;

const std::vector<merge::MergeRule> kRules = {{"counters/*", merge::MergeFunction::kCounter},
                                              {"notes/*", merge::MergeFunction::kText},
                                              {"kept/*", merge::MergeFunction::kKeep}};

// Copies from into to, to merging forks by kRules.
ReplicateStats Pull(Store& from, Store& to) {
  LocalPeer source(from), target(to, {kRules});
  auto stats = Replicate(source, target, {});
  REQUIRE(stats.ok());
  return *stats;
}

std::vector<std::string> HeadIds(Store& store, const std::string& key) {
  auto state = store.Get("main", key);
  REQUIRE(state.ok());
  std::vector<std::string> ids;
  for (const Version& h : state->heads) ids.push_back(h.id.Hex());
  return ids;
}

// Stores a and b that share key's first version, then each wrote its own
// value over it: a fork once they meet.
void Diverge(Store& a, Store& b, const std::string& key, const std::string& base,
             const std::string& on_a, const std::string& on_b) {
  MustPut(&a, key, base);
  Pull(a, b);
  MustPut(&a, key, on_a);
  MustPut(&b, key, on_b);
}

}  // namespace

TEST_CASE("a fork a pull creates is merged by the key's rule, and travels back as one head") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  Diverge(*a, *b, "counters/hits", "10", "15", "13");

  ReplicateStats pulled = Pull(*a, *b);
  CHECK(pulled.merged == std::set<std::string>{"counters/hits"});
  CHECK(pulled.forked.empty());
  CHECK(ValueOf(b.get(), "counters/hits") == "18");
  REQUIRE(HeadIds(*b, "counters/hits").size() == 1);

  // The merge version names both heads; no replica wrote it.
  auto merged = b->GetVersion(*Hash::FromHex(HeadIds(*b, "counters/hits")[0]), true);
  REQUIRE(merged.ok());
  CHECK(merged->parents.size() == 2);
  CHECK(merged->replica == ReplicaId());

  Pull(*b, *a);
  CHECK(HeadIds(*a, "counters/hits") == HeadIds(*b, "counters/hits"));
  CHECK(VersionIds(*a) == VersionIds(*b));
}

TEST_CASE("two replicas merging the same fork apart make the same version") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  auto c = OpenStore(dir.Sub("c"));
  Diverge(*a, *b, "counters/hits", "10", "15", "13");
  MustPut(a.get(), "notes/todo", "milk\neggs\nbread\n");
  Pull(*a, *b);
  MustPut(a.get(), "notes/todo", "oat milk\neggs\nbread\n");
  MustPut(b.get(), "notes/todo", "milk\neggs\nrye bread\n");
  // c has b's side only; then a's side reaches b and c separately, and each
  // merges on its own.
  Pull(*b, *c);
  Pull(*a, *b);
  Pull(*a, *c);
  for (const char* key : {"counters/hits", "notes/todo"}) {
    INFO(key);
    REQUIRE(HeadIds(*b, key).size() == 1);
    CHECK(HeadIds(*c, key) == HeadIds(*b, key));
  }
  CHECK(ValueOf(c.get(), "notes/todo") == "oat milk\neggs\nrye bread\n");
  CHECK(VersionIds(*b) == VersionIds(*c));
}

TEST_CASE("forks whose rule cannot make a value stay forks") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  MustPut(a.get(), "notes/clash", "one\n");
  MustPut(a.get(), "kept/x", "1");
  MustPut(a.get(), "plain", "p");
  Pull(*a, *b);
  for (auto [key, on_a, on_b] : {std::tuple{"notes/clash", "two\n", "three\n"},  // both edit line 1
                                 std::tuple{"kept/x", "2", "3"},            // keep: a visible fork
                                 std::tuple{"plain", "pa", "pb"}}) {        // no rule: reject
    MustPut(a.get(), key, on_a);
    MustPut(b.get(), key, on_b);
  }
  ReplicateStats pulled = Pull(*a, *b);
  CHECK(pulled.merged.empty());
  CHECK(pulled.forked == std::set<std::string>{"kept/x", "notes/clash", "plain"});
  for (const char* key : {"notes/clash", "kept/x", "plain"}) {
    INFO(key);
    CHECK(HeadIds(*b, key).size() == 2);
  }
}

TEST_CASE("replicas merging a many-sided fork in any order converge on one head") {
  // Four replicas each add to a counter from the same start, then meet in a
  // random order of pulls, each merging what it receives, until nothing
  // moves: one head everywhere, the same versions, and every increment
  // counted once. (The increments differ in every digit: a counter, like
  // every merge function, takes two sides with equal values as one change.)
  const unsigned seed = GENERATE(range(1u, 21u));
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  TempDir dir;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < 4; ++i) stores.push_back(OpenStore(dir.Sub("s" + std::to_string(i))));
  MustPut(stores[0].get(), "counters/n", "100");
  for (int i = 1; i < 4; ++i) Pull(*stores[0], *stores[i]);
  const int added[] = {1, 10, 100, 1000};
  for (int i = 0; i < 4; ++i) {
    MustPut(stores[i].get(), "counters/n", std::to_string(100 + added[i]));
  }
  for (int step = 0; step < 12; ++step) {
    const size_t from = rng() % 4, to = (from + 1 + rng() % 3) % 4;
    Pull(*stores[from], *stores[to]);
  }
  // Then all pairs until quiet.
  for (int round = 0; round < 4; ++round) {
    for (size_t from = 0; from < 4; ++from) {
      for (size_t to = 0; to < 4; ++to) {
        if (from != to) Pull(*stores[from], *stores[to]);
      }
    }
  }
  for (int i = 0; i < 4; ++i) {
    INFO("replica " << i);
    CHECK(HeadIds(*stores[i], "counters/n").size() == 1);
    CHECK(HeadIds(*stores[i], "counters/n") == HeadIds(*stores[0], "counters/n"));
    CHECK(VersionIds(*stores[i]) == VersionIds(*stores[0]));
    CHECK(ValueOf(stores[i].get(), "counters/n") == "1211");
  }
}

}  // namespace kvs::replication
