// Declares Catch's listener interface, for the failure counter below.
#define CATCH_CONFIG_EXTERNAL_INTERFACES

#include "tests/harness/apache_stack.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

using Clock = std::chrono::steady_clock;

// Generous: a sanitizer build starts slowly on a busy machine.
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr int kIoTimeoutSeconds = 30;

// Failed assertions so far in this process, so that a stack can tell at its
// end whether any failed while it ran.
std::atomic<int> failed_assertions{0};

class FailureCounter : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;
  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk()) ++failed_assertions;
    return true;
  }
};
CATCH_REGISTER_LISTENER(FailureCounter)

struct RunAs {
  uid_t uid;
  gid_t gid;
};

// Who Apache runs programs as: when the test runs as root, an unprivileged
// user (Apache refuses to run them as root); otherwise Apache cannot switch
// users and everything runs as the caller.
std::optional<RunAs> ProgramUser() {
  if (geteuid() != 0) return std::nullopt;
  for (const char* name : {"www-data", "nobody"}) {
    if (passwd* entry = getpwnam(name)) return RunAs{entry->pw_uid, entry->pw_gid};
  }
  FAIL("running as root, but neither www-data nor nobody exists for Apache's programs");
  return std::nullopt;
}

}  // namespace

ApacheStack::ApacheStack(ApacheOptions options)
    : options_(std::move(options)), failures_at_start_(failed_assertions) {
  WriteSite();
  Start();
}

ApacheStack::~ApacheStack() {
  if (apache_) apache_->Stop();
  // No kvs.fcgi may outlive Apache: mod_fcgid's processes are in Apache's
  // process group, which Stop ends; one that left it would be found here.
  std::vector<pid_t> left = ProgramProcesses();
  for (auto deadline = Clock::now() + std::chrono::seconds(5);
       !left.empty() && Clock::now() < deadline; left = ProgramProcesses()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(left.empty());
  for (pid_t pid : left) kill(pid, SIGKILL);
  // kvs-fcgi's stderr goes to Apache's error log: a sanitizer report there
  // fails the test that caused it.
  std::string errors = ReadFile(dir_.Sub("error.log"));
  CHECK(errors.find("Sanitizer") == std::string::npos);
  CHECK(errors.find("runtime error") == std::string::npos);
  // Whatever failed while this server ran, its logs say why.
  if (failed_assertions > failures_at_start_) WARN(Logs());
}

void ApacheStack::WriteSite() {
  namespace fs = std::filesystem;
  const std::string site = site_dir();
  const std::string config = config_dir();
  fs::create_directories(site);
  fs::create_directories(config);
  fs::create_directory(dir_.Sub("run"));
  fs::copy_file(KVS_FCGI_BINARY, site + "/kvs.fcgi");
  fs::permissions(site + "/kvs.fcgi", fs::perms::owner_all | fs::perms::group_read |
                                          fs::perms::group_exec | fs::perms::others_read |
                                          fs::perms::others_exec);
  std::string htaccess = ReadFile(KVS_SOURCE_DIR "/htaccess");
  REQUIRE(!htaccess.empty());
  if (options_.config_outside_web_tree && options_.runner != ApacheOptions::Runner::kFcgid) {
    htaccess += "SetEnv KVS_CONFIG " + config + "/kvs.yaml\n";
  }
  WriteFile(site + "/.htaccess", htaccess);
  WriteKvsConfig(options_.more_config);
  WriteFile(config + "/auth.txt", std::string(kTestSecret) + "\n");
  REQUIRE(chmod((config + "/auth.txt").c_str(), 0600) == 0);
  REQUIRE(mkdir((config + "/kvs-data").c_str(), 0700) == 0);
  if (auto user = ProgramUser()) {
    // What the htaccess tells users to do, and the temporary directory
    // (mkdtemp makes it 0700) opened up to the path walk.
    REQUIRE(chmod(dir().c_str(), 0755) == 0);
    REQUIRE(chown((config + "/auth.txt").c_str(), user->uid, user->gid) == 0);
    REQUIRE(chown((config + "/kvs-data").c_str(), user->uid, user->gid) == 0);
  }
}

void ApacheStack::WriteKvsConfig(const std::string& more_config) const {
  WriteFile(config_dir() + "/kvs.yaml",
            "data_dir: kvs-data\nauth_file: auth.txt\nsync: none\n" + more_config);
}

std::string ApacheBaseConfig(const std::string& d, int port) {
  std::string conf;
  auto line = [&conf](const std::string& text) { conf += text + "\n"; };
  line("ServerRoot " + d);
  line("ServerName 127.0.0.1");
  line("Listen 127.0.0.1:" + std::to_string(port));
  line("PidFile " + d + "/apache.pid");
  line("DefaultRuntimeDir " + d + "/run");
  line("Mutex file:" + d + "/run default");
  line("ErrorLog " + d + "/error.log");
  line("LogLevel warn");
  line("LogFormat \"%h \\\"%r\\\" %>s %b %{UNIQUE_ID}e\" kvs");
  line("CustomLog " + d + "/access.log kvs");
  line("Timeout " + std::to_string(kIoTimeoutSeconds));
  if (auto user = ProgramUser()) {
    line("User #" + std::to_string(user->uid));
    line("Group #" + std::to_string(user->gid));
  }
  return conf;
}

std::string ApacheStack::Config(int port) const {
  const std::string& d = dir();
  std::string conf = ApacheBaseConfig(d, port);
  auto line = [&conf](const std::string& text) { conf += text + "\n"; };
  auto load = [&line](const std::string& name, const std::string& file) {
    line("LoadModule " + name + "_module " KVS_APACHE_MODULES "/" + file);
  };
  load("authz_core", "mod_authz_core.so");
  load("rewrite", "mod_rewrite.so");
  load("dir", "mod_dir.so");
  load("unique_id", "mod_unique_id.so");                            // UNIQUE_ID: kvs's request id
  if (options_.config_outside_web_tree) load("env", "mod_env.so");  // SetEnv
  switch (options_.runner) {
    case ApacheOptions::Runner::kCgi:
      load("mpm_prefork", "mod_mpm_prefork.so");
      load("cgi", "mod_cgi.so");
      break;
    case ApacheOptions::Runner::kCgid:
      load("mpm_event", "mod_mpm_event.so");
      load("cgid", "mod_cgid.so");
      line("ScriptSock " + d + "/run/cgid.sock");
      break;
    case ApacheOptions::Runner::kFcgid:
      load("mpm_event", "mod_mpm_event.so");
      load("fcgid", "mod_fcgid.so");
      // The IPC files where Debian keeps them in /var/lib/apache2/fcgid, and
      // bodies up to 16 MiB (the default 128 KiB refuses the test's posts).
      line("FcgidIPCDir " + d + "/run/fcgid");
      line("FcgidProcessTableFile " + d + "/run/fcgid.shm");
      line("FcgidMaxRequestLen 16777216");
      if (options_.config_outside_web_tree) {
        line("FcgidCmdOptions " + site_dir() + "/kvs.fcgi InitialEnv KVS_CONFIG=" + config_dir() +
             "/kvs.yaml");
      }
      break;
  }
  // Nothing outside the document root, and nothing in it but what the
  // htaccess switches on (Options None).
  line("DocumentRoot " + d + "/docroot");
  line("<Directory />");
  line("    AllowOverride None");
  line("    Options None");
  line("    Require all denied");
  line("</Directory>");
  line("<Directory " + d + "/docroot>");
  line("    AllowOverride " + options_.allow_override);
  line("    Options None");
  line("    Require all granted");
  line("</Directory>");
  return conf;
}

void ApacheStack::Start() {
  apache_ = StartApache(
      dir(), [this](int port) { return Config(port); }, &port_);
}

std::unique_ptr<ChildProcess> StartApache(const std::string& dir,
                                          const std::function<std::string(int port)>& config,
                                          int* port) {
  const std::string conf = dir + "/apache.conf";
  // The port may be taken between FreePort and Apache's bind: try again.
  for (int attempt = 0;; ++attempt) {
    *port = FreePort();
    WriteFile(conf, config(*port));
    // setpriv: should this process die without unwinding (a crash, a
    // timeout's SIGKILL), Apache gets SIGTERM and stops with its children.
    auto apache = std::make_unique<ChildProcess>(
        std::vector<std::string>{KVS_SETPRIV_BINARY, "--pdeathsig", "TERM", KVS_APACHE_BINARY, "-f",
                                 conf, "-DFOREGROUND"},
        dir + "/apache.log");
    auto client = LoopbackClient(*port);
    client->set_connection_timeout(0, 200000);
    for (auto deadline = Clock::now() + kStartTimeout;
         !apache->Exited() && Clock::now() < deadline;) {
      if (client->Get("/")) return apache;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    INFO(ApacheLogs(dir));
    bool port_taken = ApacheLogs(dir).find("Address already in use") != std::string::npos;
    REQUIRE((port_taken && attempt < 5));
    apache->Stop();
  }
}

std::unique_ptr<httplib::Client> ApacheStack::Client() const { return LoopbackClient(port_); }

std::string ApacheLogs(const std::string& dir) {
  return "--- Apache error log (with kvs-fcgi's stderr):\n" + ReadFile(dir + "/error.log") +
         "--- Apache access log:\n" + ReadFile(dir + "/access.log") + "--- Apache output:\n" +
         ReadFile(dir + "/apache.log");
}

std::string ApacheStack::Logs() const { return ApacheLogs(dir()); }

std::vector<pid_t> ApacheStack::ProgramProcesses() const {
  const std::filesystem::path program = site_dir() + "/kvs.fcgi";
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // Fails for zombies and for other users' processes when not root.
    std::error_code link_ec;
    if (std::filesystem::read_symlink(entry.path() / "exe", link_ec) == program) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

}  // namespace kvs::server::test
