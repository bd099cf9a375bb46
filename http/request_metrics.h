// What the server counts of its requests, for GET /_metrics
// (faces/admin/metrics.h): how many, by face, route, method and status, and
// how long they took, by face. One per process (Service::metrics); every
// worker thread records into it.
#ifndef KVS_HTTP_REQUEST_METRICS_H_
#define KVS_HTTP_REQUEST_METRICS_H_

#include <array>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

namespace kvs::server {

class RequestMetrics {
 public:
  // The upper bounds of the latency histogram's buckets, in seconds.
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  // One answered request. route is the route table's pattern ("/_heads/KEY"),
  // or "" when no route matched; method is any the client sent (others than
  // GET, HEAD, POST, PUT and DELETE count as "other").
  void Record(std::string_view face, std::string_view route, std::string_view method, int status,
              double seconds);
  // Appends them in Prometheus's text format: kvs_http_requests_total and
  // kvs_http_request_duration_seconds, with HELP and TYPE lines.
  void Write(std::string* out) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};  // each counts its own bucket only
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  // (face, route, method, status) -> requests. Guarded by mu_.
  std::map<std::tuple<std::string, std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;  // by face; guarded by mu_
};

// Pieces of Prometheus's text format, for every metric kvs-fcgi shows:
// a family's "# HELP" and "# TYPE" lines; a label value (text with \, " and
// newlines escaped, in quotes); a sample's value.
void AppendMetricHeader(std::string* out, std::string_view name, std::string_view type,
                        std::string_view help);
void AppendLabelValue(std::string* out, std::string_view value);
std::string MetricValue(double value);
// A histogram's samples (not its header): name_bucket for each bound and
// +Inf, name_sum and name_count. buckets[i] counts the observations above
// bounds[i - 1] and at most bounds[i]; count includes those above every
// bound. labels: "" or the series' labels without braces (face="rest").
void AppendHistogram(std::string* out, std::string_view name, std::string_view labels,
                     std::span<const double> bounds, std::span<const uint64_t> buckets,
                     uint64_t count, double sum);

}  // namespace kvs::server

#endif  // KVS_HTTP_REQUEST_METRICS_H_
