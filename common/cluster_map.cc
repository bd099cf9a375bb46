#include "common/cluster_map.h"

#include <algorithm>
#include <set>

namespace kvs::common {
namespace {

bool IsHostPort(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == address.size()) return false;
  const std::string_view port = address.substr(colon + 1);
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const std::string_view host = address.substr(0, colon);
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '-' || c == '[' || c == ']' || c == ':';
  });
}

// "12.34%" for 1234 hundredths, as split_clients reads it.
std::string Percent(uint32_t hundredths) {
  std::string cents = std::to_string(hundredths % 100);
  if (cents.size() < 2) cents.insert(0, "0");
  return std::to_string(hundredths / 100) + "." + cents + "%";
}

}  // namespace

uint32_t MurmurHash2(std::string_view data) {
  constexpr uint32_t kMultiplier = 0x5bd1e995;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t len = data.size();
  uint32_t h = static_cast<uint32_t>(len);
  while (len >= 4) {
    uint32_t k = p[0] | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
    k *= kMultiplier;
    k ^= k >> 24;
    k *= kMultiplier;
    h *= kMultiplier;
    h ^= k;
    p += 4;
    len -= 4;
  }
  switch (len) {
    case 3:
      h ^= uint32_t{p[2]} << 16;
      [[fallthrough]];
    case 2:
      h ^= uint32_t{p[1]} << 8;
      [[fallthrough]];
    case 1:
      h ^= p[0];
      h *= kMultiplier;
  }
  h ^= h >> 13;
  h *= kMultiplier;
  h ^= h >> 15;
  return h;
}

Result<ClusterMap> ClusterMap::FromView(const std::vector<std::string>& view, size_t repl_factor) {
  if (view.empty()) return Status::InvalidArgument("the view names no node");
  std::set<std::string> seen;
  for (const std::string& node : view) {
    if (!IsHostPort(node)) {
      return Status::InvalidArgument("'" + node + "' in the view is not an address host:port");
    }
    if (!seen.insert(node).second) {
      return Status::InvalidArgument("the view names " + node + " twice");
    }
  }
  if (repl_factor == 0 || repl_factor > view.size()) {
    return Status::InvalidArgument("the replication factor must be from 1 to the view's " +
                                   std::to_string(view.size()) + " nodes");
  }
  ClusterMap map;
  map.view_ = view;
  map.repl_factor_ = repl_factor;
  const size_t shard_count = view.size() / repl_factor;
  map.shards_.resize(shard_count);
  for (size_t s = 0; s < shard_count; ++s) map.shards_[s].id = std::to_string(s + 1);
  for (size_t i = 0; i < view.size(); ++i) map.shards_[i % shard_count].replicas.push_back(view[i]);
  // Equal runs, in shard order.
  uint32_t start = 0;
  for (size_t s = 0; s < shard_count; ++s) {
    const auto end = static_cast<uint32_t>((s + 1) * kClusterSlots / shard_count);
    map.parts_.push_back({end - start, s});
    start = end;
  }
  uint32_t last = 0;
  for (size_t i = 0; i < map.parts_.size(); ++i) {
    if (i + 1 == map.parts_.size()) {
      map.bounds_.push_back(0);
      break;
    }
    last += static_cast<uint32_t>(map.parts_[i].slots * uint64_t{0xffffffff} / kClusterSlots);
    map.bounds_.push_back(last);
  }
  return map;
}

size_t ClusterMap::ShardOfKey(std::string_view key) const {
  const uint32_t hash = MurmurHash2(key);
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (bounds_[i] == 0 || hash < bounds_[i]) return parts_[i].shard;
  }
  return parts_.back().shard;
}

std::optional<size_t> ClusterMap::ShardOfNode(std::string_view address) const {
  for (size_t s = 0; s < shards_.size(); ++s) {
    const auto& replicas = shards_[s].replicas;
    if (std::find(replicas.begin(), replicas.end(), address) != replicas.end()) return s;
  }
  return std::nullopt;
}

std::string ClusterMap::NginxConf(const std::string& listen) const {
  std::string view;
  for (const std::string& node : view_) view += (view.empty() ? "" : ",") + node;
  std::string conf =
      "# The front of a kvs cluster, written by `kvs cluster nginx-conf` for the view\n"
      "# " +
      view + " with replication factor " + std::to_string(repl_factor_) +
      ".\n"
      "# Each /kv-store/keys/KEY request goes to a replica of the shard that owns KEY:\n"
      "# split_clients below hashes the key exactly as every kvs node does, so a\n"
      "# request arrives where it is served, with no hop. Everything else goes to any\n"
      "# node. Run it with everything in one directory DIR:\n"
      "#   nginx -p DIR/ -c DIR/nginx.conf -e DIR/error.log\n"
      "worker_processes auto;\n"
      "error_log error.log warn;\n"
      "events {\n"
      "    worker_connections 4096;\n"
      "}\n"
      "http {\n"
      "    access_log access.log;\n"
      "    client_body_temp_path client_body_temp;\n"
      "    proxy_temp_path proxy_temp;\n"
      "    fastcgi_temp_path fastcgi_temp;\n"
      "    uwsgi_temp_path uwsgi_temp;\n"
      "    scgi_temp_path scgi_temp;\n"
      "    server_tokens off;\n"
      "    client_max_body_size 16m;\n"
      "    # The key: the decoded path below /kv-store/keys/, as kvs reads it.\n"
      "    map $uri $kvs_cluster_key {\n"
      "        \"~(?s)^/kv-store/keys/(.*)$\" $1;\n"
      "        default \"\";\n"
      "    }\n"
      "    split_clients \"${kvs_cluster_key}\" $kvs_cluster_shard {\n";
  for (size_t i = 0; i < parts_.size(); ++i) {
    const bool last = i + 1 == parts_.size();
    conf += "        " + (last ? std::string("*") : Percent(parts_[i].slots)) + " kvs_shard_" +
            shards_[parts_[i].shard].id + ";\n";
  }
  conf += "    }\n";
  auto upstream = [](const std::string& name, const std::vector<std::string>& servers) {
    std::string text = "    upstream " + name + " {\n";
    for (const std::string& server : servers) text += "        server " + server + ";\n";
    return text + "        keepalive 16;\n    }\n";
  };
  for (const ClusterShard& shard : shards_)
    conf += upstream("kvs_shard_" + shard.id, shard.replicas);
  conf += upstream("kvs_cluster_any", view_);
  conf +=
      "    server {\n"
      "        listen " +
      listen +
      ";\n"
      "        # A key may hold \"//\": merged, the path would name another key.\n"
      "        merge_slashes off;\n"
      "        proxy_http_version 1.1;\n"
      "        proxy_set_header Connection \"\";\n"
      "        location /kv-store/keys/ {\n"
      "            proxy_pass http://$kvs_cluster_shard;\n"
      "        }\n"
      "        location / {\n"
      "            proxy_pass http://kvs_cluster_any;\n"
      "        }\n"
      "    }\n"
      "}\n";
  return conf;
}

}  // namespace kvs::common
