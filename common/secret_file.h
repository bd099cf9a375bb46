// A shared-secret file as kvs reads one, wherever it is read: the server's
// auth_file, `kvs sync --secret-file`, and a replication peer's secret_file
// must agree on what the secret in a file is, or a secret that works for one
// is refused through another.
#ifndef KVS_COMMON_SECRET_FILE_H_
#define KVS_COMMON_SECRET_FILE_H_

#include <string>
#include <string_view>

#include "kvs/status.h"

namespace kvs::common {

// Blanks (spaces, tabs, line ends) at both ends of s removed.
std::string_view TrimBlanks(std::string_view s);

// The secret in the file at path: its first line, without blanks at either
// end ("" when that line holds none). IOError "cannot read WHAT PATH:
// reason" when the file cannot be read; what names it ("the auth_file").
Result<std::string> ReadSecretFile(const std::string& path, std::string_view what);

}  // namespace kvs::common

#endif  // KVS_COMMON_SECRET_FILE_H_
