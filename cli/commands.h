// The kvs commands, each run with its parsed invocation; each opens the
// store when it needs it. A command prints its result to stdout as it goes and returns OK, or
// returns the failure the program reports (on stderr, exit status 1); the
// output already printed then stays as it is (a listing cut by a read error
// shows how far it got).
#ifndef KVS_CLI_COMMANDS_H_
#define KVS_CLI_COMMANDS_H_

#include <memory>
#include <string_view>

#include "cli/args.h"
#include "config/config.h"
#include "kvs/store.h"

namespace kvs::cli {

// The store's directory: inv.dir, or, when inv.dir holds a server's config
// (kvs.yaml, as scripts/serve's data directory does), the data_dir it names,
// relative to inv.dir; so `kvs -d kvs-data` works on what `scripts/serve`
// serves, and never makes a second store beside it.
Result<std::string> StoreDirectory(const Invocation& inv);

// The server config the command is next to: gc's --config FILE, else the
// kvs.yaml in inv.dir; nullopt when there is neither. A config that does
// not parse is an error (with its file:line:column).
Result<std::optional<config::Config>> ServerConfig(const Invocation& inv);

// Opens the store in StoreDirectory(inv) as every command does: the engine's default
// limits and durable writes (SyncMode::kSync), whatever the server's config
// says. Only create, put and import create the store when the directory
// holds none, and they first check their input, so that bad input never
// leaves a new empty store behind. The error says which directory failed.
Result<std::unique_ptr<Store>> OpenStore(const Invocation& inv);
// The same for the store in dir, which is not -d's (restore's backup).
Result<std::unique_ptr<Store>> OpenStoreIn(const std::string& dir, bool create);

// The limits OpenStore's store enforces, for checking input before it is
// opened.
Options StoreLimits();

// InvalidArgument with the rule (common/key_rules.h) a key to write breaks.
Status CheckKeyToWrite(std::string_view key, const Options& limits);

// Writes one version of a key on branch as a transaction of its own and
// prints its id: create and put.
Status WriteVersion(Store& store, const std::string& branch, KeyWrite write);

// Runs inv.command; help prints the usage.
Status RunCommand(const Invocation& inv);

// The version graph: commands_graph.cc.
Status Create(const Invocation& inv);
Status Forks(const Invocation& inv);
Status Tails(const Invocation& inv);
Status Links(const Invocation& inv);
Status Concestor(const Invocation& inv);
Status Read(const Invocation& inv);
Status Get(const Invocation& inv);
Status List(const Invocation& inv);
Status Walk(const Invocation& inv);  // history and future

// Keys and values: commands_keys.cc.
Status Put(const Invocation& inv);
Status Rm(const Invocation& inv);
Status GetKey(const Invocation& inv);
Status Keys(const Invocation& inv);
Status Export(const Invocation& inv);
Status Import(const Invocation& inv);

// The store as a whole: commands_store.cc.
Status Check(const Invocation& inv);
Status Compact(const Invocation& inv);
Status Gc(const Invocation& inv);
Status Stats(const Invocation& inv);
// Whether command writes to the store.
bool CommandWrites(Command command);
// After a command that wrote: compacts the store, keeping what the server
// config's retention keeps (all history without one), when its garbage or
// size calls for it (config::Retention::CompactionDue), as kvs-fcgi's own
// check would; a store written only by kvs looks after itself too. Says so
// on stderr.
Status CompactIfDue(const Invocation& inv);
Status Backup(const Invocation& inv);
Status Restore(const Invocation& inv);
Status Upgrade(const Invocation& inv);

// Branches, commits, diff, merge and reset: commands_branches.cc.
Status BranchList(const Invocation& inv);
Status BranchCreate(const Invocation& inv);
Status BranchDelete(const Invocation& inv);
Status Log(const Invocation& inv);
Status Diff(const Invocation& inv);
Status Merge(const Invocation& inv);
Status Reset(const Invocation& inv);

// Replication: commands_replication.cc (sync, push, pull).
Status Replicate(const Invocation& inv);

}  // namespace kvs::cli

#endif  // KVS_CLI_COMMANDS_H_
