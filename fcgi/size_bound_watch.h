// The size bound, applied by itself: while kvs-fcgi serves FastCGI, a thread
// compares the data file with the config's retention.max_bytes every
// check_interval and, when the file is larger, runs the compaction POST
// /_compact runs (faces/admin/compact.h), logging what it freed to stderr.
//
// When the kept history of keys that may not be dropped is itself above the
// bound, compacting again would free nothing; the next automatic run waits
// until the file has grown by max_bytes - low_water_bytes beyond what the
// last one left. Plain CGI serves one request per process and has no such
// thread: there, POST /_compact or `kvs gc` (from cron) applies the bound.
#ifndef KVS_FCGI_SIZE_BOUND_WATCH_H_
#define KVS_FCGI_SIZE_BOUND_WATCH_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "http/service.h"

namespace kvs::server {

class SizeBoundWatch {
 public:
  // Starts the thread when the config has a size bound; else does nothing.
  explicit SizeBoundWatch(Service& service);
  // Stops the thread, after the compaction it may be running.
  ~SizeBoundWatch();
  SizeBoundWatch(const SizeBoundWatch&) = delete;
  SizeBoundWatch& operator=(const SizeBoundWatch&) = delete;

 private:
  void Run();
  // Compacts when the store is above the trigger; updates the trigger.
  void CheckOnce();

  Service& service_;
  uint64_t trigger_bytes_ = 0;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // Guarded by mu_
  std::thread thread_;
};

}  // namespace kvs::server

#endif  // KVS_FCGI_SIZE_BOUND_WATCH_H_
