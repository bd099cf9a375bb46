// The replicator's loop (replication/replicator.h).
#include "replication/replicator.h"

#include <algorithm>
#include <future>
#include <map>

#include "common/json_value.h"
#include "store/sha256.h"

namespace kvs::replication {
namespace {

// How many walked versions one walk message may answer.
constexpr size_t kWalkLimit = 10000;
// A page with nothing to apply still moves the checkpoint when the source
// went this many revisions past it.
constexpr uint64_t kCheckpointEvery = 1000;

// Where a target resumes a source's branch: after revision `revision`
// (whose commit time was time_ns), or, in a full listing that started at
// that revision, after key `after`.
struct Checkpoint {
  bool full = true;
  uint64_t revision = 0;
  int64_t time_ns = 0;
  std::string after;
};

std::string Encode(const Checkpoint& c) {
  Json j = {{"full", c.full}, {"revision", c.revision}, {"time", c.time_ns}};
  if (c.full) j["after"] = ToJson(std::vector<KeyHeads>{{c.after, {}}})[0];
  return common::DumpJson(j);
}

// A checkpoint that does not parse is no checkpoint: start with a listing.
Checkpoint Decode(const std::string& text) {
  auto j = Parse(text);
  if (!j.ok() || !j->is_object()) return {};
  try {
    Checkpoint c;
    c.full = j->at("full").get<bool>();
    c.revision = j->at("revision").get<uint64_t>();
    c.time_ns = j->at("time").get<int64_t>();
    if (c.full) {
      auto after = KeyHeadsFromJson(Json::array({j->at("after")}));
      if (!after.ok()) return {};
      c.after = after->front().key;
    }
    return c;
  } catch (const std::exception&) {
    return {};
  }
}

// The versions a target lacks below some heads, and the order to send them.
struct Plan {
  std::vector<VersionId> versions;  // parents first
  std::vector<VersionId> dropped;   // parents the source no longer stores
};

class BranchReplicator {
 public:
  BranchReplicator(Peer& source, Peer& target, const ReplicateOptions& options,
                   ReplicateStats* stats)
      : source_(source), target_(target), options_(options), stats_(stats) {}

  Status Run(const std::string& branch, const std::string& checkpoint_name,
             std::optional<std::string> stored) {
    branch_ = branch;
    name_ = checkpoint_name;
    Checkpoint at = stored ? Decode(*stored) : Checkpoint{};
    Progress progress;
    progress.branch = branch;
    // The next page, read while this one is transferred (ReadAhead).
    std::future<Result<FeedPage>> ahead;
    for (;;) {
      KVS_ASSIGN_OR_RETURN(FeedPage page,
                           ahead.valid() ? ahead.get() : source_.Changes(RequestFrom(at)));
      if (page.reset) {
        if (at.full) return Status::Corruption("the source refused a full listing");
        at = Checkpoint{};  // its history is not what the checkpoint saw
        continue;
      }
      Checkpoint next;
      bool must_write = false;
      if (at.full) {
        stats_->full_listing = true;
        const bool first = at.after.empty();
        next.revision = first ? page.revision : at.revision;
        next.time_ns = first ? page.revision_time_ns : at.time_ns;
        next.full = page.more;
        next.after = page.more ? page.keys.back().key : "";
        must_write = true;
      } else {
        next = {false, page.through, page.through_time_ns, ""};
        must_write = !page.keys.empty() || page.through - at.revision >= kCheckpointEvery;
      }
      stats_->keys += page.keys.size();
      if (page.more && source_.ConcurrentCalls()) ahead = ReadAhead(next);
      KVS_RETURN_IF_ERROR(Transfer(page.keys, Encode(next), must_write));
      at = next;
      progress.keys += page.keys.size();
      progress.versions = stats_->versions;
      if (options_.progress) options_.progress(progress);
      if (!page.more) return Settle();
    }
  }

 private:
  FeedRequest RequestFrom(const Checkpoint& at) const {
    FeedRequest request;
    request.branch = branch_;
    request.prefix = options_.prefix;
    request.hash_ranges = options_.hash_ranges;
    request.limit = options_.page_keys;
    request.full = at.full;
    request.after = at.after;
    request.since = at.revision;
    request.since_time_ns = at.time_ns;
    return request;
  }

  // The page after one transferred now, read from the source on a thread
  // of its own meanwhile: the source lists it while the target diffs and
  // the source fetches for this one. Nothing of it is used before this
  // page's transfer is through, so checkpoints keep their order.
  std::future<Result<FeedPage>> ReadAhead(const Checkpoint& from) {
    return std::async(std::launch::async,
                      [this, request = RequestFrom(from)] { return source_.Changes(request); });
  }

  // Sends batch to the target: at once, or, when the target takes calls
  // from two threads, on a thread of its own while this one prepares the
  // next batch (the next page's changes, diff and fetch). Applies stay in
  // order, each starting once the one before has ended, so a checkpoint is
  // still never stored before the data it covers.
  Status SubmitApply(const ReplicationBatch& batch, const std::vector<std::string>& may_fork) {
    KVS_RETURN_IF_ERROR(Settle());
    if (!target_.ConcurrentCalls()) {
      KVS_ASSIGN_OR_RETURN(ApplyOutcome outcome, target_.Apply(batch, may_fork));
      Count(outcome);
      return Status::OK();
    }
    in_flight_ = std::async(std::launch::async,
                            [this, batch, may_fork] { return target_.Apply(batch, may_fork); });
    return Status::OK();
  }

  // Waits for the apply in flight, if any, and counts what it did.
  Status Settle() {
    if (!in_flight_.valid()) return Status::OK();
    Result<ApplyOutcome> outcome = in_flight_.get();
    if (!outcome.ok()) return outcome.status();
    Count(*outcome);
    return Status::OK();
  }

  void Count(const ApplyOutcome& outcome) {
    stats_->versions += outcome.stored;
    stats_->forked.insert(outcome.forked.begin(), outcome.forked.end());
    stats_->merged.insert(outcome.merged.begin(), outcome.merged.end());
  }

  // Brings the target up to the source for keys, and stores checkpoint with
  // the last of it (or alone, when must_write).
  Status Transfer(const std::vector<KeyHeads>& keys, const std::string& checkpoint,
                  bool must_write) {
    std::vector<KeyNeed> needs;
    if (!keys.empty()) {
      KVS_ASSIGN_OR_RETURN(needs, target_.Diff(branch_, keys));
    }
    std::map<std::string, const KeyHeads*> source_heads;
    for (const KeyHeads& k : keys) source_heads[k.key] = &k;
    for (const KeyNeed& need : needs) {
      if (!source_heads.count(need.key)) {
        return Status::Corruption("the target answered for a key it was not asked about");
      }
    }
    KVS_ASSIGN_OR_RETURN(Plan plan, PlanVersions(needs));
    // Heads the target stores but not as heads: placed by the last batch.
    std::vector<VersionId> heads;
    for (const KeyNeed& need : needs) {
      for (const VersionId& id : source_heads.at(need.key)->heads) {
        if (std::find(need.heads.begin(), need.heads.end(), id) == need.heads.end() &&
            std::find(need.lacking.begin(), need.lacking.end(), id) == need.lacking.end()) {
          heads.push_back(id);
        }
      }
    }
    if (plan.versions.empty() && heads.empty() && !must_write) return Status::OK();
    // Keys the target had heads of: only they can fork here.
    std::vector<std::string> may_fork;
    const std::vector<std::string> none;
    for (const KeyNeed& need : needs) {
      if (!need.heads.empty()) may_fork.push_back(need.key);
    }
    ReplicationBatch batch;
    batch.branch = branch_;
    batch.dropped = plan.dropped;
    size_t next = 0;
    do {
      batch.versions.clear();
      size_t bytes = 0;
      // One apply holds about batch_bytes of values, fetched as the source
      // answers (it may stop early).
      while (next < plan.versions.size() && bytes < options_.batch_bytes) {
        if (auto it = prefetched_.find(plan.versions[next]); it != prefetched_.end()) {
          bytes += it->second.key.size() + (it->second.value ? it->second.value->size() : 0);
          batch.versions.push_back(std::move(it->second));
          prefetched_.erase(it);
          ++next;
          continue;
        }
        // The run of versions up to the next prefetched one.
        size_t end = next;
        while (end < plan.versions.size() && end - next < options_.fetch_ids &&
               !prefetched_.count(plan.versions[end])) {
          ++end;
        }
        std::vector<VersionId> ids(plan.versions.begin() + next, plan.versions.begin() + end);
        KVS_ASSIGN_OR_RETURN(std::vector<ReplicatedVersion> got,
                             source_.Fetch(ids, options_.batch_bytes - bytes));
        if (got.empty()) return Status::IOError("the source sent no version it was asked for");
        for (ReplicatedVersion& v : got) {
          if (v.id != plan.versions[next]) {
            return Status::Corruption("the source sent version " + v.id.Hex() + " for " +
                                      plan.versions[next].Hex());
          }
          bytes += v.key.size() + (v.value ? v.value->size() : 0);
          batch.versions.push_back(std::move(v));
          ++next;
          if (next == end) break;
        }
      }
      const bool last = next == plan.versions.size();
      if (last) {
        batch.heads = heads;
        batch.peer = name_;
        batch.checkpoint = checkpoint;
      }
      KVS_RETURN_IF_ERROR(SubmitApply(batch, last ? may_fork : none));
    } while (next < plan.versions.size());
    stats_->heads += heads.size();
    return Status::OK();
  }

  // The versions below the lacking heads of needs that the target does not
  // store, found by walking the source's graph: a version the target stores
  // ends the walk on its path (what lies below it the target has, or dropped
  // by its own retention: not sent again). Keys the target stores nothing of
  // need no question per version.
  Result<Plan> PlanVersions(const std::vector<KeyNeed>& needs) {
    std::vector<VersionId> fresh, partial, stop;
    for (const KeyNeed& need : needs) {
      auto& into = need.has_key ? partial : fresh;
      into.insert(into.end(), need.lacking.begin(), need.lacking.end());
      stop.insert(stop.end(), need.heads.begin(), need.heads.end());
    }
    std::map<VersionId, std::vector<VersionId>> lacking;  // id -> parents
    std::set<VersionId> present(stop.begin(), stop.end());
    std::set<VersionId> dropped;
    // The heads of keys the target stores nothing of are sent whatever their
    // history: fetched now, in one message, the walk goes on only below
    // those that have parents (a key written once needs no walk at all).
    prefetched_.clear();
    if (!fresh.empty()) {
      const std::vector<VersionId> asked(
          fresh.begin(), fresh.begin() + std::min(fresh.size(), options_.fetch_ids));
      KVS_ASSIGN_OR_RETURN(std::vector<ReplicatedVersion> heads,
                           source_.Fetch(asked, options_.batch_bytes));
      std::vector<VersionId> below;
      for (ReplicatedVersion& v : heads) {
        lacking[v.id] = v.parents;
        below.insert(below.end(), v.parents.begin(), v.parents.end());
        prefetched_.emplace(v.id, std::move(v));
      }
      for (const VersionId& id : fresh) {
        if (!lacking.count(id)) below.push_back(id);  // past what one message held
      }
      fresh = std::move(below);
    }
    while (!fresh.empty() || !partial.empty()) {
      std::vector<VersionId> next_fresh, next_partial;
      for (bool is_fresh : {true, false}) {
        std::vector<VersionId>& from = is_fresh ? fresh : partial;
        if (from.empty()) continue;
        std::vector<VersionId> walk_stop(present.begin(), present.end());
        KVS_ASSIGN_OR_RETURN(std::vector<WalkEntry> entries,
                             source_.Walk(from, walk_stop, kWalkLimit));
        std::set<VersionId> absent;
        if (is_fresh) {
          for (const WalkEntry& e : entries) absent.insert(e.id);
        } else {
          std::vector<VersionId> ask;
          for (const WalkEntry& e : entries) {
            if (!e.dropped) ask.push_back(e.id);
          }
          KVS_ASSIGN_OR_RETURN(std::vector<VersionId> missing, target_.Lacking(ask));
          absent.insert(missing.begin(), missing.end());
        }
        std::map<VersionId, const WalkEntry*> walked;
        for (const WalkEntry& e : entries) walked[e.id] = &e;
        // From the walk's starts, through versions the target lacks only.
        std::vector<VersionId> stack = from;
        std::set<VersionId> seen;
        while (!stack.empty()) {
          VersionId id = stack.back();
          stack.pop_back();
          if (!seen.insert(id).second || lacking.count(id) || present.count(id)) continue;
          auto it = walked.find(id);
          if (it == walked.end()) {  // past the walk's limit: next round
            (is_fresh ? next_fresh : next_partial).push_back(id);
            continue;
          }
          if (it->second->dropped) {
            dropped.insert(id);
            continue;
          }
          if (!absent.count(id)) {
            present.insert(id);
            continue;
          }
          lacking[id] = it->second->parents;
          stack.insert(stack.end(), it->second->parents.begin(), it->second->parents.end());
        }
      }
      fresh = std::move(next_fresh);
      partial = std::move(next_partial);
    }
    Plan plan;
    plan.dropped.assign(dropped.begin(), dropped.end());
    // Parents first: a depth-first walk that emits a version once all of
    // its lacking parents are out (iterative: histories can be long).
    std::set<VersionId> done;
    for (const auto& [root, unused] : lacking) {
      std::vector<std::pair<VersionId, bool>> stack{{root, false}};
      while (!stack.empty()) {
        auto [id, expanded] = stack.back();
        stack.pop_back();
        if (done.count(id)) continue;
        if (expanded) {
          done.insert(id);
          plan.versions.push_back(id);
          continue;
        }
        stack.push_back({id, true});
        for (const VersionId& p : lacking.at(id)) {
          if (lacking.count(p) && !done.count(p)) stack.push_back({p, false});
        }
      }
    }
    return plan;
  }

  Peer& source_;
  Peer& target_;
  const ReplicateOptions& options_;
  ReplicateStats* stats_;
  std::string branch_;
  std::string name_;
  // Versions PlanVersions fetched already, until Transfer sends them.
  std::map<VersionId, ReplicatedVersion> prefetched_;
  // The apply in flight (SubmitApply). Declared last: its destructor waits
  // for it, before the members it uses go.
  std::future<Result<ApplyOutcome>> in_flight_;
};

}  // namespace

std::string CheckpointName(const ReplicaId& source, const std::string& branch,
                           const std::string& prefix, const common::HashRanges& hash_ranges) {
  std::string name = source.Hex() + "/" + branch + "/" + prefix;
  // The ranges can be long: a digest of them names them.
  if (!hash_ranges.empty())
    name += "#" + Sha256(common::HashRangesText(hash_ranges)).Hex().substr(0, 32);
  return name;
}

Result<ReplicateStats> Replicate(Peer& source, Peer& target, const ReplicateOptions& options) {
  KVS_ASSIGN_OR_RETURN(PeerInfo from, source.Hello(""));
  KVS_ASSIGN_OR_RETURN(PeerInfo to, target.Hello(from.replica.Hex() + "/"));
  if (from.replica == to.replica) {
    return Status::InvalidArgument("both sides are the same store (replica " + from.replica.Hex() +
                                   ")");
  }
  std::map<std::string, std::string> checkpoints(to.checkpoints.begin(), to.checkpoints.end());
  ReplicateStats stats;
  stats.source_revision = from.revision;
  const std::vector<std::string>& branches =
      options.branches.empty() ? from.branches : options.branches;
  for (const std::string& branch : branches) {
    if (std::find(from.branches.begin(), from.branches.end(), branch) == from.branches.end()) {
      continue;  // the source has no such branch: nothing to send (and none to create)
    }
    const std::string name =
        CheckpointName(from.replica, branch, options.prefix, options.hash_ranges);
    std::optional<std::string> stored;
    if (auto it = checkpoints.find(name); it != checkpoints.end()) stored = it->second;
    BranchReplicator replicator(source, target, options, &stats);
    KVS_RETURN_IF_ERROR(replicator.Run(branch, name, stored));
  }
  return stats;
}

Status Exchange(Peer& local, Peer& remote, Direction direction, const ReplicateOptions& options,
                const std::function<void(Direction, const ReplicateStats&)>& done) {
  auto run = [&](Peer& source, Peer& target, Direction way) -> Status {
    ReplicateOptions one_way = options;
    if (options.progress) {
      one_way.progress = [&options, way](const Progress& p) {
        Progress told = p;
        told.direction = DirectionName(way);
        options.progress(told);
      };
    }
    KVS_ASSIGN_OR_RETURN(ReplicateStats stats, Replicate(source, target, one_way));
    done(way, stats);
    return Status::OK();
  };
  if (Receives(direction)) KVS_RETURN_IF_ERROR(run(remote, local, Direction::kPull));
  if (Sends(direction)) KVS_RETURN_IF_ERROR(run(local, remote, Direction::kPush));
  return Status::OK();
}

}  // namespace kvs::replication
