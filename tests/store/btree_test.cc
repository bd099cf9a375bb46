// Unit tests of the copy-on-write B+-tree (store/btree.h), built in memory in
// a BlockBuilder, checked against a std::map holding what the tree should
// contain. They pin what the store relies on: lookups and scans see exactly
// the written keys; old roots keep reading their old contents; a flush
// appends only the nodes on changed paths; and TreeDiff reads a number of
// nodes that follows the differences, not the size of the trees. Trees
// built bottom-up (store/tree_builder.h) are checked the same way.
#include "store/btree.h"

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "store/coding.h"
#include "store/format.h"
#include "store/record.h"
#include "store/tree_builder.h"

namespace kvs {
namespace {

using Model = std::map<std::string, std::string>;

// Bytes as hex for messages, cut after 40.
std::string Hex(std::string_view s) {
  if (s.empty()) return "(empty)";
  std::string out;
  char buf[4];
  for (unsigned char c : s.substr(0, 40)) {
    std::snprintf(buf, sizeof(buf), "%02x", c);
    out += buf;
  }
  return out + (s.size() > 40 ? "..." : "");
}

// Where got differs from want, for messages; empty when they are equal.
std::string FirstDifference(const Model& got, const Model& want) {
  auto g = got.begin();
  auto w = want.begin();
  while (g != got.end() && w != want.end() && *g == *w) {
    ++g;
    ++w;
  }
  if (g == got.end() && w == want.end()) return "";
  if (w == want.end() || (g != got.end() && g->first < w->first)) {
    return "unexpected key " + Hex(g->first);
  }
  if (g == got.end() || w->first < g->first) return "missing key " + Hex(w->first);
  return "key " + Hex(g->first) + " holds " + Hex(g->second) + ", not " + Hex(w->second);
}

constexpr std::array<uint8_t, 16> kSalt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// A builder with an open block, where TreeWriter::Flush appends nodes.
BlockBuilder OpenBuilder() {
  BlockBuilder b(format::kFileHeaderSize, kSalt);
  b.BeginBlock();
  return b;
}

// Counts ReadRecord calls, to measure what a tree operation reads.
class CountingSource : public RecordSource {
 public:
  explicit CountingSource(const RecordSource* inner) : inner_(inner) {}
  Result<RecordView> ReadRecord(uint64_t offset) const override {
    ++reads_;
    return inner_->ReadRecord(offset);
  }
  size_t reads() const { return reads_; }

 private:
  const RecordSource* inner_;
  mutable size_t reads_ = 0;
};

// Every entry of the tree, by a full cursor scan.
Model Scan(const RecordSource& source, uint64_t root) {
  Model out;
  TreeCursor cursor(&source, root);
  Status s = cursor.Seek("");
  while (s.ok() && cursor.Valid()) {
    out.emplace(cursor.key(), cursor.value());
    s = cursor.Next();
  }
  INFO(s.ToString());
  REQUIRE(s.ok());
  return out;
}

// How the tree at root differs from want; empty when it holds exactly that.
std::string Mismatch(const RecordSource& source, uint64_t root, const Model& want) {
  return FirstDifference(Scan(source, root), want);
}

std::string GetOrMissing(const RecordSource& source, uint64_t root, const std::string& key) {
  auto value = TreeGet(source, root, key);
  if (value.status().IsNotFound()) return "<missing>";
  INFO(value.status().ToString());
  REQUIRE(value.ok());
  return *value;
}

uint64_t MustFlush(TreeWriter* writer, BlockBuilder* builder) {
  auto root = writer->Flush(builder);
  INFO(root.status().ToString());
  REQUIRE(root.ok());
  return *root;
}

uint64_t Build(BlockBuilder* builder, const Model& contents) {
  TreeWriter writer(builder, 0);
  for (const auto& [key, value] : contents) REQUIRE(writer.Put(key, value).ok());
  return MustFlush(&writer, builder);
}

// Offsets of every node of the tree, and its depth (0 for the empty tree).
struct TreeShape {
  std::vector<uint64_t> nodes;
  size_t depth = 0;
};

void CollectNodes(const RecordSource& source, uint64_t offset, size_t level, TreeShape* shape) {
  auto node = NodeView::Read(source, offset);
  REQUIRE(node.ok());
  shape->nodes.push_back(offset);
  shape->depth = std::max(shape->depth, level);
  if (node->leaf()) return;
  for (size_t i = 0; i < node->count(); ++i) {
    CollectNodes(source, node->child(i), level + 1, shape);
  }
}

TreeShape ShapeOf(const RecordSource& source, uint64_t root) {
  TreeShape shape;
  if (root != 0) CollectNodes(source, root, 1, &shape);
  return shape;
}

// A uniform random number in [0, n).
size_t Below(std::mt19937_64& rng, size_t n) {
  return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
}

// Keys of varied shapes: empty, short ones over a small alphabet (so they
// share prefixes, and include 0x00 and 0xff bytes), medium ones, and long
// ones up to kMaxTreeKeyBytes that share a long prefix (long separators).
std::string RandomKey(std::mt19937_64& rng) {
  static const char kAlphabet[] = {'a', 'b', 'c', '/', '\0', '\x01', '\xff', 'z'};
  size_t form = Below(rng, 100);
  std::string key;
  size_t length;
  if (form < 1) {
    return key;
  } else if (form < 70) {
    length = 1 + Below(rng, 12);
  } else if (form < 92) {
    length = 20 + Below(rng, 200);
  } else {
    key.assign(1000 + Below(rng, 2000), 'L');
    length = 1 + Below(rng, kMaxTreeKeyBytes - key.size());
  }
  for (size_t i = 0; i < length; ++i) key.push_back(kAlphabet[Below(rng, sizeof(kAlphabet))]);
  return key;
}

// Values from empty to larger than a node.
std::string RandomValue(std::mt19937_64& rng) {
  size_t form = Below(rng, 100);
  size_t length = form < 20   ? 0
                  : form < 80 ? 1 + Below(rng, 30)
                  : form < 96 ? 100 + Below(rng, 2000)
                              : 5000 + Below(rng, 5000);
  std::string value(length, '\0');
  for (char& c : value) c = static_cast<char>(Below(rng, 256));
  return value;
}

// Applies n random puts (new keys and overwrites) and deletes (present and
// absent keys) to writer and model alike. pool collects every key used, so
// later edits hit existing keys often.
void RandomEdits(TreeWriter* writer, Model* model, std::vector<std::string>* pool,
                 std::mt19937_64& rng, size_t n, int delete_percent) {
  for (size_t i = 0; i < n; ++i) {
    std::string key =
        pool->empty() || Below(rng, 2) == 0 ? RandomKey(rng) : (*pool)[Below(rng, pool->size())];
    if (pool->empty() || key != pool->back()) pool->push_back(key);
    if (static_cast<int>(Below(rng, 100)) < delete_percent) {
      REQUIRE(writer->Delete(key).ok());
      model->erase(key);
    } else {
      std::string value = RandomValue(rng);
      REQUIRE(writer->Put(key, value).ok());
      (*model)[key] = value;
    }
  }
}

// The tree at root holds exactly model: a full scan, and lookups of a
// sample of present and absent keys.
void CheckTreeMatches(const RecordSource& source, uint64_t root, const Model& model,
                      const std::vector<std::string>& pool, std::mt19937_64& rng) {
  REQUIRE(Mismatch(source, root, model) == "");
  for (size_t i = 0; i < 300 && !pool.empty(); ++i) {
    const std::string& key = pool[Below(rng, pool.size())];
    auto it = model.find(key);
    CHECK(GetOrMissing(source, root, key) == (it == model.end() ? "<missing>" : it->second));
  }
}

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

// Keys "key00000042"-style: fixed width, so their byte order is numeric.
std::string NumberedKey(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key%08zu", i);
  return buf;
}

// A tree of n numbered keys, inserted in random order.
uint64_t BuildNumbered(BlockBuilder* builder, size_t n, std::mt19937_64& rng) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  TreeWriter writer(builder, 0);
  for (size_t i : order) REQUIRE(writer.Put(NumberedKey(i), "value-" + std::to_string(i)).ok());
  return MustFlush(&writer, builder);
}

size_t RecordBytes(const RecordSource& source, uint64_t offset) {
  auto rec = source.ReadRecord(offset);
  REQUIRE(rec.ok());
  return RecordFileBytes(rec->body.size());
}

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
struct RandomTree {
  Model model;
  std::vector<std::string> pool;  // every key written, the deleted ones too
  uint64_t root = 0;
};

RandomTree BuildRandomTree(BlockBuilder* builder, std::mt19937_64& rng) {
  RandomTree tree;
  TreeWriter writer(builder, 0);
  RandomEdits(&writer, &tree.model, &tree.pool, rng, 5000, 10);
  tree.root = MustFlush(&writer, builder);
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
  const RandomTree tree = BuildRandomTree(&builder, rng);
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
  RandomTree tree = BuildRandomTree(&builder, rng);
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
  Model model;
  std::vector<std::string> pool;
  TreeWriter writer(&builder, 0);
  RandomEdits(&writer, &model, &pool, rng, 4000, 0);
  uint64_t root = MustFlush(&writer, &builder);
  REQUIRE(ShapeOf(builder, root).depth >= 3);
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
      Model base_model;
      std::vector<std::string> pool;
      TreeWriter base_writer(&builder, 0);
      RandomEdits(&base_writer, &base_model, &pool, rng, 4000, 5);
      uint64_t base = MustFlush(&base_writer, &builder);

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
  Model model;
  std::vector<std::string> pool;
  TreeWriter writer(&builder, 0);
  RandomEdits(&writer, &model, &pool, rng, 2000, 10);
  uint64_t first = MustFlush(&writer, &builder);
  uint64_t second = Build(&builder, model);  // same contents, all new nodes
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
    Model model;
    std::vector<std::string> pool;
    TreeWriter base_writer(&builder, 0);
    RandomEdits(&base_writer, &model, &pool, rng, 3000, 5);
    const uint64_t base = MustFlush(&base_writer, &builder);
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
}  // namespace kvs

namespace kvs {

TEST_CASE("TreeBuilder builds from ascending keys the tree a TreeWriter would, read alike") {
  for (uint64_t seed : {1, 2, 3}) {
    std::mt19937_64 rng(seed);
    for (size_t n : {0, 1, 2, 7, 40, 1000, 20000}) {
      INFO("seed " << seed << ", " << n << " keys");
      Model model;
      std::vector<std::string> pool;
      while (model.size() < n) {
        // Keys of 1 to 300 bytes sharing prefixes, values of 0 to 200.
        std::string key = "k" + std::to_string(Below(rng, 5 * n + 1));
        key.append(Below(rng, 4) == 0 ? Below(rng, 300) : 0, 'x');
        model[key] = std::string(Below(rng, 200), static_cast<char>('a' + Below(rng, 26)));
        pool.push_back(key);
      }
      BlockBuilder builder = OpenBuilder();
      TreeBuilder tree(&builder);
      for (const auto& [key, value] : model) REQUIRE(tree.Put(key, value).ok());
      auto root = tree.Finish();
      REQUIRE(root.ok());
      if (n == 0) {
        CHECK(*root == 0);
        continue;
      }
      pool.push_back("absent");
      CheckTreeMatches(builder, *root, model, pool, rng);
      // Whole nodes, like a TreeWriter's from keys in order: about as many
      // bytes, and no node over the size a writer's node may reach.
      BlockBuilder by_writer = OpenBuilder();
      Build(&by_writer, model);
      CHECK(builder.bytes().size() <= by_writer.bytes().size() * 102 / 100);
      TreeShape shape = ShapeOf(builder, *root);
      for (uint64_t offset : shape.nodes) {
        auto node = NodeView::Read(builder, offset);
        REQUIRE(node.ok());
        if (node->count() > 2) {
          CHECK(node->body().size() <= (node->leaf() ? kMaxNodeBytes : kMaxInnerNodeBytes));
        }
      }
      // It can be edited on as any tree.
      TreeWriter writer(&builder, *root);
      RandomEdits(&writer, &model, &pool, rng, 300, 30);
      CheckTreeMatches(builder, MustFlush(&writer, &builder), model, pool, rng);
    }
  }
}

TEST_CASE("TreeBuilder refuses a key that is not above the one before") {
  BlockBuilder builder = OpenBuilder();
  TreeBuilder tree(&builder);
  REQUIRE(tree.Put("b", "1").ok());
  CHECK(tree.Put("b", "2").code() == Status::Code::kInvalidArgument);
  CHECK(tree.Put("a", "2").code() == Status::Code::kInvalidArgument);
  REQUIRE(tree.Put("c", "3").ok());
  auto root = tree.Finish();
  REQUIRE(root.ok());
  CHECK(Scan(builder, *root) == Model{{"b", "1"}, {"c", "3"}});
}

}  // namespace kvs
