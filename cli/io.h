// The command line's byte streams: values go to stdout and come from stdin
// or files exactly as they are (no newline added, no encoding assumed);
// notes and errors go to stderr, each line starting with "kvs: ".
#ifndef KVS_CLI_IO_H_
#define KVS_CLI_IO_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "kvs/status.h"

namespace kvs::cli {

// Appends bytes to stdout (buffered; see FinishOutput).
void Print(std::string_view bytes);
// Appends line and a newline to stdout.
void PrintLine(std::string_view line);

// A key as line-oriented output shows it: as it is, unless it holds a
// control character (a newline would forge a line of output) or starts
// with '"'; then in double quotes with C escapes (\n, \t, \\, \", \xNN), as
// git shows such file names.
std::string LineSafeKey(std::string_view key);
// Flushes stdout; IOError when anything written to it was lost (a full
// disk, a closed pipe).
Status FinishOutput();

// "kvs: " + message + newline on stderr, unbuffered.
void Note(std::string_view message);

// Everything readable from fd until end of file. InvalidArgument when it is
// more than max_bytes (what names the input in the message); IOError when a
// read fails.
Result<std::string> ReadAll(int fd, size_t max_bytes, std::string_view what);

// The contents of path, or of stdin when path is "-".
Result<std::string> ReadFileOrStdin(const std::string& path);

}  // namespace kvs::cli

#endif  // KVS_CLI_IO_H_
