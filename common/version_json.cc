// Version metadata as JSON.
#include "common/version_json.h"

#include "common/time.h"

namespace kvs::common {

nlohmann::ordered_json VersionJson(const Version& version) {
  nlohmann::ordered_json parents = nlohmann::ordered_json::array();
  for (const VersionId& parent : version.parents) parents.push_back(parent.Hex());
  nlohmann::ordered_json json = {
      {"id", version.id.Hex()},           {"key", version.key},
      {"parents", std::move(parents)},    {"time", FormatRfc3339(version.time_ns)},
      {"replica", version.replica.Hex()}, {"size", version.size},
      {"deleted", version.deleted},       {"revision", version.revision}};
  if (version.json) json["json"] = true;  // written as JSON: its value reads as JSON
  return json;
}

}  // namespace kvs::common
