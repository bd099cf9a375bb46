// Fault injection, as SQLite's test VFS does it: a deterministic workload
// (multi-key transactions, deletes, a key recreated after its tombstone,
// branches at the head and at a past revision, a write naming an old parent
// that forks a key, a compaction, more writes after it) runs on a FaultEnv
// that fails the N-th File::Write or File::Sync and every one after it, for
// N = 1, 2, 3, ... until a run finishes with no fault. Every write and sync
// the store does, including those that create it and those of the
// compaction, is thereby once the one that fails.
//
// After each fault: the failing call returned IOError (no crash, no silent
// success); the store still reads exactly the acknowledged steps, not the
// failed one. Once the file system works again, the same store object (not
// reopened) runs the failed step again and the rest of the workload. Then
// the store is closed, the power is cut (FaultEnv::DropUnsyncedData) and
// the directory is reopened with the real Env. It must hold exactly the
// acknowledged transactions, each whole, checked key by key on every branch
// and at every past revision against a model of the workload. A fault while
// the store is being created must leave either no store (Open without
// create_if_missing answers NotFound, and creating one then succeeds) or a
// sound, empty one.
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/store/fault_env.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

// ---- The model -------------------------------------------------------------

// What Get must answer for one key on one branch.
struct KeyModel {
  std::optional<std::string> value;  // nullopt: the winner is a tombstone
  size_t heads = 1;
};
using BranchModel = std::map<std::string, KeyModel>;
using StoreModel = std::map<std::string, BranchModel>;  // by branch name

// What a run learns from acknowledged steps and later steps need.
struct RunState {
  std::map<std::string, VersionId> remembered;  // by label
};

// One step of the workload: how to run it, and its effect on the model.
struct Step {
  std::string what;
  bool makes_revision = true;  // a compaction does not
  std::function<Status(Store*, RunState*)> run;
  // at_revision: the model as of every revision committed before this step.
  std::function<void(StoreModel*, const std::vector<StoreModel>& at_revision)> apply;
};

using Writes = std::vector<std::pair<std::string, std::optional<std::string>>>;

// One transaction of puts (value) and deletes (nullopt) on branch. When
// remember is set, the id of the first key's new version is kept under it.
Step WriteStep(std::string branch, Writes writes, std::string remember = "") {
  Step step;
  step.what = "write on " + branch;
  step.run = [=](Store* store, RunState* state) {
    WriteBatch batch;
    batch.branch = branch;
    for (const auto& [key, value] : writes) {
      if (value) {
        batch.Put(key, *value);
      } else {
        batch.Delete(key);
      }
    }
    auto r = store->Write(batch);
    if (r.ok() && !remember.empty()) state->remembered[remember] = r->versions[0];
    return r.status();
  };
  step.apply = [=](StoreModel* model, const std::vector<StoreModel>&) {
    for (const auto& [key, value] : writes) (*model)[branch][key] = KeyModel{value, 1};
  };
  return step;
}

// Writes key naming the remembered version (no longer a head) as its only
// parent: the key gets a second head, and the new version wins (it is newer).
Step ForkStep(std::string branch, std::string key, std::string parent, std::string value) {
  Step step;
  step.what = "fork of " + key + " on " + branch;
  step.run = [=](Store* store, RunState* state) {
    WriteBatch batch;
    batch.branch = branch;
    batch.writes.push_back(KeyWrite{key, value,
                                    std::vector<VersionId>{state->remembered.at(parent)},
                                    std::nullopt, std::nullopt});
    return store->Write(batch).status();
  };
  step.apply = [=](StoreModel* model, const std::vector<StoreModel>&) {
    KeyModel& k = (*model)[branch][key];
    k.value = value;
    ++k.heads;
  };
  return step;
}

Step BranchStep(std::string name, std::string from, std::optional<uint64_t> at_revision) {
  Step step;
  step.what = "create branch " + name;
  step.run = [=](Store* store, RunState*) {
    ReadPoint at = at_revision ? ReadPoint::AtRevision(*at_revision) : ReadPoint::Latest();
    return store->CreateBranch(name, from, at).status();
  };
  step.apply = [=](StoreModel* model, const std::vector<StoreModel>& past) {
    (*model)[name] = at_revision ? past.at(*at_revision).at(from) : model->at(from);
  };
  return step;
}

Step CompactStep() {
  Step step;
  step.what = "compaction";
  step.makes_revision = false;
  step.run = [](Store* store, RunState*) { return store->Compact(CompactOptions{}).status(); };
  step.apply = [](StoreModel*, const std::vector<StoreModel>&) {};
  return step;
}

// The workload and the state the model predicts after each of its steps.
struct Plan {
  std::vector<Step> steps;
  std::vector<uint64_t> revision_after;  // [i]: the revision after steps [0, i)
  std::vector<StoreModel> at_revision;   // [r]: the state as of revision r
  std::set<std::string> keys;            // every key read back (one never written)
};

Plan MakePlan() {
  Plan plan;
  auto& s = plan.steps;
  s.push_back(WriteStep("main", {{"a", "a1"}, {"b", "b1"}, {"c", "c1"}}));
  s.push_back(WriteStep("main", {{"a", "a2"}}, "a2"));
  s.push_back(WriteStep("main", {{"blob", std::string(3000, 'x')}, {"c", "c2"}}));
  s.push_back(WriteStep("main", {{"b", std::nullopt}}));
  s.push_back(WriteStep("main", {{"a", "a3"}, {"d", "d1"}}));
  s.push_back(BranchStep("dev", "main", std::nullopt));
  s.push_back(WriteStep("dev", {{"a", "dev-a1"}, {"e", "dev-e1"}}));
  s.push_back(ForkStep("main", "a", "a2", "a-fork"));  // a: heads a3 and a-fork
  s.push_back(WriteStep("main", {{"b", "b2"}}));       // b again, after its tombstone
  s.push_back(WriteStep("dev", {{"c", std::nullopt}, {"d", "dev-d1"}}));
  for (int i = 0; i < 14; ++i) {
    std::string n = std::to_string(i);
    s.push_back(WriteStep(i % 4 == 3 ? "dev" : "main",
                          {{"k" + std::to_string(i % 5), "v" + n}, {"c", "c-" + n}}));
  }
  s.push_back(BranchStep("past", "main", 3));  // main as it was at revision 3
  s.push_back(WriteStep("main", {{"a", "a-merged"}, {"d", std::nullopt}}));  // a: one head
  s.push_back(WriteStep("past", {{"blob", "small"}}));
  s.push_back(CompactStep());
  s.push_back(WriteStep("main", {{"a", "a-after"}, {"f", "f1"}}, "a-after"));
  s.push_back(WriteStep("dev", {{"e", "dev-e2"}, {"k1", std::nullopt}}));
  s.push_back(WriteStep("main", {{"a", "a-next"}}));
  s.push_back(ForkStep("main", "a", "a-after", "a-fork2"));
  s.push_back(WriteStep("main", {{"f", std::nullopt}, {"g", std::string(500, 'g')}}));

  StoreModel model;
  model["main"];
  plan.at_revision.push_back(model);
  plan.revision_after.push_back(0);
  for (const Step& step : plan.steps) {
    step.apply(&model, plan.at_revision);
    if (step.makes_revision) plan.at_revision.push_back(model);
    plan.revision_after.push_back(plan.at_revision.size() - 1);
  }
  for (const auto& [branch, keys] : model) {
    for (const auto& [key, state] : keys) plan.keys.insert(key);
  }
  plan.keys.insert("never-written");
  return plan;
}

// ---- Checking a store against the model --------------------------------------

// What Get answers, in words that compare equal when the model agrees.
std::string Describe(const Result<KeyState>& state) {
  if (state.status().IsNotFound()) return "<missing>";
  if (!state.ok()) return "<error " + state.status().ToString() + ">";
  std::string heads = " (" + std::to_string(state->heads.size()) + " heads)";
  return (state->winner.deleted ? "<deleted>" : state->winner.value) + heads;
}

std::string Describe(const BranchModel& branch, const std::string& key) {
  auto it = branch.find(key);
  if (it == branch.end()) return "<missing>";
  std::string heads = " (" + std::to_string(it->second.heads) + " heads)";
  return it->second.value.value_or("<deleted>") + heads;
}

// The store holds exactly the model's state as of revision: every key on
// every branch, the live key lists, the branch list, every key of main at
// every earlier revision, and Check finds nothing wrong.
void ExpectStoreHolds(Store* store, const Plan& plan, uint64_t revision) {
  INFO("expected revision " << revision);
  auto now = store->Revision();
  REQUIRE(now.ok());
  REQUIRE(*now == revision);
  const StoreModel& want = plan.at_revision.at(revision);

  auto branches = store->ListBranches();
  REQUIRE(branches.ok());
  std::vector<std::string> names;
  for (const BranchInfo& b : *branches) names.push_back(b.name);
  std::vector<std::string> want_names;
  for (const auto& [name, keys] : want) want_names.push_back(name);
  CHECK(names == want_names);

  for (const auto& [branch, keys] : want) {
    INFO("branch " << branch);
    for (const std::string& key : plan.keys) {
      INFO("key " << key);
      CHECK(Describe(store->Get(branch, key)) == Describe(keys, key));
    }
    KeyListOptions list;
    auto listed = store->ListKeys(branch, list);
    REQUIRE(listed.ok());
    std::vector<std::string> live, want_live;
    for (const KeyState& k : *listed) live.push_back(k.winner.key);
    for (const auto& [key, state] : keys) {
      if (state.value) want_live.push_back(key);
    }
    CHECK(live == want_live);
  }

  for (uint64_t r = 0; r <= revision; ++r) {
    INFO("main at revision " << r);
    for (const std::string& key : plan.keys) {
      INFO("key " << key);
      CHECK(Describe(store->Get("main", key, ReadPoint::AtRevision(r))) ==
            Describe(plan.at_revision[r].at("main"), key));
    }
  }

  auto report = store->Check();
  REQUIRE(report.ok());
  INFO("first problem: " << (report->problems.empty() ? "" : report->problems.front()));
  CHECK(report->ok());
}

// ---- The fault loop ------------------------------------------------------------

// Runs the workload once per fault point; returns how many were tried.
uint64_t RunWithEveryFault(const Plan& plan, SyncMode sync) {
  for (uint64_t n = 1;; ++n) {
    INFO("the write or sync #" << n << " fails");
    TempDir dir;
    const std::string path = dir.Sub("store");
    FaultEnv env(Env::Default());
    env.FailAfter(n);
    Options options;
    options.env = &env;
    options.sync = sync;

    bool opened = false;
    bool faulted = false;  // a step failed, and was run again
    size_t acked = 0;      // steps acknowledged, in order
    Status failure;
    {
      auto store = Store::Open(path, options);
      if (!store.ok()) {
        failure = store.status();
      } else {
        opened = true;
        RunState state;
        for (; acked < plan.steps.size(); ++acked) {
          failure = plan.steps[acked].run(store->get(), &state);
          if (!failure.ok()) break;
        }
        if (!failure.ok()) {
          faulted = true;
          INFO("failed at step " << acked << ": " << plan.steps[acked].what << ": "
                                 << failure.ToString());
          REQUIRE(failure.code() == Status::Code::kIOError);
          REQUIRE(env.operations() >= n);
          // Readers see the acknowledged steps, and nothing of the failed one.
          ExpectStoreHolds(store->get(), plan, plan.revision_after[acked]);
          // The file system works again: so does the store, without being
          // reopened.
          env.FailAfter(0);
          for (; acked < plan.steps.size(); ++acked) {
            INFO("step " << acked << " after the fault: " << plan.steps[acked].what);
            Status again = plan.steps[acked].run(store->get(), &state);
            INFO(again.ToString());
            REQUIRE(again.ok());
          }
          failure = Status::OK();
        }
      }
    }
    const bool completed = opened && failure.ok();
    if (completed && !faulted) {
      // Every call succeeded: then no fault may have been injected (else
      // the store swallowed an I/O error).
      REQUIRE(env.operations() < n);
    } else if (!completed) {
      INFO(failure.ToString());
      REQUIRE(failure.code() == Status::Code::kIOError);
      REQUIRE(env.operations() >= n);
    }

    REQUIRE(env.DropUnsyncedData().ok());  // the power goes out
    Options plain;
    plain.sync = sync;
    plain.create_if_missing = false;
    auto reopened = Store::Open(path, plain);
    if (!opened) {
      // The fault hit the creation: no store, or a sound empty one.
      if (reopened.ok()) {
        ExpectStoreHolds(reopened->get(), plan, 0);
      } else {
        INFO(reopened.status().ToString());
        REQUIRE(reopened.status().IsNotFound());
        auto created = Store::Open(path, Options());  // what the leftovers allow
        INFO(created.status().ToString());
        REQUIRE(created.ok());
        ExpectStoreHolds(created->get(), plan, 0);
      }
    } else {
      INFO(reopened.status().ToString());
      REQUIRE(reopened.ok());
      CHECK((*reopened)->recovery_info().dropped_tail_bytes == 0);
      uint64_t acked_revision = plan.revision_after[acked];
      // The failed step (if any) may have committed entirely.
      uint64_t newest_allowed = completed ? acked_revision : plan.revision_after[acked + 1];
      auto revision = (*reopened)->Revision();
      REQUIRE(revision.ok());
      if (sync == SyncMode::kSync) {
        // Nothing acknowledged may be lost.
        REQUIRE(*revision >= acked_revision);
      }
      REQUIRE(*revision <= newest_allowed);
      ExpectStoreHolds(reopened->get(), plan, *revision);
    }
    if (completed && !faulted) return n;
  }
}

}  // namespace

TEST_CASE(
    "a failed write or sync anywhere loses nothing acknowledged and leaves no partial "
    "transaction") {
  const Plan plan = MakePlan();
  uint64_t tried = RunWithEveryFault(plan, SyncMode::kSync);
  std::cout << "fault injection, SyncMode::kSync: " << tried << " fault points tried ("
            << plan.steps.size() << " steps)\n";
  // Each transaction writes and syncs once; creation and compaction do more.
  CHECK(tried > 2 * plan.steps.size());
}

TEST_CASE(
    "without sync, a power loss after a failed write rolls back to an earlier consistent "
    "revision") {
  const Plan plan = MakePlan();
  uint64_t tried = RunWithEveryFault(plan, SyncMode::kNone);
  std::cout << "fault injection, SyncMode::kNone: " << tried << " fault points tried ("
            << plan.steps.size() << " steps)\n";
  CHECK(tried > plan.steps.size());
}

// Each write and sync a compaction does fails here once, until one
// compaction succeeds. The old file may end in part of a "moved" block and
// the new one may be half written: the store rolls the first back and
// removes the second, so a full disk is not kept full by a failed
// compaction, and writes go on once the file system works again.
TEST_CASE("a compaction whose write or sync fails leaves no new file and the store writes on") {
  for (uint64_t n = 1;; ++n) {
    INFO("the compaction's write or sync #" << n << " fails");
    TempDir dir;
    FaultEnv env(Env::Default());
    Options options;
    options.env = &env;
    {
      auto store = OpenStore(dir.path(), options);
      MustPut(store.get(), "k", "before");
      env.FailAfter(n);
      uint64_t before = env.operations();
      auto compacted = store->Compact(CompactOptions{});
      if (compacted.ok()) {
        CHECK(env.operations() - before < n);
        CHECK(n > 2);  // at least the new file and the old one's end were written
        break;
      }
      REQUIRE(compacted.status().code() == Status::Code::kIOError);
      for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        CHECK_FALSE(entry.path().string().ends_with(".compacting"));
      }
      CHECK(ValueOf(store.get(), "k") == "before");
      env.FailAfter(0);
      MustPut(store.get(), "k", "after");
      REQUIRE(store->Compact(CompactOptions{}).ok());
      MustPut(store.get(), "k", "after the compaction");
    }
    REQUIRE(env.DropUnsyncedData().ok());
    auto store = OpenStore(dir.path());
    CHECK(ValueOf(store.get(), "k") == "after the compaction");
    auto report = store->Check();
    REQUIRE(report.ok());
    CHECK(report->ok());
  }
}

TEST_CASE("a full disk fails the writes that meet it, and writing goes on once space is freed") {
  TempDir dir;
  FaultEnv env(Env::Default());
  Options options;
  options.env = &env;
  {
    auto store = OpenStore(dir.path(), options);
    MustPut(store.get(), "k", "before");
    env.FailAfter(1, Status::Code::kNoSpace);
    WriteBatch batch;
    batch.Put("k", "while full");
    for (int i = 0; i < 3; ++i)
      CHECK(store->Write(batch).status().code() == Status::Code::kNoSpace);
    CHECK(store->Compact(CompactOptions{}).status().code() == Status::Code::kNoSpace);
    CHECK(ValueOf(store.get(), "k") == "before");
    // The rollbacks failed too (the disk stays full): health says so.
    CHECK(store->Health().code() == Status::Code::kNoSpace);
    env.FailAfter(0);                                         // space was freed
    CHECK(store->Health().code() == Status::Code::kNoSpace);  // until a write rolls back
    MustPut(store.get(), "k", "after");
    CHECK(store->Health().ok());
    MustPut(store.get(), "other", "x");
  }
  REQUIRE(env.DropUnsyncedData().ok());
  auto store = OpenStore(dir.path());
  CHECK(ValueOf(store.get(), "k") == "after");
  CHECK(ValueOf(store.get(), "other") == "x");
  CHECK(store->Check()->ok());
}

}  // namespace kvs::test
