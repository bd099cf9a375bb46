#include "store/log_window.h"

#include <functional>
#include <string>
#include <unordered_map>
#include <utility>

#include "store/btree.h"
#include "store/edit_log.h"
#include "store/entries.h"

namespace kvs {

bool LogWindow::Full(size_t checkpoint_blocks, size_t edits) const {
  if (edits > kLoggedEditsMax) return true;
  std::lock_guard<std::mutex> lock(mu_);
  const size_t blocks = known_.empty() ? 0 : known_.rbegin()->second.blocks;
  if (!known_.empty()) edits += known_.rbegin()->second.edits;
  return blocks + 1 >= checkpoint_blocks || edits > kCheckpointEdits ||
         arena_->bytes() >= kCheckpointBytes;
}

std::optional<uint64_t> LogWindow::RootAfter(const CommitPoint& block) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = known_.find(block.block);
  if (it == known_.end() || it->second.block.end != block.end ||
      it->second.block.revision != block.revision || it->second.block.base != block.base) {
    return std::nullopt;
  }
  return it->second.root;
}

void LogWindow::Add(const Known& known) {
  std::lock_guard<std::mutex> lock(mu_);
  known_.insert_or_assign(known.block.block, known);
}

void LogWindow::AddNext(const CommitPoint& block, uint64_t root, size_t edits) {
  Known next{block, root, 1, edits};
  next.block.root = 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (!known_.empty()) {
    next.blocks += known_.rbegin()->second.blocks;
    next.edits += known_.rbegin()->second.edits;
  }
  known_.insert_or_assign(block.block, next);
}

void LogWindow::KeepWriter(std::unique_ptr<TreeWriter> writer) {
  if (writer->changed() || writer->held_bytes() > kKeptWriterBytes) return;
  writer->set_source(nullptr);
  writer->set_log(nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  kept_writer_ = std::move(writer);
}

std::unique_ptr<TreeWriter> LogWindow::TakeWriter(uint64_t root) {
  std::unique_ptr<TreeWriter> writer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    writer = std::move(kept_writer_);
  }
  if (writer && writer->root() != root) writer.reset();
  return writer;
}

void LogWindow::DropWriter() {
  std::unique_ptr<TreeWriter> dropped;  // freed outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  dropped = std::move(kept_writer_);
}

Result<uint64_t> LogWindow::Root(const Snapshot& snap, const CommitPoint& to) {
  if (std::optional<uint64_t> root = RootAfter(to)) return *root;
  std::lock_guard<std::mutex> replay(replay_mu_);
  // Another thread may have replayed it meanwhile.
  if (std::optional<uint64_t> root = RootAfter(to)) return *root;
  // From the newest known block before `to`, or from the base.
  Known from{base_, base_.root, 0, 0};
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = known_.lower_bound(to.block);
    if (it != known_.begin()) from = (--it)->second;
  }
  // The edits of every block in between, and one flush: the roots between
  // are replayed again if a read of a past revision asks for one.
  TreeWriter tree(&snap, from.root);
  EditReplay edits(&tree, &snap, arena_.get());
  Known reached = from;
  CommitPoint& block = reached.block;
  for (uint64_t at = from.block.end; at <= to.block; at = block.end) {
    KVS_ASSIGN_OR_RETURN(block, snap.ReadCommitPoint(at));
    if (block.base != base_.block) {
      return Status::Corruption("the block at offset " + std::to_string(at) +
                                " breaks the log that starts at offset " +
                                std::to_string(base_.block));
    }
    KVS_ASSIGN_OR_RETURN(std::string_view body, ReadEditRecord(snap, block));
    KVS_ASSIGN_OR_RETURN(size_t applied, ApplyEdits(body, block, &edits));
    reached.edits += applied;
    ++reached.blocks;
  }
  if (block.block != to.block || block.end != to.end || block.revision != to.revision) {
    return Status::Corruption("the logged block at offset " + std::to_string(to.block) +
                              " does not follow the blocks before it");
  }
  KVS_RETURN_IF_ERROR(edits.Finish());
  KVS_ASSIGN_OR_RETURN(reached.root, tree.Flush(arena_.get()));
  Add(reached);
  return reached.root;
}

Result<std::shared_ptr<LogWindow>> LogWindows::Get(const Snapshot& snap, uint64_t base) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& w : windows_) {
      if (w->generation() == snap.generation() && w->base().block == base) return w;
    }
  }
  KVS_ASSIGN_OR_RETURN(CommitPoint point, snap.ReadCommitPoint(base));
  if (point.logged() || point.moved) {
    return Status::Corruption("a logged block names as its base the block at offset " +
                              std::to_string(base) + ", which is no checkpoint");
  }
  return Start(snap.generation(), point);
}

std::shared_ptr<LogWindow> LogWindows::Start(uint64_t generation, const CommitPoint& base) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& w : windows_) {
    if (w->generation() == generation && w->base().block == base.block) return w;
  }
  // A window older than this one will not be written to again (a reader
  // of a past state may start one that is not).
  for (const auto& w : windows_) {
    if (std::pair(w->generation(), w->base().block) < std::pair(generation, base.block)) {
      w->DropWriter();
    }
  }
  windows_.push_back(std::make_shared<LogWindow>(generation, base));
  if (windows_.size() > kKept) windows_.erase(windows_.begin());
  return windows_.back();
}

void LogWindows::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  windows_.clear();
  merges_.clear();
}

RunMerges LogWindows::TakeMerges() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::move(merges_);
}

void LogWindows::KeepMerges(RunMerges merges) {
  std::lock_guard<std::mutex> lock(mu_);
  merges_ = std::move(merges);
}

namespace {
// Calls visit with every branch entry of the global tree at root whose
// tree is in memory.
Status ForEachBranchInMemory(const RecordSource& source, uint64_t root,
                             const std::function<Status(std::string_view, BranchEntry)>& visit) {
  const std::string prefix = gkey::Branch("");
  TreeCursor cursor(&source, root);
  KVS_RETURN_IF_ERROR(cursor.Seek(prefix));
  while (cursor.Valid() && cursor.key().starts_with(prefix)) {
    KVS_ASSIGN_OR_RETURN(BranchEntry e, DecodeBranchEntry(cursor.value()));
    if (IsVirtual(e.root)) KVS_RETURN_IF_ERROR(visit(cursor.key(), e));
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  return Status::OK();
}
}  // namespace

Result<uint64_t> MaterializeState(const RecordSource& source, uint64_t root, NodeSink* scratch,
                                  NodeSink* out) {
  std::unordered_map<uint64_t, uint64_t> written;
  std::vector<std::pair<std::string, BranchEntry>> moved;
  KVS_RETURN_IF_ERROR(
      ForEachBranchInMemory(source, root, [&](std::string_view key, BranchEntry e) -> Status {
        KVS_ASSIGN_OR_RETURN(e.root, MaterializeTree(source, e.root, out, &written));
        moved.emplace_back(std::string(key), e);
        return Status::OK();
      }));
  if (!moved.empty()) {
    TreeWriter global(&source, root);
    for (const auto& [key, e] : moved) KVS_RETURN_IF_ERROR(global.Put(key, EncodeBranchEntry(e)));
    KVS_ASSIGN_OR_RETURN(root, global.Flush(scratch));
  }
  return MaterializeTree(source, root, out, &written);
}

Result<uint64_t> InMemoryStateBytes(const RecordSource& source, uint64_t root, bool compact) {
  KVS_ASSIGN_OR_RETURN(uint64_t bytes, InMemoryBytes(source, root, compact));
  KVS_RETURN_IF_ERROR(
      ForEachBranchInMemory(source, root, [&](std::string_view, const BranchEntry& e) -> Status {
        KVS_ASSIGN_OR_RETURN(uint64_t tree, InMemoryBytes(source, e.root, compact));
        bytes += tree;
        return Status::OK();
      }));
  return bytes;
}

Status ResolveLoggedHead(LogWindows* windows, Snapshot* snap) {
  const CommitPoint head = snap->head();
  if (!head.logged()) return Status::OK();
  KVS_ASSIGN_OR_RETURN(std::shared_ptr<LogWindow> w, windows->Get(*snap, head.base));
  snap->Resolve(0, w->arena());  // a replay reads the window's nodes through snap
  KVS_ASSIGN_OR_RETURN(uint64_t root, w->Root(*snap, head));
  snap->Resolve(root, w->arena());
  return Status::OK();
}

Result<uint64_t> LoggedRoot(LogWindows* windows, const Snapshot& snap, const CommitPoint& block) {
  KVS_ASSIGN_OR_RETURN(std::shared_ptr<LogWindow> w, windows->Get(snap, block.base));
  snap.Pin(w->arena());
  return w->Root(snap, block);
}

}  // namespace kvs
