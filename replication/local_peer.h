// The peer that is a store in this process: what `kvs sync` replicates on
// its side, and what the server and `kvs sync --stdio` answer remote
// replicators with (replication/serve.h).
#ifndef KVS_REPLICATION_LOCAL_PEER_H_
#define KVS_REPLICATION_LOCAL_PEER_H_

#include <atomic>
#include <vector>

#include "kvs/store.h"
#include "merge/branch_merge.h"
#include "replication/peer.h"

namespace kvs::replication {

// key's heads on branch now, winner first; none when the branch or the key
// has none. Unlike Store::Get, it does not count as reading the key (the
// size bound's least recently read order): replication is not a reader.
Result<std::vector<Version>> BranchHeads(Store& store, const std::string& branch,
                                         const std::string& key);

struct LocalPeerOptions {
  // A fork an apply creates is merged at once, alike on every replica, when
  // these rules (the config's merge: section) give its key a function that
  // makes a value (replication/fork_merge.h); else it stays a fork.
  std::vector<merge::MergeRule> merge_rules;
  // A Wait ends early once *stop is true; nullptr: never.
  const std::atomic<bool>* stop = nullptr;
};

class LocalPeer : public Peer {
 public:
  // store (and options.stop) outlive it.
  explicit LocalPeer(Store& store, LocalPeerOptions options = {})
      : store_(store), options_(std::move(options)) {}

  Result<PeerInfo> Hello(const std::string& checkpoint_prefix) override;
  Result<FeedPage> Changes(const FeedRequest& request) override;
  Result<std::vector<WalkEntry>> Walk(const std::vector<VersionId>& from,
                                      const std::vector<VersionId>& stop, size_t limit) override;
  Result<std::vector<ReplicatedVersion>> Fetch(const std::vector<VersionId>& ids,
                                               size_t max_bytes) override;
  Result<std::vector<KeyNeed>> Diff(const std::string& branch,
                                    const std::vector<KeyHeads>& keys) override;
  Result<std::vector<VersionId>> Lacking(const std::vector<VersionId>& ids) override;
  Result<ApplyOutcome> Apply(const ReplicationBatch& batch,
                             const std::vector<std::string>& may_fork) override;
  // Other processes write the store too, so it looks at the store's
  // revision every kWaitPoll; it waits at most kMaxWait, whatever it is
  // asked: below nginx's FastCGI read timeout (60 s by default).
  Result<WaitOutcome> Wait(const WaitRequest& request) override;
  // Ends a Wait in flight, which fails, and fails every one after it.
  void Interrupt() override { interrupted_ = true; }
  bool ConcurrentCalls() const override { return true; }  // a Store is thread-safe

 private:
  // Whether a key of request's branches and filter changed after since.
  Result<bool> ChangedAfter(const WaitRequest& request, uint64_t since);

  Store& store_;
  LocalPeerOptions options_;
  std::atomic<bool> interrupted_{false};
};

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_LOCAL_PEER_H_
