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

std::vector<std::string> SplitView(std::string_view list) {
  std::vector<std::string> view;
  for (size_t start = 0; start <= list.size();) {
    const size_t comma = std::min(list.find(',', start), list.size());
    view.emplace_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return view;
}

Result<ClusterMap> ClusterMap::Make(const std::vector<std::string>& view, size_t repl_factor,
                                    uint64_t version) {
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
  map.version_ = version;
  map.view_ = view;
  map.repl_factor_ = repl_factor;
  const size_t shard_count = view.size() / repl_factor;
  map.shards_.resize(shard_count);
  for (size_t s = 0; s < shard_count; ++s) map.shards_[s].id = std::to_string(s + 1);
  for (size_t i = 0; i < view.size(); ++i) map.shards_[i % shard_count].replicas.push_back(view[i]);
  return map;
}

void ClusterMap::SetOwners(const std::vector<size_t>& owners) {
  parts_.clear();
  for (uint32_t slot = 0; slot < kClusterSlots; ++slot) {
    if (parts_.empty() || parts_.back().shard != owners[slot]) parts_.push_back({0, owners[slot]});
    ++parts_.back().slots;
  }
  bounds_.clear();
  uint32_t last = 0;
  for (size_t i = 0; i + 1 < parts_.size(); ++i) {
    last += static_cast<uint32_t>(parts_[i].slots * uint64_t{0xffffffff} / kClusterSlots);
    bounds_.push_back(last);
  }
  bounds_.push_back(0);
}

std::vector<size_t> ClusterMap::Owners() const {
  std::vector<size_t> owners;
  owners.reserve(kClusterSlots);
  for (const ClusterPart& part : parts_) owners.insert(owners.end(), part.slots, part.shard);
  return owners;
}

Result<ClusterMap> ClusterMap::FromView(const std::vector<std::string>& view, size_t repl_factor) {
  KVS_ASSIGN_OR_RETURN(ClusterMap map, Make(view, repl_factor, 1));
  // Equal runs, in shard order.
  const size_t shard_count = map.shards_.size();
  std::vector<size_t> owners;
  for (size_t s = 0; s < shard_count; ++s) {
    const size_t end = (s + 1) * kClusterSlots / shard_count;
    owners.resize(end, s);
  }
  map.SetOwners(owners);
  return map;
}

Result<ClusterMap> ClusterMap::Next(const std::vector<std::string>& view,
                                    size_t repl_factor) const {
  KVS_ASSIGN_OR_RETURN(ClusterMap next, Make(view, repl_factor, version_ + 1));
  const size_t shard_count = next.shards_.size();
  // Each shard's share: the slots split as evenly as they go.
  std::vector<uint32_t> share(shard_count, kClusterSlots / shard_count);
  for (size_t s = 0; s < kClusterSlots % shard_count; ++s) ++share[s];
  // A slot stays with its shard while the shard still exists and holds
  // less than its share; the rest go, in order, to the shards below it.
  const std::vector<size_t> before = Owners();
  constexpr size_t kFree = SIZE_MAX;
  std::vector<size_t> owners(kClusterSlots, kFree);
  std::vector<uint32_t> held(shard_count, 0);
  for (uint32_t slot = 0; slot < kClusterSlots; ++slot) {
    const size_t shard = before[slot];
    if (shard < shard_count && held[shard] < share[shard]) {
      owners[slot] = shard;
      ++held[shard];
    }
  }
  size_t taker = 0;
  for (uint32_t slot = 0; slot < kClusterSlots; ++slot) {
    if (owners[slot] != kFree) continue;
    while (held[taker] == share[taker]) ++taker;
    owners[slot] = taker;
    ++held[taker];
  }
  next.SetOwners(owners);
  return next;
}

nlohmann::ordered_json ClusterMap::ToJson() const {
  nlohmann::ordered_json parts = nlohmann::ordered_json::array();
  for (const ClusterPart& part : parts_) parts.push_back({part.slots, shards_[part.shard].id});
  return {{"version", version_}, {"view", view_}, {"repl-factor", repl_factor_}, {"parts", parts}};
}

Result<ClusterMap> ClusterMap::FromJson(const nlohmann::ordered_json& json) {
  auto bad = [](const std::string& what) {
    return Status::InvalidArgument("the cluster map " + what);
  };
  if (!json.is_object()) return bad("is not a JSON object");
  const auto version = json.find("version");
  const auto view = json.find("view");
  const auto repl_factor = json.find("repl-factor");
  const auto parts = json.find("parts");
  if (version == json.end() || !version->is_number_unsigned() || version->get<uint64_t>() == 0) {
    return bad("has no \"version\" from 1");
  }
  if (view == json.end() || !view->is_array()) return bad("has no \"view\" list");
  std::vector<std::string> nodes;
  for (const auto& node : *view) {
    if (!node.is_string()) return bad("\"view\" holds a node that is not a string");
    nodes.push_back(node.get<std::string>());
  }
  if (repl_factor == json.end() || !repl_factor->is_number_unsigned()) {
    return bad("has no \"repl-factor\"");
  }
  KVS_ASSIGN_OR_RETURN(ClusterMap map,
                       Make(nodes, repl_factor->get<size_t>(), version->get<uint64_t>()));
  if (parts == json.end() || !parts->is_array()) return bad("has no \"parts\" list");
  std::vector<size_t> owners;
  for (const auto& part : *parts) {
    if (!part.is_array() || part.size() != 2 || !part[0].is_number_integer() ||
        !part[1].is_string()) {
      return bad("holds a part that is not [slots, \"shard id\"]");
    }
    const auto slots = part[0].get<int64_t>();
    const std::string id = part[1].get<std::string>();
    const auto shard = std::find_if(map.shards_.begin(), map.shards_.end(),
                                    [&](const ClusterShard& s) { return s.id == id; });
    if (shard == map.shards_.end()) return bad("names shard " + id + ", which it does not make");
    if (slots <= 0 || static_cast<uint64_t>(slots) > kClusterSlots - owners.size()) {
      return bad("parts do not add up to " + std::to_string(kClusterSlots) + " slots");
    }
    owners.insert(owners.end(), slots, static_cast<size_t>(shard - map.shards_.begin()));
  }
  if (owners.size() != kClusterSlots) {
    return bad("parts do not add up to " + std::to_string(kClusterSlots) + " slots");
  }
  map.SetOwners(owners);
  return map;
}

HashRanges ClusterMap::RangesOfShard(size_t shard) const {
  HashRanges ranges;
  uint64_t lo = 0;
  for (size_t i = 0; i < parts_.size(); ++i) {
    const uint64_t hi = bounds_[i] == 0 ? uint64_t{1} << 32 : bounds_[i];
    if (parts_[i].shard == shard && lo < hi) {
      if (!ranges.empty() && ranges.back().hi == lo) {
        ranges.back().hi = hi;
      } else {
        ranges.push_back({static_cast<uint32_t>(lo), hi});
      }
    }
    lo = hi;
  }
  return ranges;
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
