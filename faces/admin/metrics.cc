// GET /_metrics (faces/admin/metrics.h).
#include "faces/admin/metrics.h"

#include <variant>

#include "common/time.h"

namespace kvs::server {
namespace {

// A family of one sample, without labels.
void Single(std::string* out, const char* name, const char* type, const char* help, double value) {
  AppendMetricHeader(out, name, type, help);
  *out += std::string(name) + " " + MetricValue(value) + "\n";
}

void StoreMetrics(std::string* out, Store& store) {
  if (auto revision = store.Revision(); revision.ok()) {
    Single(out, "kvs_store_revision", "gauge", "The store's newest revision.",
           static_cast<double>(*revision));
  }
  auto space = store.Space();
  if (!space.ok()) return;
  Single(out, "kvs_store_data_bytes", "gauge", "The size of the store's live data file, in bytes.",
         static_cast<double>(space->data_bytes));
  Single(out, "kvs_store_garbage_bytes", "gauge",
         "The bytes of the data file a compaction keeping all history would free.",
         static_cast<double>(space->garbage_bytes));
  Single(out, "kvs_store_garbage_ratio", "gauge",
         "kvs_store_garbage_bytes as a share of kvs_store_data_bytes.", space->garbage_ratio());
  Single(out, "kvs_store_compacted_bytes", "gauge",
         "The part of the data file the last compaction wrote (0: never compacted).",
         static_cast<double>(space->compacted_bytes));
}

void GroupCommitMetrics(std::string* out, Store& store) {
  const GroupCommitStats g = store.GroupCommits();
  AppendMetricHeader(out, "kvs_store_group_commit_transactions", "histogram",
                     "Transactions per group commit (one write and one sync for all of them).");
  AppendHistogram(out, "kvs_store_group_commit_transactions", "", g.kGroupBounds, g.group_buckets,
                  g.groups, static_cast<double>(g.transactions));
  AppendMetricHeader(out, "kvs_store_sync_duration_seconds", "histogram",
                     "How long the group commits' syncs of the data file took.");
  AppendHistogram(out, "kvs_store_sync_duration_seconds", "", g.kSyncBounds, g.sync_buckets,
                  g.syncs, g.sync_seconds);
}

void ReplicationMetrics(std::string* out, const replication::StatusBoard& board) {
  const std::vector<replication::PeerStatus> peers = board.Peers();
  const int64_t now = common::WallClockNs();
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
       [now](const replication::PeerStatus& p) { return p.LagSeconds(now); }},
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
    AppendMetricHeader(out, f.name, f.type, f.help);
    for (const replication::PeerStatus& p : peers) {
      std::optional<double> value = f.value(p);
      if (!value) continue;
      *out += std::string(f.name) + "{peer=";
      AppendLabelValue(out, p.url);
      *out += "} " + MetricValue(*value) + "\n";
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
  GroupCommitMetrics(&out, *service.store);
  Single(&out, "kvs_compactions_total", "counter",
         "Compactions this process ran (POST /_compact, the size bound's and the automatic ones).",
         static_cast<double>(service.compactions.load()));
  Single(&out, "kvs_compaction_freed_bytes_total", "counter", "Bytes those compactions freed.",
         static_cast<double>(service.compaction_freed_bytes.load()));
  if (service.replication) ReplicationMetrics(&out, *service.replication);
  Single(&out, "kvs_process_start_time_seconds", "gauge",
         "When this kvs-fcgi process started, in seconds since 1970.",
         static_cast<double>(service.started_ns) / 1e9);
  Response response = ContentResponse("text/plain; version=0.0.4; charset=utf-8", std::move(out));
  response.headers.Set("Cache-Control", "no-store");
  return response;
}

}  // namespace kvs::server
