// Helpers for handler tests without a web server: a Service on a fresh store
// in a temporary directory, and abstract requests built in one line.
#ifndef KVS_TESTS_HARNESS_SERVICE_FIXTURE_H_
#define KVS_TESTS_HARNESS_SERVICE_FIXTURE_H_

#include <memory>
#include <string>

#include "config/config.h"
#include "http/request.h"
#include "http/service.h"
#include "tests/store/test_util.h"

namespace kvs::server::test {

// The secret the tests configure unless told otherwise.
inline constexpr const char* kTestSecret = "correct horse battery staple";

// "auth=" and the test secret, percent-encoded: the form field of a post.
std::string AuthField();

// Every byte value from 0 to 255 once, in order.
std::string AllBytes();

// A started Service whose store lives in a temporary directory.
class ServiceFixture {
 public:
  // secret: the auth_file's first line; nullopt: no auth_file at all.
  explicit ServiceFixture(std::optional<std::string> secret = std::string(kTestSecret),
                          Limits limits = Limits(), ReadAccess read_access = ReadAccess::kPublic);
  Service& service() { return *service_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  kvs::test::TempDir dir_;
  std::unique_ptr<Service> service_;
};

// GET / with the given raw query string.
Request GetRequest(std::string query);
// POST / with the given Content-Type, body and raw query string.
Request PostRequest(std::string content_type, std::string body, std::string query = "");
// POST / of an urlencoded form body.
Request PostForm(std::string body, std::string query = "");

}  // namespace kvs::server::test

#endif  // KVS_TESTS_HARNESS_SERVICE_FIXTURE_H_
