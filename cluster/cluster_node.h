// A kvs server as one node of a cluster (the config's cluster: section): its
// place in the cluster map, the pulls that keep its shard's keys, view
// changes, and causal consistency for the /kv-store/... API
// (faces/cluster/).
//
// The maps a node follows (Layout) are kept in its store, in the key
// "_cluster/node/ADDRESS", so that a restarted node resumes where it was:
// the active map, which routes requests; during a view change, the next
// map, which keys are moving to; after one, for a grace period, the
// previous map. The config's view is only the first map.
//
// The node pulls, live (replication/live.h), only the keys its shard owns
// (a hash-range filter; the cluster's own '_' keys always travel): from
// every other replica of its shard; while a view change is under way, also
// from every replica of each shard that owns keys its shard will own, those
// keys; and after the switch, the same from the previous map's owners
// until the grace period ends, so that a write they took just before the
// switch still arrives. Then it drops the keys it no longer owns. A view
// change (faces/cluster/view_change.h) prepares every node (Prepare), waits
// until each has pulled from each source once (CaughtUp), then switches
// them (Switch).
//
// A causal context is what a client has seen: per node address, a revision
// of that node's store. A node serving a request must hold everything the
// context says was seen of the nodes it pulls its keys from: its own store
// at that revision at least, and for each node it pulls from, a pull that
// began at that revision or later (a pull copies all the source held when
// it began, so revisions are transitive: what that node had received from
// a third one comes with it), or whose wait saw the source pass that
// revision with nothing to copy (its pulls' checkpoints take revisions of
// their own, which answers name too; the pulls' waits end at each one).
// Reach nudges the pulls it waits for, and waits a bounded time.
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
#include "replication/live.h"

namespace kvs::cluster {

// Node address -> revision of its store seen.
using CausalContext = std::map<std::string, uint64_t>;

// Every entry of both, at the larger revision.
void MergeInto(const CausalContext& from, CausalContext* into);

// The prefixes of the keys that hold each node's deps and layout; reserved
// ('_'), so no client key can be one.
inline constexpr std::string_view kDepsPrefix = "_cluster/deps/";
inline constexpr std::string_view kLayoutPrefix = "_cluster/node/";

// The maps a node follows.
struct Layout {
  common::ClusterMap active;                   // routes requests
  std::optional<common::ClusterMap> next;      // a view change under way
  std::optional<common::ClusterMap> previous;  // before the last switch
  int64_t grace_until_ns = 0;                  // system clock: previous is let go then
  // The version of the active map whose moved-away keys this node dropped
  // (after the grace period); below active's: a drop is due.
  uint64_t dropped_for = 1;

  // The map of version the node follows (active, next or previous);
  // nullptr when it follows none of that version.
  const common::ClusterMap* MapOfVersion(uint64_t version) const;
  // The map the node moves to: next during a view change, else active.
  const common::ClusterMap& Target() const { return next ? *next : active; }

  nlohmann::ordered_json ToJson() const;
  static Result<Layout> FromJson(const nlohmann::ordered_json& json);
};

// The layout node self keeps in store's branch; nullopt when it keeps none
// (it follows its config's map), or InvalidArgument when what it keeps is
// not one.
Result<std::optional<Layout>> StoredLayout(Store& store, const std::string& branch,
                                           const std::string& self);

// What a node pulls from another: the keys whose hash is in the ranges (and
// the cluster's own, '_', which always travel).
using PullFilters = std::map<std::string, common::HashRanges>;

// The pulls self keeps under layout, by source address.
PullFilters PullsOf(const Layout& layout, const std::string& self);

// The keys self's shard owns in `to`, by the shard of `from` that owned
// them: their hashes, and that shard's other replicas (self left out; none
// when self was its only one).
struct MoveSource {
  common::HashRanges ranges;
  std::vector<std::string> replicas;
};
std::vector<MoveSource> MoveSources(const common::ClusterMap& from, const common::ClusterMap& to,
                                    const std::string& self);

class ClusterNode {
 public:
  // settings as the config's parser checked them; the store's layout key,
  // when there is one, takes the place of the config's map. store outlives
  // the node. secret_file: the shared secret the nodes pull from each other
  // with; merge_rules: the config's, which merge the forks a pull makes;
  // compaction: the config's retention, which the compaction that drops
  // moved keys keeps to. Start starts its pulls.
  ClusterNode(const config::ClusterSettings& settings, Store& store, std::string branch,
              std::string secret_file, std::vector<merge::MergeRule> merge_rules,
              CompactOptions compaction = {});
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  // Starts the pulls the layout calls for and the thread that ends grace
  // periods: a FastCGI server's, once its stop signals are blocked (the
  // threads inherit that). A node never started (plain CGI, one request per
  // process) pulls nothing: a request whose context it has not reached gets
  // its 503 at once.
  void Start();

  // The layout now (a request keeps the one it started with).
  std::shared_ptr<const Layout> layout() const;
  // This node's shard in the active map; nullopt while it is in none (it
  // joins by a view change, or a view change removed it).
  std::optional<size_t> shard() const;
  const std::string& self() const { return settings_.self; }
  const config::ClusterSettings& settings() const { return settings_; }
  const std::string& branch() const { return branch_; }

  // A view change: next becomes the map keys move to, and the pulls that
  // bring them start. Conflict when another view change is under way or
  // next is not newer than the active map (unless next is that one
  // already: sent again, it changes nothing). Two maps of the same version
  // (view changes begun at once from the same map) are a fork: the one
  // whose JSON text sorts last replaces the other, on every node alike.
  Status Prepare(const common::ClusterMap& next);
  // Whether this node holds what map, the next one, gives it: from each
  // shard it takes keys from, a pull has run once (vacuously when it pulls
  // nothing new, or is in no shard of it); true too once map is active.
  bool CaughtUp(const common::ClusterMap& map);
  // map, the next one, becomes the active one; the one before is kept as
  // previous for grace_ns. Conflict when next is another map (unless map
  // is active already: sent again, it changes nothing).
  Status Switch(const common::ClusterMap& map, int64_t grace_ns);
  // The layout, the pulls and how far each got, as GET /_cluster/map shows
  // them.
  nlohmann::ordered_json Describe();

  // Waits until this node holds everything context says was seen of the
  // nodes it pulls from, nudging those pulls, until deadline_ns (steady
  // clock): true once it does; false when the deadline passed first, and at
  // once when the context names a revision of this node's own store that
  // it never had (the store was replaced).
  Result<bool> Reach(const CausalContext& context, int64_t deadline_ns);
  // Whether this node holds it all now.
  Result<bool> Reached(const CausalContext& context);

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
  std::string LayoutKey() const { return std::string(kLayoutPrefix) + settings_.self; }

  // The keys this node holds that shard of map owns, deleted ones and the
  // cluster's own ('_') not counted.
  Result<uint64_t> CountKeys(const common::ClusterMap& map, size_t shard);
  // The same for its shard in the active map; 0 in no shard.
  Result<uint64_t> CountOwnedKeys();

 private:
  // One live pull.
  struct Pull {
    common::HashRanges ranges;
    std::unique_ptr<replication::LiveReplication> live;
    uint64_t generation = 0;  // tells a stopped pull's late hooks from this one's
    // The source's revision up to which this node has what the pull copies:
    // where the last run began, or where a wait found nothing new.
    uint64_t pulled_through = 0;
    uint64_t runs = 0;  // successful runs
    std::string last_error;
  };

  // Writes layout to the store and makes it the node's; then the pulls
  // follow it. Under change_mu_.
  Status Adopt(Layout layout);
  // Starts and stops pulls to match the layout; let go of previous once its
  // grace has passed. Takes mu_.
  void FollowLayout();
  // The entries of context this node lacks (self included when its own
  // revision is behind). Under mu_.
  Result<CausalContext> Missing(const CausalContext& context);
  // Ends the grace period once it passed, then drops the keys the last view
  // change moved away, until stopping_.
  void Keeper();
  void EndGrace();
  // Compacts the store without the keys of other shards than this node's
  // (all keys but the cluster's own when it is in none).
  void DropMovedKeys();

  const config::ClusterSettings settings_;
  Store& store_;
  const std::string branch_;
  const std::string secret_file_;
  const std::vector<merge::MergeRule> merge_rules_;
  const CompactOptions compaction_;
  int64_t drop_retry_ns_ = 0;  // Keeper's own: no drop before it (steady clock)

  std::mutex change_mu_;  // one layout change at a time

  mutable std::mutex mu_;
  std::condition_variable changed_;       // a pull ran, or stopping
  std::shared_ptr<const Layout> layout_;  // Guarded by mu_
  std::map<std::string, Pull> pulls_;     // Guarded by mu_; by source address
  uint64_t generations_ = 0;              // Guarded by mu_
  bool started_ = false;                  // Guarded by mu_
  bool stopping_ = false;                 // Guarded by mu_
  std::thread keeper_;

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
