// Fuzz target: every handler, through the real router (faces/routes.h) and a
// Service on a real store: the JSON bodies of /_txn, /_merge, /_branches,
// /_create and the REST face's writes, the classic face's forms, and every
// query string, path argument and header the handlers parse. The router
// itself picks the handler, so the target stays whole when the code behind
// the routes changes. Besides crashes, an answer of 500 is a finding: a
// healthy store never fails, so a 500 means a handler let bad input
// through to where it breaks something (or threw).
//
// Input: a request as HTTP carries it:
//   METHOD TARGET         TARGET: the path, percent-encoded, and the query
//   Name: value           headers, up to an empty line
//
//   body                  the rest, exactly
// PATH_INFO is TARGET's path percent-decoded, as the web server gives it.
// "Authorization: Bearer fuzz-secret" (the service's secret) is added
// unless the input sends an Authorization of its own.
//
// Each execution starts from the same store, a copy of one made once per
// process (PristineStore), so an input does the same whatever ran before.
// The seeds in fuzz/corpus/route/ are requests to each endpoint.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "config/config.h"
#include "faces/routes.h"
#include "fcgi/cgi_gateway.h"
#include "fuzz/first_line.h"
#include "fuzz/scratch_dir.h"
#include "http/form.h"
#include "http/service.h"
#include "store/entries.h"

namespace kvs::server {
namespace {

constexpr std::string_view kSecret = "fuzz-secret";

void Require(const Status& status, const char* what) {
  if (status.ok()) return;
  std::fprintf(stderr, "fuzz_route: %s: %s\n", what, status.ToString().c_str());
  std::abort();
}

// The service's config; data_dir is ScratchDir()/run.
const Config& ServiceConfig() {
  static const Config config = [] {
    auto parsed = config::ParseConfig(R"(data_dir: run
sync: none
merge:
  count*: counter
  doc: json
  notes/*: text
retention:
  prefixes:
    gone: {keep_last: 1}
)",
                                      fuzz::ScratchDir() + "/kvs.yaml");
    Require(parsed.status(), "the config");
    return *parsed;
  }();
  return config;
}

// Versions of key, in a chain from parent (when given), with fixed times and
// replica: their ids are the same in every process, so seeds can name them.
class FixedVersions {
 public:
  VersionId Add(ReplicationBatch* batch, std::string key, std::optional<std::string> value,
                std::vector<VersionId> parents = {}) {
    int64_t time_ns = 1767225600000000000 + ++count_ * 1000000000;  // 2026-01-01, a second apart
    ReplicaId replica;
    replica.bytes.fill(0x11);
    VersionId id =
        ComputeVersionId(key, parents, !value, false, value.value_or(""), time_ns, replica);
    batch->versions.push_back(
        {id, std::move(key), std::move(parents), std::move(value), time_ns, replica});
    return id;
  }

 private:
  int64_t count_ = 0;
};

// A store with something for every endpoint to find: on main, a key with
// history, a forked key, a counter, a JSON document, a deleted key, a
// binary value and keys under a folder; a branch dev with its own changes.
// Made once, in ScratchDir()/pristine.
const std::string& PristineStore() {
  static const std::string dir = [] {
    std::string path = fuzz::EmptySubdirectory("pristine");
    Options options = ServiceConfig().StoreOptions();
    auto store = Store::Open(path, options);
    Require(store.status(), "the pristine store");
    FixedVersions versions;
    ReplicationBatch main;
    VersionId greeting = versions.Add(&main, "greeting", "hello");
    greeting = versions.Add(&main, "greeting", "hello, world", {greeting});
    VersionId base = versions.Add(&main, "fork", "base");
    versions.Add(&main, "fork", "left", {base});
    versions.Add(&main, "fork", "right", {base});
    versions.Add(&main, "count", "5");
    versions.Add(&main, "doc", R"({"a":1,"tags":["x"]})");
    VersionId gone = versions.Add(&main, "gone", "soon");
    versions.Add(&main, "gone", std::nullopt, {gone});
    versions.Add(&main, "bin", std::string("\xff\x00\x01 binary", 10));
    versions.Add(&main, "notes/a", "line one\nline two\n");
    versions.Add(&main, "notes/b", "b");
    Require((*store)->ApplyReplicated(main).status(), "writing main");
    Require((*store)->CreateBranch("dev", "main").status(), "creating dev");
    ReplicationBatch dev;
    dev.branch = "dev";
    versions.Add(&dev, "greeting", "hello from dev", {greeting});
    versions.Add(&dev, "new", "only on dev");
    Require((*store)->ApplyReplicated(dev).status(), "writing dev");
    return path;
  }();
  return dir;
}

// Copies the store in from to a fresh directory to: its identity and data
// files, not the clock of its reads (4 MiB, sparse), which Open makes anew.
// libFuzzer's timer sends SIGALRM every few seconds, and copy_file does not
// take up a copy a signal interrupted: it is made again.
void CopyStore(const std::string& from, const std::string& to) {
  std::filesystem::remove_all(to);
  std::filesystem::create_directory(to);
  for (const auto& entry : std::filesystem::directory_iterator(from)) {
    if (entry.path().filename() == "reads") continue;
    std::error_code error;
    do {
      std::filesystem::copy_file(entry.path(), std::filesystem::path(to) / entry.path().filename(),
                                 std::filesystem::copy_options::overwrite_existing, error);
    } while (error == std::errc::interrupted);
    if (error) Require(Status::IOError(error.message()), "copying the pristine store");
  }
}

Request ParseInput(std::string_view input) {
  auto next_line = [&input] {  // without its "\n" or "\r\n"
    auto [line, rest] = fuzz::SplitFirstLine(input);
    input = rest;
    if (line.ends_with('\r')) line.remove_suffix(1);
    return line;
  };
  Request request;
  std::string_view request_line = next_line();
  size_t space = request_line.find(' ');
  request.method = request_line.substr(0, space);
  request.request_uri = space == request_line.npos ? "/" : request_line.substr(space + 1);
  size_t question = request.request_uri.find('?');
  std::string path = request.request_uri.substr(0, question);
  if (question != std::string::npos) {
    request.query_string = request.request_uri.substr(question + 1);
  }
  auto decoded = PercentDecode(path, /*plus_as_space=*/false);
  request.path_info = decoded.ok() ? *decoded : path;
  for (std::string_view line = next_line(); !line.empty(); line = next_line()) {
    size_t colon = line.find(':');
    std::string_view value = colon == line.npos ? "" : line.substr(colon + 1);
    while (value.starts_with(' ')) value.remove_prefix(1);
    request.headers.Set(std::string(line.substr(0, colon)), std::string(value));
  }
  if (!request.headers.Has("Authorization")) {
    request.headers.Set("Authorization", "Bearer " + std::string(kSecret));
  }
  request.body = input;
  return request;
}

void FuzzRoute(std::string_view input) {
  Request request = ParseInput(input);
  const Config& config = ServiceConfig();
  CopyStore(PristineStore(), config.data_dir);
  auto store = Store::Open(config.data_dir, config.StoreOptions());
  Require(store.status(), "opening the copy of the pristine store");
  Service service;
  service.config = config;
  service.secret = Secret::FromString(kSecret);
  service.store = std::move(store).value();

  Response response = Route(request, service);
  (void)SerializeCgiResponse(response, request.method == "HEAD");
  if (response.status >= 500) {
    std::fprintf(stderr, "fuzz_route: answered %d: %s\n%s\n", response.status,
                 response.body.c_str(), response.log_message.c_str());
    std::abort();
  }
}

}  // namespace
}  // namespace kvs::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kvs::server::FuzzRoute(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
