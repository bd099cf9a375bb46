// The Debian package end to end. scripts/package builds it once per run from
// this tree's programs (--binaries: nothing is compiled); then dpkg-deb and
// lintian check what it holds, systemd-analyze verifies its units, dpkg
// installs, upgrades, removes and purges it in a temporary root, and the
// unpacked files serve: kvs-fcgi on a socket handed over as systemd hands it
// over, behind a real nginx that includes the unpacked snippet and a real
// Apache with the unpacked conf. Nothing needs root privileges and nothing
// is installed on the machine. What needs both root and a running systemd
// (the user kvs really made, the sandbox at work, the socket's owner) is not
// covered here; docs/deployment.md says so.
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "http/form.h"
#include "tests/harness/apache_stack.h"
#include "tests/harness/server_stack.h"

extern char** environ;

namespace kvs::server::test {
namespace {

namespace fs = std::filesystem;

// Where Debian's packages put the tools the test runs.
constexpr const char* kDpkg = "/usr/bin/dpkg";
constexpr const char* kDpkgDeb = "/usr/bin/dpkg-deb";
constexpr const char* kDpkgQuery = "/usr/bin/dpkg-query";
constexpr const char* kFakeroot = "/usr/bin/fakeroot";
constexpr const char* kLintian = "/usr/bin/lintian";
constexpr const char* kSystemdAnalyze = "/usr/bin/systemd-analyze";
constexpr const char* kGzip = "/bin/gzip";

// What the package says, in the places it says it.
constexpr const char* kSocketUnit = "/lib/systemd/system/kvs-fcgi.socket";
constexpr const char* kServiceUnit = "/lib/systemd/system/kvs-fcgi.service";
constexpr const char* kConfig = "/etc/kvs/kvs.yaml";
constexpr const char* kSecret = "/etc/kvs/auth.txt";
constexpr const char* kDataDir = "/var/lib/kvs";
constexpr const char* kNginxSnippet = "/etc/nginx/snippets/kvs.conf";
constexpr const char* kNginxUpstream = "/etc/nginx/conf.d/kvs-fastcgi.conf";
constexpr const char* kApacheConf = "/etc/apache2/conf-available/kvs.conf";
constexpr const char* kPackagedSocket = "/run/kvs/kvs-fcgi.sock";

constexpr const char* kDeniedAnswer = "forbidden: this path is never passed to kvs";
constexpr const char* kFormType = "application/x-www-form-urlencoded";
constexpr auto kStartTimeout = std::chrono::seconds(30);

// Runs argv and requires exit code 0.
ProgramRun MustRun(const std::vector<std::string>& argv,
                   const std::optional<std::map<std::string, std::string>>& env = std::nullopt) {
  ProgramRun run = RunProgram(argv, "", env);
  INFO(argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << ":\n" << run.output << run.log);
  REQUIRE(run.exit_code == 0);
  return run;
}

std::string Trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

// text with its one occurrence of from replaced by to; fails the test when
// from occurs other than once (the file changed under the test).
std::string ReplaceOnce(const std::string& text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  INFO("replacing '" << from << "' in:\n" << text);
  REQUIRE(at != std::string::npos);
  REQUIRE(text.find(from, at + from.size()) == std::string::npos);
  return text.substr(0, at) + to + text.substr(at + from.size());
}

// The Key=Value settings of a systemd unit file, every value of each key in
// file order.
std::map<std::string, std::vector<std::string>> UnitSettings(const std::string& path) {
  std::map<std::string, std::vector<std::string>> settings;
  std::istringstream lines(ReadFile(path));
  for (std::string line; std::getline(lines, line);) {
    size_t equals = line.find('=');
    if (line.empty() || line[0] == '#' || line[0] == '[' || equals == std::string::npos) continue;
    settings[line.substr(0, equals)].push_back(line.substr(equals + 1));
  }
  return settings;
}

// The package scripts/package builds from the programs the harness runs
// (one directory holds both), built once for all the tests of this run.
// It is compressed fast (gzip -1): xz, dpkg-deb's default, spends minutes
// on a sanitizer build's large programs, and the tests look at what the
// package holds, not at how small it is.
const std::string& Package() {
  static kvs::test::TempDir output;
  static const std::string deb = [] {
    const std::string binaries = fs::path(KVS_FCGI_BINARY).parent_path();
    REQUIRE(fs::path(KVS_CLI_BINARY).parent_path() == binaries);
    std::map<std::string, std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      std::string text = *entry;
      size_t equals = text.find('=');
      if (equals != std::string::npos) env[text.substr(0, equals)] = text.substr(equals + 1);
    }
    env["DPKG_DEB_COMPRESSOR_TYPE"] = "gzip";
    env["DPKG_DEB_COMPRESSOR_LEVEL"] = "1";
    ProgramRun run = MustRun(
        {KVS_SOURCE_DIR "/scripts/package", "--binaries", binaries, "--output", output.path()},
        env);
    std::vector<std::string> debs;
    for (const auto& entry : fs::directory_iterator(output.path())) {
      debs.push_back(entry.path().string());
    }
    INFO(run.output << run.log);
    REQUIRE(debs.size() == 1);
    return debs[0];
  }();
  return deb;
}

// The package unpacked (dpkg-deb -x) into a temporary root: what dpkg
// would install, without its maintainer scripts.
class Unpacked {
 public:
  Unpacked() { MustRun({kDpkgDeb, "-x", Package(), root()}); }
  const std::string& root() const { return dir_.path(); }
  // path, an absolute path of the package, in the root.
  std::string operator()(const std::string& path) const { return root() + path; }

 private:
  kvs::test::TempDir dir_;
};

// The unpacked package made ready as an installation would be, then served
// as its units say: a secret in etc/kvs/auth.txt, the config's data_dir and
// auth_file redirected into the root, and kvs-fcgi started with the
// service's ExecStart (its paths in the root) on the socket unit's
// ListenStream (in the root), handed over by systemd-socket-activate the
// way systemd hands it over. Stopped on scope exit.
class ServedPackage {
 public:
  ServedPackage() {
    WriteFile(files_(kSecret), std::string(kTestSecret) + "\n");
    std::string config = ReadFile(files_(kConfig));
    CHECK_THAT(config, Catch::Contains("\nsync: sync\n"));
    config = ReplaceOnce(config, std::string("data_dir: ") + kDataDir,
                         std::string("data_dir: ") + files_(kDataDir));
    config = ReplaceOnce(config, std::string("auth_file: ") + kSecret,
                         std::string("auth_file: ") + files_(kSecret));
    WriteFile(files_(kConfig), config);

    auto socket_unit = UnitSettings(files_(kSocketUnit));
    REQUIRE(socket_unit["ListenStream"] == std::vector<std::string>{kPackagedSocket});
    socket_ = files_(kPackagedSocket);
    fs::create_directories(fs::path(socket_).parent_path());
    auto service = UnitSettings(files_(kServiceUnit));
    REQUIRE(service["ExecStart"].size() == 1);
    std::vector<std::string> argv = {KVS_SYSTEMD_SOCKET_ACTIVATE_BINARY, "--listen", socket_};
    std::istringstream words(service["ExecStart"][0]);
    for (std::string word; words >> word;) argv.push_back(word[0] == '/' ? files_(word) : word);
    fs::create_directories(files_(kDataDir));
    kvs_ = std::make_unique<ChildProcess>(argv, files_.root() + "/kvs-fcgi.log");

    // The socket listens first; the first connection starts kvs-fcgi in
    // systemd-socket-activate's place, as it starts the service.
    auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (!CanConnectUnix(socket_)) {
      INFO(Log());
      REQUIRE_FALSE(kvs_->Exited());
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const std::string comm = "/proc/" + std::to_string(kvs_->pid()) + "/comm";
    while (ReadFile(comm) != "kvs-fcgi\n") {
      INFO(Log());
      REQUIRE_FALSE(kvs_->Exited());
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (geteuid() == 0) {
      // Run as root, the web servers' workers run as www-data, who may
      // connect as the socket unit's SocketGroup lets them: here by mode.
      REQUIRE(chmod(files_.root().c_str(), 0755) == 0);
      REQUIRE(chmod(socket_.c_str(), 0666) == 0);
    }
  }
  ~ServedPackage() {
    // kvs-fcgi stops cleanly on SIGTERM; any other end fails the test.
    int status = kvs_->Stop();
    INFO(Log());
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }

  const Unpacked& files() const { return files_; }
  const std::string& socket() const { return socket_; }
  std::string Log() const { return "--- kvs-fcgi:\n" + ReadFile(files_.root() + "/kvs-fcgi.log"); }

 private:
  Unpacked files_;
  std::string socket_;
  std::unique_ptr<ChildProcess> kvs_;
};

// A config file of the package that names the socket (nginx's upstream or
// the Apache conf), written to path with the packaged socket replaced by the
// served one.
void WriteSiteConfig(const ServedPackage& served, const std::string& packaged,
                     const std::string& path) {
  WriteFile(path,
            ReplaceOnce(ReadFile(served.files()(packaged)), kPackagedSocket, served.socket()));
}

// The checks a web server in front of the package must pass, mounted at
// /kvs/ as the package's snippet and conf mount it: a form write and a
// bearer write with the secret, reads on the classic and the REST face, the
// bare mount redirected, and the secret, the config and the store refused.
void CheckServesThePackage(httplib::Client& client, const std::string& logs) {
  INFO(logs);
  auto wrote = client.Post("/kvs/", AuthField() + "&greeting=hello", kFormType);
  REQUIRE(wrote);
  CHECK(wrote->status == 200);
  CHECK(wrote->body == "revision 1\ngreeting\n");
  auto read = client.Get("/kvs/?k=greeting");
  REQUIRE(read);
  CHECK(read->status == 200);
  CHECK(read->body == "hello");
  CHECK_FALSE(read->get_header_value("X-Request-Id").empty());

  auto bearer = client.Post("/kvs/", BearerHeaders(), "lang=en", kFormType);
  REQUIRE(bearer);
  CHECK(bearer->status == 200);
  auto rest = client.Get("/kvs/lang");
  REQUIRE(rest);
  CHECK(rest->status == 200);
  CHECK(rest->body == "[\"en\",[]]\n");

  auto bare = client.Get("/kvs?k=greeting");
  REQUIRE(bare);
  CHECK(bare->status == 301);
  CHECK_THAT(bare->get_header_value("Location"), Catch::EndsWith("/kvs/?k=greeting"));

  for (const char* path : {"/kvs/auth.txt", "/kvs/AUTH.TXT", "/kvs/%61uth.txt", "/kvs/kvs.yaml",
                           "/kvs/site.conf", "/kvs/server.key", "/kvs/.htaccess",
                           "/kvs/a/.git/config", "/kvs/kvs-data/", "/kvs/data/x"}) {
    INFO(path);
    auto denied = client.Get(path);
    REQUIRE(denied);
    CHECK(denied->status == 403);
    CHECK_THAT(denied->body, Catch::StartsWith(kDeniedAnswer));
  }
}

// dpkg run on a temporary root (--root) without root privileges: as the
// test's user, or as nobody when the test runs as root, so that a path a
// maintainer script forgets to put below $DPKG_ROOT fails instead of
// changing this machine. Under fakeroot, as dpkg sets files' owners; with
// --force-script-chrootless (the scripts run on this system with DPKG_ROOT
// set) and --force-depends (the root holds no other package). What needs
// root on a real system is a stub first on PATH that logs its arguments:
// adduser, deluser, delgroup, chown (to the user kvs, who does not exist
// here), systemctl and deb-systemd-invoke (starting units needs a running
// systemd). deb-systemd-helper is the real one: it enables the units below
// DPKG_ROOT.
class DpkgRoot {
 public:
  DpkgRoot() {
    for (const char* dir : {"root/var/lib/dpkg/info", "root/var/lib/dpkg/updates", "stubs"}) {
      fs::create_directories(dir_.Sub(dir));
    }
    WriteFile(dir_.Sub("root/var/lib/dpkg/status"), "");
    WriteFile(CallLog(), "");
    for (const char* command :
         {"adduser", "deluser", "delgroup", "chown", "systemctl", "deb-systemd-invoke"}) {
      const std::string stub = dir_.Sub("stubs/") + command;
      WriteFile(stub, std::string("#!/bin/sh\necho \"") + command + " $*\" >>" + CallLog() + "\n");
      fs::permissions(stub, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read |
                                fs::perms::group_exec | fs::perms::others_exec);
    }
    if (geteuid() == 0) {
      passwd* nobody = getpwnam("nobody");
      REQUIRE(nobody != nullptr);
      run_as_ = {KVS_SETPRIV_BINARY, "--reuid=" + std::to_string(nobody->pw_uid),
                 "--regid=" + std::to_string(nobody->pw_gid), "--clear-groups"};
      for (const auto& entry : fs::recursive_directory_iterator(dir_.path())) {
        REQUIRE(lchown(entry.path().c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
      }
      REQUIRE(chown(dir_.path().c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
    }
  }

  std::string operator()(const std::string& path) const { return dir_.Sub("root") + path; }

  // A copy of the package where dpkg's user can read it.
  std::string PackageCopy() const {
    const std::string copy = dir_.Sub(fs::path(test::Package()).filename());
    if (!fs::exists(copy)) fs::copy_file(test::Package(), copy);
    return copy;
  }

  // Runs dpkg with args on the root; requires success.
  void Dpkg(const std::vector<std::string>& args) {
    std::vector<std::string> argv = run_as_;
    const std::vector<std::string> dpkg = {kFakeroot,
                                           kDpkg,
                                           "--root=" + dir_.Sub("root"),
                                           "--force-not-root",
                                           "--force-script-chrootless",
                                           "--force-depends",
                                           "--log=" + dir_.Sub("dpkg.log")};
    argv.insert(argv.end(), dpkg.begin(), dpkg.end());
    argv.insert(argv.end(), args.begin(), args.end());
    MustRun(argv, std::map<std::string, std::string>{
                      {"PATH", dir_.Sub("stubs") + ":/usr/sbin:/usr/bin:/sbin:/bin"},
                      {"HOME", dir_.path()}});
  }

  // What dpkg-query says of the package's state in the root.
  std::string Status() const {
    ProgramRun run =
        RunProgram({kDpkgQuery, "--root=" + dir_.Sub("root"), "-W", "-f=${Status}", "kvs"}, "");
    return run.exit_code == 0 ? run.output : "not known";
  }

  // The stubs' calls since the last TakeCalls, one line each.
  std::string TakeCalls() {
    std::string calls = ReadFile(CallLog());
    WriteFile(CallLog(), "");
    return calls;
  }

 private:
  std::string CallLog() const { return dir_.Sub("calls"); }

  kvs::test::TempDir dir_;
  std::vector<std::string> run_as_;
};

bool IsSymlinkTo(const std::string& link, const std::string& target) {
  return fs::is_symlink(link) && fs::read_symlink(link) == target;
}

}  // namespace

TEST_CASE("scripts/package builds kvs_VERSION_ARCH.deb of the build tree's programs") {
  const std::string& deb = Package();
  const std::string arch = Trimmed(MustRun({kDpkg, "--print-architecture"}).output);
  CHECK(fs::path(deb).filename() == "kvs_" KVS_VERSION "_" + arch + ".deb");

  std::string control = MustRun({kDpkgDeb, "--field", deb}).output;
  CHECK_THAT(control, Catch::Contains("Package: kvs\n"));
  CHECK_THAT(control, Catch::Contains("Version: " KVS_VERSION "\n"));
  CHECK_THAT(control, Catch::Contains("Architecture: " + arch + "\n"));
  CHECK_THAT(control, Catch::Contains("Depends: adduser, "));

  // Everything in /etc is a conffile, which dpkg keeps as the admin left it.
  std::string conffiles = MustRun({kDpkgDeb, "--info", deb, "conffiles"}).output;
  for (const char* path : {kConfig, kNginxSnippet, kNginxUpstream, kApacheConf}) {
    CHECK_THAT(conffiles, Catch::Contains(std::string(path) + "\n"));
  }
  CHECK(std::count(conffiles.begin(), conffiles.end(), '\n') == 4);

  std::string listing = MustRun({kDpkgDeb, "--contents", deb}).output;
  INFO(listing);
  auto shipped = [&listing](const std::string& mode, const std::string& path) {
    return std::regex_search(
        listing,
        std::regex("(^|\n)" + mode + " root/root +[0-9]+ [0-9-]+ [0-9:]+ \\." + path + "\n"));
  };
  CHECK(shipped("-rwxr-xr-x", "/usr/bin/kvs"));
  CHECK(shipped("-rwxr-xr-x", "/usr/sbin/kvs-fcgi"));
  for (const char* path :
       {kConfig, kNginxSnippet, kNginxUpstream, kApacheConf, kSocketUnit, kServiceUnit,
        "/usr/share/man/man1/kvs.1.gz", "/usr/share/man/man8/kvs-fcgi.8.gz",
        "/usr/share/doc/kvs/copyright", "/usr/share/doc/kvs/docs/deployment.md"}) {
    CHECK(shipped("-rw-r--r--", path));
  }
  // The secret and the store are made at installation, never shipped.
  CHECK_THAT(listing, !Catch::Contains("auth.txt"));
  CHECK_THAT(listing, !Catch::Contains("./var/"));
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);)
    CHECK_THAT(line, Catch::Contains(" root/root "));
}

TEST_CASE("the packaged programs and their man pages are this tree's") {
  Unpacked files;
  CHECK(MustRun({files("/usr/sbin/kvs-fcgi"), "--version"}).output == "kvs-fcgi " KVS_VERSION "\n");
  CHECK(MustRun({files("/usr/bin/kvs"), "--version"}).output == "kvs " KVS_VERSION "\n");

  // The man pages are made from --help: every option and command it names
  // is in them.
  struct Page {
    std::string program, page;
    std::string pattern;  // what --help names: the name is its group 1
    std::string in_roff;  // what precedes the name in the page
  };
  for (const Page& page :
       {Page{"/usr/sbin/kvs-fcgi", "/usr/share/man/man8/kvs-fcgi.8.gz", "--([a-z]+)", "\\-\\-"},
        Page{"/usr/bin/kvs", "/usr/share/man/man1/kvs.1.gz", "\nkvs ([a-z-]+)", "kvs "}}) {
    INFO(page.page);
    const std::string help = MustRun({files(page.program), "--help"}).output;
    const std::string roff = MustRun({kGzip, "-dc", files(page.page)}).output;
    const std::regex named(page.pattern);
    int names = 0;
    for (std::sregex_iterator it(help.begin(), help.end(), named), end; it != end; ++it, ++names) {
      // roff writes each '-' as "\-".
      const std::string name = std::regex_replace(std::string((*it)[1]), std::regex("-"), "\\-");
      INFO(name);
      CHECK(roff.find(page.in_roff + name) != std::string::npos);
    }
    CHECK(names >= 5);
  }
}

TEST_CASE("lintian finds no error and no warning in the package") {
  ProgramRun run = RunProgram({kLintian, "--fail-on", "error,warning", Package()}, "");
  INFO(run.output << run.log);
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.output, !Catch::Contains("E: kvs"));
  CHECK_THAT(run.output, !Catch::Contains("W: kvs"));
}

TEST_CASE(
    "the systemd units verify, and run kvs-fcgi as kvs, sandboxed, on a socket for www-data") {
  Unpacked files;
  auto socket = UnitSettings(files(kSocketUnit));
  CHECK(socket["ListenStream"] == std::vector<std::string>{kPackagedSocket});
  CHECK(socket["SocketUser"] == std::vector<std::string>{"kvs"});
  CHECK(socket["SocketGroup"] == std::vector<std::string>{"www-data"});
  CHECK(socket["SocketMode"] == std::vector<std::string>{"0660"});
  CHECK(socket["WantedBy"] == std::vector<std::string>{"sockets.target"});
  auto service = UnitSettings(files(kServiceUnit));
  CHECK(service["ExecStart"] ==
        std::vector<std::string>{"/usr/sbin/kvs-fcgi --config /etc/kvs/kvs.yaml"});
  CHECK(service["User"] == std::vector<std::string>{"kvs"});
  CHECK(service["Requires"] == std::vector<std::string>{"kvs-fcgi.socket"});
  CHECK(service["WantedBy"] == std::vector<std::string>{"multi-user.target"});
  for (auto [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"NoNewPrivileges", "yes"},
                                                        {"ProtectSystem", "strict"},
                                                        {"ReadWritePaths", kDataDir},
                                                        {"ProtectHome", "yes"},
                                                        {"PrivateTmp", "yes"}}) {
    CHECK(service[key] == std::vector<std::string>{value});
  }

  // systemd-analyze checks that ExecStart's program exists: it verifies
  // copies of the units whose ExecStart names the unpacked program, and
  // finds the Documentation= man page among the unpacked ones.
  kvs::test::TempDir units;
  fs::copy_file(files(kSocketUnit), units.Sub("kvs-fcgi.socket"));
  WriteFile(units.Sub("kvs-fcgi.service"),
            ReplaceOnce(ReadFile(files(kServiceUnit)), "ExecStart=/usr/sbin/kvs-fcgi",
                        "ExecStart=" + files("/usr/sbin/kvs-fcgi")));
  const std::map<std::string, std::string> env = {{"PATH", "/usr/bin:/bin"},
                                                  {"MANPATH", files("/usr/share/man")}};
  ProgramRun verify = MustRun(
      {kSystemdAnalyze, "verify", units.Sub("kvs-fcgi.socket"), units.Sub("kvs-fcgi.service")},
      env);
  CHECK(verify.output + verify.log == "");
  // The sandbox: systemd's own measure of what the service may still do
  // (0 to 10; up to 2 is "OK").
  ProgramRun security = RunProgram({kSystemdAnalyze, "security", "--offline=yes", "--threshold=20",
                                    units.Sub("kvs-fcgi.service")},
                                   "", env);
  INFO(security.output << security.log);
  CHECK(security.exit_code == 0);
}

TEST_CASE("installed by dpkg, the package makes a secret, upgrades keep it, purge removes it") {
  DpkgRoot root;
  root.Dpkg({"--install", root.PackageCopy()});
  CHECK(root.Status() == "install ok installed");
  std::string calls = root.TakeCalls();
  CHECK_THAT(calls, Catch::Contains("adduser --system --quiet --group --home /var/lib/kvs "
                                    "--no-create-home --comment kvs key/value server kvs\n"));
  CHECK_THAT(calls, Catch::Contains("chown kvs:kvs " + root(kDataDir) + "\n"));
  CHECK_THAT(calls, Catch::Contains("chown kvs:kvs " + root(kSecret) + ".new\n"));
  const std::string secret = ReadFile(root(kSecret));
  CHECK_THAT(secret, Catch::Matches("[A-Za-z0-9_-]{32}\n"));
  struct stat secret_stat;
  REQUIRE(stat(root(kSecret).c_str(), &secret_stat) == 0);
  CHECK((secret_stat.st_mode & 0777) == 0600);
  CHECK(fs::is_directory(root(kDataDir)));
  // Enabled: started at boot, and now by a running systemd.
  CHECK(IsSymlinkTo(root("/etc/systemd/system/sockets.target.wants/kvs-fcgi.socket"), kSocketUnit));
  CHECK(IsSymlinkTo(root("/etc/systemd/system/multi-user.target.wants/kvs-fcgi.service"),
                    kServiceUnit));

  // The admin changes the config; the server writes its store.
  const std::string config = ReadFile(root(kConfig)) + "# changed by the admin\n";
  WriteFile(root(kConfig), config);
  WriteFile(root(kDataDir) + "/data", "the store");

  SECTION("an upgrade keeps the secret, the changed config and the store") {
    root.Dpkg({"--install", root.PackageCopy()});
    CHECK(root.Status() == "install ok installed");
    CHECK_THAT(root.TakeCalls(), !Catch::Contains(kSecret));
    CHECK(ReadFile(root(kSecret)) == secret);
    CHECK(ReadFile(root(kConfig)) == config);
    CHECK(ReadFile(root(kDataDir) + "/data") == "the store");
  }
  SECTION("removing keeps them too; purging removes them and the user") {
    root.Dpkg({"--remove", "kvs"});
    CHECK(root.Status() == "deinstall ok config-files");
    CHECK_FALSE(fs::exists(root("/usr/sbin/kvs-fcgi")));
    CHECK(ReadFile(root(kSecret)) == secret);
    CHECK(ReadFile(root(kConfig)) == config);
    CHECK(ReadFile(root(kDataDir) + "/data") == "the store");
    CHECK_THAT(root.TakeCalls(), !Catch::Contains("deluser"));

    root.Dpkg({"--purge", "kvs"});
    CHECK(root.Status() == "not known");
    CHECK_FALSE(fs::exists(root("/etc/kvs")));
    CHECK_FALSE(fs::exists(root(kDataDir)));
    CHECK_FALSE(fs::exists(root("/etc/systemd/system/sockets.target.wants/kvs-fcgi.socket")));
    CHECK_FALSE(fs::exists(root("/etc/systemd/system/multi-user.target.wants/kvs-fcgi.service")));
    calls = root.TakeCalls();
    CHECK_THAT(calls, Catch::Contains("deluser --system --quiet kvs\n"));
    CHECK_THAT(calls, Catch::Contains("delgroup --system --quiet --only-if-empty kvs\n"));
  }
}

TEST_CASE(
    "behind nginx with the unpacked snippet, the unpacked kvs-fcgi writes, reads and refuses") {
  ServedPackage served;
  kvs::test::TempDir nginx_dir;
  WriteFile(nginx_dir.Sub("kvs.conf"), ReadFile(served.files()(kNginxSnippet)));
  WriteSiteConfig(served, kNginxUpstream, nginx_dir.Sub("kvs-fastcgi.conf"));
  passwd* user = getpwuid(geteuid());
  REQUIRE(user != nullptr);
  // A site of its own at /, with the snippet included as the snippet says,
  // and the upstream in the http block, as Debian's nginx.conf includes
  // conf.d/*.conf.
  const std::string conf = std::string("user ") + user->pw_name +
                           ";\n"
                           "error_log error.log warn;\n"
                           "events { worker_connections 64; }\n"
                           "http {\n"
                           "    access_log access.log;\n"
                           "    client_body_temp_path client_body_temp;\n"
                           "    fastcgi_temp_path fastcgi_temp;\n"
                           "    proxy_temp_path proxy_temp;\n"
                           "    uwsgi_temp_path uwsgi_temp;\n"
                           "    scgi_temp_path scgi_temp;\n"
                           "    include " +
                           nginx_dir.Sub("kvs-fastcgi.conf") +
                           ";\n"
                           "    server {\n"
                           "        listen @LISTEN@;\n"
                           "        location / { return 200 \"the site's own page\\n\"; }\n"
                           "        include " +
                           nginx_dir.Sub("kvs.conf") +
                           ";\n"
                           "    }\n"
                           "}\n";
  int port = 0;
  auto nginx = StartNginx(nginx_dir.path(), conf, &port);
  auto logs = [&] { return served.Log() + "--- nginx:\n" + ReadFile(nginx_dir.Sub("error.log")); };
  auto client = LoopbackClient(port);
  CheckServesThePackage(*client, logs());

  auto site = client->Get("/elsewhere/auth.txt");
  REQUIRE(site);
  CHECK(site->body == "the site's own page\n");
  // nginx's own limit is above the config's: a value of 1 MiB (its
  // max_value_bytes), 3 MiB as a form, reaches kvs and is written.
  const std::string big(1 << 20, '%');
  auto posted = client->Post("/kvs/", AuthField() + "&big=" + PercentEncode(big), kFormType);
  INFO(logs());
  REQUIRE(posted);
  CHECK(posted->status == 200);
}

TEST_CASE("behind Apache with the unpacked conf, the unpacked kvs-fcgi writes, reads and refuses") {
  ServedPackage served;
  kvs::test::TempDir apache_dir;
  fs::create_directory(apache_dir.Sub("run"));
  WriteSiteConfig(served, kApacheConf, apache_dir.Sub("kvs.conf"));
  if (geteuid() == 0) REQUIRE(chmod(apache_dir.path().c_str(), 0755) == 0);
  // What `a2enmod proxy_fcgi; a2enconf kvs` adds to Debian's Apache, with
  // mod_unique_id for the request ids.
  auto config = [&apache_dir](int port) {
    std::string conf = ApacheBaseConfig(apache_dir.path(), port);
    for (const char* module :
         {"mpm_event", "authz_core", "alias", "unique_id", "proxy", "proxy_fcgi"}) {
      conf += std::string("LoadModule ") + module + "_module " KVS_APACHE_MODULES "/mod_" + module +
              ".so\n";
    }
    return conf + "Include " + apache_dir.Sub("kvs.conf") + "\n";
  };
  int port = 0;
  auto apache = StartApache(apache_dir.path(), config, &port);
  auto client = LoopbackClient(port);
  CheckServesThePackage(*client, served.Log() + ApacheLogs(apache_dir.path()));
  // The request id is Apache's (mod_unique_id), not one kvs made.
  auto read = client->Get("/kvs/?k=greeting");
  REQUIRE(read);
  CHECK_THAT(read->get_header_value("X-Request-Id"), !Catch::Matches("[0-9a-f]{32}"));
}

TEST_CASE("the snippet and the Apache conf deny what kvs's template and htaccess deny") {
  Unpacked files;
  const std::string snippet = ReadFile(files(kNginxSnippet));
  const std::string apache = ReadFile(files(kApacheConf));
  std::istringstream template_lines(ReadFile(KVS_NGINX_TEMPLATE));
  int params = 0, denials = 0;
  for (std::string line; std::getline(template_lines, line);) {
    line.erase(0, line.find_first_not_of(' '));
    // Every FastCGI parameter, as the template passes it.
    if (line.rfind("fastcgi_param ", 0) == 0) {
      ++params;
      CHECK_THAT(snippet, Catch::Contains("    " + line + "\n"));
    }
    // Every denial below the mount, at the snippet's mount.
    if (line.rfind("location ~* ^@MOUNT@/", 0) == 0) {
      ++denials;
      CHECK_THAT(snippet, Catch::Contains(ReplaceOnce(line, "@MOUNT@", "/kvs")));
    }
  }
  CHECK(params >= 17);
  CHECK(denials == 2);
  std::istringstream htaccess_lines(ReadFile(KVS_SOURCE_DIR "/htaccess"));
  int rules = 0;
  for (std::string line; std::getline(htaccess_lines, line);) {
    std::smatch rule;
    if (std::regex_match(line, rule, std::regex(R"(RewriteRule \^(\S+) - \[F,NC\])"))) {
      ++rules;
      CHECK_THAT(apache, Catch::Contains("\"(?i)^/kvs/" + std::string(rule[1]) + "\""));
    }
  }
  CHECK(rules == 2);
}

}  // namespace kvs::server::test
