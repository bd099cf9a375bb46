// Formatting of store times (ns since the epoch) for headers and JSON.
#include "common/time.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <limits>

namespace kvs::common {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000;

// A UTC date and time of day.
struct Civil {
  int64_t year;
  int month;    // 1..12
  int day;      // 1..31
  int weekday;  // 0 = Sunday
  int hour, minute, second;
};

// Splits ns into whole seconds and the remaining ns, rounding toward the past
// also before 1970, and breaks the seconds down in UTC. Plain arithmetic
// (Howard Hinnant's civil_from_days) instead of gmtime_r, which takes glibc's
// process-wide time zone lock on every call: every read response formats a
// date, from many threads at once.
Civil BreakDown(int64_t time_ns, int64_t* rest_ns) {
  constexpr int64_t kSecondsPerDay = 86400;
  int64_t seconds = time_ns / kNanosPerSecond;
  int64_t rest = time_ns % kNanosPerSecond;
  if (rest < 0) {
    rest += kNanosPerSecond;
    --seconds;
  }
  *rest_ns = rest;
  int64_t days = seconds / kSecondsPerDay;
  int64_t in_day = seconds % kSecondsPerDay;
  if (in_day < 0) {
    in_day += kSecondsPerDay;
    --days;
  }
  Civil c;
  c.hour = static_cast<int>(in_day / 3600);
  c.minute = static_cast<int>(in_day / 60 % 60);
  c.second = static_cast<int>(in_day % 60);
  c.weekday = static_cast<int>(((days + 4) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                                       // [0, 146096]
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
  return c;
}

// Appends n as exactly width digits, zero-padded; a value that does not fit
// (a year past 9999 or before 0) as all its digits.
void AppendDigits(std::string* out, int64_t n, int width) {
  int64_t limit = 1;
  for (int i = 0; i < width; ++i) limit *= 10;
  if (n < 0 || n >= limit) {
    out->append(std::to_string(n));
    return;
  }
  char digits[20];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + n % 10);
    n /= 10;
  }
  out->append(digits, static_cast<size_t>(width));
}

// Appends "HH:MM:SS".
void AppendTimeOfDay(std::string* out, const Civil& c) {
  AppendDigits(out, c.hour, 2);
  *out += ':';
  AppendDigits(out, c.minute, 2);
  *out += ':';
  AppendDigits(out, c.second, 2);
}

}  // namespace

std::string FormatHttpDate(int64_t time_ns) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int64_t rest_ns;
  Civil c = BreakDown(time_ns, &rest_ns);
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  std::string out;
  out.reserve(29);
  out.append(kDays[c.weekday]).append(", ");
  AppendDigits(&out, c.day, 2);
  out.append(" ").append(kMonths[c.month - 1]).append(" ");
  AppendDigits(&out, c.year, 4);
  out += ' ';
  AppendTimeOfDay(&out, c);
  out.append(" GMT");
  return out;
}

int64_t WallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string FormatRfc3339(int64_t time_ns) {
  int64_t rest_ns;
  Civil c = BreakDown(time_ns, &rest_ns);
  // "2026-11-30T23:59:59.123Z"
  std::string out;
  out.reserve(24);
  AppendDigits(&out, c.year, 4);
  out += '-';
  AppendDigits(&out, c.month, 2);
  out += '-';
  AppendDigits(&out, c.day, 2);
  out += 'T';
  AppendTimeOfDay(&out, c);
  out += '.';
  AppendDigits(&out, rest_ns / 1000000, 3);
  out += 'Z';
  return out;
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
  // A leap second (23:59:60) is the last instant of the second before it:
  // the times kvs keeps count no leap seconds.
  if (second == 60) fraction_ns = kNanosPerSecond - 1;
  tm.tm_sec = std::min(second, 59);
  std::time_t seconds = timegm(&tm);
  // timegm normalizes Feb 30 into March: such a date does not exist.
  if (tm.tm_mday != day || tm.tm_mon != month - 1) return std::nullopt;
  // ns since 1970 in 64 bits reach from the year 1677 to 2262; a time
  // outside has no value to return.
  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / kNanosPerSecond - 1;
  int64_t since_1970 = static_cast<int64_t>(seconds) - offset_minutes * 60;
  if (since_1970 < -kMaxSeconds || since_1970 > kMaxSeconds) return std::nullopt;
  return since_1970 * kNanosPerSecond + fraction_ns;
}

}  // namespace kvs::common
