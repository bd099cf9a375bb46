// Id entries and the runs that hold them.
//
// The global tree's 'C', 'L', 'T' and 'V' entries (commits and versions by
// id, links, tails) are keyed by hashes, so a write's entries each land on
// a leaf of their own, and a checkpoint (store/log_window.h) rewrites one
// leaf per entry its window added: most of what a small write cost in a
// large store. They are also only ever added, until a compaction rewrites
// them. So in a store of format 4 a checkpoint moves the id entries its
// global tree holds into a run: a tree of them alone, written once in key
// order (store/tree_builder.h), and named by an 'X' entry of the global
// tree (store/format.h). An id entry is then in the global tree (added
// since the last checkpoint) or in a run, and lookups look in both.
//
// Runs are merged by size tier (a run of n entries is of tier
// floor(log8(n / kRunTierBase)) + 1, smaller ones of tier 0): once
// kRunFanIn runs share a tier, the checkpoint that made the last of them
// merges them into one. A run reaches the next tier after kRunFanIn
// merges, so an entry is rewritten about log8(store / window) times, and a
// store holds at most kRunFanIn - 1 runs per tier. A merge that would pass
// kMaxMergedRunEntries is left to compaction, which writes all of a store's
// id entries as one run.
//
// A merge of at least kSlicedMergeEntries is written a slice at a time
// (RunMerge, below): one checkpoint merging eight runs of 24k entries held
// the writer lock for 80 ms, and every write waited behind it.
#ifndef KVS_STORE_ID_RUNS_H_
#define KVS_STORE_ID_RUNS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kvs/status.h"
#include "store/btree.h"
#include "store/record.h"
#include "store/tree_builder.h"

namespace kvs {

constexpr size_t kRunFanIn = 8;
constexpr uint64_t kRunTierBase = 1024;
constexpr uint64_t kMaxMergedRunEntries = uint64_t{1} << 18;
// A checkpoint moves at most this many, so the first ones after an upgrade
// from format 3, whose global tree holds all of a store's id entries, each
// take a bounded part of them.
constexpr size_t kMaxMovedEntries = 65536;
// Runs are written once and never edited, so their nodes can be large:
// fewer nodes on a lookup's path.
constexpr size_t kRunNodeBytes = 4096;
// Merges of at least this many entries are sliced, each checkpoint writing
// kMergeSliceEntries of them (about 3 ms more of a checkpoint's time).
constexpr uint64_t kSlicedMergeEntries = 16384;
constexpr size_t kMergeSliceEntries = 16384;

// A global tree key of an id entry ('C', 'L', 'T' or 'V').
bool IsIdKey(std::string_view key);

using IdEntries = std::vector<std::pair<std::string, std::string>>;

// The id entries one transaction adds, in a store of format 4 or later,
// held apart from the global tree until it ends. A logged transaction then
// puts them into the tree, as it would have one by one; a checkpoint
// writes them straight into its run (MoveIdEntriesToRun). A bulk load's
// entries land all over the tree: inserting them took a sixth of its time,
// and taking them out again at its checkpoint another tenth.
class PendingIds {
 public:
  void Put(std::string key, std::string value);
  // The value of the entry last put with that key; null when none was.
  const std::string* Find(std::string_view key) const;
  size_t size() const { return entries_.size(); }
  // The entries in ascending key order, each key once (its last value);
  // it holds none after.
  IdEntries TakeSorted();

 private:
  IdEntries entries_;  // in the order put
  // Hash of a key -> the entries of that hash, made by the first Find:
  // most transactions look none up.
  mutable std::unordered_multimap<size_t, size_t> index_;
  mutable bool indexed_ = false;
};

// An 'X' entry: the run numbered seq.
struct RunEntry {
  uint64_t seq = 0;
  uint64_t root = 0;     // the run's tree
  uint64_t entries = 0;  // id entries it holds
  uint64_t bytes = 0;    // file bytes of its node records
};
std::string RunKey(uint64_t seq);
std::string EncodeRunValue(const RunEntry& run);
// Corruption when key or value is malformed.
Result<RunEntry> DecodeRun(std::string_view key, std::string_view value);

// The runs the global tree at root names, oldest first.
Result<std::vector<RunEntry>> ReadRuns(const RecordSource& source, uint64_t root);

// An id entry's value: from the global tree at root, else from its runs.
// NotFound when absent.
Result<std::string> IdEntryGet(const RecordSource& source, uint64_t root, std::string_view key);
// From the given runs only.
Result<std::string> RunsGet(const RecordSource& source, const std::vector<RunEntry>& runs,
                            std::string_view key);

// Forward iteration, in key order, over several trees as one: every key of
// each, a key held by more than one once (with the value of the first tree
// holding it).
class MergedCursor {
 public:
  MergedCursor(const RecordSource* source, const std::vector<uint64_t>& roots);
  Status Seek(std::string_view target);
  bool Valid() const { return current_ < cursors_.size(); }
  std::string_view key() const { return cursors_[current_].key(); }
  std::string_view value() const { return cursors_[current_].value(); }
  Status Next();

 private:
  // Points current_ at the valid cursor with the least key.
  void Pick();

  std::vector<TreeCursor> cursors_;
  size_t current_ = 0;
};

// The global tree at root and its runs as one tree: every entry of the
// global tree, with each run's id entries in their place.
class GlobalCursor {
 public:
  GlobalCursor(const RecordSource* source, uint64_t root) : source_(source), root_(root) {}
  Status Seek(std::string_view target);
  bool Valid() const { return merged_ && merged_->Valid(); }
  std::string_view key() const { return merged_->key(); }
  std::string_view value() const { return merged_->value(); }
  Status Next() { return merged_->Next(); }

 private:
  const RecordSource* source_;
  uint64_t root_;
  std::optional<MergedCursor> merged_;  // made by the first Seek
};

// Calls fn with each entry of the trees at roots (runs, in practice) that
// none of the trees at others holds, in key order: what runs made since a
// state hold that its tree and the runs merged away did not (a
// compaction's catch-up).
Status ForEachEntryNotIn(
    const RecordSource& source, const std::vector<uint64_t>& roots,
    const std::vector<uint64_t>& others,
    const std::function<Status(std::string_view key, std::string_view value)>& fn);

// A run written from id entries put in ascending key order.
class RunBuilder {
 public:
  RunBuilder(uint64_t seq, NodeSink* out);
  // Where the nodes written from now on go (a sliced merge's next block).
  void set_sink(NodeSink* out) { counted_.set_out(out); }
  Status Put(std::string_view key, std::string_view value);
  // The key put last; empty before the first.
  std::string_view last_key() const { return tree_.last_key(); }
  // The file bytes of the nodes written so far.
  uint64_t bytes() const { return counted_.bytes(); }
  // The run; its root is 0 when no entry was put.
  Result<RunEntry> Finish();

 private:
  // Counts the bytes of the node records the build appends.
  class CountingSink : public NodeSink {
   public:
    explicit CountingSink(NodeSink* out) : out_(out) {}
    void set_out(NodeSink* out) { out_ = out; }
    uint64_t Append(char type, std::string_view body) override;
    void AddSuperseded(uint64_t bytes) override { out_->AddSuperseded(bytes); }
    bool compact_nodes() const override { return out_->compact_nodes(); }
    uint64_t bytes() const { return bytes_; }

   private:
    NodeSink* out_;
    uint64_t bytes_ = 0;
  };

  RunEntry run_;
  CountingSink counted_;
  TreeBuilder tree_;
};

// A merge of runs written over several checkpoints, kMergeSliceEntries
// entries each, by the process that began it, which keeps it in memory in
// between (LogWindows); several may be under way. Its nodes are in
// the file from the first slice on, and no tree names them until the last
// slice: then the checkpoint names the new run and removes the merged
// ones. A merge whose runs changed meanwhile (another process merged them,
// a compaction rewrote the file) is dropped, and its nodes so far are
// garbage; so is one whose blocks were rolled back, with them.
class RunMerge {
 public:
  // inputs: runs of the file of that generation, written before the block
  // of the first slice.
  RunMerge(uint64_t generation, std::vector<RunEntry> inputs);
  uint64_t generation() const { return generation_; }
  // Whether runs still holds each of the merged runs.
  bool InputsIn(const std::vector<RunEntry>& runs) const;
  // Writes the next slice's nodes to out; true when it wrote the last
  // entry, and then Finish.
  Result<bool> Step(const RecordSource& source, NodeSink* out);
  // The run, numbered seq: its last nodes go to the sink of the last Step.
  Result<RunEntry> Finish(uint64_t seq);
  const std::vector<RunEntry>& inputs() const { return inputs_; }
  uint64_t bytes() const { return run_.bytes(); }

 private:
  const uint64_t generation_;
  const std::vector<RunEntry> inputs_;
  RunBuilder run_;
};

// At a checkpoint of a store of format 4: moves the id entries of the
// global tree at root (read through source; at most kMaxMovedEntries, in
// key order), and the entries added (ascending, none of them in the tree
// or its runs), into a new run written to runs_out, merges runs as their
// tiers say (counting the merged runs' bytes as superseded in runs_out),
// and returns the root of the global tree that names them, its changed
// nodes written to tree_out; root itself when nothing changed. Offsets
// from pending_from on are in the block being built, of the file of that
// generation. Large merges are sliced when merges is not null: the ones
// under way, which this checkpoint goes on with (or finishes, or drops),
// and those it begins.
using RunMerges = std::vector<std::unique_ptr<RunMerge>>;
Result<uint64_t> MoveIdEntriesToRun(const RecordSource& source, uint64_t root,
                                    uint64_t pending_from, IdEntries added, NodeSink* runs_out,
                                    NodeSink* tree_out, uint64_t generation = 0,
                                    RunMerges* merges = nullptr);

}  // namespace kvs

#endif  // KVS_STORE_ID_RUNS_H_
