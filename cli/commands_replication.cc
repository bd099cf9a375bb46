// sync, push and pull: replication with another kvs, over HTTP with a
// server (its /_sync routes) or over stdin/stdout with another kvs process
// (replication/stream.h), once or, with --live, until interrupted
// (replication/live.h).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <mutex>

#include "cli/commands.h"
#include "cli/io.h"
#include "replication/http_peer.h"
#include "replication/live.h"
#include "replication/local_peer.h"
#include "replication/replicator.h"
#include "replication/stream.h"

namespace kvs::cli {
namespace {

using replication::Direction;
using replication::ReplicateOptions;
using replication::ReplicateStats;

// On a terminal, a line that counts what a long transfer has done so far;
// nothing otherwise.
class TransferCounter {
 public:
  // label: what it counts when the progress names no direction.
  explicit TransferCounter(std::string label) : label_(std::move(label)), enabled_(isatty(2)) {}
  ~TransferCounter() { Finish(); }

  void Update(const replication::Progress& p) {
    if (!enabled_) return;
    const std::string label = p.direction.empty() ? label_ : std::string(p.direction);
    if (label != drawn_label_) Finish();  // a new direction starts a line of its own
    std::fprintf(stderr, "\r%s %s: %llu keys compared, %llu versions stored", label.c_str(),
                 p.branch.c_str(), static_cast<unsigned long long>(p.keys),
                 static_cast<unsigned long long>(p.versions));
    drawn_label_ = label;
  }

  // Ends the line drawn, if any, so that what follows starts on its own.
  void Finish() {
    if (!drawn_label_.empty()) std::fputc('\n', stderr);
    drawn_label_.clear();
  }

 private:
  std::string label_;
  bool enabled_;
  std::string drawn_label_;  // empty: no line drawn
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

// Whether a run did anything worth a line (live runs print only those).
bool Moved(const ReplicateStats& stats) {
  return stats.versions > 0 || stats.heads > 0 || !stats.forked.empty() || !stats.merged.empty();
}

// A line per key that forked, and per fork the merge rules merged.
void NoteForks(const ReplicateStats& stats, const std::function<void(std::string)>& out) {
  for (const std::string& key : stats.forked) {
    out("forked: " + LineSafeKey(key) + " (both edits kept: kvs forks KEY shows them)");
  }
  for (const std::string& key : stats.merged) {
    out("merged: " + LineSafeKey(key) + " (edited on both sides; merged by its merge rule)");
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

// How this side applies what it receives: with the merge rules of the
// server config next to the store (or --config), if any.
Result<replication::LocalPeerOptions> LocalOptions(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::optional<config::Config> server, ServerConfig(inv));
  replication::LocalPeerOptions options;
  if (server) options.merge_rules = server->merge_rules;
  return options;
}

// Over stdin/stdout, which carry the protocol: what it did goes to stderr.
// --live (on both sides) goes on until the other side ends the stream.
Status ReplicateOverStdio(const Invocation& inv, Store& store,
                          const replication::LocalPeerOptions& local) {
  // A write to a side that has gone fails (EPIPE) and ends the run as its
  // end of the stream does, instead of killing this process mid-sentence.
  std::signal(SIGPIPE, SIG_IGN);
  TransferCounter counter("pull");
  ReplicateOptions options = OptionsOf(inv);
  replication::StreamLive live;
  live.live = inv.live;
  if (inv.live) {
    live.each_run = [](const ReplicateStats& stats) {
      if (!Moved(stats)) return;
      Note(Summary("pull", "received", stats));
      NoteForks(stats, [](std::string line) { Note(line); });
    };
  } else {
    options.progress = [&counter](const replication::Progress& p) { counter.Update(p); };
  }
  KVS_ASSIGN_OR_RETURN(replication::StreamOutcome outcome,
                       replication::ReplicateOverStream(store, local, 0, 1,
                                                        DirectionOf(inv.command), options, live));
  if (!outcome.nothing_because.empty()) {
    Note("nothing to do: " + outcome.nothing_because);
    return Status::OK();
  }
  if (outcome.ended) {
    Note("live: the other side ended the stream");
    return Status::OK();
  }
  if (outcome.pulled) Note(Summary("pull", "received", outcome.received));
  if (outcome.was_pulled) Note("push: the other side pulled what it lacked");
  NoteForks(outcome.received, [](std::string line) { Note(line); });
  return Status::OK();
}

Result<std::unique_ptr<replication::HttpPeer>> ConnectTo(const Invocation& inv) {
  return replication::HttpPeer::Connect(inv.url, inv.secret_file);
}

// --live: a line per run that moved something, and one per failure, until
// SIGINT, SIGTERM or SIGHUP. Being cut at any point is safe (each run
// resumes from its checkpoint), so the signal only makes the end tidy.
Status ReplicateLive(const Invocation& inv, Store& store,
                     const replication::LocalPeerOptions& local) {
  // A URL or secret file that cannot work fails now, not on every retry.
  KVS_RETURN_IF_ERROR(ConnectTo(inv).status());
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // the threads started below inherit it

  std::mutex out;
  replication::LiveHooks hooks;
  hooks.done = [&out](Direction way, const ReplicateStats& stats) {
    if (!Moved(stats)) return;
    std::lock_guard<std::mutex> lock(out);
    PrintLine(way == Direction::kPull ? Summary("pull", "received", stats)
                                      : Summary("push", "sent", stats));
    NoteForks(stats, [](std::string line) { PrintLine(line); });
    std::fflush(stdout);
  };
  hooks.failed = [&out](Direction way, const Status& status, int64_t retry_ns) {
    std::lock_guard<std::mutex> lock(out);
    Note(std::string(replication::DirectionName(way)) + " failed: " + status.message() +
         " (trying again in " + std::to_string(retry_ns / 1000000000) + " s)");
  };
  replication::LiveReplication live(
      store, local,
      [&inv]() -> Result<std::unique_ptr<replication::Peer>> {
        KVS_ASSIGN_OR_RETURN(std::unique_ptr<replication::HttpPeer> peer, ConnectTo(inv));
        return std::unique_ptr<replication::Peer>(std::move(peer));
      },
      DirectionOf(inv.command), OptionsOf(inv), hooks);
  Note("live: replicating with " + inv.url + " as either side changes; Ctrl-C stops");
  live.Start();
  int signal_number = 0;
  while (sigwait(&stop, &signal_number) != 0) {
  }
  live.Stop();
  Note("live: stopped");
  return Status::OK();
}

}  // namespace

Status Replicate(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(replication::LocalPeerOptions local_options, LocalOptions(inv));
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  if (inv.stdio) return ReplicateOverStdio(inv, *store, local_options);
  if (inv.live) return ReplicateLive(inv, *store, local_options);
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<replication::HttpPeer> remote, ConnectTo(inv));
  replication::LocalPeer local(*store, local_options);
  TransferCounter counter("");
  ReplicateOptions options = OptionsOf(inv);
  options.progress = [&counter](const replication::Progress& p) { counter.Update(p); };
  ReplicateStats of_note;  // the keys that forked, or were merged, either way
  KVS_RETURN_IF_ERROR(
      replication::Exchange(local, *remote, DirectionOf(inv.command), options,
                            [&](Direction way, const ReplicateStats& stats) {
                              counter.Finish();
                              PrintLine(way == Direction::kPull ? Summary("pull", "received", stats)
                                                                : Summary("push", "sent", stats));
                              of_note.forked.insert(stats.forked.begin(), stats.forked.end());
                              of_note.merged.insert(stats.merged.begin(), stats.merged.end());
                            }));
  NoteForks(of_note, [](std::string line) { PrintLine(line); });
  return Status::OK();
}

}  // namespace kvs::cli
