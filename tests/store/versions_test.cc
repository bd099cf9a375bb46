// Versions, heads and the version graph: what a write creates and how the
// graph reads back.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstring>
#include <set>
#include <unordered_map>

#include "store/entries.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

KeyWrite PutWithParents(std::string key, std::string value, std::vector<VersionId> parents) {
  return KeyWrite{std::move(key), std::move(value), std::move(parents), std::nullopt, std::nullopt};
}

WriteResult MustWrite(Store* store, KeyWrite w, const std::string& branch = "main") {
  WriteBatch batch;
  batch.branch = branch;
  batch.writes.push_back(std::move(w));
  auto r = store->Write(batch);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

std::vector<VersionId> Ids(const std::vector<Version>& versions) {
  std::vector<VersionId> out;
  for (const Version& v : versions) out.push_back(v.id);
  return out;
}

}  // namespace

TEST_CASE("a version id is the SHA-256 of its canonical content") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  VersionId first = MustPut(store.get(), "k", "v1").versions[0];
  VersionId second = MustPut(store.get(), "k", "v2").versions[0];
  auto v = store->GetVersion(second, true);
  REQUIRE(v.ok());
  CHECK(v->key == "k");
  CHECK(v->value == "v2");
  CHECK(v->parents == std::vector<VersionId>{first});
  CHECK(v->replica == store->replica_id());
  CHECK(ComputeVersionId("k", {first}, false, false, "v2", v->time_ns, v->replica) == second);
}

TEST_CASE("a JSON value is its own kind of version, kept through compaction and reopening") {
  TempDir dir;
  VersionId json_id;
  {
    auto store = OpenStore(dir.path());
    KeyWrite write = PutWithParents("n", "[1,2]", {});
    write.parents = std::nullopt;
    write.json = true;
    json_id = MustWrite(store.get(), write).versions[0];
    auto v = store->GetVersion(json_id, true);
    REQUIRE(v.ok());
    CHECK(v->json);
    CHECK(v->value == "[1,2]");
    // The kind is part of the id: the same bytes as bytes are another version.
    CHECK(ComputeVersionId("n", {}, false, true, "[1,2]", v->time_ns, v->replica) == json_id);
    CHECK(ComputeVersionId("n", {}, false, false, "[1,2]", v->time_ns, v->replica) != json_id);

    VersionId bytes = MustPut(store.get(), "m", "[1,2]").versions[0];
    CHECK_FALSE(store->GetVersion(bytes, false)->json);
    REQUIRE(store->Compact(CompactOptions()).ok());
    CHECK(store->GetVersion(json_id, false)->json);
    auto report = store->Check();
    REQUIRE(report.ok());
    CHECK(report->ok());
  }
  auto reopened = OpenStore(dir.path());
  CHECK(reopened->GetVersion(json_id, false)->json);
  CHECK(reopened->Get("main", "n")->winner.json);
  CHECK_FALSE(reopened->Get("main", "m")->winner.json);
}

TEST_CASE("a replicated JSON version is checked against its kind") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ReplicatedVersion v;
  v.key = "n";
  v.value = "42";
  v.time_ns = 7;
  v.json = true;
  v.id = ComputeVersionId(v.key, {}, false, true, *v.value, v.time_ns, v.replica);
  ReplicationBatch sent_as_bytes;
  sent_as_bytes.versions = {v};
  sent_as_bytes.versions[0].json = false;  // tampered: the id says JSON
  CHECK(store->ApplyReplicated(sent_as_bytes).status().code() == Status::Code::kInvalidArgument);
  ReplicationBatch batch;
  batch.versions = {v};
  REQUIRE(store->ApplyReplicated(batch).ok());
  CHECK(store->Get("main", "n")->winner.json);
}

TEST_CASE("two writes naming the same parent leave two heads; a plain write merges them") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  VersionId base = MustPut(store.get(), "blorp", "beep boop").versions[0];
  VersionId a = MustWrite(store.get(), PutWithParents("blorp", "BEEP BOOP", {base})).versions[0];
  VersionId b = MustWrite(store.get(), PutWithParents("blorp", "BeEp BoOp", {base})).versions[0];

  auto state = store->Get("main", "blorp");
  REQUIRE(state.ok());
  CHECK(state->conflict());
  CHECK(state->heads.size() == 2);
  // The winner is the newer head (b was written later).
  CHECK(state->winner.id == b);
  CHECK(state->winner.value == "BeEp BoOp");

  auto concestor = store->CommonAncestors({a, b});
  REQUIRE(concestor.ok());
  CHECK(Ids(*concestor) == std::vector<VersionId>{base});

  VersionId merged = MustPut(store.get(), "blorp", "BEEPITY BOOPITY").versions[0];
  state = store->Get("main", "blorp");
  REQUIRE(state.ok());
  CHECK_FALSE(state->conflict());
  auto v = store->GetVersion(merged, false);
  REQUIRE(v.ok());
  CHECK(v->parents.size() == 2);

  auto tails = store->Tails("blorp");
  REQUIRE(tails.ok());
  CHECK(Ids(*tails) == std::vector<VersionId>{base});

  auto children = store->Children(base);
  REQUIRE(children.ok());
  CHECK(children->size() == 2);
}

TEST_CASE("a write naming both heads as parents merges them into one") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  VersionId base = MustPut(store.get(), "k", "0").versions[0];
  VersionId a = MustWrite(store.get(), PutWithParents("k", "a", {base})).versions[0];
  VersionId b = MustWrite(store.get(), PutWithParents("k", "b", {base})).versions[0];
  VersionId m = MustWrite(store.get(), PutWithParents("k", "m", {a, b})).versions[0];
  auto state = store->Get("main", "k");
  REQUIRE(state.ok());
  CHECK(state->heads.size() == 1);
  CHECK(state->winner.id == m);
}

TEST_CASE("explicit parents must exist and belong to the same key") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  VersionId other = MustPut(store.get(), "other", "x").versions[0];
  VersionId unknown;
  unknown.bytes[0] = 7;
  WriteBatch batch;
  batch.writes.push_back(PutWithParents("k", "v", {unknown}));
  CHECK(store->Write(batch).status().IsNotFound());
  batch.writes[0] = PutWithParents("k", "v", {other});
  CHECK(store->Write(batch).status().code() == Status::Code::kInvalidArgument);
  CHECK(ValueOf(store.get(), "k") == "<missing>");
}

TEST_CASE("compare-and-set writes only when the heads are as expected") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  KeyWrite create{"counter", "1", std::nullopt, std::vector<VersionId>{}, std::nullopt};
  VersionId v1 = MustWrite(store.get(), create).versions[0];

  WriteBatch stale;
  stale.writes.push_back(
      KeyWrite{"counter", "2", std::nullopt, std::vector<VersionId>{}, std::nullopt});
  stale.writes.push_back(KeyWrite{"untouched", "x", std::nullopt, std::nullopt, std::nullopt});
  auto r = store->Write(stale);
  CHECK(r.status().IsConflict());
  CHECK(ValueOf(store.get(), "counter") == "1");
  CHECK(ValueOf(store.get(), "untouched") == "<missing>");  // all or nothing

  MustWrite(store.get(),
            KeyWrite{"counter", "2", std::nullopt, std::vector<VersionId>{v1}, std::nullopt});
  CHECK(ValueOf(store.get(), "counter") == "2");
}

TEST_CASE("a delete writes a tombstone and keeps the history readable") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  uint64_t written = MustPut(store.get(), "k", "v").revision;
  WriteBatch del;
  del.Delete("k");
  auto r = store->Write(del);
  REQUIRE(r.ok());
  CHECK(ValueOf(store.get(), "k") == "<deleted>");
  CHECK(ValueOf(store.get(), "k", "main", ReadPoint::AtRevision(written)) == "v");
  // Deleting what is already deleted, or never existed, is NotFound.
  CHECK(store->Write(del).status().IsNotFound());
  WriteBatch missing;
  missing.Delete("never");
  CHECK(store->Write(missing).status().IsNotFound());
  auto history = store->History(r->versions[0], 0, 10, true);
  REQUIRE(history.ok());
  REQUIRE(history->size() == 2);
  CHECK((*history)[0].deleted);
  CHECK((*history)[1].value == "v");
}

TEST_CASE("history walks parents newest first, in pages") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  VersionId last;
  for (int i = 0; i < 25; ++i) last = MustPut(store.get(), "k", std::to_string(i)).versions[0];
  auto page1 = store->History(last, 0, 10, true);
  auto page3 = store->History(last, 20, 10, true);
  REQUIRE(page1.ok());
  REQUIRE(page3.ok());
  REQUIRE(page1->size() == 10);
  CHECK(page1->front().value == "24");
  CHECK(page1->back().value == "15");
  REQUIRE(page3->size() == 5);
  CHECK(page3->back().value == "0");
}

TEST_CASE("history lists a version reached through two merges once, after a long chain") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  // root, then two forks of it merged, twice over, then a chain on top.
  auto write = [&](const std::string& value, std::vector<VersionId> parents) {
    WriteBatch batch;
    batch.writes.push_back({"k", value, std::move(parents), std::nullopt, std::nullopt, false});
    auto r = store->Write(batch);
    REQUIRE(r.ok());
    return r->versions[0];
  };
  VersionId base = MustPut(store.get(), "k", "root").versions[0];
  for (int round = 0; round < 2; ++round) {
    VersionId left = write("left" + std::to_string(round), {base});
    VersionId right = write("right" + std::to_string(round), {base});
    base = write("merge" + std::to_string(round), {left, right});
  }
  for (int i = 0; i < 50; ++i) base = write("chain" + std::to_string(i), {base});
  auto history = store->History(base, 0, 1000, true);
  REQUIRE(history.ok());
  REQUIRE(history->size() == 57);
  std::set<VersionId> seen;
  for (const Version& v : *history) CHECK(seen.insert(v.id).second);
  CHECK(history->front().value == "chain49");
  CHECK(history->back().value == "root");
  for (size_t i = 1; i < history->size(); ++i) {
    CHECK((*history)[i - 1].time_ns >= (*history)[i].time_ns);
  }
}

TEST_CASE("a version is found by a unique hex prefix of at least 8 digits") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  VersionId id = MustPut(store.get(), "k", "v").versions[0];
  auto found = store->ResolveVersion(id.Hex().substr(0, 8));
  REQUIRE(found.ok());
  CHECK(*found == id);
  CHECK(store->ResolveVersion(id.Hex()).ok());
  std::string upper = id.Hex().substr(0, 12);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto found_upper = store->ResolveVersion(upper);
  REQUIRE(found_upper.ok());
  CHECK(*found_upper == id);
  CHECK(store->ResolveVersion(id.Hex().substr(0, 7)).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(store->ResolveVersion("zzzzzzzz").status().code() == Status::Code::kInvalidArgument);
  std::string absent = id.Hex().substr(0, 8);
  absent[0] = absent[0] == '0' ? '1' : '0';
  CHECK(store->ResolveVersion(absent).status().IsNotFound());
}

TEST_CASE("a prefix shared by two versions is ambiguous") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  // Two versions whose ids share their first 32 bits: by the birthday bound
  // a few hundred thousand candidates almost surely hold such a pair.
  std::unordered_map<uint32_t, ReplicatedVersion> seen;
  std::vector<ReplicatedVersion> pair;
  for (int i = 0; i < 2000000 && pair.empty(); ++i) {
    ReplicatedVersion v;
    v.key = "k";
    v.value = std::to_string(i);
    v.time_ns = 1;
    v.id = ComputeVersionId(v.key, {}, false, false, *v.value, v.time_ns, v.replica);
    uint32_t prefix;
    std::memcpy(&prefix, v.id.bytes.data(), 4);
    auto [it, fresh] = seen.emplace(prefix, v);
    if (!fresh) pair = {it->second, v};
  }
  REQUIRE(pair.size() == 2);
  ReplicationBatch batch;
  batch.versions = pair;
  REQUIRE(store->ApplyReplicated(batch).ok());
  std::string prefix = pair[0].id.Hex().substr(0, 8);
  CHECK(store->ResolveVersion(prefix).status().code() == Status::Code::kAmbiguous);
  CHECK(*store->ResolveVersion(pair[0].id.Hex().substr(0, 16)) == pair[0].id);
  // Both are heads of k now: two new keys' tails, a visible fork.
  auto state = store->Get("main", "k");
  REQUIRE(state.ok());
  CHECK(state->heads.size() == 2);
}

TEST_CASE("versions list by id, all keys, within hex bounds and a limit") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(
        MustPut(store.get(), "k" + std::to_string(i % 3), std::to_string(i)).versions[0].Hex());
  }
  std::sort(ids.begin(), ids.end());
  auto hexes = [](const Result<std::vector<Version>>& listed) {
    INFO(listed.status().ToString());
    REQUIRE(listed.ok());
    std::vector<std::string> out;
    for (const Version& v : *listed) out.push_back(v.id.Hex());
    return out;
  };
  auto range = [](std::string gt, std::string lt, size_t limit = 1000) {
    return VersionListOptions{std::move(gt), std::move(lt), limit};
  };
  CHECK(hexes(store->ListVersions({})) == ids);
  CHECK(hexes(store->ListVersions(range(ids[4], ids[9]))) ==
        std::vector<std::string>(ids.begin() + 5, ids.begin() + 9));
  CHECK(hexes(store->ListVersions(range(ids[4], "", 3))) ==
        std::vector<std::string>(ids.begin() + 5, ids.begin() + 8));
  // A prefix bound: ids starting with it sort after it, so lt excludes them.
  std::string prefix = ids[10].substr(0, 3);
  for (const std::string& hex : hexes(store->ListVersions(range("", prefix)))) {
    CHECK(hex < prefix);
  }
  for (const std::string& hex : hexes(store->ListVersions(range(prefix, "")))) {
    CHECK(hex > prefix);
  }
  auto listed = store->ListVersions({});
  REQUIRE(listed.ok());
  CHECK(listed->front().key.substr(0, 1) == "k");
  CHECK(listed->front().value.empty());

  CHECK(store->ListVersions(range("ABC", "")).status().code() == Status::Code::kInvalidArgument);
  CHECK(store->ListVersions(range("", std::string(65, '0'))).status().code() ==
        Status::Code::kInvalidArgument);
}

}  // namespace kvs::test
