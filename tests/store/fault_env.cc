// FaultEnv: see fault_env.h for the faults it injects and its model of what
// survives a power loss.
#include "tests/store/fault_env.h"

#include <algorithm>
#include <string_view>
#include <utility>

namespace kvs::test {

// Passes everything to the base File. Write and Sync count as operations and
// may fail by injection; both keep the file's Durability record current.
class FaultEnv::FaultFile : public File {
 public:
  FaultFile(FaultEnv* env, std::string path, std::unique_ptr<File> base,
            std::shared_ptr<Durability> durability)
      : env_(env),
        path_(std::move(path)),
        base_(std::move(base)),
        durability_(std::move(durability)) {}

  Status Write(uint64_t offset, std::string_view data) override {
    KVS_RETURN_IF_ERROR(env_->NextOperation("write", path_));
    KVS_RETURN_IF_ERROR(SaveBytesToOverwrite(offset, data.size()));
    KVS_RETURN_IF_ERROR(base_->Write(offset, data));
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (durability_->unsynced_write) env_->writes_over_unsynced_.fetch_add(1);
    durability_->unsynced_write = true;
    return Status::OK();
  }

  Status Sync() override {
    env_->WaitToSync();
    KVS_RETURN_IF_ERROR(env_->NextOperation("sync", path_));
    // Taken before the sync: only bytes written before it started are
    // certainly durable once it succeeds.
    KVS_ASSIGN_OR_RETURN(uint64_t size, base_->Size());
    KVS_RETURN_IF_ERROR(base_->Sync());
    std::lock_guard<std::mutex> lock(env_->mu_);
    durability_->synced_size = size;
    durability_->ever_synced = true;
    durability_->unsynced_write = false;
    durability_->undo.clear();
    return Status::OK();
  }

  Status Read(uint64_t offset, size_t n, char* out) const override {
    return base_->Read(offset, n, out);
  }
  Result<uint64_t> Size() const override { return base_->Size(); }

  Status Truncate(uint64_t size) override {
    KVS_RETURN_IF_ERROR(base_->Truncate(size));
    // A power loss cannot bring truncated bytes back in this model.
    std::lock_guard<std::mutex> lock(env_->mu_);
    durability_->synced_size = std::min(durability_->synced_size, size);
    return Status::OK();
  }

  int fd() const override { return base_->fd(); }

 private:
  // Before a write of n bytes at offset, keeps the durable bytes it will
  // replace, so that DropUnsyncedData can put them back.
  Status SaveBytesToOverwrite(uint64_t offset, size_t n) {
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (offset >= durability_->synced_size) return Status::OK();
    uint64_t end = std::min<uint64_t>(offset + n, durability_->synced_size);
    Undo undo{offset, std::string(end - offset, '\0')};
    KVS_RETURN_IF_ERROR(base_->Read(offset, undo.old_bytes.size(), undo.old_bytes.data()));
    durability_->undo.push_back(std::move(undo));
    return Status::OK();
  }

  FaultEnv* const env_;
  const std::string path_;  // as opened; only for error messages
  const std::unique_ptr<File> base_;
  const std::shared_ptr<Durability> durability_;  // guarded by env_->mu_
};

FaultEnv::FaultEnv(Env* base) : base_(base) {}

void FaultEnv::FailAfter(uint64_t n, Status::Code code) {
  failure_code_.store(code);
  first_failing_.store(n == 0 ? 0 : operations_.load() + n);
}

void FaultEnv::HoldSyncs() {
  std::lock_guard<std::mutex> lock(hold_mu_);
  holding_syncs_ = true;
}

void FaultEnv::ReleaseSyncs() {
  {
    std::lock_guard<std::mutex> lock(hold_mu_);
    holding_syncs_ = false;
  }
  hold_released_.notify_all();
}

int FaultEnv::held_syncs() {
  std::lock_guard<std::mutex> lock(hold_mu_);
  return held_syncs_;
}

void FaultEnv::WaitToSync() {
  std::unique_lock<std::mutex> lock(hold_mu_);
  ++held_syncs_;
  hold_released_.wait(lock, [this] { return !holding_syncs_; });
  --held_syncs_;
}

Status FaultEnv::NextOperation(const char* what, const std::string& path) {
  uint64_t number = operations_.fetch_add(1) + 1;
  uint64_t first_failing = first_failing_.load();
  if (first_failing != 0 && number >= first_failing) {
    std::string message =
        "injected fault: " + std::string(what) + " #" + std::to_string(number) + " of " + path;
    return failure_code_.load() == Status::Code::kNoSpace ? Status::NoSpace(message)
                                                          : Status::IOError(message);
  }
  return Status::OK();
}

Status FaultEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  Status first_error;
  for (auto it = files_.begin(); it != files_.end();) {
    Status status;
    if (!base_->Exists(it->first)) {
      it = files_.erase(it);  // removed behind this Env's back: nothing to drop
      continue;
    }
    if (it->second->created_here && !it->second->ever_synced) {
      status = base_->Remove(it->first);
      it = files_.erase(it);
    } else {
      status = RollBack(it->first, *it->second);
      ++it;
    }
    if (!status.ok() && first_error.ok()) first_error = status;
  }
  return first_error;
}

Status FaultEnv::RollBack(const std::string& path, Durability& file) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<File> base_file, base_->Open(path, false));
  // Newest first, so a range overwritten twice ends with its durable bytes.
  for (auto undo = file.undo.rbegin(); undo != file.undo.rend(); ++undo) {
    KVS_RETURN_IF_ERROR(base_file->Write(undo->offset, undo->old_bytes));
  }
  file.undo.clear();
  KVS_ASSIGN_OR_RETURN(uint64_t size, base_file->Size());
  if (size > file.synced_size) KVS_RETURN_IF_ERROR(base_file->Truncate(file.synced_size));
  return Status::OK();
}

Result<std::unique_ptr<File>> FaultEnv::Open(const std::string& path, bool create) {
  bool existed = base_->Exists(path);
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<File> base_file, base_->Open(path, create));
  uint64_t size_at_open = 0;
  if (existed) {
    KVS_ASSIGN_OR_RETURN(size_at_open, base_file->Size());
  }
  std::shared_ptr<Durability> durability;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<Durability>& known = files_[path];
    if (!known) {  // first open through this Env: what is there now is durable
      known = std::make_shared<Durability>();
      known->synced_size = size_at_open;
      known->created_here = !existed;
    }
    durability = known;
  }
  return std::unique_ptr<File>(
      new FaultFile(this, path, std::move(base_file), std::move(durability)));
}

Status FaultEnv::Rename(const std::string& from, const std::string& to) {
  KVS_RETURN_IF_ERROR(base_->Rename(from, to));
  std::lock_guard<std::mutex> lock(mu_);
  auto moved = files_.extract(from);
  files_.erase(to);  // the file that was at `to` is gone
  if (moved) {
    moved.key() = to;
    files_.insert(std::move(moved));
  }
  return Status::OK();
}

Status FaultEnv::Remove(const std::string& path) {
  KVS_RETURN_IF_ERROR(base_->Remove(path));
  std::lock_guard<std::mutex> lock(mu_);
  files_.erase(path);
  return Status::OK();
}

Status FaultEnv::SyncDir(const std::string& dir) { return base_->SyncDir(dir); }
Status FaultEnv::MakeDir(const std::string& dir) { return base_->MakeDir(dir); }
bool FaultEnv::Exists(const std::string& path) { return base_->Exists(path); }
Result<std::vector<std::string>> FaultEnv::ListDir(const std::string& dir) {
  return base_->ListDir(dir);
}

}  // namespace kvs::test
