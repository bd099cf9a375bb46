#include "cluster/cluster_node.h"

#include <chrono>
#include <cstdio>

#include "common/time.h"
#include "replication/http_peer.h"

namespace kvs::cluster {
namespace {

// After a failed pull, the next waits this long, doubling up to the most.
constexpr int64_t kPullRetryNs = 200000000;
constexpr int64_t kPullMaxRetryNs = int64_t{10} * 1000000000;
// After a drop of moved keys failed, the next try waits this long.
constexpr int64_t kDropRetryNs = int64_t{60} * 1000000000;

// Whether key is a client's (not the cluster's own, '_') that shard of map
// owns; no shard owns any.
bool OwnedBy(const common::ClusterMap& map, std::optional<size_t> shard, std::string_view key) {
  return shard && !key.starts_with('_') && map.ShardOfKey(key) == *shard;
}

}  // namespace

void MergeInto(const CausalContext& from, CausalContext* into) {
  for (const auto& [address, revision] : from) {
    uint64_t& mine = (*into)[address];
    mine = std::max(mine, revision);
  }
}

std::optional<CausalContext> ContextFromJson(const nlohmann::ordered_json& json) {
  CausalContext context;
  if (json.is_null()) return context;
  if (!json.is_object()) return std::nullopt;
  for (const auto& [address, revision] : json.items()) {
    if (!revision.is_number_unsigned()) return std::nullopt;
    context[address] = revision.get<uint64_t>();
  }
  return context;
}

std::optional<CausalContext> ContextFromJsonText(std::string_view text) {
  const auto json = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return std::nullopt;
  return ContextFromJson(json);
}

nlohmann::ordered_json ContextToJson(const CausalContext& context) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  for (const auto& [address, revision] : context) json[address] = revision;
  return json;
}

std::string ContextToJsonText(const CausalContext& context) {
  return ContextToJson(context).dump();
}

nlohmann::ordered_json Layout::ToJson() const {
  return {{"active", active.ToJson()},
          {"next", next ? next->ToJson() : nlohmann::ordered_json()},
          {"previous", previous ? previous->ToJson() : nlohmann::ordered_json()},
          {"grace_until", grace_until_ns},
          {"dropped_for", dropped_for}};
}

Result<Layout> Layout::FromJson(const nlohmann::ordered_json& json) {
  if (!json.is_object() || !json.contains("active")) {
    return Status::InvalidArgument("a node's layout is not an object with \"active\"");
  }
  Layout layout;
  KVS_ASSIGN_OR_RETURN(layout.active, common::ClusterMap::FromJson(json["active"]));
  for (auto [name, map] : {std::pair{"next", &layout.next}, {"previous", &layout.previous}}) {
    auto it = json.find(name);
    if (it == json.end() || it->is_null()) continue;
    KVS_ASSIGN_OR_RETURN(*map, common::ClusterMap::FromJson(*it));
  }
  if (auto it = json.find("grace_until"); it != json.end() && it->is_number_integer()) {
    layout.grace_until_ns = it->get<int64_t>();
  }
  layout.dropped_for = layout.active.version();
  if (auto it = json.find("dropped_for"); it != json.end() && it->is_number_unsigned()) {
    layout.dropped_for = it->get<uint64_t>();
  }
  return layout;
}

std::vector<MoveSource> MoveSources(const common::ClusterMap& from, const common::ClusterMap& to,
                                    const std::string& self) {
  std::vector<MoveSource> sources;
  const auto mine = to.ShardOfNode(self);
  if (!mine) return sources;
  const common::HashRanges wanted = to.RangesOfShard(*mine);
  // The shard self held too: its other replicas may have taken writes self
  // has not pulled yet when the change comes.
  for (size_t shard = 0; shard < from.shards().size(); ++shard) {
    common::HashRanges ranges = common::IntersectRanges(from.RangesOfShard(shard), wanted);
    if (ranges.empty()) continue;
    std::vector<std::string> replicas = from.shards()[shard].replicas;
    std::erase(replicas, self);
    if (replicas.empty()) continue;
    sources.push_back({std::move(ranges), std::move(replicas)});
  }
  return sources;
}

Result<std::optional<Layout>> StoredLayout(Store& store, const std::string& branch,
                                           const std::string& self) {
  const std::string key = std::string(kLayoutPrefix) + self;
  auto kept = store.Get(branch, key, ReadPoint::Latest());
  if (kept.status().IsNotFound() || (kept.ok() && kept->winner.deleted)) {
    return std::optional<Layout>();
  }
  if (!kept.ok()) return kept.status();
  auto layout = Layout::FromJson(nlohmann::ordered_json::parse(kept->winner.value, nullptr, false));
  if (!layout.ok()) {
    return Status::InvalidArgument(key + " holds no layout: " + layout.status().message());
  }
  return std::optional<Layout>(std::move(layout).value());
}

const common::ClusterMap* Layout::MapOfVersion(uint64_t version) const {
  if (active.version() == version) return &active;
  if (next && next->version() == version) return &*next;
  if (previous && previous->version() == version) return &*previous;
  return nullptr;
}

PullFilters PullsOf(const Layout& layout, const std::string& self) {
  PullFilters pulls;
  if (auto shard = layout.active.ShardOfNode(self)) {
    for (const std::string& replica : layout.active.shards()[*shard].replicas) {
      if (replica != self) pulls[replica] = layout.active.RangesOfShard(*shard);
    }
  }
  auto add = [&](const std::vector<MoveSource>& sources) {
    for (const MoveSource& source : sources) {
      for (const std::string& replica : source.replicas) {
        auto [it, added] = pulls.emplace(replica, source.ranges);
        if (!added) it->second = common::UniteRanges(it->second, source.ranges);
      }
    }
  };
  if (layout.next) add(MoveSources(layout.active, *layout.next, self));
  if (layout.previous) add(MoveSources(*layout.previous, layout.active, self));
  return pulls;
}

ClusterNode::ClusterNode(const config::ClusterSettings& settings, Store& store, std::string branch,
                         std::string secret_file, std::vector<merge::MergeRule> merge_rules,
                         CompactOptions compaction)
    : settings_(settings),
      store_(store),
      branch_(std::move(branch)),
      secret_file_(std::move(secret_file)),
      merge_rules_(std::move(merge_rules)),
      compaction_(std::move(compaction)) {
  Layout layout;
  layout.active = settings_.map;
  // What the node followed when it stopped, if anything: the config's view
  // is only where a cluster starts.
  auto stored = StoredLayout(store_, branch_, settings_.self);
  if (!stored.ok()) {
    std::fprintf(stderr, "kvs-fcgi: cluster: %s; starting from the config's view\n",
                 stored.status().message().c_str());
  } else if (*stored) {
    layout = std::move(**stored);
  }
  layout_ = std::make_shared<const Layout>(std::move(layout));
}

void ClusterNode::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
  }
  FollowLayout();
  keeper_ = std::thread(&ClusterNode::Keeper, this);
}

ClusterNode::~ClusterNode() {
  std::map<std::string, Pull> pulls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    pulls.swap(pulls_);
  }
  changed_.notify_all();
  if (keeper_.joinable()) keeper_.join();
  pulls.clear();  // stops them, outside mu_: their hooks take it
}

std::shared_ptr<const Layout> ClusterNode::layout() const {
  std::lock_guard<std::mutex> lock(mu_);
  return layout_;
}

std::optional<size_t> ClusterNode::shard() const {
  return layout()->active.ShardOfNode(settings_.self);
}

void ClusterNode::FollowLayout() {
  std::vector<std::unique_ptr<replication::LiveReplication>> ended;
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_ || !started_) return;
  const PullFilters wanted = PullsOf(*layout_, settings_.self);
  for (auto it = pulls_.begin(); it != pulls_.end();) {
    auto want = wanted.find(it->first);
    if (want != wanted.end() && want->second == it->second.ranges) {
      ++it;
      continue;
    }
    ended.push_back(std::move(it->second.live));
    it = pulls_.erase(it);
  }
  for (const auto& want : wanted) {
    // Named, not a structured binding: the hooks below capture it.
    const std::string& address = want.first;
    const common::HashRanges& ranges = want.second;
    if (pulls_.contains(address)) continue;
    Pull& pull = pulls_[address];
    pull.ranges = ranges;
    pull.generation = ++generations_;
    replication::LiveHooks hooks;
    // The pull's entry, unless it was stopped (and maybe replaced) since.
    auto entry = [this, address, generation = pull.generation]() -> Pull* {
      auto it = pulls_.find(address);
      return it != pulls_.end() && it->second.generation == generation ? &it->second : nullptr;
    };
    hooks.done = [this, entry](replication::Direction, const replication::ReplicateStats& stats) {
      std::lock_guard<std::mutex> hook_lock(mu_);
      if (Pull* p = entry()) {
        p->pulled_through = std::max(p->pulled_through, stats.source_revision);
        ++p->runs;
        p->last_error.clear();
      }
      changed_.notify_all();
    };
    // A wait that ended with nothing to copy: the revisions it saw pass
    // were checkpoints and other keys, which contexts name too.
    hooks.caught_up = [this, entry](replication::Direction, uint64_t revision) {
      std::lock_guard<std::mutex> hook_lock(mu_);
      if (Pull* p = entry()) p->pulled_through = std::max(p->pulled_through, revision);
      changed_.notify_all();
    };
    hooks.failed = [this, entry, address](replication::Direction, const Status& status,
                                          int64_t retry_ns) {
      std::lock_guard<std::mutex> hook_lock(mu_);
      Pull* p = entry();
      if (p == nullptr || p->last_error == status.message()) return;  // said once
      p->last_error = status.message();
      std::fprintf(stderr, "kvs-fcgi: cluster: pulling from %s failed (retrying in %lld ms): %s\n",
                   address.c_str(), static_cast<long long>(retry_ns / 1000000),
                   status.message().c_str());
    };
    replication::ReplicateOptions options;
    options.branches = {branch_};
    options.hash_ranges = ranges;
    const std::string url = settings_.UrlOf(address);
    pull.live = std::make_unique<replication::LiveReplication>(
        store_, replication::LocalPeerOptions{merge_rules_},
        [url, secret = secret_file_]() -> Result<std::unique_ptr<replication::Peer>> {
          KVS_ASSIGN_OR_RETURN(std::unique_ptr<replication::HttpPeer> remote,
                               replication::HttpPeer::Connect(url, secret));
          return std::unique_ptr<replication::Peer>(std::move(remote));
        },
        replication::Direction::kPull, options, hooks,
        // A node back after an outage is pulled from again within seconds:
        // reads may be waiting for it.
        replication::LiveTiming{
            .retry_ns = kPullRetryNs, .max_retry_ns = kPullMaxRetryNs, .each_revision = true});
    pull.live->Start();
  }
  lock.unlock();
  ended.clear();  // stops them, outside mu_: their hooks take it
}

Status ClusterNode::Adopt(Layout layout) {
  WriteBatch batch;
  batch.branch = branch_;
  batch.Put(LayoutKey(), layout.ToJson().dump());
  KVS_RETURN_IF_ERROR(store_.Write(batch).status());
  {
    std::lock_guard<std::mutex> lock(mu_);
    layout_ = std::make_shared<const Layout>(std::move(layout));
  }
  FollowLayout();
  return Status::OK();
}

Status ClusterNode::Prepare(const common::ClusterMap& next) {
  std::lock_guard<std::mutex> change(change_mu_);
  const std::shared_ptr<const Layout> now = layout();
  if (now->next ? *now->next == next : now->active == next) return Status::OK();
  // Two view changes made from the same map at once are a fork of it: the
  // one whose text sorts last wins, alike on every node, and replaces the
  // other where that one came first. A newer map replaces one the node
  // still moves to: that view change lost, or ended without this node.
  const bool replaces = now->next && (next.version() > now->next->version() ||
                                      (next.version() == now->next->version() &&
                                       next.ToJson().dump() > now->next->ToJson().dump()));
  if (now->next && !replaces) {
    return Status::Conflict("a view change to map version " + std::to_string(now->next->version()) +
                            " is under way; send it again to finish it");
  }
  if (next.version() <= now->active.version()) {
    return Status::Conflict("the map of this view change (version " +
                            std::to_string(next.version()) + ") is not newer than the cluster's (" +
                            std::to_string(now->active.version()) + ")");
  }
  Layout layout = *now;
  layout.next = next;
  return Adopt(std::move(layout));
}

bool ClusterNode::CaughtUp(const common::ClusterMap& map) {
  const std::shared_ptr<const Layout> now = layout();
  if (!now->next) return now->active == map;
  if (!(*now->next == map)) return false;
  // From each shard keys move from, one replica is enough: the replicas
  // of a shard pull from each other, and a replica that is down must not
  // stop the cluster from changing. What only it held arrives while the
  // pulls from it go on, through the grace period.
  std::lock_guard<std::mutex> lock(mu_);
  for (const MoveSource& source : MoveSources(now->active, *now->next, settings_.self)) {
    const bool pulled = std::any_of(source.replicas.begin(), source.replicas.end(),
                                    [&](const std::string& replica) {
                                      auto it = pulls_.find(replica);
                                      return it != pulls_.end() && it->second.runs > 0;
                                    });
    if (!pulled) return false;
  }
  return true;
}

Status ClusterNode::Switch(const common::ClusterMap& map, int64_t grace_ns) {
  std::lock_guard<std::mutex> change(change_mu_);
  const std::shared_ptr<const Layout> now = layout();
  if (now->active == map) return Status::OK();
  if (!now->next || !(*now->next == map)) {
    return Status::Conflict("this node does not move to that map (version " +
                            std::to_string(map.version()) +
                            "): another view change came first, or none was prepared");
  }
  Layout layout;
  layout.active = *now->next;
  layout.previous = now->active;
  layout.grace_until_ns = common::WallClockNs() + grace_ns;
  layout.dropped_for = now->dropped_for;
  return Adopt(std::move(layout));
}

void ClusterNode::Keeper() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    changed_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) break;
    const Layout& now = *layout_;
    const bool grace_over = now.previous && common::WallClockNs() >= now.grace_until_ns;
    const bool drop_due = !now.previous && !now.next && now.dropped_for < now.active.version() &&
                          common::SteadyClockNs() >= drop_retry_ns_;
    if (!grace_over && !drop_due) continue;
    lock.unlock();
    if (grace_over) {
      EndGrace();
    } else {
      DropMovedKeys();
    }
    lock.lock();
  }
}

void ClusterNode::EndGrace() {
  std::lock_guard<std::mutex> change(change_mu_);
  const std::shared_ptr<const Layout> now = layout();
  if (!now->previous || common::WallClockNs() < now->grace_until_ns) return;
  Layout layout = *now;
  layout.previous.reset();
  if (Status adopted = Adopt(std::move(layout)); !adopted.ok()) {
    std::fprintf(stderr, "kvs-fcgi: cluster: cannot end the grace period: %s\n",
                 adopted.message().c_str());
  }
}

void ClusterNode::DropMovedKeys() {
  // No step of a view change meanwhile: a map that gave the keys back would
  // pull them while they are dropped.
  std::lock_guard<std::mutex> change(change_mu_);
  const std::shared_ptr<const Layout> now = layout();
  if (now->previous || now->next || now->dropped_for >= now->active.version()) return;
  const common::ClusterMap& active = now->active;
  const std::optional<size_t> mine = active.ShardOfNode(settings_.self);
  CompactOptions options = compaction_;
  options.drop_key = [&active, mine](std::string_view key) {
    return !key.starts_with('_') && !OwnedBy(active, mine, key);
  };
  auto compacted = store_.Compact(options);
  Layout layout = *now;
  layout.dropped_for = active.version();
  Status done = compacted.ok() ? Adopt(std::move(layout)) : compacted.status();
  if (!done.ok()) {
    std::fprintf(stderr,
                 "kvs-fcgi: cluster: cannot drop the keys map version %llu moved away (trying "
                 "again in a minute): %s\n",
                 static_cast<unsigned long long>(active.version()), done.message().c_str());
    drop_retry_ns_ = common::SteadyClockNs() + kDropRetryNs;
    return;
  }
  std::fprintf(stderr,
               "kvs-fcgi: cluster: dropped the keys map version %llu moved away: %llu versions; "
               "the data file went from %llu to %llu bytes\n",
               static_cast<unsigned long long>(active.version()),
               static_cast<unsigned long long>(compacted->versions_dropped),
               static_cast<unsigned long long>(compacted->bytes_before),
               static_cast<unsigned long long>(compacted->bytes_after));
}

nlohmann::ordered_json ClusterNode::Describe() {
  const std::shared_ptr<const Layout> now = layout();
  nlohmann::ordered_json pulls = nlohmann::ordered_json::array();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [address, pull] : pulls_) {
      pulls.push_back({{"from", address},
                       {"hashes", common::HashRangesText(pull.ranges)},
                       {"runs", pull.runs},
                       {"pulled_through", pull.pulled_through},
                       {"last_error", pull.last_error}});
    }
  }
  nlohmann::ordered_json json = now->ToJson();
  json["self"] = settings_.self;
  json["caught_up"] = CaughtUp(now->Target());
  json["pulls"] = std::move(pulls);
  return json;
}

Result<CausalContext> ClusterNode::Missing(const CausalContext& context) {
  CausalContext missing;
  for (const auto& [address, revision] : context) {
    if (address == settings_.self) {
      KVS_ASSIGN_OR_RETURN(uint64_t own, store_.Revision());
      if (own < revision) missing[address] = revision;
    } else if (auto pull = pulls_.find(address);
               pull != pulls_.end() && pull->second.pulled_through < revision) {
      missing[address] = revision;
    }
  }
  return missing;
}

Result<bool> ClusterNode::Reached(const CausalContext& context) {
  std::lock_guard<std::mutex> lock(mu_);
  KVS_ASSIGN_OR_RETURN(CausalContext missing, Missing(context));
  return missing.empty();
}

Result<bool> ClusterNode::Reach(const CausalContext& context, int64_t deadline_ns) {
  std::unique_lock<std::mutex> lock(mu_);
  bool nudged = false;
  for (;;) {
    KVS_ASSIGN_OR_RETURN(CausalContext missing, Missing(context));
    if (missing.empty()) return true;
    if (missing.contains(settings_.self)) return false;  // no pull brings it
    if (!nudged) {
      // Every entry missing but self's names a pull (Missing).
      for (const auto& [address, revision] : missing) pulls_.at(address).live->Nudge();
      nudged = true;
    }
    const int64_t now = common::SteadyClockNs();
    if (now >= deadline_ns || stopping_) return false;
    changed_.wait_for(lock, std::chrono::nanoseconds(deadline_ns - now));
  }
}

Result<uint64_t> ClusterNode::CountKeys(const common::ClusterMap& map, size_t shard) {
  uint64_t count = 0;
  KeyListOptions list;
  for (;;) {
    KVS_ASSIGN_OR_RETURN(std::vector<KeyState> page, store_.ListKeys(branch_, list));
    for (const KeyState& key : page) count += OwnedBy(map, shard, key.winner.key);
    if (page.size() < list.limit) return count;
    list.start_after = page.back().winner.key;
  }
}

Result<uint64_t> ClusterNode::CountOwnedKeys() {
  const std::shared_ptr<const Layout> now = layout();
  const auto mine = now->active.ShardOfNode(settings_.self);
  if (!mine) return 0;
  return CountKeys(now->active, *mine);
}

Result<CausalContext> ClusterNode::Answer(const CausalContext& context, uint64_t revision) {
  CausalContext answer = context;
  KVS_ASSIGN_OR_RETURN(uint64_t now, store_.Revision());
  uint64_t& own = answer[settings_.self];
  own = std::max({own, now, revision});
  std::lock_guard<std::mutex> lock(deps_mu_);
  if (!deps_read_ || deps_revision_ != now) {
    KeyListOptions list;
    list.prefix = std::string(kDepsPrefix);
    list.with_values = true;
    CausalContext deps;
    auto keys = store_.ListKeys(branch_, list);
    if (!keys.ok() && !keys.status().IsNotFound()) return keys.status();
    if (keys.ok()) {
      for (const KeyState& key : *keys) {
        if (auto recorded = ContextFromJsonText(key.winner.value)) MergeInto(*recorded, &deps);
      }
    }
    deps_ = std::move(deps);
    deps_revision_ = now;
    deps_read_ = true;
  }
  MergeInto(deps_, &answer);
  return answer;
}

Result<std::optional<KeyWrite>> ClusterNode::DepsWrite(const CausalContext& context) {
  // Entries of other nodes than its own shard's replicas.
  const std::shared_ptr<const Layout> now = layout();
  const common::ClusterMap& active = now->active;
  const auto mine = active.ShardOfNode(settings_.self);
  CausalContext others;
  for (const auto& [address, revision] : context) {
    if (address != settings_.self && (!mine || active.ShardOfNode(address) != mine)) {
      others[address] = revision;
    }
  }
  if (others.empty()) return std::optional<KeyWrite>();
  KeyWrite write;
  write.key = DepsKey();
  write.expected_heads = std::vector<VersionId>();
  CausalContext recorded;
  auto state = store_.Get(branch_, write.key, ReadPoint::Latest());
  if (state.ok()) {
    if (auto parsed = ContextFromJsonText(state->winner.value)) recorded = *parsed;
    for (const Version& head : state->heads) write.expected_heads->push_back(head.id);
  } else if (!state.status().IsNotFound()) {
    return state.status();
  }
  CausalContext merged = recorded;
  MergeInto(others, &merged);
  if (merged == recorded) return std::optional<KeyWrite>();
  write.value = ContextToJsonText(merged);
  return std::optional<KeyWrite>(std::move(write));
}

}  // namespace kvs::cluster
