// GET /_metrics (faces/admin/metrics.h).
#include "faces/admin/metrics.h"

#include <chrono>
#include <cstdio>
#include <variant>

namespace kvs::server {
namespace {

// "# HELP" and "# TYPE" lines, then name's one sample.
void Gauge(std::string* out, const char* name, const char* help, double value) {
  char number[32];
  std::snprintf(number, sizeof number, "%.17g", value);
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name +
          " " + number + "\n";
}

// A counter's HELP, TYPE and one sample.
void Counter(std::string* out, const char* name, const char* help, uint64_t value) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
          " " + std::to_string(value) + "\n";
}

void StoreMetrics(std::string* out, Store& store) {
  if (auto revision = store.Revision(); revision.ok()) {
    Gauge(out, "kvs_store_revision", "The store's newest revision.",
          static_cast<double>(*revision));
  }
  if (auto bytes = store.DataBytes(); bytes.ok()) {
    Gauge(out, "kvs_store_data_bytes", "The size of the store's live data file, in bytes.",
          static_cast<double>(*bytes));
  }
}

void ReplicationMetrics(std::string* out, const replication::StatusBoard& board) {
  const std::vector<replication::PeerStatus> peers = board.Peers();
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    std::function<std::optional<double>(const replication::PeerStatus&)> value;
  };
  const Family families[] = {
      {"kvs_replication_peer_up", "gauge",
       "1 when the peer's last replication succeeded, 0 when it failed or none ran yet.",
       [](const replication::PeerStatus& p) -> std::optional<double> {
         return p.last_success_ns != 0 && p.failures == 0 ? 1 : 0;
       }},
      {"kvs_replication_peer_lag_seconds", "gauge",
       "Seconds since the peer was last up to date (since the first attempt, before one).",
       [now](const replication::PeerStatus& p) -> std::optional<double> {
         const int64_t since = p.last_success_ns != 0 ? p.last_success_ns : p.last_attempt_ns;
         if (since == 0) return std::nullopt;
         return static_cast<double>(now - since) / 1e9;
       }},
      {"kvs_replication_peer_failures", "gauge", "Failed replications in a row.",
       [](const replication::PeerStatus& p) -> std::optional<double> {
         return static_cast<double>(p.failures);
       }},
      {"kvs_replication_versions_received_total", "counter",
       "Versions received from the peer since the server started.",
       [](const replication::PeerStatus& p) -> std::optional<double> {
         return static_cast<double>(p.versions_received);
       }},
      {"kvs_replication_versions_sent_total", "counter",
       "Versions sent to the peer since the server started.",
       [](const replication::PeerStatus& p) -> std::optional<double> {
         return static_cast<double>(p.versions_sent);
       }},
  };
  for (const Family& f : families) {
    *out +=
        std::string("# HELP ") + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n";
    for (const replication::PeerStatus& p : peers) {
      std::optional<double> value = f.value(p);
      if (!value) continue;
      char number[32];
      std::snprintf(number, sizeof number, "%.17g", *value);
      *out += std::string(f.name) + "{peer=";
      AppendLabelValue(out, p.url);
      *out += "} " + std::string(number) + "\n";
    }
  }
}

}  // namespace

Response GetMetrics(const Request& request, Service& service) {
  auto query = ReadQuery(request, service, {});
  if (auto* refused = std::get_if<HttpError>(&query)) return JsonError(*refused);
  std::string out;
  service.metrics.Write(&out);
  StoreMetrics(&out, *service.store);
  Counter(&out, "kvs_compactions_total",
          "Compactions this process ran (POST /_compact and the size bound's).",
          service.compactions.load());
  Counter(&out, "kvs_compaction_freed_bytes_total", "Bytes those compactions freed.",
          service.compaction_freed_bytes.load());
  if (service.replication) ReplicationMetrics(&out, *service.replication);
  Gauge(&out, "kvs_process_start_time_seconds",
        "When this kvs-fcgi process started, in seconds since 1970.",
        static_cast<double>(service.started_ns) / 1e9);
  Response response = ContentResponse("text/plain; version=0.0.4; charset=utf-8", std::move(out));
  response.headers.Set("Cache-Control", "no-store");
  return response;
}

}  // namespace kvs::server
