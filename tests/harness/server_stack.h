// The integration-test harness: a real kvs-fcgi behind a real nginx, both
// started by the test in a private temporary directory and stopped on scope
// exit (also when the test fails).
//
// The directory holds the config (kvs.yaml), the secret (auth.txt), the store
// (kvs-data/), the kvs-fcgi socket, and everything nginx writes: its config
// rendered from fcgi/nginx.conf.in, logs, temp dirs, pid. nginx listens on
// 127.0.0.1 on a port picked by binding port 0 first.
#ifndef KVS_TESTS_HARNESS_SERVER_STACK_H_
#define KVS_TESTS_HARNESS_SERVER_STACK_H_

#include <httplib.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/harness/child_process.h"
#include "tests/harness/service_fixture.h"
#include "tests/store/test_util.h"

namespace kvs::server::test {

struct StackOptions {
  // How nginx reaches kvs-fcgi.
  enum class Transport {
    kUnixSocket,  // kvs-fcgi --socket DIR/kvs.sock
    kTcp,         // kvs-fcgi --listen 127.0.0.1:PORT
    kSpawnFcgi,   // spawn-fcgi creates the socket; kvs-fcgi serves it as fd 0
    // systemd-socket-activate creates the socket and passes it as systemd
    // does (LISTEN_FDS, fd 3), starting kvs-fcgi at the first connection
    kSystemdSocket,
  };
  Transport transport = Transport::kUnixSocket;
  // Written to auth.txt; nullopt: the config names no auth_file.
  std::optional<std::string> secret = std::string(kTestSecret);
  // The config's limits section and any other lines, appended as is.
  std::string extra_config =
      "limits:\n"
      "  max_key_bytes: 100\n"
      "  max_value_bytes: 100000\n"
      "  max_body_bytes: 300000\n"
      "  max_keys_per_transaction: 20\n";
  std::string mount;  // "" (the site root) or like "/kvs"
  int threads = 0;    // kvs-fcgi --threads; 0: its default
};

// Writes bytes to path, failing the test when it cannot.
void WriteFile(const std::string& path, const std::string& bytes);
// The bytes of path ("" when it cannot be read).
std::string ReadFile(const std::string& path);
// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();
// The client the tests speak to a server on 127.0.0.1:port with: URLs sent
// exactly as given (tests send bytes a browser would escape), and timeouts
// long enough for a sanitizer build, short enough that a hang fails.
std::unique_ptr<httplib::Client> LoopbackClient(int port);
// Sends bytes on a fresh TCP connection to 127.0.0.1:port and returns
// everything the server answers until it closes the connection: for
// requests no HTTP client library would send.
std::string RawExchange(int port, const std::string& bytes);
// A TCP connection to 127.0.0.1:port (the caller closes it), failing the
// test when it cannot be made.
int ConnectLoopback(int port);
// Starts nginx with everything in dir (its config dir/nginx.conf, logs
// dir/error.log and dir/nginx.log, pid, temporary files): conf is a whole
// nginx config in which @LISTEN@ stands for 127.0.0.1:PORT, PORT a free
// port, another one when nginx finds it taken meanwhile. Returns once nginx
// listens, with *port set; fails the test when it does not start.
std::unique_ptr<ChildProcess> StartNginx(const std::string& dir, const std::string& conf,
                                         int* port);

class ServerStack {
 public:
  explicit ServerStack(StackOptions options = StackOptions());
  ~ServerStack();
  ServerStack(const ServerStack&) = delete;
  ServerStack& operator=(const ServerStack&) = delete;

  int port() const { return port_; }
  // The kvs-fcgi process (with spawn-fcgi, the same process after its exec).
  pid_t kvs_pid() const { return kvs_->pid(); }
  // Kills kvs-fcgi with SIGKILL, as a crash would, and waits for it; nginx
  // stays up.
  void KillKvs();
  // Stops kvs-fcgi as an operator would (SIGTERM) and requires a clean
  // exit; nginx stays up.
  void StopKvs();
  // Starts kvs-fcgi again after KillKvs or StopKvs, on the same config,
  // store and socket (or port), and waits until it listens.
  void RestartKvs();
  const std::string& dir() const { return dir_.path(); }
  // A client for nginx that sends paths exactly as given (no re-encoding).
  std::unique_ptr<httplib::Client> Client() const;
  // kvs-fcgi's and nginx's logs, for failure messages.
  std::string Logs() const;

 private:
  // kvs.yaml and auth.txt, and the port of the kTcp transport.
  void WriteKvsConfig();
  void StartKvs();
  void StartNginx();

  StackOptions options_;
  kvs::test::TempDir dir_;
  int port_ = 0;
  int kvs_port_ = 0;  // kTcp only: where kvs-fcgi listens
  std::string fastcgi_pass_;
  std::unique_ptr<ChildProcess> kvs_;
  std::unique_ptr<ChildProcess> nginx_;
};

// "Authorization: Bearer <kTestSecret>", for writes that take no form field.
const httplib::Headers& BearerHeaders();

// The response to a request; fails the test, showing the servers' logs,
// when there was none.
httplib::Response Answer(const httplib::Result& result, const ServerStack& stack);

// GET path; requires a 200 with JSON and returns it parsed.
nlohmann::json MustGetJson(const ServerStack& stack, const std::string& path);

// The store the stack serves, opened by this process while the server runs
// (stores may be opened by many processes at once), and its revision.
std::unique_ptr<Store> OpenServedStore(const ServerStack& stack);
uint64_t ServedStoreRevision(const ServerStack& stack);

// True when a connection to the unix socket at path succeeds.
bool CanConnectUnix(const std::string& path);

// What a program run to its end printed.
struct ProgramRun {
  int exit_code = -1;  // -1 when it did not exit normally (a signal)
  std::string output;  // stdout
  std::string log;     // stderr
};

// Runs argv[0] (a path) with argv and input on stdin until it exits;
// env as ChildIo::env (nullopt: this process's environment).
ProgramRun RunProgram(const std::vector<std::string>& argv, const std::string& input,
                      const std::optional<std::map<std::string, std::string>>& env = std::nullopt);

// What a CGI run of kvs-fcgi printed; output is the CGI response.
using CgiRun = ProgramRun;

// Runs kvs-fcgi once as a CGI program with exactly the variables in env
// (plus the sanitizer options) and body on stdin.
CgiRun RunCgi(const std::map<std::string, std::string>& env, const std::string& body,
              const std::vector<std::string>& args = {});

}  // namespace kvs::server::test

#endif  // KVS_TESTS_HARNESS_SERVER_STACK_H_
