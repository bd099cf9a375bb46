// The store as a whole: check, compact, gc, stats, backup, restore.
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "cli/io.h"
#include "cli/key_scan.h"
#include "cli/progress_bar.h"
#include "common/time.h"

namespace kvs::cli {
namespace {

void PrintField(std::string_view name, std::string_view value) {
  PrintLine(std::string(name) + ": " + std::string(value));
}

void PrintField(std::string_view name, uint64_t value) { PrintField(name, std::to_string(value)); }

// The bytes of the regular files in dir: the data file generations, the
// identity file and the lock, but not the read clock ("reads", a sparse 4 MiB
// table of hints; store/read_clock.h). 0 for what cannot be read.
uint64_t BytesOnDisk(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file(error) && entry.path().filename() != "reads") {
      bytes += entry.file_size(error);
    }
  }
  return bytes;
}

// What a copy holds (backup, restore), as its own check counted it.
void PrintCopy(const CopyInfo& copied) {
  PrintField("revision", copied.revision);
  PrintField("commits", copied.check.commits);
  PrintField("versions", copied.check.versions);
  PrintField("bytes", copied.check.bytes);
}

}  // namespace

Status Check(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(CheckReport report, store->Check());
  PrintField("revisions checked", report.revisions);
  PrintField("commits checked", report.commits);
  PrintField("versions checked", report.versions);
  PrintField("bytes checked", report.bytes);
  PrintField("problems", report.problems.size());
  for (const std::string& problem : report.problems) PrintLine("  " + problem);
  if (!report.ok()) {
    return Status::Corruption("check found " + std::to_string(report.problems.size()) +
                              " problem(s) in the store");
  }
  return Status::OK();
}

namespace {

// Store::Compact, saying so when it has to wait for another compaction
// (the server's, or another command's): it may take minutes, and a command
// that waits silently looks hung.
Result<CompactStats> CompactSayingWhenWaiting(Store& store, CompactOptions options) {
  options.if_idle = true;
  Result<CompactStats> stats = store.Compact(options);
  if (!stats.status().IsConflict()) return stats;
  Note("another compaction of the store is running; waiting for it to end");
  options.if_idle = false;
  return store.Compact(options);
}

}  // namespace

Status Compact(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  ProgressBar bar("compacting");
  CompactOptions options;  // no rules: all history is kept
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  Result<CompactStats> stats = CompactSayingWhenWaiting(*store, options);
  bar.Finish();
  if (!stats.ok()) return stats.status();
  PrintField("bytes before", stats->bytes_before);
  PrintField("bytes after", stats->bytes_after);
  PrintField("versions kept", stats->versions_kept);
  PrintField("versions dropped", stats->versions_dropped);
  return Status::OK();
}

Status Gc(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::optional<config::Config> server, ServerConfig(inv));
  if (!server) {
    return Status::InvalidArgument(
        "gc applies the retention section of a server config, and " + inv.dir +
        " holds no kvs.yaml: give -d the server's directory or --config FILE (kvs compact "
        "compacts keeping all history)");
  }
  const config::Config& config = *server;
  if (inv.config && inv.dir_chosen) {
    // gc drops history: the store it works on must not be a guess.
    KVS_ASSIGN_OR_RETURN(std::string named, StoreDirectory(inv));
    std::error_code error;
    if (std::filesystem::weakly_canonical(named, error) !=
        std::filesystem::weakly_canonical(config.data_dir, error)) {
      return Status::InvalidArgument("-d names the store in " + named + ", but --config " +
                                     *inv.config + " names the one in " + config.data_dir +
                                     ": give only one of them");
    }
  }
  Invocation on_store = inv;
  on_store.dir = config.data_dir;
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(on_store));
  ProgressBar bar("collecting");
  CompactOptions options = config.retention.ToCompactOptions();
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  Result<CompactStats> stats = CompactSayingWhenWaiting(*store, options);
  bar.Finish();
  if (!stats.ok()) return stats.status();
  if (options.rules.empty() && !options.size_bound) {
    PrintLine("note: " + config.path + " has no retention section: all history was kept");
  }
  PrintField("bytes before", stats->bytes_before);
  PrintField("bytes after", stats->bytes_after);
  PrintField("versions kept", stats->versions_kept);
  PrintField("versions dropped", stats->versions_dropped);
  PrintField("keys evicted", stats->evicted_keys.size());
  for (const std::string& key : stats->evicted_keys) PrintLine("evicted " + LineSafeKey(key));
  if (stats->above_low_water) {
    PrintLine("note: still above low_water_bytes: the rest of the store may not be dropped");
  }
  return Status::OK();
}

bool CommandWrites(Command command) {
  switch (command) {
    case Command::kCreate:
    case Command::kPut:
    case Command::kRm:
    case Command::kImport:
    case Command::kBranchCreate:
    case Command::kBranchDelete:
    case Command::kMerge:
    case Command::kReset:
    case Command::kSync:
    case Command::kPush:
    case Command::kPull:
      return true;
    default:
      return false;
  }
}

Status CompactIfDue(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::optional<config::Config> server, ServerConfig(inv));
  const config::Retention retention = server ? server->retention : config::Retention();
  if (!retention.garbage_ratio && !retention.size_bound) return Status::OK();
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(SpaceInfo space, store->Space());
  std::optional<std::string> why = retention.CompactionDue(space);
  if (!why) return Status::OK();
  CompactOptions options = retention.ToCompactOptions();
  options.if_idle = true;
  Result<CompactStats> stats = store->Compact(options);
  if (stats.status().code() == Status::Code::kConflict) return Status::OK();  // running elsewhere
  if (!stats.ok()) return stats.status();
  Note(*why + ": compacted it from " + std::to_string(stats->bytes_before) + " to " +
       std::to_string(stats->bytes_after) + " bytes");
  return Status::OK();
}

Status Stats(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(uint64_t revision, store->Revision());
  KVS_ASSIGN_OR_RETURN(std::vector<BranchInfo> branches, store->ListBranches());
  uint64_t keys = 0;
  KVS_RETURN_IF_ERROR(ForEachKey(*store, inv.branch, KeyRange{}, ReadPoint::AtRevision(revision),
                                 false, [&keys](const KeyState&) {
                                   ++keys;
                                   return Status::OK();
                                 }));
  uint64_t versions = 0;
  KVS_RETURN_IF_ERROR(ForEachVersion(*store, KeyRange{}, [&versions](const Version&) {
    ++versions;
    return Status::OK();
  }));
  KVS_ASSIGN_OR_RETURN(std::string dir, StoreDirectory(inv));
  PrintField("store", dir);
  PrintField("replica", store->replica_id().Hex());
  PrintField("revision", revision);
  std::string names;
  for (const BranchInfo& branch : branches) {
    names += (names.empty() ? "" : ", ") + branch.name + " (revision " +
             std::to_string(branch.head_revision) + ")";
  }
  PrintField("branches", names);
  PrintField("keys on " + inv.branch, keys);
  PrintField("versions", versions);
  PrintField("bytes on disk", BytesOnDisk(dir));
  KVS_ASSIGN_OR_RETURN(SpaceInfo space, store->Space());
  PrintField("data file (bytes)", space.data_bytes);
  PrintField("garbage (bytes)",
             std::to_string(space.garbage_bytes) + " (" +
                 std::to_string(static_cast<int>(space.garbage_ratio() * 100 + 0.5)) + "%)");
  PrintField("last compaction", space.compacted_bytes == 0
                                    ? std::string("never")
                                    : "after revision " + std::to_string(space.compacted_revision) +
                                          " (" + common::FormatRfc3339(space.compacted_time_ns) +
                                          "), " + std::to_string(space.compacted_bytes) + " bytes");
  if (uint64_t dropped = store->recovery_info().dropped_tail_bytes; dropped > 0) {
    PrintField("torn tail dropped at open (bytes)", dropped);
  }
  return Status::OK();
}

Status Backup(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(CopyInfo copied, store->CopyTo(inv.directory));
  PrintField("backup", inv.directory);
  PrintCopy(copied);
  return Status::OK();
}

Status Restore(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> backup, OpenStoreIn(inv.directory, false));
  KVS_ASSIGN_OR_RETURN(std::string dir, StoreDirectory(inv));
  CopyOptions copy;
  copy.replace = inv.force;
  Result<CopyInfo> copied = backup->CopyTo(dir, copy);
  if (copied.status().code() == Status::Code::kInvalidArgument && !inv.force) {  // not empty
    return Status::InvalidArgument(copied.status().message() +
                                   "; --force moves what it holds aside");
  }
  if (!copied.ok()) return copied.status();
  PrintField("restored", dir);
  PrintCopy(*copied);
  if (!copied->moved_aside.empty()) PrintField("moved aside", copied->moved_aside);
  return Status::OK();
}

Status Upgrade(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::string dir, StoreDirectory(inv));
  Result<UpgradeInfo> upgraded = Store::Upgrade(dir);
  if (upgraded.status().IsNotFound()) {
    return Status::NotFound(upgraded.status().message() + " (give -d DIR or set KVS_DIR)");
  }
  if (!upgraded.ok()) return upgraded.status();
  PrintField("store", dir);
  PrintField("format before", upgraded->from);
  PrintField("format after", upgraded->to);
  return Status::OK();
}

}  // namespace kvs::cli
