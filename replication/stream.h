// Replication over any duplex byte stream, as forkdb's does: two kvs
// processes joined by pipes (`ssh host kvs -d DIR sync --stdio`), each on
// its own store. Messages are lines of JSON:
//   {"hello":{"mode":"sync","live":false}}   each side first says what it wants
//   {"id":N,"op":"changes","body":{...}}     a request (replication/serve.h)
//   {"re":N,"body":{...}}                    its answer, or
//   {"re":N,"error":"not_found","message":"..."}
//   {"done":true}                            this side pulls nothing more
// A side pulls when it asked for pull or sync and the other side for push or
// sync; each side drives its own pull and answers the other's. Both pushing,
// or both pulling, moves nothing, and the outcome says so. Live (both sides
// must say so), a side that pulls does so again each time a wait on the
// other side answers that something changed, until the stream ends.
#ifndef KVS_REPLICATION_STREAM_H_
#define KVS_REPLICATION_STREAM_H_

#include <functional>
#include <string>

#include "kvs/store.h"
#include "replication/direction.h"
#include "replication/local_peer.h"
#include "replication/replicator.h"

namespace kvs::replication {

struct StreamOutcome {
  bool pulled = false;      // this side pulled (stats are what it received)
  bool was_pulled = false;  // the other side pulled from this one
  ReplicateStats received;
  // Why nothing moved: "both sides push", "both sides pull"; else empty.
  std::string nothing_because;
  bool ended = false;  // live: the other side ended the stream
};

struct StreamLive {
  bool live = false;
  // Live: called after each pull, from the caller's thread.
  std::function<void(const ReplicateStats&)> each_run;
  uint64_t wait_ms = 20000;
};

// Runs this side until both are done (live: until the other side ends the
// stream); what it pulls is applied as a LocalPeer with local_options would.
// IOError when the stream breaks (not live) or the other side sends what is
// not the protocol; InvalidArgument when only one side is live.
Result<StreamOutcome> ReplicateOverStream(Store& store, const LocalPeerOptions& local_options,
                                          int in_fd, int out_fd, Direction direction,
                                          const ReplicateOptions& options,
                                          const StreamLive& live = {});

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_STREAM_H_
