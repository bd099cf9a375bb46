// Timestamps as HTTP and JSON clients read them.
//
// The store keeps times as nanoseconds since 1970 (UTC). HTTP headers
// (Last-Modified) want an IMF-fixdate with whole seconds; JSON bodies carry
// RFC 3339 in UTC with milliseconds, which JavaScript's Date parses exactly.
#ifndef KVS_COMMON_TIME_H_
#define KVS_COMMON_TIME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kvs::common {

// Now, on the wall clock: nanoseconds since 1970 (UTC).
int64_t WallClockNs();
// Now, on the steady clock (for deadlines and intervals): nanoseconds since
// an arbitrary start.
int64_t SteadyClockNs();

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate), truncated to the
// second.
std::string FormatHttpDate(int64_t time_ns);

// "1994-11-06T08:49:37.123Z", truncated to the millisecond.
std::string FormatRfc3339(int64_t time_ns);

// Parses an RFC 3339 date-time, "2026-11-20T10:00:00Z", with an optional
// fraction of a second (up to ns) and "Z" or a "+HH:MM"/"-HH:MM" offset, as
// ns since 1970; a leap second (:60) as the last ns of the second before.
// nullopt for anything else, including impossible dates and times before
// 1677 or after 2262, which 64 bits of ns cannot hold.
std::optional<int64_t> ParseRfc3339(std::string_view text);

}  // namespace kvs::common

#endif  // KVS_COMMON_TIME_H_
