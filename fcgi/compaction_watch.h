// The store looked after by itself. While kvs-fcgi serves FastCGI, a
// thread looks at the store every retention.check_interval. When no write
// came since its last look, it writes a checkpoint (Store::Checkpoint), so
// that the next process to open the store (kvs, a CGI request, a restart)
// replays no log. And it compacts (as POST /_compact does,
// faces/admin/compact.h) when
//   - the data file is larger than retention.max_bytes (the size bound), or
//   - its garbage (Store::Space) is at least retention.garbage_ratio of it
//     and at least retention.min_garbage_bytes (on by default: 0.5 and
//     16MiB keep a store within about twice its compacted size),
// logging what it freed to stderr. Writers go on meanwhile (Store::Compact);
// a compaction another process is running is left to finish, not waited
// for.
//
// When the kept history of keys that may not be dropped is itself above the
// bound, compacting again would free nothing; the next run for the bound
// waits until the file has grown by max_bytes - low_water_bytes beyond what
// the last one left (config::Retention::CompactionDue).
//
// Plain CGI serves one request per process, so no thread stays; each
// request that wrote looks instead (CompactDetachedIfDue), and a one-shot
// process keeps its log window short (config::kOneShotCheckpointBlocks) in
// place of the idle checkpoint.
#ifndef KVS_FCGI_COMPACTION_WATCH_H_
#define KVS_FCGI_COMPACTION_WATCH_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "http/service.h"

namespace kvs::server {

class CompactionWatch {
 public:
  // Starts the thread.
  explicit CompactionWatch(Service& service);
  // Stops the thread, after the compaction it may be running.
  ~CompactionWatch();
  CompactionWatch(const CompactionWatch&) = delete;
  CompactionWatch& operator=(const CompactionWatch&) = delete;

 private:
  void Run();
  // Checkpoints an idle store; compacts when the store is due it.
  void CheckOnce();

  Service& service_;
  std::optional<uint64_t> last_revision_;  // at the last look
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // Guarded by mu_
  std::thread thread_;
};

// What an automatic compaction did, in one line for a log (without the
// program's name), and whether it succeeded.
struct CompactionReport {
  bool ok;
  std::string line;
};

// Compacts as POST /_compact does, why saying what called for it. nullopt
// when another compaction (in any process) is running: it is left to
// finish, not waited for.
std::optional<CompactionReport> CompactByItself(Service& service, const std::string& why);

// After a plain CGI request has written its answer: points stdout at
// /dev/null, so that the web server has all of it; then, when the request
// wrote (the store's revision is past revision_before) and the store is due
// a compaction (config::Retention::CompactionDue), starts CompactByItself
// in a process detached from the web server (a session of its own, stdio
// on /dev/null, reparented away from this one), which asks again before it
// compacts, and returns at once. A CGI program cannot compact in its own
// process: web servers end one that outlives its answer (Apache's mod_cgi
// and mod_cgid send SIGTERM once the request is done), and wait until every
// holder of its output closes it. What the compaction did goes to syslog,
// as the answer's stderr is gone. Still in the web server's cgroup, it ends
// with the server (`systemctl stop`), as a crash would: the store stays as
// it was, and the next write due a compaction starts one again.
void CompactDetachedIfDue(Service& service, uint64_t revision_before);

}  // namespace kvs::server

#endif  // KVS_FCGI_COMPACTION_WATCH_H_
