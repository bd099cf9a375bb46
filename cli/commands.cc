// Which function runs which command, and how the store is opened for it.
#include "cli/commands.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>

#include "cli/io.h"
#include "common/key_rules.h"

namespace kvs::cli {

Options StoreLimits() { return Options(); }

Status CheckKeyToWrite(std::string_view key, const Options& limits) {
  auto broken = common::BrokenKeyRule(key, limits.max_key_bytes, "");
  return broken ? Status::InvalidArgument(*broken) : Status::OK();
}

Result<std::string> StoreDirectory(const Invocation& inv) {
  std::filesystem::path config = std::filesystem::path(inv.dir) / "kvs.yaml";
  std::error_code error;
  if (!std::filesystem::exists(config, error)) return inv.dir;
  std::string data_dir;
  try {
    YAML::Node node = YAML::LoadFile(config.string());
    if (node.IsMap() && node["data_dir"] && node["data_dir"].IsScalar()) {
      data_dir = node["data_dir"].as<std::string>();
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(config.string() + ": " + e.what());
  }
  if (data_dir.empty()) {
    return Status::InvalidArgument(config.string() +
                                   " names no data_dir: give -d the store's directory");
  }
  return (std::filesystem::path(inv.dir) / data_dir).lexically_normal().string();
}

Result<std::optional<config::Config>> ServerConfig(const Invocation& inv) {
  std::filesystem::path path = std::filesystem::path(inv.dir) / "kvs.yaml";
  std::error_code error;
  if (inv.config) {
    path = *inv.config;
  } else if (!std::filesystem::exists(path, error)) {
    return std::optional<config::Config>();
  }
  KVS_ASSIGN_OR_RETURN(config::Config config, config::LoadConfig(path.string()));
  return std::optional<config::Config>(std::move(config));
}

Result<std::unique_ptr<Store>> OpenStoreIn(const std::string& dir, bool create) {
  Options options = StoreLimits();
  options.sync = SyncMode::kSync;
  options.create_if_missing = create;
  options.checkpoint_blocks = config::kOneShotCheckpointBlocks;
  auto store = Store::Open(dir, options);
  if (store.ok()) return store;
  // Opening fails for a missing store, damaged identity or data files, or
  // the file system; the message keeps the kind.
  std::string message = "cannot open the store in " + dir + ": " + store.status().message();
  if (store.status().IsNotFound()) return Status::NotFound(message);
  if (store.status().IsCorruption()) return Status::Corruption(message);
  return Status::IOError(message);
}

Result<std::unique_ptr<Store>> OpenStore(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::string dir, StoreDirectory(inv));
  auto store = OpenStoreIn(dir, CommandCreatesStore(inv.command));
  if (store.status().IsNotFound()) {
    return Status::NotFound(store.status().message() + " (give -d DIR or set KVS_DIR)");
  }
  return store;
}

Status WriteVersion(Store& store, const std::string& branch, KeyWrite write) {
  WriteBatch batch;
  batch.branch = branch;
  batch.writes.push_back(std::move(write));
  KVS_ASSIGN_OR_RETURN(WriteResult written, store.Write(batch));
  PrintLine(written.versions.front().Hex());
  return Status::OK();
}

Status RunCommand(const Invocation& inv) {
  switch (inv.command) {
    case Command::kCreate:
      return Create(inv);
    case Command::kForks:
      return Forks(inv);
    case Command::kTails:
      return Tails(inv);
    case Command::kLinks:
      return Links(inv);
    case Command::kConcestor:
      return Concestor(inv);
    case Command::kRead:
      return Read(inv);
    case Command::kGet:
      return Get(inv);
    case Command::kList:
      return List(inv);
    case Command::kHistory:
    case Command::kFuture:
      return Walk(inv);
    case Command::kPut:
      return Put(inv);
    case Command::kRm:
      return Rm(inv);
    case Command::kGetKey:
      return GetKey(inv);
    case Command::kKeys:
      return Keys(inv);
    case Command::kExport:
      return Export(inv);
    case Command::kImport:
      return Import(inv);
    case Command::kCheck:
      return Check(inv);
    case Command::kCompact:
      return Compact(inv);
    case Command::kGc:
      return Gc(inv);
    case Command::kStats:
      return Stats(inv);
    case Command::kBackup:
      return Backup(inv);
    case Command::kRestore:
      return Restore(inv);
    case Command::kUpgrade:
      return Upgrade(inv);
    case Command::kBranchList:
      return BranchList(inv);
    case Command::kBranchCreate:
      return BranchCreate(inv);
    case Command::kBranchDelete:
      return BranchDelete(inv);
    case Command::kLog:
      return Log(inv);
    case Command::kDiff:
      return Diff(inv);
    case Command::kMerge:
      return Merge(inv);
    case Command::kReset:
      return Reset(inv);
    case Command::kSync:
    case Command::kPush:
    case Command::kPull:
      return Replicate(inv);
    case Command::kBranch:  // the parser yields one of its subcommands
      break;
    case Command::kHelp:
      Print(inv.help_for ? CommandUsage(*inv.help_for) : Usage());
      return Status::OK();
  }
  return Status::InvalidArgument("no such command");  // unreachable: the switch is complete
}

}  // namespace kvs::cli
