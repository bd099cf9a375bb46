// An upgrade as a server lives it: a store that an earlier kvs wrote
// (tests/store/data) is served by today's kvs-fcgi through a real nginx. It
// must read as it did, take writes, count its garbage on from what it
// estimates for the old blocks, and compact.
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "http/form.h"
#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

// The value of a gauge in GET /_metrics.
double Gauge(const ServerStack& stack, const std::string& name) {
  httplib::Response res = Answer(stack.Client()->Get("/_metrics", BearerHeaders()), stack);
  REQUIRE(res.status == 200);
  std::istringstream lines(res.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  FAIL("no " << name << " in /_metrics:\n" << res.body);
  return 0;
}

void PostForm(const ServerStack& stack, const std::string& key, const std::string& value) {
  const std::string body =
      "auth=" + PercentEncode(kTestSecret) + "&" + key + "=" + PercentEncode(value);
  httplib::Response res = Answer(
      stack.Client()->Post("/", body, "application/x-www-form-urlencoded"), stack);
  INFO(res.body);
  REQUIRE(res.status == 200);
}

}  // namespace

TEST_CASE("a store written by kvs 0.1 is served after an upgrade and counts its garbage on") {
  ServerStack stack;
  stack.StopKvs();
  const std::string data = stack.dir() + "/kvs-data";
  std::filesystem::remove_all(data);
  std::filesystem::copy(std::string(KVS_TEST_DATA_DIR) + "/store-0.1", data,
                        std::filesystem::copy_options::recursive);
  stack.RestartKvs();

  // Every face reads what kvs 0.1 wrote, history and branches included.
  httplib::Response classic = Answer(stack.Client()->Get("/?k=counter"), stack);
  CHECK(classic.status == 200);
  CHECK(classic.body == "59");
  CHECK(MustGetJson(stack, "/counter?at=1")[0] == "0");
  CHECK(MustGetJson(stack, "/note/draft")[0] == "draft note");

  // Its blocks carry no garbage count: the server estimates it, then
  // counts on from there with every write.
  const double estimated = Gauge(stack, "kvs_store_garbage_bytes");
  CHECK(estimated > 0);
  for (int i = 0; i < 20; ++i) PostForm(stack, "counter", std::to_string(100 + i));
  CHECK(Gauge(stack, "kvs_store_garbage_bytes") > estimated);

  httplib::Response compacted =
      Answer(stack.Client()->Post("/_compact", BearerHeaders(), "", "text/plain"), stack);
  INFO(compacted.body);
  CHECK(compacted.status == 200);
  CHECK(Gauge(stack, "kvs_store_garbage_bytes") == 0);
  CHECK(Answer(stack.Client()->Get("/?k=counter"), stack).body == "119");
  CHECK(MustGetJson(stack, "/counter?at=1")[0] == "0");
  auto check = OpenServedStore(stack)->Check();
  REQUIRE(check.ok());
  CHECK(check->ok());
}

}  // namespace kvs::server::test
