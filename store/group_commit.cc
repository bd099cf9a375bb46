// The group commit, which runs every transaction (store/store_write.cc
// and store/store_branches.cc make them) and Checkpoint.
//
// The group commit follows LevelDB's DBImpl::Write: writers queue up; the
// one at the front becomes the leader, takes the interprocess writer lock,
// runs every queued transaction in order (each its own block, revision and
// commit, each checked against the state the previous one left), writes all
// blocks with one write and one fdatasync, and wakes the others with their
// results.
//
// A failed write or sync (a full disk, an I/O error) leaves bytes of unknown
// fate after the last durable commit. Before the writer lock leaves this
// process, where another could build on them, the leader holding it cuts
// the file back to that commit and syncs (DataFile::RollBack), and the
// store writes again at once: a full disk fails the writes that find it
// full and no others. While the rollback itself fails, the error is sticky
// and every leader tries the rollback again before writing.
//
// Groups overlap by one stage: once a leader has written its blocks it
// leaves the queue, and the next leader runs its transactions on top of
// those blocks while they are synced. It keeps its own blocks in memory
// until that sync ends, then writes them and syncs in turn, so no group
// reaches the file before the one it builds on is on disk. Readers of this
// process see a group only once it is synced (DataFile::Publish); the
// writer lock passes from leader to leader without being released.
//
// Each waiting writer sleeps on its own semaphore, not on a condition
// variable under write_mu_: the leader posts results under the mutex but
// wakes the writers after releasing it, so a woken writer runs at once
// instead of waking only to block on the mutex the leader still holds (a
// convoy that cost each follower a second context switch).
#include <semaphore.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <unordered_map>

#include "store/edit_log.h"
#include "store/format.h"
#include "store/id_runs.h"
#include "store/store_impl.h"

namespace kvs {

namespace {

// A one-shot POSIX semaphore.
class WakeUp {
 public:
  WakeUp() { sem_init(&sem_, 0, 0); }
  ~WakeUp() { sem_destroy(&sem_); }
  WakeUp(const WakeUp&) = delete;
  WakeUp& operator=(const WakeUp&) = delete;
  void Post() { sem_post(&sem_); }
  void Wait() {
    while (sem_wait(&sem_) != 0) {
    }  // EINTR
  }

 private:
  sem_t sem_;
};

// The largest buffer a group's blocks were built in that is kept for the
// next group (a checkpoint's is about 1 MiB, a 5,000-key transaction's up
// to 8): an idle store should not hold the memory of a large transaction
// long done.
constexpr size_t kSpareBlockBytes = size_t{8} << 20;

}  // namespace

struct StoreImpl::Writer {
  TxnFunction fn;
  bool checkpoint = false;  // instead of fn: GroupBuild::Checkpoint
  size_t bytes_hint = 0;
  std::optional<Result<WriteResult>> result;  // set by the leader before it wakes this writer
  // Posted once, outside write_mu_: when result is set, or when this writer
  // has become the front of the queue and must lead. Posting is the waker's
  // last use of the writer, which may return (and end) as soon as it wakes:
  // POSIX makes a semaphore safe to destroy once sem_wait returned, which
  // std::binary_semaphore does not promise (and libstdc++'s spins with
  // sched_yield before it sleeps, a context switch per turn).
  WakeUp wake;
};

namespace {

constexpr size_t kMaxGroupWriters = 128;
// How long leaders pass the writer lock on to one another before one
// releases it, giving writers of other processes their turn.
constexpr int64_t kMaxLockHoldNs = 20'000'000;

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Reads what a group builds on: its own blocks, the nodes of the window it
// logs into, and the state the group started from.
class GroupSource : public RecordSource {
 public:
  GroupSource(const Snapshot* committed, const BlockBuilder* pending)
      : committed_(committed), pending_(pending) {}
  void set_arena(const NodeArena* arena) { arena_ = arena; }
  Result<RecordView> ReadRecord(uint64_t offset) const override {
    if (arena_ != nullptr && arena_->Holds(offset)) return arena_->ReadRecord(offset);
    return pending_->Contains(offset) ? pending_->ReadRecord(offset)
                                      : committed_->ReadRecord(offset);
  }

 private:
  const Snapshot* committed_;
  const BlockBuilder* pending_;
  const NodeArena* arena_ = nullptr;
};

// A logged transaction's global tree nodes go to its window's arena; the
// records they replace are counted in its block.
class ArenaSink : public NodeSink {
 public:
  ArenaSink(NodeArena* arena, BlockBuilder* block) : arena_(arena), block_(block) {}
  uint64_t Append(char type, std::string_view body) override { return arena_->Append(type, body); }
  void AddSuperseded(uint64_t bytes) override { block_->AddSuperseded(bytes); }

 private:
  NodeArena* arena_;
  BlockBuilder* block_;
};

// The blocks of one group, built transaction by transaction on top of a
// snapshot (published or only written), each its own block and revision.
// In a logged store (windows set) a transaction's block carries its global
// tree edits instead of the tree's changed nodes (a logged block), and with
// logs_branches its branch trees' too, unless its window is full or an edit
// cannot be logged: then the block is a checkpoint, which writes the trees'
// nodes the window kept in memory, and a new window starts.
class GroupBuild {
 public:
  // superseded: what the file's blocks so far count (store/format.h);
  // format_version: the store's, which says what its blocks may hold;
  // buffer: memory to build the blocks in.
  GroupBuild(Snapshot snap, const Salt& salt, uint64_t superseded, LogWindows* windows,
             uint32_t format_version, size_t checkpoint_blocks, std::string buffer)
      : snap_(std::move(snap)),
        head_(snap_.head()),
        builder_(head_.end, salt, std::move(buffer)),
        windows_(windows),
        logs_branches_(windows != nullptr && format_version >= format::kStoreFormatLoggedBranches),
        id_runs_(windows != nullptr && format_version >= format::kStoreFormatIdRuns),
        compact_edits_(format_version >= format::kStoreFormatCompactEdits),
        compact_records_(format_version >= format::kStoreFormatCompactRecords),
        checkpoint_blocks_(checkpoint_blocks) {
    builder_.set_superseded(superseded);
    builder_.set_compact_nodes(compact_records_);
  }
  GroupBuild(const GroupBuild&) = delete;
  GroupBuild& operator=(const GroupBuild&) = delete;
  ~GroupBuild() {
    if (global_ && window_) window_->KeepWriter(std::move(global_));
  }

  Result<WriteResult> Run(const TxnFunction& fn) {
    KVS_RETURN_IF_ERROR(FindWindow());
    builder_.BeginBlock();
    // One global tree writer for the group, and kept by the window for the
    // next group: a transaction's flush keeps its nodes, so the next one
    // starts from the same paths, already loaded. A failed transaction's
    // edits are dropped with the writer.
    if (!global_) {
      if (window_) global_ = window_->TakeWriter(head_.root);
      if (global_) {
        global_->set_source(&source_);
      } else {
        global_ = std::make_unique<TreeWriter>(&source_, head_.root);
      }
    }
    const uint64_t revision = head_.revision + 1;
    const int64_t time_ns = std::max(NowNs(), head_.time_ns + 1);
    edits_.Start(compact_edits_, builder_.block_start(), revision, time_ns);
    global_->set_log(window_ ? &edits_ : nullptr);
    std::optional<ArenaSink> in_memory;
    if (logs_branches_) in_memory.emplace(window_->arena().get(), &builder_);
    PendingIds ids;
    TxnContext ctx{.source = &source_,
                   .builder = &builder_,
                   .global = &*global_,
                   .global_root = head_.root,
                   .branch_nodes = in_memory ? static_cast<NodeSink*>(&*in_memory) : &builder_,
                   .branch_log = in_memory ? &edits_ : nullptr,
                   .revision = revision,
                   .time_ns = time_ns,
                   .ids = id_runs_ ? &ids : nullptr,
                   .compact_records = compact_records_};
    Result<WriteResult> r = fn(&ctx);
    Status s = r.status();
    if (s.ok()) {
      s = global_->Put(
          gkey::Revision(ctx.revision),
          EncodeRevisionEntry({builder_.block_start(), ctx.commit_offset, ctx.time_ns}));
    }
    Result<CommitPoint> point = s.ok() ? EndBlock(ctx) : Result<CommitPoint>(s);
    if (!point.ok()) {
      global_.reset();
      Abort();
      return point.status();
    }
    head_ = *point;
    return r;
  }

  // When the newest block is a logged one: a checkpoint of the state after
  // it, with its revision and time and no records but the tree's nodes
  // that its window kept in memory (store/format.h). Nothing otherwise.
  Result<WriteResult> Checkpoint() {
    WriteResult none;
    none.revision = head_.revision;
    none.time_ns = head_.time_ns;
    if (windows_ == nullptr || !head_.logged()) return none;
    KVS_RETURN_IF_ERROR(FindWindow());
    builder_.BeginBlock();
    const uint64_t block = builder_.block_start();
    Result<uint64_t> root = Materialize(head_.root);
    if (!root.ok()) {
      Abort();
      return root.status();
    }
    uint64_t end =
        builder_.EndBlock(head_.revision, head_.time_ns, *root, format::kKindTransaction);
    StartWindow(CommitPoint{head_.revision, head_.time_ns, *root, block, end, false, 0});
    return none;
  }

  const std::string& bytes() const { return builder_.bytes(); }
  // The memory the blocks were built in, once they are written.
  std::string TakeBuffer() { return builder_.TakeBuffer(); }
  // The newest commit built so far (the snapshot's when none is).
  const CommitPoint& head() const { return head_; }

 private:
  // The window the next block logs into (a logged store's).
  Status FindWindow() {
    if (windows_ == nullptr || window_) return Status::OK();
    Result<std::shared_ptr<LogWindow>> w =
        head_.logged()
            ? windows_->Get(snap_, head_.base)
            : Result<std::shared_ptr<LogWindow>>(windows_->Start(snap_.generation(), head_));
    if (!w.ok()) return w.status();
    window_ = std::move(*w);
    source_.set_arena(window_->arena().get());
    return Status::OK();
  }

  // Drops the open block, and the sliced run merges (store/id_runs.h),
  // whose slices may have been in it.
  void Abort() {
    builder_.AbortBlock();
    if (windows_ != nullptr) windows_->TakeMerges();
  }

  // After checkpoint, the newest block: the next transaction starts from
  // the tree in the file, in a new window.
  void StartWindow(const CommitPoint& checkpoint) {
    head_ = checkpoint;
    global_.reset();
    window_ = windows_->Start(snap_.generation(), checkpoint);
    source_.set_arena(window_->arena().get());
  }

  // Flushes the global tree and ends the transaction's block, its pending
  // id entries put into the tree (a logged block) or into a run (a
  // checkpoint).
  Result<CommitPoint> EndBlock(const TxnContext& ctx) {
    const uint64_t block = builder_.block_start();
    const size_t edits = edits_.count() + (ctx.ids != nullptr ? ctx.ids->size() : 0);
    const bool checkpoint =
        window_ && (!edits_.loggable() || window_->Full(checkpoint_blocks_, edits));
    IdEntries ids = ctx.ids != nullptr ? ctx.ids->TakeSorted() : IdEntries();
    if (!checkpoint || !id_runs_) {
      for (const auto& [key, value] : ids) KVS_RETURN_IF_ERROR(global_->Put(key, value));
      ids.clear();
    }
    // A checkpoint right after a checkpoint, whose branch entries name no
    // tree in memory (its branch trees went to the block, as a large
    // transaction's do), has nothing in memory: the tree goes straight to
    // the block too (a bulk load's transactions, one after another), unless
    // its id entries move to a run first.
    const bool nothing_in_memory = !head_.logged() && edits_.loggable() && !edits_.branch_edits();
    if (!window_ || (checkpoint && nothing_in_memory && !id_runs_)) {
      KVS_ASSIGN_OR_RETURN(uint64_t root, global_->FlushAndKeep(&builder_));
      uint64_t end = builder_.EndBlock(ctx.revision, ctx.time_ns, root, format::kKindTransaction);
      CommitPoint point{ctx.revision, ctx.time_ns, root, block, end, false, 0};
      if (window_) StartWindow(point);
      return point;
    }
    ArenaSink sink(window_->arena().get(), &builder_);
    KVS_ASSIGN_OR_RETURN(uint64_t root, global_->FlushAndKeep(&sink));
    if (checkpoint) {
      KVS_ASSIGN_OR_RETURN(root, Materialize(root, std::move(ids)));
      uint64_t end = builder_.EndBlock(ctx.revision, ctx.time_ns, root, format::kKindTransaction);
      CommitPoint point{ctx.revision, ctx.time_ns, root, block, end, false, 0};
      StartWindow(point);
      return point;
    }
    // The edit record goes last: readers find it from the block's end.
    std::string body = edits_.Encode();
    builder_.Append(format::kEditRecord, body);
    // A compaction keeps none of it, nor this block's header and trailer.
    builder_.AddSuperseded(RecordFileBytes(body.size()) + format::kBlockHeaderSize +
                           format::kTrailerSize);
    const uint64_t base = window_->base().block;
    uint64_t end = builder_.EndBlock(ctx.revision, ctx.time_ns, base, format::kKindLogged);
    CommitPoint point{ctx.revision, ctx.time_ns, root, block, end, false, 0, base};
    window_->AddNext(point, root, edits_.count());
    return point;
  }

  // Writes the state whose global tree is at root into the block where it
  // is in memory: the branch trees its entries name, then the tree itself,
  // its id entries first moved into a run in a store of format 4 with
  // the ones added (store/id_runs.h). Returns the tree's root in the block.
  Result<uint64_t> Materialize(uint64_t root, IdEntries added = {}) {
    ArenaSink scratch(window_->arena().get(), &builder_);
    if (id_runs_) {
      // The merges under way are dropped when this fails.
      RunMerges merges = windows_->TakeMerges();
      KVS_ASSIGN_OR_RETURN(
          root, MoveIdEntriesToRun(source_, root, builder_.start(), std::move(added), &builder_,
                                   &scratch, snap_.generation(), &merges));
      windows_->KeepMerges(std::move(merges));
    }
    return MaterializeState(source_, root, &scratch, &builder_);
  }

  Snapshot snap_;
  CommitPoint head_;
  BlockBuilder builder_;
  GroupSource source_{&snap_, &builder_};
  std::unique_ptr<TreeWriter> global_;
  LogWindows* const windows_;   // null: a store that writes no logged blocks
  const bool logs_branches_;    // store format 3: branch tree edits are logged too
  const bool id_runs_;          // format 4: checkpoints move id entries into runs
  const bool compact_edits_;    // format 5: edit records are compact
  const bool compact_records_;  // format 6: version and commit records are too
  const size_t checkpoint_blocks_;
  std::shared_ptr<LogWindow> window_;
  EditLog edits_;
};

}  // namespace

Result<WriteResult> StoreImpl::RunTransaction(TxnFunction fn, size_t bytes_hint) {
  Writer w;
  w.fn = std::move(fn);
  w.bytes_hint = bytes_hint;
  return RunWriter(&w);
}

Status StoreImpl::Checkpoint() {
  if (!logged_) return Status::OK();
  Writer w;
  w.checkpoint = true;
  return RunWriter(&w).status();
}

Result<WriteResult> StoreImpl::RunWriter(Writer* w) {
  std::unique_lock<std::mutex> lock(write_mu_);
  writers_.push_back(w);
  if (writers_.front() != w) {
    if (absorbing_) synced_.notify_all();  // the leader takes writers until the sync ends
    lock.unlock();
    w->wake.Wait();
    if (w->result) return std::move(*w->result);
    lock.lock();  // woken to lead
  }
  return CommitGroup(w, &lock);
}

Result<WriteResult> StoreImpl::CommitGroup(Writer* leader, std::unique_lock<std::mutex>* lock) {
  // The group is a prefix of writers_, starting with the leader; it grows
  // while the group before is being synced.
  size_t taken = 0;
  size_t bytes = 0;
  auto take_queued = [&] {
    size_t from = taken;
    while (taken < writers_.size() && taken < kMaxGroupWriters &&
           (taken == 0 || bytes + writers_[taken]->bytes_hint <= options_.max_group_bytes)) {
      bytes += writers_[taken++]->bytes_hint;
    }
    return std::vector<Writer*>(writers_.begin() + static_cast<ptrdiff_t>(from),
                                writers_.begin() + static_cast<ptrdiff_t>(taken));
  };
  std::vector<Writer*> batch = take_queued();
  std::vector<Writer*> group;
  Status error;
  const bool roll_back_first = !sticky_error_.ok();
  // While the group before is being synced, build on its written blocks
  // under the writer lock it holds, unless another thread of this process
  // (a compaction, another Store) waits for that lock, or the lock has been
  // passed on for kMaxLockHoldNs: other processes cannot be seen waiting,
  // and under steady load they would otherwise wait as long as it lasts.
  const int64_t now = SteadyNowNs();
  const bool build_on_syncing = !roll_back_first && syncing_ && !writer_lock_->HasWaiters() &&
                                now - lock_taken_ns_ < kMaxLockHoldNs;
  if (build_on_syncing) handoff_ = true;
  lock->unlock();

  if (!build_on_syncing) {
    writer_lock_->lock();
    lock_taken_ns_ = SteadyNowNs();  // read by the leaders it is handed to
  }
  if (roll_back_first) {
    lock->lock();
    error = RollBackFailedWrites(data().get());
    lock->unlock();
  }
  std::shared_ptr<DataFile> file;
  std::optional<GroupBuild> build;
  std::vector<Result<WriteResult>> results;
  if (error.ok()) {
    // Another process may have compacted; PrepareAppend follows it.
    Result<Snapshot> snap = PrepareAppend();
    file = data();
    if (!snap.ok()) {
      error = snap.status();
    } else if (Result<uint64_t> garbage = GarbageBytes(*snap, file->generation()); !garbage.ok()) {
      error = garbage.status();
    } else {
      build.emplace(std::move(*snap), identity_.salt, *garbage, logged_ ? &windows_ : nullptr,
                    identity_.format_version, options_.checkpoint_blocks, spare_blocks_.Take());
    }
  }

  // The blocks go to the file only after the group before is synced: a
  // group on disk then implies that every group before it is whole, which
  // is what lets a reader trust the newest valid trailer (store/format.h).
  // Until then, writers that queue up join this group. After the wait this
  // leader holds the writer lock (when holds_lock), taken itself or handed
  // over by the group before.
  for (;;) {
    for (Writer* w : batch) {
      if (error.ok()) results.push_back(w->checkpoint ? build->Checkpoint() : build->Run(w->fn));
      group.push_back(w);
    }
    lock->lock();
    if (!syncing_) break;
    batch = take_queued();
    if (batch.empty()) {
      absorbing_ = true;
      synced_.wait(*lock);
      absorbing_ = false;
      batch = take_queued();
    }
    lock->unlock();
  }
  if (error.ok() && !sticky_error_.ok()) error = sticky_error_;  // the group before failed
  bool written = false;
  if (error.ok() && !build->bytes().empty()) {
    lock->unlock();
    error = file->Write(build->bytes(), build->head());
    lock->lock();
    written = error.ok();
    // The next leader may build on these blocks while they are synced.
    syncing_ = written;
  }
  writers_.erase(writers_.begin(), writers_.begin() + static_cast<ptrdiff_t>(group.size()));
  Writer* next = writers_.empty() ? nullptr : writers_.front();
  lock->unlock();
  // The next leader cannot leave before it is woken, so it is safe to use
  // after the unlock; so are the followers, up to their own wake-up.
  if (next != nullptr) next->wake.Post();
  const auto sync_started = std::chrono::steady_clock::now();
  const bool synced = written && options_.sync == SyncMode::kSync;
  if (synced) error = file->Sync();
  const double sync_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - sync_started).count();
  if (written && error.ok()) file->Publish(build->head());
  if (build) {
    std::string buffer = build->TakeBuffer();
    if (buffer.capacity() <= kSpareBlockBytes) spare_blocks_.Give(std::move(buffer));
  }

  lock->lock();
  const size_t transactions = static_cast<size_t>(
      std::count_if(group.begin(), group.end(), [](const Writer* w) { return !w->checkpoint; }));
  if (written && error.ok() && transactions > 0) {
    CountGroup(transactions, synced ? sync_seconds : -1);
  }
  if (error.ok()) {
    for (size_t i = 0; i < group.size(); ++i) group[i]->result = std::move(results[i]);
  } else {
    if (error.IsWriteFailure() && sticky_error_.ok()) sticky_error_ = error;
    for (Writer* w : group) w->result = Result<WriteResult>(error);
  }
  if (written) syncing_ = false;
  if (handoff_) {
    handoff_ = false;  // a leader that built on this group takes the writer lock over
  } else {
    RollBackFailedWrites(file ? file.get() : data().get());
    writer_lock_->unlock();
  }
  Result<WriteResult> result = std::move(*leader->result);
  lock->unlock();
  if (written) synced_.notify_all();
  for (size_t i = 1; i < group.size(); ++i) group[i]->wake.Post();
  return result;
}

namespace {
// The bucket of a histogram with these upper bounds that value falls in;
// bounds.size() when it is above them all.
template <size_t N>
size_t BucketOf(const std::array<double, N>& bounds, double value) {
  return static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) -
                             bounds.begin());
}
}  // namespace

void StoreImpl::CountGroup(size_t transactions, double sync_seconds) {
  GroupCommitStats& s = group_commits_;
  ++s.groups;
  s.transactions += transactions;
  if (size_t b = BucketOf(s.kGroupBounds, static_cast<double>(transactions));
      b < s.group_buckets.size()) {
    ++s.group_buckets[b];
  }
  if (sync_seconds < 0) return;
  ++s.syncs;
  s.sync_seconds += sync_seconds;
  if (size_t b = BucketOf(s.kSyncBounds, sync_seconds); b < s.sync_buckets.size()) {
    ++s.sync_buckets[b];
  }
}

GroupCommitStats StoreImpl::GroupCommits() {
  std::lock_guard<std::mutex> lock(write_mu_);
  return group_commits_;
}

Status StoreImpl::Health() {
  KVS_RETURN_IF_ERROR(Latest().status());
  std::lock_guard<std::mutex> lock(write_mu_);
  return sticky_error_;
}

Status StoreImpl::RollBackFailedWrites(DataFile* file) {
  if (sticky_error_.ok()) return Status::OK();
  // Blocks this process built past the durable end are gone, and other
  // blocks may take their offsets: forget what the windows knew.
  windows_.Clear();
  if (file->RollBack().ok()) sticky_error_ = Status::OK();
  return sticky_error_;
}

Status StoreImpl::EndReplacedFile() {
  // A compactor that crashed after publishing data.N+1 but before ending
  // data.N with its "moved" block leaves readers of data.N unaware; the
  // next writer finishes its job, so no write lands in a replaced file.
  std::shared_ptr<DataFile> file = data();
  if (!env_->Exists(dir_ + "/" + DataFileName(file->generation() + 1))) return Status::OK();
  KVS_ASSIGN_OR_RETURN(uint64_t live, LiveGeneration(env_, dir_));
  return EndDataFileWithMove(file.get(), live, identity_.salt);
}

Result<Snapshot> StoreImpl::FollowCompaction() {
  KVS_RETURN_IF_ERROR(EndReplacedFile());
  return Latest();
}

Result<Snapshot> StoreImpl::PrepareAppend() {
  KVS_RETURN_IF_ERROR(EndReplacedFile());
  return FollowMoves(&DataFile::PrepareAppend);
}

}  // namespace kvs
