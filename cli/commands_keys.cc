// Keys and their current values: put, get-key, keys, export, import.
#include <string>

#include "cli/commands.h"
#include "cli/io.h"
#include "cli/key_scan.h"
#include "cli/yaml_io.h"
#include "common/json_value.h"

namespace kvs::cli {

Status Put(const Invocation& inv) {
  KVS_RETURN_IF_ERROR(CheckKeyToWrite(inv.key, StoreLimits()));
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  // No parents given: the new version's parents are all current heads.
  return WriteVersion(*store, inv.branch,
                      KeyWrite{inv.key, inv.value, std::nullopt, std::nullopt, std::nullopt});
}

Status Rm(const Invocation& inv) {
  KVS_RETURN_IF_ERROR(CheckKeyToWrite(inv.key, StoreLimits()));
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  return WriteVersion(*store, inv.branch,
                      KeyWrite{inv.key, std::nullopt, std::nullopt, std::nullopt, std::nullopt});
}

Status GetKey(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(KeyState state, store->Get(inv.branch, inv.key));
  if (state.winner.deleted) {
    return Status::NotFound("key '" + inv.key + "' was deleted on branch '" + inv.branch +
                            "' (version " + state.winner.id.Hex() + ")");
  }
  if (state.conflict()) {
    Note("key '" + inv.key + "' is in conflict: it has " + std::to_string(state.heads.size()) +
         " heads, and this is the winner, " + state.winner.id.Hex() + " (kvs forks " + inv.key +
         " lists them)");
  }
  Print(state.winner.value);
  return Status::OK();
}

Status Keys(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  return ForEachKey(*store, inv.branch, KeyRange{inv.gt, inv.lt, inv.limit}, ReadPoint::Latest(),
                    false, [](const KeyState& state) {
                      PrintLine(LineSafeKey(state.winner.key));
                      return Status::OK();
                    });
}

// Reads the whole branch as of one revision, so that writes landing during
// a long export are either all in it or all out of it.
Status Export(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(uint64_t revision, store->Revision());
  bool any = false;
  KVS_RETURN_IF_ERROR(
      ForEachKey(*store, inv.branch, KeyRange{}, ReadPoint::AtRevision(revision), true,
                 [&](const KeyState& state) {
                   any = true;
                   if (inv.yaml) {
                     Print(YamlMapEntry(state.winner.key, state.winner.value, state.winner.json));
                   } else {
                     nlohmann::ordered_json line = {{"key", state.winner.key}};
                     common::SetJsonValue(line, state.winner.value, state.winner.json);
                     if (state.winner.json) line["json"] = true;
                     Print(common::DumpJson(line));
                   }
                   return Status::OK();
                 }));
  if (inv.yaml && !any) Print(kEmptyYamlMap);
  return Status::OK();
}

// Every entry is checked before the store is opened, so that a bad one is
// reported where it is in the file and the store is left as it was.
Status Import(const Invocation& inv) {
  const std::string name = inv.file == "-" ? "<stdin>" : inv.file;
  KVS_ASSIGN_OR_RETURN(std::string text, ReadFileOrStdin(inv.file));
  KVS_ASSIGN_OR_RETURN(std::vector<YamlEntry> entries, ParseYamlMap(text, name));
  Options limits = StoreLimits();
  if (entries.size() > limits.max_writes_per_transaction) {
    return Status::InvalidArgument(name + " holds " + std::to_string(entries.size()) +
                                   " keys; one transaction writes at most " +
                                   std::to_string(limits.max_writes_per_transaction));
  }
  WriteBatch batch;
  batch.branch = inv.branch;
  for (YamlEntry& entry : entries) {
    Status key_ok = CheckKeyToWrite(entry.key, limits);
    if (!key_ok.ok()) return Status::InvalidArgument(entry.where + ": " + key_ok.message());
    if (entry.value.size() > limits.max_value_bytes) {
      return Status::InvalidArgument(entry.where + ": the value of '" + entry.key + "' is " +
                                     std::to_string(entry.value.size()) + " bytes; the limit is " +
                                     std::to_string(limits.max_value_bytes));
    }
    batch.Put(std::move(entry.key), std::move(entry.value));
    batch.writes.back().json = entry.json;
  }
  if (batch.writes.empty()) {
    PrintLine("imported 0 keys: nothing written");
    return Status::OK();
  }
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(WriteResult written, store->Write(batch));
  size_t count = batch.writes.size();
  PrintLine("imported " + std::to_string(count) + (count == 1 ? " key" : " keys") +
            " at revision " + std::to_string(written.revision));
  return Status::OK();
}

}  // namespace kvs::cli
