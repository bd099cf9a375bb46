// The kvs-fcgi command line, parsed into typed options.
//
//   kvs-fcgi --config FILE [--socket PATH | --listen HOST:PORT] [--threads N]
//   kvs-fcgi --config FILE --cluster-front HOST:PORT
//   kvs-fcgi --help | --version
//
// Without --socket or --listen the program serves the FastCGI socket systemd
// passed it (socket activation) or the one it inherited as fd 0 (spawn-fcgi,
// mod_fcgid), or, when started as a CGI program, answers the one request in
// its environment and exits. The config file may also come from the
// environment variable KVS_CONFIG (a CGI program under Apache gets no
// arguments); --config wins.
#ifndef KVS_FCGI_FLAGS_H_
#define KVS_FCGI_FLAGS_H_

#include <optional>
#include <string>

#include "kvs/status.h"

namespace kvs::server {

struct CommandLine {
  bool help = false;     // --help: print Usage() and exit
  bool version = false;  // --version: print the version and exit
  std::string config_path;
  std::optional<std::string> socket_path;     // --socket
  std::optional<std::string> listen_address;  // --listen
  int threads = 16;
  // --cluster-front: print the nginx config of a cluster's front, listening
  // there, from the config's cluster: section, and exit.
  std::optional<std::string> cluster_front;
};

// InvalidArgument saying what is wrong with the arguments. env_config is the
// value of KVS_CONFIG, or nullptr.
Result<CommandLine> ParseCommandLine(int argc, const char* const* argv, const char* env_config);

std::string Usage();

}  // namespace kvs::server

#endif  // KVS_FCGI_FLAGS_H_
