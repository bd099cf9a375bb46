// Store::CopyTo (store/copy.cc): a copy as of one commit, whatever other
// Store objects do to the source between that commit and the copy's bytes,
// put in place whole or not at all. An Env that runs a hook when the copy's
// data file is opened (after the commit is chosen, before a byte of the data
// file is copied) lets the tests act in that window from the test's own
// thread.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <thread>

#include "tests/store/fault_env.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

// Env::Default(), but on_copy_opened runs (once) when a data file inside a
// copy's temporary directory is opened.
class CopyHookEnv : public EnvWrapper {
 public:
  CopyHookEnv() : EnvWrapper(Env::Default()) {}
  std::function<void()> on_copy_opened;

  Result<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    if (on_copy_opened && path.find(".partial-") != std::string::npos &&
        path.find("/data.") != std::string::npos) {
      std::function<void()> hook = std::move(on_copy_opened);
      on_copy_opened = nullptr;
      hook();
    }
    return target()->Open(path, create);
  }
};

// A store in dir/store, opened through env.
std::unique_ptr<Store> OpenThrough(Env* env, const TempDir& dir) {
  Options options;
  options.env = env;
  return OpenStore(dir.Sub("store"), options);
}

std::set<std::string> NamesIn(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

Options Existing() {
  Options options;
  options.create_if_missing = false;
  return options;
}

}  // namespace

TEST_CASE("a copy holds the store as of its commit, though a compaction replaces the file first") {
  TempDir dir;
  const std::string source_dir = dir.Sub("store"), copy_dir = dir.Sub("copy");
  CopyHookEnv env;
  auto source = OpenThrough(&env, dir);
  for (int i = 0; i < 50; ++i) {
    MustPut(source.get(), "k" + std::to_string(i), "first " + std::to_string(i));
    MustPut(source.get(), "k" + std::to_string(i), "second " + std::to_string(i));
  }
  REQUIRE(source->CreateBranch("dev", "main").ok());
  MustPut(source.get(), "k0", "on dev", "dev");
  ReplicationBatch checkpoint;
  checkpoint.peer = "replica-a";
  checkpoint.checkpoint = "seq=7";
  REQUIRE(source->ApplyReplicated(checkpoint).ok());
  const uint64_t revision = *source->Revision();

  // Another Store object writes and compacts, as another process would:
  // the data file the copy reads from is ended and removed.
  auto other = OpenStore(source_dir);
  bool compacted = false;
  env.on_copy_opened = [&] {
    MustPut(other.get(), "late", "after the copy's commit");
    REQUIRE(other->Compact(CompactOptions()).ok());
    CHECK_FALSE(std::filesystem::exists(source_dir + "/data.000001"));
    MustPut(other.get(), "later", "after the compaction");
    compacted = true;
  };
  auto copied = source->CopyTo(copy_dir);
  INFO(copied.status().ToString());
  REQUIRE(copied.ok());
  REQUIRE(compacted);
  CHECK(copied->revision == revision);
  CHECK(copied->check.ok());
  CHECK(copied->moved_aside.empty());
  CHECK(NamesIn(copy_dir) == std::set<std::string>{"STORE", "data.000001"});

  auto copy = OpenStore(copy_dir, Existing());
  CHECK(*copy->Revision() == revision);
  CHECK(copy->replica_id() == source->replica_id());
  CHECK(ValueOf(copy.get(), "late") == "<missing>");
  CHECK(ValueOf(copy.get(), "k49") == "second 49");
  CHECK(ValueOf(copy.get(), "k0", "dev") == "on dev");
  CHECK(ValueOf(copy.get(), "k0", "main", ReadPoint::AtRevision(1)) == "first 0");
  CHECK(*copy->Checkpoint("replica-a") == "seq=7");
  CHECK(copy->ListBranches()->size() == 2);
  CHECK(copy->Check()->ok());
  // The source went on: the copy is its own store.
  CHECK(ValueOf(source.get(), "later") == "after the compaction");
}

TEST_CASE("a store opened while a copy is put in place opens the copy, and keeps the next out") {
  TempDir dir;
  const std::string target = dir.Sub("target");
  CopyHookEnv env;
  auto source = OpenThrough(&env, dir);
  MustPut(source.get(), "k", "from the copy");
  std::filesystem::create_directory(target);

  // Opened from another thread while the copy holds target: it waits, and
  // then opens the copy, not a new empty store in the directory it found.
  std::optional<Result<std::unique_ptr<Store>>> opened;
  std::atomic<bool> done{false};
  std::thread opener;
  env.on_copy_opened = [&] {
    opener = std::thread([&] {
      opened.emplace(Store::Open(target, Options()));
      done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK_FALSE(done);
  };
  auto copied = source->CopyTo(target);
  opener.join();
  INFO(copied.status().ToString());
  REQUIRE(copied.ok());
  REQUIRE(opened.has_value());
  REQUIRE(opened->ok());
  std::unique_ptr<Store> in_target = std::move(*opened).value();
  CHECK(ValueOf(in_target.get(), "k") == "from the copy");

  // That store holds the directory now in place: no copy replaces it.
  CopyOptions replace;
  replace.replace = true;
  auto refused = source->CopyTo(target, replace);
  CHECK(refused.status().IsConflict());
  in_target.reset();
  auto replaced = source->CopyTo(target, replace);
  INFO(replaced.status().ToString());
  REQUIRE(replaced.ok());
  CHECK(replaced->moved_aside.starts_with(target + ".old-"));
  CHECK(ValueOf(OpenStore(replaced->moved_aside, Existing()).get(), "k") == "from the copy");
}

TEST_CASE("a copy that fails to write leaves nothing at its destination or beside it") {
  TempDir dir;
  const std::string copy_dir = dir.Sub("copy");
  FaultEnv env(Env::Default());
  auto source = OpenThrough(&env, dir);
  for (int i = 0; i < 20; ++i) MustPut(source.get(), "k" + std::to_string(i), "v");
  // Each write and sync of the copy fails in turn, until none is left.
  for (uint64_t n = 1;; ++n) {
    INFO("failing write or sync " << n);
    env.FailAfter(n, Status::Code::kNoSpace);
    auto copied = source->CopyTo(copy_dir);
    env.FailAfter(0);
    if (copied.ok()) break;
    CHECK(copied.status().code() == Status::Code::kNoSpace);
    CHECK(NamesIn(dir.path()) == std::set<std::string>{"store"});
    REQUIRE(n < 100);
  }
  CHECK(OpenStore(copy_dir, Existing())->Check()->ok());
}

}  // namespace kvs::test
