// Child processes for the integration tests: started in a process group of
// their own, and stopped with that whole group on scope exit, also when a
// test fails, so no nginx worker or kvs-fcgi outlives its test.
#ifndef KVS_TESTS_HARNESS_CHILD_PROCESS_H_
#define KVS_TESTS_HARNESS_CHILD_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kvs::server::test {

// Where a child's standard streams go and what environment it gets.
struct ChildIo {
  std::optional<int> stdin_fd;   // dup'ed as fd 0; default /dev/null
  std::optional<int> stdout_fd;  // dup'ed as fd 1; default the log file
  // Replaces the environment when set, except that the sanitizer options of
  // the test process are passed on.
  std::optional<std::map<std::string, std::string>> env;
};

class ChildProcess {
 public:
  // Runs argv[0] (a path) with argv; stderr (and stdout unless redirected)
  // appends to log_path.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const ChildIo& io = ChildIo());
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True once the process has exited (reaps it; never blocks).
  bool Exited();
  // The wait status once exited.
  int wait_status() const { return wait_status_; }
  // SIGTERM to the group, up to timeout_ms for the process to exit, then
  // SIGKILL. Returns the wait status. Idempotent.
  int Stop(int timeout_ms = 10000);

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int wait_status_ = 0;
};

// The environment entries the sanitizers read (ASAN_OPTIONS, ...), copied
// from this process, for children started with a replaced environment.
std::map<std::string, std::string> SanitizerEnvironment();

}  // namespace kvs::server::test

#endif  // KVS_TESTS_HARNESS_CHILD_PROCESS_H_
