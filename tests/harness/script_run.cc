#include "tests/harness/script_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <sstream>
#include <thread>

#include "tests/harness/server_stack.h"

namespace kvs::server::test {

using Clock = std::chrono::steady_clock;

std::optional<ProcessStat> ReadProcessStat(pid_t pid) {
  // "pid (comm) state ppid pgrp ...": comm may hold anything, so the
  // fields are counted from its closing parenthesis.
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 1));
  ProcessStat process;
  fields >> process.state >> process.parent >> process.group;
  if (!fields) return std::nullopt;
  return process;
}

std::vector<pid_t> GroupMembers(pid_t pgid) {
  std::vector<pid_t> members;
  DIR* proc = opendir("/proc");
  REQUIRE(proc != nullptr);
  while (dirent* entry = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    auto process = ReadProcessStat(pid);
    if (process && process->group == pgid && process->state != 'Z') members.push_back(pid);
  }
  closedir(proc);
  return members;
}

std::string CommandName(pid_t pid) {
  std::string comm = ReadFile("/proc/" + std::to_string(pid) + "/comm");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

bool PortAnswers(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  return static_cast<bool>(client.Get("/"));
}

ShellRun RunShell(const std::string& command) {
  kvs::test::TempDir dir;
  int out_fd = open(dir.Sub("stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(out_fd >= 0);
  ChildIo io;
  io.stdout_fd = out_fd;
  ChildProcess shell({"/bin/bash", "-c", command}, dir.Sub("stderr"), io);
  close(out_fd);
  auto deadline = Clock::now() + kScriptExitTimeout;
  while (!shell.Exited() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  int status = shell.Stop();
  ShellRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.output = ReadFile(dir.Sub("stdout"));
  run.log = ReadFile(dir.Sub("stderr"));
  return run;
}

ScriptRun::ScriptRun(const std::vector<std::string>& argv, const std::string& log_path)
    : name_(argv.front()), log_path_(log_path) {
  int pipe_fds[2];
  REQUIRE(pipe2(pipe_fds, O_CLOEXEC) == 0);
  stdout_fd_ = pipe_fds[0];
  ChildIo io;
  io.stdout_fd = pipe_fds[1];
  // bash cannot trap a signal that was ignored when it started, as SIGINT
  // is in a test run started in the background: the script is forked
  // with SIGINT at its default.
  auto previous_sigint = std::signal(SIGINT, SIG_DFL);
  process_ = std::make_unique<ChildProcess>(argv, log_path, io);
  std::signal(SIGINT, previous_sigint);
  close(pipe_fds[1]);
}

ScriptRun::~ScriptRun() {
  process_->Stop();
  close(stdout_fd_);
}

std::string ScriptRun::Transcript() const {
  return "--- " + name_ + " stdout:\n" + output_ + "--- " + name_ + " stderr:\n" +
         ReadFile(log_path_);
}

std::string ScriptRun::Stderr() const { return ReadFile(log_path_); }

bool ScriptRun::ReadUntil(const std::string& text, Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  while (output_.find(text) == std::string::npos) {
    if (!ReadMore(deadline)) return false;
  }
  return true;
}

void ScriptRun::WaitUntilReady() {
  bool ready = ReadUntil(kBannerEnd, kScriptReadyTimeout);
  INFO(Transcript());
  REQUIRE(ready);
}

int ScriptRun::WaitForExit() {
  auto deadline = Clock::now() + kScriptExitTimeout;
  while (!process_->Exited() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO(Transcript());
  REQUIRE(process_->Exited());
  // The rest of stdout, unless a child left running holds the pipe open.
  auto drained = Clock::now() + std::chrono::seconds(1);
  while (ReadMore(drained)) {
  }
  return process_->wait_status();
}

bool ScriptRun::ReadMore(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd readable{stdout_fd_, POLLIN, 0};
  if (poll(&readable, 1, static_cast<int>(left.count())) <= 0) return Clock::now() < deadline;
  char buffer[4096];
  ssize_t got = read(stdout_fd_, buffer, sizeof buffer);
  if (got <= 0) return false;
  output_.append(buffer, static_cast<size_t>(got));
  return true;
}

}  // namespace kvs::server::test
