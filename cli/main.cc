// kvs: the command line. Parses the arguments (cli/args.h), runs one
// command (cli/commands.h) on the store directory, as one more process next
// to a running server, and turns its outcome into the exit status: 0
// done, 1 failed, 2 bad usage. Nothing throws past main: the store reports
// errors as values, yaml-cpp's exceptions are caught where it is called, and
// anything else (out of memory) is caught here.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <variant>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/io.h"

namespace kvs::cli {
namespace {

constexpr int kFailed = 1;
constexpr int kBadUsage = 2;

int ReportUsageError(const UsageError& error) {
  Note(error.message);
  std::string usage =
      error.command ? CommandUsage(*error.command) : "usage: kvs [-d DIR] COMMAND [OPTIONS]\n";
  usage += "Run 'kvs help' for every command.\n";
  std::fwrite(usage.data(), 1, usage.size(), stderr);
  return kBadUsage;
}

int Finish(const Status& status) {
  Status written = FinishOutput();
  const Status& failure = status.ok() ? written : status;
  if (failure.ok()) return 0;
  if (failure.code() == Status::Code::kNoSpace) {
    Note("the disk is full (or a file size limit was reached); nothing was written: " +
         failure.message());
  } else {
    Note(failure.message());
  }
  return kFailed;
}

int Main(int argc, char** argv) {
  // A file size limit (ulimit -f) fails the write, which the store reports
  // as a full disk, instead of killing the process mid-transaction.
  std::signal(SIGXFSZ, SIG_IGN);
  auto parsed = ParseArgs(argc, argv, std::getenv("KVS_DIR"));
  if (const auto* error = std::get_if<UsageError>(&parsed)) return ReportUsageError(*error);
  if (std::get<Invocation>(parsed).version) {
    std::fputs("kvs " KVS_VERSION "\n", stdout);
    return 0;
  }
  const Invocation& inv = std::get<Invocation>(parsed);
  Status done = RunCommand(inv);
  if (done.ok() && CommandWrites(inv.command)) {
    if (Status compacted = CompactIfDue(inv); !compacted.ok()) {
      Note("the command is done, but compacting the store afterwards failed: " +
           compacted.ToString());
    }
  }
  return Finish(done);
}

}  // namespace
}  // namespace kvs::cli

int main(int argc, char** argv) {
  try {
    return kvs::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    kvs::cli::Note(std::string("internal error: ") + e.what());
  } catch (...) {
    kvs::cli::Note("internal error");
  }
  return 1;
}
