// ApplyReplicated: versions written elsewhere, placed among the heads the
// way every replica agrees on, whatever order and batches they arrive in.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>

#include "store/entries.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

void MustApply(Store* store, std::vector<ReplicatedVersion> versions,
               const std::string& branch = "main") {
  ReplicationBatch batch;
  batch.branch = branch;
  batch.versions = std::move(versions);
  auto applied = store->ApplyReplicated(batch);
  INFO(applied.status().ToString());
  REQUIRE(applied.ok());
}

std::vector<VersionId> Heads(Store* store, const std::string& key,
                             const std::string& branch = "main") {
  auto state = store->Get(branch, key);
  if (state.status().IsNotFound()) return {};
  REQUIRE(state.ok());
  std::vector<VersionId> ids;
  for (const Version& h : state->heads) ids.push_back(h.id);
  return ids;
}

}  // namespace

TEST_CASE("a version already stored becomes a head on the branch that receives it") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  VersionId base = MustPut(store.get(), "k", "base").versions[0];
  REQUIRE(store->CreateBranch("dev", "main", ReadPoint::Latest()).ok());
  VersionId on_main = MustPut(store.get(), "k", "on main").versions[0];
  auto version = store->GetVersion(on_main, true);
  REQUIRE(version.ok());

  ReplicatedVersion resent = RemoteVersion("k", "on main", {base}, version->time_ns);
  resent.replica = version->replica;
  resent.id = on_main;
  MustApply(store.get(), {resent}, "dev");
  CHECK(Heads(store.get(), "k", "dev") == std::vector<VersionId>{on_main});
}

TEST_CASE("a received version replaces every head it descends from, not only its parents") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ReplicatedVersion a = RemoteVersion("k", "a", {}, 100);
  ReplicatedVersion b = RemoteVersion("k", "b", {a.id}, 200);
  ReplicatedVersion c = RemoteVersion("k", "c", {b.id}, 300);
  MustApply(store.get(), {a});
  // b arrives on another branch only; then c, whose parent b is no head here.
  REQUIRE(store->CreateBranch("other", "main", ReadPoint::Latest()).ok());
  MustApply(store.get(), {b}, "other");
  CHECK(Heads(store.get(), "k") == std::vector<VersionId>{a.id});
  MustApply(store.get(), {c});
  CHECK(Heads(store.get(), "k") == std::vector<VersionId>{c.id});

  // Older news changes nothing: a and b are behind the head.
  uint64_t revision = *store->Revision();
  MustApply(store.get(), {a, b});
  CHECK(Heads(store.get(), "k") == std::vector<VersionId>{c.id});
  CHECK(store->GetBranch("main")->head_revision < revision + 1);
}

TEST_CASE("a tampered or orphaned version fails its whole batch") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ReplicatedVersion good = RemoteVersion("k", "good", {}, 100);
  ReplicatedVersion tampered = RemoteVersion("k", "honest", {good.id}, 200);
  tampered.value = "changed on the way";
  ReplicatedVersion orphan =
      RemoteVersion("j", "child", {RemoteVersion("j", "never sent", {}, 1).id}, 300);

  const std::pair<ReplicatedVersion, Status::Code> cases[] = {
      {tampered, Status::Code::kInvalidArgument}, {orphan, Status::Code::kNotFound}};
  for (const auto& [bad, code] : cases) {
    ReplicationBatch batch;
    batch.versions = {good, bad};
    batch.peer = "peer";
    batch.checkpoint = "42";
    auto applied = store->ApplyReplicated(batch);
    CHECK_FALSE(applied.ok());
    CHECK(applied.status().code() == code);
    CHECK(store->GetVersion(good.id, false).status().IsNotFound());
    CHECK(Heads(store.get(), "k").empty());
    CHECK(store->Checkpoint("peer").status().IsNotFound());
  }
  MustApply(store.get(), {good});
  CHECK(Heads(store.get(), "k") == std::vector<VersionId>{good.id});
}

TEST_CASE("the same versions in any order and batches, resent or not, give the same heads") {
  // A random graph of versions over a few keys, as another replica wrote
  // it: each new version names 0, 1 or 2 earlier versions of its key.
  std::mt19937_64 rng(GENERATE(1, 2, 3, 4, 5, 6, 7, 8));
  const std::vector<std::string> keys = {"a", "b", "c"};
  std::vector<ReplicatedVersion> graph;
  std::map<std::string, std::vector<size_t>> of_key;
  for (int i = 0; i < 60; ++i) {
    const std::string& key = keys[rng() % keys.size()];
    std::vector<size_t>& earlier = of_key[key];
    std::set<VersionId> parents;
    for (size_t n = earlier.empty() ? 0 : rng() % 3; n > 0; --n) {
      parents.insert(graph[earlier[rng() % earlier.size()]].id);
    }
    // Times go back now and then, as clocks do between machines.
    graph.push_back(RemoteVersion(key, "v" + std::to_string(i),
                                  std::vector<VersionId>(parents.begin(), parents.end()),
                                  1000 + static_cast<int64_t>(rng() % 500)));
    earlier.push_back(graph.size() - 1);
  }
  // Every version that no other names as a parent: the heads, once all
  // have arrived.
  std::map<std::string, std::set<VersionId>> expected;
  std::set<VersionId> named;
  for (const ReplicatedVersion& v : graph) named.insert(v.parents.begin(), v.parents.end());
  for (const ReplicatedVersion& v : graph) {
    if (!named.count(v.id)) expected[v.key].insert(v.id);
  }

  // Each replica receives the graph parents first but in its own order, in
  // batches of its own sizes, with some versions sent again.
  auto receive = [&](uint64_t seed) {
    std::mt19937_64 order(seed);
    TempDir dir;
    auto store = OpenStore(dir.path());
    std::set<VersionId> have;
    std::vector<const ReplicatedVersion*> sent;
    while (have.size() < graph.size()) {
      std::vector<ReplicatedVersion> batch;
      for (size_t n = 1 + order() % 6; n > 0 && have.size() < graph.size(); --n) {
        if (!sent.empty() && order() % 5 == 0) {
          batch.push_back(*sent[order() % sent.size()]);  // resent
          continue;
        }
        std::vector<const ReplicatedVersion*> ready;
        for (const ReplicatedVersion& v : graph) {
          if (have.count(v.id)) continue;
          if (std::all_of(v.parents.begin(), v.parents.end(),
                          [&](const VersionId& p) { return have.count(p) > 0; })) {
            ready.push_back(&v);
          }
        }
        const ReplicatedVersion* next = ready[order() % ready.size()];
        have.insert(next->id);
        sent.push_back(next);
        batch.push_back(*next);
      }
      MustApply(store.get(), batch);
    }
    std::map<std::string, std::vector<VersionId>> heads;
    for (const std::string& key : keys) heads[key] = Heads(store.get(), key);
    auto report = store->Check();
    REQUIRE(report.ok());
    CHECK(report->ok());
    return heads;
  };

  std::map<std::string, std::vector<VersionId>> first = receive(rng());
  for (const std::string& key : keys) {
    INFO("key " << key);
    std::set<VersionId> got(first[key].begin(), first[key].end());
    CHECK(got == expected[key]);
  }
  for (int replica = 0; replica < 3; ++replica) {
    CHECK(receive(rng()) == first);  // the same heads, winner first, everywhere
  }
}

}  // namespace kvs::test

namespace kvs::test {

TEST_CASE("the changes feed lists each key a branch changed after a revision, once") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  MustPut(store.get(), "a", "1");
  const uint64_t since = *store->Revision();
  MustPut(store.get(), "b", "1");
  MustPut(store.get(), "a", "2");
  MustPut(store.get(), "b", "2");
  REQUIRE(store->CreateBranch("dev", "main").ok());
  MustPut(store.get(), "c", "on dev only", "dev");
  MustPut(store.get(), "prefixed/x", "1");

  ChangesOptions options;
  options.since = since;
  auto changes = store->ChangesSince(options);
  REQUIRE(changes.ok());
  std::vector<std::string> keys;
  for (const KeyHeads& k : changes->keys) keys.push_back(k.key);
  CHECK(keys == std::vector<std::string>{"a", "b", "prefixed/x"});
  CHECK(changes->through == *store->Revision());
  CHECK(changes->revision == changes->through);
  CHECK(changes->keys[0].heads == std::vector<VersionId>{store->Get("main", "a")->winner.id});

  options.prefix = "prefixed/";
  CHECK(store->ChangesSince(options)->keys.size() == 1);

  // A page ends after the revision that reached the limit.
  options.prefix = "";
  options.limit = 1;
  auto page = store->ChangesSince(options);
  REQUIRE(page.ok());
  CHECK(page->keys.size() == 1);
  CHECK(page->keys[0].key == "b");
  CHECK(page->through == since + 1);
  options.since = page->through;
  CHECK(store->ChangesSince(options)->keys[0].key == "a");

  // Commits survive compaction, and so does the feed.
  REQUIRE(store->Compact({}).ok());
  options.since = since;
  options.limit = 1000;
  CHECK(store->ChangesSince(options)->keys.size() == 3);

  options.since = *store->Revision() + 1;
  CHECK(store->ChangesSince(options).status().code() == Status::Code::kInvalidArgument);
  options.since = 0;
  options.branch = "no-such-branch";
  CHECK(store->ChangesSince(options).status().IsNotFound());
}

TEST_CASE("a replicated parent the sender no longer holds is accepted only when named dropped") {
  TempDir dir;
  auto source = OpenStore(dir.Sub("source"));
  auto target = OpenStore(dir.Sub("target"));
  MustPut(source.get(), "k", "old");
  WriteResult newer = MustPut(source.get(), "k", "new");
  auto v = source->GetVersion(newer.versions[0], true);
  REQUIRE(v.ok());
  ReplicationBatch batch;
  batch.versions.push_back(
      ReplicatedVersion{v->id, v->key, v->parents, v->value, v->time_ns, v->replica, v->json});
  CHECK(target->ApplyReplicated(batch).status().IsNotFound());  // an orphan
  batch.dropped = v->parents;
  REQUIRE(target->ApplyReplicated(batch).ok());
  CHECK(ValueOf(target.get(), "k") == "new");
  CHECK(target->Tails("k")->size() == 1);
  CHECK(target->Check()->ok());
}

}  // namespace kvs::test

namespace kvs::test {

TEST_CASE("GetVersions answers each id in order, nullopt for one not stored") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriteResult a = MustPut(store.get(), "a", "one");
  WriteResult b = MustPut(store.get(), "b", "two");
  VersionId missing;
  missing.bytes.fill(7);
  auto found = store->GetVersions({b.versions[0], missing, a.versions[0]}, true);
  REQUIRE(found.ok());
  REQUIRE(found->size() == 3);
  CHECK((*found)[0]->value == "two");
  CHECK_FALSE((*found)[1]);
  CHECK((*found)[2]->key == "a");
  auto bare = store->GetVersions({a.versions[0]}, false);
  REQUIRE(bare.ok());
  CHECK((*bare)[0]->value.empty());
  CHECK((*bare)[0]->size == 3);
}

}  // namespace kvs::test

namespace kvs::test {

TEST_CASE("presence tells each key's heads on a branch and whether it is stored at all") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const VersionId live = MustPut(store.get(), "live", "v").versions.front();
  MustPut(store.get(), "gone", "v");
  WriteBatch erase;
  erase.Delete("gone");
  REQUIRE(store->Write(erase).ok());
  REQUIRE(store->CreateBranch("dev", "main").ok());
  MustPut(store.get(), "dev-only", "d", "dev");

  auto main = store->Presence("main", {"live", "gone", "dev-only", "never"});
  REQUIRE(main.ok());
  REQUIRE(main->size() == 4);
  REQUIRE((*main)[0].heads.size() == 1);
  CHECK((*main)[0].heads.front().id == live);
  CHECK((*main)[0].stored);
  REQUIRE((*main)[1].heads.size() == 1);  // a deleted key's head is its tombstone
  CHECK((*main)[1].heads.front().deleted);
  CHECK((*main)[2].heads.empty());  // on another branch only
  CHECK((*main)[2].stored);
  CHECK((*main)[3].heads.empty());
  CHECK_FALSE((*main)[3].stored);

  auto unknown = store->Presence("no-such-branch", {"live"});
  REQUIRE(unknown.ok());
  CHECK(unknown->front().heads.empty());
  CHECK(unknown->front().stored);
  CHECK(store->Presence("main", {std::string("a\0b", 3)}).status().code() ==
        Status::Code::kInvalidArgument);
}

}  // namespace kvs::test
