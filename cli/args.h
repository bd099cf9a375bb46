// The kvs command line, parsed once into typed values.
//
//   kvs [-d DIR | --dir DIR] COMMAND [OPTIONS] [OPERANDS]
//
// Global options may stand before or after the command; --version, wherever
// it stands, prints the version and runs nothing. Options take their value
// as "--name VALUE" or "--name=VALUE"; "--" ends the options, so a key or
// value that begins with '-' can still be given. Each command accepts only
// its own options (--branch only where a branch is read or written).
//
// What is checked here, before any store is opened: the command exists, the
// operands are there and no more, every option belongs to the command, each
// version id is 8 to 64 hex digits (folded to lower case), each commit id
// exactly 64, numbers are numbers, --at is a revision, a time or a commit,
// --strategy names a merge function. Branch names are left to the store,
// which says what is wrong with one. A failure is a UsageError: the program
// prints it with the command's usage and exits with 2.
//
// `branch` is a group: its subcommands (branch list, branch create, branch
// delete) are commands of their own, with their own operands and options.
#ifndef KVS_CLI_ARGS_H_
#define KVS_CLI_ARGS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "kvs/store.h"
#include "merge/merge_function.h"

namespace kvs::cli {

enum class Command {
  kHelp,
  kCreate,
  kForks,
  kTails,
  kLinks,
  kConcestor,
  kRead,
  kGet,
  kList,
  kKeys,
  kHistory,
  kFuture,
  kPut,
  kRm,
  kGetKey,
  kExport,
  kImport,
  kCheck,
  kCompact,
  kGc,
  kStats,
  kBackup,
  kRestore,
  kUpgrade,
  kBranch,  // the group: only its usage; the parser yields one of the next three
  kBranchList,
  kBranchCreate,
  kBranchDelete,
  kLog,
  kDiff,
  kMerge,
  kReset,
  kSync,
  kPush,
  kPull,
};

// The default of --limit for history and future: enough for any hand-made
// graph, and a bound on what one walk prints.
inline constexpr size_t kDefaultWalkLimit = 10000;

// A state of a branch as an operand names it: a branch name (its head) or a
// commit id (its branch as of that commit). A 64-hex-digit operand is a
// commit id, even where it could also be a branch name.
struct BranchOrCommit {
  std::string branch;              // when commit is nullopt
  std::optional<CommitId> commit;  // otherwise
};

struct Invocation {
  Command command = Command::kHelp;
  // help: the usage of one command (kvs help COMMAND, kvs COMMAND --help)
  // instead of the whole list.
  std::optional<Command> help_for;
  bool version = false;     // --version: print the version, run nothing
  std::string dir;          // -d/--dir, else $KVS_DIR, else ./kvs-data
  bool dir_chosen = false;  // by -d/--dir or $KVS_DIR, not the default
  // The branch read or written: --branch; the NAME of branch create and
  // branch delete, the BRANCH of reset, the INTO of merge.
  std::string branch = "main";
  std::string key;        // create, forks, tails, put, rm, get-key
  bool all_keys = false;  // forks and tails without KEY: every key
  std::string value;      // put
  std::string file;       // import ("-": standard input)
  // Version id prefixes, lower-case hex of 8 to 64 digits: the one ID of
  // links, read, get, history, future; the two or more of concestor.
  std::vector<std::string> ids;
  std::vector<std::string> prev;  // create's --prev, same form as ids
  std::string gt;                 // --gt: list and keys
  std::string lt;                 // --lt: list and keys
  std::optional<size_t> limit;    // --limit: list, keys, history, future, log
  bool yaml = false;              // export --yaml
  // branch create --from, merge FROM; nullopt when not given.
  std::optional<std::string> from;
  ReadPoint at;                                  // branch create --at (default: the head)
  std::vector<BranchOrCommit> sides;             // diff A B
  CommitId commit;                               // reset COMMIT
  std::optional<merge::MergeFunction> strategy;  // merge --strategy
  bool dry_run = false;                          // merge --dry-run
  bool ids_only = false;                         // links --ids
  std::optional<std::string> config;             // gc --config
  std::string directory;                         // backup DEST, restore SRC
  bool force = false;                            // restore --force
  // sync, push, pull: the other replica, a server's URL, or --stdio; the
  // file holding its secret (--secret-file); --prefix; whether --branch
  // was given (else every branch travels); and --live.
  std::string url;
  bool stdio = false;
  bool live = false;
  std::optional<std::string> secret_file;
  std::string prefix;
  bool branch_given = false;
};

struct UsageError {
  std::string message;
  // The command the error is about, when there is one: its usage is shown.
  std::optional<Command> command;
};

// argv as main() gets it; env_dir is $KVS_DIR or nullptr.
std::variant<Invocation, UsageError> ParseArgs(int argc, const char* const* argv,
                                               const char* env_dir);

// The name as typed on the command line ("get-key").
const char* CommandName(Command command);

// True for the commands that add data (create, put, import, sync, push, pull):
// they create the store when the directory holds none; every other command
// refuses a missing store.
bool CommandCreatesStore(Command command);

// Every command with its options (kvs help).
std::string Usage();
// One command's synopsis and description (kvs COMMAND --help); a group's
// (kvs branch --help) has every subcommand's.
std::string CommandUsage(Command command);

}  // namespace kvs::cli

#endif  // KVS_CLI_ARGS_H_
