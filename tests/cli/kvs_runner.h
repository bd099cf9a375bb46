// Running the real kvs program in tests: a child process per command (the
// fcgi harness's RunProgram), in an environment of its own, so that no
// KVS_DIR of the person running the tests leaks in.
#ifndef KVS_TESTS_CLI_KVS_RUNNER_H_
#define KVS_TESTS_CLI_KVS_RUNNER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/harness/server_stack.h"

namespace kvs::cli::test {

using server::test::ProgramRun;

// kvs ARGS with input on stdin and only env (plus the sanitizer options) in
// its environment.
ProgramRun RunKvs(const std::vector<std::string>& args, const std::string& input = "",
                  const std::map<std::string, std::string>& env = {});

// kvs -d DIR ARGS, requiring exit status 0 and nothing on stderr (both shown
// when not); returns stdout.
std::string MustKvs(const std::string& dir, std::vector<std::string> args,
                    const std::string& input = "");

// kvs -d DIR create KEY [--prev=ID ...] with value on stdin; the new id.
std::string Create(const std::string& dir, const std::string& key, const std::string& value,
                   const std::vector<std::string>& prev = {});

// text split into lines, each without its newline.
std::vector<std::string> Lines(const std::string& text);

// The "NAME: VALUE" lines of a command's output, by name.
std::map<std::string, std::string> Fields(const std::string& output);

// The newest revision of the store in dir, opened in this process.
uint64_t RevisionOf(const std::string& dir);

// A command line kvs must refuse, and the first line of what it says.
struct Refusal {
  std::vector<std::string> args;  // after -d DIR
  std::string first_line;         // of stderr
  std::string input = "";
};

// The first line of text, without its newline.
std::string FirstLine(const std::string& text);

// Runs each refusal on dir and requires its exit status, message, empty
// stdout (and the pointer to kvs help after a usage error), and an
// unchanged store.
void RequireRefusals(const std::string& dir, int exit_code, const std::vector<Refusal>& refusals);

}  // namespace kvs::cli::test

#endif  // KVS_TESTS_CLI_KVS_RUNNER_H_
