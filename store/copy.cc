// CopyTo: a copy of a live store as of one commit, for backups and restores.
//
// The data file only grows, and every prefix of it that ends with a commit's
// trailer is a data file of its own: a block's checks cover only bytes
// before its trailer, and opening a file finds the newest block from its end
// (store/format.h). So the copy is the STORE file and the live data file cut
// just past one commit. That commit is read holding the writer lock, which
// leaves a process only once the blocks it wrote are synced (the group
// commit hands it from leader to leader without letting go, and a failed
// write is cut off before), so the cut never falls in a group of unknown
// fate; the lock goes at once, before any byte is copied. The bytes come
// from the snapshot's own mapping of the file, which nothing changes below
// the cut: writers append after it, and a compaction, in any process,
// appends a "moved" block and unlinks the file, which stays readable
// through the mapping.
//
// The copy is written into a new directory beside the destination, checked
// as Check does, synced (files, then the directory), and renamed into place
// while the destination is held exclusively (DirectoryUse): no store open
// there is ever replaced, and one opened meanwhile waits and then opens the
// copy. Replacing something that is there takes renameat2's
// RENAME_EXCHANGE, which ext4, XFS, Btrfs and tmpfs have; an empty or new
// destination only needs rename(2).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "store/owner.h"
#include "store/store_impl.h"

namespace kvs {
namespace {

// How much of the data file one write of the copy takes.
constexpr uint64_t kCopyChunk = uint64_t{8} << 20;

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

// "a/b/" is "a/b"; "/" stays.
std::string WithoutTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// Moves from to dir.old-TIME (dir.old-TIME-2, ... when that is taken) and
// returns the new name.
Result<std::string> MoveAside(const std::string& from, const std::string& dir) {
  std::time_t now = std::time(nullptr);
  std::tm utc;
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &utc);
  const std::string base = dir + ".old-" + stamp;
  for (int n = 1; n < 100; ++n) {
    std::string aside = n == 1 ? base : base + "-" + std::to_string(n);
    if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, aside.c_str(), RENAME_NOREPLACE) == 0) {
      return aside;
    }
    if (errno != EEXIST) return Errno("rename " + from + " to " + aside);
  }
  return Status::IOError("no free name " + base + "-N to move " + from + " to");
}

}  // namespace

Result<CopyInfo> StoreImpl::CopyTo(const std::string& given_dir, const CopyOptions& options) {
  const std::string dir = WithoutTrailingSlashes(given_dir);
  if (dir.empty()) return Status::InvalidArgument("no directory to copy the store to");
  const bool made = !env_->Exists(dir);
  KVS_RETURN_IF_ERROR(env_->MakeDir(dir));
  // Leaves dir as it was found: removes it when this call made it (rmdir
  // only removes an empty directory).
  auto undo = [&](const Status& status) {
    if (made) rmdir(dir.c_str());
    return status;
  };
  auto use = DirectoryUse::TakeExclusive(dir);
  if (!use.ok()) return undo(use.status());
  auto names = env_->ListDir(dir);
  if (!names.ok()) return undo(names.status());
  const bool empty = names->empty();
  if (!empty && !options.replace) return Status::InvalidArgument(dir + " is not empty");

  Snapshot snap;
  uint64_t generation;
  {
    std::lock_guard<WriterLock> guard(*writer_lock_);
    auto latest = FollowCompaction();
    if (!latest.ok()) return undo(latest.status());
    snap = std::move(*latest);
    generation = data()->generation();  // under the lock: no compaction moves it
  }

  std::string tmp = dir + ".partial-XXXXXX";
  if (mkdtemp(tmp.data()) == nullptr) return undo(Errno("mkdir " + tmp));
  MatchDirectory(tmp, dir);  // it takes dir's place, with what dir allowed
  Result<CopyInfo> copied = WriteCheckedCopy(snap, generation, tmp);
  if (copied.status().IsCorruption()) {
    copied = Status::Corruption("the copy of the store in " + dir_ +
                                " is damaged, so nothing was put in " + dir + ": " +
                                copied.status().message());
  }
  if (copied.ok() && empty) {
    // rename(2) replaces an empty directory in one step.
    if (Status renamed = env_->Rename(tmp, dir); !renamed.ok()) copied = renamed;
  } else if (copied.ok()) {
    // The two trade places: dir holds the copy, tmp what dir held.
    if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0) {
      copied = Errno("exchange " + tmp + " with " + dir);
    } else {
      auto aside = MoveAside(tmp, dir);
      if (!aside.ok()) {
        return Status::IOError(aside.status().message() + "; the copy is in place in " + dir +
                               ", and what it held is in " + tmp);
      }
      copied->moved_aside = *aside;
    }
  }
  if (!copied.ok()) {
    std::error_code ignored;
    std::filesystem::remove_all(tmp, ignored);
    return undo(copied.status());
  }
  std::string parent = std::filesystem::path(dir).parent_path().string();
  KVS_RETURN_IF_ERROR(env_->SyncDir(parent.empty() ? "." : parent));
  return copied;
}

Result<CopyInfo> StoreImpl::WriteCheckedCopy(const Snapshot& snap, uint64_t generation,
                                             const std::string& tmp) {
  KVS_RETURN_IF_ERROR(WriteIdentityFile(env_, tmp + "/STORE", identity_));
  {
    KVS_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                         env_->Open(tmp + "/" + DataFileName(generation), /*create=*/true));
    const uint64_t end = snap.head().end;
    for (uint64_t at = 0; at < end;) {
      const uint64_t n = std::min(kCopyChunk, end - at);
      KVS_ASSIGN_OR_RETURN(std::string_view bytes, snap.Bytes(at, n));
      KVS_RETURN_IF_ERROR(file->Write(at, bytes));
      at += n;
    }
    KVS_RETURN_IF_ERROR(file->Sync());
  }
  CopyInfo info;
  info.revision = snap.head().revision;
  {
    Options options = options_;
    options.create_if_missing = false;
    KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> copy, Store::Open(tmp, options));
    KVS_ASSIGN_OR_RETURN(info.check, copy->Check());
  }
  if (!info.check.ok()) {
    const size_t more = info.check.problems.size() - 1;
    return Status::Corruption(
        info.check.problems.front() +
        (more > 0 ? " (and " + std::to_string(more) + " more problems)" : ""));
  }
  // What opening the copy for its check made: a backup holds only STORE
  // and the data file; the store makes these again when it is opened.
  KVS_RETURN_IF_ERROR(env_->Remove(tmp + "/LOCK"));
  KVS_RETURN_IF_ERROR(env_->Remove(tmp + "/" + ReadClock::kFileName));
  KVS_RETURN_IF_ERROR(env_->SyncDir(tmp));
  return info;
}

}  // namespace kvs
