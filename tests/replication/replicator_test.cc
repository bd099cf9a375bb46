// The replicator between two stores in this process (LocalPeer on each
// side): what travels, what a checkpoint saves, what is refused, and that
// replicas converge whatever order they meet in.
#include "replication/replicator.h"

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "replication/local_peer.h"
#include "tests/replication/replica_state.h"
#include "tests/store/fault_env.h"
#include "tests/store/test_util.h"

namespace kvs::replication {
namespace {

using kvs::replication::test::AllHeads;
using kvs::replication::test::RequireSame;
using kvs::replication::test::VersionIds;
using kvs::test::FaultEnv;
using kvs::test::MustPut;
using kvs::test::OpenStore;
using kvs::test::TempDir;
using kvs::test::ValueOf;

ReplicateStats MustReplicate(Store& from, Store& to, ReplicateOptions options = {}) {
  LocalPeer source(from), target(to);
  auto stats = Replicate(source, target, options);
  REQUIRE(stats.ok());
  return *stats;
}

void SyncBothWays(Store& a, Store& b) {
  MustReplicate(a, b);
  MustReplicate(b, a);
}

uint64_t RevisionOf(Store& store) { return *store.Revision(); }

}  // namespace

TEST_CASE("every version, deletion and branch travels, and both sides end the same") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  for (int i = 0; i < 5; ++i) MustPut(a.get(), "counter", std::to_string(i));
  MustPut(a.get(), "gone", "soon");
  REQUIRE(a->Write(WriteBatch().Delete("gone")).ok());
  REQUIRE(a->CreateBranch("dev", "main").ok());
  WriteBatch on_dev;
  on_dev.branch = "dev";
  on_dev.Put("counter", "dev edit");
  REQUIRE(a->Write(on_dev).ok());
  MustPut(b.get(), "theirs", "b's");

  SyncBothWays(*a, *b);
  RequireSame(*a, *b);
  CHECK(VersionIds(*a).size() == 9);
  CHECK(ValueOf(b.get(), "counter", "dev") == "dev edit");
  CHECK(ValueOf(b.get(), "counter") == "4");
  auto gone = b->Get("main", "gone");
  REQUIRE(gone.ok());
  CHECK(gone->winner.deleted);
  auto history = b->History(gone->winner.id, 0, 10, true);
  REQUIRE(history.ok());
  CHECK(history->size() == 2);  // the value and its deletion
  CHECK(b->Check()->ok());
}

TEST_CASE("concurrent edits become the same fork on both sides") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  MustPut(a.get(), "k", "base");
  SyncBothWays(*a, *b);
  MustPut(a.get(), "k", "from a");
  MustPut(b.get(), "k", "from b");
  LocalPeer pa(*a), pb(*b);
  auto stats = Replicate(pa, pb, {});
  REQUIRE(stats.ok());
  CHECK(stats->forked == std::set<std::string>{"k"});
  MustReplicate(*b, *a);
  RequireSame(*a, *b);
  CHECK(b->Get("main", "k")->heads.size() == 2);
  CHECK(ValueOf(a.get(), "k") == ValueOf(b.get(), "k"));  // the same winner
}

TEST_CASE("a head change that writes no version travels") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  WriteResult first = MustPut(a.get(), "k", "one");
  WriteResult second = MustPut(a.get(), "k", "two");
  SyncBothWays(*a, *b);
  // Two concurrent versions adopted as heads on a: no new version.
  KeyWrite fork;
  fork.key = "k";
  fork.value = "parallel";
  fork.parents = std::vector<VersionId>{first.versions[0]};
  WriteBatch batch;
  batch.writes.push_back(fork);
  auto parallel = a->Write(batch);
  REQUIRE(parallel.ok());
  SyncBothWays(*a, *b);
  RequireSame(*a, *b);
  // Resolved on a by adopting one head only: the other side follows only
  // when the adopted head is newer, as heads are the newest of the union.
  KeyWrite adopt;
  adopt.key = "k";
  adopt.adopt_heads = std::vector<VersionId>{second.versions[0], parallel->versions[0]};
  WriteBatch adopt_batch;
  adopt_batch.writes.push_back(adopt);
  REQUIRE(a->Write(adopt_batch).ok());
  SyncBothWays(*a, *b);
  RequireSame(*a, *b);
}

TEST_CASE("a checkpoint makes the next run cost what changed, and a no-op run writes nothing") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  for (int i = 0; i < 50; ++i) MustPut(a.get(), "key" + std::to_string(i), "v");
  ReplicateStats first = MustReplicate(*a, *b);
  CHECK(first.versions == 50);
  CHECK(first.full_listing);

  MustPut(a.get(), "key7", "changed");
  ReplicateStats second = MustReplicate(*a, *b);
  CHECK(second.versions == 1);
  CHECK(second.keys == 1);
  CHECK_FALSE(second.full_listing);

  const uint64_t revision = RevisionOf(*b);
  ReplicateStats third = MustReplicate(*a, *b);
  CHECK(third.versions == 0);
  CHECK(third.keys == 0);
  CHECK(RevisionOf(*b) == revision);
}

TEST_CASE("a hash-range filter copies only the keys whose hash is in it, and waits for them") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  // The lower half of the hashes.
  const common::HashRanges lower{{0, uint64_t{1} << 31}};
  std::vector<std::string> in, out;
  for (int i = 0; i < 60; ++i) {
    const std::string key = "key" + std::to_string(i);
    MustPut(a.get(), key, "v");
    (common::KeyInRanges(key, lower) ? in : out).push_back(key);
  }
  REQUIRE(in.size() > 10);
  REQUIRE(out.size() > 10);
  ReplicateOptions filtered;
  filtered.hash_ranges = lower;
  filtered.page_keys = 7;  // full listing pages whose keys are mostly filtered out
  ReplicateStats first = MustReplicate(*a, *b, filtered);
  CHECK(first.full_listing);
  CHECK(first.versions == in.size());
  for (const std::string& key : in) CHECK(ValueOf(b.get(), key) == "v");
  for (const std::string& key : out) CHECK(b->Get("main", key).status().IsNotFound());

  // Incremental: a change outside the ranges is neither copied nor waited for.
  MustPut(a.get(), out[0], "changed");
  LocalPeer source(*a);
  const uint64_t since = RevisionOf(*a) - 1;
  auto waited = source.Wait({since, {}, "", 0, lower});
  REQUIRE(waited.ok());
  CHECK_FALSE(waited->changed);
  MustPut(a.get(), in[0], "changed");
  waited = source.Wait({since, {}, "", 0, lower});
  REQUIRE(waited.ok());
  CHECK(waited->changed);
  ReplicateStats second = MustReplicate(*a, *b, filtered);
  CHECK_FALSE(second.full_listing);
  CHECK(second.versions == 1);
  CHECK(ValueOf(b.get(), in[0]) == "changed");
  CHECK(b->Get("main", out[0]).status().IsNotFound());

  // Another filter keeps a checkpoint of its own: everything comes.
  ReplicateStats all = MustReplicate(*a, *b);
  CHECK(all.full_listing);
  CHECK(ValueOf(b.get(), out[0]) == "changed");
  RequireSame(*a, *b);
}

TEST_CASE("pages are checkpointed one by one, so a run cut short resumes where it stopped") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  for (int i = 0; i < 30; ++i) MustPut(a.get(), "key" + std::to_string(100 + i), "v");

  // A target that fails its third apply, as a connection cut mid-transfer.
  class FailingTarget : public LocalPeer {
   public:
    using LocalPeer::LocalPeer;
    Result<ApplyOutcome> Apply(const ReplicationBatch& batch,
                               const std::vector<std::string>& may_fork) override {
      if (++applies == 3) return Status::IOError("cut");
      return LocalPeer::Apply(batch, may_fork);
    }
    int applies = 0;
  };
  LocalPeer source(*a);
  FailingTarget target(*b);
  ReplicateOptions options;
  options.page_keys = 10;
  CHECK(Replicate(source, target, options).status().code() == Status::Code::kIOError);
  CHECK(VersionIds(*b).size() == 20);  // two pages, each with its checkpoint

  ReplicateStats rest = MustReplicate(*a, *b, options);
  CHECK(rest.versions == 10);
  CHECK(rest.keys == 10);  // only the page that failed is listed again
  RequireSame(*a, *b);
}

TEST_CASE("whichever write or sync fails, the checkpoint a crash leaves is never ahead") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  for (int i = 0; i < 30; ++i) MustPut(a.get(), "key" + std::to_string(100 + i), "v");
  ReplicateOptions options;
  options.page_keys = 10;
  bool finished = false;
  uint64_t faults = 0;
  for (uint64_t n = 1; !finished && n < 1000; ++n) {
    INFO("failing write or sync " << n);
    const std::string target = dir.Sub("b" + std::to_string(n));
    FaultEnv env(Env::Default());
    {
      Options faulty;
      faulty.env = &env;
      auto b = OpenStore(target, faulty);
      env.FailAfter(n);
      LocalPeer source(*a), sink(*b);
      finished = Replicate(source, sink, options).ok();
      faults += finished ? 0 : 1;
    }
    env.DropUnsyncedData();  // and a power loss at that moment
    auto b = OpenStore(target);
    // Every key up to where the checkpoint says is there, with a's heads.
    auto checkpoints = b->Checkpoints("");
    REQUIRE(checkpoints.ok());
    if (!checkpoints->empty()) {
      nlohmann::json c = nlohmann::json::parse(checkpoints->front().second);
      const std::string through = c["full"] ? c["after"]["key"].get<std::string>() : "~";
      for (const auto& [key, heads] : AllHeads(*a)) {
        if (key.substr(5) > through) continue;  // "main/" + key
        auto there = b->Get("main", key.substr(5));
        REQUIRE(there.ok());
        CHECK(there->winner.id.Hex() == heads.front());
      }
    }
    REQUIRE(b->Check()->ok());
    MustReplicate(*a, *b, options);  // and it resumes from there
    RequireSame(*a, *b);
  }
  CHECK(finished);
  CHECK(faults >= 6);  // three pages: each one's writes and syncs failed once
}

TEST_CASE("a checkpoint the source does not recognise starts a full comparison") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  MustPut(a.get(), "k", "1");
  MustReplicate(*a, *b);
  // As if a was replaced by a restored copy: the checkpoint names a time
  // its revision never had.
  ReplicationBatch stale;
  stale.peer = CheckpointName(a->replica_id(), "main", "", {});
  stale.checkpoint = R"({"full":false,"revision":1,"time":12345})";
  REQUIRE(b->ApplyReplicated(stale).ok());
  MustPut(a.get(), "k", "2");
  ReplicateStats stats = MustReplicate(*a, *b);
  CHECK(stats.full_listing);
  CHECK(stats.versions == 1);
  RequireSame(*a, *b);
}

TEST_CASE("versions whose parents the source's retention dropped arrive as tails") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  for (int i = 0; i < 5; ++i) MustPut(a.get(), "k", std::to_string(i));
  CompactOptions keep_two;
  keep_two.rules.push_back(RetentionRule{"", 2, std::nullopt, false, false});
  REQUIRE(a->Compact(keep_two).ok());
  REQUIRE(VersionIds(*a).size() == 2);
  MustReplicate(*a, *b);
  RequireSame(*a, *b);
  CHECK(b->Tails("k")->size() == 1);
  CHECK(b->Check()->ok());
}

TEST_CASE("a long history travels in fetches of a bounded number of ids") {
  // An empty replica of keys with long histories: every version is lacking,
  // and one fetch of them all would pass a server's request body limit.
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  for (int i = 0; i < 150; ++i) {
    MustPut(a.get(), "deep" + std::to_string(i % 3), "v" + std::to_string(i));
  }
  for (int i = 0; i < 40; ++i) MustPut(a.get(), "wide" + std::to_string(i), "w");
  class CountingSource : public LocalPeer {
   public:
    using LocalPeer::LocalPeer;
    Result<std::vector<ReplicatedVersion>> Fetch(const std::vector<VersionId>& ids,
                                                 size_t max_bytes) override {
      most_ids = std::max(most_ids, ids.size());
      ++fetches;
      return LocalPeer::Fetch(ids, max_bytes);
    }
    size_t most_ids = 0;
    int fetches = 0;
  };
  CountingSource source(*a);
  LocalPeer target(*b);
  ReplicateOptions options;
  options.fetch_ids = 16;
  auto stats = Replicate(source, target, options);
  REQUIRE(stats.ok());
  CHECK(stats->versions == 190);
  CHECK(source.most_ids == 16);
  CHECK(source.fetches >= 190 / 16);
  RequireSame(*a, *b);
  CHECK(b->Check()->ok());
}

TEST_CASE("a tampered version fails its whole batch and writes no checkpoint") {
  TempDir dir;
  auto a = OpenStore(dir.Sub("a"));
  auto b = OpenStore(dir.Sub("b"));
  MustPut(a.get(), "x", "fine");
  MustPut(a.get(), "y", "original");
  class TamperingSource : public LocalPeer {
   public:
    using LocalPeer::LocalPeer;
    Result<std::vector<ReplicatedVersion>> Fetch(const std::vector<VersionId>& ids,
                                                 size_t max_bytes) override {
      auto versions = LocalPeer::Fetch(ids, max_bytes);
      if (versions.ok()) {
        for (ReplicatedVersion& v : *versions) {
          if (v.key == "y") v.value = "forged";
        }
      }
      return versions;
    }
  };
  TamperingSource source(*a);
  LocalPeer target(*b);
  CHECK(Replicate(source, target, {}).status().code() == Status::Code::kInvalidArgument);
  CHECK(VersionIds(*b).empty());
  CHECK(b->Checkpoints("")->empty());
}

TEST_CASE("three replicas that meet in any order end the same") {
  const unsigned seed = std::random_device()();
  INFO("seed " << seed);
  std::mt19937 random(seed);
  TempDir dir;
  std::vector<std::unique_ptr<Store>> stores;
  for (const char* name : {"a", "b", "c"}) stores.push_back(OpenStore(dir.Sub(name)));
  for (int step = 0; step < 60; ++step) {
    Store& s = *stores[random() % 3];
    const std::string key = "k" + std::to_string(random() % 6);
    switch (random() % 5) {
      case 0: {  // meet another replica
        Store& other = *stores[random() % 3];
        if (&other != &s) MustReplicate(s, other);
        break;
      }
      case 1:
        if (s.Get("main", key).ok() && !s.Get("main", key)->winner.deleted) {
          REQUIRE(s.Write(WriteBatch().Delete(key)).ok());
        }
        break;
      default:
        MustPut(&s, key, "v" + std::to_string(step));
    }
  }
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < 3; ++i) {
      for (size_t j = 0; j < 3; ++j) {
        if (i != j) MustReplicate(*stores[i], *stores[j]);
      }
    }
  }
  RequireSame(*stores[0], *stores[1]);
  RequireSame(*stores[1], *stores[2]);
  for (auto& s : stores) CHECK(s->Check()->ok());
}

}  // namespace kvs::replication
