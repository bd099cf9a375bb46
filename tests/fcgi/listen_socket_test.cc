// The listening sockets: which of systemd's variables make a socket this
// process's. The socket itself, passed by systemd-socket-activate, is served
// through nginx in tests/integration/nginx_test.cc; the refusals at start
// are in tests/integration/program_test.cc.
#include "fcgi/listen_socket.h"

#include <catch2/catch.hpp>

namespace kvs::server {

TEST_CASE("systemd's sockets count only for the process LISTEN_PID names") {
  CHECK(SystemdSocketCount("1234", "1", 1234).value() == 1);
  CHECK(SystemdSocketCount("1234", "2", 1234).value() == 2);
  CHECK(SystemdSocketCount("1234", "0", 1234).value() == 0);
  // Meant for another process (a parent that left them in the environment).
  CHECK(SystemdSocketCount("1233", "1", 1234).value() == 0);
  CHECK(SystemdSocketCount("", "1", 1234).value() == 0);
  CHECK(SystemdSocketCount("1234x", "1", 1234).value() == 0);
  // Not socket-activated at all.
  CHECK(SystemdSocketCount(nullptr, "1", 1234).value() == 0);
  CHECK(SystemdSocketCount("1234", nullptr, 1234).value() == 0);
}

TEST_CASE("a LISTEN_FDS for this process that is not a count is an error") {
  for (const char* bad : {"", "one", "1 ", "-1", "99999999999"}) {
    INFO("LISTEN_FDS=" << bad);
    auto count = SystemdSocketCount("1234", bad, 1234);
    REQUIRE_FALSE(count.ok());
    CHECK_THAT(count.status().message(), Catch::Contains("LISTEN_FDS"));
  }
}

}  // namespace kvs::server
