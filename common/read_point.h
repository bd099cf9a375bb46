// A read point as people write it: the at= of the server's faces and the
// --at of the command line take the same text, parsed here once.
#ifndef KVS_COMMON_READ_POINT_H_
#define KVS_COMMON_READ_POINT_H_

#include <optional>
#include <string_view>

#include "kvs/store.h"

namespace kvs::common {

// Exactly 64 hex digits: a commit id (checked first, as such an id may be
// all decimal digits); else a revision number from 1; else an RFC 3339
// time. nullopt for anything else, revision 0 included.
std::optional<ReadPoint> ParseReadPoint(std::string_view text);

}  // namespace kvs::common

#endif  // KVS_COMMON_READ_POINT_H_
