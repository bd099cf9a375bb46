// The REST face's writes: PUT and DELETE of a key (with If-Match as a
// compare-and-set), and copying and merging a key between forks. Each is
// one store transaction; a refused request writes nothing.
#include <variant>

#include "common/json_value.h"
#include "faces/rest/rest.h"
#include "faces/rest/rest_args.h"
#include "merge/key_merge.h"

namespace kvs::server {
namespace {

HttpError PreconditionFailed(std::string message) {
  return HttpError{412, std::move(message), "precondition_failed"};
}

// The quoted version ids of an If-Match list; nullopt when an entry is not
// one (a weak tag never matches, as RFC 9110 asks for If-Match).
std::optional<std::vector<VersionId>> ParseEntityTags(std::string_view header) {
  std::vector<VersionId> ids;
  for (std::string_view tag : HeaderListElements(header)) {
    if (tag.size() != 66 || tag.front() != '"' || tag.back() != '"') return std::nullopt;
    auto id = Hash::FromHex(tag.substr(1, 64));
    if (!id.ok()) return std::nullopt;
    ids.push_back(*id);
  }
  if (ids.empty()) return std::nullopt;
  return ids;
}

// The heads a write requires the key to have, from If-Match (the ETags of
// every current head, or "*": any live value) and If-None-Match: * (no live
// value); nullopt when the request sets no precondition.
std::variant<std::optional<std::vector<VersionId>>, HttpError> ExpectedHeads(
    const Request& request, Service& service, const std::string& branch, const std::string& key) {
  auto if_match = request.headers.Get("If-Match");
  auto if_none_match = request.headers.Get("If-None-Match");
  if (!if_match && !if_none_match) return std::optional<std::vector<VersionId>>();
  if (if_match && *if_match != "*") {
    auto ids = ParseEntityTags(*if_match);
    if (!ids) {
      return PreconditionFailed(
          "If-Match names no version of the key: send the ETag a read gave, e.g. "
          "If-Match: \"<64 hex digits>\"");
    }
    return std::optional<std::vector<VersionId>>(std::move(*ids));
  }
  // "*" either way: it depends on whether the key now has a live value.
  auto state = merge::GetIfPresent(*service.store, branch, key);
  if (!state.ok()) return StoreErrorOnBranch(state.status(), service, branch);
  const bool live = *state && !(*state)->winner.deleted;
  std::vector<VersionId> heads = merge::HeadIds(*state);
  if (if_match && !live) {
    return PreconditionFailed("If-Match: * but key '" + key + "' has no value");
  }
  if (!if_match && *if_none_match != "*") {
    return HttpError{400, "If-None-Match on a write takes only *"};
  }
  if (!if_match && live) {
    return PreconditionFailed("If-None-Match: * but key '" + key + "' has a value");
  }
  return std::optional<std::vector<VersionId>>(std::move(heads));
}

// Checks and authorizes a write to the key the path names; the error to
// answer, if any.
std::optional<HttpError> RefuseWrite(const Request& request, Service& service,
                                     const RestPath& path) {
  if (auto refused = AuthorizeBodyWrite(service, request)) return refused;
  return CheckKeyAndFork(path, service);
}

// The answer for a failed write: a failed compare-and-set is a 412.
Response WriteError(const Status& status, Service& service, const std::string& branch) {
  if (status.IsConflict()) return JsonError(PreconditionFailed(status.message()));
  return JsonError(StoreErrorOnBranch(status, service, branch));
}

Response WriteKey(const Request& request, Service& service, const RestPath& path,
                  std::optional<std::string> value) {
  const std::string branch = ForkOf(path, service);
  auto expected = ExpectedHeads(request, service, branch, path.key);
  if (auto* refused = std::get_if<HttpError>(&expected)) return JsonError(*refused);
  WriteBatch batch;
  batch.branch = branch;
  batch.writes.push_back(KeyWrite{path.key, value, std::nullopt,
                                  std::get<std::optional<std::vector<VersionId>>>(expected),
                                  std::nullopt});
  auto written = service.store->Write(batch);
  if (!written.ok()) return WriteError(written.status(), service, branch);
  Response response = value ? JsonResponse(common::ValueJson(*value))
                            : OkResponse({{"revision", written->revision}});
  response.headers.Set("ETag", QuotedEtag(written->versions.front()));
  response.headers.Set("X-Kvs-Revision", std::to_string(written->revision));
  response.headers.Set("X-Kvs-Commit", written->commit.Hex());
  return response;
}

}  // namespace

Response PutRestKey(const Request& request, Service& service, const RestPath& path) {
  auto parsed = ParseRestQuery(request.query_string, {}, Access::kWrite);
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  if (auto refused = RefuseWrite(request, service, path)) return JsonError(*refused);
  const size_t limit = service.config.limits.max_value_bytes;
  if (request.body.size() > limit) {
    return JsonError({413,
                      "the value is " + std::to_string(request.body.size()) +
                          " bytes; the limit is " + std::to_string(limit) +
                          " (limits.max_value_bytes)",
                      "value_too_large"});
  }
  return WriteKey(request, service, path, request.body);
}

Response DeleteRestKey(const Request& request, Service& service, const RestPath& path) {
  auto parsed = ParseRestQuery(request.query_string, {}, Access::kWrite);
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  if (auto refused = RefuseWrite(request, service, path)) return JsonError(*refused);
  return WriteKey(request, service, path, std::nullopt);
}

Response ForkRestKey(const Request& request, Service& service, const RestPath& path) {
  auto parsed = ParseRestQuery(request.query_string, {}, Access::kWrite);
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  if (auto refused = RefuseWrite(request, service, path)) return JsonError(*refused);
  if (auto error = CheckForkName(path.target)) return JsonError(*error);
  const std::string source = ForkOf(path, service);
  if (source == path.target) {
    return JsonError({400, "the key is already on fork '" + source + "'; name another target"});
  }
  auto copied = service.store->CopyKey(path.key, source, path.target);
  if (!copied.ok()) {
    if (copied.status().IsConflict()) {
      return JsonError({409, copied.status().message(), "target_exists"});
    }
    return JsonError(StoreErrorOnBranch(copied.status(), service, source));
  }
  return OkResponse({{"fork", path.target}, {"revision", copied->revision}});
}

Response MergeRestKey(const Request& request, Service& service, const RestPath& path) {
  auto parsed = ParseRestQuery(request.query_string, {"strategy"}, Access::kWrite);
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  const RestQuery& query = std::get<RestQuery>(parsed);
  if (auto refused = RefuseWrite(request, service, path)) return JsonError(*refused);
  if (auto error = CheckForkName(path.target)) return JsonError(*error);
  const std::string source_branch = ForkOf(path, service);
  if (source_branch == path.target) {
    return JsonError({400, "a fork cannot be merged into itself; name another target"});
  }
  Store& store = *service.store;
  return RetryOnConflict(
      [&]() -> std::optional<Response> {
        auto source = store.Get(source_branch, path.key);
        if ((source.ok() && source->winner.deleted) || source.status().IsNotFound()) {
          return JsonError({404,
                            "key '" + path.key + "' has no value on fork '" + source_branch + "'",
                            "fork_not_found"});
        }
        if (!source.ok()) return StoreErrorResponse(source.status(), Format::kJson);
        auto target = store.Get(path.target, path.key);
        if (target.status().IsNotFound()) {
          return JsonError({404,
                            "key '" + path.key + "' does not exist on fork '" + path.target +
                                "' (copy it there with POST .../fork/" + path.target + ")",
                            "target_not_found"});
        }
        if (!target.ok()) return StoreErrorResponse(target.status(), Format::kJson);

        auto plan = merge::PlanKeyMerge(store, *source, *target, query.strategy);
        if (!plan.ok()) return StoreErrorResponse(plan.status(), Format::kJson);
        const std::string outcome(merge::KeyMergeOutcomeName(plan->outcome));
        if (plan->outcome == merge::KeyMergePlan::Outcome::kConflict) {
          nlohmann::ordered_json body = {
              {"status", "error"},
              {"error", "conflict"},
              {"message", "the " + std::string(merge::MergeFunctionName(*query.strategy)) +
                              " merge of key '" + path.key + "' failed: " + plan->conflict +
                              "; nothing was written"},
              {"conflicts", {{{"key", path.key}, {"reason", plan->conflict}}}}};
          Response response = JsonResponse(body);
          response.status = 409;
          return response;
        }
        if (!plan->write) return OkResponse({{"merge", outcome}});
        WriteBatch batch;
        batch.branch = path.target;
        batch.writes.push_back(std::move(*plan->write));
        auto written = store.Write(batch);
        if (written.status().IsConflict()) return std::nullopt;  // the target moved
        if (!written.ok()) return StoreErrorResponse(written.status(), Format::kJson);
        Response response = OkResponse({{"merge", outcome},
                                        {"version", written->versions.front().Hex()},
                                        {"revision", written->revision}});
        response.headers.Set("X-Kvs-Revision", std::to_string(written->revision));
        return response;
      },
      "key '" + path.key + "' kept changing on fork '" + path.target +
          "' while merging; try again");
}

}  // namespace kvs::server
