// Transactions: validation, atomicity, replication's apply, reopening.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <thread>

#include "store/entries.h"
#include "tests/store/test_util.h"

namespace kvs::test {

TEST_CASE("bad input is refused with a message and writes nothing") {
  TempDir dir;
  Options options;
  options.max_key_bytes = 16;
  options.max_value_bytes = 32;
  options.max_writes_per_transaction = 3;
  auto store = OpenStore(dir.path(), options);
  auto refused = [&](WriteBatch batch) {
    auto r = store->Write(batch);
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK_FALSE(r.status().message().empty());
  };
  refused(WriteBatch().Put("", "v"));
  refused(WriteBatch().Put(std::string("a\0b", 3), "v"));
  refused(WriteBatch().Put(std::string(17, 'k'), "v"));
  refused(WriteBatch().Put("k", std::string(33, 'v')));
  refused(WriteBatch().Put("k", "1").Put("k", "2"));
  auto twice = store->Write(WriteBatch().Put("b", "1").Put("a", "1").Put("b", "2"));
  CHECK(twice.status().code() == Status::Code::kInvalidArgument);
  CHECK(twice.status().message() == "key 'b' is written twice in one transaction");
  refused(WriteBatch().Put("a", "1").Put("b", "1").Put("c", "1").Put("d", "1"));
  refused(WriteBatch());
  WriteBatch bad_branch;
  bad_branch.branch = "../etc";
  bad_branch.Put("k", "v");
  refused(bad_branch);
  CHECK(*store->Revision() == 0);
}

TEST_CASE("keys up to kMaxKeyBytes are stored, and read by any store object whatever its limit") {
  TempDir dir;
  Options wide;
  wide.max_key_bytes = kMaxKeyBytes;
  const std::string longest(kMaxKeyBytes, 'k');
  MustPut(OpenStore(dir.path(), wide).get(), longest, "v");
  auto narrow = OpenStore(dir.path());  // max_key_bytes 1024
  CHECK(ValueOf(narrow.get(), longest) == "v");
  CHECK(narrow->Tails(longest)->size() == 1);
  CHECK(narrow->Write(WriteBatch().Put(longest, "w")).status().code() ==
        Status::Code::kInvalidArgument);

  wide.max_key_bytes = kMaxKeyBytes + 1;
  CHECK(Store::Open(dir.path(), wide).status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("writes survive closing and reopening the store") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    MustPut(store.get(), "a", "1");
    MustPut(store.get(), "a", "2");
  }
  auto store = OpenStore(dir.path());
  CHECK(ValueOf(store.get(), "a") == "2");
  CHECK(ValueOf(store.get(), "a", "main", ReadPoint::AtRevision(1)) == "1");
  CHECK(*store->Revision() == 2);
  CHECK(store->recovery_info().dropped_tail_bytes == 0);
  CHECK(store->Check()->ok());
}

TEST_CASE("values are stored byte for byte") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  MustPut(store.get(), "bytes", all);
  MustPut(store.get(), "empty", "");
  CHECK(ValueOf(store.get(), "bytes") == all);
  CHECK(ValueOf(store.get(), "empty") == "");
}

TEST_CASE("concurrent writers each get their own revision, with nothing lost") {
  TempDir dir;
  Options options;
  options.sync = SyncMode::kNone;
  auto store = OpenStore(dir.path(), options);
  std::atomic<int> failures{0};  // counted: Catch's assertions are not thread-safe
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        WriteBatch b;
        b.Put("t" + std::to_string(t) + "-" + std::to_string(i), "v");
        if (!store->Write(b).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(failures == 0);
  CHECK(*store->Revision() == 1600);
  KeyListOptions all;
  all.limit = 10000;
  CHECK(store->ListKeys("main", all)->size() == 1600);
}

TEST_CASE("concurrent compare-and-set increments each learn their own outcome, none lost") {
  // Writers in one group commit fail and succeed side by side; a result
  // handed to the wrong writer would lose or double an increment.
  TempDir dir;
  Options options;
  options.sync = SyncMode::kSync;
  auto store = OpenStore(dir.path(), options);
  constexpr int kThreads = 8, kIncrements = 40;
  std::atomic<int> unexpected{0};  // errors other than a lost race; counted, as above
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int done = 0; done < kIncrements && unexpected == 0;) {
        auto now = store->Get("main", "counter", ReadPoint::Latest());
        WriteBatch b;
        KeyWrite w;
        w.key = "counter";
        w.expected_heads.emplace();
        int value = 0;
        if (now.ok()) {
          value = std::stoi(now->winner.value);
          for (const Version& h : now->heads) w.expected_heads->push_back(h.id);
        } else if (!now.status().IsNotFound()) {
          ++unexpected;
          break;
        }
        w.value = std::to_string(value + 1);
        b.writes.push_back(std::move(w));
        auto r = store->Write(b);
        if (r.ok()) {
          ++done;
        } else if (r.status().code() != Status::Code::kConflict) {
          ++unexpected;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(unexpected == 0);
  auto final_state = store->Get("main", "counter", ReadPoint::Latest());
  REQUIRE(final_state.ok());
  CHECK(final_state->winner.value == std::to_string(kThreads * kIncrements));
  CHECK(*store->Revision() == kThreads * kIncrements);
  CHECK(store->Check()->problems.empty());
}

TEST_CASE("a second store object on the same directory sees the first one's writes") {
  TempDir dir;
  auto writer = OpenStore(dir.path());
  auto reader = OpenStore(dir.path());
  MustPut(writer.get(), "k", "v1");
  CHECK(ValueOf(reader.get(), "k") == "v1");
  MustPut(reader.get(), "k", "v2");
  CHECK(ValueOf(writer.get(), "k") == "v2");
}

TEST_CASE("replicated versions keep their ids, times and replica") {
  TempDir a_dir, b_dir;
  auto a = OpenStore(a_dir.path());
  auto b = OpenStore(b_dir.path());
  VersionId v1 = MustPut(a.get(), "k", "one").versions[0];
  VersionId v2 = MustPut(a.get(), "k", "two").versions[0];
  ReplicationBatch batch;
  batch.peer = "replica-a";
  batch.checkpoint = "seq=2";
  for (const VersionId& id : {v1, v2}) {
    auto v = a->GetVersion(id, true);
    REQUIRE(v.ok());
    batch.versions.push_back({v->id, v->key, v->parents, v->value, v->time_ns, v->replica});
  }
  REQUIRE(b->ApplyReplicated(batch).ok());
  auto state = b->Get("main", "k");
  REQUIRE(state.ok());
  CHECK(state->winner.id == v2);
  CHECK(state->winner.replica == a->replica_id());
  CHECK(*b->Checkpoint("replica-a") == "seq=2");
  CHECK(b->Checkpoint("other").status().IsNotFound());
  // Applying the same versions again changes nothing.
  REQUIRE(b->ApplyReplicated(batch).ok());
  CHECK(b->Get("main", "k")->heads.size() == 1);
}

TEST_CASE("a replicated version that does not match its id is refused, with nothing applied") {
  TempDir a_dir, b_dir;
  auto a = OpenStore(a_dir.path());
  auto b = OpenStore(b_dir.path());
  auto good = a->GetVersion(MustPut(a.get(), "good", "g").versions[0], true);
  auto bad = a->GetVersion(MustPut(a.get(), "bad", "b").versions[0], true);
  ReplicationBatch batch;
  batch.peer = "a";
  batch.checkpoint = "1";
  batch.versions.push_back({good->id, good->key, {}, good->value, good->time_ns, good->replica});
  batch.versions.push_back(
      {bad->id, bad->key, {}, std::string("tampered"), bad->time_ns, bad->replica});
  CHECK(b->ApplyReplicated(batch).status().code() == Status::Code::kInvalidArgument);
  CHECK(ValueOf(b.get(), "good") == "<missing>");
  CHECK(b->Checkpoint("a").status().IsNotFound());
}

TEST_CASE("a replicated version must come after its parents") {
  TempDir a_dir, b_dir;
  auto a = OpenStore(a_dir.path());
  auto b = OpenStore(b_dir.path());
  MustPut(a.get(), "k", "1");
  auto child = a->GetVersion(MustPut(a.get(), "k", "2").versions[0], true);
  ReplicationBatch batch;
  batch.versions.push_back(
      {child->id, child->key, child->parents, child->value, child->time_ns, child->replica});
  CHECK(b->ApplyReplicated(batch).status().IsNotFound());
}

TEST_CASE(
    "concurrent replicated edits of one key become a visible fork, the same winner everywhere") {
  TempDir a_dir, b_dir;
  auto a = OpenStore(a_dir.path());
  auto b = OpenStore(b_dir.path());
  auto to_batch = [](Store* from, std::vector<VersionId> ids) {
    ReplicationBatch batch;
    for (const VersionId& id : ids) {
      auto v = from->GetVersion(id, true);
      REQUIRE(v.ok());
      batch.versions.push_back({v->id, v->key, v->parents,
                                v->deleted ? std::nullopt : std::optional<std::string>(v->value),
                                v->time_ns, v->replica});
    }
    return batch;
  };
  VersionId base = MustPut(a.get(), "msg", "beep boop").versions[0];
  REQUIRE(b->ApplyReplicated(to_batch(a.get(), {base})).ok());
  VersionId on_a = MustPut(a.get(), "msg", "RAWR").versions[0];
  VersionId on_b = MustPut(b.get(), "msg", "moo").versions[0];
  REQUIRE(a->ApplyReplicated(to_batch(b.get(), {on_b})).ok());
  REQUIRE(b->ApplyReplicated(to_batch(a.get(), {on_a})).ok());
  auto sa = a->Get("main", "msg");
  auto sb = b->Get("main", "msg");
  REQUIRE(sa.ok());
  REQUIRE(sb.ok());
  CHECK(sa->heads.size() == 2);
  CHECK(sb->heads.size() == 2);
  CHECK(sa->winner.id == sb->winner.id);
  CHECK(sa->winner.value == sb->winner.value);
}

TEST_CASE("data files without their STORE file are refused, never overwritten") {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    MustPut(store.get(), "precious", "data");
  }
  REQUIRE(std::remove(dir.Sub("STORE").c_str()) == 0);
  auto reopened = Store::Open(dir.path(), Options());
  CHECK(reopened.status().IsCorruption());
  CHECK(reopened.status().message().find("no STORE file") != std::string::npos);
  CHECK(std::ifstream(dir.Sub("data.000001")).good());
}

TEST_CASE("opening a directory that is not a store, without create, is NotFound") {
  TempDir dir;
  Options options;
  options.create_if_missing = false;
  CHECK(Store::Open(dir.Sub("nothing"), options).status().IsNotFound());
  CHECK(Store::Open(dir.path(), options).status().IsNotFound());
}

}  // namespace kvs::test
