// The answering side of the protocol: one message in, one answer out, for
// every transport (the server's /_sync/OP routes, `kvs sync --stdio`).
#ifndef KVS_REPLICATION_SERVE_H_
#define KVS_REPLICATION_SERVE_H_

#include <string_view>

#include "replication/peer.h"

namespace kvs::replication {

// The message names, as they appear in /_sync/OP and in stream messages.
enum class Op { kHello, kChanges, kWalk, kFetch, kDiff, kLacking, kApply, kWait };
std::optional<Op> OpNamed(std::string_view name);
std::string_view OpName(Op op);
// Whether the message writes (apply): it needs the secret.
inline bool Writes(Op op) { return op == Op::kApply; }

// Answers message op with body from peer. InvalidArgument for a malformed
// body; otherwise what the peer's call returned.
Result<Json> Answer(Peer& peer, Op op, const Json& body);
// The two large messages as Answer answers them, between their text and
// their structures (protocol.h), for a transport that has the text: a fetch
// answered as text, and an apply request read from its text.
Result<std::string> AnswerFetch(Peer& peer, const Json& body);
Result<Json> AnswerApply(Peer& peer, std::string_view request);

// The client side of the same mapping: each Peer call as one message,
// sent by Call. HttpPeer and StreamPeer derive from it.
class RemotePeer : public Peer {
 public:
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
  Result<WaitOutcome> Wait(const WaitRequest& request) override;

 protected:
  // Sends one message and returns the answer's body, or the error the
  // other side answered with.
  virtual Result<Json> Call(Op op, const Json& body) = 0;
  // A fetch message, as Call, decoded into its versions. A transport that
  // has the answer's text decodes it without the document in between.
  virtual Result<std::vector<ReplicatedVersion>> CallFetch(const Json& body);
  // An apply message, as Call; a transport that sends text writes it
  // without the document in between.
  virtual Result<ApplyOutcome> CallApply(const ReplicationBatch& batch,
                                         const std::vector<std::string>& may_fork);
};

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_SERVE_H_
