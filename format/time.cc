// Formatting of store times (ns since the epoch) for headers and JSON.
#include "format/time.h"

#include <cstdio>
#include <ctime>

namespace kvs::format {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000;

// Splits ns into whole seconds and the remaining ns, rounding toward the past
// also before 1970, and breaks the seconds down in UTC.
std::tm BreakDown(int64_t time_ns, int64_t* rest_ns) {
  int64_t seconds = time_ns / kNanosPerSecond;
  int64_t rest = time_ns % kNanosPerSecond;
  if (rest < 0) {
    rest += kNanosPerSecond;
    --seconds;
  }
  *rest_ns = rest;
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::string FormatHttpDate(int64_t time_ns) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int64_t rest_ns;
  std::tm tm = BreakDown(time_ns, &rest_ns);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buffer;
}

std::string FormatRfc3339(int64_t time_ns) {
  int64_t rest_ns;
  std::tm tm = BreakDown(time_ns, &rest_ns);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(rest_ns / 1000000));
  return buffer;
}

}  // namespace kvs::format
