// The kvs command line, parsed once into typed values.
//
//   kvs [-d DIR | --dir DIR] COMMAND [OPTIONS] [OPERANDS]
//
// Global options may stand before or after the command. Options take their
// value as "--name VALUE" or "--name=VALUE"; "--" ends the options, so a key
// or value that begins with '-' can still be given. Each command accepts only
// its own options (--branch only where a branch is read or written).
//
// What is checked here, before any store is opened: the command exists, the
// operands are there and no more, every option belongs to the command, each
// version id is 8 to 64 hex digits (folded to lower case), numbers are
// numbers. A failure is a UsageError: the program prints it with the
// command's usage and exits with 2.
#ifndef KVS_CLI_ARGS_H_
#define KVS_CLI_ARGS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

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
  kGetKey,
  kExport,
  kImport,
  kCheck,
  kCompact,
  kStats,
};

// The default of --limit for history and future: enough for any hand-made
// graph, and a bound on what one walk prints.
inline constexpr size_t kDefaultWalkLimit = 10000;

struct Invocation {
  Command command = Command::kHelp;
  // help: the usage of one command (kvs help COMMAND, kvs COMMAND --help)
  // instead of the whole list.
  std::optional<Command> help_for;
  std::string dir;              // -d/--dir, else $KVS_DIR, else ./kvs-data
  std::string branch = "main";  // --branch
  std::string key;              // create, forks, tails, put, get-key
  std::string value;            // put
  std::string file;             // import ("-": standard input)
  // Version id prefixes, lower-case hex of 8 to 64 digits: the one ID of
  // links, read, get, history, future; the two or more of concestor.
  std::vector<std::string> ids;
  std::vector<std::string> prev;  // create's --prev, same form as ids
  std::string gt;                 // --gt: list and keys
  std::string lt;                 // --lt: list and keys
  std::optional<size_t> limit;    // --limit: list, keys, history, future
  bool yaml = false;              // export --yaml
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

// True for the commands that add data (create, put, import): they create
// the store when the directory holds none; every other command refuses a
// missing store.
bool CommandCreatesStore(Command command);

// Every command with its options (kvs help).
std::string Usage();
// One command's synopsis and description (kvs COMMAND --help).
std::string CommandUsage(Command command);

}  // namespace kvs::cli

#endif  // KVS_CLI_ARGS_H_
