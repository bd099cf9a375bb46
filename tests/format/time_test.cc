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

}  // namespace kvs::format
