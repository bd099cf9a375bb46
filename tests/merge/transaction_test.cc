// Planning a transaction against its base commit, on a real store.
#include "merge/transaction.h"

#include <catch2/catch.hpp>

#include "tests/store/test_util.h"

namespace kvs::merge {
namespace {

using test::MustPut;
using test::ValueOf;

constexpr int64_t kNow = 2'000'000'000'000'000'000;

TransactionPlan MustPlan(Store* store, const Transaction& txn,
                         const std::vector<MergeRule>& fallback = {}) {
  auto plan = PlanTransaction(*store, txn, fallback, kNow);
  REQUIRE(plan.ok());
  return std::move(plan).value();
}

void MustWrite(Store* store, const TransactionPlan& plan) {
  REQUIRE(plan.conflicts.empty());
  REQUIRE(store->Write(plan.batch).ok());
}

}  // namespace

TEST_CASE("without a base a transaction writes its values as they are") {
  test::TempDir dir;
  auto store = test::OpenStore(dir.path());
  MustPut(store.get(), "a", "1");
  Transaction txn{"main", std::nullopt, {{"a", "2"}, {"b", "x"}, {"gone", std::nullopt}}, {}, {}};
  TransactionPlan plan = MustPlan(store.get(), txn);
  CHECK(plan.batch.writes.size() == 2);  // deleting a key that is not there changes nothing
  MustWrite(store.get(), plan);
  CHECK(ValueOf(store.get(), "a") == "2");
  CHECK(ValueOf(store.get(), "b") == "x");
}

TEST_CASE("a key that moved since the base is merged by its function") {
  test::TempDir dir;
  auto store = test::OpenStore(dir.path());
  MustPut(store.get(), "hits", "10");
  const CommitId base = MustPut(store.get(), "name", "old").commit;
  MustPut(store.get(), "hits", "15");  // another writer, after the base

  // The writer read hits=10 at base and adds 1: the counter merge keeps both.
  Transaction txn{
      "main", base, {{"hits", "11"}, {"name", "new"}}, {{"hits", MergeFunction::kCounter}}, {}};
  MustWrite(store.get(), MustPlan(store.get(), txn));
  CHECK(ValueOf(store.get(), "hits") == "16");
  CHECK(ValueOf(store.get(), "name") == "new");  // not moved: written as it is
}

TEST_CASE("a merged value keeps the kind of the side it equals, else JSON when both were") {
  test::TempDir dir;
  auto store = test::OpenStore(dir.path());
  auto put_json = [&](const std::string& key, const std::string& value) {
    WriteBatch batch;
    batch.writes.push_back(KeyWrite{key, value, std::nullopt, std::nullopt, std::nullopt, true});
    auto written = store->Write(batch);
    REQUIRE(written.ok());
    return written->commit;
  };
  put_json("hits", "10");
  const CommitId base = put_json("bytes", "1");
  put_json("hits", "15");
  MustPut(store.get(), "bytes", "2");  // now bytes, not JSON

  Transaction txn{"main",
                  base,
                  {{"hits", "11"}, {"bytes", "5"}},
                  {{"*", MergeFunction::kCounter}},
                  {"hits", "bytes"}};
  MustWrite(store.get(), MustPlan(store.get(), txn));
  CHECK(store->Get("main", "hits")->winner.json);  // 16: new, both sides JSON
  CHECK(ValueOf(store.get(), "hits") == "16");
  CHECK_FALSE(store->Get("main", "bytes")->winner.json);  // 6: new, one side bytes

  CHECK(MergedIsJson("a", "a", true, "b", false));
  CHECK_FALSE(MergedIsJson("b", "a", true, "b", false));
  CHECK_FALSE(MergedIsJson(std::nullopt, "a", true, "b", true));
}

TEST_CASE("the transaction's rules come before the fallback, and reject is a conflict") {
  test::TempDir dir;
  auto store = test::OpenStore(dir.path());
  const CommitId base = MustPut(store.get(), "k", "base").commit;
  MustPut(store.get(), "k", "theirs-first");

  Transaction txn{"main", base, {{"k", "mine"}}, {}, {}};
  TransactionPlan rejected = MustPlan(store.get(), txn);  // no rule: reject
  REQUIRE(rejected.conflicts.size() == 1);
  CHECK(rejected.conflicts[0].key == "k");
  CHECK(ValueOf(store.get(), "k") == "theirs-first");

  TransactionPlan lww = MustPlan(store.get(), txn, {{"*", MergeFunction::kLww}});
  MustWrite(store.get(), lww);
  CHECK(ValueOf(store.get(), "k") == "mine");  // kNow is later than any write here
}

TEST_CASE("keep makes the transaction's value a fork from the base") {
  test::TempDir dir;
  auto store = test::OpenStore(dir.path());
  const CommitId base = MustPut(store.get(), "k", "base").commit;
  MustPut(store.get(), "k", "other");
  Transaction txn{"main", base, {{"k", "mine"}}, {{"k", MergeFunction::kKeep}}, {}};
  MustWrite(store.get(), MustPlan(store.get(), txn));
  auto state = store->Get("main", "k");
  REQUIRE(state.ok());
  CHECK(state->heads.size() == 2);
}

TEST_CASE("a plan against a base whose key moves before its write fails the write") {
  test::TempDir dir;
  auto store = test::OpenStore(dir.path());
  WriteResult base = MustPut(store.get(), "k", "1");
  Transaction txn{"main", base.commit, {{"k", "2"}}, {}, {}};
  TransactionPlan plan = MustPlan(store.get(), txn);
  MustPut(store.get(), "k", "meanwhile");
  CHECK(store->Write(plan.batch).status().IsConflict());
  CHECK(ValueOf(store.get(), "k") == "meanwhile");
}

// It read nothing that the other write changed: as a PUT, it goes over the
// heads the key has when it lands. (Refusing it made a 20th of the /_txn
// writes of 16 clients to 3 keys fail with 409 once their retries ran out.)
TEST_CASE("a plan without a base whose key moves before its write writes over it") {
  test::TempDir dir;
  auto store = test::OpenStore(dir.path());
  MustPut(store.get(), "k", "1");
  Transaction txn{"main", std::nullopt, {{"k", "2"}}, {}, {}};
  TransactionPlan plan = MustPlan(store.get(), txn);
  MustPut(store.get(), "k", "meanwhile");
  MustWrite(store.get(), plan);
  CHECK(ValueOf(store.get(), "k") == "2");
  CHECK(store->Get("main", "k")->heads.size() == 1);
}

TEST_CASE("a plan on a branch that does not exist fails at the write") {
  test::TempDir dir;
  auto store = test::OpenStore(dir.path());
  MustPut(store.get(), "k", "1");
  TransactionPlan plan = MustPlan(store.get(), {"nope", std::nullopt, {{"k", "2"}}, {}, {}});
  CHECK(store->Write(plan.batch).status().IsNotFound());
}

}  // namespace kvs::merge
