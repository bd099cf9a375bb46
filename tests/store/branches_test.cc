// Branches, commits, time travel and diff.
#include <catch2/catch.hpp>
#include <thread>

#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

// The keys ListKeys lists on main.
std::vector<std::string> ListedKeys(Store* store, const KeyListOptions& options) {
  std::vector<std::string> out;
  auto listed = store->ListKeys("main", options);
  REQUIRE(listed.ok());
  for (const KeyState& state : *listed) out.push_back(state.winner.key);
  return out;
}

}  // namespace

TEST_CASE("a new branch sees its source and then goes its own way") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  MustPut(store.get(), "shared", "1");
  auto b = store->CreateBranch("dev", "main");
  REQUIRE(b.ok());
  MustPut(store.get(), "shared", "2", "dev");
  MustPut(store.get(), "only-main", "m");
  CHECK(ValueOf(store.get(), "shared", "dev") == "2");
  CHECK(ValueOf(store.get(), "shared", "main") == "1");
  CHECK(ValueOf(store.get(), "only-main", "dev") == "<missing>");
  auto branches = store->ListBranches();
  REQUIRE(branches.ok());
  REQUIRE(branches->size() == 2);
  CHECK((*branches)[0].name == "dev");
  CHECK((*branches)[1].name == "main");
}

TEST_CASE("a branch created at a past revision sees the past") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  uint64_t r1 = MustPut(store.get(), "k", "old").revision;
  MustPut(store.get(), "k", "new");
  MustPut(store.get(), "later", "x");
  REQUIRE(store->CreateBranch("past", "main", ReadPoint::AtRevision(r1)).ok());
  CHECK(ValueOf(store.get(), "k", "past") == "old");
  CHECK(ValueOf(store.get(), "later", "past") == "<missing>");
}

TEST_CASE("branch names, duplicates and deletion are checked") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  CHECK(store->CreateBranch("bad name", "main").status().code() == Status::Code::kInvalidArgument);
  MustPut(store.get(), "k", "v");
  for (const char* dotted : {".", "..", ".hidden"}) {
    CHECK(store->CreateBranch(dotted, "main").status().code() == Status::Code::kInvalidArgument);
    CHECK(store->CopyKey("k", "main", dotted).status().code() == Status::Code::kInvalidArgument);
  }
  CHECK(store->CreateBranch("v1.0", "main").ok());
  CHECK(store->CreateBranch("x", "nope").status().IsNotFound());
  REQUIRE(store->CreateBranch("x", "main").ok());
  CHECK(store->CreateBranch("x", "main").status().IsConflict());
  CHECK(store->DeleteBranch("main").code() == Status::Code::kInvalidArgument);
  CHECK(store->DeleteBranch("x").ok());
  CHECK(store->DeleteBranch("x").IsNotFound());
  CHECK(store->Get("x", "k").status().IsNotFound());
  WriteBatch batch;
  batch.branch = "x";
  batch.Put("k", "v");
  CHECK(store->Write(batch).status().IsNotFound());
}

TEST_CASE("a key reads as it was at a revision, a time and a commit") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriteResult w1 = MustPut(store.get(), "k", "one");
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  WriteResult w2 = MustPut(store.get(), "k", "two");
  CHECK(ValueOf(store.get(), "k", "main", ReadPoint::AtRevision(w1.revision)) == "one");
  CHECK(ValueOf(store.get(), "k", "main", ReadPoint::AtRevision(w1.revision - 1)) == "<missing>");
  CHECK(ValueOf(store.get(), "k", "main", ReadPoint::AtTime(w1.time_ns)) == "one");
  CHECK(ValueOf(store.get(), "k", "main", ReadPoint::AtTime(w2.time_ns - 1)) == "one");
  CHECK(ValueOf(store.get(), "k", "main", ReadPoint::AtTime(w2.time_ns)) == "two");
  CHECK(ValueOf(store.get(), "k", "main", ReadPoint::AtCommit(w1.commit)) == "one");
  CHECK(store->Get("main", "k", ReadPoint::AtRevision(99)).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(store->Get("main", "k", ReadPoint::AtTime(0)).status().IsNotFound());
  CommitId unknown;
  unknown.bytes[3] = 1;
  CHECK(store->Get("main", "k", ReadPoint::AtCommit(unknown)).status().IsNotFound());
}

TEST_CASE("each transaction is a commit chained to the previous one on its branch") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriteBatch batch;
  batch.Put("b", "1").Put("a", "2");
  auto c1 = store->Write(batch);
  REQUIRE(c1.ok());
  WriteResult c2 = MustPut(store.get(), "a", "3");
  auto info = store->GetCommit(c2.commit);
  REQUIRE(info.ok());
  CHECK(info->parents == std::vector<CommitId>{c1->commit});
  CHECK(info->branch == "main");
  CHECK(info->keys == std::vector<std::string>{"a"});
  auto first = store->GetCommit(c1->commit);
  REQUIRE(first.ok());
  CHECK(first->keys == std::vector<std::string>{"a", "b"});
  CHECK(first->parents.empty());
  CHECK(store->GetBranch("main")->head_commit == c2.commit);
}

TEST_CASE("diff reports added, removed and modified keys between branches") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  for (int i = 0; i < 500; ++i) MustPut(store.get(), "key" + std::to_string(i), "v");
  REQUIRE(store->CreateBranch("dev", "main").ok());
  MustPut(store.get(), "key7", "changed", "dev");
  MustPut(store.get(), "fresh", "new", "dev");
  WriteBatch del;
  del.branch = "dev";
  del.Delete("key300");
  REQUIRE(store->Write(del).ok());
  auto diff = store->Diff("main", ReadPoint::Latest(), "dev", ReadPoint::Latest());
  REQUIRE(diff.ok());
  REQUIRE(diff->size() == 3);
  CHECK((*diff)[0].key == "fresh");
  CHECK((*diff)[0].kind == DiffEntry::Kind::kAdded);
  CHECK((*diff)[1].key == "key300");
  CHECK((*diff)[1].kind == DiffEntry::Kind::kRemoved);
  CHECK((*diff)[2].key == "key7");
  CHECK((*diff)[2].kind == DiffEntry::Kind::kModified);
  auto same = store->Diff("main", ReadPoint::Latest(), "main", ReadPoint::Latest());
  REQUIRE(same.ok());
  CHECK(same->empty());
}

TEST_CASE("keys list in order with prefix, start-after and limit") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriteBatch batch;
  for (const char* k : {"a/1", "a/2", "a/3", "b/1", "a", "a/2/x"}) batch.Put(k, k);
  REQUIRE(store->Write(batch).ok());
  WriteBatch del;
  del.Delete("a/3");
  REQUIRE(store->Write(del).ok());
  auto keys = [&](const KeyListOptions& o) { return ListedKeys(store.get(), o); };
  KeyListOptions o;
  o.prefix = "a/";
  CHECK(keys(o) == std::vector<std::string>{"a/1", "a/2", "a/2/x"});
  o.include_deleted = true;
  CHECK(keys(o) == std::vector<std::string>{"a/1", "a/2", "a/2/x", "a/3"});
  o.include_deleted = false;
  o.start_after = "a/2";
  CHECK(keys(o) == std::vector<std::string>{"a/2/x"});
  KeyListOptions all;
  all.limit = 2;
  CHECK(keys(all) == std::vector<std::string>{"a", "a/1"});
  all.limit = 100;
  all.at = ReadPoint::AtRevision(1);
  CHECK(keys(all).size() == 6);  // a/3 was still alive at revision 1
}

TEST_CASE("a write a concurrent delete hides is listed when asked for") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const WriteResult base = MustPut(store.get(), "forked", "v");
  MustPut(store.get(), "gone", "v");
  const VersionId parent = base.versions.at(0);
  // A write and a delete of the same version; the delete, newer, wins.
  WriteBatch write;
  write.writes.push_back(
      {"forked", "w", std::vector<VersionId>{parent}, std::nullopt, std::nullopt, false});
  REQUIRE(store->Write(write).ok());
  WriteBatch remove;
  remove.writes.push_back(
      {"forked", std::nullopt, std::vector<VersionId>{parent}, std::nullopt, std::nullopt, false});
  remove.Delete("gone");
  REQUIRE(store->Write(remove).ok());
  auto state = store->Get("main", "forked");
  REQUIRE(state.ok());
  REQUIRE(state->heads.size() == 2);
  REQUIRE(state->winner.deleted);

  auto keys = [&](const KeyListOptions& o) { return ListedKeys(store.get(), o); };
  KeyListOptions o;
  CHECK(keys(o).empty());
  o.include_hidden_writes = true;
  CHECK(keys(o) == std::vector<std::string>{"forked"});  // "gone" hides nothing
  o.include_deleted = true;
  CHECK(keys(o) == std::vector<std::string>{"forked", "gone"});
}

TEST_CASE("copying a key brings its history to a new branch and nothing else") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  uint64_t r1 = MustPut(store.get(), "k", "one").revision;
  WriteResult w2 = MustPut(store.get(), "k", "two");
  MustPut(store.get(), "other", "x");
  auto copied = store->CopyKey("k", "main", "feature");
  REQUIRE(copied.ok());
  REQUIRE(copied->versions.size() == 1);
  CHECK(copied->versions[0] == w2.versions[0]);
  CHECK(ValueOf(store.get(), "k", "feature") == "two");
  CHECK(ValueOf(store.get(), "k", "feature", ReadPoint::AtRevision(r1)) == "one");
  CHECK(ValueOf(store.get(), "other", "feature") == "<missing>");
  // The branches go their own ways afterwards.
  MustPut(store.get(), "k", "three", "feature");
  CHECK(ValueOf(store.get(), "k", "main") == "two");
  CHECK(ValueOf(store.get(), "k", "feature") == "three");
  auto commit = store->GetCommit(copied->commit);
  REQUIRE(commit.ok());
  CHECK(commit->branch == "feature");
  CHECK(commit->keys == std::vector<std::string>{"k"});
}

TEST_CASE("copying a key refuses a missing source and a target that holds other versions") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  CHECK(store->CopyKey("nope", "main", "feature").status().IsNotFound());
  CHECK(store->GetBranch("feature").status().IsNotFound());  // nothing written
  MustPut(store.get(), "gone", "v");
  WriteBatch del;
  del.Delete("gone");
  REQUIRE(store->Write(del).ok());
  CHECK(store->CopyKey("gone", "main", "feature").status().IsNotFound());
  CHECK(store->CopyKey("k", "main", "main").status().code() == Status::Code::kInvalidArgument);

  MustPut(store.get(), "k", "v");
  REQUIRE(store->CopyKey("k", "main", "feature").ok());
  CHECK(store->CopyKey("k", "main", "feature").ok());  // same heads: no-op
  MustPut(store.get(), "k", "changed on feature", "feature");
  uint64_t before = *store->Revision();
  CHECK(store->CopyKey("k", "main", "feature").status().IsConflict());
  CHECK(ValueOf(store.get(), "k", "feature") == "changed on feature");
  CHECK(*store->Revision() == before);
}

TEST_CASE("adopting heads keeps both sides of a merge as a visible fork") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  VersionId base = MustPut(store.get(), "k", "base").versions[0];
  REQUIRE(store->CreateBranch("side", "main").ok());
  VersionId ours = MustPut(store.get(), "k", "ours").versions[0];
  VersionId theirs = MustPut(store.get(), "k", "theirs", "side").versions[0];

  WriteBatch keep;
  KeyWrite w;
  w.key = "k";
  w.adopt_heads = std::vector<VersionId>{ours, theirs};
  w.expected_heads = std::vector<VersionId>{ours};
  keep.writes.push_back(w);
  auto kept = store->Write(keep);
  REQUIRE(kept.ok());
  auto state = store->Get("main", "k");
  REQUIRE(state.ok());
  REQUIRE(state->heads.size() == 2);
  CHECK(state->conflict());
  CHECK(kept->versions[0] == state->winner.id);
  CHECK(state->winner.value == "theirs");  // the newer one wins the read
  CHECK(ValueOf(store.get(), "k", "side") == "theirs");

  // The compare-and-set still applies, and unknown or foreign versions are refused.
  CHECK(store->Write(keep).status().IsConflict());
  VersionId other = MustPut(store.get(), "other", "x").versions[0];
  WriteBatch foreign;
  KeyWrite f;
  f.key = "k";
  f.adopt_heads = std::vector<VersionId>{base, other};
  foreign.writes.push_back(f);
  CHECK(store->Write(foreign).status().code() == Status::Code::kInvalidArgument);
  Hash unknown;
  unknown.bytes[0] = 1;
  foreign.writes[0].adopt_heads = std::vector<VersionId>{unknown};
  CHECK(store->Write(foreign).status().IsNotFound());
  CHECK(store->Get("main", "k")->heads.size() == 2);
}

TEST_CASE("a reset moves a branch back to a commit, and a reset to the old head undoes it") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriteResult w1 = MustPut(store.get(), "a", "1");
  uint64_t r1 = w1.revision;
  MustPut(store.get(), "a", "2");
  MustPut(store.get(), "b", "new");
  CommitId head = store->GetBranch("main")->head_commit;

  auto reset = store->ResetBranch("main", w1.commit);
  REQUIRE(reset.ok());
  CHECK(ValueOf(store.get(), "a") == "1");
  CHECK(ValueOf(store.get(), "b") == "<deleted>");
  // The past before the reset is still what it was.
  CHECK(ValueOf(store.get(), "a", "main", ReadPoint::AtRevision(r1 + 1)) == "2");
  auto commit = store->GetCommit(reset->commit);
  REQUIRE(commit.ok());
  CHECK(commit->parents == std::vector<CommitId>{head});
  CHECK(commit->keys == std::vector<std::string>{"a", "b"});

  REQUIRE(store->ResetBranch("main", head).ok());
  CHECK(ValueOf(store.get(), "a") == "2");
  CHECK(ValueOf(store.get(), "b") == "new");
  auto diff = store->Diff("main", ReadPoint::Latest(), "main", ReadPoint::AtCommit(head));
  REQUIRE(diff.ok());
  CHECK(diff->empty());

  CHECK(store->ResetBranch("nope", head).status().IsNotFound());
  CHECK(store->ResetBranch("main", Hash()).status().IsNotFound());
}

TEST_CASE("a reset can take another branch's commit") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  MustPut(store.get(), "k", "main's");
  REQUIRE(store->CreateBranch("dev", "main").ok());
  WriteResult dev = MustPut(store.get(), "k", "dev's", "dev");
  MustPut(store.get(), "only-dev", "x", "dev");
  REQUIRE(store->ResetBranch("main", dev.commit).ok());
  CHECK(ValueOf(store.get(), "k") == "dev's");
  CHECK(ValueOf(store.get(), "only-dev") == "<missing>");  // written after that commit
}

TEST_CASE("resets and compactions running at once leave every reset whole") {
  // A reset reads the tree of its target commit. Were that read made before
  // the writer lock is taken, a compaction in between would move the store
  // to a new file and the reset would follow offsets of the old one. A
  // target from before a compaction is refused (Compacted), as documented.
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriteResult one = MustPut(store.get(), "k", "1");
  MustPut(store.get(), "other", "x");
  WriteResult two = MustPut(store.get(), "k", "2");
  constexpr int kRounds = 150;
  std::vector<Status> resets, compactions;
  std::thread compactor([&] {
    for (int i = 0; i < kRounds; ++i)
      compactions.push_back(store->Compact(CompactOptions()).status());
  });
  for (int i = 0; i < kRounds; ++i) {
    resets.push_back(store->ResetBranch("main", i % 2 == 0 ? one.commit : two.commit).status());
  }
  compactor.join();
  for (const Status& s : compactions) CHECK(s.ok());
  int last_reset = -1;
  for (int i = 0; i < kRounds; ++i) {
    INFO("reset " << i << ": " << resets[i].ToString());
    CHECK((resets[i].ok() || resets[i].code() == Status::Code::kCompacted));
    if (resets[i].ok()) last_reset = i;
  }
  bool to_one = last_reset >= 0 && last_reset % 2 == 0;
  CHECK(ValueOf(store.get(), "k") == (to_one ? "1" : "2"));
  CHECK(ValueOf(store.get(), "other") == (to_one ? "<deleted>" : "x"));
  auto report = store->Check();
  REQUIRE(report.ok());
  CHECK(report->problems.empty());
}

TEST_CASE("a write can name merged commits as more parents of its commit") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  WriteResult base = MustPut(store.get(), "k", "0");
  REQUIRE(store->CreateBranch("dev", "main").ok());
  WriteResult dev = MustPut(store.get(), "k", "dev", "dev");
  WriteBatch merge;
  merge.Put("k", "merged");
  merge.merged_commits = {dev.commit};
  auto merged = store->Write(merge);
  REQUIRE(merged.ok());
  auto commit = store->GetCommit(merged->commit);
  REQUIRE(commit.ok());
  CHECK(commit->parents == std::vector<CommitId>{base.commit, dev.commit});

  Hash unknown;
  unknown.bytes[3] = 7;
  merge.merged_commits = {unknown};
  CHECK(store->Write(merge).status().IsNotFound());
}

}  // namespace kvs::test
