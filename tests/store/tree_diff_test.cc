// TreeDiff (store/btree.h) against the difference of two std::map models:
// it reports exactly the differing keys and reads a number of nodes that
// follows the differences, not the size of the trees. And the garbage trees
// leave: what a flush counts as superseded, and UnsharedBytes, each against
// a full walk of the trees.
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "store/btree.h"
#include "store/coding.h"
#include "store/format.h"
#include "tests/store/tree_model.h"

namespace kvs::tree_test {
namespace {

// What TreeDiff reports, and what it should report: the keys in [begin,
// end) whose values differ, with the value on each side.
struct DiffRow {
  std::string key;
  std::optional<std::string> a, b;  // nullopt: absent on that side
  bool operator==(const DiffRow&) const = default;
};

std::ostream& operator<<(std::ostream& out, const DiffRow& row) {
  auto side = [](const std::optional<std::string>& v) { return v ? Hex(*v) : "(absent)"; };
  return out << Hex(row.key) << ": " << side(row.a) << " -> " << side(row.b);
}

std::vector<DiffRow> DiffTrees(const RecordSource& source, uint64_t a, uint64_t b,
                               std::string_view begin = "", std::string_view end = "") {
  std::vector<DiffRow> rows;
  Status s = TreeDiff(source, a, b, begin, end,
                      [&](std::string_view key, std::optional<std::string_view> va,
                          std::optional<std::string_view> vb) {
                        auto own = [](std::optional<std::string_view> v) {
                          return v ? std::optional<std::string>(*v) : std::nullopt;
                        };
                        rows.push_back({std::string(key), own(va), own(vb)});
                        return Status::OK();
                      });
  INFO(s.ToString());
  REQUIRE(s.ok());
  return rows;
}

std::vector<DiffRow> DiffModels(const Model& a, const Model& b, const std::string& begin = "",
                                const std::string& end = "") {
  std::vector<DiffRow> rows;
  auto in_range = [&](const std::string& k) { return k >= begin && (end.empty() || k < end); };
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
      if (in_range(ia->first)) rows.push_back({ia->first, ia->second, std::nullopt});
      ++ia;
    } else if (ia == a.end() || ib->first < ia->first) {
      if (in_range(ib->first)) rows.push_back({ib->first, std::nullopt, ib->second});
      ++ib;
    } else {
      if (ia->second != ib->second && in_range(ia->first)) {
        rows.push_back({ia->first, ia->second, ib->second});
      }
      ++ia;
      ++ib;
    }
  }
  return rows;
}

// ---- Diff -----------------------------------------------------------------------

TEST_CASE("TreeDiff of trees sharing structure reports exactly the differing keys") {
  // The derived tree: a few edits; all but a few keys deleted (the tree gets
  // shallower, so shared subtrees sit at different depths on the two sides);
  // many inserts (nodes and the root split).
  enum Derivation { kFewEdits, kMostDeleted, kManyInserts };
  for (Derivation derivation : {kFewEdits, kMostDeleted, kManyInserts}) {
    for (uint64_t seed : {21, 22}) {
      INFO("seed " << seed << ", derivation " << derivation);
      std::mt19937_64 rng(seed);
      BlockBuilder builder = OpenBuilder();
      auto [base_model, pool, base] = BuildRandomTree(&builder, rng, 4000, 5);

      // Every derivation includes overwrites with an equal value, which
      // rewrite nodes without changing contents: not a difference.
      Model derived_model = base_model;
      TreeWriter derived_writer(&builder, base);
      size_t index = 0;
      for (const auto& [key, value] : base_model) {
        ++index;
        if (index % 37 == 0) REQUIRE(derived_writer.Put(key, value).ok());
        // Keeps a run of 20 keys in the middle: the root collapses onto them.
        if (derivation == kMostDeleted &&
            (index < base_model.size() / 2 || index >= base_model.size() / 2 + 20)) {
          REQUIRE(derived_writer.Delete(key).ok());
          derived_model.erase(key);
        }
      }
      RandomEdits(&derived_writer, &derived_model, &pool, rng,
                  derivation == kManyInserts ? 5000 : 100, derivation == kManyInserts ? 0 : 40);
      uint64_t derived = MustFlush(&derived_writer, &builder);
      size_t base_depth = ShapeOf(builder, base).depth;
      size_t derived_depth = ShapeOf(builder, derived).depth;
      if (derivation == kMostDeleted) REQUIRE(derived_depth < base_depth);
      if (derivation == kManyInserts) REQUIRE(derived_depth > base_depth);

      std::vector<DiffRow> expected = DiffModels(base_model, derived_model);
      REQUIRE(!expected.empty());
      CHECK(DiffTrees(builder, base, derived) == expected);
      CHECK(DiffTrees(builder, derived, base) == DiffModels(derived_model, base_model));
      CHECK(DiffTrees(builder, base, base).empty());
      CHECK(DiffTrees(builder, 0, derived) == DiffModels(Model(), derived_model));
      CHECK(DiffTrees(builder, derived, 0) == DiffModels(derived_model, Model()));

      // Bounds: [begin, end), with an empty end meaning no bound.
      for (int i = 0; i < 40; ++i) {
        std::string begin = i % 5 == 0 ? "" : RandomKey(rng);
        std::string end = i % 7 == 0 ? "" : RandomKey(rng);
        if (i % 3 == 0) {
          // Bounds on keys that differ, so inclusive and exclusive matter.
          begin = expected[i % expected.size()].key;
          end = expected[(i * 7) % expected.size()].key;
        }
        INFO("begin " << Hex(begin) << " end " << Hex(end));
        CHECK(DiffTrees(builder, base, derived, begin, end) ==
              DiffModels(base_model, derived_model, begin, end));
      }
    }
  }
}

TEST_CASE("TreeDiff of trees with equal contents but no shared nodes reports nothing") {
  std::mt19937_64 rng(8);
  BlockBuilder builder = OpenBuilder();
  const RandomTree tree = BuildRandomTree(&builder, rng, 2000, 10);
  uint64_t first = tree.root;
  uint64_t second = Build(&builder, tree.model);  // same contents, all new nodes
  REQUIRE(first != second);
  CHECK(DiffTrees(builder, first, second).empty());
}

TEST_CASE("TreeDiff reads a number of nodes that grows with the differences, not the tree") {
  std::mt19937_64 rng(9);
  BlockBuilder builder = OpenBuilder();
  const size_t kKeys = 100000;
  uint64_t base = BuildNumbered(&builder, kKeys, rng);
  size_t nodes = ShapeOf(builder, base).nodes.size();

  std::vector<size_t> changed_keys;
  for (int i = 0; i < 10; ++i) changed_keys.push_back(Below(rng, kKeys));
  std::sort(changed_keys.begin(), changed_keys.end());
  changed_keys.erase(std::unique(changed_keys.begin(), changed_keys.end()), changed_keys.end());
  TreeWriter writer(&builder, base);
  std::vector<DiffRow> expected;
  for (size_t i : changed_keys) {
    REQUIRE(writer.Put(NumberedKey(i), "changed").ok());
    expected.push_back({NumberedKey(i), "value-" + std::to_string(i), "changed"});
  }
  uint64_t derived = MustFlush(&writer, &builder);

  CountingSource counting(&builder);
  CHECK(DiffTrees(counting, base, derived) == expected);
  INFO(counting.reads() << " node reads for " << changed_keys.size()
                        << " changed keys in a tree of " << nodes << " nodes");
  CHECK(counting.reads() < nodes / 10);

  // A single change costs about two root-to-leaf paths, whatever the size.
  TreeWriter one(&builder, base);
  REQUIRE(one.Put(NumberedKey(kKeys / 2), "changed").ok());
  uint64_t one_changed = MustFlush(&one, &builder);
  CountingSource counting_one(&builder);
  CHECK(DiffTrees(counting_one, base, one_changed).size() == 1);
  size_t depth = ShapeOf(builder, base).depth;
  INFO(counting_one.reads() << " node reads for one changed key, depth " << depth);
  CHECK(counting_one.reads() <= 4 * depth);
}

// Every node of the tree at root, by offset, with the bytes its record takes.
std::map<uint64_t, uint64_t> Nodes(const RecordSource& source, uint64_t root) {
  std::map<uint64_t, uint64_t> out;
  for (uint64_t offset : ShapeOf(source, root).nodes) out[offset] = RecordBytes(source, offset);
  return out;
}

TEST_CASE("a flush counts as superseded exactly the old tree's nodes the new one left behind") {
  // Edits with many deletes: nodes empty out and go, and the root
  // collapses onto a single child, besides the paths edits rewrite.
  for (uint64_t seed : {41, 42}) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    BlockBuilder builder = OpenBuilder();
    Model model;
    std::vector<std::string> pool;
    uint64_t root = 0, counted = 0;
    for (int round = 0; round < 12; ++round) {
      INFO("round " << round);
      TreeWriter writer(&builder, root);
      RandomEdits(&writer, &model, &pool, rng, round < 4 ? 800 : 300, round < 4 ? 5 : 70);
      const uint64_t next = MustFlush(&writer, &builder);
      const uint64_t block = builder.block_start();
      builder.EndBlock(round + 1, round + 1, next, format::kKindTransaction);
      const uint64_t total =
          DecodeFixed64(builder.bytes().data() + (block - builder.start()) + 24) &
          ~format::kSupersededCounted;
      uint64_t left_behind = 0;
      const std::map<uint64_t, uint64_t> now = Nodes(builder, next);
      for (const auto& [offset, bytes] : Nodes(builder, root)) {
        if (now.count(offset) == 0) left_behind += bytes;
      }
      CHECK(total - counted == left_behind);
      counted = total;
      root = next;
      builder.BeginBlock();
    }
    CHECK(root != 0);
  }
}

TEST_CASE("UnsharedBytes counts exactly the nodes no other tree holds") {
  for (uint64_t seed : {31, 32, 33}) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    BlockBuilder builder = OpenBuilder();
    auto [model, pool, base] = BuildRandomTree(&builder, rng, 3000, 5);
    // Two trees derived from it, as two branches made from one: each
    // shares the nodes its edits did not reach.
    std::vector<uint64_t> derived;
    for (size_t edits : {40, 400}) {
      TreeWriter writer(&builder, base);
      RandomEdits(&writer, &model, &pool, rng, edits, 20);
      derived.push_back(MustFlush(&writer, &builder));
    }
    const std::vector<uint64_t> roots = {base, derived[0], derived[1]};
    for (size_t i = 0; i < roots.size(); ++i) {
      std::vector<uint64_t> others;
      std::map<uint64_t, uint64_t> held_elsewhere;
      for (size_t j = 0; j < roots.size(); ++j) {
        if (j == i) continue;
        others.push_back(roots[j]);
        held_elsewhere.merge(Nodes(builder, roots[j]));
      }
      uint64_t want = 0;
      for (const auto& [offset, bytes] : Nodes(builder, roots[i])) {
        if (held_elsewhere.count(offset) == 0) want += bytes;
      }
      auto got = UnsharedBytes(builder, roots[i], others);
      REQUIRE(got.ok());
      CHECK(*got == want);
      CHECK(want > 0);
    }
    CHECK(*UnsharedBytes(builder, base, {base}) == 0);
    uint64_t all = 0;
    for (const auto& [offset, bytes] : Nodes(builder, base)) all += bytes;
    CHECK(*UnsharedBytes(builder, base, {}) == all);
    CHECK(*UnsharedBytes(builder, 0, {base}) == 0);
  }
}

}  // namespace
}  // namespace kvs::tree_test
