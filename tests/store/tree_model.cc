// The tree tests' shared model and helpers (tests/store/tree_model.h).
#include "tests/store/tree_model.h"

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>

#include "store/format.h"

namespace kvs::tree_test {

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

namespace {

constexpr std::array<uint8_t, 16> kSalt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

}  // namespace

BlockBuilder OpenBuilder(bool compact_nodes) {
  BlockBuilder b(format::kFileHeaderSize, kSalt);
  b.set_compact_nodes(compact_nodes);
  b.BeginBlock();
  return b;
}

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

namespace {

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

}  // namespace

TreeShape ShapeOf(const RecordSource& source, uint64_t root) {
  TreeShape shape;
  if (root != 0) CollectNodes(source, root, 1, &shape);
  return shape;
}

size_t Below(std::mt19937_64& rng, size_t n) {
  return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
}

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

RandomTree BuildRandomTree(BlockBuilder* builder, std::mt19937_64& rng, size_t n,
                           int delete_percent) {
  RandomTree tree;
  TreeWriter writer(builder, 0);
  RandomEdits(&writer, &tree.model, &tree.pool, rng, n, delete_percent);
  tree.root = MustFlush(&writer, builder);
  return tree;
}

void CheckTreeMatches(const RecordSource& source, uint64_t root, const Model& model,
                      const std::vector<std::string>& pool, std::mt19937_64& rng) {
  REQUIRE(Mismatch(source, root, model) == "");
  for (size_t i = 0; i < 300 && !pool.empty(); ++i) {
    const std::string& key = pool[Below(rng, pool.size())];
    auto it = model.find(key);
    CHECK(GetOrMissing(source, root, key) == (it == model.end() ? "<missing>" : it->second));
  }
}

std::string NumberedKey(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key%08zu", i);
  return buf;
}

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

}  // namespace kvs::tree_test
