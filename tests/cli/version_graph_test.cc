// The version-graph commands on forkdb's own example, run through the real
// kvs program: create, forks, tails, links, concestor, read, get, history,
// future, and id prefixes.
#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/cli/kvs_runner.h"
#include "tests/store/test_util.h"

namespace kvs::cli::test {
namespace {

using Ids = std::vector<std::string>;

Ids Sorted(Ids ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

// forkdb's README: a document, an update, a second update of the same
// parent (a conflict), and a merge of both heads.
struct ForkdbExample {
  kvs::test::TempDir tmp;
  std::string dir = tmp.Sub("store");
  std::string first, update, rival, merge;

  ForkdbExample() {
    first = Create(dir, "blorp", "beep boop\n");
    update = Create(dir, "blorp", "BEEP BOOP\n", {first});
    rival = Create(dir, "blorp", "BeEp BoOp\n", {first});
    merge = Create(dir, "blorp", "BEEPITY BOOPITY\n", {update, rival});
  }
};

}  // namespace

TEST_CASE("create without --prev starts a key; --prev updates, forks and merges") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.Sub("store");
  std::string first = Create(dir, "blorp", "beep boop\n");
  CHECK(Lines(MustKvs(dir, {"forks", "blorp"})) == Ids{first});

  std::string update = Create(dir, "blorp", "BEEP BOOP\n", {first});
  CHECK(Lines(MustKvs(dir, {"forks", "blorp"})) == Ids{update});

  // A second edit of the same parent: two forks, both heads.
  std::string rival = Create(dir, "blorp", "BeEp BoOp\n", {first});
  CHECK(Sorted(Lines(MustKvs(dir, {"forks", "blorp"}))) == Sorted({update, rival}));

  // Pointing back at both forks merges them into one head again.
  std::string merge = Create(dir, "blorp", "BEEPITY BOOPITY\n", {update, rival});
  CHECK(Lines(MustKvs(dir, {"forks", "blorp"})) == Ids{merge});
  CHECK(MustKvs(dir, {"get-key", "blorp"}) == "BEEPITY BOOPITY\n");
}

TEST_CASE("history draws the merge's two parents back to the one tail, as forkdb does") {
  ForkdbExample example;
  CHECK(MustKvs(example.dir, {"history", example.merge}) ==
        "+- blorp :: " + example.merge + "\n" +  //
            " +- blorp :: " + example.update + "\n" + " |- blorp :: " + example.first + "\n" +
            " +- blorp :: " + example.rival + "\n" + " |- blorp :: " + example.first + "\n");
}

TEST_CASE("future draws the fork into its children and both on to the merge") {
  ForkdbExample example;
  Ids children = Sorted({example.update, example.rival});  // children come by id
  CHECK(MustKvs(example.dir, {"future", example.first}) ==
        "+- blorp :: " + example.first + "\n" +  //
            " +- blorp :: " + children[0] + "\n" + " |- blorp :: " + example.merge + "\n" +
            " +- blorp :: " + children[1] + "\n" + " |- blorp :: " + example.merge + "\n");
  CHECK(MustKvs(example.dir, {"future", example.merge}) == "+- blorp :: " + example.merge + "\n");
}

TEST_CASE("history and future stop at --limit versions and mark the cut") {
  ForkdbExample example;
  CHECK(MustKvs(example.dir, {"history", example.merge, "--limit", "1"}) ==
        "+- blorp :: " + example.merge + "\n|- ...\n");
}

TEST_CASE("concestor of the two forks is the version they both updated") {
  ForkdbExample example;
  CHECK(MustKvs(example.dir, {"concestor", example.update, example.rival}) == example.first + "\n");
  CHECK(MustKvs(example.dir, {"concestor", example.merge, example.update}) ==
        example.update + "\n");
}

TEST_CASE("concestor of unrelated versions prints nothing") {
  ForkdbExample example;
  std::string stranger = Create(example.dir, "blorp", "no history\n");
  CHECK(MustKvs(example.dir, {"concestor", example.merge, stranger}).empty());
}

TEST_CASE("tails lists the versions without parents; a create without --prev adds one") {
  ForkdbExample example;
  CHECK(Lines(MustKvs(example.dir, {"tails", "blorp"})) == Ids{example.first});

  // forkdb's "new document with no history": a new tail and one more head.
  std::string fresh = Create(example.dir, "blorp", "again\n");
  CHECK(Sorted(Lines(MustKvs(example.dir, {"tails", "blorp"}))) == Sorted({example.first, fresh}));
  CHECK(Sorted(Lines(MustKvs(example.dir, {"forks", "blorp"}))) == Sorted({example.merge, fresh}));
}

// The {"key","hash"} lines forkdb prints, as (key, hash) pairs.
std::vector<std::pair<std::string, std::string>> KeyHashes(const std::string& output) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& line : Lines(output)) {
    auto object = nlohmann::json::parse(line);
    CHECK(object.size() == 2);
    pairs.emplace_back(object["key"], object["hash"]);
  }
  return pairs;
}

TEST_CASE("links lists the versions that name a version as their parent, as forkdb does") {
  ForkdbExample example;
  std::vector<std::pair<std::string, std::string>> children;
  for (const std::string& id : Sorted({example.update, example.rival})) {
    children.emplace_back("blorp", id);
  }
  CHECK(KeyHashes(MustKvs(example.dir, {"links", example.first})) == children);
  CHECK(Lines(MustKvs(example.dir, {"links", example.first, "--ids"})) ==
        Sorted({example.update, example.rival}));
  CHECK(Lines(MustKvs(example.dir, {"links", example.rival, "--ids"})) == Ids{example.merge});
  CHECK(MustKvs(example.dir, {"links", example.merge}).empty());
}

TEST_CASE("forks and tails without a key list every key's, as JSON lines") {
  ForkdbExample example;
  std::string other = Create(example.dir, "another", "x");
  std::string rival = Create(example.dir, "another", "y");  // a second tail, a fork
  MustKvs(example.dir, {"put", "gone", "z"});
  std::string deletion = Lines(MustKvs(example.dir, {"rm", "gone"}))[0];

  auto forks = KeyHashes(MustKvs(example.dir, {"forks"}));
  REQUIRE(forks.size() == 4);  // two of "another", then blorp's merge, then gone's deletion
  CHECK(forks[0].first == "another");
  CHECK(forks[1].first == "another");
  CHECK(Sorted({forks[0].second, forks[1].second}) == Sorted({other, rival}));
  CHECK(forks[2] == std::pair<std::string, std::string>("blorp", example.merge));
  CHECK(forks[3] == std::pair<std::string, std::string>("gone", deletion));

  auto tails = KeyHashes(MustKvs(example.dir, {"tails"}));
  std::vector<std::string> tail_ids;
  for (const auto& [key, id] : tails) tail_ids.push_back(id);
  CHECK(tail_ids.size() == 4);  // blorp's first, another's two, gone's put
  CHECK(tail_ids == Sorted(tail_ids));
  CHECK(std::count(tail_ids.begin(), tail_ids.end(), example.first) == 1);
  CHECK(std::count(tail_ids.begin(), tail_ids.end(), rival) == 1);
  CHECK(MustKvs(example.dir, {"forks", "--branch", "main"}) == MustKvs(example.dir, {"forks"}));
}

TEST_CASE("read prints a version's value and get its metadata as JSON") {
  ForkdbExample example;
  CHECK(MustKvs(example.dir, {"read", example.rival}) == "BeEp BoOp\n");

  std::string line = MustKvs(example.dir, {"get", example.merge});
  REQUIRE(Lines(line).size() == 1);
  auto meta = nlohmann::json::parse(line);
  CHECK(meta["id"] == example.merge);
  CHECK(meta["key"] == "blorp");
  CHECK(meta["parents"] == nlohmann::json::array({example.update, example.rival}));
  CHECK(meta["size"] == 16);
  CHECK(meta["deleted"] == false);
  CHECK(meta["revision"] == 4);
}

TEST_CASE("ids may be given as unique prefixes of 8 or more hex digits, in either case") {
  ForkdbExample example;
  std::string prefix = example.rival.substr(0, 8);
  CHECK(MustKvs(example.dir, {"read", prefix}) == "BeEp BoOp\n");
  std::string upper = example.rival.substr(0, 12);
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  CHECK(MustKvs(example.dir, {"read", upper}) == "BeEp BoOp\n");
  std::string merge =
      Create(example.dir, "blorp", "merged by prefix\n", {example.merge.substr(0, 10)});
  auto meta = nlohmann::json::parse(MustKvs(example.dir, {"get", merge}));
  CHECK(meta["parents"] == nlohmann::json::array({example.merge}));
}

TEST_CASE("list prints every version's metadata by id, bounded by --gt, --lt and --limit") {
  ForkdbExample example;
  Ids all = Sorted({example.first, example.update, example.rival, example.merge});
  auto ids_of = [](const std::string& output) {
    Ids ids;
    for (const std::string& line : Lines(output)) ids.push_back(nlohmann::json::parse(line)["id"]);
    return ids;
  };
  CHECK(ids_of(MustKvs(example.dir, {"list"})) == all);
  CHECK(ids_of(MustKvs(example.dir, {"list", "--limit=2"})) == Ids{all[0], all[1]});
  CHECK(ids_of(MustKvs(example.dir, {"list", "--gt", all[1]})) == Ids{all[2], all[3]});
  CHECK(ids_of(MustKvs(example.dir, {"list", "--gt=" + all[0], "--lt=" + all[3]})) ==
        Ids{all[1], all[2]});
}

TEST_CASE("create stores stdin byte for byte, every byte value included") {
  kvs::test::TempDir tmp;
  std::string value;
  for (int i = 0; i < 256; ++i) value += static_cast<char>(i);
  value += value;
  std::string id = Create(tmp.path(), "bytes", value);
  CHECK(MustKvs(tmp.path(), {"read", id}) == value);
  CHECK(MustKvs(tmp.path(), {"get-key", "bytes"}) == value);
  std::string empty = Create(tmp.path(), "empty", "");
  CHECK(MustKvs(tmp.path(), {"read", empty}).empty());
}

}  // namespace kvs::cli::test
