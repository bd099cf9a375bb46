// Store times formatted for Last-Modified and for JSON.
#include "format/time.h"

#include <catch2/catch.hpp>

namespace kvs::format {

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

TEST_CASE("RFC 3339 times parse with fractions and offsets, and nothing else does") {
  CHECK(ParseRfc3339("1994-11-06T08:49:37Z") == 784111777'000'000'000);
  CHECK(ParseRfc3339("1994-11-06T08:49:37.123456789Z") == 784111777'123'456'789);
  CHECK(ParseRfc3339("1994-11-06T09:49:37.5+01:00") == 784111777'500'000'000);
  CHECK(ParseRfc3339("1994-11-06T07:49:37-01:00") == 784111777'000'000'000);
  CHECK(ParseRfc3339(FormatRfc3339(1'700'000'000'123'000'000)) == 1'700'000'000'123'000'000);
  for (const char* bad :
       {"", "1994-11-06", "1994-11-06T08:49Z", "1994-11-06T08:49:37", "1994-13-06T08:49:37Z",
        "1994-02-30T08:49:37Z", "1994-11-06T08:49:37.Z", "1994-11-06T08:49:37Zjunk", "12"}) {
    INFO(bad);
    CHECK_FALSE(ParseRfc3339(bad).has_value());
  }
}

}  // namespace kvs::format
