// The replication protocol: the messages one replica exchanges with another,
// and their JSON form. The same messages travel over HTTP (one POST per
// message to /_sync/OP, replication/http_peer.h) and over any duplex stream
// (one line each way, replication/stream_peer.h).
//
// A replicator (replication/replicator.h) copies one branch from a source
// to a target, learning from CouchDB's protocol and fixing what forkdb's
// gets wrong:
//   hello    who the peer is, its branches, and the checkpoints it keeps for
//            a source (the target's side: where to resume)
//   changes  the source's keys changed after a revision, with their heads; or
//            a page of all its keys, when no checkpoint can be trusted
//   diff     the target's answer to a page: per key, the heads it lacks
//   walk     the source's version graph below some versions (ids and
//            parents only), to find how much of a history the target lacks
//   lacking  which of some version ids the target does not store
//   fetch    whole versions from the source, values included
//   apply    versions (parents first), heads and a checkpoint, written by
//            the target as one transaction
//   wait     a long poll: answers once the source changed after a revision
//            (what live replication waits with between runs)
// Ids are 64 hex digits; keys and values that are not UTF-8 travel as
// base64 ("key64", "value64"); times are nanoseconds since 1970.
#ifndef KVS_REPLICATION_PROTOCOL_H_
#define KVS_REPLICATION_PROTOCOL_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/key_hash.h"
#include "kvs/store.h"

namespace kvs::replication {

using Json = nlohmann::ordered_json;

struct PeerInfo {
  ReplicaId replica;
  uint64_t revision = 0;
  std::vector<std::string> branches;
  // The checkpoints asked for (hello's prefix), by name.
  std::vector<std::pair<std::string, std::string>> checkpoints;
};

struct FeedRequest {
  std::string branch = "main";
  std::string prefix;
  // And only keys whose hash is in these (none: every key), and kvs's own
  // ('_'), which always travel. A cluster's node pulls its shard's keys so.
  common::HashRanges hash_ranges;
  // Incremental: keys changed after revision since, whose commit time was
  // since_time_ns there (so a store replaced since is noticed).
  uint64_t since = 0;
  int64_t since_time_ns = 0;
  // Full: a page of every key of the branch after `after`, in key order.
  bool full = false;
  std::string after;
  size_t limit = 1000;
};

struct FeedPage {
  std::vector<KeyHeads> keys;
  // The source cannot answer incrementally (since is past its newest
  // revision, names another state than it had, or the branch was created
  // since): start again with a full listing.
  bool reset = false;
  // Incremental: every change through this revision is in this page or an
  // earlier one.
  uint64_t through = 0;
  int64_t through_time_ns = 0;
  // The source's newest revision, and its time, as the page was read.
  uint64_t revision = 0;
  int64_t revision_time_ns = 0;
  // More pages follow (full: after the last key listed).
  bool more = false;
};

// What the target needs for one key of a page (keys needing nothing are
// left out of the answer).
struct KeyNeed {
  std::string key;
  std::vector<VersionId> lacking;  // the source's heads it does not store
  std::vector<VersionId> heads;    // its heads on the branch now
  bool has_key = false;            // it stores some version of the key
};

struct WalkEntry {
  VersionId id;
  std::vector<VersionId> parents;
  // The source does not store it (its retention dropped it): it cannot be
  // sent, and the versions naming it arrive as tails.
  bool dropped = false;
};

// Wait until the peer changed what a replication would copy (a key of one
// of branches, all when empty, starting with prefix, whose hash is in
// hash_ranges when there are any) after revision, or timeout_ms passed.
struct WaitRequest {
  uint64_t revision = 0;
  std::vector<std::string> branches;
  std::string prefix;
  uint64_t timeout_ms = 0;
  common::HashRanges hash_ranges;
  // Also answer, unchanged, as soon as the peer's revision moves past
  // revision for anything else (another key, another branch, a
  // checkpoint): for a waiter that must know how far it has seen, as a
  // cluster node does, whose causal contexts name any revision.
  bool each_revision = false;
};

struct WaitOutcome {
  // Something to copy changed after the revision asked about (or that
  // revision is not one the peer can compare with: replicate to find out).
  bool changed = false;
  // The peer's newest revision when it answered: the next wait starts there
  // when nothing changed.
  uint64_t revision = 0;
  // It did not wait: too many requests wait already. Ask again later.
  bool busy = false;
};

struct ApplyOutcome {
  uint64_t stored = 0;              // versions new to the target
  std::vector<std::string> forked;  // keys with more than one head afterwards
  // Keys the apply forked and the target's merge rules merged at once
  // (replication/fork_merge.h).
  std::vector<std::string> merged;
};

// ---- JSON form ---------------------------------------------------------------
// Decoders return InvalidArgument naming what is malformed.
Json ToJson(const PeerInfo& info);
Result<PeerInfo> PeerInfoFromJson(const Json& j);
Json ToJson(const FeedRequest& request);
Result<FeedRequest> FeedRequestFromJson(const Json& j);
Json ToJson(const FeedPage& page);
Result<FeedPage> FeedPageFromJson(const Json& j);
Json ToJson(const std::vector<KeyHeads>& keys);
Result<std::vector<KeyHeads>> KeyHeadsFromJson(const Json& j);
Json ToJson(const std::vector<KeyNeed>& needs);
Result<std::vector<KeyNeed>> KeyNeedsFromJson(const Json& j);
Json ToJson(const std::vector<WalkEntry>& entries);
Result<std::vector<WalkEntry>> WalkEntriesFromJson(const Json& j);
Json IdsJson(const std::vector<VersionId>& ids);
Result<std::vector<VersionId>> IdsFromJson(const Json& j);
Json ToJson(const std::vector<ReplicatedVersion>& versions);
Result<std::vector<ReplicatedVersion>> VersionsFromJson(const Json& j);
// The two large messages from their text, as the decoders above read
// their documents, without the document in between: a fetch answer,
// {"versions": [...]}, and an apply request (ToJson(batch) with "may_fork",
// the keys the sender asks about).
Result<std::vector<ReplicatedVersion>> FetchAnswerFromText(std::string_view text);
// The fetch answer's text, as common::DumpJson writes {"versions":
// ToJson(versions)}, without the document in between.
std::string FetchAnswerText(const std::vector<ReplicatedVersion>& versions);
struct ApplyRequest {
  ReplicationBatch batch;
  std::vector<std::string> may_fork;
};
Result<ApplyRequest> ApplyRequestFromText(std::string_view text);
// The apply request's text, as common::DumpJson writes ToJson(batch) with
// "may_fork" (ToJson of the keys, with no heads) after it.
std::string ApplyRequestText(const ReplicationBatch& batch,
                             const std::vector<std::string>& may_fork);
Json ToJson(const ReplicationBatch& batch);
Result<ReplicationBatch> BatchFromJson(const Json& j);
Json ToJson(const WaitRequest& request);
Result<WaitRequest> WaitRequestFromJson(const Json& j);
Json ToJson(const WaitOutcome& outcome);
Result<WaitOutcome> WaitOutcomeFromJson(const Json& j);
Json ToJson(const ApplyOutcome& outcome);
Result<ApplyOutcome> ApplyOutcomeFromJson(const Json& j);

// A message's text as JSON (InvalidArgument for text that is not JSON). The
// other way is common::DumpJson: one line, and a newline.
Result<Json> Parse(std::string_view text);

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_PROTOCOL_H_
