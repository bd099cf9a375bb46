// One side of a replication, as the replicator (replication/replicator.h)
// talks to it: the store in this process (LocalPeer), a kvs server over HTTP
// (HttpPeer) or a kvs at the other end of a stream (StreamPeer). Each call
// is one message of the protocol (replication/protocol.h); a remote peer's
// refusals come back as errors with its message.
#ifndef KVS_REPLICATION_PEER_H_
#define KVS_REPLICATION_PEER_H_

#include <string>
#include <vector>

#include "replication/protocol.h"

namespace kvs::replication {

class Peer {
 public:
  virtual ~Peer() = default;

  // Who the peer is, its branches, and the checkpoints it stores whose
  // names start with checkpoint_prefix (none when it is empty).
  virtual Result<PeerInfo> Hello(const std::string& checkpoint_prefix) = 0;

  // ---- As the source ----------------------------------------------------
  virtual Result<FeedPage> Changes(const FeedRequest& request) = 0;
  // The versions from `from` down (ids and parents), newest first, not
  // below any of `stop`, at most limit of them.
  virtual Result<std::vector<WalkEntry>> Walk(const std::vector<VersionId>& from,
                                              const std::vector<VersionId>& stop, size_t limit) = 0;
  // The versions with these ids, values included, in that order; it may
  // stop early once the answer holds about max_bytes of values (the caller
  // asks again for the rest), but answers at least one.
  virtual Result<std::vector<ReplicatedVersion>> Fetch(const std::vector<VersionId>& ids,
                                                       size_t max_bytes) = 0;

  // Waits until the peer changed what a replication would copy after
  // request.revision, or request.timeout_ms passed (a long poll).
  virtual Result<WaitOutcome> Wait(const WaitRequest& request) = 0;
  // Ends a Wait (or another call) in flight from another thread, as soon as
  // it can: the call fails. For peers that cannot be interrupted, nothing.
  virtual void Interrupt() {}
  // Whether an Apply, and a Changes, may each run on a thread of their own
  // while this one makes the other calls (never two Applies, or two
  // Changes, at once): the replicator then reads the next page of changes
  // and applies one batch while it prepares another. A peer over one
  // connection, which carries one call at a time, says no.
  virtual bool ConcurrentCalls() const { return false; }

  // ---- As the target ----------------------------------------------------
  // What it needs of each key of a page of the source's branch.
  virtual Result<std::vector<KeyNeed>> Diff(const std::string& branch,
                                            const std::vector<KeyHeads>& keys) = 0;
  // Which of ids it does not store.
  virtual Result<std::vector<VersionId>> Lacking(const std::vector<VersionId>& ids) = 0;
  // Writes the batch as one transaction (Store::ApplyReplicated), and
  // reports which of may_fork (keys it had heads of before) now have more
  // than one head.
  virtual Result<ApplyOutcome> Apply(const ReplicationBatch& batch,
                                     const std::vector<std::string>& may_fork) = 0;
};

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_PEER_H_
