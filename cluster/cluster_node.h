// A kvs server as one node of a cluster (the config's cluster: section): its
// place in the cluster map, and causal consistency for the /kv-store/...
// API (faces/cluster/).
//
// A causal context is what a client has seen: per node address, a revision
// of that node's store. A node serving a request must hold everything the
// context says was seen of its own shard's replicas: its own store at that
// revision at least, and for each other replica of the shard, a pull from it
// that began at that revision or later (a pull copies all the source held
// when it began, so revisions are transitive: what that replica had received
// from a third one comes with it). Replicas of the shard pull from each
// other live (the runner of Config::replication); Reach also pulls on demand,
// from a thread per replica, when a request needs more than the live pulls
// brought, and waits a bounded time for it.
//
// Causality across shards: a write records, in the store, the context
// entries of other shards it was made with (DepsWrite: one key per node,
// "_cluster/deps/ADDRESS", written in the write's transaction and replicated
// with it). Every answer carries the union of the deps this node holds
// (Answer), so a client that read a value written after something on another
// shard carries that on, and the other shard's node makes it wait for it.
#ifndef KVS_CLUSTER_CLUSTER_NODE_H_
#define KVS_CLUSTER_CLUSTER_NODE_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/cluster_map.h"
#include "config/config.h"
#include "kvs/store.h"
#include "replication/peer.h"
#include "replication/status_board.h"

namespace kvs::cluster {

// Node address -> revision of its store seen.
using CausalContext = std::map<std::string, uint64_t>;

// Every entry of both, at the larger revision.
void MergeInto(const CausalContext& from, CausalContext* into);

// The prefix of the keys that hold each node's deps; reserved ('_'), so no
// client key can be one.
inline constexpr std::string_view kDepsPrefix = "_cluster/deps/";

class ClusterNode {
 public:
  // settings as the config's parser checked them (self in the map's view);
  // store outlives the node. secret_file: the shared secret the replicas
  // pull from each other with; merge_rules: the config's, which merge the
  // forks a pull makes (as the live pulls do).
  ClusterNode(const config::ClusterSettings& settings, Store& store, std::string branch,
              std::string secret_file, std::vector<merge::MergeRule> merge_rules);
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  const common::ClusterMap& map() const { return settings_.map; }
  const std::string& self() const { return settings_.self; }
  size_t shard() const { return shard_; }
  const config::ClusterSettings& settings() const { return settings_; }
  const std::string& branch() const { return branch_; }

  // Waits until this node holds everything context says was seen of its
  // shard, pulling what it lacks, until deadline_ns (steady clock): true
  // once it does; false when the deadline passed first, and at once when
  // the context names a revision of this node's own store that it never
  // had (the store was replaced). board: the live pulls' progress (may be
  // nullptr).
  Result<bool> Reach(const CausalContext& context, const replication::StatusBoard* board,
                     int64_t deadline_ns);
  // Whether this node holds it all now.
  Result<bool> Reached(const CausalContext& context, const replication::StatusBoard* board);

  // The context an answer carries: context, this node's revision (at least
  // revision), and the deps of every write this node holds.
  Result<CausalContext> Answer(const CausalContext& context, uint64_t revision = 0);

  // The write of this node's deps key to make along with a write made in
  // context: its entries of other shards, added to what the key holds, as a
  // compare-and-set on the heads it read (a concurrent write of the key is
  // a Conflict, to plan again, never a lost entry); nullopt when the key
  // holds them already.
  Result<std::optional<KeyWrite>> DepsWrite(const CausalContext& context);
  std::string DepsKey() const { return std::string(kDepsPrefix) + settings_.self; }

 private:
  // How far this node has pulled from replica (its store's revision when
  // the last successful pull began).
  uint64_t PulledFrom(const std::string& replica, const replication::StatusBoard* board);
  // The entries of context this node lacks: replica -> revision (self
  // included when this node's own revision is behind).
  Result<CausalContext> Missing(const CausalContext& context,
                                const replication::StatusBoard* board);
  // Pulls from replica whenever asked (Reach), until stopping_.
  void Puller(std::string replica);
  // One pull from replica: its revision when the pull began.
  Result<uint64_t> PullOnce(const std::string& replica);

  const config::ClusterSettings settings_;
  const size_t shard_;
  Store& store_;
  const std::string branch_;
  const std::string secret_file_;
  const std::vector<merge::MergeRule> merge_rules_;

  std::mutex mu_;
  std::condition_variable changed_;  // a pull ended, or a pull is wanted
  // Guarded by mu_: per replica of this shard, how far on-demand pulls got,
  // and the revision requests wait for (a pull runs while it is above).
  std::map<std::string, uint64_t> pulled_;
  std::map<std::string, uint64_t> wanted_;
  bool stopping_ = false;  // Guarded by mu_
  // Guarded by mu_: the remote sides of the pulls in flight, interrupted on
  // destruction.
  std::set<replication::Peer*> pulling_;
  std::vector<std::thread> pullers_;

  std::mutex deps_mu_;
  // Guarded by deps_mu_: the union of the deps keys as of deps_revision_.
  CausalContext deps_;
  uint64_t deps_revision_ = 0;
  bool deps_read_ = false;
};

// The context a JSON value holds (an object of address: revision); nullopt
// when it is not one. Null is the empty context.
std::optional<CausalContext> ContextFromJson(const nlohmann::ordered_json& json);
// The same from text (nullopt also when it is not JSON), as the deps keys
// hold it.
std::optional<CausalContext> ContextFromJsonText(std::string_view text);
nlohmann::ordered_json ContextToJson(const CausalContext& context);
std::string ContextToJsonText(const CausalContext& context);

}  // namespace kvs::cluster

#endif  // KVS_CLUSTER_CLUSTER_NODE_H_
