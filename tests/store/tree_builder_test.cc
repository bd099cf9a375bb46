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

// Builds model's tree to share through written; returns its root and the
// bytes it appended to builder.
std::pair<uint64_t, size_t> BuildSharing(BlockBuilder* builder, WrittenNodes* written,
                                         const Model& model) {
  const size_t before = builder->bytes().size();
  TreeBuilder tree(builder);
  tree.ShareAlike(written);
  for (const auto& [key, value] : model) REQUIRE(tree.Put(key, value).ok());
  auto root = tree.Finish();
  REQUIRE(root.ok());
  return {*root, builder->bytes().size() - before};
}

TEST_CASE("Trees built to share write once the nodes they have alike") {
  std::mt19937_64 rng(7);
  Model base;
  while (base.size() < 20000) {
    base["key" + std::to_string(Below(rng, 1000000))] = std::string(40 + Below(rng, 60), 'v');
  }
  BlockBuilder builder = OpenBuilder();
  WrittenNodes written;
  auto [base_root, base_bytes] = BuildSharing(&builder, &written, base);
  CheckTreeMatches(builder, base_root, base, {"absent"}, rng);
  // Each node body within the sizes, and about as many bytes as a tree
  // built full: a key-cut node ends early, never late.
  for (uint64_t offset : ShapeOf(builder, base_root).nodes) {
    auto node = NodeView::Read(builder, offset);
    REQUIRE(node.ok());
    if (node->count() > 2) {
      CHECK(node->body().size() <= (node->leaf() ? kMaxNodeBytes : kMaxInnerNodeBytes));
    }
  }
  BlockBuilder full = OpenBuilder();
  TreeBuilder full_tree(&full);
  for (const auto& [key, value] : base) REQUIRE(full_tree.Put(key, value).ok());
  REQUIRE(full_tree.Finish().ok());
  CHECK(base_bytes <= full.bytes().size() * 110 / 100);

  // The same keys again: nothing new is written, and the root is the same.
  auto [again_root, again_bytes] = BuildSharing(&builder, &written, base);
  CHECK(again_root == base_root);
  CHECK(again_bytes == 0);

  // A key changed, one added and one removed, each in its own place: the
  // nodes around them are new, the rest are the base tree's. So the new
  // tree costs a few paths, and a diff with the base finds only them.
  for (int round = 0; round < 20; ++round) {
    Model edited = base;
    auto changed = std::next(edited.begin(), Below(rng, edited.size()));
    changed->second = "changed";
    edited["key" + std::to_string(Below(rng, 1000000)) + "new"] = "added";
    edited.erase(std::next(edited.begin(), Below(rng, edited.size())));
    auto [edited_root, edited_bytes] = BuildSharing(&builder, &written, edited);
    CheckTreeMatches(builder, edited_root, edited, {"absent", changed->first}, rng);
    INFO("round " << round << ": " << edited_bytes << " bytes, base " << base_bytes);
    CHECK(edited_bytes < base_bytes / 100);
    CountingSource counted(&builder);
    size_t differences = 0;
    REQUIRE(TreeDiff(counted, base_root, edited_root, "", "",
                     [&](std::string_view, std::optional<std::string_view>,
                         std::optional<std::string_view>) {
                       ++differences;
                       return Status::OK();
                     })
                .ok());
    CHECK(differences <= 3);
    CHECK(counted.reads() < ShapeOf(builder, base_root).nodes.size() / 40);
  }
  CHECK(written.reused() > 0);

  // Without sharing, the same edit costs a whole tree.
  Model edited = base;
  edited.begin()->second = "changed";
  BlockBuilder apart = OpenBuilder();
  TreeBuilder apart_tree(&apart);
  for (const auto& [key, value] : edited) REQUIRE(apart_tree.Put(key, value).ok());
  REQUIRE(apart_tree.Finish().ok());
  CHECK(apart.bytes().size() >= base_bytes * 9 / 10);
}

}  // namespace
}  // namespace kvs::tree_test
