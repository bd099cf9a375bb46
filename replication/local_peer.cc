// LocalPeer: each protocol message answered from, or applied to, a Store.
#include "replication/local_peer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <queue>
#include <set>
#include <thread>
#include <tuple>

#include "replication/fork_merge.h"

namespace kvs::replication {
namespace {

// Whether key passes a filter's hash ranges (none: every key does; kvs's
// own keys, '_', always do).
bool InFilter(const common::HashRanges& ranges, std::string_view key) {
  return ranges.empty() || key.starts_with('_') || common::KeyInRanges(key, ranges);
}

// The most keys one changes page lists, whatever a replicator asks for: an
// answer stays bounded.
constexpr size_t kMaxPageKeys = 10000;

constexpr auto kWaitPoll = std::chrono::milliseconds(2);
constexpr uint64_t kMaxWaitMs = 25000;

// BranchHeads, as ids.
Result<std::vector<VersionId>> HeadsOf(Store& store, const std::string& branch,
                                       const std::string& key) {
  KVS_ASSIGN_OR_RETURN(std::vector<Version> heads, BranchHeads(store, branch, key));
  std::vector<VersionId> ids;
  for (const Version& h : heads) ids.push_back(h.id);
  return ids;
}

}  // namespace

Result<std::vector<Version>> BranchHeads(Store& store, const std::string& branch,
                                         const std::string& key) {
  auto presence = store.Presence(branch, {key});
  // A key no store could hold (too long, or holding 0x00) has no heads.
  if (presence.status().code() == Status::Code::kInvalidArgument) return std::vector<Version>();
  if (!presence.ok()) return presence.status();
  return std::move(presence->front().heads);
}

Result<PeerInfo> LocalPeer::Hello(const std::string& checkpoint_prefix) {
  PeerInfo info;
  info.replica = store_.replica_id();
  KVS_ASSIGN_OR_RETURN(info.revision, store_.Revision());
  KVS_ASSIGN_OR_RETURN(std::vector<BranchInfo> branches, store_.ListBranches());
  for (const BranchInfo& b : branches) info.branches.push_back(b.name);
  if (!checkpoint_prefix.empty()) {
    KVS_ASSIGN_OR_RETURN(info.checkpoints, store_.Checkpoints(checkpoint_prefix));
  }
  return info;
}

Result<FeedPage> LocalPeer::Changes(const FeedRequest& asked) {
  FeedRequest request = asked;
  request.limit = std::clamp<size_t>(request.limit, 1, kMaxPageKeys);
  FeedPage page;
  auto branch = store_.GetBranch(request.branch);
  if (branch.status().IsNotFound()) {  // nothing to send
    page.through = request.since;
    page.through_time_ns = request.since_time_ns;
    KVS_ASSIGN_OR_RETURN(page.revision, store_.Revision());
    return page;
  }
  if (!branch.ok()) return branch.status();
  if (request.full) {
    // The revision the listing starts from, and its time: once every page
    // is through, changes after it are what the next run reads.
    KVS_ASSIGN_OR_RETURN(uint64_t revision, store_.Revision());
    ChangesOptions at;
    at.branch = request.branch;
    at.since = revision;
    at.limit = 0;
    KVS_ASSIGN_OR_RETURN(kvs::Changes now, store_.ChangesSince(at));
    page.revision = revision;
    page.revision_time_ns = now.since_time_ns;
    KeyListOptions options;
    options.prefix = request.prefix;
    options.start_after = request.after;
    options.limit = request.limit;
    options.include_deleted = true;
    KVS_ASSIGN_OR_RETURN(std::vector<KeyState> keys, store_.ListKeys(request.branch, options));
    for (const KeyState& k : keys) {
      if (!InFilter(request.hash_ranges, k.winner.key)) continue;
      KeyHeads entry{k.winner.key, {}};
      for (const Version& h : k.heads) entry.heads.push_back(h.id);
      page.keys.push_back(std::move(entry));
    }
    page.more = keys.size() == request.limit;
    return page;
  }
  KVS_ASSIGN_OR_RETURN(uint64_t newest, store_.Revision());
  if (request.since > newest || branch->created_revision > request.since) {
    page.reset = true;
    return page;
  }
  ChangesOptions options;
  options.branch = request.branch;
  options.since = request.since;
  options.prefix = request.prefix;
  options.limit = request.limit;
  KVS_ASSIGN_OR_RETURN(kvs::Changes changes, store_.ChangesSince(options));
  if (request.since > 0 && changes.since_time_ns != request.since_time_ns) {
    page.reset = true;  // not the revision the checkpoint was taken at
    return page;
  }
  page.keys = std::move(changes.keys);
  if (!request.hash_ranges.empty()) {
    std::erase_if(page.keys,
                  [&](const KeyHeads& k) { return !InFilter(request.hash_ranges, k.key); });
  }
  page.through = changes.through;
  page.through_time_ns = changes.through_time_ns;
  page.revision = changes.revision;
  page.more = changes.through < changes.revision;
  return page;
}

Result<std::vector<WalkEntry>> LocalPeer::Walk(const std::vector<VersionId>& from,
                                               const std::vector<VersionId>& stop, size_t limit) {
  // Newest first (time, then id), each once; a version is read when it is
  // first seen, and its parents kept until it is taken from the queue.
  using Item = std::tuple<int64_t, VersionId>;
  std::priority_queue<Item> queue;
  std::map<VersionId, std::vector<VersionId>> parents_of;  // queued ones
  std::set<VersionId> seen(stop.begin(), stop.end());
  std::vector<WalkEntry> out;
  auto visit = [&](const VersionId& id) -> Status {
    if (!seen.insert(id).second) return Status::OK();
    auto v = store_.GetVersion(id, false);
    if (v.status().IsNotFound()) {
      out.push_back({id, {}, /*dropped=*/true});
      return Status::OK();
    }
    if (!v.ok()) return v.status();
    queue.emplace(v->time_ns, id);
    parents_of[id] = std::move(v->parents);
    return Status::OK();
  };
  for (const VersionId& id : from) KVS_RETURN_IF_ERROR(visit(id));
  while (!queue.empty() && out.size() < limit) {
    VersionId id = std::get<1>(queue.top());
    queue.pop();
    std::vector<VersionId> parents = std::move(parents_of.extract(id).mapped());
    out.push_back({id, parents, false});
    for (const VersionId& p : parents) KVS_RETURN_IF_ERROR(visit(p));  // may add to out
  }
  return out;
}

Result<std::vector<ReplicatedVersion>> LocalPeer::Fetch(const std::vector<VersionId>& ids,
                                                        size_t max_bytes) {
  std::vector<ReplicatedVersion> out;
  size_t bytes = 0;
  // A slice at a time: the sizes first, then the values of those that fit
  // (at least one), each read from one state of the store.
  constexpr size_t kSlice = 256;
  for (size_t start = 0; start < ids.size() && (out.empty() || bytes < max_bytes);) {
    std::vector<VersionId> slice(ids.begin() + start,
                                 ids.begin() + std::min(ids.size(), start + kSlice));
    KVS_ASSIGN_OR_RETURN(std::vector<std::optional<Version>> sizes,
                         store_.GetVersions(slice, false));
    size_t fit = 0;
    for (size_t budget = bytes; fit < sizes.size(); ++fit) {
      if (!sizes[fit]) return Status::NotFound("version " + slice[fit].Hex() + " does not exist");
      if ((!out.empty() || fit > 0) && budget >= max_bytes) break;
      budget += sizes[fit]->key.size() + sizes[fit]->size;
    }
    slice.resize(fit);
    KVS_ASSIGN_OR_RETURN(std::vector<std::optional<Version>> found,
                         store_.GetVersions(slice, true));
    for (size_t i = 0; i < found.size(); ++i) {
      if (!found[i]) return Status::NotFound("version " + slice[i].Hex() + " does not exist");
      Version& v = *found[i];
      bytes += v.key.size() + v.value.size();
      ReplicatedVersion r{
          v.id, std::move(v.key), std::move(v.parents), std::nullopt, v.time_ns, v.replica, v.json};
      if (!v.deleted) r.value = std::move(v.value);
      out.push_back(std::move(r));
    }
    start += fit;
    if (fit < kSlice) break;  // the budget ended the slice, or the ids did
  }
  return out;
}

Result<std::vector<KeyNeed>> LocalPeer::Diff(const std::string& branch,
                                             const std::vector<KeyHeads>& keys) {
  std::vector<std::string> names;
  names.reserve(keys.size());
  for (const KeyHeads& k : keys) names.push_back(k.key);
  KVS_ASSIGN_OR_RETURN(std::vector<KeyPresence> presence, store_.Presence(branch, names));
  std::vector<KeyNeed> needs;
  std::vector<const KeyHeads*> asked;  // needs[i] answers *asked[i]
  // The source's heads that are not heads here, of keys stored here: whether
  // they are stored, one question for all of them.
  std::vector<VersionId> unplaced;
  for (size_t i = 0; i < keys.size(); ++i) {
    KeyNeed need{keys[i].key, {}, {}, presence[i].stored};
    for (const Version& h : presence[i].heads) need.heads.push_back(h.id);
    bool placed = true;
    for (const VersionId& id : keys[i].heads) {
      if (std::find(need.heads.begin(), need.heads.end(), id) != need.heads.end()) continue;
      placed = false;
      (need.has_key ? unplaced : need.lacking).push_back(id);
    }
    if (placed) continue;
    needs.push_back(std::move(need));
    asked.push_back(&keys[i]);
  }
  if (unplaced.empty()) return needs;
  KVS_ASSIGN_OR_RETURN(std::vector<VersionId> missing, Lacking(unplaced));
  const std::set<VersionId> absent(missing.begin(), missing.end());
  for (size_t i = 0; i < needs.size(); ++i) {
    if (!needs[i].has_key) continue;
    for (const VersionId& id : asked[i]->heads) {
      if (absent.count(id)) needs[i].lacking.push_back(id);
    }
  }
  return needs;
}

Result<std::vector<VersionId>> LocalPeer::Lacking(const std::vector<VersionId>& ids) {
  KVS_ASSIGN_OR_RETURN(std::vector<std::optional<Version>> found, store_.GetVersions(ids, false));
  std::vector<VersionId> lacking;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!found[i]) lacking.push_back(ids[i]);
  }
  return lacking;
}

Result<ApplyOutcome> LocalPeer::Apply(const ReplicationBatch& batch,
                                      const std::vector<std::string>& may_fork) {
  KVS_ASSIGN_OR_RETURN(WriteResult written, store_.ApplyReplicated(batch));
  ApplyOutcome outcome;
  outcome.stored = written.versions.size();
  for (const std::string& key : may_fork) {
    KVS_ASSIGN_OR_RETURN(std::vector<VersionId> heads, HeadsOf(store_, batch.branch, key));
    if (heads.size() < 2) continue;
    if (auto f = ForkMergeFunction(options_.merge_rules, key)) {
      KVS_ASSIGN_OR_RETURN(bool merged, MergeFork(store_, batch.branch, key, *f));
      if (merged) {
        outcome.merged.push_back(key);
        continue;
      }
    }
    outcome.forked.push_back(key);
  }
  return outcome;
}

Result<WaitOutcome> LocalPeer::Wait(const WaitRequest& request) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(std::min(request.timeout_ms, kMaxWaitMs));
  uint64_t since = request.revision;
  for (;;) {
    if (interrupted_) return Status::IOError("the wait was stopped");
    WaitOutcome outcome;
    KVS_ASSIGN_OR_RETURN(outcome.revision, store_.Revision());
    if (outcome.revision < since) {
      outcome.changed = true;  // a revision this store never had: replaced since
      return outcome;
    }
    if (outcome.revision > since) {
      KVS_ASSIGN_OR_RETURN(outcome.changed, ChangedAfter(request, since));
      if (outcome.changed || request.each_revision) return outcome;
      since = outcome.revision;  // only other branches, keys or checkpoints moved
    }
    const Clock::time_point now = Clock::now();
    if (now >= deadline || (options_.stop != nullptr && options_.stop->load())) return outcome;
    std::this_thread::sleep_for(std::min<Clock::duration>(kWaitPoll, deadline - now));
  }
}

Result<bool> LocalPeer::ChangedAfter(const WaitRequest& request, uint64_t since) {
  KVS_ASSIGN_OR_RETURN(std::vector<BranchInfo> branches, store_.ListBranches());
  for (const BranchInfo& b : branches) {
    if (!request.branches.empty() && std::find(request.branches.begin(), request.branches.end(),
                                               b.name) == request.branches.end()) {
      continue;
    }
    if (b.created_revision > since) return true;  // a new branch: all of it travels
    if (b.head_revision <= since) continue;
    if (request.prefix.empty() && request.hash_ranges.empty()) return true;
    ChangesOptions options;
    options.branch = b.name;
    options.since = since;
    options.prefix = request.prefix;
    options.limit = request.hash_ranges.empty() ? 1 : 1000;
    for (;;) {
      KVS_ASSIGN_OR_RETURN(kvs::Changes changes, store_.ChangesSince(options));
      for (const KeyHeads& k : changes.keys) {
        if (InFilter(request.hash_ranges, k.key)) return true;
      }
      if (changes.through >= changes.revision) break;
      options.since = changes.through;
    }
  }
  return false;
}

}  // namespace kvs::replication
