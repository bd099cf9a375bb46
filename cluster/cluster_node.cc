#include "cluster/cluster_node.h"

#include <chrono>

#include "common/time.h"
#include "replication/http_peer.h"
#include "replication/local_peer.h"
#include "replication/replicator.h"

namespace kvs::cluster {
namespace {

// After a failed pull, its thread waits this long before the next.
constexpr auto kPullRetry = std::chrono::milliseconds(200);

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

ClusterNode::ClusterNode(const config::ClusterSettings& settings, Store& store, std::string branch,
                         std::string secret_file, std::vector<merge::MergeRule> merge_rules)
    : settings_(settings),
      shard_(*settings_.map.ShardOfNode(settings_.self)),
      store_(store),
      branch_(std::move(branch)),
      secret_file_(std::move(secret_file)),
      merge_rules_(std::move(merge_rules)) {
  for (const std::string& replica : map().shards()[shard_].replicas) {
    if (replica == settings_.self) continue;
    pulled_[replica] = 0;
    wanted_[replica] = 0;
    pullers_.emplace_back(&ClusterNode::Puller, this, replica);
  }
}

ClusterNode::~ClusterNode() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (replication::Peer* peer : pulling_) peer->Interrupt();
  }
  changed_.notify_all();
  for (std::thread& puller : pullers_) puller.join();
}

uint64_t ClusterNode::PulledFrom(const std::string& replica,
                                 const replication::StatusBoard* board) {
  uint64_t through = pulled_[replica];
  if (board != nullptr) {
    const std::string url = settings_.UrlOf(replica);
    for (const replication::PeerStatus& peer : board->Peers()) {
      if (peer.url == url) through = std::max(through, peer.pulled_through);
    }
  }
  return through;
}

Result<CausalContext> ClusterNode::Missing(const CausalContext& context,
                                           const replication::StatusBoard* board) {
  CausalContext missing;
  const auto& replicas = map().shards()[shard_].replicas;
  for (const auto& [address, revision] : context) {
    if (std::find(replicas.begin(), replicas.end(), address) == replicas.end()) continue;
    if (address == settings_.self) {
      KVS_ASSIGN_OR_RETURN(uint64_t own, store_.Revision());
      if (own < revision) missing[address] = revision;
    } else if (PulledFrom(address, board) < revision) {
      missing[address] = revision;
    }
  }
  return missing;
}

Result<bool> ClusterNode::Reached(const CausalContext& context,
                                  const replication::StatusBoard* board) {
  std::lock_guard<std::mutex> lock(mu_);
  KVS_ASSIGN_OR_RETURN(CausalContext missing, Missing(context, board));
  return missing.empty();
}

Result<bool> ClusterNode::Reach(const CausalContext& context, const replication::StatusBoard* board,
                                int64_t deadline_ns) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    KVS_ASSIGN_OR_RETURN(CausalContext missing, Missing(context, board));
    if (missing.empty()) return true;
    if (missing.contains(settings_.self)) return false;  // no pull brings it
    for (const auto& [replica, revision] : missing) {
      wanted_[replica] = std::max(wanted_[replica], revision);
    }
    changed_.notify_all();
    const int64_t now = common::SteadyClockNs();
    if (now >= deadline_ns || stopping_) return false;
    // Woken when a pull ends; the live pulls (board) are looked at again
    // every few milliseconds.
    changed_.wait_for(lock,
                      std::chrono::nanoseconds(std::min<int64_t>(deadline_ns - now, 5000000)));
  }
}

Result<uint64_t> ClusterNode::PullOnce(const std::string& replica) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<replication::HttpPeer> remote,
                       replication::HttpPeer::Connect(settings_.UrlOf(replica), secret_file_));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status::IOError("stopping");
    pulling_.insert(remote.get());
  }
  replication::LocalPeer local(store_, {merge_rules_, nullptr});
  replication::ReplicateOptions options;
  options.branches = {branch_};
  auto stats = replication::Replicate(*remote, local, options);
  std::lock_guard<std::mutex> lock(mu_);
  pulling_.erase(remote.get());
  if (!stats.ok()) return stats.status();
  return stats->source_revision;
}

void ClusterNode::Puller(std::string replica) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || wanted_[replica] > pulled_[replica]; });
    if (stopping_) return;
    lock.unlock();
    Result<uint64_t> through = PullOnce(replica);
    lock.lock();
    if (through.ok()) {
      pulled_[replica] = std::max(pulled_[replica], *through);
      changed_.notify_all();
    }
    // Still wanted after a pull that failed, or one that began before the
    // replica had what is wanted (or a replica whose store was replaced,
    // which never will): pull again, but not in a tight loop. Waiting
    // requests give up by their deadline.
    if (wanted_[replica] > pulled_[replica]) {
      changed_.wait_for(lock, kPullRetry, [&] { return stopping_; });
    }
  }
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
    list.limit = map().view().size() + 1;
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
  CausalContext others;
  for (const auto& [address, revision] : context) {
    auto shard = map().ShardOfNode(address);
    if (shard && *shard != shard_) others[address] = revision;
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
