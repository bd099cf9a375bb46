// The cluster map: which nodes form a cluster, how they are grouped into
// shards, and which shard owns each key.
//
// Ownership is defined so that nginx computes it too, by construction: a
// key's owner is what nginx's split_clients gives for the key with the
// parts of Parts(). split_clients hashes the string with MurmurHash2 (as
// ngx_murmur_hash2 does) and walks its parts, each a percentage with two
// decimals: part i covers the hashes below the sum, part by part, of
// percent * 0xffffffff / 10000 (integer division, as nginx accumulates
// it), and the last part ("*") the rest. The 10,000 slots of 0.01% are
// the unit of ownership; a shard owns runs of them, and the parts are those
// runs in order. ShardOfKey walks the same parts with the same arithmetic,
// and NginxConf writes them, so the front nginx and every node agree.
//
// A map is made from a view (the node addresses, as the seed's VIEW lists
// them) and a replication factor: the view's nodes make
// size / repl_factor shards, node i a replica of shard i % shards. The
// first map (version 1) gives each shard an equal run of slots. A view
// change makes the next map from the one before (Next): each slot stays
// with its shard unless the shard is gone or holds more than its share, so
// only the slots whose owner must change move (about 1/(n+1) of them when
// an n-th shard joins n). Maps travel between nodes as JSON (ToJson).
#ifndef KVS_COMMON_CLUSTER_MAP_H_
#define KVS_COMMON_CLUSTER_MAP_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/key_hash.h"
#include "kvs/status.h"

namespace kvs::common {

// The addresses of a view written as the seed's VIEW: "a:1,b:2" (an empty
// item stays, for FromView to refuse).
std::vector<std::string> SplitView(std::string_view list);

// split_clients's resolution: 0.01%.
inline constexpr uint32_t kClusterSlots = 10000;

struct ClusterShard {
  std::string id;                     // "1", "2", ...: as the API names it
  std::vector<std::string> replicas;  // node addresses, in view order
};

// A run of slots one shard owns, as one split_clients part.
struct ClusterPart {
  uint32_t slots = 0;  // hundredths of a percent
  size_t shard = 0;    // index into shards()
  bool operator==(const ClusterPart&) const = default;
};

class ClusterMap {
 public:
  // InvalidArgument when the view is empty, names a node twice or holds an
  // address that is not host:port, or when repl_factor is 0 or larger than
  // the view.
  static Result<ClusterMap> FromView(const std::vector<std::string>& view, size_t repl_factor);
  // The map after a view change to view and repl_factor (refused as
  // FromView refuses), one version later.
  Result<ClusterMap> Next(const std::vector<std::string>& view, size_t repl_factor) const;

  // {"version":N,"view":[...],"repl-factor":R,"parts":[[slots,"shard id"],...]}
  nlohmann::ordered_json ToJson() const;
  // InvalidArgument naming what is wrong: a view FromView refuses, or parts
  // that name a shard the view does not make or do not cover the slots.
  static Result<ClusterMap> FromJson(const nlohmann::ordered_json& json);

  uint64_t version() const { return version_; }
  // The same version, view, replication factor and parts.
  bool operator==(const ClusterMap& other) const {
    return version_ == other.version_ && view_ == other.view_ &&
           repl_factor_ == other.repl_factor_ && parts_ == other.parts_;
  }
  const std::vector<std::string>& view() const { return view_; }
  size_t repl_factor() const { return repl_factor_; }
  const std::vector<ClusterShard>& shards() const { return shards_; }
  const std::vector<ClusterPart>& parts() const { return parts_; }

  // The index of the shard that owns key.
  size_t ShardOfKey(std::string_view key) const;
  // The index of the shard address is a replica of; nullopt when the view
  // does not name it.
  std::optional<size_t> ShardOfNode(std::string_view address) const;
  // The hashes (common::MurmurHash2) of the keys shard owns.
  HashRanges RangesOfShard(size_t shard) const;

  // A whole nginx config for a front that routes each /kv-store/keys/KEY
  // request to a replica of KEY's shard and every other request to any
  // node. listen is nginx's listen argument ("127.0.0.1:8080"); dir
  // prefix-relative paths (logs, temp files) are left to nginx's -p.
  std::string NginxConf(const std::string& listen) const;

 private:
  // The view's shards, without parts yet.
  static Result<ClusterMap> Make(const std::vector<std::string>& view, size_t repl_factor,
                                 uint64_t version);
  // The parts and bounds from each slot's shard.
  void SetOwners(const std::vector<size_t>& owners);
  std::vector<size_t> Owners() const;

  uint64_t version_ = 1;
  std::vector<std::string> view_;
  size_t repl_factor_ = 1;
  std::vector<ClusterShard> shards_;
  std::vector<ClusterPart> parts_;
  // Per part, the hashes below this bound are its (0: the last part, all
  // the rest), computed as split_clients does.
  std::vector<uint32_t> bounds_;
};

}  // namespace kvs::common

#endif  // KVS_COMMON_CLUSTER_MAP_H_
