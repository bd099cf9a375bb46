// Config file parsing. yaml-cpp reports syntax errors by exception; they are
// caught here, at the edge, and every problem becomes a Status whose message
// starts with the file and the line.
#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include "common/cluster_map.h"

namespace kvs::config {
namespace {

// Reads the nodes of one config file, remembering where it came from for
// error messages.
class ConfigParser {
 public:
  explicit ConfigParser(const std::string& path)
      : path_(path), directory_(std::filesystem::absolute(path).lexically_normal().parent_path()) {}

  Result<Config> Parse(std::string_view yaml) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      return Error(e.mark, e.msg);
    }
    if (root.IsNull()) {
      return Status::InvalidArgument(path_ + ": the config is empty; it needs at least data_dir");
    }
    if (!root.IsMap()) return Error(root.Mark(), "the config must be a mapping of key: value");

    Config config;
    config.path = path_;
    bool has_data_dir = false;
    std::set<std::string> seen;
    for (const auto& entry : root) {
      const YAML::Node& key_node = entry.first;
      const YAML::Node& value = entry.second;
      std::string key = key_node.IsScalar() ? key_node.Scalar() : "";
      if (!seen.insert(key).second) return Error(key_node.Mark(), "'" + key + "' appears twice");
      if (key == "data_dir") {
        KVS_ASSIGN_OR_RETURN(config.data_dir, Path(key, value));
        has_data_dir = true;
      } else if (key == "auth_file") {
        if (!value.IsNull()) {
          KVS_ASSIGN_OR_RETURN(config.auth_file, Path(key, value));
        }
      } else if (key == "default_branch") {
        KVS_ASSIGN_OR_RETURN(config.default_branch, NonEmptyScalar(key, value));
      } else if (key == "sync") {
        KVS_ASSIGN_OR_RETURN(
            config.sync,
            OneOf<SyncMode>(key, value, {{"sync", SyncMode::kSync}, {"none", SyncMode::kNone}}));
      } else if (key == "read_access") {
        KVS_ASSIGN_OR_RETURN(
            config.read_access,
            OneOf<ReadAccess>(key, value,
                              {{"public", ReadAccess::kPublic}, {"secret", ReadAccess::kSecret}}));
      } else if (key == "limits") {
        KVS_RETURN_IF_ERROR(ParseLimits(value, &config.limits));
      } else if (key == "merge") {
        KVS_RETURN_IF_ERROR(ParseMergeRules(value, &config.merge_rules));
      } else if (key == "retention") {
        KVS_RETURN_IF_ERROR(ParseRetention(value, &config.retention));
      } else if (key == "replication") {
        KVS_RETURN_IF_ERROR(ParseReplication(value, &config.replication));
      } else if (key == "cluster") {
        KVS_ASSIGN_OR_RETURN(config.cluster, ParseCluster(value));
      } else {
        return Error(key_node.Mark(),
                     "unknown key '" + key +
                         "' (known: data_dir, auth_file, default_branch, sync, read_access, "
                         "limits, merge, retention, replication, cluster)");
      }
    }
    if (!has_data_dir) {
      return Status::InvalidArgument(path_ +
                                     ": data_dir is missing; it names the store's directory");
    }
    if (config.cluster) KVS_RETURN_IF_ERROR(CheckClusterSecret(config));
    return config;
  }

 private:
  Status Error(const YAML::Mark& mark, const std::string& what) const {
    if (mark.is_null()) return Status::InvalidArgument(path_ + ": " + what);
    return Status::InvalidArgument(path_ + ":" + std::to_string(mark.line + 1) + ":" +
                                   std::to_string(mark.column + 1) + ": " + what);
  }

  Result<std::string> NonEmptyScalar(const std::string& key, const YAML::Node& value) const {
    if (!value.IsScalar() || value.Scalar().empty()) {
      return Error(value.Mark(), key + " needs a single non-empty value");
    }
    return value.Scalar();
  }

  // The value named by a scalar that must be one of choices' names.
  template <typename T>
  Result<T> OneOf(const std::string& key, const YAML::Node& value,
                  std::initializer_list<std::pair<std::string_view, T>> choices) const {
    KVS_ASSIGN_OR_RETURN(std::string name, NonEmptyScalar(key, value));
    std::string names;
    for (const auto& [choice, result] : choices) {
      if (name == choice) return result;
      names += (names.empty() ? "'" : " or '") + std::string(choice) + "'";
    }
    return Error(value.Mark(), key + " must be " + names + ", not '" + name + "'");
  }

  // A path made absolute against the config file's directory.
  Result<std::string> Path(const std::string& key, const YAML::Node& value) const {
    KVS_ASSIGN_OR_RETURN(std::string text, NonEmptyScalar(key, value));
    std::filesystem::path path(text);
    if (path.is_relative()) path = directory_ / path;
    return path.lexically_normal().string();
  }

  // merge: a mapping of key pattern -> merge function, kept in file order.
  Status ParseMergeRules(const YAML::Node& node, std::vector<MergeRule>* rules) const {
    if (node.IsNull()) return Status::OK();
    if (!node.IsMap())
      return Error(node.Mark(), "merge must be a mapping of key pattern: function");
    for (const auto& entry : node) {
      const YAML::Node& pattern = entry.first;
      if (!pattern.IsScalar() || pattern.Scalar().empty()) {
        return Error(pattern.Mark(), "a merge rule needs a key pattern, like counters/*");
      }
      KVS_ASSIGN_OR_RETURN(std::string name,
                           NonEmptyScalar("merge." + pattern.Scalar(), entry.second));
      auto function = merge::ParseMergeFunction(name);
      if (!function) {
        return Error(entry.second.Mark(), "merge." + pattern.Scalar() + ": unknown function '" +
                                              name + "' (known: " + merge::MergeFunctionNames() +
                                              ")");
      }
      rules->push_back(MergeRule{pattern.Scalar(), *function});
    }
    return Status::OK();
  }

  Result<size_t> PositiveInteger(const std::string& key, const YAML::Node& value) const {
    if (!value.IsScalar()) return Error(value.Mark(), key + " needs a positive integer");
    const std::string& text = value.Scalar();
    size_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || number == 0) {
      return Error(value.Mark(),
                   key + " needs a positive integer (bytes or a count), not '" + text + "'");
    }
    return number;
  }

  Status ParseLimits(const YAML::Node& node, Limits* limits) const {
    if (node.IsNull()) return Status::OK();
    if (!node.IsMap()) return Error(node.Mark(), "limits must be a mapping of name: number");
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const YAML::Node& key_node = entry.first;
      std::string key = key_node.IsScalar() ? key_node.Scalar() : "";
      if (!seen.insert(key).second) {
        return Error(key_node.Mark(), "limits." + key + " appears twice");
      }
      size_t* field = key == "max_key_bytes"              ? &limits->max_key_bytes
                      : key == "max_value_bytes"          ? &limits->max_value_bytes
                      : key == "max_body_bytes"           ? &limits->max_body_bytes
                      : key == "max_keys_per_transaction" ? &limits->max_keys_per_transaction
                                                          : nullptr;
      if (field == nullptr) {
        return Error(key_node.Mark(),
                     "unknown limit '" + key +
                         "' (known: max_key_bytes, max_value_bytes, max_body_bytes, "
                         "max_keys_per_transaction)");
      }
      if (field == &limits->max_keys_per_transaction) {
        KVS_ASSIGN_OR_RETURN(*field, PositiveInteger("limits." + key, entry.second));
      } else {
        KVS_ASSIGN_OR_RETURN(*field, Bytes("limits." + key, entry.second));
      }
      if (field == &limits->max_key_bytes && *field > kMaxKeyBytes) {
        return Error(entry.second.Mark(), "limits.max_key_bytes can be at most " +
                                              std::to_string(kMaxKeyBytes) +
                                              " (the longest key a store holds)");
      }
    }
    return Status::OK();
  }

  // A number with an optional unit from units (name -> multiplier); the
  // unit may follow a space. what says what the number is, for messages.
  Result<uint64_t> WithUnit(const std::string& key, const YAML::Node& value,
                            std::initializer_list<std::pair<std::string_view, uint64_t>> units,
                            std::string_view what) const {
    std::string text = value.IsScalar() ? value.Scalar() : "";
    uint64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    std::string_view unit(end, text.data() + text.size() - end);
    if (unit.starts_with(' ')) unit.remove_prefix(1);
    if (!text.empty() && ec == std::errc() && number > 0) {
      for (const auto& [name, multiplier] : units) {
        if (unit == name && number <= UINT64_MAX / multiplier / 2) return number * multiplier;
      }
    }
    return Error(value.Mark(), key + " needs " + std::string(what) + ", not '" + text + "'");
  }

  Result<uint64_t> Bytes(const std::string& key, const YAML::Node& value) const {
    return WithUnit(key, value,
                    {{"", 1},
                     {"B", 1},
                     {"kB", 1000},
                     {"MB", 1000000},
                     {"GB", 1000000000},
                     {"KiB", 1024},
                     {"MiB", 1 << 20},
                     {"GiB", 1 << 30}},
                    "a positive size, like 500MB or 2GiB");
  }

  Result<int64_t> Duration(const std::string& key, const YAML::Node& value) const {
    constexpr uint64_t kSecond = 1000000000;
    KVS_ASSIGN_OR_RETURN(uint64_t ns, WithUnit(key, value,
                                               {{"s", kSecond},
                                                {"m", 60 * kSecond},
                                                {"h", 3600 * kSecond},
                                                {"d", 86400 * kSecond},
                                                {"w", 604800 * kSecond}},
                                               "a positive duration, like 90s, 30m, 12h or 7d"));
    return static_cast<int64_t>(ns);
  }

  // A share strictly between 0 and 1, or "off" (nullopt).
  Result<std::optional<double>> Ratio(const std::string& key, const YAML::Node& value) const {
    KVS_ASSIGN_OR_RETURN(std::string text, NonEmptyScalar(key, value));
    if (text == "off") return std::optional<double>();
    double number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end != text.data() + text.size() || !(number > 0 && number < 1)) {
      return Error(value.Mark(),
                   key + " needs a share between 0 and 1, like 0.5, or off; not '" + text + "'");
    }
    return std::optional<double>(number);
  }

  Result<bool> Boolean(const std::string& key, const YAML::Node& value) const {
    return OneOf<bool>(key, value, {{"true", true}, {"false", false}});
  }

  // replication: a list of peers, each a mapping of url (required), mode,
  // secret_file, branches, prefix, interval and live.
  Status ParseReplication(const YAML::Node& node, std::vector<ReplicationPeer>* peers) const {
    if (node.IsNull()) return Status::OK();
    if (!node.IsSequence()) {
      return Error(node.Mark(), "replication must be a list of peers, each with a url");
    }
    for (size_t i = 0; i < node.size(); ++i) {
      const YAML::Node& entry = node[i];
      const std::string where = "replication[" + std::to_string(i) + "]";
      if (!entry.IsMap()) return Error(entry.Mark(), where + " must be a mapping with a url");
      ReplicationPeer peer;
      std::set<std::string> seen;
      for (const auto& setting : entry) {
        std::string key = setting.first.IsScalar() ? setting.first.Scalar() : "";
        const std::string name = where + "." + key;
        if (!seen.insert(key).second) return Error(setting.first.Mark(), name + " appears twice");
        const YAML::Node& value = setting.second;
        if (key == "url") {
          KVS_ASSIGN_OR_RETURN(peer.url, NonEmptyScalar(name, value));
          if (!peer.url.starts_with("http://") && !peer.url.starts_with("https://")) {
            return Error(value.Mark(), name + " must start with http:// or https://");
          }
        } else if (key == "mode") {
          KVS_ASSIGN_OR_RETURN(
              peer.mode, OneOf<replication::Direction>(name, value,
                                                       {{"push", replication::Direction::kPush},
                                                        {"pull", replication::Direction::kPull},
                                                        {"sync", replication::Direction::kSync}}));
        } else if (key == "secret_file") {
          KVS_ASSIGN_OR_RETURN(peer.secret_file, Path(name, value));
        } else if (key == "branches") {
          if (!value.IsSequence() || value.size() == 0) {
            return Error(value.Mark(), name + " must be a list of branch names, like [main]");
          }
          for (const auto& branch : value) {
            KVS_ASSIGN_OR_RETURN(std::string b, NonEmptyScalar(name, branch));
            if (Status valid = CheckBranchName(b); !valid.ok()) {
              return Error(branch.Mark(), name + ": " + valid.message());
            }
            peer.branches.push_back(std::move(b));
          }
        } else if (key == "prefix") {
          if (!value.IsScalar()) return Error(value.Mark(), name + " must be a string");
          peer.prefix = value.Scalar();
        } else if (key == "interval") {
          KVS_ASSIGN_OR_RETURN(peer.interval_ns, Duration(name, value));
        } else if (key == "live") {
          KVS_ASSIGN_OR_RETURN(peer.live, Boolean(name, value));
        } else {
          return Error(setting.first.Mark(),
                       "unknown setting '" + name +
                           "' (known: url, mode, secret_file, branches, prefix, interval, live)");
        }
      }
      if (peer.url.empty()) return Error(entry.Mark(), where + " needs a url");
      peers->push_back(std::move(peer));
    }
    return Status::OK();
  }

  // cluster: self, view, repl_factor (required), causal_wait, grace, join,
  // links.
  Result<ClusterSettings> ParseCluster(const YAML::Node& node) const {
    if (!node.IsMap()) {
      return Error(node.Mark(), "cluster must be a mapping with self, view and repl_factor");
    }
    ClusterSettings cluster;
    std::vector<std::string> view;
    size_t repl_factor = 1;
    std::set<std::string> seen;
    for (const auto& setting : node) {
      std::string key = setting.first.IsScalar() ? setting.first.Scalar() : "";
      const std::string name = "cluster." + key;
      if (!seen.insert(key).second) return Error(setting.first.Mark(), name + " appears twice");
      const YAML::Node& value = setting.second;
      if (key == "self") {
        KVS_ASSIGN_OR_RETURN(cluster.self, NonEmptyScalar(name, value));
      } else if (key == "view") {
        // A list, or one string of addresses separated by commas (the seed's VIEW).
        if (value.IsSequence()) {
          for (const auto& node_address : value) {
            KVS_ASSIGN_OR_RETURN(std::string address, NonEmptyScalar(name, node_address));
            view.push_back(std::move(address));
          }
        } else {
          KVS_ASSIGN_OR_RETURN(std::string list, NonEmptyScalar(name, value));
          view = common::SplitView(list);
        }
      } else if (key == "repl_factor") {
        KVS_ASSIGN_OR_RETURN(repl_factor, PositiveInteger(name, value));
      } else if (key == "causal_wait") {
        KVS_ASSIGN_OR_RETURN(cluster.causal_wait_ns, Duration(name, value));
      } else if (key == "grace") {
        KVS_ASSIGN_OR_RETURN(cluster.grace_ns, Duration(name, value));
      } else if (key == "join") {
        KVS_ASSIGN_OR_RETURN(cluster.join, Boolean(name, value));
      } else if (key == "links") {
        if (!value.IsMap()) return Error(value.Mark(), name + " must map node addresses to URLs");
        for (const auto& link : value) {
          KVS_ASSIGN_OR_RETURN(std::string address, NonEmptyScalar(name, link.first));
          KVS_ASSIGN_OR_RETURN(std::string url, NonEmptyScalar(name + "." + address, link.second));
          if (!url.starts_with("http://") && !url.starts_with("https://")) {
            return Error(link.second.Mark(), name + "." + address + " must start with http://");
          }
          cluster.links[address] = std::move(url);
        }
      } else {
        return Error(setting.first.Mark(),
                     "unknown setting '" + name +
                         "' (known: self, view, repl_factor, causal_wait, grace, join, links)");
      }
    }
    if (cluster.self.empty() || view.empty()) {
      return Error(node.Mark(), "cluster needs self, view and repl_factor");
    }
    auto map = common::ClusterMap::FromView(view, repl_factor);
    if (!map.ok()) return Error(node.Mark(), "cluster: " + map.status().message());
    cluster.map = std::move(map).value();
    const bool in_view = cluster.map.ShardOfNode(cluster.self).has_value();
    if (!in_view && !cluster.join) {
      return Error(node.Mark(), "cluster.self " + cluster.self +
                                    " is not in the view (a node that joins the cluster by a "
                                    "view change says join: true)");
    }
    if (in_view && cluster.join) {
      return Error(node.Mark(), "cluster.join: " + cluster.self +
                                    " is in the view already; join is for a node the view does "
                                    "not name yet");
    }
    return cluster;
  }

  // A cluster's nodes pull from each other and forward writes with the
  // shared secret.
  Status CheckClusterSecret(const Config& config) const {
    if (config.auth_file) return Status::OK();
    return Status::InvalidArgument(path_ +
                                   ": cluster needs auth_file: the nodes' shared secret, "
                                   "with which they replicate and forward writes");
  }

  // retention: max_bytes, low_water_bytes, check_interval and prefixes,
  // each prefix a mapping of keep_last, keep_younger, evictable, protected.
  Status ParseRetention(const YAML::Node& node, Retention* retention) const {
    if (node.IsNull()) return Status::OK();
    if (!node.IsMap()) return Error(node.Mark(), "retention must be a mapping");
    std::set<std::string> seen;
    std::optional<uint64_t> max_bytes, low_water;
    for (const auto& entry : node) {
      std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
      if (!seen.insert(key).second) {
        return Error(entry.first.Mark(), "retention." + key + " appears twice");
      }
      const std::string name = "retention." + key;
      if (key == "max_bytes") {
        KVS_ASSIGN_OR_RETURN(max_bytes, Bytes(name, entry.second));
      } else if (key == "low_water_bytes") {
        KVS_ASSIGN_OR_RETURN(low_water, Bytes(name, entry.second));
      } else if (key == "check_interval") {
        KVS_ASSIGN_OR_RETURN(retention->check_interval_ns, Duration(name, entry.second));
      } else if (key == "garbage_ratio") {
        KVS_ASSIGN_OR_RETURN(retention->garbage_ratio, Ratio(name, entry.second));
      } else if (key == "min_garbage_bytes") {
        KVS_ASSIGN_OR_RETURN(retention->min_garbage_bytes, Bytes(name, entry.second));
      } else if (key == "prefixes") {
        KVS_RETURN_IF_ERROR(ParseRetentionPrefixes(entry.second, &retention->rules));
      } else {
        return Error(entry.first.Mark(),
                     "unknown setting '" + name +
                         "' (known: max_bytes, low_water_bytes, check_interval, garbage_ratio, "
                         "min_garbage_bytes, prefixes)");
      }
    }
    if (max_bytes.has_value() != low_water.has_value()) {
      return Error(node.Mark(), "retention: max_bytes and low_water_bytes go together");
    }
    if (max_bytes) {
      if (*low_water >= *max_bytes) {
        return Error(node.Mark(), "retention: low_water_bytes must be below max_bytes");
      }
      retention->size_bound = SizeBound{*max_bytes, *low_water};
    }
    return Status::OK();
  }

  Status ParseRetentionPrefixes(const YAML::Node& node, std::vector<RetentionRule>* rules) const {
    if (node.IsNull()) return Status::OK();
    if (!node.IsMap()) {
      return Error(node.Mark(), "retention.prefixes must be a mapping of key prefix: rule");
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) return Error(entry.first.Mark(), "a prefix must be a string");
      RetentionRule rule;
      rule.prefix = entry.first.Scalar();
      const std::string where = "retention.prefixes." + rule.prefix;
      if (!seen.insert(rule.prefix).second)
        return Error(entry.first.Mark(), where + " appears twice");
      if (!entry.second.IsMap() || entry.second.size() == 0) {
        return Error(entry.second.Mark(),
                     where + " needs settings, like {keep_last: 10} or {protected: true}");
      }
      std::set<std::string> settings;
      for (const auto& setting : entry.second) {
        std::string key = setting.first.IsScalar() ? setting.first.Scalar() : "";
        const std::string name = where + "." + key;
        if (!settings.insert(key).second)
          return Error(setting.first.Mark(), name + " appears twice");
        if (key == "keep_last") {
          KVS_ASSIGN_OR_RETURN(rule.keep_last, PositiveInteger(name, setting.second));
        } else if (key == "keep_younger") {
          KVS_ASSIGN_OR_RETURN(rule.keep_younger_ns, Duration(name, setting.second));
        } else if (key == "evictable") {
          KVS_ASSIGN_OR_RETURN(rule.evictable, Boolean(name, setting.second));
        } else if (key == "protected") {
          KVS_ASSIGN_OR_RETURN(rule.protect, Boolean(name, setting.second));
        } else {
          return Error(setting.first.Mark(),
                       "unknown setting '" + name +
                           "' (known: keep_last, keep_younger, evictable, protected)");
        }
      }
      if (rule.protect && (rule.keep_last || rule.keep_younger_ns || rule.evictable)) {
        return Error(entry.second.Mark(),
                     where +
                         ": a protected prefix keeps everything; it takes no keep_last, "
                         "keep_younger or evictable");
      }
      rules->push_back(std::move(rule));
    }
    return Status::OK();
  }

  std::string path_;
  std::filesystem::path directory_;
};

}  // namespace

Options Config::StoreOptions(Lifetime lifetime) const {
  Options options;
  options.sync = sync;
  if (lifetime == Lifetime::kOneShot) options.checkpoint_blocks = kOneShotCheckpointBlocks;
  options.max_key_bytes = limits.max_key_bytes;
  options.max_value_bytes = limits.max_value_bytes;
  options.max_writes_per_transaction = limits.max_keys_per_transaction;
  return options;
}

CompactOptions Retention::ToCompactOptions() const {
  CompactOptions options;
  options.rules = rules;
  options.size_bound = size_bound;
  return options;
}

std::string ClusterSettings::UrlOf(const std::string& address) const {
  auto it = links.find(address);
  return it != links.end() ? it->second : "http://" + address;
}

bool Retention::GarbageDue(const SpaceInfo& space) const {
  return garbage_ratio && space.garbage_bytes >= min_garbage_bytes &&
         space.garbage_ratio() >= *garbage_ratio;
}

std::optional<std::string> Retention::CompactionDue(const SpaceInfo& space) const {
  if (size_bound) {
    const uint64_t regrowth = size_bound->max_bytes - size_bound->low_water_bytes;
    if (space.data_bytes > std::max(size_bound->max_bytes, space.compacted_bytes + regrowth)) {
      return "the store has " + std::to_string(space.data_bytes) + " bytes (max_bytes " +
             std::to_string(size_bound->max_bytes) + ")";
    }
  }
  if (GarbageDue(space)) {
    return "about " + std::to_string(space.garbage_bytes) + " of the store's " +
           std::to_string(space.data_bytes) + " bytes are garbage (" +
           std::to_string(static_cast<int>(space.garbage_ratio() * 100 + 0.5)) + "%)";
  }
  return std::nullopt;
}

Result<Config> ParseConfig(std::string_view yaml, const std::string& path) {
  return ConfigParser(path).Parse(yaml);
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot read the config file: " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError(path + ": error while reading the config file");
  return ParseConfig(text.str(), path);
}

}  // namespace kvs::config
