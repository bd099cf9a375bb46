// History and future walks, drawn as forkdb draws them.
#include "common/history_tree.h"

#include <catch2/catch.hpp>

#include "tests/store/test_util.h"

namespace kvs::common {
namespace {

using kvs::test::MustPut;
using kvs::test::OpenStore;
using kvs::test::TempDir;

VersionId Create(Store* store, const std::string& key, const std::string& value,
                 std::vector<VersionId> parents) {
  WriteBatch batch;
  batch.writes.push_back({key, value, std::move(parents), std::nullopt, std::nullopt});
  auto written = store->Write(batch);
  INFO(written.status().ToString());
  REQUIRE(written.ok());
  return written->versions[0];
}

// forkdb's README example: beep boop, two edits of it, their merge.
struct Blorp {
  TempDir dir;
  std::unique_ptr<Store> store = OpenStore(dir.path());
  VersionId base = MustPut(store.get(), "blorp", "beep boop").versions[0];
  VersionId upper = Create(store.get(), "blorp", "BEEP BOOP", {base});
  VersionId mixed = Create(store.get(), "blorp", "BeEp BoOp", {base});
  VersionId merge = Create(store.get(), "blorp", "BEEPITY BOOPITY", {upper, mixed});
};

HistoryTree MustWalk(Store* store, const VersionId& from, WalkDirection direction,
                     size_t max_versions = 1000) {
  auto tree = WalkVersions(*store, from, direction, max_versions);
  INFO(tree.status().ToString());
  REQUIRE(tree.ok());
  return *tree;
}

}  // namespace

TEST_CASE("history of a merge draws one indented branch per parent, back to the tail") {
  Blorp b;
  HistoryTree tree = MustWalk(b.store.get(), b.merge, WalkDirection::kHistory);
  CHECK(DrawHistoryTree(tree) ==
        "+- blorp :: " + b.merge.Hex() + "\n" +  //
            " +- blorp :: " + b.upper.Hex() + "\n" + " |- blorp :: " + b.base.Hex() + "\n" +
            " +- blorp :: " + b.mixed.Hex() + "\n" + " |- blorp :: " + b.base.Hex() + "\n");
}

TEST_CASE("future of the tail forks into both edits, which meet again at the merge") {
  Blorp b;
  HistoryTree tree = MustWalk(b.store.get(), b.base, WalkDirection::kFuture);
  // Children come by id; the merge is walked on from the first branch only.
  auto [first, second] = std::minmax(b.upper, b.mixed);
  CHECK(DrawHistoryTree(tree) ==
        "+- blorp :: " + b.base.Hex() + "\n" +  //
            " +- blorp :: " + first.Hex() + "\n" + " |- blorp :: " + b.merge.Hex() + "\n" +
            " +- blorp :: " + second.Hex() + "\n" + " |- blorp :: " + b.merge.Hex() + "\n");
}

TEST_CASE("a version reached twice is walked on from once") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  VersionId root = MustPut(store.get(), "k", "0").versions[0];
  VersionId shared = Create(store.get(), "k", "1", {root});
  VersionId a = Create(store.get(), "k", "a", {shared});
  VersionId b = Create(store.get(), "k", "b", {shared});
  VersionId merge = Create(store.get(), "k", "m", {a, b});
  HistoryTree tree = MustWalk(store.get(), merge, WalkDirection::kHistory);
  REQUIRE(tree.branches.size() == 2);
  CHECK(tree.branches[0].run.size() == 3);  // a, shared, root
  CHECK_FALSE(tree.branches[0].seen);
  CHECK(tree.branches[1].run.size() == 2);  // b, shared (seen)
  CHECK(tree.branches[1].seen);
  CHECK_THAT(DrawHistoryTree(tree), Catch::EndsWith(" |- k :: " + shared.Hex() + " (above)\n"));
}

TEST_CASE("the version limit cuts the walk and says so") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  VersionId last;
  for (int i = 0; i < 10; ++i) last = MustPut(store.get(), "k", std::to_string(i)).versions[0];
  HistoryTree tree = MustWalk(store.get(), last, WalkDirection::kHistory, 4);
  CHECK(tree.run.size() == 4);
  CHECK(tree.cut);
  CHECK_THAT(DrawHistoryTree(tree), Catch::EndsWith("|- ...\n"));
  CHECK_FALSE(MustWalk(store.get(), last, WalkDirection::kHistory, 10).cut);
  CHECK(MustWalk(store.get(), last, WalkDirection::kFuture).run.size() == 1);
}

TEST_CASE("the JSON tree carries each version's metadata and the branches") {
  Blorp b;
  auto json = HistoryTreeJson(MustWalk(b.store.get(), b.merge, WalkDirection::kHistory));
  CHECK(json["versions"].size() == 1);
  CHECK(json["versions"][0]["id"] == b.merge.Hex());
  CHECK(json["versions"][0]["key"] == "blorp");
  CHECK(json["versions"][0]["parents"].size() == 2);
  CHECK(json["versions"][0]["size"] == 15);
  CHECK(json["branches"].size() == 2);
  CHECK(json["branches"][1]["versions"][1]["id"] == b.base.Hex());
  CHECK(json["seen"] == false);
  CHECK(json["cut"] == false);
}

TEST_CASE("walking from an unknown version is NotFound") {
  Blorp b;
  VersionId unknown;
  unknown.bytes.fill(7);
  CHECK(WalkVersions(*b.store, unknown, WalkDirection::kHistory, 10).status().IsNotFound());
}

}  // namespace kvs::common
