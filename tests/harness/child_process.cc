#include "tests/harness/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <thread>

extern char** environ;

namespace kvs::server::test {

std::map<std::string, std::string> SanitizerEnvironment() {
  std::map<std::string, std::string> env;
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TMPDIR"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  return env;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
                           const ChildIo& io) {
  REQUIRE(!argv.empty());
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  std::vector<char*> env_pointers;
  if (io.env) {
    auto merged = SanitizerEnvironment();
    for (const auto& [name, value] : *io.env) merged[name] = value;
    for (const auto& [name, value] : merged) env_strings.push_back(name + "=" + value);
    for (std::string& entry : env_strings) env_pointers.push_back(entry.data());
    env_pointers.push_back(nullptr);
  }
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  REQUIRE(log_fd >= 0);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(null_fd >= 0);

  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    setpgid(0, 0);
    dup2(io.stdin_fd ? *io.stdin_fd : null_fd, STDIN_FILENO);
    dup2(io.stdout_fd ? *io.stdout_fd : log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    // Undo the test process's signal state: a blocked or ignored signal
    // would survive exec.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    if (io.env) {
      execve(args[0], args.data(), env_pointers.data());
    } else {
      execv(args[0], args.data());
    }
    _exit(127);
  }
  setpgid(pid_, pid_);  // also here, so the group exists before Stop can run
  close(log_fd);
  close(null_fd);
}

ChildProcess::~ChildProcess() { Stop(); }

bool ChildProcess::Exited() {
  if (exited_) return true;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    wait_status_ = status;
  }
  return exited_;
}

int ChildProcess::Stop(int timeout_ms) {
  if (pid_ <= 0) return wait_status_;
  if (!Exited()) {
    kill(-pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!Exited() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!Exited()) {
      kill(-pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      exited_ = true;
      wait_status_ = status;
    }
  }
  // Whatever else is left in the group (nginx workers) goes too.
  kill(-pid_, SIGKILL);
  return wait_status_;
}

}  // namespace kvs::server::test
