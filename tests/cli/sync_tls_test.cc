// kvs push and pull to an https:// server, as a server behind a TLS front
// is reached: a real nginx terminating TLS with a certificate made for the
// test, in front of kvs-fcgi behind its own nginx. The certificate is only
// trusted where SSL_CERT_FILE names it, so the same push also shows what a
// certificate the client cannot trust, or one for another name, is told.
#include <catch2/catch.hpp>

#include "tests/cli/kvs_runner.h"
#include "tests/harness/child_process.h"
#include "tests/harness/server_stack.h"
#include "tests/store/test_util.h"

namespace kvs::cli::test {
namespace {

using server::test::ChildProcess;
using server::test::ServerStack;

// nginx on 127.0.0.1 terminating TLS with cert and key, passing every
// request on to the server on target_port.
std::unique_ptr<ChildProcess> StartTlsFront(const std::string& dir, const std::string& cert,
                                            const std::string& key, int target_port, int* port) {
  const std::string conf =
      "error_log error.log warn;\n"
      "events {}\n"
      "http {\n"
      "  access_log off;\n"
      "  client_body_temp_path client_body_temp;\n"
      "  fastcgi_temp_path fastcgi_temp;\n"
      "  proxy_temp_path proxy_temp;\n"
      "  uwsgi_temp_path uwsgi_temp;\n"
      "  scgi_temp_path scgi_temp;\n"
      "  client_max_body_size 1m;\n"
      "  server {\n"
      "    listen @LISTEN@ ssl;\n"
      "    ssl_certificate " +
      cert +
      ";\n"
      "    ssl_certificate_key " +
      key +
      ";\n"
      "    location / { proxy_pass http://127.0.0.1:" +
      std::to_string(target_port) +
      "; }\n"
      "  }\n"
      "}\n";
  return server::test::StartNginx(dir, conf, port);
}

}  // namespace

TEST_CASE("kvs push and pull reach an https:// server whose certificate they trust") {
  ServerStack stack;
  kvs::test::TempDir scratch;
  const std::string cert = scratch.Sub("cert.pem"), key = scratch.Sub("key.pem");
  const ProgramRun made = server::test::RunProgram(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
      "");
  INFO(made.log);
  REQUIRE(made.exit_code == 0);
  const std::string front_dir = scratch.Sub("front");
  std::filesystem::create_directories(front_dir);
  int port = 0;
  auto front = StartTlsFront(front_dir, cert, key, stack.port(), &port);
  const std::string url = "https://127.0.0.1:" + std::to_string(port);
  const std::string secret = stack.dir() + "/auth.txt";
  const std::string local = scratch.Sub("local");
  MustKvs(local, {"put", "greeting", "hello over TLS"});

  SECTION("trusted, it pushes and pulls") {
    const std::map<std::string, std::string> trusting = {{"SSL_CERT_FILE", cert}};
    ProgramRun push = RunKvs({"-d", local, "push", url, "--secret-file", secret}, "", trusting);
    INFO(push.log);
    REQUIRE(push.exit_code == 0);
    auto answer = stack.Client()->Get("/?k=greeting");
    REQUIRE(answer);
    CHECK(answer->body == "hello over TLS");

    const std::string copy = scratch.Sub("copy");
    ProgramRun pull = RunKvs({"-d", copy, "pull", url, "--secret-file", secret}, "", trusting);
    INFO(pull.log);
    REQUIRE(pull.exit_code == 0);
    CHECK(MustKvs(copy, {"get-key", "greeting"}) == "hello over TLS");
  }
  SECTION("not trusted, or for another name, nothing is sent") {
    ProgramRun push = RunKvs({"-d", local, "push", url, "--secret-file", secret});
    CHECK(push.exit_code == 1);
    CHECK(push.log == "kvs: cannot reach " + url +
                          ": its certificate was not accepted: self-signed certificate\n");

    // localhost is 127.0.0.1, but the certificate names only the address.
    const std::string by_name = "https://localhost:" + std::to_string(port);
    push = RunKvs({"-d", local, "push", by_name, "--secret-file", secret}, "",
                  {{"SSL_CERT_FILE", cert}});
    CHECK(push.exit_code == 1);
    CHECK(push.log == "kvs: cannot reach " + by_name +
                          ": its certificate was not accepted: hostname mismatch\n");
    CHECK(stack.Client()->Get("/?k=greeting")->status == 404);
  }
}

}  // namespace kvs::cli::test
