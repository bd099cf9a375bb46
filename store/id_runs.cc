#include "store/id_runs.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <iterator>

#include "store/coding.h"

namespace kvs {

namespace {

constexpr char kRunTag = 'X';
constexpr size_t kRunValueSize = 24;

int Tier(uint64_t entries) {
  int tier = 0;
  for (uint64_t bound = kRunTierBase; entries >= bound && tier < 32; bound *= kRunFanIn) ++tier;
  return tier;
}

bool SameRun(const RunEntry& a, const RunEntry& b) { return a.seq == b.seq && a.root == b.root; }

bool Holds(const std::vector<RunEntry>& runs, const RunEntry& run) {
  return std::any_of(runs.begin(), runs.end(), [&](const RunEntry& r) { return SameRun(r, run); });
}

// The runs a checkpoint merges: the kRunFanIn or more runs of the lowest
// tier that has that many, leaving out those a sliced merge has under way,
// unless their merge would pass kMaxMergedRunEntries. Empty when none.
std::vector<RunEntry> RunsToMerge(const std::vector<RunEntry>& runs,
                                  const std::vector<RunEntry>& busy) {
  std::vector<std::vector<RunEntry>> tiers;
  for (const RunEntry& r : runs) {
    if (Holds(busy, r)) continue;
    const size_t tier = static_cast<size_t>(Tier(r.entries));
    if (tiers.size() <= tier) tiers.resize(tier + 1);
    tiers[tier].push_back(r);
  }
  for (std::vector<RunEntry>& tier : tiers) {
    if (tier.size() < kRunFanIn) continue;
    uint64_t entries = 0;
    for (const RunEntry& r : tier) entries += r.entries;
    if (entries > kMaxMergedRunEntries) continue;
    return std::move(tier);
  }
  return {};
}

Result<RunEntry> WriteRun(const IdEntries& entries, uint64_t seq, NodeSink* out) {
  RunBuilder run(seq, out);
  for (const auto& [key, value] : entries) KVS_RETURN_IF_ERROR(run.Put(key, value));
  return run.Finish();
}

// The entries of the runs, in key order, copied.
Result<IdEntries> ReadRunEntries(const RecordSource& source, const std::vector<RunEntry>& runs) {
  std::vector<uint64_t> roots;
  for (const RunEntry& r : runs) roots.push_back(r.root);
  MergedCursor cursor(&source, roots);
  IdEntries entries;
  KVS_RETURN_IF_ERROR(cursor.Seek(""));
  while (cursor.Valid()) {
    entries.emplace_back(cursor.key(), cursor.value());
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  return entries;
}

// Writes one run, numbered seq, of the entries of runs and of entries
// (ascending, none of them in the runs) to out. The runs' entries go
// from the file to the new run as they are read, unless a run is in the
// block being built (at or after pending_from), whose bytes move as it
// grows: then they are copied first.
Result<RunEntry> MergeRuns(const RecordSource& source, const std::vector<RunEntry>& runs,
                           const IdEntries& entries, uint64_t seq, uint64_t pending_from,
                           NodeSink* out) {
  IdEntries copied;
  const IdEntries* added = &entries;
  std::vector<uint64_t> roots;
  for (const RunEntry& r : runs) roots.push_back(r.root);
  if (std::any_of(roots.begin(), roots.end(),
                  [&](uint64_t root) { return root >= pending_from; })) {
    KVS_ASSIGN_OR_RETURN(IdEntries old, ReadRunEntries(source, runs));
    copied.reserve(old.size() + entries.size());
    std::merge(old.begin(), old.end(), entries.begin(), entries.end(), std::back_inserter(copied));
    added = &copied;
    roots.clear();
  }
  MergedCursor cursor(&source, roots);
  KVS_RETURN_IF_ERROR(cursor.Seek(""));
  RunBuilder merged(seq, out);
  for (size_t i = 0; cursor.Valid() || i < added->size();) {
    if (i < added->size() && (!cursor.Valid() || (*added)[i].first < cursor.key())) {
      KVS_RETURN_IF_ERROR(merged.Put((*added)[i].first, (*added)[i].second));
      ++i;
    } else {
      KVS_RETURN_IF_ERROR(merged.Put(cursor.key(), cursor.value()));
      KVS_RETURN_IF_ERROR(cursor.Next());
    }
  }
  return merged.Finish();
}

}  // namespace

bool IsIdKey(std::string_view key) {
  return !key.empty() && (key[0] == 'C' || key[0] == 'L' || key[0] == 'T' || key[0] == 'V');
}

std::string RunKey(uint64_t seq) {
  std::string key(1, kRunTag);
  PutBigEndian64(&key, seq);
  return key;
}

std::string EncodeRunValue(const RunEntry& run) {
  std::string out;
  PutFixed64(&out, run.root);
  PutFixed64(&out, run.entries);
  PutFixed64(&out, run.bytes);
  return out;
}

Result<RunEntry> DecodeRun(std::string_view key, std::string_view value) {
  if (key.size() != 9 || key[0] != kRunTag || value.size() != kRunValueSize) {
    return Status::Corruption("malformed run entry");
  }
  return RunEntry{DecodeBigEndian64(key.data() + 1), DecodeFixed64(value.data()),
                  DecodeFixed64(value.data() + 8), DecodeFixed64(value.data() + 16)};
}

Result<std::vector<RunEntry>> ReadRuns(const RecordSource& source, uint64_t root) {
  std::vector<RunEntry> runs;
  TreeCursor cursor(&source, root);
  KVS_RETURN_IF_ERROR(cursor.Seek(std::string(1, kRunTag)));
  while (cursor.Valid() && cursor.key()[0] == kRunTag) {
    KVS_ASSIGN_OR_RETURN(RunEntry run, DecodeRun(cursor.key(), cursor.value()));
    runs.push_back(run);
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  return runs;
}

Result<std::string> RunsGet(const RecordSource& source, const std::vector<RunEntry>& runs,
                            std::string_view key) {
  // An entry is in one run at most, and the oldest runs, being the
  // largest mostly, hold most of them: they go first.
  for (auto run = runs.begin(); run != runs.end(); ++run) {
    auto value = TreeGet(source, run->root, key);
    if (!value.status().IsNotFound()) return value;
  }
  return Status::NotFound("no such id entry");
}

Result<std::string> IdEntryGet(const RecordSource& source, uint64_t root, std::string_view key) {
  auto value = TreeGet(source, root, key);
  if (!value.status().IsNotFound()) return value;
  KVS_ASSIGN_OR_RETURN(std::vector<RunEntry> runs, ReadRuns(source, root));
  return RunsGet(source, runs, key);
}

MergedCursor::MergedCursor(const RecordSource* source, const std::vector<uint64_t>& roots) {
  cursors_.reserve(roots.size());
  for (uint64_t root : roots) cursors_.emplace_back(source, root);
  current_ = cursors_.size();
}

Status MergedCursor::Seek(std::string_view target) {
  for (TreeCursor& c : cursors_) KVS_RETURN_IF_ERROR(c.Seek(target));
  Pick();
  return Status::OK();
}

Status MergedCursor::Next() {
  // The key stays readable until its own cursor moves, which it does last.
  const std::string_view at = key();
  for (size_t i = 0; i < cursors_.size(); ++i) {
    TreeCursor& c = cursors_[i];
    if (i != current_ && c.Valid() && c.key() == at) KVS_RETURN_IF_ERROR(c.Next());
  }
  KVS_RETURN_IF_ERROR(cursors_[current_].Next());
  Pick();
  return Status::OK();
}

void MergedCursor::Pick() {
  current_ = cursors_.size();
  for (size_t i = 0; i < cursors_.size(); ++i) {
    if (!cursors_[i].Valid()) continue;
    if (current_ == cursors_.size() || cursors_[i].key() < cursors_[current_].key()) current_ = i;
  }
}

Status GlobalCursor::Seek(std::string_view target) {
  if (!merged_) {
    std::vector<uint64_t> roots{root_};
    KVS_ASSIGN_OR_RETURN(std::vector<RunEntry> runs, ReadRuns(*source_, root_));
    for (const RunEntry& r : runs) roots.push_back(r.root);
    merged_.emplace(source_, roots);
  }
  return merged_->Seek(target);
}

Status ForEachEntryNotIn(
    const RecordSource& source, const std::vector<uint64_t>& roots,
    const std::vector<uint64_t>& others,
    const std::function<Status(std::string_view key, std::string_view value)>& fn) {
  if (roots.empty()) return Status::OK();
  MergedCursor fresh(&source, roots), had(&source, others);
  KVS_RETURN_IF_ERROR(fresh.Seek(""));
  KVS_RETURN_IF_ERROR(had.Seek(""));
  while (fresh.Valid()) {
    // Mostly the next few entries of the others (runs merged into these);
    // else a seek.
    for (int steps = 0; had.Valid() && had.key() < fresh.key(); ++steps) {
      KVS_RETURN_IF_ERROR(steps < 4 ? had.Next() : had.Seek(fresh.key()));
    }
    if (!had.Valid() || had.key() != fresh.key()) {
      KVS_RETURN_IF_ERROR(fn(fresh.key(), fresh.value()));
    }
    KVS_RETURN_IF_ERROR(fresh.Next());
  }
  return Status::OK();
}

RunBuilder::RunBuilder(uint64_t seq, NodeSink* out)
    : counted_(out), tree_(&counted_, kRunNodeBytes, kRunNodeBytes) {
  run_.seq = seq;
}

uint64_t RunBuilder::CountingSink::Append(char type, std::string_view body) {
  bytes_ += RecordFileBytes(body.size());
  return out_->Append(type, body);
}

Status RunBuilder::Put(std::string_view key, std::string_view value) {
  if (!IsIdKey(key)) return Status::InvalidArgument("a run holds id entries only");
  KVS_RETURN_IF_ERROR(tree_.Put(key, value));
  ++run_.entries;
  return Status::OK();
}

void PendingIds::Put(std::string key, std::string value) {
  if (indexed_) index_.emplace(std::hash<std::string_view>()(key), entries_.size());
  entries_.emplace_back(std::move(key), std::move(value));
}

const std::string* PendingIds::Find(std::string_view key) const {
  if (!indexed_) {
    for (size_t i = 0; i < entries_.size(); ++i) {
      index_.emplace(std::hash<std::string_view>()(entries_[i].first), i);
    }
    indexed_ = true;
  }
  const std::string* found = nullptr;
  size_t last = 0;
  auto [begin, end] = index_.equal_range(std::hash<std::string_view>()(key));
  for (auto it = begin; it != end; ++it) {
    if (entries_[it->second].first == key && (found == nullptr || it->second > last)) {
      found = &entries_[it->second].second;
      last = it->second;
    }
  }
  return found;
}

IdEntries PendingIds::TakeSorted() {
  // Sorted by the keys' first 16 bytes as two numbers, then by the whole
  // key and the order put: ids differ there, and so do a key's tail
  // entries, 'T' and the key, unless the key is long. So the sort rarely
  // compares strings.
  struct Slot {
    uint64_t high, low;
    size_t index;
  };
  std::vector<Slot> order;
  order.reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    const std::string& key = entries_[i].first;
    char head[16] = {};
    std::memcpy(head, key.data(), std::min(key.size(), sizeof(head)));
    order.push_back(Slot{DecodeBigEndian64(head), DecodeBigEndian64(head + 8), i});
  }
  std::sort(order.begin(), order.end(), [this](const Slot& a, const Slot& b) {
    if (a.high != b.high) return a.high < b.high;
    if (a.low != b.low) return a.low < b.low;
    const int c = entries_[a.index].first.compare(entries_[b.index].first);
    return c != 0 ? c < 0 : a.index < b.index;
  });
  IdEntries sorted;
  sorted.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    auto& entry = entries_[order[i].index];
    const bool replaced = i + 1 < order.size() && entries_[order[i + 1].index].first == entry.first;
    if (!replaced) sorted.push_back(std::move(entry));
  }
  entries_.clear();
  index_.clear();
  indexed_ = false;
  return sorted;
}

Result<RunEntry> RunBuilder::Finish() {
  KVS_ASSIGN_OR_RETURN(run_.root, tree_.Finish());
  run_.bytes = counted_.bytes();
  return run_;
}

RunMerge::RunMerge(uint64_t generation, std::vector<RunEntry> inputs)
    : generation_(generation), inputs_(std::move(inputs)), run_(0, nullptr) {}

bool RunMerge::InputsIn(const std::vector<RunEntry>& runs) const {
  return std::all_of(inputs_.begin(), inputs_.end(),
                     [&](const RunEntry& r) { return Holds(runs, r); });
}

Result<bool> RunMerge::Step(const RecordSource& source, NodeSink* out) {
  run_.set_sink(out);
  std::vector<uint64_t> roots;
  for (const RunEntry& r : inputs_) roots.push_back(r.root);
  // The cursor starts again at each slice, from the key after the last:
  // each checkpoint reads through its own group's source.
  MergedCursor cursor(&source, roots);
  const std::string_view last = run_.last_key();
  KVS_RETURN_IF_ERROR(cursor.Seek(last));
  if (!last.empty() && cursor.Valid() && cursor.key() == last) KVS_RETURN_IF_ERROR(cursor.Next());
  for (size_t n = 0; cursor.Valid() && n < kMergeSliceEntries; ++n) {
    KVS_RETURN_IF_ERROR(run_.Put(cursor.key(), cursor.value()));
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  return !cursor.Valid();
}

Result<RunEntry> RunMerge::Finish(uint64_t seq) {
  KVS_ASSIGN_OR_RETURN(RunEntry run, run_.Finish());
  run.seq = seq;
  return run;
}

namespace {

// The number after every run's.
uint64_t NextSeq(const std::vector<RunEntry>& runs) {
  uint64_t seq = 0;
  for (const RunEntry& r : runs) seq = std::max(seq, r.seq + 1);
  return seq;
}

// Puts run into the global tree in place of the runs it merged, which
// runs (the tree's) then no longer holds and it does.
Status ReplaceRuns(const RunEntry& run, const std::vector<RunEntry>& merged, TreeWriter* tree,
                   std::vector<RunEntry>* runs, NodeSink* runs_out) {
  KVS_RETURN_IF_ERROR(tree->Put(RunKey(run.seq), EncodeRunValue(run)));
  for (const RunEntry& r : merged) {
    KVS_RETURN_IF_ERROR(tree->Delete(RunKey(r.seq)));
    runs_out->AddSuperseded(r.bytes);
  }
  std::erase_if(*runs, [&](const RunEntry& r) { return Holds(merged, r); });
  runs->push_back(run);
  return Status::OK();
}

// Goes on with a sliced merge under way, if its runs are still there;
// resets it when it is done (the tree then names its run, and it returns
// true) or dropped.
Result<bool> StepMerge(const RecordSource& source, uint64_t generation,
                       std::unique_ptr<RunMerge>* merge, TreeWriter* tree,
                       std::vector<RunEntry>* runs, NodeSink* runs_out) {
  RunMerge& m = **merge;
  if (m.generation() != generation || !m.InputsIn(*runs)) {
    // What it wrote to this file no tree will name.
    if (m.generation() == generation) runs_out->AddSuperseded(m.bytes());
    merge->reset();
    return false;
  }
  KVS_ASSIGN_OR_RETURN(bool done, m.Step(source, runs_out));
  if (!done) return false;
  KVS_ASSIGN_OR_RETURN(RunEntry run, m.Finish(NextSeq(*runs)));
  KVS_RETURN_IF_ERROR(ReplaceRuns(run, m.inputs(), tree, runs, runs_out));
  merge->reset();
  return true;
}

}  // namespace

Result<uint64_t> MoveIdEntriesToRun(const RecordSource& source, uint64_t root,
                                    uint64_t pending_from, IdEntries added, NodeSink* runs_out,
                                    NodeSink* tree_out, uint64_t generation, RunMerges* merges) {
  IdEntries in_tree;
  for (char tag : {'C', 'L', 'T', 'V'}) {
    TreeCursor cursor(&source, root);
    KVS_RETURN_IF_ERROR(cursor.Seek(std::string(1, tag)));
    while (cursor.Valid() && cursor.key()[0] == tag && in_tree.size() < kMaxMovedEntries) {
      in_tree.emplace_back(cursor.key(), cursor.value());
      KVS_RETURN_IF_ERROR(cursor.Next());
    }
  }
  const bool under_way = merges != nullptr && !merges->empty();
  if (in_tree.empty() && added.empty() && !under_way) return root;
  TreeWriter tree(&source, root);
  KVS_ASSIGN_OR_RETURN(std::vector<RunEntry> runs, ReadRuns(source, root));
  bool finished = false;
  std::vector<RunEntry> busy;  // the runs of the sliced merges under way
  if (under_way) {
    for (std::unique_ptr<RunMerge>& m : *merges) {
      KVS_ASSIGN_OR_RETURN(bool done, StepMerge(source, generation, &m, &tree, &runs, runs_out));
      finished = finished || done;
      if (m) busy.insert(busy.end(), m->inputs().begin(), m->inputs().end());
    }
    std::erase(*merges, nullptr);
  }
  if (in_tree.empty() && added.empty() && !finished) return root;
  for (const auto& [key, value] : in_tree) KVS_RETURN_IF_ERROR(tree.Delete(key));
  IdEntries entries;
  if (in_tree.empty()) {
    entries = std::move(added);
  } else {
    entries.reserve(in_tree.size() + added.size());
    std::merge(std::make_move_iterator(in_tree.begin()), std::make_move_iterator(in_tree.end()),
               std::make_move_iterator(added.begin()), std::make_move_iterator(added.end()),
               std::back_inserter(entries));
  }
  const uint64_t seq = NextSeq(runs);
  runs.push_back(RunEntry{seq, 0, entries.size(), 0});  // the new run, not yet written
  std::vector<RunEntry> merging = RunsToMerge(runs, busy);
  if (!merging.empty()) {
    // The new run, when it is one of them, is merged before it is written.
    const bool merges_new =
        std::erase_if(merging, [seq](const RunEntry& r) { return r.seq == seq; }) > 0;
    uint64_t total = 0;
    for (const RunEntry& r : merging) total += r.entries;
    // A large merge is sliced, unless this process could not finish one (a
    // tier holding twice the runs it should: each process that began one
    // ended first). It merges runs in the file: the new run, when it was
    // one of them, waits for the next merge, and one of them that this
    // block holds (a sliced merge's it finished) defers the merge to the
    // next checkpoint.
    const bool slice =
        merges != nullptr && total >= kSlicedMergeEntries && merging.size() < 2 * kRunFanIn;
    const bool in_file = std::all_of(merging.begin(), merging.end(),
                                     [&](const RunEntry& r) { return r.root < pending_from; });
    if (slice && in_file) {
      merges->push_back(std::make_unique<RunMerge>(generation, std::move(merging)));
      KVS_ASSIGN_OR_RETURN(bool done,
                           StepMerge(source, generation, &merges->back(), &tree, &runs, runs_out));
      if (done) merges->pop_back();
    } else if (!slice) {
      const IdEntries none;
      KVS_ASSIGN_OR_RETURN(RunEntry run, MergeRuns(source, merging, merges_new ? entries : none,
                                                   seq + 1, pending_from, runs_out));
      if (merges_new) entries.clear();
      KVS_RETURN_IF_ERROR(ReplaceRuns(run, merging, &tree, &runs, runs_out));
    }
  }
  if (!entries.empty()) {
    KVS_ASSIGN_OR_RETURN(RunEntry run, WriteRun(entries, seq, runs_out));
    KVS_RETURN_IF_ERROR(tree.Put(RunKey(run.seq), EncodeRunValue(run)));
  }
  return tree.Flush(tree_out);
}

}  // namespace kvs
