// LogWindow: the logged blocks since one checkpoint, as this process knows
// them: the global tree root after each (its nodes in the window's arena,
// store/node_arena.h). A logged block's trailer names only its base (the
// checkpoint block whose tree its edits apply to, store/format.h), so its
// root is what applying the edits of every logged block from the base up
// to it gives. The writer adds its own blocks as it builds them; blocks of
// other processes, and this process's after a restart, are replayed here
// on first read. A checkpoint every Options::checkpoint_blocks logged blocks
// (or kCheckpointEdits edits, or kCheckpointBytes of nodes in memory)
// bounds that replay, which is all an open after a crash has to redo.
#ifndef KVS_STORE_LOG_WINDOW_H_
#define KVS_STORE_LOG_WINDOW_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "store/btree.h"
#include "store/data_file.h"
#include "store/id_runs.h"
#include "store/node_arena.h"

namespace kvs {

// A window also ends (its next transaction is a checkpoint) once it holds
// this many edits or bytes of nodes in memory, and a transaction of more
// than kLoggedEditsMax edits is a checkpoint itself: large transactions
// change much of the tree, and deferring its nodes saves them little, while
// replaying their edits costs every reader that has to.
constexpr size_t kCheckpointEdits = 16384;
constexpr size_t kLoggedEditsMax = 1024;
constexpr uint64_t kCheckpointBytes = uint64_t{16} << 20;
// The most memory a kept global tree writer holds (LogWindow::KeepWriter).
constexpr size_t kKeptWriterBytes = size_t{8} << 20;

class LogWindow {
 public:
  // base: a checkpoint block (its root is in the file) of data file
  // generation.
  LogWindow(uint64_t generation, const CommitPoint& base)
      : generation_(generation), base_(base), arena_(NodeArena::Create()) {}

  uint64_t generation() const { return generation_; }
  const CommitPoint& base() const { return base_; }
  const std::shared_ptr<NodeArena>& arena() const { return arena_; }
  // Whether a transaction of `edits` edits, next in the window, should be a
  // checkpoint.
  bool Full(size_t checkpoint_blocks, size_t edits) const;

  // The root after logged block `to` of snap's file: known here, or found
  // by applying the edit records of the blocks up to it, from the newest
  // one known here (or the base), and added.
  Result<uint64_t> Root(const Snapshot& snap, const CommitPoint& to);
  // Adds the logged block this process built after the newest known one:
  // the root after it, and how many edits it holds.
  void AddNext(const CommitPoint& block, uint64_t root, size_t edits);

  // The global tree's writer of this process's group commits, kept from
  // one group to the next with the nodes it loaded: a transaction
  // otherwise reads the same root and upper nodes from the arena again,
  // and frees them after, which took about a tenth of a small write's
  // time. KeepWriter keeps a flushed writer that holds at most
  // kKeptWriterBytes; TakeWriter hands it back when it continues from root
  // (no other store object or process wrote since), and null otherwise.
  // (Branch trees' writers kept the same way made writes to random keys
  // slower: they load a new path each, and memory churned.)
  void KeepWriter(std::unique_ptr<TreeWriter> writer);
  std::unique_ptr<TreeWriter> TakeWriter(uint64_t root);
  // Drops the kept writer: once a newer window starts, none of this one's
  // trees will be written again.
  void DropWriter();

 private:
  struct Known {
    CommitPoint block;  // as read from the file (root 0)
    uint64_t root;
    // The logged blocks from the base through this one, and their edits.
    size_t blocks;
    size_t edits;
  };
  void Add(const Known& known);
  // The root after block, when known here.
  std::optional<uint64_t> RootAfter(const CommitPoint& block) const;
  const uint64_t generation_;
  const CommitPoint base_;
  const std::shared_ptr<NodeArena> arena_;
  mutable std::mutex mu_;
  std::map<uint64_t, Known> known_;          // by block offset; guarded by mu_
  std::mutex replay_mu_;                     // one replay at a time
  std::unique_ptr<TreeWriter> kept_writer_;  // guarded by mu_
};

// The windows a store has met lately, by generation and base.
class LogWindows {
 public:
  // The window of base (a checkpoint block of snap's file, generation),
  // made when there is none.
  Result<std::shared_ptr<LogWindow>> Get(const Snapshot& snap, uint64_t base);
  // Starts the window of a checkpoint this process just built.
  std::shared_ptr<LogWindow> Start(uint64_t generation, const CommitPoint& base);
  // After a rollback: what was built past the durable end may differ from
  // what the file will hold there.
  void Clear();
  // The sliced run merges this process has under way (store/id_runs.h),
  // kept from one checkpoint to the next.
  RunMerges TakeMerges();
  void KeepMerges(RunMerges merges);

 private:
  // The current window and the one before, whose nodes readers of the
  // revisions just past may still want. Older ones are made again, by a
  // replay of at most one window, for the rare read of a whole past state
  // (a branch or diff at a revision): keeping four made a writer fault in
  // about 10 MiB more of fresh memory for arenas before their chunks came
  // round again, and hold it (10k writes to one key: 8,300 -> 5,800 page
  // faults, 3% of the time).
  static constexpr size_t kKept = 2;
  std::mutex mu_;
  std::vector<std::shared_ptr<LogWindow>> windows_;  // newest last
  RunMerges merges_;
};

// Writes the state whose global tree is at root into out where it is in
// memory: the branch trees its entries name (a store of format 3 logs
// their edits too), then the global tree, whose entries naming them are
// rewritten into scratch first. Returns the global tree's root in out.
Result<uint64_t> MaterializeState(const RecordSource& source, uint64_t root, NodeSink* scratch,
                                  NodeSink* out);
// The bytes MaterializeState would write, into a sink that asks for compact
// nodes or not.
Result<uint64_t> InMemoryStateBytes(const RecordSource& source, uint64_t root, bool compact);

// Gives snap's head its root when it is a logged block (replaying what
// windows do not know yet), its nodes' arena attached to snap.
Status ResolveLoggedHead(LogWindows* windows, Snapshot* snap);
// The root after a logged block of snap's file; its arena is pinned to
// snap, so the root reads through snap as long as snap lives.
Result<uint64_t> LoggedRoot(LogWindows* windows, const Snapshot& snap, const CommitPoint& block);

}  // namespace kvs

#endif  // KVS_STORE_LOG_WINDOW_H_
