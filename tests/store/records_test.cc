// Version and commit records and key entries (store/entries.h): the
// compact layouts of store format 6 carry what the fixed-width ones of
// earlier formats do in fewer bytes, a compact version names a parent
// stored in the same file by its offset alone, malformed bodies are
// refused, and a store writes compact records once upgraded, reads both
// kinds in one key's history, and a compaction leaves only compact ones.
#include <algorithm>
#include <catch2/catch.hpp>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "store/entries.h"
#include "store/format.h"
#include "tests/store/blocks.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

Hash IdOf(uint8_t fill) {
  Hash h;
  h.bytes.fill(fill);
  return h;
}

// A version record's parents resolved from a table of offsets, as
// ReadVersionAt resolves them from the file.
Result<VersionRecord> Decode(const EncodedRecord& record, const std::map<uint64_t, VersionId>& at) {
  return DecodeVersion(record.type, record.body, [&](uint64_t offset) -> Result<VersionId> {
    auto it = at.find(offset);
    if (it == at.end()) return Status::Corruption("no version there");
    return it->second;
  });
}

VersionRecord Sample() {
  VersionRecord v;
  v.id = IdOf(1);
  v.time_ns = 1'765'000'000'123'456'789;
  v.replica.bytes.fill(7);
  v.revision = 300'000;
  v.parents = {{IdOf(2), 4096}, {IdOf(3), 0}, {IdOf(4), 1'000'000'000'000}};
  v.key = "sensor/kitchen";
  v.value = R"({"celsius": 21.5})";
  v.json = true;
  return v;
}

void CheckSame(const VersionRecord& got, const VersionRecord& want) {
  CHECK(got.id == want.id);
  CHECK(got.time_ns == want.time_ns);
  CHECK(got.replica == want.replica);
  CHECK(got.revision == want.revision);
  CHECK(got.deleted == want.deleted);
  CHECK(got.json == want.json);
  REQUIRE(got.parents.size() == want.parents.size());
  for (size_t i = 0; i < got.parents.size(); ++i) {
    CHECK(got.parents[i].id == want.parents[i].id);
    CHECK(got.parents[i].offset == want.parents[i].offset);
  }
  CHECK(got.key == want.key);
  CHECK(got.value == want.value);
}

TEST_CASE("A compact version record reads back as the fixed-width one does, in fewer bytes") {
  const std::map<uint64_t, VersionId> stored = {{4096, IdOf(2)}, {1'000'000'000'000, IdOf(4)}};
  VersionRecord v = Sample();
  for (int kind = 0; kind < 3; ++kind) {
    v.json = kind == 1;
    v.deleted = kind == 2;
    if (v.deleted) v.value = "";
    const EncodedRecord fixed = EncodeVersion(v, false);
    const EncodedRecord compact = EncodeVersion(v, true);
    CHECK(fixed.type == format::kVersionRecord);
    CHECK(compact.type == format::kCompactVersionRecord);
    CHECK(IsVersionRecord(compact.type));
    auto a = Decode(fixed, stored);
    auto b = Decode(compact, stored);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CheckSame(*a, v);
    CheckSame(*b, v);
    // Two stored parents named by offset: their ids and fixed-width
    // fields are what the compact record leaves out.
    CHECK(compact.body.size() + 2 * 32 + 20 <= fixed.body.size());
    auto id = VersionIdOfRecord(compact.type, compact.body);
    REQUIRE(id.ok());
    CHECK(*id == v.id);
  }
  // A first version (no parent) still saves its fixed-width fields.
  v.parents.clear();
  CHECK(EncodeVersion(v, true).body.size() + 20 <= EncodeVersion(v, false).body.size());
}

TEST_CASE("A compact version record whose stored parent cannot be read is refused") {
  const EncodedRecord compact = EncodeVersion(Sample(), true);
  auto missing = Decode(compact, {{4096, IdOf(2)}});
  CHECK(missing.status().IsCorruption());
}

TEST_CASE("Every cut and every changed length of a compact record is refused, never misread") {
  const std::map<uint64_t, VersionId> stored = {{4096, IdOf(2)}, {1'000'000'000'000, IdOf(4)}};
  const EncodedRecord version = EncodeVersion(Sample(), true);
  for (size_t n = 0; n < version.body.size(); ++n) {
    INFO("cut to " << n);
    CHECK(Decode({version.type, version.body.substr(0, n)}, stored).status().IsCorruption());
  }
  // The varints after the fixed fields: revision, counts and lengths.
  for (size_t at = format::kCompactVersionFixedSize; at < format::kCompactVersionFixedSize + 6;
       ++at) {
    for (char byte : {'\x00', '\x7f', '\xff'}) {
      std::string body = version.body;
      if (body[at] == byte) continue;
      body[at] = byte;
      auto v = Decode({version.type, body}, stored);
      if (v.ok()) CHECK(v->key.size() + v->value.size() <= body.size());
    }
  }

  CommitRecord c;
  c.id = IdOf(9);
  c.revision = 77;
  c.time_ns = 1'765'000'000'000'000'000;
  c.branch = "main";
  c.parents = {IdOf(8)};
  c.keys = {"a", "sensor/kitchen"};
  const EncodedRecord commit = EncodeCommit(c, true);
  for (size_t n = 0; n < commit.body.size(); ++n) {
    INFO("cut to " << n);
    CHECK(DecodeCommit(commit.type, commit.body.substr(0, n)).status().IsCorruption());
  }
  CHECK(DecodeCommit(format::kCompactVersionRecord, commit.body).status().IsCorruption());
}

TEST_CASE("A compact commit record reads back as the fixed-width one does, in fewer bytes") {
  CommitRecord c;
  c.id = IdOf(9);
  c.revision = 1'234'567;
  c.time_ns = 1'765'000'000'000'000'001;
  c.branch = "draft";
  c.parents = {IdOf(8), IdOf(7)};
  c.keys = {"a", "b", "sensor/kitchen"};
  const EncodedRecord fixed = EncodeCommit(c, false);
  const EncodedRecord compact = EncodeCommit(c, true);
  CHECK(fixed.type == format::kCommitRecord);
  CHECK(compact.type == format::kCompactCommitRecord);
  CHECK(IsCommitRecord(compact.type));
  CHECK(compact.body.size() + 16 <= fixed.body.size());
  for (const EncodedRecord& record : {fixed, compact}) {
    auto got = DecodeCommit(record.type, record.body);
    REQUIRE(got.ok());
    CHECK(got->id == c.id);
    CHECK(got->revision == c.revision);
    CHECK(got->time_ns == c.time_ns);
    CHECK(got->branch == c.branch);
    CHECK(got->parents == c.parents);
    CHECK(got->keys == c.keys);
  }
}

TEST_CASE("A compact key entry reads back as the fixed-width one does, and is told from it") {
  const int64_t created = 1'765'000'000'000'000'000;
  for (size_t n : {1, 2, 3, 7, 255, 256}) {
    KeyEntry e;
    e.created_time_ns = created;
    for (size_t i = 0; i < n; ++i) {
      // Times before and after the key's creation, tombstones among them.
      const int64_t time = created + (i % 2 == 0 ? 1 : -1) * int64_t(i) * 86'400'000'000'000;
      e.heads.push_back({IdOf(uint8_t(i)), 64 + 1000 * i, time, i % 3 == 1});
    }
    INFO(n << " heads");
    const std::string fixed = EncodeKeyEntry(e, false), compact = EncodeKeyEntry(e, true);
    CHECK_FALSE(IsCompactKeyEntrySize(fixed.size()));
    CHECK(IsCompactKeyEntrySize(compact.size()) == (n <= format::kMaxCompactHeads));
    if (n <= format::kMaxCompactHeads) CHECK(compact.size() + 10 * n <= fixed.size());
    for (const std::string& bytes : {fixed, compact}) {
      auto got = DecodeKeyEntry(bytes);
      REQUIRE(got.ok());
      CHECK(got->created_time_ns == e.created_time_ns);
      REQUIRE(got->heads.size() == n);
      for (size_t i = 0; i < n; ++i) {
        CHECK(got->heads[i].id == e.heads[i].id);
        CHECK(got->heads[i].offset == e.heads[i].offset);
        CHECK(got->heads[i].time_ns == e.heads[i].time_ns);
        CHECK(got->heads[i].deleted == e.heads[i].deleted);
      }
    }
  }
  // A head time too far from the key's creation for the compact layout
  // (another replica's clock may say anything): the fixed-width one.
  KeyEntry far;
  far.created_time_ns = std::numeric_limits<int64_t>::max();
  far.heads.push_back({IdOf(1), 64, std::numeric_limits<int64_t>::min(), false});
  const std::string bytes = EncodeKeyEntry(far, true);
  CHECK_FALSE(IsCompactKeyEntrySize(bytes.size()));
  auto got = DecodeKeyEntry(bytes);
  REQUIRE(got.ok());
  CHECK(got->heads[0].time_ns == std::numeric_limits<int64_t>::min());
}

TEST_CASE("Every cut of a compact key entry is refused") {
  KeyEntry e;
  e.created_time_ns = 1'765'000'000'000'000'000;
  e.heads.push_back({IdOf(0x11), 4096, e.created_time_ns + 5, false});
  e.heads.push_back({IdOf(0x22), 1 << 30, e.created_time_ns - 5, true});
  const std::string compact = EncodeKeyEntry(e, true);
  for (size_t n = 0; n < compact.size(); ++n) {
    INFO("cut to " << n);
    CHECK(DecodeKeyEntry(compact.substr(0, n)).status().IsCorruption());
  }
  std::string no_heads = compact;
  no_heads[0] = 0;
  CHECK(DecodeKeyEntry(no_heads).status().IsCorruption());
  std::string trailing = compact + std::string(compact.size() % 8 == 7 ? 2 : 1, '\x01');
  CHECK(DecodeKeyEntry(trailing).status().IsCorruption());
}

// The record types of a data file's blocks from the first'th on.
std::string TypesFrom(const std::vector<BlockInfo>& blocks, size_t first) {
  std::string types;
  for (size_t i = first; i < blocks.size(); ++i) types += blocks[i].record_types;
  return types;
}

TEST_CASE("A store of format 5 writes fixed-width records until upgraded, then compact ones") {
  TempDir dir;
  CopyTestStore("store-0.6", dir.path());
  const std::string file = "data.000002";
  {
    auto store = OpenStore(dir.path());
    CHECK(ValueOf(store.get(), "counter") == "39");
    MustPut(store.get(), "counter", "40");
  }
  std::vector<BlockInfo> blocks = Blocks(dir.path(), file);
  CHECK(blocks.back().record_types == "VCE");

  auto upgraded = Store::Upgrade(dir.path());
  REQUIRE(upgraded.ok());
  CHECK(upgraded->from == 5);
  CHECK(upgraded->to == format::kStoreFormatVersion);
  const size_t old_blocks = blocks.size();
  auto store = OpenStore(dir.path());
  WriteResult last;
  for (int i = 41; i < 50; ++i) {
    last = MustPut(store.get(), "counter", std::to_string(i));
    MustPut(store.get(), "note", "draft " + std::to_string(i), "draft");
  }
  blocks = Blocks(dir.path(), file);
  REQUIRE(blocks.size() == old_blocks + 18);
  for (size_t i = old_blocks; i < blocks.size(); ++i) CHECK(blocks[i].record_types == "vcE");

  // One history through both kinds: version 41's parent is the fixed-width
  // record of 40, named by its offset.
  auto history = store->History(last.versions[0], 0, 100, true);
  REQUIRE(history.ok());
  REQUIRE(history->size() == 50);
  for (size_t i = 0; i < history->size(); ++i) {
    CHECK((*history)[i].value == std::to_string(49 - i));
    if (i + 1 < history->size()) CHECK((*history)[i].parents == std::vector{(*history)[i + 1].id});
  }
  auto report = store->Check();
  REQUIRE(report.ok());
  CHECK(report->problems.empty());

  // A compaction writes every version and commit anew, compact.
  REQUIRE(store->Compact(CompactOptions()).ok());
  store.reset();
  store = OpenStore(dir.path());
  const std::string types = TypesFrom(Blocks(dir.path(), "data.000003"), 0);
  CHECK(types.find_first_of("VC") == std::string::npos);
  CHECK(types.find('v') != std::string::npos);
  CHECK(types.find('c') != std::string::npos);
  auto after = store->History(last.versions[0], 0, 100, true);
  REQUIRE(after.ok());
  REQUIRE(after->size() == 50);
  for (size_t i = 0; i < after->size(); ++i) {
    CHECK((*after)[i].id == (*history)[i].id);
    CHECK((*after)[i].parents == (*history)[i].parents);
    CHECK((*after)[i].value == (*history)[i].value);
  }
  CHECK(ValueOf(store.get(), "note", "draft") == "draft 49");
  report = store->Check();
  REQUIRE(report.ok());
  CHECK(report->problems.empty());
}

TEST_CASE("A version whose parents were not all stored here keeps their ids in a compact record") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const WriteResult local = MustPut(store.get(), "k", "local");
  // A remote version merging the local one with a parent this store never
  // received: one parent by offset, one by id.
  const ReplicatedVersion remote =
      RemoteVersion("k", "merged", {local.versions[0], IdOf(0x5a)}, 1'765'000'000'000'000'000);
  ReplicationBatch batch;
  batch.versions.push_back(remote);
  batch.dropped.push_back(IdOf(0x5a));
  REQUIRE(store->ApplyReplicated(batch).ok());
  auto got = store->GetVersion(remote.id, true);
  REQUIRE(got.ok());
  CHECK(got->value == "merged");
  std::vector<VersionId> want = {local.versions[0], IdOf(0x5a)};
  std::vector<VersionId> parents = got->parents;
  std::sort(want.begin(), want.end());
  std::sort(parents.begin(), parents.end());
  CHECK(parents == want);
  auto report = store->Check();
  REQUIRE(report.ok());
  CHECK(report->problems.empty());
}

}  // namespace
}  // namespace kvs::test
