// The store looked after by itself: by CompactionWatch's thread in a
// FastCGI server, by a detached process after a plain CGI request.
#include "fcgi/compaction_watch.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "faces/admin/compact.h"

namespace kvs::server {

CompactionWatch::CompactionWatch(Service& service) : service_(service) {
  thread_ = std::thread([this] { Run(); });
}

CompactionWatch::~CompactionWatch() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void CompactionWatch::Run() {
  const auto interval = std::chrono::nanoseconds(service_.config.retention.check_interval_ns);
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, interval, [this] { return stop_; })) {
    lock.unlock();
    CheckOnce();
    lock.lock();
  }
}

namespace {
unsigned long long Ull(uint64_t n) { return static_cast<unsigned long long>(n); }
}  // namespace

void CompactionWatch::CheckOnce() {
  if (auto revision = service_.store->Revision(); revision.ok()) {
    if (last_revision_ == *revision) {
      if (Status s = service_.store->Checkpoint(); !s.ok()) {
        std::fprintf(stderr, "kvs-fcgi: checkpoint failed: %s\n", s.ToString().c_str());
      }
    }
    last_revision_ = *revision;
  }
  const config::Retention& retention = service_.config.retention;
  if (!retention.size_bound && !retention.garbage_ratio) return;
  auto space = service_.store->Space();
  if (!space.ok()) {
    std::fprintf(stderr, "kvs-fcgi: compaction: cannot read the store's size: %s\n",
                 space.status().ToString().c_str());
    return;
  }
  std::optional<std::string> why = retention.CompactionDue(*space);
  if (!why) return;
  if (std::optional<CompactionReport> done = CompactByItself(service_, *why)) {
    std::fprintf(stderr, "kvs-fcgi: %s\n", done->line.c_str());
  }
}

std::optional<CompactionReport> CompactByItself(Service& service, const std::string& why) {
  const auto started = std::chrono::steady_clock::now();
  auto stats = CompactByRetention(service, /*if_idle=*/true);
  if (stats.status().code() == Status::Code::kConflict) return std::nullopt;  // running elsewhere
  if (!stats.ok()) {
    return CompactionReport{
        false, "compaction: " + why + "; compaction failed: " + stats.status().ToString()};
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char figures[160];
  std::snprintf(figures, sizeof(figures), "; compacted to %llu bytes in %.2f s, %zu key(s) evicted",
                Ull(stats->bytes_after), seconds, stats->evicted_keys.size());
  return CompactionReport{
      true,
      "compaction: " + why + figures +
          (stats->above_low_water ? "; still above low_water_bytes: the rest may not be dropped"
                                  : "")};
}

namespace {

// Points fds at /dev/null; without one (a chroot lacking it), closes them.
void SilenceFds(std::initializer_list<int> fds) {
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd : fds) {
    if (null < 0 || dup2(null, fd) < 0) close(fd);
  }
  if (null > STDERR_FILENO) close(null);
}

}  // namespace

void CompactDetachedIfDue(Service& service, uint64_t revision_before) {
  // The answer is whole: the web server sees its end now, not after the
  // look below.
  SilenceFds({STDOUT_FILENO});
  auto revision = service.store->Revision();
  if (!revision.ok() || *revision == revision_before) return;
  auto space = service.store->Space();
  if (!space.ok() || !service.config.retention.CompactionDue(*space)) return;
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "kvs-fcgi: compaction due, but it cannot start: fork: %s\n",
                 std::strerror(errno));
    return;
  }
  if (child > 0) {
    waitpid(child, nullptr, 0);  // it forks the compacting process and exits at once
    return;
  }
  // In a session of its own, and the child of none of the web server's
  // processes once this one exits.
  setsid();
  openlog("kvs-fcgi", LOG_PID, LOG_USER);
  const pid_t compactor = fork();
  if (compactor < 0) syslog(LOG_ERR, "compaction due, but it cannot start: fork: %m");
  if (compactor != 0) _exit(0);
  SilenceFds({STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO});
  // Asked again: another process may have compacted since the request looked.
  space = service.store->Space();
  if (!space.ok()) {
    syslog(LOG_ERR, "compaction: cannot read the store's size: %s",
           space.status().ToString().c_str());
    _exit(0);
  }
  std::optional<std::string> why = service.config.retention.CompactionDue(*space);
  if (!why) _exit(0);
  if (std::optional<CompactionReport> done = CompactByItself(service, *why)) {
    syslog(done->ok ? LOG_INFO : LOG_ERR, "%s", done->line.c_str());
  }
  _exit(0);
}

}  // namespace kvs::server
