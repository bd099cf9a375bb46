// Store times formatted for Last-Modified and for JSON.
#include "common/time.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>

namespace kvs::common {

TEST_CASE("HTTP dates are IMF-fixdate in GMT, truncated to the second") {
  // RFC 9110's example: Sun, 06 Nov 1994 08:49:37 GMT is 784111777 s.
  CHECK(FormatHttpDate(784111777'999'999'999) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(FormatHttpDate(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(FormatHttpDate(951782400'000'000'000) == "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST_CASE("RFC 3339 times are UTC with milliseconds") {
  CHECK(FormatRfc3339(784111777'123'456'789) == "1994-11-06T08:49:37.123Z");
  CHECK(FormatRfc3339(0) == "1970-01-01T00:00:00.000Z");
  // Before 1970 the fraction still counts forward from the whole second.
  CHECK(FormatRfc3339(-1'000'000) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("dates are broken down as gmtime does, across centuries and leap years") {
  const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // From 1900 to 2262 (where ns since 1970 end in an int64), in steps that
  // land on every time of day, weekday and day of the month.
  for (int64_t s = -2'208'988'800; s < 9'200'000'000; s += 86'400 * 37 + 3'671) {
    std::time_t t = static_cast<std::time_t>(s);
    std::tm tm{};
    REQUIRE(gmtime_r(&t, &tm) != nullptr);
    char http[64], rfc[64];
    std::snprintf(http, sizeof http, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                  tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    std::snprintf(rfc, sizeof rfc, "%04d-%02d-%02dT%02d:%02d:%02d.042Z", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    INFO(s);
    REQUIRE(FormatHttpDate(s * 1'000'000'000 + 42'000'000) == http);
    REQUIRE(FormatRfc3339(s * 1'000'000'000 + 42'000'000) == rfc);
  }
}

TEST_CASE("RFC 3339 times parse with fractions and offsets, and nothing else does") {
  CHECK(ParseRfc3339("1994-11-06T08:49:37Z") == 784111777'000'000'000);
  CHECK(ParseRfc3339("1994-11-06T08:49:37.123456789Z") == 784111777'123'456'789);
  CHECK(ParseRfc3339("1994-11-06T09:49:37.5+01:00") == 784111777'500'000'000);
  CHECK(ParseRfc3339("1994-11-06T07:49:37-01:00") == 784111777'000'000'000);
  CHECK(ParseRfc3339(FormatRfc3339(1'700'000'000'123'000'000)) == 1'700'000'000'123'000'000);
  // A leap second is the last ns of the second before it.
  CHECK(ParseRfc3339("2016-12-31T23:59:60Z") == ParseRfc3339("2017-01-01T00:00:00Z").value() - 1);
  for (const char* bad :
       {"", "1994-11-06", "1994-11-06T08:49Z", "1994-11-06T08:49:37", "1994-13-06T08:49:37Z",
        "1994-02-30T08:49:37Z", "1994-11-06T08:49:37.Z", "1994-11-06T08:49:37Zjunk", "12"}) {
    INFO(bad);
    CHECK_FALSE(ParseRfc3339(bad).has_value());
  }
}

TEST_CASE("RFC 3339 times beyond what 64 bits of ns hold are refused, not wrapped") {
  // Found by fuzz_url (fuzz/corpus/url/regress-at-in-the-year-1013).
  CHECK_FALSE(ParseRfc3339("1013-01-01T00:00:03.5+01:00").has_value());
  CHECK_FALSE(ParseRfc3339("9999-12-31T23:59:59Z").has_value());
  CHECK(ParseRfc3339("1678-01-01T00:00:00Z") == -9'214'560'000'000'000'000);
  CHECK(ParseRfc3339("2262-01-01T00:00:00Z") == 9'214'646'400'000'000'000);
}

}  // namespace kvs::common
