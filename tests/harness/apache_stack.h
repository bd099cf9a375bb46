// The Apache integration-test harness: a real Apache running the real
// kvs-fcgi the way a user installs it, from the repository's htaccess alone,
// started by the test in a private temporary directory and stopped on scope
// exit (also when the test fails, then printing Apache's logs).
//
// The directory holds Apache's config (written here, nothing under /etc is
// read or touched), its logs and runtime files, and the document root with
// the mount kvs/: the program as kvs.fcgi, the htaccess as .htaccess, kvs.yaml,
// auth.txt and the store kvs-data/ (or those three in private/, outside the
// document root), so http://127.0.0.1:PORT/kvs/ is kvs.
// Apache listens on 127.0.0.1 on a port picked by binding port 0 first. Run
// as root, Apache runs programs as an unprivileged user (www-data, else
// nobody), who owns auth.txt and kvs-data/ as the htaccess tells users.
#ifndef KVS_TESTS_HARNESS_APACHE_STACK_H_
#define KVS_TESTS_HARNESS_APACHE_STACK_H_

#include <httplib.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/harness/child_process.h"
#include "tests/store/test_util.h"

namespace kvs::server::test {

struct ApacheOptions {
  // How Apache runs the program; the htaccess picks the handler by what is
  // loaded.
  enum class Runner {
    kCgi,    // the prefork MPM with mod_cgi
    kCgid,   // the event MPM with mod_cgid (Debian's default pairing)
    kFcgid,  // the event MPM with mod_fcgid
  };
  Runner runner = Runner::kCgi;
  // The <Directory> block's AllowOverride for the document root.
  std::string allow_override = "All";
  // Where kvs.yaml, auth.txt and kvs-data/ are: next to the program, where
  // kvs finds kvs.yaml by itself, or outside the document root, named by
  // KVS_CONFIG as the htaccess describes (SetEnv added to the .htaccess for
  // CGI, FcgidCmdOptions in the server config for mod_fcgid).
  bool config_outside_web_tree = false;
  // More lines for kvs.yaml, after data_dir, auth_file and sync.
  std::string more_config = "";
};

// The URL path (and directory under the document root) kvs is mounted at.
inline constexpr const char* kApacheMount = "/kvs";

// The lines every test server config starts with: its root, logs, pid and
// runtime files in dir (dir/run must exist), listening on 127.0.0.1:port,
// and, when the test runs as root, the unprivileged user Apache runs as.
// The modules and what they serve are the caller's.
std::string ApacheBaseConfig(const std::string& dir, int port);

// Starts Apache on the server config config(port), written to
// dir/apache.conf, on a free 127.0.0.1 port (another one when Apache finds
// it taken meanwhile). Returns once Apache answers, with *port set; fails
// the test when it does not start.
std::unique_ptr<ChildProcess> StartApache(const std::string& dir,
                                          const std::function<std::string(int port)>& config,
                                          int* port);

// Apache's error log, access log and output in dir, for failure messages.
std::string ApacheLogs(const std::string& dir);

class ApacheStack {
 public:
  explicit ApacheStack(ApacheOptions options = ApacheOptions());
  ~ApacheStack();
  ApacheStack(const ApacheStack&) = delete;
  ApacheStack& operator=(const ApacheStack&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_.path(); }
  // The mounted directory: kvs.fcgi, .htaccess and (by default) the rest.
  std::string site_dir() const { return dir_.Sub("docroot") + kApacheMount; }
  // The directory of kvs.yaml, auth.txt and kvs-data/.
  std::string config_dir() const {
    return options_.config_outside_web_tree ? dir_.Sub("private") : site_dir();
  }
  // A client for Apache that sends paths exactly as given (no re-encoding).
  std::unique_ptr<httplib::Client> Client() const;
  // Apache's error log (which has kvs-fcgi's stderr), access log and output.
  std::string Logs() const;
  // Writes kvs.yaml anew: the harness's lines, then more_config (as
  // ApacheOptions::more_config). A CGI request reads it at its start.
  void WriteKvsConfig(const std::string& more_config) const;
  // The pids of the kvs.fcgi processes running now.
  std::vector<pid_t> ProgramProcesses() const;

 private:
  void WriteSite();
  std::string Config(int port) const;
  void Start();

  ApacheOptions options_;
  kvs::test::TempDir dir_;
  int failures_at_start_;  // failed assertions before this stack started
  int port_ = 0;
  std::unique_ptr<ChildProcess> apache_;
};

}  // namespace kvs::server::test

#endif  // KVS_TESTS_HARNESS_APACHE_STACK_H_
