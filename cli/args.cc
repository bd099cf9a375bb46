// The command table (names, operands, options, help texts) and the parser
// that checks an argument list against it.
#include "cli/args.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>

#include "common/read_point.h"

namespace kvs::cli {
namespace {

// What follows the command name.
enum class Operands {
  kNone,
  kKey,           // KEY
  kOptionalKey,   // [KEY]
  kId,            // ID
  kTwoOrMoreIds,  // ID ID...
  kKeyValue,      // KEY VALUE
  kFile,          // FILE
  kHelpTopic,     // [COMMAND]
  kSubcommand,    // SUBCOMMAND ...: a group, whose subcommands are named "GROUP SUB"
  kName,          // NAME (a branch)
  kBranchCommit,  // BRANCH COMMIT
  kTwoStates,     // A B (branches or commits)
  kFromInto,      // FROM INTO (branches)
  kRemote,        // URL, or none with --stdio
  kDest,          // DEST (a directory)
  kSource,        // SRC (a directory)
};

// The options a command accepts, as a bit set.
enum Option : uint32_t {
  kPrev = 1 << 0,
  kBranch = 1 << 1,
  kGt = 1 << 2,
  kLt = 1 << 3,
  kLimit = 1 << 4,
  kYaml = 1 << 5,
  kFrom = 1 << 6,
  kAt = 1 << 7,
  kStrategy = 1 << 8,
  kDryRun = 1 << 9,
  kConfig = 1 << 10,
  kIds = 1 << 11,
  kStdio = 1 << 12,
  kSecretFile = 1 << 13,
  kPrefix = 1 << 14,
  kLive = 1 << 15,
  kForce = 1 << 16,
};

// sync, push and pull's.
constexpr uint32_t kRemoteOptions = kStdio | kSecretFile | kBranch | kPrefix | kLive | kConfig;

// The options that take no value.
constexpr uint32_t kFlags = kYaml | kDryRun | kIds | kStdio | kLive | kForce;

struct CommandSpec {
  Command command;
  std::string_view name;
  Operands operands;
  uint32_t options;
  bool creates_store;            // when the directory holds none
  std::string_view synopsis;     // after "kvs "
  std::string_view description;  // indented lines
};

constexpr std::string_view kGraphHeading =
    "The version graph (ID: a version id, or a unique prefix of 8 hex digits or more):";
constexpr std::string_view kKeysHeading =
    "Keys and their current values (on --branch, default main):";
constexpr std::string_view kStoreHeading = "The store:";
constexpr std::string_view kReplicationHeading =
    "Replication with another kvs (URL: a kvs server's mount root):";
constexpr std::string_view kBranchesHeading =
    "Branches and commits (COMMIT: a commit id, 64 hex digits):";

constexpr CommandSpec kCommands[] = {
    {Command::kCreate, "create", Operands::kKey, kPrev | kBranch, true,
     "create KEY [--prev=ID ...] [--branch NAME]",
     "  Store the bytes read from stdin as a new version of KEY and print its id.\n"
     "  Its parents are exactly the --prev versions: none makes a version with no\n"
     "  history (a new tail, and one more head when KEY has heads already), one\n"
     "  an update of that version, two or more a merge of them. Only the named\n"
     "  versions stop being heads: two updates of the same version are two forks.\n"},
    {Command::kForks, "forks", Operands::kOptionalKey, kBranch, false,
     "forks [KEY] [--branch NAME]",
     "  Print the id of every head of KEY, one per line, the read winner first.\n"
     "  More than one head is a conflict. Without KEY, every head of every key on\n"
     "  the branch (deleted ones too), in key order, as JSON lines {\"key\",\"hash\"}.\n"},
    {Command::kTails, "tails", Operands::kOptionalKey, 0, false, "tails [KEY]",
     "  Print the id of every version of KEY that has no parents. Without KEY,\n"
     "  every such version in the store, by id, as JSON lines {\"key\",\"hash\"}.\n"},
    {Command::kLinks, "links", Operands::kId, kIds, false, "links ID [--ids]",
     "  Print every version that names ID as a parent, by id, as JSON lines\n"
     "  {\"key\",\"hash\"} as forkdb does; --ids prints only the ids, one per line.\n"},
    {Command::kConcestor, "concestor", Operands::kTwoOrMoreIds, 0, false, "concestor ID ID...",
     "  Print the most recent common ancestors of the versions (more than one on a\n"
     "  tie); nothing when they have none.\n"},
    {Command::kRead, "read", Operands::kId, 0, false, "read ID",
     "  Print the value of version ID, byte for byte.\n"},
    {Command::kGet, "get", Operands::kId, 0, false, "get ID",
     "  Print the metadata of version ID as one line of JSON.\n"},
    {Command::kList, "list", Operands::kNone, kGt | kLt | kLimit, false,
     "list [--gt=HEX] [--lt=HEX] [--limit=N]",
     "  Print the metadata of every version in the store (all keys, all branches)\n"
     "  as JSON, one line each, by id; --gt and --lt bound the ids (hex prefixes).\n"},
    {Command::kHistory, "history", Operands::kId, kLimit, false, "history ID [--limit=N]",
     "  Draw the versions ID descends from, back to its tails, as a tree: a merge\n"
     "  branches into its parents. At most N versions (default 10000).\n"},
    {Command::kFuture, "future", Operands::kId, kLimit, false, "future ID [--limit=N]",
     "  Draw the versions that descend from ID, forward to the heads: a fork\n"
     "  branches into its children. At most N versions (default 10000).\n"},
    {Command::kPut, "put", Operands::kKeyValue, kBranch, true, "put KEY VALUE [--branch NAME]",
     "  Write VALUE as the new value of KEY, replacing all its heads (which also\n"
     "  resolves a conflict), and print the new version's id.\n"},
    {Command::kRm, "rm", Operands::kKey, kBranch, false, "rm KEY [--branch NAME]",
     "  Delete KEY: write a deletion replacing all its heads, and print its id.\n"
     "  The key's history stays; a key with no value is an error.\n"},
    {Command::kGetKey, "get-key", Operands::kKey, kBranch, false, "get-key KEY [--branch NAME]",
     "  Print the current value of KEY, byte for byte. When KEY is in conflict this\n"
     "  is the winner (newest, then largest id), and a note on stderr says so.\n"},
    {Command::kKeys, "keys", Operands::kNone, kGt | kLt | kLimit | kBranch, false,
     "keys [--gt=KEY] [--lt=KEY] [--limit=N] [--branch NAME]",
     "  Print every key that has a value (deleted keys are left out), one per line,\n"
     "  in byte order; --gt and --lt bound them.\n"},
    {Command::kExport, "export", Operands::kNone, kYaml | kBranch, false,
     "export [--yaml] [--branch NAME]",
     "  Print every key with its current value, as of one revision, in byte order.\n"
     "  Default: JSON lines, {\"key\":K,\"value\":V}, and \"encoding\":\"base64\" when\n"
     "  V is not UTF-8. --yaml: a YAML map of key: value, the form import reads;\n"
     "  a value that is not UTF-8 is written as !!binary (base64).\n"},
    {Command::kImport, "import", Operands::kFile, kBranch, true, "import FILE [--branch NAME]",
     "  Write every key: value of FILE (a YAML map; \"-\" reads stdin) in one\n"
     "  transaction, all or nothing, and print the revision. Values are taken as\n"
     "  text as written (!!binary is decoded); a null, list or map value is refused.\n"},
    {Command::kBranch, "branch", Operands::kSubcommand, 0, false, "branch list|create|delete", ""},
    {Command::kBranchList, "branch list", Operands::kNone, 0, false, "branch list",
     "  Print every branch, by name, one line each in aligned columns: the name,\n"
     "  'r' and the last revision that changed the branch, and its head commit\n"
     "  ('-' before its first commit): \"main  r12  3f2a...\".\n"},
    {Command::kBranchCreate, "branch create", Operands::kName, kFrom | kAt, false,
     "branch create NAME [--from BRANCH] [--at REV|TIME|COMMIT]",
     "  Make branch NAME a copy of --from (default main) as of its head, or as of\n"
     "  --at: a revision number, a time like 2026-11-20T10:00:00Z, or a commit\n"
     "  (whose branch is then the default --from). Costs O(1) whatever the size\n"
     "  of the store. Prints the new branch's line, as branch list does.\n"},
    {Command::kBranchDelete, "branch delete", Operands::kName, 0, false, "branch delete NAME",
     "  Delete branch NAME (not main) and print \"deleted \" and its line, as branch\n"
     "  list shows it. Its commits stay: branch create NAME --at COMMIT, with the\n"
     "  head commit printed, brings it back.\n"},
    {Command::kLog, "log", Operands::kNone, kBranch | kLimit, false,
     "log [--branch NAME] [--limit=N]",
     "  Print the branch's commits newest first, following every parent (a merge\n"
     "  brings the merged branch's commits), each once: a line\n"
     "  \"commit COMMIT  rREVISION  BRANCH  TIME\", then \"  parent COMMIT\" for each\n"
     "  parent and \"  key KEY\" for each key it changed. At most N (default: all).\n"},
    {Command::kDiff, "diff", Operands::kTwoStates, 0, false, "diff A B",
     "  Print each key whose value differs from A to B, in byte order: \"+ KEY\"\n"
     "  added in B, \"- KEY\" removed in B, \"M KEY\" modified. A and B are each a\n"
     "  branch (its head) or a commit (its branch as of that commit).\n"},
    {Command::kMerge, "merge", Operands::kFromInto, kStrategy | kDryRun, false,
     "merge FROM INTO [--strategy F] [--dry-run]",
     "  Merge branch FROM into branch INTO as one commit whose parents are both\n"
     "  heads. Prints a line per key: \"fast_forward KEY\" (only FROM changed it),\n"
     "  \"merged KEY\" (F settled it), \"kept_both KEY\" (F is keep: a fork), or\n"
     "  \"conflict KEY: REASON\"; then \"commit COMMIT\", or \"nothing to merge\".\n"
     "  Keys both sides changed conflict unless --strategy F names a merge function\n"
     "  for every key: lww, counter, max, min, union, json, text, keep, reject; or,\n"
     "  without it, the merge: rules of the server config (kvs.yaml) in -d DIR. Any\n"
     "  conflict fails the merge (exit 1), writing nothing. --dry-run prints the\n"
     "  same lines, then \"dry run: nothing written\", and writes nothing.\n"},
    {Command::kReset, "reset", Operands::kBranchCommit, 0, false, "reset BRANCH COMMIT",
     "  Move BRANCH to the state of COMMIT (of any branch) as one new commit, and\n"
     "  print \"commit COMMIT\", the new commit ('-' when BRANCH had that state\n"
     "  already), and \"previous COMMIT\", the head before: resetting to it undoes.\n"},
    {Command::kSync, "sync", Operands::kRemote, kRemoteOptions, true,
     "sync URL|--stdio [--secret-file FILE] [--branch NAME] [--prefix P] [--live]\n"
     "     [--config FILE]",
     "  Exchange versions with another replica both ways: afterwards both hold\n"
     "  every version, and each key has the same heads and winner on both. Keys\n"
     "  edited on both sides since they last met keep both edits as heads (a\n"
     "  fork: kvs forks KEY). Every branch travels, or only --branch; only keys\n"
     "  starting with --prefix. The secret of the server at URL is read from\n"
     "  --secret-file (never give it on the command line). --stdio speaks the\n"
     "  protocol on stdin/stdout with a kvs sync/push/pull --stdio at the other\n"
     "  end of a pipe (ssh host kvs -d DIR sync --stdio). Prints what it did.\n"
     "  --live goes on replicating as either side changes, printing a line per\n"
     "  run that moved something, until interrupted (with --stdio: until the\n"
     "  other side, which needs --live too, ends the stream). A key edited on\n"
     "  both sides whose merge: rule (in -d's kvs.yaml or --config FILE) names a\n"
     "  function that makes a value is merged at once, alike on both replicas.\n"},
    {Command::kPush, "push", Operands::kRemote, kRemoteOptions, true,
     "push URL|--stdio [--secret-file FILE] [--branch NAME] [--prefix P] [--live]",
     "  As sync, one way: send what the other replica lacks.\n"},
    {Command::kPull, "pull", Operands::kRemote, kRemoteOptions, true,
     "pull URL|--stdio [--secret-file FILE] [--branch NAME] [--prefix P] [--live]",
     "  As sync, one way: receive what this replica lacks.\n"},
    {Command::kCheck, "check", Operands::kNone, 0, false, "check",
     "  Read and verify every byte of the store, print what was checked and every\n"
     "  problem found; exit 1 when there is one.\n"},
    {Command::kCompact, "compact", Operands::kNone, 0, false, "compact",
     "  Rewrite the store into a new file, keeping all history, and print the sizes\n"
     "  before and after. Writers wait meanwhile; readers and the server go on.\n"},
    {Command::kGc, "gc", Operands::kNone, kConfig, false, "gc [--config FILE]",
     "  Compact the store keeping what the server config's retention section keeps\n"
     "  (per-prefix keep_last and keep_younger, protected prefixes, and the size\n"
     "  bound that drops the least recently read keys of evictable prefixes), as\n"
     "  POST /_compact does, and print what it freed and each key it evicted. The\n"
     "  config is FILE (its data_dir is the store) or the kvs.yaml in -d DIR.\n"},
    {Command::kStats, "stats", Operands::kNone, kBranch, false, "stats [--branch NAME]",
     "  Print the store's revision, replica id, branches, keys on the branch, number\n"
     "  of versions and bytes on disk. Counting reads every key and version id.\n"},
    {Command::kBackup, "backup", Operands::kDest, 0, false, "backup DEST",
     "  Copy the store as of its newest commit (all history, branches, commits and\n"
     "  checkpoints) into DEST, a new or empty directory whose parent exists, while\n"
     "  the server goes on writing. The copy is checked and synced before it\n"
     "  appears at DEST. Prints the revision, commits, versions and bytes copied.\n"},
    {Command::kRestore, "restore", Operands::kSource, kForce, false, "restore SRC [--force]",
     "  Put a copy of the store in SRC (a backup) in place as the store in DIR,\n"
     "  after checking it as check does. DIR must be new or empty; --force moves\n"
     "  what it holds aside to DIR.old-TIME (printed). Refused while a server or\n"
     "  another kvs has the store in DIR open.\n"},
    {Command::kUpgrade, "upgrade", Operands::kNone, 0, false, "upgrade",
     "  Raise a store written by kvs 0.2 or earlier to the newest format, in place,\n"
     "  and print the format before and after. Such a store works as it is, but\n"
     "  writes each transaction's index changes in full until upgraded; kvs 0.2\n"
     "  cannot open it afterwards. Refused while a server or another kvs has the\n"
     "  store open.\n"},
    {Command::kHelp, "help", Operands::kHelpTopic, 0, false, "help [COMMAND]",
     "  Show this message, or one command's.\n"},
};

constexpr std::string_view kGlobalUsage =
    "usage: kvs [-d DIR] COMMAND [OPTIONS]\n"
    "\n"
    "Works directly on a kvs store directory, safely while kvs-fcgi serves it.\n"
    "\n"
    "  -d, --dir DIR   the store directory, the server config's data_dir (default:\n"
    "                  $KVS_DIR, else ./kvs-data); a directory holding a server's\n"
    "                  kvs.yaml means the store its data_dir names\n"
    "  -h, --help      show this message; after a command, that command's usage\n"
    "  --version       print the version of kvs and exit\n"
    "\n"
    "Exit status: 0 done, 1 failed (not found, refused, ...), 2 bad usage.\n";

const CommandSpec& SpecOf(Command command) {
  for (const CommandSpec& spec : kCommands) {
    if (spec.command == command) return spec;
  }
  return kCommands[0];  // unreachable: every Command is in the table
}

// The command named so on the command line; a subcommand is not found by
// its whole name ("branch list"), only through its group.
const CommandSpec* FindCommand(std::string_view name) {
  if (name.find(' ') != std::string_view::npos) return nullptr;
  for (const CommandSpec& spec : kCommands) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool InGroup(const CommandSpec& spec, const CommandSpec& group) {
  return spec.name.size() > group.name.size() && spec.name.starts_with(group.name) &&
         spec.name[group.name.size()] == ' ';
}

const CommandSpec* FindSubcommand(const CommandSpec& group, std::string_view name) {
  for (const CommandSpec& spec : kCommands) {
    if (InGroup(spec, group) && spec.name.substr(group.name.size() + 1) == name) return &spec;
  }
  return nullptr;
}

// "list, create, delete": the subcommands of group, for messages.
std::string SubcommandNames(const CommandSpec& group) {
  std::string names;
  for (const CommandSpec& spec : kCommands) {
    if (!InGroup(spec, group)) continue;
    names += (names.empty() ? "" : ", ") + std::string(spec.name.substr(group.name.size() + 1));
  }
  return names;
}

// The bit of a per-command option name, 0 when there is no such option.
uint32_t OptionBit(std::string_view name) {
  if (name == "--prev") return kPrev;
  if (name == "--branch") return kBranch;
  if (name == "--gt") return kGt;
  if (name == "--lt") return kLt;
  if (name == "--limit") return kLimit;
  if (name == "--yaml") return kYaml;
  if (name == "--from") return kFrom;
  if (name == "--at") return kAt;
  if (name == "--strategy") return kStrategy;
  if (name == "--dry-run") return kDryRun;
  if (name == "--config") return kConfig;
  if (name == "--ids") return kIds;
  if (name == "--stdio") return kStdio;
  if (name == "--secret-file") return kSecretFile;
  if (name == "--prefix") return kPrefix;
  if (name == "--live") return kLive;
  if (name == "--force") return kForce;
  return 0;
}

// A hex string, folded to lower case; nullopt when any digit is not hex.
std::optional<std::string> Hex(std::string_view text) {
  std::string lower;
  for (char c : text) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    lower += c;
  }
  return lower;
}

// Parses one command line. Holds the state of the scan so that each step
// can end it with a UsageError.
class Parser {
 public:
  Parser(int argc, const char* const* argv, const char* env_dir) {
    for (int i = 1; i < argc; ++i) args_.emplace_back(argv[i]);
    invocation_.dir_chosen = env_dir != nullptr && *env_dir != '\0';
    invocation_.dir = invocation_.dir_chosen ? env_dir : "kvs-data";
  }

  std::variant<Invocation, UsageError> Parse() {
    bool help = false;
    bool options_ended = false;
    std::vector<std::string> operands;
    for (next_ = 0; next_ < args_.size();) {
      const std::string& arg = args_[next_++];
      if (options_ended || arg == "-" || arg.empty() || arg[0] != '-') {
        if (spec_ == nullptr) {
          spec_ = FindCommand(arg);
          if (spec_ == nullptr) return Error("unknown command '" + arg + "'");
        } else if (spec_->operands == Operands::kSubcommand) {
          const CommandSpec* sub = FindSubcommand(*spec_, arg);
          if (sub == nullptr) {
            return Error("unknown subcommand '" + arg + "' of " + std::string(spec_->name) +
                         " (known: " + SubcommandNames(*spec_) + ")");
          }
          spec_ = sub;
        } else {
          operands.push_back(arg);
        }
        continue;
      }
      if (arg == "--") {
        options_ended = true;
        continue;
      }
      std::string_view name = std::string_view(arg).substr(0, arg.find('='));
      std::optional<std::string> inline_value;
      if (name.size() < arg.size()) inline_value = arg.substr(name.size() + 1);
      if (name == "-h" || name == "--help") {
        if (inline_value) return Error(std::string(name) + " takes no value");
        help = true;
      } else if (name == "--version") {
        if (inline_value) return Error("--version takes no value");
        invocation_.version = true;
      } else if (name == "-d" || name == "--dir") {
        auto value = Value(name, inline_value);
        if (!value) return error_;
        invocation_.dir = *value;
        invocation_.dir_chosen = true;
      } else if (auto error = CommandOption(name, inline_value)) {
        return *error;
      }
    }
    if (invocation_.version) return invocation_;
    if (spec_ == nullptr) {
      if (help) return invocation_;  // kvs --help: Command::kHelp
      return Error("no command given");
    }
    invocation_.command = spec_->command;
    if (help) {
      invocation_.help_for = spec_->command;
      invocation_.command = Command::kHelp;
      return invocation_;
    }
    if (spec_->operands == Operands::kSubcommand) {
      return Error("missing subcommand of " + std::string(spec_->name) + " (" +
                   SubcommandNames(*spec_) + ")");
    }
    if (auto error = TakeOperands(operands)) return *error;
    return invocation_;
  }

 private:
  UsageError Error(std::string message) const {
    UsageError error{std::move(message), std::nullopt};
    if (spec_ != nullptr) error.command = spec_->command;
    return error;
  }

  // The value of an option: after '=', else the next argument. Sets error_
  // and returns nullopt when there is none or it is empty.
  std::optional<std::string> Value(std::string_view name, const std::optional<std::string>& given) {
    std::optional<std::string> value = given;
    if (!value && next_ < args_.size()) value = args_[next_++];
    if (!value || value->empty()) {
      error_ = Error(std::string(name) + " needs a value");
      return std::nullopt;
    }
    return value;
  }

  // An option of the command (which must come before it).
  std::optional<UsageError> CommandOption(std::string_view name,
                                          const std::optional<std::string>& inline_value) {
    uint32_t bit = OptionBit(name);
    if (bit == 0 || spec_ == nullptr || (spec_->options & bit) == 0) {
      std::string where = spec_ == nullptr ? "" : std::string(" for ") + spec_->name.data();
      return Error("unknown option '" + std::string(name) + "'" + where);
    }
    if ((bit & kFlags) != 0) {
      if (inline_value) return Error(std::string(name) + " takes no value");
      (bit == kYaml     ? invocation_.yaml
       : bit == kDryRun ? invocation_.dry_run
       : bit == kStdio  ? invocation_.stdio
       : bit == kLive   ? invocation_.live
       : bit == kForce  ? invocation_.force
                        : invocation_.ids_only) = true;
      return std::nullopt;
    }
    auto value = Value(name, inline_value);
    if (!value) return error_;
    switch (bit) {
      case kPrev: {
        auto id = IdPrefix("--prev", *value);
        if (!id) return error_;
        invocation_.prev.push_back(*id);
        break;
      }
      case kBranch:
        invocation_.branch = *value;
        invocation_.branch_given = true;
        break;
      case kSecretFile:
        invocation_.secret_file = *value;
        break;
      case kPrefix:
        invocation_.prefix = *value;
        break;
      case kGt:
      case kLt: {
        // Keys are bounded by any text; version ids by hex prefixes.
        std::string bound = *value;
        if (spec_->command == Command::kList) {
          auto hex = Hex(bound);
          if (!hex) return Error(std::string(name) + " takes hex digits, not '" + bound + "'");
          bound = *hex;
        }
        (bit == kGt ? invocation_.gt : invocation_.lt) = bound;
        break;
      }
      case kLimit: {
        size_t limit = 0;
        auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), limit);
        if (ec != std::errc() || end != value->data() + value->size() || limit == 0) {
          return Error("--limit takes a positive number, not '" + *value + "'");
        }
        invocation_.limit = limit;
        break;
      }
      case kFrom:
        invocation_.from = *value;
        break;
      case kAt: {
        auto at = common::ParseReadPoint(*value);
        if (!at) {
          return Error(
              "--at takes a revision number (from 1), a time like "
              "2026-11-20T10:00:00Z or a commit id of 64 hex digits, not '" +
              *value + "'");
        }
        invocation_.at = *at;
        break;
      }
      case kConfig:
        invocation_.config = *value;
        break;
      case kStrategy:
        invocation_.strategy = merge::ParseMergeFunction(*value);
        if (!invocation_.strategy) {
          return Error("unknown strategy '" + *value + "' (known: " + merge::MergeFunctionNames() +
                       ")");
        }
        break;
    }
    return std::nullopt;
  }

  // A version id prefix as the store resolves it. Sets error_ when malformed.
  std::optional<std::string> IdPrefix(std::string_view what, const std::string& text) {
    auto hex = Hex(text);
    if (!hex || text.size() < 8 || text.size() > 64) {
      error_ = Error(std::string(what) + ": '" + text +
                     "' is not a version id (8 to 64 hex digits: an id or a unique prefix)");
      return std::nullopt;
    }
    return hex;
  }

  std::optional<UsageError> TakeOperands(const std::vector<std::string>& operands) {
    size_t wanted = 0;
    std::string_view missing;
    switch (spec_->operands) {
      case Operands::kNone:
        break;
      case Operands::kKey:
        wanted = 1, missing = "KEY";
        break;
      case Operands::kOptionalKey:
        wanted = std::min<size_t>(1, operands.size());
        break;
      case Operands::kId:
        wanted = 1, missing = "ID";
        break;
      case Operands::kTwoOrMoreIds:
        wanted = std::max<size_t>(2, operands.size()), missing = "two or more IDs";
        break;
      case Operands::kKeyValue:
        wanted = 2, missing = operands.empty() ? "KEY and VALUE" : "VALUE";
        break;
      case Operands::kFile:
        wanted = 1, missing = "FILE";
        break;
      case Operands::kHelpTopic:
        wanted = std::min<size_t>(1, operands.size());
        break;
      case Operands::kSubcommand:  // replaced by the subcommand before
        break;
      case Operands::kName:
        wanted = 1, missing = "NAME";
        break;
      case Operands::kBranchCommit:
        wanted = 2, missing = operands.empty() ? "BRANCH and COMMIT" : "COMMIT";
        break;
      case Operands::kTwoStates:
        wanted = 2, missing = operands.empty() ? "A and B" : "B";
        break;
      case Operands::kFromInto:
        wanted = 2, missing = operands.empty() ? "FROM and INTO" : "INTO";
        break;
      case Operands::kRemote:
        wanted = invocation_.stdio ? 0 : 1, missing = "URL (or --stdio)";
        break;
      case Operands::kDest:
        wanted = 1, missing = "DEST";
        break;
      case Operands::kSource:
        wanted = 1, missing = "SRC";
        break;
    }
    if (operands.size() < wanted) return Error("missing " + std::string(missing));
    if (operands.size() > wanted) return Error("unexpected argument '" + operands[wanted] + "'");
    switch (spec_->operands) {
      case Operands::kKey:
        invocation_.key = operands[0];
        break;
      case Operands::kOptionalKey:
        invocation_.all_keys = operands.empty();
        if (!operands.empty()) invocation_.key = operands[0];
        break;
      case Operands::kKeyValue:
        invocation_.key = operands[0];
        invocation_.value = operands[1];
        break;
      case Operands::kFile:
        invocation_.file = operands[0];
        break;
      case Operands::kId:
      case Operands::kTwoOrMoreIds:
        for (const std::string& operand : operands) {
          auto id = IdPrefix("ID", operand);
          if (!id) return error_;
          invocation_.ids.push_back(*id);
        }
        break;
      case Operands::kHelpTopic:
        if (!operands.empty()) {
          const CommandSpec* topic = FindCommand(operands[0]);
          if (topic == nullptr) return Error("unknown command '" + operands[0] + "'");
          invocation_.help_for = topic->command;
        }
        break;
      case Operands::kName:
        invocation_.branch = operands[0];
        break;
      case Operands::kBranchCommit: {
        invocation_.branch = operands[0];
        auto commit = Hash::FromHex(operands[1]);
        if (operands[1].size() != 64 || !commit.ok()) {
          return Error("COMMIT: '" + operands[1] + "' is not a commit id (64 hex digits)");
        }
        invocation_.commit = *commit;
        break;
      }
      case Operands::kTwoStates:
        for (const std::string& operand : operands) {
          BranchOrCommit side{operand, std::nullopt};
          if (operand.size() == 64) {
            if (auto commit = Hash::FromHex(operand); commit.ok()) side = {"", *commit};
          }
          invocation_.sides.push_back(std::move(side));
        }
        break;
      case Operands::kFromInto:
        if (operands[0] == operands[1]) return Error("a branch cannot be merged into itself");
        invocation_.from = operands[0];
        invocation_.branch = operands[1];
        break;
      case Operands::kRemote:
        if (invocation_.stdio && invocation_.secret_file) {
          return Error("--secret-file is for a server's URL; over --stdio no secret is asked");
        }
        if (!operands.empty()) invocation_.url = operands[0];
        break;
      case Operands::kDest:
      case Operands::kSource:
        invocation_.directory = operands[0];
        break;
      case Operands::kNone:
      case Operands::kSubcommand:
        break;
    }
    return std::nullopt;
  }

  std::vector<std::string> args_;
  size_t next_ = 0;
  const CommandSpec* spec_ = nullptr;
  Invocation invocation_;
  UsageError error_;
};

}  // namespace

std::variant<Invocation, UsageError> ParseArgs(int argc, const char* const* argv,
                                               const char* env_dir) {
  return Parser(argc, argv, env_dir).Parse();
}

const char* CommandName(Command command) { return SpecOf(command).name.data(); }

bool CommandCreatesStore(Command command) { return SpecOf(command).creates_store; }

std::string Usage() {
  std::string text(kGlobalUsage);
  for (const CommandSpec& spec : kCommands) {
    if (spec.operands == Operands::kSubcommand) continue;  // its subcommands are listed
    if (spec.command == Command::kCreate) text += "\n" + std::string(kGraphHeading) + "\n\n";
    if (spec.command == Command::kPut) text += "\n" + std::string(kKeysHeading) + "\n\n";
    if (spec.command == Command::kCheck) text += "\n" + std::string(kStoreHeading) + "\n\n";
    if (spec.command == Command::kBranchList) text += "\n" + std::string(kBranchesHeading) + "\n\n";
    if (spec.command == Command::kSync) text += "\n" + std::string(kReplicationHeading) + "\n\n";
    text += "kvs " + std::string(spec.synopsis) + "\n" + std::string(spec.description);
  }
  return text;
}

std::string CommandUsage(Command command) {
  const CommandSpec& spec = SpecOf(command);
  std::string text = "usage: kvs [-d DIR] " + std::string(spec.synopsis) + "\n";
  if (spec.operands != Operands::kSubcommand) return text + std::string(spec.description);
  for (const CommandSpec& sub : kCommands) {
    if (InGroup(sub, spec)) {
      text += "kvs " + std::string(sub.synopsis) + "\n" + std::string(sub.description);
    }
  }
  return text;
}

}  // namespace kvs::cli
