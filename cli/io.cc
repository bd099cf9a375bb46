// stdout, stderr and input files for the command line.
#include "cli/io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

namespace kvs::cli {

void Print(std::string_view bytes) { std::fwrite(bytes.data(), 1, bytes.size(), stdout); }

void PrintLine(std::string_view line) {
  Print(line);
  std::fputc('\n', stdout);
}

std::string LineSafeKey(std::string_view key) {
  auto is_control = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; };
  if (!key.starts_with('"') && std::none_of(key.begin(), key.end(), is_control)) {
    return std::string(key);
  }
  std::string out = "\"";
  for (char c : key) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
      case '"':
        out += '\\';
        out += c;
        break;
      default:
        if (is_control(c)) {
          char hex[5];
          std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
          out += hex;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

Status FinishOutput() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    return Status::IOError(std::string("cannot write to standard output: ") + std::strerror(errno));
  }
  return Status::OK();
}

void Note(std::string_view message) {
  std::string line = "kvs: " + std::string(message) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

Result<std::string> ReadAll(int fd, size_t max_bytes, std::string_view what) {
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      return Status::IOError("cannot read " + std::string(what) + ": " + std::strerror(errno));
    }
    if (got == 0) return bytes;
    if (static_cast<size_t>(got) > max_bytes - bytes.size()) {
      return Status::InvalidArgument(std::string(what) + " holds more than " +
                                     std::to_string(max_bytes) + " bytes, the store's limit");
    }
    bytes.append(buffer, static_cast<size_t>(got));
  }
}

Result<std::string> ReadFileOrStdin(const std::string& path) {
  constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();
  if (path == "-") return ReadAll(STDIN_FILENO, kNoLimit, "standard input");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound("cannot open " + path + ": " + std::strerror(errno));
  Result<std::string> bytes = ReadAll(fd, kNoLimit, path);
  close(fd);
  return bytes;
}

}  // namespace kvs::cli
