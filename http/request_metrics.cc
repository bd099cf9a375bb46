// Request counts and latencies in Prometheus's text format
// (http/request_metrics.h).
#include "http/request_metrics.h"

#include <algorithm>
#include <cstdio>

namespace kvs::server {
namespace {

std::string_view KnownMethod(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE"}) {
    if (method == known) return known;
  }
  return "other";
}

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

}  // namespace

void AppendLabelValue(std::string* out, std::string_view value) {
  out->push_back('"');
  for (char c : value) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '"') {
      *out += "\\\"";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void RequestMetrics::Record(std::string_view face, std::string_view route, std::string_view method,
                            int status, double seconds) {
  const size_t bucket =
      std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin();
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{std::string(face), std::string(route), std::string(KnownMethod(method)), status}];
  Histogram& h = latency_[std::string(face)];
  if (bucket < kBuckets.size()) ++h.buckets[bucket];
  ++h.count;
  h.sum += seconds;
}

void RequestMetrics::Write(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  *out +=
      "# HELP kvs_http_requests_total Requests answered, by face, route (the route table's "
      "pattern), method and status code.\n"
      "# TYPE kvs_http_requests_total counter\n";
  for (const auto& [labels, n] : requests_) {
    const auto& [face, route, method, status] = labels;
    *out += "kvs_http_requests_total{face=";
    AppendLabelValue(out, face);
    *out += ",route=";
    AppendLabelValue(out, route);
    *out += ",method=";
    AppendLabelValue(out, method);
    *out += ",code=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  *out +=
      "# HELP kvs_http_request_duration_seconds Time from a request's arrival in kvs-fcgi to "
      "its answer, by face.\n"
      "# TYPE kvs_http_request_duration_seconds histogram\n";
  for (const auto& [face, h] : latency_) {
    std::string labels = "{face=";
    AppendLabelValue(&labels, face);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      *out += "kvs_http_request_duration_seconds_bucket" + labels + ",le=\"" + Number(kBuckets[i]) +
              "\"} " + std::to_string(cumulative) + "\n";
    }
    *out += "kvs_http_request_duration_seconds_bucket" + labels + ",le=\"+Inf\"} " +
            std::to_string(h.count) + "\n";
    *out += "kvs_http_request_duration_seconds_sum" + labels + "} " + Number(h.sum) + "\n";
    *out +=
        "kvs_http_request_duration_seconds_count" + labels + "} " + std::to_string(h.count) + "\n";
  }
}

}  // namespace kvs::server
