// The store looked after while kvs-fcgi serves FastCGI: a thread looks at
// the store every retention.check_interval. When no write came since its
// last look, it writes a checkpoint (Store::Checkpoint), so that the next
// process to open the store (kvs, a CGI request, a restart) replays no log.
// And it compacts, as POST /_compact does (faces/admin/compact.h), when
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
// the last one left. Plain CGI serves one request per process and has no
// such thread: there, POST /_compact or `kvs gc` (from cron) compacts.
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
  // Checkpoints an idle store; compacts when the store is above a
  // trigger, and updates the size trigger.
  void CheckOnce();
  // Runs the compaction; why says what called for it, for the log.
  void Compact(const std::string& why);

  Service& service_;
  uint64_t size_trigger_bytes_ = 0;  // 0: no size bound
  std::optional<uint64_t> last_revision_;  // at the last look
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // Guarded by mu_
  std::thread thread_;
};

}  // namespace kvs::server

#endif  // KVS_FCGI_COMPACTION_WATCH_H_
