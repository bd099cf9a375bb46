// sync, push and pull: replication with another kvs, over HTTP with a
// server (its /_sync routes) or over stdin/stdout with another kvs process
// (replication/stream.h).
#include <unistd.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/io.h"
#include "replication/http_peer.h"
#include "replication/local_peer.h"
#include "replication/replicator.h"
#include "replication/stream.h"

namespace kvs::cli {
namespace {

using replication::Direction;
using replication::ReplicateOptions;
using replication::ReplicateStats;

// The secret in a file, without the line end an editor leaves.
Result<std::string> ReadSecretFile(const std::string& path) {
  KVS_ASSIGN_OR_RETURN(std::string secret, ReadFileOrStdin(path));
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return Status::InvalidArgument("the secret file " + path + " is empty");
  return secret;
}

// On a terminal, a line that counts what a long transfer has done so far;
// nothing otherwise.
class TransferCounter {
 public:
  explicit TransferCounter(std::string label) : label_(std::move(label)), shown_(isatty(2)) {}
  ~TransferCounter() {
    if (drawn_) std::fputc('\n', stderr);
  }

  void Update(const replication::Progress& p) {
    if (!shown_) return;
    std::fprintf(stderr, "\r%s %s: %llu keys compared, %llu versions stored", label_.c_str(),
                 p.branch.c_str(), static_cast<unsigned long long>(p.keys),
                 static_cast<unsigned long long>(p.versions));
    drawn_ = true;
  }

 private:
  std::string label_;
  bool shown_;
  bool drawn_ = false;
};

// "pull: 3 versions received, 5 keys compared"
std::string Summary(std::string_view what, std::string_view verb, const ReplicateStats& stats) {
  std::string line = std::string(what) + ": " + std::to_string(stats.versions) + " version" +
                     (stats.versions == 1 ? "" : "s") + " " + std::string(verb) + ", " +
                     std::to_string(stats.keys) + " key" + (stats.keys == 1 ? "" : "s") +
                     " compared";
  if (stats.heads > 0) line += ", " + std::to_string(stats.heads) + " heads moved";
  if (stats.full_listing) line += " (full comparison: no checkpoint to resume from)";
  return line;
}

void NoteForks(const std::set<std::string>& forked, const std::function<void(std::string)>& out) {
  for (const std::string& key : forked) {
    out("forked: " + LineSafeKey(key) + " (both edits kept: kvs forks KEY shows them)");
  }
}

ReplicateOptions OptionsOf(const Invocation& inv) {
  ReplicateOptions options;
  if (inv.branch_given) options.branches = {inv.branch};
  options.prefix = inv.prefix;
  return options;
}

Direction DirectionOf(Command command) {
  return command == Command::kPush   ? Direction::kPush
         : command == Command::kPull ? Direction::kPull
                                     : Direction::kSync;
}

// Over stdin/stdout, which carry the protocol: what it did goes to stderr.
Status ReplicateOverStdio(const Invocation& inv, Store& store) {
  TransferCounter counter("pull");
  ReplicateOptions options = OptionsOf(inv);
  options.progress = [&counter](const replication::Progress& p) { counter.Update(p); };
  KVS_ASSIGN_OR_RETURN(
      replication::StreamOutcome outcome,
      replication::ReplicateOverStream(store, 0, 1, DirectionOf(inv.command), options));
  if (!outcome.nothing_because.empty()) {
    Note("nothing to do: " + outcome.nothing_because);
    return Status::OK();
  }
  if (outcome.pulled) Note(Summary("pull", "received", outcome.received));
  if (outcome.was_pulled) Note("push: the other side pulled what it lacked");
  NoteForks(outcome.received.forked, [](std::string line) { Note(line); });
  return Status::OK();
}

}  // namespace

Status Replicate(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  if (inv.stdio) return ReplicateOverStdio(inv, *store);
  std::string secret;
  if (inv.secret_file) {
    KVS_ASSIGN_OR_RETURN(secret, ReadSecretFile(*inv.secret_file));
  }
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<replication::HttpPeer> remote,
                       replication::HttpPeer::Connect(inv.url, std::move(secret)));
  replication::LocalPeer local(*store);
  const Direction direction = DirectionOf(inv.command);
  std::set<std::string> forked;
  if (direction != Direction::kPush) {
    TransferCounter counter("pull");
    ReplicateOptions options = OptionsOf(inv);
    options.progress = [&counter](const replication::Progress& p) { counter.Update(p); };
    KVS_ASSIGN_OR_RETURN(ReplicateStats stats, replication::Replicate(*remote, local, options));
    PrintLine(Summary("pull", "received", stats));
    forked.insert(stats.forked.begin(), stats.forked.end());
  }
  if (direction != Direction::kPull) {
    TransferCounter counter("push");
    ReplicateOptions options = OptionsOf(inv);
    options.progress = [&counter](const replication::Progress& p) { counter.Update(p); };
    KVS_ASSIGN_OR_RETURN(ReplicateStats stats, replication::Replicate(local, *remote, options));
    PrintLine(Summary("push", "sent", stats));
    forked.insert(stats.forked.begin(), stats.forked.end());
  }
  NoteForks(forked, [](std::string line) { PrintLine(line); });
  return Status::OK();
}

}  // namespace kvs::cli
