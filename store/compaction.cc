// Compact: rewrites the store into the next data file generation, keeping
// what the retention rules keep, and publishes it.
//
// Writers keep writing while it runs; they wait only while it starts and
// while it publishes. Holding the compaction lock (one compaction per
// store, store/directory.h) it reads the newest state, then, without the
// writer lock, copies the kept versions in file order (parents before
// children, parent offsets remapped), rebuilds every branch tree with the
// kept key entries, rebuilds the global tree, and writes all of it as one
// block at that state's revision into data.N+1.compacting as it goes
// (store/compaction_output.h: memory holds a bounded part of the output,
// not all of it; the trees are written bottom-up in key order,
// store/tree_builder.h, so building one holds a node per level).
//
// Then it catches up: what writers committed meanwhile is carried into the
// new file as one more block, made from the differences between the old
// file's global trees then and now (TreeDiff skips what they share, so a
// catch-up costs what changed, not the store's size): new versions and
// commits copied, branch trees edited by their own differences. Rounds
// without the lock go on while a round finds much new; the new file is
// synced; then, holding the writer lock, a last round takes in the few
// commits since, and the file is published: sync, rename to data.N+1, sync
// the directory, end data.N with a "moved" block (readers and writers of
// other processes follow it), remove data.N. A crash before the rename
// leaves a .compacting file, one after it the replaced file: the next
// process to open the store removes them while no compaction runs, else the
// next compaction does; after the rename, the new generation is complete
// and wins. When something committed meanwhile cannot be carried (a head
// whose version the rules dropped, as a branch made meanwhile at an old
// state can have), the last round compacts again from the newest state,
// holding the lock: writers wait, as they do for every compaction of kvs
// before 0.2.
//
// Retention rules trim history per key prefix; a protected prefix keeps
// all of it. With a size bound, a first build that is still above
// max_bytes is followed by rebuilds that leave out whole evictable keys,
// least recently read first (store/read_clock.h; a key never read counts
// from its newest write), until the result is at most low_water_bytes. Each
// key's share of the file is estimated from its kept versions and tree
// entries; the first rebuild aims a little short and the next ones top up
// with the estimates corrected by what the last one really freed, so the
// result lands just under the mark and drops little more than needed.
// Entries committed during the compaction are all kept; the next one
// trims them.
//
// Branches whose roots differ are each rebuilt on their own, but their
// nodes are cut where their keys say and a node alike to one written is
// named again (store/tree_builder.h, WrittenNodes): twenty branches of a
// 100,000-key main that each changed one key took 52 MB before a
// compaction, 45 MB after it (276 MB when each tree was written whole),
// and a Diff between two of them stays O(differences).
//
// What compaction gives up: the exact tree states of past revisions (so
// CreateBranch and Diff at a revision before the compaction answer
// Compacted; Get at a past revision still works from per-key history as long
// as the rules keep it).
//
// One file, because it is one piece of work on one state: the Compactor's
// build and its catch-ups both fill and read the same maps from old offsets
// and roots to new ones (kept_, new_roots_, commits_), and the steps at the
// end, StoreImpl's, only sequence those two around the locks. Split apart,
// that state would have to be published in a header for no other reader.
#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "store/coding.h"
#include "store/compaction_output.h"
#include "store/format.h"
#include "store/offset_map.h"
#include "store/store_impl.h"
#include "store/tree_builder.h"

namespace kvs {

using namespace format;

// Opening the compacted file verifies its last block, so blocks stay small.
constexpr uint64_t kPartBytes = 1 << 20;

// How many entries a tree rebuilt in key order takes between spills.
constexpr size_t kSpillEvery = 32768;

// Loops over the old file's versions look up kept_ this many versions
// ahead of the one they are at (OffsetMap::Prefetch).
constexpr size_t kPrefetchAhead = 16;

// Catch-up rounds without the writer lock: at most this many, ending
// early once a round finds less than kLockedCatchUpBytes of the old file
// new, which the last round, holding the lock, then carries in about a
// millisecond.
constexpr int kCatchUpRounds = 8;
constexpr uint64_t kLockedCatchUpBytes = 256 << 10;

// A tree written from scratch, its keys in ascending order (TreeBuilder),
// into the compacted file, which spills what it holds to the file every
// kSpillEvery puts.
class OrderedTreeBuild {
 public:
  explicit OrderedTreeBuild(CompactionOutput* out, WrittenNodes* shared = nullptr)
      : out_(out), tree_(out->builder()) {
    if (shared != nullptr) tree_.ShareAlike(shared);
  }
  Status Put(std::string_view key, std::string_view value) {
    KVS_RETURN_IF_ERROR(tree_.Put(key, value));
    if (++puts_ % kSpillEvery != 0) return Status::OK();
    return out_->MaybeSpill();
  }
  Result<uint64_t> Finish() { return tree_.Finish(); }

 private:
  CompactionOutput* out_;
  TreeBuilder tree_;
  size_t puts_ = 0;
};

// A key the size bound may drop, with an estimate of the bytes it takes in
// the compacted file and when it was last read or written.
struct EvictionCandidate {
  std::string key;
  uint64_t bytes = 0;
  int64_t last_used_ns = 0;
};

class Compactor {
 public:
  // evicted: keys left out whole (the size bound's choice so far).
  Compactor(StoreImpl* store, const CompactOptions& options, const Snapshot& snap, int64_t now_ns,
            const std::unordered_set<std::string>& evicted)
      : store_(store),
        options_(options),
        snap_(snap),
        now_ns_(now_ns),
        evicted_(evicted),
        generation_(store->data()->generation() + 1),
        path_(store->dir_ + "/" + DataFileName(generation_)),
        unfinished_path_(path_ + kUnfinishedSuffix),
        caught_end_(snap.head().end) {
    new_roots_[0] = 0;  // the empty tree is its own copy
  }

  // Writes the new file (not synced, under a temporary name) and returns its
  // size.
  Result<uint64_t> Build() {
    stats_.bytes_before = snap_.head().end;
    KVS_ASSIGN_OR_RETURN(out_, CompactionOutput::Create(store_->env_, unfinished_path(),
                                                        generation_, store_->identity_.replica,
                                                        store_->identity_.salt, kPartBytes));
    BlockBuilder* out = out_->builder();
    out->set_compact_nodes(compact_records_);
    out->BeginBlock();
    KVS_ASSIGN_OR_RETURN(branches_, ReadBranchEntries(snap_, snap_.head().root));
    KVS_RETURN_IF_ERROR(MarkKeptVersions());
    KVS_RETURN_IF_ERROR(CopyVersions());
    KVS_ASSIGN_OR_RETURN(root_, BuildGlobalTree());
    out->EndBlock(snap_.head().revision, snap_.head().time_ns, root_, kKindTransaction);
    KVS_RETURN_IF_ERROR(out_->Finish());
    caught_root_ = snap_.head().root;
    stats_.bytes_after = out_->end();
    return stats_.bytes_after;
  }

  const std::string& unfinished_path() const { return unfinished_path_; }
  // The old file's end in the state the new file holds.
  uint64_t caught_end() const { return caught_end_; }

  // An entry of the old file's global tree that changed: its values
  // before and after (nullopt where absent).
  struct Change {
    std::string key;
    std::optional<std::string> before, after;
  };

  // Carries into the new file what the store committed after the state the
  // new file holds, up to now (a later state of the same old file): one
  // block, from the differences between the two states' global trees.
  // Conflict when something cannot be carried: a head whose version the
  // rules dropped.
  Status CatchUp(const Snapshot& now) {
    if (now.head().root == caught_root_) return Status::OK();
    std::vector<Change> changes;
    KVS_RETURN_IF_ERROR(
        TreeDiff(now, caught_root_, now.head().root, "", "",
                 [&changes](std::string_view key, std::optional<std::string_view> a,
                            std::optional<std::string_view> b) {
                   changes.push_back({std::string(key), OwnedCopy(a), OwnedCopy(b)});
                   return Status::OK();
                 }));
    KVS_RETURN_IF_ERROR(AddRunEntries(now, &changes));
    BlockBuilder* out = out_->builder();
    out->BeginBlock();
    // New versions first, in file order (parents before children): the
    // other entries name them.
    std::vector<uint64_t> added;
    for (const Change& c : changes) {
      if (c.key[0] != 'V' || !c.after) continue;
      KVS_ASSIGN_OR_RETURN(uint64_t offset, DecodeU64Value(*c.after));
      added.push_back(offset);
    }
    std::sort(added.begin(), added.end());
    const size_t first_new = new_versions_.size(), first_tail = tails_.size();
    for (uint64_t offset : added) KVS_RETURN_IF_ERROR(CopyVersion(now, offset));
    TreeWriter global(out_.get(), root_);
    for (size_t i = first_new; i < new_versions_.size(); ++i) {
      const auto& [id, offset] = new_versions_[i];
      KVS_RETURN_IF_ERROR(global.Put(gkey::Version(id), EncodeU64Value(offset)));
    }
    for (size_t i = first_tail; i < tails_.size(); ++i) {
      KVS_RETURN_IF_ERROR(global.Put(tails_[i], ""));
    }
    for (const Change& c : changes) {
      // Id entries leave the old tree only for a run; a run's 'X' entry
      // names the old file's nodes.
      if (c.key[0] == 'V' || c.key[0] == 'X' || (!c.after && IsIdKey(c.key))) continue;
      if (!c.after) {
        KVS_RETURN_IF_ERROR(global.Delete(c.key));
        continue;
      }
      KVS_ASSIGN_OR_RETURN(std::optional<std::string> carried,
                           Carry(now, c.key, c.before, *c.after));
      if (carried) KVS_RETURN_IF_ERROR(global.Put(c.key, *carried));
    }
    KVS_ASSIGN_OR_RETURN(root_, global.Flush(out));
    out->EndBlock(now.head().revision, now.head().time_ns, root_, kKindTransaction);
    KVS_RETURN_IF_ERROR(out_->Finish());
    caught_root_ = now.head().root;
    caught_end_ = now.head().end;
    caught_ = now;
    stats_.bytes_after = out_->end();
    return Status::OK();
  }

  // Adds to changes (the old file's global tree's, from the caught state
  // to now) the id entries that runs made since hold and the caught state
  // did not: those of the runs added, less those of the runs removed
  // (merged) and of the caught tree (moved to a run).
  Status AddRunEntries(const Snapshot& now, std::vector<Change>* changes) {
    std::vector<uint64_t> added, old{caught_root_};
    for (const Change& c : *changes) {
      if (c.key[0] != 'X') continue;
      KVS_ASSIGN_OR_RETURN(RunEntry run, DecodeRun(c.key, c.after ? *c.after : *c.before));
      (c.after ? added : old).push_back(run.root);
    }
    return ForEachEntryNotIn(now, added, old, [&](std::string_view key, std::string_view value) {
      changes->push_back({std::string(key), std::nullopt, std::string(value)});
      return Status::OK();
    });
  }

  // Writes what is built and syncs it, so that publishing syncs little.
  Status Sync() {
    KVS_RETURN_IF_ERROR(out_->Finish());
    return out_->file()->Sync();
  }

  // The evictable keys Build kept, least recently used first (ties: by key);
  // empty unless this is the first build under a size bound.
  std::vector<EvictionCandidate> EvictionCandidates() const {
    std::vector<EvictionCandidate> out;
    for (const auto& [key, c] : candidates_) {
      int64_t read = store_->reads_->LastRead(key);
      out.push_back({key, c.bytes, std::max(read, c.last_used_ns)});
    }
    std::sort(out.begin(), out.end(), [](const EvictionCandidate& a, const EvictionCandidate& b) {
      return a.last_used_ns != b.last_used_ns ? a.last_used_ns < b.last_used_ns : a.key < b.key;
    });
    return out;
  }

  // Publishes what Build wrote as the next generation and switches to it.
  Result<CompactStats> Publish() {
    Env* env = store_->env_;
    const std::string& dir = store_->dir_;
    KVS_RETURN_IF_ERROR(Sync());
    KVS_RETURN_IF_ERROR(env->Rename(unfinished_path(), path_));
    KVS_RETURN_IF_ERROR(env->SyncDir(dir));
    std::shared_ptr<DataFile> old = store_->data();
    KVS_RETURN_IF_ERROR(EndWithMove(old.get(), generation_));
    KVS_RETURN_IF_ERROR(store_->SwitchToGeneration(generation_));
    // Older generations (this one's predecessor, and any a crashed
    // compaction left) are no longer read by anyone who opens the store;
    // processes still holding them follow their "moved" blocks. A
    // compaction that crashed after publishing its file but before ending
    // the old one left a file without that block: end it now, or a process
    // still holding it would never learn it was replaced.
    // They are removed by RemoveReplaced, once the writer lock is let go:
    // removing a large file takes a while.
    KVS_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
    for (const std::string& name : names) {
      if (name.rfind("data.", 0) != 0 || name == DataFileName(generation_)) continue;
      if (auto older = GenerationOf(name); older && *older != old->generation()) {
        KVS_RETURN_IF_ERROR(EndUnannounced(env, dir + "/" + name, *older, generation_,
                                           store_->identity_, /*lock=*/nullptr));
      }
      replaced_.push_back(dir + "/" + name);
    }
    return stats_;
  }

  // Removes the files Publish replaced. Needs the compaction lock only.
  Status RemoveReplaced() {
    for (const std::string& path : replaced_) KVS_RETURN_IF_ERROR(store_->env_->Remove(path));
    return Status::OK();
  }

  // Ends an old data file with a block that names its successor.
  static Status EndWithMove(DataFile* old, uint64_t generation, const Salt& salt) {
    KVS_ASSIGN_OR_RETURN(Snapshot last, old->PrepareAppend());
    if (last.head().moved) return Status::OK();
    BlockBuilder moved(last.head().end, salt);
    moved.BeginBlock();
    uint64_t end =
        moved.EndBlock(last.head().revision, last.head().time_ns, generation, kKindMoved);
    CommitPoint point{
        last.head().revision, last.head().time_ns, 0, last.head().end, end, true, generation};
    return old->Append(moved.bytes(), point, /*sync=*/true);
  }

 private:
  Status EndWithMove(DataFile* old, uint64_t generation) {
    return EndWithMove(old, generation, store_->identity_.salt);
  }

  // The rule with the longest prefix matching key; nullptr: keep everything
  // (no rule matches, or a protected prefix does).
  const RetentionRule* RuleFor(std::string_view key) const {
    const RetentionRule* best = nullptr;
    for (const RetentionRule& r : options_.rules) {
      if (!key.starts_with(r.prefix)) continue;
      if (r.protect) return nullptr;
      if (best == nullptr || r.prefix.size() > best->prefix.size()) best = &r;
    }
    return best;
  }

  bool Evictable(std::string_view key) const {
    const RetentionRule* rule = RuleFor(key);
    return rule != nullptr && rule->evictable;
  }

  // Left out whole: the size bound's choice, or a key the caller drops.
  bool Evicted(std::string_view key) const {
    if (options_.drop_key && options_.drop_key(key)) return true;
    return !evicted_.empty() && evicted_.count(std::string(key)) > 0;
  }

  // Whether the index-th newest entry of key (0 = current) is kept.
  bool KeepEntry(std::string_view key, size_t index, int64_t time_ns) const {
    if (Evicted(key)) return false;
    const RetentionRule* rule = RuleFor(key);
    if (index == 0 || rule == nullptr) return true;
    if (rule->keep_last && index < *rule->keep_last) return true;
    if (rule->keep_younger_ns && time_ns >= now_ns_ - *rule->keep_younger_ns) return true;
    return !rule->keep_last && !rule->keep_younger_ns;
  }

  // Walks the kept entries of one branch tree, in order.
  Status ForEachKeptEntry(uint64_t root,
                          const std::function<Status(std::string_view tree_key, KeyEntry&)>& fn) {
    TreeCursor cursor(&snap_, root);
    KVS_RETURN_IF_ERROR(cursor.Seek(""));
    std::string key;
    size_t index = 0;
    for (; cursor.Valid();) {
      std::string_view k;
      uint64_t rev;
      if (!ParseBranchTreeKey(cursor.key(), &k, &rev)) return Status::Corruption("bad branch key");
      index = (k == key) ? index + 1 : 0;
      if (index == 0) key = std::string(k);
      KVS_ASSIGN_OR_RETURN(KeyEntry entry, DecodeKeyEntry(cursor.value()));
      if (KeepEntry(key, index, entry.heads.front().time_ns)) {
        KVS_RETURN_IF_ERROR(fn(cursor.key(), entry));
      }
      KVS_RETURN_IF_ERROR(cursor.Next());
    }
    return Status::OK();
  }

  // Loads kept_'s slot for the version kPrefetchAhead after versions_[i].
  void PrefetchKeptAhead(size_t i) const {
    if (i + kPrefetchAhead < versions_.size()) kept_.Prefetch(versions_[i + kPrefetchAhead]);
  }

  Status MarkKeptVersions() {
    // Every version, by file offset (the order parents precede children).
    GlobalCursor cursor(&snap_, snap_.head().root);
    KVS_RETURN_IF_ERROR(cursor.Seek("V"));
    for (; cursor.Valid() && cursor.key()[0] == 'V';) {
      KVS_ASSIGN_OR_RETURN(uint64_t offset, DecodeU64Value(cursor.value()));
      versions_.push_back(offset);
      KVS_RETURN_IF_ERROR(cursor.Next());
    }
    std::sort(versions_.begin(), versions_.end());
    kept_.Reserve(versions_.size());
    if (options_.rules.empty() && !options_.drop_key) {
      for (size_t i = 0; i < versions_.size(); ++i) {
        PrefetchKeptAhead(i);
        kept_[versions_[i]] = 0;
      }
      return Status::OK();
    }
    // The evictable keys' versions, to charge each key its share below:
    // only in the first build with a size bound, the one that chooses
    // eviction candidates (rebuilds reuse its list).
    const bool sizing = options_.size_bound.has_value() && evicted_.empty();
    std::unordered_map<uint64_t, std::pair<std::string, uint64_t>> evictable;
    for (uint64_t offset : versions_) {
      KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(snap_, offset));
      if (Evicted(v.key)) continue;
      const RetentionRule* rule = RuleFor(v.key);
      bool young = rule && rule->keep_younger_ns && v.time_ns >= now_ns_ - *rule->keep_younger_ns;
      if (rule == nullptr || young) kept_[offset] = 0;
      if (sizing && rule != nullptr && rule->evictable) {
        // The record, and its entry in the version index.
        evictable[offset] = {std::string(v.key),
                             EncodeVersion(v, compact_records_).body.size() + 64};
      }
    }
    for (size_t b = 0; b < branches_.size(); ++b) {
      auto visit = [&](std::string_view tree_key, KeyEntry& e) {
        for (const HeadRef& h : e.heads) kept_[h.offset] = 0;
        std::string_view key;
        uint64_t rev;
        if (sizing && ParseBranchTreeKey(tree_key, &key, &rev) && Evictable(key)) {
          auto [it, added] = candidates_.try_emplace(std::string(key));
          Candidate& c = it->second;
          if (added) c.bytes += key.size() + 48;  // its tail entry
          for (const HeadRef& h : e.heads) c.last_used_ns = std::max(c.last_used_ns, h.time_ns);
          // Branches mostly share a key's entries (copy-on-write trees), so
          // they are charged to the first branch that has the key.
          if (c.branch == b || c.branch == kNoBranch) {
            c.branch = b;
            c.bytes += tree_key.size() + EncodeKeyEntry(e, compact_records_).size() + 16;
          }
        }
        return Status::OK();
      };
      KVS_RETURN_IF_ERROR(ForEachKeptEntry(branches_[b].second.root, visit));
    }
    for (const auto& [offset, owner] : evictable) {
      if (kept_.Contains(offset)) candidates_[owner.first].bytes += owner.second;
    }
    return Status::OK();
  }

  Status CopyVersions() {
    uint64_t done = 0;
    for (size_t i = 0; i < versions_.size(); ++i) {
      const uint64_t offset = versions_[i];
      PrefetchKeptAhead(i);
      if (options_.progress && ++done % 1024 == 0) options_.progress(done, versions_.size());
      if (!kept_.Contains(offset)) {
        ++stats_.versions_dropped;
        continue;
      }
      KVS_RETURN_IF_ERROR(CopyVersion(snap_, offset));
    }
    if (options_.progress) options_.progress(versions_.size(), versions_.size());
    return Status::OK();
  }

  // Copies the version at offset of the old file, its parents' offsets
  // remapped (a parent not kept becomes 0, and a version left with no
  // parent is a tail).
  Status CopyVersion(const RecordSource& source, uint64_t offset) {
    KVS_ASSIGN_OR_RETURN(VersionRecord v, ReadVersionAt(source, offset));
    bool has_parent = false;
    for (ParentRef& p : v.parents) {
      const uint64_t* parent = kept_.Find(p.offset);
      p.offset = parent == nullptr ? 0 : *parent;
      has_parent = has_parent || p.offset != 0;
    }
    const EncodedRecord record = EncodeVersion(v, compact_records_);
    const uint64_t copied = out_->builder()->Append(record.type, record.body);
    kept_[offset] = copied;
    KVS_RETURN_IF_ERROR(out_->MaybeSpill());
    new_versions_.push_back({v.id, copied});
    if (!has_parent) tails_.push_back(gkey::Tail(v.key, v.id));
    ++stats_.versions_kept;
    return Status::OK();
  }

  // A global tree entry of the old file, changed after the state the new
  // file holds (it was `before` then, nullopt when absent), as the new file
  // holds it; nullopt: it is left out (a link or tail of a dropped version).
  Result<std::optional<std::string>> Carry(const Snapshot& now, const std::string& key,
                                           const std::optional<std::string>& before,
                                           const std::string& after) {
    switch (key[0]) {
      case 'B': {
        KVS_ASSIGN_OR_RETURN(BranchEntry e, DecodeBranchEntry(after));
        uint64_t from = 0;
        if (before) {
          KVS_ASSIGN_OR_RETURN(BranchEntry was, DecodeBranchEntry(*before));
          from = was.root;
        }
        KVS_ASSIGN_OR_RETURN(e.root, CarryBranchTree(now, from, e.root));
        return std::optional<std::string>(EncodeBranchEntry(e));
      }
      case 'C': {
        if (after.size() != 16) return Status::Corruption("malformed commit index entry");
        KVS_ASSIGN_OR_RETURN(uint64_t offset, CopyCommit(now, DecodeFixed64(after.data() + 8)));
        return std::optional<std::string>(after.substr(0, 8) + EncodeU64Value(offset));
      }
      case 'L': {
        if (key.size() != 65) return Status::Corruption("malformed link entry");
        Hash parent, child;
        std::memcpy(parent.bytes.data(), key.data() + 1, 32);
        std::memcpy(child.bytes.data(), key.data() + 33, 32);
        if (!IsKept(parent) || !IsKept(child)) return std::optional<std::string>();
        return std::optional<std::string>(after);
      }
      case 'R': {
        KVS_ASSIGN_OR_RETURN(RevisionEntry r, DecodeRevisionEntry(after));
        r.block = 0;
        if (r.commit != 0) {
          KVS_ASSIGN_OR_RETURN(r.commit, CopyCommit(now, r.commit));
        }
        return std::optional<std::string>(EncodeRevisionEntry(r));
      }
      case 'T': {
        if (key.size() < 34) return Status::Corruption("malformed tail entry");
        Hash id;
        std::memcpy(id.bytes.data(), key.data() + key.size() - 32, 32);
        if (!IsKept(id)) return std::optional<std::string>();
        return std::optional<std::string>(after);
      }
      case 'P':
        return std::optional<std::string>(after);
      default:  // none other is written; Build carries none either
        return std::optional<std::string>();
    }
  }

  // The new file's copy of branch tree `to` of the old file, made from the
  // copy of tree `from` (0: the empty tree) and their differences.
  Result<uint64_t> CarryBranchTree(const Snapshot& now, uint64_t from, uint64_t to) {
    if (const uint64_t* done = new_roots_.Find(to)) return *done;
    const uint64_t* base = new_roots_.Find(from);
    if (base == nullptr) {
      return Status::Corruption("branch tree " + std::to_string(from) + " has no compacted copy");
    }
    TreeWriter tree(out_.get(), *base);
    KVS_RETURN_IF_ERROR(TreeDiff(now, from, to, "", "",
                                 [&](std::string_view key, std::optional<std::string_view>,
                                     std::optional<std::string_view> after) -> Status {
                                   if (!after) return tree.Delete(key);
                                   KVS_ASSIGN_OR_RETURN(KeyEntry e, DecodeKeyEntry(*after));
                                   if (UncopiedHead(e)) {
                                     return Status::Conflict(
                                         "a head written during the compaction is a version the "
                                         "retention rules dropped");
                                   }
                                   return tree.Put(key, EncodeKeyEntry(e, compact_records_));
                                 }));
    KVS_ASSIGN_OR_RETURN(uint64_t root, tree.Flush(out_->builder()));
    new_roots_[to] = root;
    return root;
  }

  static std::optional<std::string> OwnedCopy(std::optional<std::string_view> bytes) {
    return bytes ? std::optional<std::string>(*bytes) : std::nullopt;
  }

  // Points e's heads at their copies in the new file; the old offset of
  // the first one that has none (not copied, or dropped by the rules).
  std::optional<uint64_t> UncopiedHead(KeyEntry& e) const {
    for (HeadRef& h : e.heads) {
      const uint64_t* copy = kept_.Find(h.offset);
      if (copy == nullptr || *copy == 0) return h.offset;
      h.offset = *copy;
    }
    return std::nullopt;
  }

  // shared: the nodes of the branch trees rebuilt before (null: built
  // full, shared with none).
  Result<uint64_t> RebuildBranchTree(uint64_t root, WrittenNodes* shared) {
    if (const uint64_t* done = new_roots_.Find(root)) return *done;
    OrderedTreeBuild tree(out_.get(), shared);
    KVS_RETURN_IF_ERROR(ForEachKeptEntry(root, [&](std::string_view tree_key, KeyEntry& e) {
      // Every head was copied, unless the version index lacks it.
      if (auto missing = UncopiedHead(e)) {
        return Status::Corruption("a head at offset " + std::to_string(*missing) +
                                  " is missing from the version index");
      }
      return tree.Put(tree_key, EncodeKeyEntry(e, compact_records_));
    }));
    KVS_ASSIGN_OR_RETURN(uint64_t new_root, tree.Finish());
    new_roots_[root] = new_root;
    return new_root;
  }

  // The global tree, its entries put in key order: 'B' branches, then what
  // is carried over from the old tree ('C' commits, 'L' links between kept
  // versions, 'P' peer checkpoints, 'R' revisions), then 'T' tails and 'V'
  // versions. In a store of format 4 the id entries ('C', 'L', 'T', 'V')
  // go to one run instead, named by the tree's last entry.
  Result<uint64_t> BuildGlobalTree() {
    // Sorted now, for IsKept and the 'V' entries last.
    std::sort(new_versions_.begin(), new_versions_.end());
    sorted_versions_ = ids_indexed_ = new_versions_.size();
    // Branches whose trees differ are rebuilt apart, and built to share:
    // what their copy-on-write trees shared is written once. One tree
    // alone is built as full as it can be.
    std::unordered_set<uint64_t> distinct_roots;
    for (const auto& [name, branch] : branches_) distinct_roots.insert(branch.root);
    WrittenNodes branch_nodes;
    WrittenNodes* shared = distinct_roots.size() > 1 ? &branch_nodes : nullptr;
    std::vector<uint64_t> branch_roots;
    for (const auto& [name, branch] : branches_) {
      KVS_ASSIGN_OR_RETURN(uint64_t root, RebuildBranchTree(branch.root, shared));
      branch_roots.push_back(root);
    }
    OrderedTreeBuild global(out_.get());
    RunBuilder run(0, out_->builder());
    size_t run_puts = 0;
    auto put_id = [&](std::string_view key, std::string_view value) -> Status {
      if (!store_->id_runs_) return global.Put(key, value);
      KVS_RETURN_IF_ERROR(run.Put(key, value));
      return ++run_puts % kSpillEvery == 0 ? out_->MaybeSpill() : Status::OK();
    };
    for (size_t b = 0; b < branches_.size(); ++b) {
      BranchEntry e = branches_[b].second;
      e.root = branch_roots[b];
      KVS_RETURN_IF_ERROR(global.Put(gkey::Branch(branches_[b].first), EncodeBranchEntry(e)));
    }
    GlobalCursor cursor(&snap_, snap_.head().root);
    KVS_RETURN_IF_ERROR(cursor.Seek("C"));
    for (; cursor.Valid() && cursor.key()[0] < 'T';) {
      std::string_view key = cursor.key();
      switch (key[0]) {
        case 'L': {
          Hash parent, child;
          std::memcpy(parent.bytes.data(), key.data() + 1, 32);
          std::memcpy(child.bytes.data(), key.data() + 33, 32);
          if (IsKept(parent) && IsKept(child)) KVS_RETURN_IF_ERROR(put_id(key, ""));
          break;
        }
        case 'R': {
          KVS_ASSIGN_OR_RETURN(RevisionEntry r, DecodeRevisionEntry(cursor.value()));
          r.block = 0;
          if (r.commit != 0) {
            KVS_ASSIGN_OR_RETURN(r.commit, CopyCommit(snap_, r.commit));
          }
          KVS_RETURN_IF_ERROR(global.Put(key, EncodeRevisionEntry(r)));
          break;
        }
        case 'C': {
          std::string_view v = cursor.value();
          if (v.size() != 16) return Status::Corruption("malformed commit index entry");
          KVS_ASSIGN_OR_RETURN(uint64_t offset, CopyCommit(snap_, DecodeFixed64(v.data() + 8)));
          KVS_RETURN_IF_ERROR(put_id(key, std::string(v.substr(0, 8)) + EncodeU64Value(offset)));
          break;
        }
        case 'P':
          KVS_RETURN_IF_ERROR(global.Put(key, cursor.value()));
          break;
        default:
          break;
      }
      KVS_RETURN_IF_ERROR(cursor.Next());
    }
    std::sort(tails_.begin(), tails_.end());
    for (const std::string& tail : tails_) KVS_RETURN_IF_ERROR(put_id(tail, ""));
    for (const auto& [id, offset] : new_versions_) {
      KVS_RETURN_IF_ERROR(put_id(gkey::Version(id), EncodeU64Value(offset)));
    }
    KVS_ASSIGN_OR_RETURN(RunEntry built, run.Finish());
    if (built.entries > 0) {
      KVS_RETURN_IF_ERROR(global.Put(RunKey(built.seq), EncodeRunValue(built)));
    }
    return global.Finish();
  }

  // Whether the version is in the new file: a binary search of the ones
  // Build copied, sorted, else a lookup among the few catch-ups add.
  bool IsKept(const Hash& id) {
    const auto sorted_end = new_versions_.begin() + static_cast<ptrdiff_t>(sorted_versions_);
    const auto at = std::lower_bound(new_versions_.begin(), sorted_end, id,
                                     [](const auto& v, const Hash& h) { return v.first < h; });
    if (at != sorted_end && at->first == id) return true;
    for (; ids_indexed_ < new_versions_.size(); ++ids_indexed_) {
      kept_ids_.insert(new_versions_[ids_indexed_].first);
    }
    return kept_ids_.count(id) > 0;
  }

  Result<uint64_t> CopyCommit(const RecordSource& source, uint64_t offset) {
    if (const uint64_t* done = commits_.Find(offset)) return *done;
    KVS_ASSIGN_OR_RETURN(RecordView rec, source.ReadRecord(offset));
    if (!IsCommitRecord(rec.type)) return Status::Corruption("commit index points astray");
    uint64_t copied;
    if (compact_records_ && rec.type == kCommitRecord) {
      KVS_ASSIGN_OR_RETURN(CommitRecord c, DecodeCommit(rec.type, rec.body));
      const EncodedRecord record = EncodeCommit(c, /*compact=*/true);
      copied = out_->builder()->Append(record.type, record.body);
    } else {
      copied = out_->builder()->Append(rec.type, rec.body);
    }
    commits_[offset] = copied;
    return copied;
  }

  static constexpr size_t kNoBranch = ~size_t{0};
  struct Candidate {
    uint64_t bytes = 0;
    int64_t last_used_ns = 0;   // the newest head's time
    size_t branch = kNoBranch;  // the one whose entries were counted
  };

  StoreImpl* store_;
  const CompactOptions& options_;
  const Snapshot& snap_;
  const int64_t now_ns_;
  const std::unordered_set<std::string>& evicted_;
  const uint64_t generation_;
  // Format 6: the new file's versions and commits are compact records,
  // whatever the old one held.
  const bool compact_records_ = store_->identity_.format_version >= kStoreFormatCompactRecords;
  const std::string path_;             // of the new file, once published
  const std::string unfinished_path_;  // while it is written
  std::vector<std::string> replaced_;  // the files Publish replaced
  std::unique_ptr<CompactionOutput> out_;
  uint64_t root_ = 0;         // the new file's global tree
  uint64_t caught_root_ = 0;  // the old file's global tree the new file holds
  // The state it is in, kept so its tree stays readable when it is a
  // logged state's, in memory (store/log_window.h).
  Snapshot caught_;
  uint64_t caught_end_ = 0;  // and the end of the old file then
  CompactStats stats_;
  std::unordered_map<std::string, Candidate> candidates_;
  BranchEntries branches_;
  std::vector<uint64_t> versions_;  // old offsets, ascending
  OffsetMap kept_;                  // old offset -> new offset
  std::vector<std::pair<VersionId, uint64_t>> new_versions_;
  size_t sorted_versions_ = 0;  // new_versions_[0, sorted_versions_) is sorted
  // Of new_versions_[sorted_versions_, ids_indexed_).
  std::unordered_set<VersionId, HashHasher> kept_ids_;
  size_t ids_indexed_ = 0;
  std::vector<std::string> tails_;
  OffsetMap new_roots_;  // old branch root -> new
  OffsetMap commits_;    // old commit offset -> new
};

namespace {

Status ValidateCompactOptions(const CompactOptions& options) {
  for (const RetentionRule& r : options.rules) {
    if (r.keep_last && *r.keep_last == 0) {
      return Status::InvalidArgument("keep_last must be at least 1 (the current version)");
    }
    if (r.protect && (r.keep_last || r.keep_younger_ns || r.evictable)) {
      return Status::InvalidArgument("the protected prefix '" + r.prefix +
                                     "' keeps everything; it takes no keep_last, keep_younger "
                                     "or evictable");
    }
  }
  if (const auto& bound = options.size_bound) {
    if (bound->max_bytes == 0 || bound->low_water_bytes >= bound->max_bytes) {
      return Status::InvalidArgument("the size bound needs 0 < low_water_bytes < max_bytes");
    }
  }
  return Status::OK();
}

// How many times the size bound rebuilds the file, each time dropping more
// keys when what the last drop freed fell short; and the share of what is
// needed that the first round aims at.
constexpr int kEvictionRounds = 4;
constexpr double kFirstRoundAim = 0.95;

}  // namespace

// A compaction's inputs, which its Compactor refers to: the state it
// compacts, and the keys the size bound chose to leave out.
struct StoreImpl::CompactionBuild {
  Snapshot snap;
  int64_t now_ns = 0;
  std::unordered_set<std::string> evicted;
  std::vector<std::string> evicted_order;
  bool above_low_water = false;
  std::unique_ptr<Compactor> compactor;
};

Result<CompactStats> StoreImpl::Compact(const CompactOptions& options) {
  KVS_RETURN_IF_ERROR(ValidateCompactOptions(options));
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<CompactionLock> running,
                       CompactionLock::Take(dir_, !options.if_idle));
  auto build = std::make_unique<CompactionBuild>();
  uint64_t generation = 0;
  {
    std::lock_guard<WriterLock> guard(*writer_lock_);
    {
      std::lock_guard<std::mutex> lock(write_mu_);
      KVS_RETURN_IF_ERROR(RollBackFailedWrites(data().get()));
    }
    KVS_ASSIGN_OR_RETURN(build->snap, PrepareAppend());
    generation = data()->generation();
  }
  Status unlocked = BuildCompacted(options, build.get());
  for (int round = 0; unlocked.ok() && round < kCatchUpRounds; ++round) {
    Result<Snapshot> now = Latest();
    if (!now.ok()) {
      unlocked = now.status();
    } else if (data()->generation() != generation) {
      unlocked = CompactedMeanwhile();
    } else {
      const uint64_t behind = now->head().end - build->compactor->caught_end();
      unlocked = build->compactor->CatchUp(*now);
      if (behind < kLockedCatchUpBytes) break;
    }
  }
  if (unlocked.ok()) unlocked = build->compactor->Sync();
  // A conflict (something the catch-up cannot carry) is settled below,
  // holding the lock; any other failure ends the compaction here.
  if (!unlocked.ok() && !unlocked.IsConflict()) {
    RemoveUnfinished(build.get());
    return unlocked;
  }

  Result<CompactStats> stats = [&] {
    std::lock_guard<WriterLock> guard(*writer_lock_);
    Result<CompactStats> published = PublishCompacted(options, unlocked, generation, &build);
    if (!published.ok()) RemoveUnfinished(build.get());
    if (published.status().IsWriteFailure()) {
      // The old file may end in part of its "moved" block: as after a
      // failed transaction, roll it back before the lock goes.
      std::lock_guard<std::mutex> lock(write_mu_);
      if (sticky_error_.ok()) sticky_error_ = published.status();
      RollBackFailedWrites(data().get());
    }
    return published;
  }();
  if (!stats.ok()) return stats;
  KVS_RETURN_IF_ERROR(build->compactor->RemoveReplaced());
  return stats;
}

Status StoreImpl::CompactedMeanwhile() {
  return Status::IOError("another program compacted " + dir_ +
                         " meanwhile (a kvs older than 0.2?); this compaction was dropped");
}

void StoreImpl::RemoveUnfinished(CompactionBuild* build) {
  if (build->compactor) env_->Remove(build->compactor->unfinished_path());
}

Result<CompactStats> StoreImpl::PublishCompacted(const CompactOptions& options,
                                                 const Status& unlocked, uint64_t generation,
                                                 std::unique_ptr<CompactionBuild>* build) {
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    KVS_RETURN_IF_ERROR(RollBackFailedWrites(data().get()));
  }
  KVS_ASSIGN_OR_RETURN(Snapshot last, PrepareAppend());
  if (data()->generation() != generation) return CompactedMeanwhile();
  Status caught = unlocked.ok() ? (*build)->compactor->CatchUp(last) : unlocked;
  if (caught.IsConflict()) {
    // Compact again from this state, holding the lock.
    RemoveUnfinished(build->get());
    *build = std::make_unique<CompactionBuild>();
    (*build)->snap = std::move(last);
    caught = BuildCompacted(options, build->get());
  }
  KVS_RETURN_IF_ERROR(caught);
  KVS_ASSIGN_OR_RETURN(CompactStats stats, (*build)->compactor->Publish());
  stats.evicted_keys = std::move((*build)->evicted_order);
  stats.above_low_water = (*build)->above_low_water;
  return stats;
}

Status StoreImpl::BuildCompacted(const CompactOptions& options, CompactionBuild* build) {
  build->now_ns = NowNs();
  const Snapshot& snap = build->snap;
  auto& evicted = build->evicted;
  build->compactor = std::make_unique<Compactor>(this, options, snap, build->now_ns, evicted);
  KVS_ASSIGN_OR_RETURN(uint64_t size, build->compactor->Build());
  if (const auto& bound = options.size_bound; bound && size > bound->max_bytes) {
    std::vector<EvictionCandidate> candidates = build->compactor->EvictionCandidates();
    size_t next = 0;
    // What a key's estimate really frees, learned from each round: the
    // first aims a little short, the next ones top up with the estimates
    // scaled, so the result lands just under the mark.
    double scale = 1.0;
    for (int round = 0;
         round < kEvictionRounds && size > bound->low_water_bytes && next < candidates.size();
         ++round) {
      const double aim =
          static_cast<double>(size - bound->low_water_bytes) * (round == 0 ? kFirstRoundAim : 1.0);
      uint64_t estimate = 0;
      do {
        evicted.insert(candidates[next].key);
        build->evicted_order.push_back(candidates[next].key);
        estimate += candidates[next].bytes;
        ++next;
      } while (next < candidates.size() && static_cast<double>(estimate) * scale < aim);
      const uint64_t before = size;
      build->compactor = std::make_unique<Compactor>(this, options, snap, build->now_ns, evicted);
      KVS_ASSIGN_OR_RETURN(size, build->compactor->Build());
      if (estimate > 0 && before > size) {
        scale = static_cast<double>(before - size) / static_cast<double>(estimate);
      }
    }
    build->above_low_water = size > bound->low_water_bytes;
  }
  return Status::OK();
}

Status EndDataFileWithMove(DataFile* old, uint64_t generation, const Salt& salt) {
  return Compactor::EndWithMove(old, generation, salt);
}

Status EndUnannounced(Env* env, const std::string& path, uint64_t generation, uint64_t live,
                      const StoreIdentity& id, WriterLock* lock) {
  auto file = DataFile::Open(env, path, generation, id.salt, id.replica);
  if (file.status().IsNotFound() || file.status().IsCorruption()) return Status::OK();
  if (!file.ok()) return file.status();
  KVS_ASSIGN_OR_RETURN(Snapshot last, (*file)->Latest());
  if (last.head().moved) return Status::OK();
  std::unique_lock<WriterLock> guard;
  if (lock != nullptr) guard = std::unique_lock<WriterLock>(*lock);
  return Compactor::EndWithMove(file->get(), live, id.salt);
}

}  // namespace kvs
