// Config file parsing. yaml-cpp reports syntax errors by exception; they are
// caught here, at the edge, and every problem becomes a Status whose message
// starts with the file and the line.
#include "fcgi/config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

namespace kvs::fcgi {
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
      } else {
        return Error(key_node.Mark(),
                     "unknown key '" + key +
                         "' (known: data_dir, auth_file, default_branch, sync, read_access, "
                         "limits, merge)");
      }
    }
    if (!has_data_dir) {
      return Status::InvalidArgument(path_ +
                                     ": data_dir is missing; it names the store's directory");
    }
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
      KVS_ASSIGN_OR_RETURN(*field, PositiveInteger("limits." + key, entry.second));
    }
    return Status::OK();
  }

  std::string path_;
  std::filesystem::path directory_;
};

}  // namespace

Options Config::StoreOptions() const {
  Options options;
  options.sync = sync;
  options.max_key_bytes = limits.max_key_bytes;
  options.max_value_bytes = limits.max_value_bytes;
  options.max_writes_per_transaction = limits.max_keys_per_transaction;
  return options;
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

}  // namespace kvs::fcgi
