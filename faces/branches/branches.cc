// Branches, the commit log, diff and reset over HTTP.
#include "faces/branches/branches.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "common/commit_log.h"
#include "common/json_value.h"
#include "common/time.h"
#include "http/json_body.h"
#include "http/query.h"

namespace kvs::server {
namespace {

constexpr size_t kDefaultLogLimit = 50;
constexpr size_t kMaxLogLimit = 1000;

nlohmann::ordered_json BranchJson(const BranchInfo& b) {
  return {{"name", b.name},
          {"head_revision", b.head_revision},
          {"head_commit", b.head_commit.IsZero() ? nlohmann::ordered_json()
                                                 : nlohmann::ordered_json(b.head_commit.Hex())},
          {"created_revision", b.created_revision},
          {"created", common::FormatRfc3339(b.created_time_ns)}};
}

nlohmann::ordered_json CommitJson(const CommitInfo& c) {
  nlohmann::ordered_json parents = nlohmann::ordered_json::array();
  for (const CommitId& p : c.parents) parents.push_back(p.Hex());
  return {{"id", c.id.Hex()},
          {"parents", std::move(parents)},
          {"branch", c.branch},
          {"revision", c.revision},
          {"time", common::FormatRfc3339(c.time_ns)},
          {"keys", c.keys}};
}

Response Created(nlohmann::ordered_json body) {
  Response response = JsonResponse(body);
  response.status = 201;
  return response;
}

// POST /_branches {"name", "from", "at"}.
Response CreateBranchFromBody(const Request& request, Service& service) {
  auto parsed = ParseJsonObjectBody(request.body, R"({"name": "dev", "from": "main", "at": 42})");
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  const nlohmann::ordered_json& body = std::get<nlohmann::ordered_json>(parsed);
  for (const auto& [field, value] : body.items()) {
    if (field != "name" && field != "from" && field != "at") {
      return JsonError({400, "unknown field '" + field + "' (known: name, from, at)"});
    }
    if (field == "at" && !value.is_string() && !value.is_number_unsigned()) {
      return JsonError({400,
                        "field 'at' must be a revision number (from 1), or a string: a time or "
                        "a commit id",
                        "bad_at"});
    }
    if (field != "at" && !value.is_string()) {
      return JsonError({400, "field '" + field + "' must be a string"});
    }
  }
  if (!body.contains("name")) return JsonError({400, "name the new branch: {\"name\": ...}"});
  std::string name = body["name"];
  if (Status valid = CheckNewBranchName(name); !valid.ok()) {
    return JsonError({400, valid.message(), "bad_fork"});
  }
  std::string from = body.value("from", service.config.default_branch);
  if (auto error = CheckForkName(from)) return JsonError(*error);
  ReadPoint at;
  if (body.contains("at") && body["at"] != "head") {
    std::string text = body["at"].is_string() ? body["at"].get<std::string>() : body["at"].dump();
    auto point = ReadPointValue(text);
    if (auto* error = std::get_if<HttpError>(&point)) return JsonError(*error);
    at = std::get<ReadPoint>(point);
  }
  if (at.kind == ReadPoint::Kind::kCommit) {
    // A commit names its own branch's state: copy that branch, and refuse
    // another, which would silently give that branch's state at the time.
    auto commit = service.store->GetCommit(at.commit);
    if (!commit.ok()) return StoreErrorResponse(commit.status(), Format::kJson);
    if (body.contains("from") && from != commit->branch) {
      return JsonError({400, "commit " + at.commit.Hex() + " is on branch '" + commit->branch +
                                 "', not '" + from + "'; leave out \"from\" or name that branch"});
    }
    from = commit->branch;
  }
  auto created = service.store->CreateBranch(name, from, at);
  if (!created.ok()) {
    if (created.status().code() == Status::Code::kInvalidArgument) {
      return JsonError({400, "at: " + created.status().message(), "bad_at"});
    }
    return StoreErrorResponse(created.status(), Format::kJson);
  }
  return Created(BranchJson(*created));
}

}  // namespace

std::variant<std::pair<std::string, ReadPoint>, HttpError> ResolveBranchState(
    Service& service, std::string_view text, std::string_view parameter) {
  if (text.size() == 64) {
    if (auto id = Hash::FromHex(text); id.ok()) {
      auto commit = service.store->GetCommit(*id);
      if (!commit.ok()) return StoreError(commit.status());
      return std::pair(commit->branch, ReadPoint::AtCommit(*id));
    }
  }
  if (auto error = CheckForkName(text)) {
    return HttpError{400,
                     std::string(parameter) +
                         " must name a branch or a commit (64 hex digits), not '" +
                         std::string(text) + "'",
                     "bad_fork"};
  }
  return std::pair(std::string(text), ReadPoint::Latest());
}

Response ListBranches(const Request& request, Service& service) {
  auto parsed = ReadQuery(request, service, {});
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  auto branches = service.store->ListBranches();
  if (!branches.ok()) return StoreErrorResponse(branches.status(), Format::kJson);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const BranchInfo& b : *branches) list.push_back(BranchJson(b));
  return JsonResponse({{"branches", std::move(list)}});
}

Response CreateBranch(const Request& request, Service& service) {
  if (auto refused = RefuseBareWrite(request, service)) return JsonError(*refused);
  return CreateBranchFromBody(request, service);
}

Response DeleteBranch(const Request& request, Service& service) {
  if (auto refused = RefuseBareWrite(request, service)) return JsonError(*refused);
  const std::string name = request.path_info.substr(std::string_view("/_branches/").size());
  if (auto error = CheckForkName(name)) return JsonError(*error);
  if (name == service.config.default_branch) {
    return JsonError({400, "'" + name + "' is the default branch; it cannot be deleted"});
  }
  Status deleted = service.store->DeleteBranch(name);
  if (!deleted.ok()) return StoreErrorResponse(deleted, Format::kJson, "fork_not_found");
  return OkResponse({{"deleted", name}});
}

Response GetLog(const Request& request, Service& service) {
  auto parsed = ReadQuery(request, service, {.once = {"branch", "limit", "before"}});
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  const Query& query = std::get<Query>(parsed);
  size_t limit = kDefaultLogLimit;
  if (auto text = query.Get("limit")) {
    auto count = CountValue("limit", *text, 1, kMaxLogLimit);
    if (auto* error = std::get_if<HttpError>(&count)) return JsonError(*error);
    limit = std::get<size_t>(count);
  }
  const std::string branch = query.Get("branch").value_or(service.config.default_branch);
  if (auto error = CheckForkName(branch)) return JsonError(*error);
  Store& store = *service.store;
  uint64_t below = std::numeric_limits<uint64_t>::max();
  if (auto before = query.Get("before")) {
    auto id = Hash::FromHex(*before);
    if (!id.ok()) return JsonError({400, "before must be a commit id of 64 hex digits"});
    auto commit = store.GetCommit(*id);
    if (!commit.ok()) return StoreErrorResponse(commit.status(), Format::kJson);
    below = commit->revision;
  }
  auto info = store.GetBranch(branch);
  if (!info.ok()) return StoreErrorResponse(info.status(), Format::kJson, "fork_not_found");
  auto log = common::WalkCommits(store, {info->head_commit}, limit, below);
  if (!log.ok()) return StoreErrorResponse(log.status(), Format::kJson);
  nlohmann::ordered_json commits = nlohmann::ordered_json::array();
  for (const CommitInfo& commit : log->commits) commits.push_back(CommitJson(commit));
  nlohmann::ordered_json body = {{"branch", branch}, {"commits", std::move(commits)}};
  // The next page: before=NEXT (null on the last page).
  body["next"] =
      log->more ? nlohmann::ordered_json(log->commits.back().id.Hex()) : nlohmann::ordered_json();
  return JsonResponse(body);
}

Response GetDiff(const Request& request, Service& service) {
  auto parsed = ReadQuery(request, service, {.once = {"from", "to"}});
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  const Query& query = std::get<Query>(parsed);
  const std::optional<std::string> from_text = query.Get("from"), to_text = query.Get("to");
  if (!from_text || !to_text) {
    return JsonError({400, "name both sides: /_diff?from=BRANCH_OR_COMMIT&to=BRANCH_OR_COMMIT"});
  }
  auto from = ResolveBranchState(service, *from_text, "from");
  if (auto* refused = std::get_if<HttpError>(&from)) return JsonError(*refused);
  auto to = ResolveBranchState(service, *to_text, "to");
  if (auto* refused = std::get_if<HttpError>(&to)) return JsonError(*refused);
  const auto& [from_branch, from_at] = std::get<std::pair<std::string, ReadPoint>>(from);
  const auto& [to_branch, to_at] = std::get<std::pair<std::string, ReadPoint>>(to);
  auto diff = service.store->Diff(from_branch, from_at, to_branch, to_at);
  if (!diff.ok()) return StoreErrorResponse(diff.status(), Format::kJson, "fork_not_found");
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  nlohmann::ordered_json removed = nlohmann::ordered_json::array();
  nlohmann::ordered_json modified = nlohmann::ordered_json::array();
  for (const DiffEntry& e : *diff) {
    switch (e.kind) {
      case DiffEntry::Kind::kAdded:
        added.push_back({{"key", e.key}, {"version", e.to->Hex()}});
        break;
      case DiffEntry::Kind::kRemoved:
        removed.push_back({{"key", e.key}, {"version", e.from->Hex()}});
        break;
      case DiffEntry::Kind::kModified:
        modified.push_back({{"key", e.key}, {"from", e.from->Hex()}, {"to", e.to->Hex()}});
        break;
    }
  }
  return JsonResponse({{"from", *from_text},
                       {"to", *to_text},
                       {"added", std::move(added)},
                       {"removed", std::move(removed)},
                       {"modified", std::move(modified)}});
}

Response ResetBranchEndpoint(const Request& request, Service& service) {
  auto parsed = WriteQuery(request, service, {.once = {"branch", "to"}});
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  const Query& query = std::get<Query>(parsed);
  const std::optional<std::string> to_text = query.Get("to");
  if (!to_text) return JsonError({400, "name the commit: /_reset?branch=B&to=COMMIT"});
  auto to = Hash::FromHex(*to_text);
  if (!to.ok()) return JsonError({400, "to must be a commit id of 64 hex digits"});
  const std::string branch = query.Get("branch").value_or(service.config.default_branch);
  if (auto error = CheckForkName(branch)) return JsonError(*error);
  auto reset = service.store->ResetBranch(branch, *to);
  if (!reset.ok()) return JsonError(StoreErrorOnBranch(reset.status(), service, branch));
  if (reset->commit.IsZero()) {  // the branch had that state already
    return OkResponse({{"branch", branch}, {"commit", nullptr}, {"revision", reset->revision}});
  }
  // The reset commit's parent is the head it replaced, whatever wrote meanwhile.
  auto commit = service.store->GetCommit(reset->commit);
  if (!commit.ok()) return StoreErrorResponse(commit.status(), Format::kJson);
  return OkResponse({{"branch", branch},
                     {"commit", reset->commit.Hex()},
                     {"revision", reset->revision},
                     {"previous", commit->parents.empty()
                                      ? nlohmann::ordered_json()
                                      : nlohmann::ordered_json(commit->parents.front().Hex())}});
}

}  // namespace kvs::server
