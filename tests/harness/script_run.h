// The repository's scripts (scripts/serve, scripts/cluster) run as a user
// runs them: in a process group of their own, with stdout read as they
// print it, and the commands they print run by bash exactly as printed.
// Every run is stopped, with whatever it started, on scope exit, also when
// a test fails.
#ifndef KVS_TESTS_HARNESS_SCRIPT_RUN_H_
#define KVS_TESTS_HARNESS_SCRIPT_RUN_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/harness/child_process.h"

namespace kvs::server::test {

// A script needs well under a second without a build; a sanitizer build
// of kvs-fcgi on a busy machine needs more.
inline constexpr auto kScriptReadyTimeout = std::chrono::seconds(60);
// nginx alone retries a taken port for 2.5 s before it gives up.
inline constexpr auto kScriptExitTimeout = std::chrono::seconds(30);
// The last line of the scripts' banners: everything above it is printed.
inline constexpr const char* kBannerEnd = "Press Ctrl-C";

// What /proc/PID/stat says of a process that the tests look at.
struct ProcessStat {
  char state = 0;  // 'Z': a zombie
  pid_t parent = 0;
  pid_t group = 0;
};

// The stat of pid; nullopt when it is gone.
std::optional<ProcessStat> ReadProcessStat(pid_t pid);
// The processes of process group pgid, other than zombies.
std::vector<pid_t> GroupMembers(pid_t pgid);
// The command name of pid (/proc/PID/comm).
std::string CommandName(pid_t pid);
// True when an HTTP request to 127.0.0.1:port gets any answer.
bool PortAnswers(int port);

// What a shell command printed and how it ended.
struct ShellRun {
  int exit_code = -1;
  std::string output;  // stdout
  std::string log;     // stderr
};

// Runs command with bash -c, as a user pasting it into a shell would;
// stops it after kScriptExitTimeout.
ShellRun RunShell(const std::string& command);

// One run of a script (argv[0] a path), in a process group of its own (so
// nginx and kvs-fcgi are in it too), its stdout on a pipe, its stderr in a
// log file.
class ScriptRun {
 public:
  ScriptRun(const std::vector<std::string>& argv, const std::string& log_path);
  // Stops the script and everything in its process group.
  ~ScriptRun();
  ScriptRun(const ScriptRun&) = delete;
  ScriptRun& operator=(const ScriptRun&) = delete;

  pid_t pid() const { return process_->pid(); }
  // Everything read from the script's stdout so far.
  const std::string& output() const { return output_; }
  // stdout and stderr so far, for failure messages.
  std::string Transcript() const;
  std::string Stderr() const;

  // Reads stdout until it holds text (true), or it ends or timeout passes
  // (false).
  bool ReadUntil(const std::string& text, std::chrono::steady_clock::duration timeout);
  // Reads stdout until the ready banner is complete; fails the test if the
  // script ends or takes longer than kScriptReadyTimeout.
  void WaitUntilReady();
  // Waits for the script to exit and reads the rest of its stdout. Returns
  // its wait status; fails the test if it runs longer than
  // kScriptExitTimeout.
  int WaitForExit();

 private:
  // Appends what stdout has to output_, waiting for it until deadline.
  // False at the end of stdout or past the deadline.
  bool ReadMore(std::chrono::steady_clock::time_point deadline);

  std::string name_;  // argv[0], for the transcript
  std::string log_path_;
  int stdout_fd_ = -1;
  std::string output_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace kvs::server::test

#endif  // KVS_TESTS_HARNESS_SCRIPT_RUN_H_
