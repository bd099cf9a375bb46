// Unit tests of the copy-on-write B+-tree's writer and cursor
// (store/btree.h), built in memory in a BlockBuilder, checked against a
// std::map holding what the tree should contain (tests/store/tree_model.h).
// They pin what the store relies on: lookups and scans see exactly the
// written keys; old roots keep reading their old contents; seeks land on
// the first key at or after their target; a flush appends only the nodes on
// changed paths. TreeDiff and the garbage a flush counts are in
// tree_diff_test.cc, trees built bottom-up in tree_builder_test.cc.
#include "store/btree.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "store/coding.h"
#include "store/format.h"
#include "tests/store/tree_model.h"

namespace kvs::tree_test {
namespace {

// ---- Contents ---------------------------------------------------------------

TEST_CASE("random puts, overwrites and deletes match a std::map after every flush") {
  for (uint64_t seed : {1, 2, 3}) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    BlockBuilder builder = OpenBuilder();
    Model model;
    std::vector<std::string> pool;
    uint64_t root = 0;
    for (int round = 0; round < 12; ++round) {
      INFO("round " << round);
      TreeWriter writer(&builder, root);
      // Grow first, then churn, then shrink.
      int delete_percent = round < 6 ? 10 : round < 9 ? 45 : 90;
      RandomEdits(&writer, &model, &pool, rng, 1200, delete_percent);
      // The writer reads its own pending edits before any flush.
      for (size_t i = 0; i < 100; ++i) {
        const std::string& key = pool[Below(rng, pool.size())];
        auto it = model.find(key);
        auto value = writer.Get(key);
        if (!value.ok()) REQUIRE(value.status().IsNotFound());
        CHECK((value.ok() ? *value : "<missing>") ==
              (it == model.end() ? "<missing>" : it->second));
      }
      root = MustFlush(&writer, &builder);
      CheckTreeMatches(builder, root, model, pool, rng);
    }
  }
}

TEST_CASE("trees of compact nodes hold what trees of fixed-width ones do, in fewer bytes") {
  for (uint64_t seed : {4, 5}) {
    INFO("seed " << seed);
    BlockBuilder fixed = OpenBuilder(false), compact = OpenBuilder(true);
    std::mt19937_64 fixed_rng(seed), compact_rng(seed), check_rng(seed);
    RandomTree a = BuildRandomTree(&fixed, fixed_rng, 3000, 20);
    RandomTree b = BuildRandomTree(&compact, compact_rng, 3000, 20);
    REQUIRE(a.model == b.model);
    CheckTreeMatches(compact, b.root, b.model, b.pool, check_rng);
    // Every node compact, but one too large for 2-byte entry offsets (a
    // value larger than a node may make one).
    size_t fixed_nodes = 0;
    for (uint64_t offset : ShapeOf(compact, b.root).nodes) {
      auto node = NodeView::Read(compact, offset);
      REQUIRE(node.ok());
      if (!node->compact()) {
        ++fixed_nodes;
        CHECK(node->body().size() >= 60000);
      }
    }
    CHECK(fixed_nodes * 20 < ShapeOf(compact, b.root).nodes.size());
    INFO("fixed " << fixed.end() << " bytes, compact " << compact.end());
    CHECK(compact.end() < fixed.end());
  }
}

TEST_CASE("a node too large for a compact one keeps the fixed layout") {
  BlockBuilder builder = OpenBuilder(true);
  const Model contents = {{"a", "1"}, {"big", std::string(70000, 'x')}, {"c", "3"}};
  const uint64_t root = Build(&builder, contents);
  CHECK(Mismatch(builder, root, contents) == "");
  bool saw_fixed = false;
  for (uint64_t offset : ShapeOf(builder, root).nodes) {
    auto node = NodeView::Read(builder, offset);
    REQUIRE(node.ok());
    saw_fixed = saw_fixed || !node->compact();
  }
  CHECK(saw_fixed);
}

TEST_CASE("a compact node that does not parse is refused, never read out of bounds") {
  BlockBuilder builder = OpenBuilder(true);
  const uint64_t root = Build(&builder, {{"apple", "red"}, {"banana", "yellow"}, {"cherry", ""}});
  auto node = NodeView::Read(builder, root);
  REQUIRE(node.ok());
  REQUIRE(node->compact());
  const std::string body(node->body());
  for (size_t n = 0; n < body.size(); ++n) {
    INFO("cut to " << n);
    CHECK(NodeView::Parse(format::kCompactLeafNode, body.substr(0, n), 0).status().IsCorruption());
  }
  std::string into_table = body;
  into_table[2] = 1;  // entry 0 starting inside the offset table
  into_table[3] = 0;
  CHECK(NodeView::Parse(format::kCompactLeafNode, into_table, 0).status().IsCorruption());
  std::string endless = body;
  const size_t first = DecodeFixed16(body.data() + 2);
  for (size_t i = first; i < endless.size(); ++i) endless[i] = '\xff';  // a varint with no end
  CHECK(NodeView::Parse(format::kCompactLeafNode, endless, 0).status().IsCorruption());
  // A middle entry whose key length claims more than its place: read cut at
  // the next entry's start, which still reads whole.
  std::string overlong = body;
  overlong[DecodeFixed16(body.data() + 2)] = 0x7f;
  auto cut = NodeView::Parse(format::kCompactLeafNode, overlong, 0);
  REQUIRE(cut.ok());
  const size_t first_entry =
      size_t{DecodeFixed16(body.data() + 4)} - DecodeFixed16(body.data() + 2);
  CHECK(cut->key(0).size() < first_entry);
  CHECK(cut->key(1) == "banana");
  CHECK(cut->value(1) == "yellow");
  // fuzz/corpus/store/regress-compact-node-entry-that-does-not-parse: an
  // entry whose lengths do not end within its place reads as empty fields,
  // still in the body, where a writer loading the node finds them.
  std::string endless_first = body;
  for (size_t i = DecodeFixed16(body.data() + 2); i < DecodeFixed16(body.data() + 4); ++i) {
    endless_first[i] = '\xff';
  }
  const uint64_t damaged = builder.Append(format::kCompactLeafNode, endless_first);
  TreeWriter writer(&builder, damaged);
  auto banana = writer.Get("banana");
  REQUIRE(banana.ok());
  CHECK(*banana == "yellow");
  CHECK(writer.Put("date", "brown").ok());
  // An inner node with no entry has no child to go to.
  CHECK(
      NodeView::Parse(format::kCompactInnerNode, std::string(2, '\0'), 0).status().IsCorruption());
}

TEST_CASE("an old root still reads its old contents after later edits") {
  std::mt19937_64 rng(7);
  BlockBuilder builder = OpenBuilder();
  Model model;
  std::vector<std::string> pool;
  std::vector<std::pair<uint64_t, Model>> versions{{0, Model()}};
  for (int round = 0; round < 10; ++round) {
    TreeWriter writer(&builder, versions.back().first);
    RandomEdits(&writer, &model, &pool, rng, 400, round < 7 ? 20 : 60);
    versions.emplace_back(MustFlush(&writer, &builder), model);
  }
  for (size_t i = 0; i < versions.size(); ++i) {
    INFO("tree " << i);
    CheckTreeMatches(builder, versions[i].first, versions[i].second, pool, rng);
  }
}

TEST_CASE("a writer started from an old root edits that state, not the newest one") {
  BlockBuilder builder = OpenBuilder();
  uint64_t first = Build(&builder, {{"a", "1"}, {"b", "2"}});
  TreeWriter second(&builder, first);
  REQUIRE(second.Put("c", "3").ok());
  uint64_t second_root = MustFlush(&second, &builder);

  TreeWriter fork(&builder, first);
  REQUIRE(fork.Delete("a").ok());
  uint64_t fork_root = MustFlush(&fork, &builder);
  CHECK(Mismatch(builder, fork_root, Model{{"b", "2"}}) == "");
  CHECK(Mismatch(builder, second_root, Model{{"a", "1"}, {"b", "2"}, {"c", "3"}}) == "");
  CHECK(Mismatch(builder, first, Model{{"a", "1"}, {"b", "2"}}) == "");
}

TEST_CASE("a writer continues from the root its last flush returned") {
  BlockBuilder builder = OpenBuilder();
  TreeWriter writer(&builder, 0);
  REQUIRE(writer.Put("a", "1").ok());
  uint64_t first = MustFlush(&writer, &builder);
  REQUIRE(writer.Put("b", "2").ok());
  uint64_t second = MustFlush(&writer, &builder);
  CHECK(Mismatch(builder, first, Model{{"a", "1"}}) == "");
  CHECK(Mismatch(builder, second, Model{{"a", "1"}, {"b", "2"}}) == "");
}

TEST_CASE("a key longer than kMaxTreeKeyBytes is refused and changes nothing") {
  BlockBuilder builder = OpenBuilder();
  uint64_t root = Build(&builder, {{"a", "1"}});
  TreeWriter writer(&builder, root);
  CHECK(writer.Put(std::string(kMaxTreeKeyBytes, 'k'), "fits").ok());
  Status s = writer.Put(std::string(kMaxTreeKeyBytes + 1, 'k'), "too long");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  uint64_t after = MustFlush(&writer, &builder);
  Model expected{{"a", "1"}, {std::string(kMaxTreeKeyBytes, 'k'), "fits"}};
  CHECK(Mismatch(builder, after, expected) == "");
}

// ---- Cursors ------------------------------------------------------------------

// A tree of 5,000 random edits, deep enough that seeks cross inner nodes.
RandomTree BuildDeepTree(BlockBuilder* builder, std::mt19937_64& rng) {
  RandomTree tree = BuildRandomTree(builder, rng, 5000, 10);
  REQUIRE(ShapeOf(*builder, tree.root).depth >= 3);
  return tree;
}

// Seek targets around a tree's keys: the ends, keys written (deleted ones
// too), just after them, shorter keys before them, and random keys.
std::vector<std::string> SeekTargets(const Model& model, const std::vector<std::string>& pool,
                                     std::mt19937_64& rng) {
  std::vector<std::string> targets{"", std::string(1, '\0'), "\xff\xff\xff\xff\xff",
                                   model.rbegin()->first,
                                   model.rbegin()->first + std::string(1, '\0')};
  for (size_t i = 0; i < 1500; ++i) {
    std::string key = pool[Below(rng, pool.size())];
    switch (i % 4) {
      case 0:  // an existing or deleted key itself
        break;
      case 1:  // just after it
        key.push_back('\0');
        break;
      case 2:  // a shorter key, before it
        key.resize(key.size() / 2);
        break;
      default:
        key = RandomKey(rng);
    }
    targets.push_back(key);
  }
  return targets;
}

TEST_CASE("Seek lands on the first key at or after the target, and past the end is invalid") {
  std::mt19937_64 rng(11);
  BlockBuilder builder = OpenBuilder();
  const RandomTree tree = BuildDeepTree(&builder, rng);
  const Model& model = tree.model;
  TreeCursor cursor(&builder, tree.root);
  for (const std::string& target : SeekTargets(model, tree.pool, rng)) {
    INFO("target " << Hex(target));
    REQUIRE(cursor.Seek(target).ok());
    auto expected = model.lower_bound(target);
    for (int step = 0; step < 3; ++step) {
      if (expected == model.end()) {
        CHECK_FALSE(cursor.Valid());
        break;
      }
      REQUIRE(cursor.Valid());
      CHECK(cursor.key() == expected->first);
      CHECK(cursor.value() == expected->second);
      REQUIRE(cursor.Next().ok());
      ++expected;
    }
  }
}

TEST_CASE("a writer's Seek finds the first key at or after the target, through its edits") {
  std::mt19937_64 rng(12);
  BlockBuilder builder = OpenBuilder();
  RandomTree tree = BuildDeepTree(&builder, rng);
  Model& model = tree.model;
  // Pending edits on top: puts, overwrites and deletes, emptying some leaves.
  TreeWriter writer(&builder, tree.root);
  RandomEdits(&writer, &model, &tree.pool, rng, 2000, 10);
  auto it = model.begin();
  for (int i = 0; i < 200 && it != model.end(); ++i) {
    REQUIRE(writer.Delete(it->first).ok());
    it = model.erase(it);
  }
  for (const std::string& target : SeekTargets(model, tree.pool, rng)) {
    INFO("target " << Hex(target));
    auto found = writer.Seek(target);
    REQUIRE(found.ok());
    auto expected = model.lower_bound(target);
    if (expected == model.end()) {
      CHECK_FALSE(found->has_value());
      continue;
    }
    REQUIRE(found->has_value());
    CHECK((*found)->first == expected->first);
    CHECK((*found)->second == expected->second);
  }
  // What it read stays the writer's to edit.
  CHECK(Mismatch(builder, MustFlush(&writer, &builder), model).empty());
  TreeWriter empty(&builder, 0);
  auto none = empty.Seek("");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
}

TEST_CASE("a cursor on the empty tree is never valid") {
  BlockBuilder builder = OpenBuilder();
  TreeCursor cursor(&builder, 0);
  REQUIRE(cursor.Seek("").ok());
  CHECK_FALSE(cursor.Valid());
  REQUIRE(cursor.Seek("a").ok());
  CHECK_FALSE(cursor.Valid());
  CHECK(TreeGet(builder, 0, "a").status().IsNotFound());
}

// ---- Deletion -------------------------------------------------------------------

TEST_CASE("deleting every key yields root 0, the empty tree, which can grow again") {
  std::mt19937_64 rng(5);
  BlockBuilder builder = OpenBuilder();
  auto [model, pool, root] = BuildRandomTree(&builder, rng, 4000, 0);
  REQUIRE(ShapeOf(builder, root).depth >= 3);
  TreeWriter writer(&builder, root);
  std::vector<std::string> keys;
  for (const auto& [key, value] : model) keys.push_back(key);
  std::shuffle(keys.begin(), keys.end(), rng);

  SECTION("in one flush") {
    for (const std::string& key : keys) REQUIRE(writer.Delete(key).ok());
    CHECK(writer.Get(keys.front()).status().IsNotFound());
    root = MustFlush(&writer, &builder);
  }
  SECTION("over many flushes, each leaving the rest readable") {
    Model rest = model;
    for (size_t i = 0; i < keys.size(); ++i) {
      REQUIRE(writer.Delete(keys[i]).ok());
      rest.erase(keys[i]);
      if (i % 500 == 499) {
        root = MustFlush(&writer, &builder);
        REQUIRE(Mismatch(builder, root, rest) == "");
      }
    }
    root = MustFlush(&writer, &builder);
  }
  CHECK(root == 0);
  CHECK(Mismatch(builder, root, Model()) == "");
  CHECK(TreeGet(builder, root, keys.front()).status().IsNotFound());

  TreeWriter again(&builder, root);
  REQUIRE(again.Put("new", "value").ok());
  root = MustFlush(&again, &builder);
  CHECK(root != 0);
  CHECK(Mismatch(builder, root, Model{{"new", "value"}}) == "");
}

// ---- What a flush writes -------------------------------------------------------

TEST_CASE("a flush after no change returns the same root and appends nothing") {
  std::mt19937_64 rng(3);
  BlockBuilder builder = OpenBuilder();
  uint64_t root = BuildNumbered(&builder, 20000, rng);
  size_t end = builder.end();

  TreeWriter untouched(&builder, root);
  CHECK(MustFlush(&untouched, &builder) == root);

  TreeWriter reader(&builder, root);
  CHECK(*reader.Get(NumberedKey(17)) == "value-17");
  REQUIRE(reader.Delete("absent").ok());       // loads the path, changes nothing
  REQUIRE(reader.Delete("key99999999").ok());  // past the last key
  CHECK_FALSE(reader.changed());
  CHECK(MustFlush(&reader, &builder) == root);

  TreeWriter empty(&builder, 0);
  REQUIRE(empty.Delete("absent").ok());
  CHECK(MustFlush(&empty, &builder) == 0);
  CHECK(builder.end() == end);
}

TEST_CASE("a flush of one changed key appends only the nodes on that key's path") {
  std::mt19937_64 rng(4);
  BlockBuilder builder = OpenBuilder();
  uint64_t root = BuildNumbered(&builder, 100000, rng);
  TreeShape before = ShapeOf(builder, root);
  REQUIRE(before.depth >= 3);
  size_t end = builder.end();

  TreeWriter writer(&builder, root);
  // Same length as the old value, so no node splits.
  REQUIRE(writer.Put(NumberedKey(54321), "value-XXXXX").ok());
  uint64_t changed = MustFlush(&writer, &builder);

  TreeShape after = ShapeOf(builder, changed);
  size_t new_nodes = 0, new_bytes = 0;
  for (uint64_t offset : after.nodes) {
    if (offset < end) continue;
    ++new_nodes;
    new_bytes += RecordBytes(builder, offset);
  }
  CHECK(new_nodes == before.depth);
  CHECK(new_bytes == builder.end() - end);  // and nothing else was appended
  CHECK(after.nodes.size() == before.nodes.size());
  CHECK(*TreeGet(builder, changed, NumberedKey(54321)) == "value-XXXXX");
  CHECK(*TreeGet(builder, root, NumberedKey(54321)) == "value-54321");
}

}  // namespace
}  // namespace kvs::tree_test
