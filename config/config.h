// The server's configuration file (YAML), parsed once at start.
//
//   data_dir: kvs-data          # required; the store's directory
//   auth_file: auth.txt         # the shared secret (first line); none: writes refused
//   default_branch: main        # the branch the classic face reads and writes
//   sync: sync                  # sync | none (see kvs::SyncMode)
//   read_access: public         # public | secret (reads need the secret too)
//   limits:
//     max_key_bytes: 1024
//     max_value_bytes: 1048576
//     max_body_bytes: 8388608
//     max_keys_per_transaction: 1000
//   merge:                      # key pattern -> merge function, first match wins
//     counters/*: counter       # (fnmatch globs: * and ? match any character)
//   retention:                  # what compaction keeps; none: all history
//     max_bytes: 512MiB         # optional size bound of the data file, and
//     low_water_bytes: 384MiB   # what a bounded compaction frees down to
//     check_interval: 60s       # how often kvs-fcgi checks the file's size and garbage,
//                               # and checkpoints the store when no write came since
//     garbage_ratio: 0.5        # the store compacts by itself once this share of the
//     min_garbage_bytes: 16MiB  # file is garbage, and at least this much (off: never)
//     prefixes:                 # key prefix -> rule; the longest match applies
//       logs/: {keep_last: 100, keep_younger: 30d}
//       cache/: {keep_last: 1, evictable: true}
//       accounts/: {protected: true}
//   replication:                # peers kvs-fcgi replicates with in the background
//     - url: http://10.0.0.2:8080   # another kvs server's mount root
//       mode: sync                  # push | pull | sync (default sync)
//       secret_file: peer-secret.txt  # its secret (needed to push)
//       branches: [main]            # default: every branch
//       prefix: ""                  # default: every key
//       interval: 10s               # between runs (default 10s); failures back off
//       live: false                 # true: run again as soon as either side changes
//   cluster:                    # this node's place in a cluster (faces/cluster/)
//     self: 10.0.0.1:8080       # its address as the view names it
//     view: [10.0.0.1:8080, 10.0.0.2:8080, 10.0.0.3:8080, 10.0.0.4:8080]
//     repl_factor: 2            # replicas per shard
//     causal_wait: 2s           # how long a request waits to reach its context
//     grace: 5m                 # after a view change, how long the old owners
//                               #   of moved keys are still pulled from
//     join: false               # true: self is not in the view yet; a view
//                               #   change adds it
//     links:                    # optional: how this node reaches another, when
//       10.0.0.2:8080: http://10.0.0.2:8080   # not at http://ADDRESS
//
// Sizes are bytes, or a number with kB, MB, GB (powers of 1000) or KiB,
// MiB, GiB (powers of 1024); durations a number with s, m, h, d or w.
//
// Relative paths are relative to the directory of the config file, so a
// config works wherever the server's working directory is. Unknown or
// repeated keys, wrong types and bad values are errors: a typo never silently
// falls back to a default. Every error message starts with "FILE:LINE:COLUMN:"
// (or "FILE:" when no line applies), because yaml-cpp's exceptions are caught
// here and turned into Status values.
#ifndef KVS_CONFIG_CONFIG_H_
#define KVS_CONFIG_CONFIG_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cluster_map.h"
#include "kvs/status.h"
#include "kvs/store.h"
#include "merge/branch_merge.h"
#include "replication/direction.h"

namespace kvs::config {

// Bounds on what one request may carry. Exceeding a size is 413, the others
// 400; nothing is written either way.
struct Limits {
  size_t max_key_bytes = 1024;
  size_t max_value_bytes = 1 << 20;
  size_t max_body_bytes = 8 << 20;  // the whole request body as sent
  size_t max_keys_per_transaction = 1000;
};

using merge::MergeRule;

// What compaction keeps, from the config's retention: section (see
// kvs::RetentionRule and kvs::SizeBound for what each setting means).
struct Retention {
  std::vector<RetentionRule> rules;  // in file order
  std::optional<SizeBound> size_bound;
  int64_t check_interval_ns = int64_t{60} * 1000000000;
  // Automatic compaction: once SpaceInfo's garbage is at least this share
  // of the data file and at least min_garbage_bytes (nullopt: never). A
  // share of 0.5 keeps the file within about twice its compacted size.
  std::optional<double> garbage_ratio = 0.5;
  uint64_t min_garbage_bytes = uint64_t{16} << 20;

  // Whether space's garbage calls for an automatic compaction.
  bool GarbageDue(const SpaceInfo& space) const;
  // Why the store should compact by itself now, for a log line: its data
  // file is past the size bound's max_bytes and has grown by max_bytes -
  // low_water_bytes since the last compaction (which, when the history
  // nothing may drop is above the bound, left it there: compacting again
  // at once would free nothing), or GarbageDue. nullopt when neither.
  // Reads only space, so any process that wrote can ask: kvs-fcgi's watch,
  // a plain CGI request, the command line.
  std::optional<std::string> CompactionDue(const SpaceInfo& space) const;

  // Options for Store::Compact applying these rules and the bound.
  CompactOptions ToCompactOptions() const;
};

// One entry of the replication: section.
struct ReplicationPeer {
  std::string url;
  replication::Direction mode = replication::Direction::kSync;
  std::optional<std::string> secret_file;  // absolute
  std::vector<std::string> branches;       // empty: every branch
  std::string prefix;
  int64_t interval_ns = int64_t{10} * 1000000000;
  bool live = false;  // interval_ns is then unused
};

// The cluster: section. The node (cluster/cluster_node.h) pulls from the
// other nodes with the config's auth_file as their secret, on the default
// branch.
struct ClusterSettings {
  std::string self;  // in the map's view, unless join
  // Made from the section's view and repl_factor: the first map, which the
  // node follows until a view change (kept in its store) replaces it.
  common::ClusterMap map;
  int64_t causal_wait_ns = int64_t{2} * 1000000000;
  int64_t grace_ns = int64_t{300} * 1000000000;
  bool join = false;
  // Node address -> the URL this node reaches it at (its kvs mount root);
  // a node not named here is at http://ADDRESS.
  std::map<std::string, std::string> links;

  std::string UrlOf(const std::string& address) const;
};

// How long a process that opens the store keeps it open.
enum class Lifetime {
  kServer,   // for many requests: kvs-fcgi serving FastCGI
  kOneShot,  // for one request or command: plain CGI, the command line
};

// Options::checkpoint_blocks of a one-shot process. Every process that
// opens the store replays the transactions logged since the last
// checkpoint, and no one-shot process stays to checkpoint an idle store
// (kvs-fcgi's watch does): the next CGI request pays for that replay. 256
// transactions replay in 1.5 to 2.6 ms at 10k to 100k keys, a full window
// of 1,024 in 6 to 13 ms, as long as the rest of a CGI request; writes then
// cost a fifth to a quarter more bytes (docs/benchmarks.md, "One-shot
// processes").
inline constexpr size_t kOneShotCheckpointBlocks = 256;

enum class ReadAccess {
  kPublic,  // anyone may read
  kSecret,  // reads need the shared secret, like writes
};

struct Config {
  std::string path;                      // the file it was read from
  std::string data_dir;                  // absolute
  std::optional<std::string> auth_file;  // absolute; nullopt when not configured
  std::string default_branch = "main";
  SyncMode sync = SyncMode::kSync;
  ReadAccess read_access = ReadAccess::kPublic;
  Limits limits;
  std::vector<MergeRule> merge_rules;  // in file order
  Retention retention;
  std::vector<ReplicationPeer> replication;  // in file order
  std::optional<ClusterSettings> cluster;

  // What the store is opened with: the sync mode, the limits the store
  // enforces itself as a second line of defence, and for a process that
  // serves one request its log window (kOneShotCheckpointBlocks).
  Options StoreOptions(Lifetime lifetime = Lifetime::kServer) const;
};

// Reads and parses the file at path. InvalidArgument (or IOError when the
// file cannot be read) with a message naming the file and, where known, the
// line and column.
Result<Config> LoadConfig(const std::string& path);

// Parses yaml as if read from the file at path (which names the file in
// messages and anchors relative paths).
Result<Config> ParseConfig(std::string_view yaml, const std::string& path);

}  // namespace kvs::config

#endif  // KVS_CONFIG_CONFIG_H_
