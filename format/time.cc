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

std::optional<int64_t> ParseRfc3339(std::string_view text) {
  size_t at = 0;
  // Reads exactly n digits.
  auto digits = [&](size_t n, int* out) {
    if (at + n > text.size()) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      char c = text[at + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    at += n;
    *out = v;
    return true;
  };
  auto literal = [&](std::string_view chars) {
    if (at < text.size() && chars.find(text[at]) != std::string_view::npos) {
      ++at;
      return true;
    }
    return false;
  };
  std::tm tm{};
  int year, month, day, hour, minute, second;
  if (!digits(4, &year) || !literal("-") || !digits(2, &month) || !literal("-") ||
      !digits(2, &day) || !literal("Tt ") || !digits(2, &hour) || !literal(":") ||
      !digits(2, &minute) || !literal(":") || !digits(2, &second)) {
    return std::nullopt;
  }
  int64_t fraction_ns = 0;
  if (literal(".")) {
    size_t start = at;
    int64_t scale = 100000000;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      fraction_ns += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  int offset_minutes = 0;
  if (!literal("Zz")) {
    if (at >= text.size() || (text[at] != '+' && text[at] != '-')) return std::nullopt;
    int sign = text[at++] == '-' ? -1 : 1;
    int oh, om;
    if (!digits(2, &oh) || !literal(":") || !digits(2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = sign * (oh * 60 + om);
  }
  if (at != text.size() || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t seconds = timegm(&tm);
  // timegm normalizes Feb 30 into March: such a date does not exist.
  if (tm.tm_mday != day || tm.tm_mon != month - 1) return std::nullopt;
  return (static_cast<int64_t>(seconds) - offset_minutes * 60) * kNanosPerSecond + fraction_ns;
}

}  // namespace kvs::format
