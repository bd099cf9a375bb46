// Command-line parsing.
#include "fcgi/flags.h"

#include <charconv>
#include <string_view>

namespace kvs::server {
namespace {

constexpr int kMaxThreads = 256;

}  // namespace

std::string Usage() {
  return "usage: kvs-fcgi --config FILE [--socket PATH | --listen HOST:PORT] [--threads N]\n"
         "\n"
         "Serves the kvs key/value store over FastCGI (on PATH, on HOST:PORT, on the\n"
         "socket inherited as fd 0 from spawn-fcgi or mod_fcgid, or on the one systemd\n"
         "passes as fd 3 with LISTEN_FDS) or, run as a CGI program, answers the one\n"
         "request in its environment.\n"
         "\n"
         "  --config FILE       the YAML config (default: $KVS_CONFIG; when a web server\n"
         "                      started the program and neither is set, kvs.yaml in the\n"
         "                      working directory)\n"
         "  --socket PATH       listen on a unix socket\n"
         "  --listen HOST:PORT  listen on TCP, e.g. 127.0.0.1:9000\n"
         "  --threads N         FastCGI worker threads (default 16)\n"
         "  --cluster-front HOST:PORT\n"
         "                      print the nginx config of a front that routes each key\n"
         "                      to its shard, from the config's cluster: section, and exit\n"
         "  --help              print this message and exit\n"
         "  --version           print the version and exit\n";
}

Result<CommandLine> ParseCommandLine(int argc, const char* const* argv, const char* env_config) {
  CommandLine cli;
  if (env_config != nullptr) cli.config_path = env_config;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      cli.help = true;
      return cli;
    }
    if (arg == "--version") {
      cli.version = true;
      return cli;
    }
    // --name VALUE or --name=VALUE
    std::string_view name = arg.substr(0, arg.find('='));
    std::string value;
    if (name != "--config" && name != "--socket" && name != "--listen" && name != "--threads" &&
        name != "--cluster-front") {
      return Status::InvalidArgument("unknown argument '" + std::string(arg) + "'");
    }
    if (name.size() < arg.size()) {
      value = std::string(arg.substr(name.size() + 1));
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return Status::InvalidArgument(std::string(name) + " needs a value");
    }
    if (value.empty()) return Status::InvalidArgument(std::string(name) + " needs a value");
    if (name == "--config") {
      cli.config_path = value;
    } else if (name == "--socket") {
      cli.socket_path = value;
    } else if (name == "--listen") {
      cli.listen_address = value;
    } else if (name == "--cluster-front") {
      cli.cluster_front = value;
    } else {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), cli.threads);
      if (ec != std::errc() || end != value.data() + value.size() || cli.threads < 1 ||
          cli.threads > kMaxThreads) {
        return Status::InvalidArgument("--threads needs a number from 1 to " +
                                       std::to_string(kMaxThreads) + ", not '" + value + "'");
      }
    }
  }
  if (cli.socket_path && cli.listen_address) {
    return Status::InvalidArgument("give --socket or --listen, not both");
  }
  if (cli.config_path.empty()) {
    return Status::InvalidArgument("no config file: give --config FILE or set KVS_CONFIG");
  }
  return cli;
}

}  // namespace kvs::server
