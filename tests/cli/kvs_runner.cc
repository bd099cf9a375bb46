#include "tests/cli/kvs_runner.h"

#include <catch2/catch.hpp>

#include "kvs/store.h"

namespace kvs::cli::test {

ProgramRun RunKvs(const std::vector<std::string>& args, const std::string& input,
                  const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {KVS_CLI_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return server::test::RunProgram(argv, input, env);
}

std::string MustKvs(const std::string& dir, std::vector<std::string> args,
                    const std::string& input) {
  args.insert(args.begin(), {"-d", dir});
  ProgramRun run = RunKvs(args, input);
  std::string command;
  for (const std::string& arg : args) command += " " + arg;
  INFO("kvs" << command << "\nstderr: " << run.log);
  REQUIRE(run.exit_code == 0);
  REQUIRE(run.log.empty());
  return run.output;
}

std::string Create(const std::string& dir, const std::string& key, const std::string& value,
                   const std::vector<std::string>& prev) {
  std::vector<std::string> args = {"create", key};
  for (const std::string& id : prev) args.push_back("--prev=" + id);
  std::string output = MustKvs(dir, args, value);
  REQUIRE_THAT(output, Catch::Matches("[0-9a-f]{64}\n"));
  return output.substr(0, 64);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

std::map<std::string, std::string> Fields(const std::string& output) {
  std::map<std::string, std::string> fields;
  for (const std::string& line : Lines(output)) {
    size_t colon = line.find(": ");
    if (colon != std::string::npos) fields[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return fields;
}

uint64_t RevisionOf(const std::string& dir) {
  Options options;
  options.create_if_missing = false;
  auto store = Store::Open(dir, options);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  auto revision = (*store)->Revision();
  REQUIRE(revision.ok());
  return *revision;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

void RequireRefusals(const std::string& dir, int exit_code, const std::vector<Refusal>& refusals) {
  uint64_t before = RevisionOf(dir);
  for (const Refusal& refusal : refusals) {
    std::vector<std::string> args = {"-d", dir};
    args.insert(args.end(), refusal.args.begin(), refusal.args.end());
    ProgramRun run = RunKvs(args, refusal.input);
    std::string command;
    for (const std::string& arg : refusal.args) command += " " + arg.substr(0, 80);
    INFO("kvs" << command << "\nstderr: " << run.log);
    CHECK(run.exit_code == exit_code);
    CHECK(run.output.empty());
    CHECK(FirstLine(run.log) == refusal.first_line);
    if (exit_code == 2) CHECK_THAT(run.log, Catch::EndsWith("Run 'kvs help' for every command.\n"));
  }
  CHECK(RevisionOf(dir) == before);
}

}  // namespace kvs::cli::test
