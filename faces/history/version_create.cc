// POST /_create: check everything the request names, then one transaction.
#include "faces/history/version_create.h"

#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "common/json_value.h"
#include "common/version_json.h"
#include "faces/history/graph_args.h"
#include "http/json_body.h"
#include "http/key_errors.h"

namespace kvs::server {

Response CreateVersion(const Request& request, Service& service) {
  const Limits& limits = service.config.limits;
  auto parsed =
      ParseGraphQuery(request.query_string,
                      {.names = {"key", "prev", "branch", "deleted", "json"}, .writes = true});
  if (auto* error = std::get_if<HttpError>(&parsed)) return ErrorResponse(*error, Format::kJson);
  const GraphQuery& query = std::get<GraphQuery>(parsed);
  constexpr Format format = Format::kJson;  // the only one create answers in
  const std::string& value = request.body;
  if (auto refused = AuthorizeBodyWrite(service, request)) {
    return ErrorResponse(*refused, format);
  }

  if (!query.key) {
    return ErrorResponse({400, "name the key: POST /_create?key=KEY, with the value as the body"},
                         format);
  }
  if (auto error = CheckKey(*query.key, limits)) return ErrorResponse(*error, format);
  if (value.size() > limits.max_value_bytes) {
    return ErrorResponse(
        {413, "the value is " + std::to_string(value.size()) + " bytes; the limit is " +
                  std::to_string(limits.max_value_bytes) + " (limits.max_value_bytes)"},
        format);
  }
  if (query.deleted && (!value.empty() || query.json)) {
    return ErrorResponse({400,
                          "a delete (deleted=true) has no value: send an empty body, "
                          "without json=true"},
                         format);
  }
  if (query.json) {
    if (auto refused = CheckJsonBody(value)) {
      return ErrorResponse({400, "json=true, but " + refused->message}, format);
    }
  }
  std::vector<VersionId> parents;
  for (const std::string& text : query.prevs) {
    auto id = ResolveVersionArgument(*service.store, text, "prev");
    if (auto* refused = std::get_if<HttpError>(&id)) return ErrorResponse(*refused, format);
    if (std::find(parents.begin(), parents.end(), std::get<VersionId>(id)) != parents.end()) {
      return ErrorResponse({400, "prev names version " + std::get<VersionId>(id).Hex() + " twice"},
                           format);
    }
    parents.push_back(std::get<VersionId>(id));
  }

  WriteBatch batch;
  batch.branch = query.branch.value_or(service.config.default_branch);
  std::optional<std::string> written_value;  // nullopt: a tombstone
  if (!query.deleted) written_value = value;
  batch.writes.push_back(
      KeyWrite{*query.key, written_value, parents, std::nullopt, std::nullopt, query.json});
  auto written = service.store->Write(batch);
  if (!written.ok()) return StoreErrorResponse(written.status(), format);

  Version version;
  version.id = written->versions.front();
  version.key = *query.key;
  version.parents = std::move(parents);
  version.time_ns = written->time_ns;
  version.replica = service.store->replica_id();
  version.size = value.size();
  version.deleted = query.deleted;
  version.json = query.json;
  version.revision = written->revision;
  nlohmann::ordered_json body = common::VersionJson(version);
  body["branch"] = batch.branch;
  body["commit"] = written->commit.Hex();
  Response response = ContentResponse("application/json", common::DumpJson(body));
  response.status = 201;
  // Relative to /_create, wherever the service is mounted.
  response.headers.Set("Location", "_versions/" + version.id.Hex());
  return response;
}

}  // namespace kvs::server
