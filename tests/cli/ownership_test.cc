// kvs run as root on a store another user owns, as a root cron job runs
// `kvs compact` or `kvs backup` on the Debian package's /var/lib/kvs: what
// it writes there stays the owner's, and the owner (the server's user) can
// go on reading, writing and compacting. Before, the compaction's new data
// file was root's, mode 0600, and the server failed every request after.
// The user here is nobody; the test needs root to be anyone else, and says
// so when it is not.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/cli/kvs_runner.h"
#include "tests/store/test_util.h"

namespace kvs::cli::test {
namespace {

namespace fs = std::filesystem;

class OwnedStore {
 public:
  OwnedStore() {
    passwd* nobody = getpwnam("nobody");
    REQUIRE(nobody != nullptr);
    uid_ = nobody->pw_uid;
    gid_ = nobody->pw_gid;
    REQUIRE(chown(dir_.path().c_str(), uid_, gid_) == 0);
  }

  std::string store() const { return dir_.Sub("store"); }
  std::string backup() const { return dir_.Sub("backup"); }

  // kvs -d store ARGS as nobody; requires success, returns stdout.
  std::string AsOwner(const std::vector<std::string>& args, const std::string& input = "") {
    std::vector<std::string> argv = {KVS_SETPRIV_BINARY,
                                     "--reuid=" + std::to_string(uid_),
                                     "--regid=" + std::to_string(gid_),
                                     "--clear-groups",
                                     KVS_CLI_BINARY,
                                     "-d",
                                     store()};
    argv.insert(argv.end(), args.begin(), args.end());
    ProgramRun run = server::test::RunProgram(argv, input, std::map<std::string, std::string>{});
    INFO("as nobody: kvs " << args.front() << "\nstderr: " << run.log);
    REQUIRE(run.exit_code == 0);
    return run.output;
  }

  // Every file in the store directory, and the directory, is nobody's.
  void RequireOwned() {
    struct stat st;
    REQUIRE(stat(store().c_str(), &st) == 0);
    CHECK(st.st_uid == uid_);
    CHECK(st.st_gid == gid_);
    for (const auto& entry : fs::directory_iterator(store())) {
      REQUIRE(stat(entry.path().c_str(), &st) == 0);
      INFO(entry.path().string());
      CHECK(st.st_uid == uid_);
      CHECK(st.st_gid == gid_);
    }
  }

 private:
  kvs::test::TempDir dir_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

TEST_CASE("kvs as root keeps a store another user owns that user's") {
  if (geteuid() != 0) {
    WARN("not run: only root can run kvs as another user and write beside it");
    return;
  }
  OwnedStore owned;
  owned.AsOwner({"put", "a", "1"});
  owned.RequireOwned();

  // A root cron job's commands: each may write a file of its own there.
  MustKvs(owned.store(), {"put", "b", "2"});
  MustKvs(owned.store(), {"compact"});
  MustKvs(owned.store(), {"compact"});
  MustKvs(owned.store(), {"backup", owned.backup()});
  owned.RequireOwned();

  owned.AsOwner({"put", "c", "3"});
  owned.AsOwner({"compact"});
  CHECK(owned.AsOwner({"get-key", "b"}) == "2");

  SECTION("a restore by root puts a directory in place that the owner can open") {
    struct stat before;
    REQUIRE(stat(owned.store().c_str(), &before) == 0);
    MustKvs(owned.store(), {"restore", owned.backup(), "--force"});
    owned.RequireOwned();
    struct stat after;
    REQUIRE(stat(owned.store().c_str(), &after) == 0);
    CHECK((after.st_mode & 07777) == (before.st_mode & 07777));
    CHECK(owned.AsOwner({"get-key", "b"}) == "2");
    owned.AsOwner({"put", "c", "4"});
    CHECK(owned.AsOwner({"get-key", "c"}) == "4");
  }

  SECTION("root gives back its own files an older kvs left there") {
    std::string data;
    for (const auto& entry : fs::directory_iterator(owned.store())) {
      if (entry.path().filename().string().rfind("data.", 0) == 0) data = entry.path();
    }
    REQUIRE(!data.empty());
    REQUIRE(chown(data.c_str(), 0, 0) == 0);
    MustKvs(owned.store(), {"stats"});
    owned.RequireOwned();
    owned.AsOwner({"put", "d", "5"});
  }
}

}  // namespace
}  // namespace kvs::cli::test
