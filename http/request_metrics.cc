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

}  // namespace

void AppendMetricHeader(std::string* out, std::string_view name, std::string_view type,
                        std::string_view help) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
}

std::string MetricValue(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

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
  AppendMetricHeader(out, "kvs_http_requests_total", "counter",
                     "Requests answered, by face, route (the route table's pattern), method and "
                     "status code.");
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
  AppendMetricHeader(out, "kvs_http_request_duration_seconds", "histogram",
                     "Time from a request's arrival in kvs-fcgi to its answer, by face.");
  for (const auto& [face, h] : latency_) {
    std::string labels = "face=";
    AppendLabelValue(&labels, face);
    AppendHistogram(out, "kvs_http_request_duration_seconds", labels, kBuckets, h.buckets, h.count,
                    h.sum);
  }
}

void AppendHistogram(std::string* out, std::string_view name, std::string_view labels,
                     std::span<const double> bounds, std::span<const uint64_t> buckets,
                     uint64_t count, double sum) {
  const std::string series(name);
  const std::string le = labels.empty() ? "{le=\"" : "{" + std::string(labels) + ",le=\"";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += buckets[i];
    *out += series + "_bucket" + le + MetricValue(bounds[i]) + "\"} " + std::to_string(cumulative) +
            "\n";
  }
  *out += series + "_bucket" + le + "+Inf\"} " + std::to_string(count) + "\n";
  const std::string braced = labels.empty() ? "" : "{" + std::string(labels) + "}";
  *out += series + "_sum" + braced + " " + MetricValue(sum) + "\n";
  *out += series + "_count" + braced + " " + std::to_string(count) + "\n";
}

}  // namespace kvs::server
