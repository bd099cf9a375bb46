// This file is long because the model, its generators and its checks share
// one state (see "Why one file" below).
//
// Model check of the store: random operation sequences (puts, deletes,
// branch creations, explicit-parent writes, time-travel reads, compactions)
// run against the engine and against a simple in-memory model of what
// kvs/store.h promises. Every answer the engine gives, errors included, must
// be the model's.
//
// The model keeps, per branch, each key's history: one entry per revision
// that changed the key, holding its heads after that revision (winner first:
// newest time, ties by larger id). A branch starts with a copy of its
// source's history. As the engine documents (StoreImpl::BranchAt):
//   - Get and ListKeys at a past revision R read the branch as it is now,
//     each key at its last entry at or before R (so a branch reads its
//     inherited history before it was created);
//   - CreateBranch and Diff at R use the exact state of the branch at R
//     (states_[R]), which compaction removes: Compacted for every revision
//     up to the last compaction, except the newest revision.
// Versions get their ids and times from the engine (WriteResult), so the
// model needs no hashing or clock.
//
// A failure names its seed and operation; KVS_MODEL_SEED=<n> runs just that
// seed, KVS_MODEL_OPS=<n> changes the number of operations per seed.
//
// Why one file of ~900 lines: the model, the operation generators and the
// checks are one state machine over one set of members; split, each part
// would need the others' internals.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "store/entries.h"  // ComputeVersionId, for replicated versions
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

// The replica that "sent" the replicated versions.
const ReplicaId kOtherReplica = [] {
  ReplicaId r;
  r.bytes.fill(0xab);
  return r;
}();

std::string Short(const VersionId& id) { return id.Hex().substr(0, 10); }

std::string Ids(const std::vector<VersionId>& ids) {
  std::string out = "[";
  for (const VersionId& id : ids) out += (out.size() > 1 ? " " : "") + Short(id);
  return out + "]";
}

// Keys and values for messages: escaped and cut short.
std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 24)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > 24) out += "...(" + std::to_string(s.size()) + " bytes)";
  return "'" + out + "'";
}

struct ModelVersion {
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone
  int64_t time_ns = 0;
  std::vector<VersionId> parents;
  ReplicaId replica;
};

// A key's state on a branch after a revision that changed it.
struct ModelEntry {
  uint64_t revision = 0;
  std::vector<VersionId> heads;  // winner first
  int64_t created_time_ns = 0;
};
using KeyHistory = std::vector<ModelEntry>;  // by revision, ascending
// Histories are shared between branches and snapshots, and copied on write.
using BranchHistory = std::map<std::string, std::shared_ptr<const KeyHistory>>;
using BranchSet = std::map<std::string, std::shared_ptr<const BranchHistory>>;

// The key's last entry at or before revision; nullptr when none.
const ModelEntry* EntryAt(const BranchHistory& branch, const std::string& key, uint64_t revision) {
  auto it = branch.find(key);
  if (it == branch.end()) return nullptr;
  const ModelEntry* found = nullptr;
  for (const ModelEntry& e : *it->second) {
    if (e.revision > revision) break;
    found = &e;
  }
  return found;
}

// Where a read looks, and the revision the model reads for it.
struct Point {
  ReadPoint at;
  uint64_t revision = 0;
  bool future = false;  // past the newest revision: InvalidArgument
  std::string text;
};

class ModelCheck {
 public:
  explicit ModelCheck(uint64_t seed) : seed_(seed), rng_(seed) {
    options_.sync = SyncMode::kNone;
    store_ = OpenStore(dir_.path(), options_);
    MakeKeys();
    branches_["main"] = std::make_shared<const BranchHistory>();
    created_at_["main"] = 0;
    states_.push_back(branches_);
    times_.push_back(std::nullopt);
    commits_.push_back(std::nullopt);
  }

  void Run(size_t operations) {
    struct Operation {
      int weight;
      void (ModelCheck::*run)();
    };
    static const Operation kOperations[] = {{340, &ModelCheck::WriteTransaction},
                                            {200, &ModelCheck::CheckGets},
                                            {70, &ModelCheck::CheckListKeys},
                                            {60, &ModelCheck::CheckDiff},
                                            {40, &ModelCheck::CreateBranch},
                                            {40, &ModelCheck::DeleteBranch},
                                            {40, &ModelCheck::ApplyReplicated},
                                            {30, &ModelCheck::RefuseBadBatch},
                                            {20, &ModelCheck::WriteToMissingBranch},
                                            {4, &ModelCheck::Reopen},
                                            {3, &ModelCheck::Compact}};
    int total = 0;
    for (const Operation& op : kOperations) total += op.weight;
    for (size_t i = 0; i < operations; ++i) {
      INFO("seed " << seed_ << ", operation " << i << " (revision " << revision_ << ")");
      int roll = static_cast<int>(Below(total));
      const Operation* op = kOperations;
      while (roll >= op->weight) roll -= (op++)->weight;
      (this->*op->run)();
      auto revision = store_->Revision();
      REQUIRE(revision.ok());
      REQUIRE(*revision == revision_);
    }
    FinalSweep();
  }

 private:
  // ---- Randomness -----------------------------------------------------------------

  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }

  // A fixed pool of keys that share prefixes, hold bytes 0x01 and 0xff, and
  // include a few near the key length limit.
  void MakeKeys() {
    std::set<std::string> keys = {"a",        "a/1",        "a/2",      "a/b/c", "ab",
                                  "b",        "b\x01",      "b\xff",    "c",     "user/alice",
                                  "user/bob", "user/carol", "z\xff\xff"};
    static const char kAlphabet[] = "ab/\x01\xff";
    static const char* const kPrefixes[] = {"a/", "user/", "x", ""};
    while (keys.size() < 36) {
      std::string key = kPrefixes[Below(4)];
      for (size_t n = 1 + Below(6); n > 0; --n) key.push_back(kAlphabet[Below(5)]);
      keys.insert(key);
    }
    for (int i = 0; i < 3; ++i) {
      keys.insert("long/" + std::string(900 + Below(100), 'k') + std::to_string(i));
    }
    keys_.assign(keys.begin(), keys.end());
  }

  std::string RandomValue() {
    size_t roll = Below(100);
    size_t length = roll < 15   ? 0
                    : roll < 90 ? 1 + Below(40)
                    : roll < 99 ? 200 + Below(3000)
                                : 20000 + Below(50000);
    std::string value(length, '\0');
    for (char& c : value) c = static_cast<char>(Below(256));
    return value;
  }

  std::vector<std::string> BranchNames() const {
    std::vector<std::string> names;
    for (const auto& [name, history] : branches_) names.push_back(name);
    return names;
  }

  // A branch name that may or may not exist: the same few are reused, so
  // branches get deleted and created again under one name.
  std::string SomeBranchName() {
    static const char* const kNames[] = {"main", "dev", "feature", "x1", "x2", "x3"};
    return kNames[Below(6)];
  }

  Point RandomPoint() {
    size_t roll = Below(100);
    if (roll < 45) return {ReadPoint::Latest(), revision_, false, "latest"};
    if (roll < 48) {
      uint64_t r = revision_ + 1 + Below(3);
      return {ReadPoint::AtRevision(r), r, true, "revision " + std::to_string(r) + " (future)"};
    }
    uint64_t r = Below(revision_ + 1);
    if (roll < 58 && times_[r]) {
      return {ReadPoint::AtTime(*times_[r]), r, false, "time of revision " + std::to_string(r)};
    }
    if (roll < 64 && commits_[r]) {
      return {ReadPoint::AtCommit(*commits_[r]), r, false,
              "commit of revision " + std::to_string(r)};
    }
    return {ReadPoint::AtRevision(r), r, false, "revision " + std::to_string(r)};
  }

  // ---- The model --------------------------------------------------------------------

  const ModelEntry* Latest(const std::string& branch, const std::string& key) const {
    auto it = branches_.find(branch);
    return it == branches_.end() ? nullptr : EntryAt(*it->second, key, revision_);
  }

  bool WinnerDeleted(const ModelEntry& e) const { return !versions_.at(e.heads.front()).value; }

  void SortHeads(std::vector<VersionId>* heads) const {
    std::sort(heads->begin(), heads->end(), [&](const VersionId& a, const VersionId& b) {
      int64_t ta = versions_.at(a).time_ns, tb = versions_.at(b).time_ns;
      return ta != tb ? ta > tb : a > b;
    });
  }

  bool Compacted(uint64_t revision) const {
    return compacted_at_ && revision <= *compacted_at_ && revision != revision_;
  }

  // Ends a revision: its branch states become readable as the past.
  void EndRevision(std::optional<int64_t> time, std::optional<CommitId> commit) {
    ++revision_;
    states_.push_back(branches_);
    times_.push_back(time);
    commits_.push_back(commit);
  }

  // What Write answers for a valid batch, checking each write in order as
  // ApplyWrites does (store/store_write.cc).
  Status PredictWrite(const WriteBatch& batch) const {
    if (!branches_.count(batch.branch)) return Status::NotFound("no such branch");
    for (const KeyWrite& w : batch.writes) {
      const ModelEntry* current = Latest(batch.branch, w.key);
      std::vector<VersionId> heads = current ? current->heads : std::vector<VersionId>();
      if (w.expected_heads &&
          std::set<VersionId>(w.expected_heads->begin(), w.expected_heads->end()) !=
              std::set<VersionId>(heads.begin(), heads.end())) {
        return Status::Conflict("heads of " + Printable(w.key) + " are " + Ids(heads));
      }
      if (w.parents) {
        for (const VersionId& p : *w.parents) {
          auto it = versions_.find(p);
          if (it == versions_.end()) return Status::NotFound("parent does not exist");
          if (it->second.key != w.key) {
            return Status::InvalidArgument("parent belongs to another key");
          }
        }
      }
      if (!w.value && !w.parents && (!current || WinnerDeleted(*current))) {
        return Status::NotFound("delete of missing key " + Printable(w.key));
      }
    }
    return Status::OK();
  }

  // Makes id a head of key in branch (the state being built for revision):
  // it replaces exactly its parents among the heads, or all heads when
  // parents is nullopt. A second version of a key in one revision replaces
  // that revision's entry, as the engine writes one entry per key and
  // revision.
  void AddHead(BranchHistory* branch, const std::string& key, const VersionId& id,
               const std::optional<std::vector<VersionId>>& parents, uint64_t revision) const {
    const ModelEntry* current = EntryAt(*branch, key, revision);
    ModelEntry entry;
    entry.revision = revision;
    entry.created_time_ns = current ? current->created_time_ns : versions_.at(id).time_ns;
    if (current) {
      for (const VersionId& h : current->heads) {
        bool replaced = !parents || std::count(parents->begin(), parents->end(), h) > 0;
        if (!replaced) entry.heads.push_back(h);
      }
    }
    entry.heads.push_back(id);
    SortHeads(&entry.heads);
    auto history = std::make_shared<KeyHistory>();
    auto old = branch->find(key);
    if (old != branch->end()) *history = *old->second;
    if (!history->empty() && history->back().revision == revision) history->pop_back();
    history->push_back(std::move(entry));
    (*branch)[key] = std::move(history);
  }

  // Whether a is an ancestor of b (a version is not its own).
  bool IsAncestor(const VersionId& a, const VersionId& b) const {
    std::vector<VersionId> stack = versions_.at(b).parents;
    std::set<VersionId> seen;
    while (!stack.empty()) {
      VersionId id = stack.back();
      stack.pop_back();
      if (id == a) return true;
      if (!seen.insert(id).second) continue;
      const std::vector<VersionId>& parents = versions_.at(id).parents;
      stack.insert(stack.end(), parents.begin(), parents.end());
    }
    return false;
  }

  // A replicated version's place among the key's heads (store.h): the
  // heads become the newest of the union of the heads and it.
  void PlaceReplicated(BranchHistory* branch, const std::string& key, const VersionId& id,
                       uint64_t revision) const {
    const ModelEntry* current = EntryAt(*branch, key, revision);
    std::vector<VersionId> heads = current ? current->heads : std::vector<VersionId>();
    std::vector<VersionId> replaced;
    for (const VersionId& h : heads) {
      if (h == id || IsAncestor(id, h)) return;
      if (IsAncestor(h, id)) replaced.push_back(h);
    }
    AddHead(branch, key, id, replaced, revision);
  }

  void AddVersion(const VersionId& id, ModelVersion v) {
    versions_of_key_[v.key].push_back(id);
    versions_[id] = std::move(v);
  }

  void ApplyWrite(const WriteBatch& batch, const WriteResult& r) {
    auto next = std::make_shared<BranchHistory>(*branches_.at(batch.branch));
    for (size_t i = 0; i < batch.writes.size(); ++i) {
      const KeyWrite& w = batch.writes[i];
      std::vector<VersionId> parents = w.parents ? *w.parents : std::vector<VersionId>();
      if (!w.parents) {
        if (const ModelEntry* current = Latest(batch.branch, w.key)) parents = current->heads;
      }
      AddVersion(r.versions[i],
                 ModelVersion{w.key, w.value, r.time_ns, parents, store_->replica_id()});
      AddHead(next.get(), w.key, r.versions[i], w.parents, r.revision);
    }
    branches_[batch.branch] = std::move(next);
    EndRevision(r.time_ns, r.commit);
  }

  // ---- Checking answers -------------------------------------------------------------

  // Only the code must match; the model's message says why it expects it.
  void CheckStatus(const Status& got, const Status& expected) {
    INFO("engine: " << got.ToString() << "; model: " << expected.ToString());
    REQUIRE(got.code() == expected.code());
  }

  void CheckKeyState(const KeyState& got, const std::string& key, const ModelEntry& e,
                     bool with_value) {
    INFO("key " << Printable(key) << ": engine heads " << Ids(HeadIds(got)) << ", model heads "
                << Ids(e.heads));
    REQUIRE(HeadIds(got) == e.heads);
    const ModelVersion& winner = versions_.at(e.heads.front());
    CHECK(got.winner.id == e.heads.front());
    CHECK(got.winner.key == key);
    CHECK(got.winner.deleted == !winner.value);
    CHECK(got.winner.time_ns == winner.time_ns);
    if (with_value && winner.value) CHECK(got.winner.value == *winner.value);
    CHECK(got.revision == e.revision);
    CHECK(got.created_time_ns == e.created_time_ns);
    CHECK(got.conflict() == (e.heads.size() > 1));
    for (size_t i = 0; i < got.heads.size(); ++i) {
      const ModelVersion& head = versions_.at(e.heads[i]);
      CHECK(got.heads[i].time_ns == head.time_ns);
      CHECK(got.heads[i].deleted == !head.value);
    }
    if (e.heads.size() > 1) {
      ++stats_.conflicts_read;
      if (versions_.at(e.heads[0]).time_ns == versions_.at(e.heads[1]).time_ns) ++stats_.ties_read;
    }
  }

  static std::vector<VersionId> HeadIds(const KeyState& state) {
    std::vector<VersionId> ids;
    for (const Version& v : state.heads) ids.push_back(v.id);
    return ids;
  }

  void CheckGet(const std::string& branch, const std::string& key, const Point& point) {
    INFO("Get " << branch << " " << Printable(key) << " at " << point.text);
    auto got = store_->Get(branch, key, point.at);
    auto it = branches_.find(branch);
    const ModelEntry* entry =
        point.future || it == branches_.end() ? nullptr : EntryAt(*it->second, key, point.revision);
    if (point.future) {
      CheckStatus(got.status(), Status::InvalidArgument("future revision"));
    } else if (entry == nullptr) {
      CheckStatus(got.status(), Status::NotFound("no branch or no entry"));
    } else {
      CheckStatus(got.status(), Status::OK());
      CheckKeyState(*got, key, *entry, true);
      if (point.revision < revision_) ++stats_.past_reads;
    }
  }

  // The keys of a write read back as the model says, at the latest state.
  void CheckKeysNow(const WriteBatch& batch) {
    if (!branches_.count(batch.branch)) return;
    for (const KeyWrite& w : batch.writes) {
      CheckGet(batch.branch, w.key, {ReadPoint::Latest(), revision_, false, "latest"});
    }
  }

  // The engine's record of a version is what the model wrote.
  void CheckVersion(const VersionId& id, uint64_t revision) {
    const ModelVersion& expected = versions_.at(id);
    INFO("version " << Short(id) << " of " << Printable(expected.key));
    auto v = store_->GetVersion(id, true);
    REQUIRE(v.ok());
    CHECK(v->key == expected.key);
    CHECK(v->deleted == !expected.value);
    if (expected.value) CHECK(v->value == *expected.value);
    CHECK(v->time_ns == expected.time_ns);
    CHECK(v->revision == revision);
    CHECK(v->replica == expected.replica);
    CHECK(std::set<VersionId>(v->parents.begin(), v->parents.end()) ==
          std::set<VersionId>(expected.parents.begin(), expected.parents.end()));
  }

  // ---- Operations -------------------------------------------------------------------

  // One key write of a random kind: a plain put or delete, a write naming
  // explicit parents (a subset of the heads, an older version, none, or one
  // that cannot be a parent), or a compare-and-set with the right or a wrong
  // set of expected heads.
  KeyWrite RandomKeyWrite(const std::string& branch, const std::string& key, std::string* text) {
    KeyWrite w{key, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
    if (Below(100) < 75) w.value = RandomValue();
    const ModelEntry* current = Latest(branch, key);
    std::vector<VersionId> heads = current ? current->heads : std::vector<VersionId>();
    const std::vector<VersionId>& all = versions_of_key_[key];
    std::ostringstream out;
    out << (w.value ? "put " : "delete ") << Printable(key);
    size_t roll = Below(100);
    if (roll < 55) {
      // plain
    } else if (roll < 80) {
      std::vector<VersionId> parents;
      size_t how = Below(10);
      if (how < 4 && !heads.empty()) {
        for (const VersionId& h : heads) {
          if (Below(2) == 0) parents.push_back(h);
        }
        if (parents.empty()) parents.push_back(Pick(heads));
        out << " naming heads " << Ids(parents);
      } else if (how < 8 && !all.empty()) {
        parents.push_back(Pick(all));
        out << " naming version " << Ids(parents);
      } else if (how < 9 || all.empty()) {
        out << " naming no parents";
      } else if (Below(2) == 0) {
        VersionId made_up;
        made_up.bytes[0] = static_cast<uint8_t>(Below(256));
        made_up.bytes[31] = 0x5a;
        parents.push_back(made_up);
        out << " naming a version that does not exist";
      } else if (!versions_.empty()) {
        auto other = versions_.begin();
        std::advance(other, Below(versions_.size()));
        parents.push_back(other->first);
        out << " naming a version of " << Printable(other->second.key);
      }
      w.parents = parents;
    } else {
      std::vector<VersionId> expected = heads;
      std::shuffle(expected.begin(), expected.end(), rng_);
      if (roll < 92) {
        out << " if heads are " << Ids(expected) << " (right)";
      } else {
        if (!expected.empty() && Below(2) == 0) {
          expected.pop_back();
        } else if (!all.empty()) {
          expected.push_back(Pick(all));
        }
        out << " if heads are " << Ids(expected);
      }
      w.expected_heads = expected;
    }
    *text += (text->empty() ? "" : "; ") + out.str();
    return w;
  }

  void WriteTransaction() {
    std::vector<std::string> names = BranchNames();
    WriteBatch batch;
    batch.branch = Pick(names);
    std::set<std::string> chosen;
    for (size_t n = 1 + Below(Below(4) == 0 ? 6 : 2); chosen.size() < n;) {
      chosen.insert(Pick(keys_));
    }
    std::vector<std::string> keys(chosen.begin(), chosen.end());
    std::shuffle(keys.begin(), keys.end(), rng_);
    std::string text;
    for (const std::string& key : keys) {
      batch.writes.push_back(RandomKeyWrite(batch.branch, key, &text));
    }
    INFO("Write on " << batch.branch << ": " << text);
    Status expected = PredictWrite(batch);
    auto got = store_->Write(batch);
    CheckStatus(got.status(), expected);
    if (!got.ok()) {
      ++stats_.failed_writes;
      CheckKeysNow(batch);  // nothing of a failed transaction shows
      return;
    }
    const WriteResult& r = *got;
    REQUIRE(r.revision == revision_ + 1);
    REQUIRE(r.versions.size() == batch.writes.size());
    REQUIRE(r.time_ns > last_time_ns_);
    last_time_ns_ = r.time_ns;
    ApplyWrite(batch, r);
    ++stats_.writes;
    for (size_t i = 0; i < batch.writes.size(); ++i) {
      CheckVersion(r.versions[i], r.revision);
    }
    auto commit = store_->GetCommit(r.commit);
    REQUIRE(commit.ok());
    CHECK(commit->branch == batch.branch);
    CHECK(commit->revision == r.revision);
    std::vector<std::string> keys_written;
    for (const KeyWrite& w : batch.writes) keys_written.push_back(w.key);
    std::sort(keys_written.begin(), keys_written.end());
    CHECK(commit->keys == keys_written);
    CheckKeysNow(batch);
  }

  // Versions as another replica sends them, with their own times: some
  // equal to a head's time (the winner is then the larger id), some older,
  // some in the future; chains of two in one batch; and versions this store
  // already holds, whatever branch holds them, which are not stored again
  // but still placed among the heads (store.h).
  void ApplyReplicated() {
    ReplicationBatch batch;
    batch.branch = Pick(BranchNames());
    std::string key = Pick(keys_);
    const ModelEntry* current = Latest(batch.branch, key);
    std::vector<VersionId> heads = current ? current->heads : std::vector<VersionId>();
    const std::vector<VersionId>& all = versions_of_key_[key];
    std::ostringstream text;
    if (Below(8) == 0 && !all.empty()) {
      const VersionId& id = Pick(all);
      const ModelVersion& v = versions_.at(id);
      batch.versions.push_back({id, v.key, v.parents, v.value, v.time_ns, v.replica});
      text << "resend " << Short(id);
    } else {
      std::vector<VersionId> parents;
      size_t how = Below(4);
      if (how == 0) {
        parents = heads;
      } else if (how == 1 && !heads.empty()) {
        parents.push_back(Pick(heads));
      } else if (how == 2 && !all.empty()) {
        parents.push_back(Pick(all));
      }
      for (size_t n = 1 + Below(2); n > 0; --n) {
        ReplicatedVersion v;
        v.key = key;
        v.parents = parents;
        if (Below(5) != 0) v.value = RandomValue();
        size_t when = Below(4);
        v.time_ns = when == 0 && !heads.empty() ? versions_.at(Pick(heads)).time_ns
                    : when == 1 ? last_time_ns_ - static_cast<int64_t>(Below(1000000000))
                    : when == 2 ? last_time_ns_ + 1000000000000
                                : last_time_ns_ + 1;
        v.replica = kOtherReplica;
        v.id = ComputeVersionId(key, v.parents, !v.value, false, v.value ? *v.value : "", v.time_ns,
                                v.replica);
        text << (v.value ? "put " : "delete ") << Printable(key) << " " << Short(v.id) << " naming "
             << Ids(v.parents) << " at time " << v.time_ns << "; ";
        parents = {v.id};
        batch.versions.push_back(std::move(v));
      }
    }
    INFO("ApplyReplicated on " << batch.branch << ": " << text.str());
    auto got = store_->ApplyReplicated(batch);
    CheckStatus(got.status(), Status::OK());
    const WriteResult& r = *got;
    REQUIRE(r.revision == revision_ + 1);
    REQUIRE(r.time_ns > last_time_ns_);
    last_time_ns_ = r.time_ns;
    auto next = std::make_shared<BranchHistory>(*branches_.at(batch.branch));
    std::vector<VersionId> applied;
    for (const ReplicatedVersion& v : batch.versions) {
      if (!versions_.count(v.id)) {
        AddVersion(v.id, ModelVersion{v.key, v.value, v.time_ns, v.parents, v.replica});
        applied.push_back(v.id);
      }
      PlaceReplicated(next.get(), v.key, v.id, r.revision);
    }
    REQUIRE(r.versions == applied);
    branches_[batch.branch] = std::move(next);
    EndRevision(r.time_ns, r.commit.IsZero() ? std::nullopt : std::optional<CommitId>(r.commit));
    for (const VersionId& id : applied) CheckVersion(id, r.revision);
    CheckGet(batch.branch, key, {ReadPoint::Latest(), revision_, false, "latest"});
    ++stats_.replicated;
  }

  void RefuseBadBatch() {
    WriteBatch batch;
    batch.branch = Pick(BranchNames());
    std::string key = Pick(keys_);
    std::string why;
    switch (Below(4)) {
      case 0:
        batch.Put(key, "one").Put(key, "two");
        why = "a key written twice";
        break;
      case 1:
        batch.Put("", "empty key");
        why = "an empty key";
        break;
      case 2:
        batch.Put(key, "ok").Put(std::string(options_.max_key_bytes + 1, 'k'), "long key");
        why = "a key over the limit";
        break;
      default:
        why = "no writes";
    }
    INFO("Write on " << batch.branch << " with " << why);
    CheckStatus(store_->Write(batch).status(), Status::InvalidArgument(why));
    CheckGet(batch.branch, key, {ReadPoint::Latest(), revision_, false, "latest"});
  }

  void WriteToMissingBranch() {
    std::string branch = SomeBranchName();
    if (branches_.count(branch)) return;
    WriteBatch batch;
    batch.branch = branch;
    batch.Put(Pick(keys_), "lost");
    INFO("Write on missing branch " << branch);
    CheckStatus(store_->Write(batch).status(), Status::NotFound("no such branch"));
  }

  void CheckGets() {
    std::vector<std::string> names = BranchNames();
    if (Below(8) == 0) names.push_back(SomeBranchName());  // may be missing
    std::string branch = Pick(names);
    Point point = RandomPoint();
    for (int i = 0; i < 4; ++i) CheckGet(branch, Pick(keys_), point);
  }

  void CheckListKeys() {
    std::string branch = Below(10) == 0 ? SomeBranchName() : Pick(BranchNames());
    Point point = RandomPoint();
    KeyListOptions options;
    static const char* const kPrefixes[] = {"", "", "a", "a/", "user/", "b", "long/", "x", "none"};
    options.prefix = kPrefixes[Below(9)];
    if (Below(4) == 0) options.prefix = Pick(keys_).substr(0, Below(4));
    if (Below(2) == 0) options.start_after = Pick(keys_).substr(0, 1 + Below(6));
    options.limit = Below(10) == 0 ? Below(3) : 1 + Below(40);
    options.include_deleted = Below(2) == 0;
    options.with_values = Below(2) == 0;
    CheckList(branch, point, options);
  }

  void CheckList(const std::string& branch, const Point& point, KeyListOptions options) {
    options.at = point.at;
    INFO("ListKeys " << branch << " prefix " << Printable(options.prefix) << " start_after "
                     << Printable(options.start_after) << " limit " << options.limit
                     << (options.include_deleted ? " with deleted" : "")
                     << (options.with_values ? " with values" : "") << " at " << point.text);
    auto got = store_->ListKeys(branch, options);
    auto it = branches_.find(branch);
    if (point.future) return CheckStatus(got.status(), Status::InvalidArgument("future"));
    if (it == branches_.end()) return CheckStatus(got.status(), Status::NotFound("branch"));
    CheckStatus(got.status(), Status::OK());
    std::vector<std::pair<std::string, const ModelEntry*>> expected;
    for (const auto& [key, history] : *it->second) {
      if (expected.size() >= options.limit) break;
      if (key.compare(0, options.prefix.size(), options.prefix) != 0) continue;
      if (!options.start_after.empty() && key <= options.start_after) continue;
      const ModelEntry* e = EntryAt(*it->second, key, point.revision);
      if (e == nullptr || (!options.include_deleted && WinnerDeleted(*e))) continue;
      expected.emplace_back(key, e);
    }
    std::vector<std::string> got_keys, expected_keys;
    for (const KeyState& s : *got) got_keys.push_back(Printable(s.winner.key));
    for (const auto& [key, e] : expected) expected_keys.push_back(Printable(key));
    REQUIRE(got_keys == expected_keys);
    for (size_t i = 0; i < expected.size(); ++i) {
      CheckKeyState((*got)[i], expected[i].first, *expected[i].second, options.with_values);
      if (!options.with_values) CHECK((*got)[i].winner.value.empty());
    }
    ++stats_.lists;
  }

  // The branch a Diff or CreateBranch at point reads, or why there is none.
  const BranchHistory* BranchAtPoint(const std::string& name, const Point& point,
                                     Status* failure) const {
    bool latest = point.at.kind == ReadPoint::Kind::kLatest;
    const BranchSet* set = &branches_;
    if (!latest) {
      if (point.future) {
        *failure = Status::InvalidArgument("future revision");
        return nullptr;
      }
      if (Compacted(point.revision)) {
        // A branch unchanged since then is in that state now.
        auto now = branches_.find(name);
        auto then = states_[point.revision].find(name);
        if (now != branches_.end() && then != states_[point.revision].end() &&
            created_at_.at(name) <= point.revision && *then->second == *now->second) {
          return now->second.get();
        }
        *failure = Status::Compacted("compacted at " + std::to_string(*compacted_at_));
        return nullptr;
      }
      set = &states_[point.revision];
    }
    auto it = set->find(name);
    if (it == set->end()) {
      *failure = Status::NotFound("branch " + name + " does not exist there");
      return nullptr;
    }
    return it->second.get();
  }

  void CheckDiff() {
    std::string from = Below(8) == 0 ? SomeBranchName() : Pick(BranchNames());
    std::string to = Below(8) == 0 ? SomeBranchName() : Pick(BranchNames());
    Point from_at =
        Below(2) == 0 ? Point{ReadPoint::Latest(), revision_, false, "latest"} : RandomPoint();
    Point to_at =
        Below(2) == 0 ? Point{ReadPoint::Latest(), revision_, false, "latest"} : RandomPoint();
    INFO("Diff " << from << " at " << from_at.text << " -> " << to << " at " << to_at.text);
    auto got = store_->Diff(from, from_at.at, to, to_at.at);
    Status failure;
    const BranchHistory* a = BranchAtPoint(from, from_at, &failure);
    const BranchHistory* b = a ? BranchAtPoint(to, to_at, &failure) : nullptr;
    if (b == nullptr) {
      if (failure.code() == Status::Code::kCompacted) ++stats_.compacted_refusals;
      return CheckStatus(got.status(), failure);
    }
    CheckStatus(got.status(), Status::OK());
    std::set<std::string> keys;
    for (const auto& [key, h] : *a) keys.insert(key);
    for (const auto& [key, h] : *b) keys.insert(key);
    std::vector<std::string> expected, actual;
    auto live_winner = [&](const BranchHistory& branch, const std::string& key) {
      const ModelEntry* e = EntryAt(branch, key, ~uint64_t{0});
      return e && !WinnerDeleted(*e) ? std::optional<VersionId>(e->heads.front()) : std::nullopt;
    };
    for (const std::string& key : keys) {
      std::optional<VersionId> wa = live_winner(*a, key), wb = live_winner(*b, key);
      if (wa == wb) continue;
      const char* kind = !wb ? "removed" : !wa ? "added" : "modified";
      expected.push_back(std::string(kind) + " " + Printable(key) + " " + (wa ? Short(*wa) : "-") +
                         " -> " + (wb ? Short(*wb) : "-"));
    }
    for (const DiffEntry& d : *got) {
      const char* kind = d.kind == DiffEntry::Kind::kRemoved ? "removed"
                         : d.kind == DiffEntry::Kind::kAdded ? "added"
                                                             : "modified";
      actual.push_back(std::string(kind) + " " + Printable(d.key) + " " +
                       (d.from ? Short(*d.from) : "-") + " -> " + (d.to ? Short(*d.to) : "-"));
    }
    REQUIRE(actual == expected);
    ++stats_.diffs;
  }

  void CreateBranch() {
    std::string name = SomeBranchName();
    std::string from = Below(8) == 0 ? SomeBranchName() : Pick(BranchNames());
    Point at =
        Below(2) == 0 ? Point{ReadPoint::Latest(), revision_, false, "latest"} : RandomPoint();
    INFO("CreateBranch " << name << " from " << from << " at " << at.text);
    auto got = store_->CreateBranch(name, from, at.at);
    Status failure;
    const BranchHistory* source = nullptr;
    if (branches_.count(name)) {
      failure = Status::Conflict("branch exists");
    } else {
      source = BranchAtPoint(from, at, &failure);
    }
    if (source == nullptr) {
      if (failure.code() == Status::Code::kCompacted) ++stats_.compacted_refusals;
      return CheckStatus(got.status(), failure);
    }
    CheckStatus(got.status(), Status::OK());
    CHECK(got->name == name);
    CHECK(got->created_revision == revision_ + 1);
    REQUIRE(got->created_time_ns > last_time_ns_);
    last_time_ns_ = got->created_time_ns;
    branches_[name] = std::make_shared<const BranchHistory>(*source);
    created_at_[name] = revision_ + 1;
    EndRevision(got->created_time_ns, std::nullopt);
    ++stats_.branches_created;
  }

  void DeleteBranch() {
    std::string name = SomeBranchName();
    INFO("DeleteBranch " << name);
    Status got = store_->DeleteBranch(name);
    if (name == "main") return CheckStatus(got, Status::InvalidArgument("main"));
    if (!branches_.count(name)) return CheckStatus(got, Status::NotFound("no branch"));
    CheckStatus(got, Status::OK());
    branches_.erase(name);
    EndRevision(std::nullopt, std::nullopt);
  }

  void Compact() {
    INFO("Compact at revision " << revision_);
    auto stats = store_->Compact(CompactOptions{});
    INFO(stats.status().ToString());
    REQUIRE(stats.ok());
    CHECK(stats->versions_dropped == 0);
    CHECK(stats->versions_kept == versions_.size());
    compacted_at_ = revision_;
    ++stats_.compactions;
    // Every past revision stays readable, key by key.
    for (int i = 0; i < 20; ++i) {
      uint64_t r = Below(revision_ + 1);
      CheckGet(Pick(BranchNames()), Pick(keys_),
               {ReadPoint::AtRevision(r), r, false, "revision " + std::to_string(r)});
    }
  }

  void Reopen() {
    INFO("Reopen");
    store_.reset();
    store_ = OpenStore(dir_.path(), options_);
    ++stats_.reopens;
  }

  // Everything, once more: every key on every branch now and at a few past
  // revisions, full listings, the branch list, and the engine's own check.
  void FinalSweep() {
    INFO("seed " << seed_ << ", final sweep at revision " << revision_);
    std::vector<uint64_t> revisions{revision_};
    for (int i = 0; i < 8; ++i) revisions.push_back(Below(revision_ + 1));
    for (const std::string& branch : BranchNames()) {
      for (uint64_t r : revisions) {
        Point point{ReadPoint::AtRevision(r), r, false, "revision " + std::to_string(r)};
        for (const std::string& key : keys_) CheckGet(branch, key, point);
        KeyListOptions all;
        all.include_deleted = true;
        all.with_values = true;
        CheckList(branch, point, all);
      }
    }
    auto listed = store_->ListBranches();
    REQUIRE(listed.ok());
    std::vector<std::string> names;
    for (const BranchInfo& b : *listed) names.push_back(b.name);
    CHECK(names == BranchNames());
    auto report = store_->Check();
    REQUIRE(report.ok());
    for (const std::string& problem : report->problems) FAIL_CHECK(problem);

    // The run covered what it claims to.
    INFO("writes " << stats_.writes << ", failed " << stats_.failed_writes << ", conflicts read "
                   << stats_.conflicts_read << " (ties " << stats_.ties_read << "), past reads "
                   << stats_.past_reads << ", branches " << stats_.branches_created
                   << ", compactions " << stats_.compactions << ", compacted refusals "
                   << stats_.compacted_refusals << ", reopens " << stats_.reopens << ", lists "
                   << stats_.lists << ", diffs " << stats_.diffs << ", replicated "
                   << stats_.replicated);
    CHECK(stats_.failed_writes > 0);
    CHECK(stats_.conflicts_read > 0);
    CHECK(stats_.ties_read > 0);
    CHECK(stats_.replicated > 0);
    CHECK(stats_.past_reads > 0);
    CHECK(stats_.branches_created > 0);
    CHECK(stats_.compactions > 0);
    CHECK(stats_.compacted_refusals > 0);
    CHECK(stats_.reopens > 0);
  }

  struct Stats {
    size_t writes = 0, failed_writes = 0, conflicts_read = 0, ties_read = 0, past_reads = 0;
    size_t branches_created = 0, compactions = 0, compacted_refusals = 0, reopens = 0;
    size_t lists = 0, diffs = 0, replicated = 0;
  };

  const uint64_t seed_;
  std::mt19937_64 rng_;
  TempDir dir_;
  Options options_;
  std::unique_ptr<Store> store_;
  std::vector<std::string> keys_;
  Stats stats_;

  std::map<VersionId, ModelVersion> versions_;
  std::map<std::string, std::vector<VersionId>> versions_of_key_;
  BranchSet branches_;                         // now
  std::vector<BranchSet> states_;              // after each revision
  std::vector<std::optional<int64_t>> times_;  // of each revision, where known
  std::vector<std::optional<CommitId>> commits_;
  uint64_t revision_ = 0;
  int64_t last_time_ns_ = 0;
  std::optional<uint64_t> compacted_at_;  // revision of the last compaction
  std::map<std::string, uint64_t> created_at_;  // revision that created each branch
};

size_t EnvOr(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

}  // namespace

TEST_CASE("random operation sequences match a simple in-memory model of the store") {
  uint64_t seed = EnvOr("KVS_MODEL_SEED", 0);
  if (seed == 0) seed = GENERATE(1, 2, 3, 4, 5, 6, 7, 8);
  ModelCheck check(seed);
  check.Run(EnvOr("KVS_MODEL_OPS", 2500));
}

}  // namespace kvs::test
