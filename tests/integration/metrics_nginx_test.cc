// GET /_metrics through nginx: the counts of what was asked, valid by
// Prometheus's own linter (promtool), and scraped by a real Prometheus that
// then answers a query for a kvs metric.
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/harness/child_process.h"
#include "tests/harness/server_stack.h"

namespace kvs::server::test {
namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";
constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kPromtool = "/usr/bin/promtool";

std::string Metrics(const ServerStack& stack) {
  httplib::Response res = Answer(stack.Client()->Get("/_metrics", BearerHeaders()), stack);
  REQUIRE(res.status == 200);
  CHECK(res.get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  return res.body;
}

// A stack whose reads need the secret, after a few requests of several faces.
StackOptions SecretReads() {
  StackOptions options;
  options.extra_config += "read_access: secret\n";
  return options;
}

void MakeRequests(const ServerStack& stack) {
  auto http = stack.Client();
  for (int i = 0; i < 3; ++i) {
    CHECK(Answer(http->Post("/", AuthField() + "&k=v" + std::to_string(i), kForm), stack).status ==
          200);
  }
  CHECK(Answer(http->Get("/_heads/k", BearerHeaders()), stack).status == 200);
  CHECK(Answer(http->Get("/_nothing", BearerHeaders()), stack).status == 404);
}

}  // namespace

TEST_CASE("through nginx, metrics count requests by face, route and status") {
  ServerStack stack(SecretReads());
  MakeRequests(stack);
  CHECK(Answer(stack.Client()->Get("/_metrics"), stack).status == 403);  // reads need the secret

  const std::string metrics = Metrics(stack);
  INFO(metrics);
  CHECK_THAT(metrics, Catch::Contains("# TYPE kvs_http_requests_total counter\n"));
  CHECK_THAT(metrics, Catch::Contains("kvs_http_requests_total{face=\"classic\",route=\"/\","
                                      "method=\"POST\",code=\"200\"} 3\n"));
  CHECK_THAT(metrics, Catch::Contains("kvs_http_requests_total{face=\"history\",route=\"/_heads/"
                                      "KEY\",method=\"GET\",code=\"200\"} 1\n"));
  CHECK_THAT(metrics, Catch::Contains("kvs_http_requests_total{face=\"none\",route=\"\","
                                      "method=\"GET\",code=\"404\"} 1\n"));
  CHECK_THAT(metrics, Catch::Contains("kvs_http_requests_total{face=\"admin\",route=\"/_metrics\","
                                      "method=\"GET\",code=\"403\"} 1\n"));
  CHECK_THAT(metrics, Catch::Contains("kvs_http_request_duration_seconds_bucket{face=\"classic\","
                                      "le=\"+Inf\"} 3\n"));
  CHECK_THAT(metrics,
             Catch::Contains("kvs_http_request_duration_seconds_count{face=\"classic\"} 3\n"));
  CHECK_THAT(metrics, Catch::Contains("\nkvs_store_revision 3\n"));
  CHECK_THAT(metrics, Catch::Contains("\nkvs_store_data_bytes "));
  CHECK_THAT(metrics, Catch::Contains("\nkvs_store_garbage_bytes "));
  CHECK_THAT(metrics, Catch::Contains("\nkvs_store_garbage_ratio "));
  CHECK_THAT(metrics, Catch::Contains("\nkvs_store_compacted_bytes 0\n"));
  // The three writes, each its own group commit (one at a time); the test
  // servers run with sync: none, so no sync was timed.
  CHECK_THAT(metrics,
             Catch::Contains("\nkvs_store_group_commit_transactions_bucket{le=\"1\"} 3\n"));
  CHECK_THAT(metrics, Catch::Contains("\nkvs_store_group_commit_transactions_sum 3\n"));
  CHECK_THAT(metrics, Catch::Contains("\nkvs_store_sync_duration_seconds_count 0\n"));
  CHECK_THAT(metrics, Catch::Contains("\nkvs_process_start_time_seconds "));
  CHECK_THAT(metrics, Catch::Contains("\nkvs_compactions_total 0\n"));

  CHECK(
      Answer(stack.Client()->Post("/_compact", BearerHeaders(), "", "text/plain"), stack).status ==
      200);
  const std::string after = Metrics(stack);
  CHECK_THAT(after, Catch::Contains("\nkvs_compactions_total 1\n"));
  CHECK_THAT(after, Catch::Contains("\nkvs_compaction_freed_bytes_total "));

  // Prometheus's linter: names, types, HELP lines and the format.
  const std::string file = stack.dir() + "/metrics.txt";
  WriteFile(file, metrics);
  ProgramRun lint =
      RunProgram({"/bin/sh", "-c", std::string(kPromtool) + " check metrics <" + file}, "");
  INFO(lint.output << lint.log);
  CHECK(lint.exit_code == 0);
  CHECK(lint.output + lint.log == "");
}

TEST_CASE("through nginx, a real Prometheus scrapes kvs and answers a query for its metrics") {
  ServerStack stack(SecretReads());
  MakeRequests(stack);
  const int port = FreePort();
  const std::string dir = stack.dir();
  WriteFile(dir + "/prometheus.yml",
            "global:\n"
            "  scrape_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: kvs\n"
            "    metrics_path: /_metrics\n"
            "    authorization:\n"
            "      credentials_file: " +
                dir +
                "/auth.txt\n"
                "    static_configs:\n"
                "      - targets: ['127.0.0.1:" +
                std::to_string(stack.port()) + "']\n");
  ChildProcess prometheus({kPrometheus, "--config.file=" + dir + "/prometheus.yml",
                           "--storage.tsdb.path=" + dir + "/prometheus-data",
                           "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                          dir + "/prometheus.log");
  auto client = LoopbackClient(port);
  // Prometheus starts, scrapes every second, and a sample is queryable once
  // scraped: asked until it is, for at most a minute.
  nlohmann::json result;
  for (int i = 0; i < 120 && result.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto res = client->Get(
        "/api/v1/"
        "query?query=kvs_http_requests_total%7Bface%3D%22classic%22%2Cmethod%3D%22POST%22%7D");
    if (!res || res->status != 200) continue;
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    if (body.is_object() && body["status"] == "success") result = body["data"]["result"];
  }
  INFO(ReadFile(dir + "/prometheus.log"));
  REQUIRE(result.size() == 1);
  CHECK(result[0]["metric"]["job"] == "kvs");
  CHECK(result[0]["metric"]["route"] == "/");
  CHECK(result[0]["metric"]["code"] == "200");
  CHECK(result[0]["value"][1] == "3");
  CHECK(prometheus.Stop() != -1);
}

}  // namespace kvs::server::test
