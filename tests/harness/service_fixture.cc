#include "tests/harness/service_fixture.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "http/form.h"

namespace kvs::server::test {

std::string AuthField() { return "auth=" + PercentEncode(kTestSecret); }

std::string AllBytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  return bytes;
}

ServiceFixture::ServiceFixture(std::optional<std::string> secret, Limits limits,
                               ReadAccess read_access) {
  Config config;
  config.path = dir_.Sub("kvs.yaml");
  config.data_dir = dir_.Sub("kvs-data");
  config.sync = SyncMode::kNone;
  config.read_access = read_access;
  config.limits = limits;
  if (secret) {
    config.auth_file = dir_.Sub("auth.txt");
    std::ofstream(*config.auth_file) << *secret << "\n";
  }
  auto service = StartService(config);
  INFO(service.status().ToString());
  REQUIRE(service.ok());
  service_ = std::move(service).value();
}

Request GetRequest(std::string query) {
  Request request;
  request.method = "GET";
  request.path_info = "/";
  request.query_string = std::move(query);
  return request;
}

Request PostRequest(std::string content_type, std::string body, std::string query) {
  Request request;
  request.method = "POST";
  request.path_info = "/";
  request.query_string = std::move(query);
  request.headers.Set("Content-Type", std::move(content_type));
  request.headers.Set("Content-Length", std::to_string(body.size()));
  request.body = std::move(body);
  return request;
}

Request PostForm(std::string body, std::string query) {
  return PostRequest("application/x-www-form-urlencoded", std::move(body), std::move(query));
}

}  // namespace kvs::server::test
