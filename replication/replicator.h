// The replicator: copies what a source replica has and a target lacks, one
// branch at a time, so that afterwards the target holds every version the
// source's branch reaches and each key's heads are the newest of the union
// of both sides' heads (Store::ApplyReplicated). Run both ways (sync), two
// replicas end with the same versions, heads and winners.
//
// Per branch, a page at a time:
//   1. changes: the keys the source changed since the target's checkpoint for
//      it (or, without a checkpoint it can trust, every key: a full listing,
//      itself checkpointed page by page);
//   2. diff: which of their heads the target lacks, and its own heads;
//   3. walk + lacking: the source's history below each lacking head, down to
//      what the target stores (its heads stop the walk early in the usual
//      case of a target that is only behind);
//   4. fetch + apply: those versions, parents first, in batches; the last
//      batch of a page carries the heads the target already stores but does
//      not have as heads, and the checkpoint. A checkpoint is thus written in
//      the same transaction as the last data it covers, never before it: a
//      replicator killed at any point resumes from the last page the target
//      completed, re-sending at most that page, and never skips one.
// A page with nothing to apply writes its checkpoint only when it listed
// keys (so that the next run does not list them again) or the source moved
// far: replicas that echo each other's checkpoints would otherwise write
// forever.
#ifndef KVS_REPLICATION_REPLICATOR_H_
#define KVS_REPLICATION_REPLICATOR_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "replication/direction.h"
#include "replication/peer.h"

namespace kvs::replication {

struct Progress {
  std::string_view direction;  // "pull" or "push" (Exchange); "" from Replicate
  std::string branch;
  uint64_t keys = 0;      // keys looked at so far on this branch
  uint64_t versions = 0;  // versions the target stored so far, all branches
};

struct ReplicateOptions {
  std::vector<std::string> branches;  // empty: every branch the source has
  std::string prefix;                 // only keys starting with it
  common::HashRanges hash_ranges;     // and whose hash is in them (none: all;
                                      // '_' keys always)
  size_t page_keys = 5000;
  // Of values per apply: a server's request body limit (8 MiB by default)
  // must hold them as JSON, escaped or in base64.
  size_t batch_bytes = 1 << 20;
  // Ids one fetch asks for at most, whatever their values: a fetch is a
  // request too, 67 bytes an id, and the body limit of the server's web
  // server (nginx's default: 1 MB) must hold it.
  size_t fetch_ids = 4096;
  std::function<void(const Progress&)> progress;  // after each page; may be empty
};

struct ReplicateStats {
  uint64_t versions = 0;         // stored by the target (new to it)
  uint64_t keys = 0;             // keys the source listed
  uint64_t heads = 0;            // heads the target moved to without new versions
  std::set<std::string> forked;  // keys with more than one head after an apply
  std::set<std::string> merged;  // keys an apply forked and the target merged
  bool full_listing = false;     // some branch had no usable checkpoint
  uint64_t source_revision = 0;  // the source's newest revision as the run began
};

// The checkpoint a target keeps for a source's branch and filter (prefix
// and hash ranges).
std::string CheckpointName(const ReplicaId& source, const std::string& branch,
                           const std::string& prefix, const common::HashRanges& hash_ranges);

Result<ReplicateStats> Replicate(Peer& source, Peer& target, const ReplicateOptions& options);

// One exchange of this replica (local) with another (remote), as `kvs sync`,
// `push` and `pull` and the server's configured peers run it: the pull
// first, unless direction only pushes, then the push, unless it only pulls.
// done is called after each direction that succeeded, with its figures;
// progress (of options) is told which direction it counts.
Status Exchange(Peer& local, Peer& remote, Direction direction, const ReplicateOptions& options,
                const std::function<void(Direction, const ReplicateStats&)>& done);

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_REPLICATOR_H_
