// TreeBuilder (store/tree_builder.h): a tree built bottom-up from ascending
// keys reads as the model it was built from, and as the tree a TreeWriter
// makes of the same keys, and can be edited on like one.
#include "store/tree_builder.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "tests/store/tree_model.h"

namespace kvs::tree_test {
namespace {

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

}  // namespace
}  // namespace kvs::tree_test
