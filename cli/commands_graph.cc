// The version graph commands, as forkdb has them: create, forks, tails,
// links, concestor, read, get, list, history, future.
#include <unistd.h>

#include <algorithm>

#include "cli/commands.h"
#include "cli/io.h"
#include "cli/key_scan.h"
#include "common/history_tree.h"
#include "common/json_value.h"
#include "common/version_json.h"

namespace kvs::cli {
namespace {

// The full ids of prefixes the parser checked (8 to 64 lower-case hex
// digits); the store's NotFound or Ambiguous otherwise.
Result<std::vector<VersionId>> ResolveAll(Store& store, const std::vector<std::string>& prefixes,
                                          std::string_view what) {
  std::vector<VersionId> ids;
  for (const std::string& prefix : prefixes) {
    KVS_ASSIGN_OR_RETURN(VersionId id, store.ResolveVersion(prefix));
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) {
      return Status::InvalidArgument(std::string(what) + " names version " + id.Hex() + " twice");
    }
    ids.push_back(id);
  }
  return ids;
}

void PrintIds(const std::vector<Version>& versions) {
  for (const Version& v : versions) PrintLine(v.id.Hex());
}

// {"key":K,"hash":ID}, the line forkdb prints for a version.
void PrintKeyHash(const Version& v) {
  Print(common::DumpJson({{"key", v.key}, {"hash", v.id.Hex()}}));
}

}  // namespace

// No --prev makes a version with parents {} (a new tail), as forkdb's
// create does; `kvs put` is the write whose parents are all current heads.
Status Create(const Invocation& inv) {
  Options limits = StoreLimits();
  KVS_RETURN_IF_ERROR(CheckKeyToWrite(inv.key, limits));
  KVS_ASSIGN_OR_RETURN(std::string value,
                       ReadAll(STDIN_FILENO, limits.max_value_bytes, "standard input"));
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(std::vector<VersionId> parents, ResolveAll(*store, inv.prev, "--prev"));
  return WriteVersion(
      *store, inv.branch,
      KeyWrite{inv.key, std::move(value), std::move(parents), std::nullopt, std::nullopt});
}

Status Forks(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  if (inv.all_keys) {
    KeyRange every;
    every.include_deleted = true;
    return ForEachKey(*store, inv.branch, every, ReadPoint::Latest(), false,
                      [](const KeyState& state) {
                        for (const Version& head : state.heads) PrintKeyHash(head);
                        return Status::OK();
                      });
  }
  KVS_ASSIGN_OR_RETURN(KeyState state, store->Get(inv.branch, inv.key));
  PrintIds(state.heads);
  return Status::OK();
}

Status Tails(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  if (inv.all_keys) {
    return ForEachVersion(*store, KeyRange{}, [](const Version& version) {
      if (version.parents.empty()) PrintKeyHash(version);
      return Status::OK();
    });
  }
  KVS_ASSIGN_OR_RETURN(std::vector<Version> tails, store->Tails(inv.key));
  if (tails.empty()) return Status::NotFound("key '" + inv.key + "' has no versions");
  PrintIds(tails);
  return Status::OK();
}

Status Links(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(VersionId id, store->ResolveVersion(inv.ids.front()));
  KVS_ASSIGN_OR_RETURN(std::vector<Version> children, store->Children(id));
  if (inv.ids_only) {
    PrintIds(children);
  } else {
    for (const Version& child : children) PrintKeyHash(child);
  }
  return Status::OK();
}

Status Concestor(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(std::vector<VersionId> ids, ResolveAll(*store, inv.ids, "concestor"));
  KVS_ASSIGN_OR_RETURN(std::vector<Version> ancestors, store->CommonAncestors(ids));
  PrintIds(ancestors);
  return Status::OK();
}

Status Read(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(VersionId id, store->ResolveVersion(inv.ids.front()));
  KVS_ASSIGN_OR_RETURN(Version version, store->GetVersion(id, true));
  if (version.deleted) {
    return Status::NotFound("version " + id.Hex() + " is a deletion of '" + version.key +
                            "': it has no value");
  }
  Print(version.value);
  return Status::OK();
}

Status Get(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(VersionId id, store->ResolveVersion(inv.ids.front()));
  KVS_ASSIGN_OR_RETURN(Version version, store->GetVersion(id, false));
  Print(common::DumpJson(common::VersionJson(version)));
  return Status::OK();
}

Status List(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  return ForEachVersion(*store, KeyRange{inv.gt, inv.lt, inv.limit}, [](const Version& version) {
    Print(common::DumpJson(common::VersionJson(version)));
    return Status::OK();
  });
}

Status Walk(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(VersionId id, store->ResolveVersion(inv.ids.front()));
  auto direction = inv.command == Command::kHistory ? common::WalkDirection::kHistory
                                                    : common::WalkDirection::kFuture;
  KVS_ASSIGN_OR_RETURN(
      common::HistoryTree tree,
      common::WalkVersions(*store, id, direction, inv.limit.value_or(kDefaultWalkLimit)));
  Print(common::DrawHistoryTree(tree));
  return Status::OK();
}

}  // namespace kvs::cli
