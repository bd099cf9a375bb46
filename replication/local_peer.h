// The peer that is a store in this process: what `kvs sync` replicates on
// its side, and what the server and `kvs sync --stdio` answer remote
// replicators with (replication/serve.h).
#ifndef KVS_REPLICATION_LOCAL_PEER_H_
#define KVS_REPLICATION_LOCAL_PEER_H_

#include <atomic>

#include "kvs/store.h"
#include "replication/peer.h"

namespace kvs::replication {

class LocalPeer : public Peer {
 public:
  // store (and stop) outlive it. A Wait ends early once *stop is true.
  explicit LocalPeer(Store& store, const std::atomic<bool>* stop = nullptr)
      : store_(store), stop_(stop) {}

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

 private:
  // Whether a key of request's branches and prefix changed after since.
  Result<bool> ChangedAfter(const WaitRequest& request, uint64_t since);

  Store& store_;
  const std::atomic<bool>* stop_;
};

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_LOCAL_PEER_H_
