// Whole-branch merges and merging transactions.
#include "faces/branches/merges.h"

#include <map>
#include <nlohmann/json.hpp>

#include "common/json_value.h"
#include "common/time.h"
#include "http/json_body.h"
#include "http/key_errors.h"
#include "http/query.h"
#include "merge/key_merge.h"
#include "merge/transaction.h"

namespace kvs::server {
namespace {

nlohmann::ordered_json ConflictsJson(const std::vector<merge::KeyConflict>& conflicts) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const merge::KeyConflict& c : conflicts) {
    list.push_back({{"key", c.key}, {"reason", c.reason}});
  }
  return list;
}

// 409 naming the keys that cannot be merged.
Response ConflictResponse(const std::string& what,
                          const std::vector<merge::KeyConflict>& conflicts) {
  std::string keys;
  for (const merge::KeyConflict& c : conflicts) keys += (keys.empty() ? "'" : ", '") + c.key + "'";
  nlohmann::ordered_json body = {
      {"status", "error"},
      {"error", "conflict"},
      {"message", what + ": " + std::to_string(conflicts.size()) +
                      (conflicts.size() == 1 ? " key" : " keys") + " cannot be merged (" + keys +
                      "); nothing was written"},
      {"conflicts", ConflictsJson(conflicts)}};
  Response response = JsonResponse(body);
  response.status = 409;
  return response;
}

}  // namespace

Response MergeBranches(const Request& request, Service& service) {
  auto parsed = WriteQuery(request, service, {.once = {"from", "into", "strategy", "dry_run"}});
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  const Query& query = std::get<Query>(parsed);
  const std::optional<std::string> source = query.Get("from");
  const std::optional<std::string> target = query.Get("into");
  if (!source || !target) {
    return JsonError({400, "name both branches: /_merge?from=SOURCE&into=TARGET"});
  }
  for (const std::string* name : {&*source, &*target}) {
    if (auto error = CheckForkName(*name)) return JsonError(*error);
  }
  if (*source == *target) return JsonError({400, "a branch cannot be merged into itself"});
  const std::string& from = *source;
  const std::string& into = *target;
  bool dry_run = false;
  if (auto text = query.Get("dry_run")) {
    auto flag = FlagValue("dry_run", *text);
    if (auto* error = std::get_if<HttpError>(&flag)) return JsonError(*error);
    dry_run = std::get<bool>(flag);
  }
  std::vector<MergeRule> request_rules;
  if (auto text = query.Get("strategy")) {
    auto function = StrategyValue(*text);
    if (auto* error = std::get_if<HttpError>(&function)) return JsonError(*error);
    request_rules.push_back({"*", std::get<merge::MergeFunction>(function)});
  }
  auto function_for = [&](const std::string& key) {
    return merge::FunctionFor(key, {&request_rules, &service.config.merge_rules});
  };

  return RetryOnConflict(
      [&]() -> std::optional<Response> {
        auto plan = merge::PlanBranchMerge(*service.store, from, into, function_for);
        if (!plan.ok()) return StoreErrorResponse(plan.status(), Format::kJson, "fork_not_found");
        nlohmann::ordered_json changes = nlohmann::ordered_json::array();
        for (const merge::KeyChange& change : plan->changes) {
          changes.push_back({{"key", change.key},
                             {"merge", merge::KeyMergeOutcomeName(change.outcome)},
                             {"value", change.value ? common::ValueJson(*change.value, change.json)
                                                    : nlohmann::ordered_json()}});
        }
        nlohmann::ordered_json answer = {{"from", from}, {"into", into}};
        if (dry_run) {
          answer["dry_run"] = true;
          answer["changes"] = std::move(changes);
          answer["conflicts"] = ConflictsJson(plan->conflicts);
          answer["up_to_date"] = plan->up_to_date;
          return OkResponse(std::move(answer));
        }
        if (!plan->conflicts.empty()) {
          return ConflictResponse("merging '" + from + "' into '" + into + "'", plan->conflicts);
        }
        answer["changes"] = std::move(changes);
        answer["up_to_date"] = plan->up_to_date;
        if (plan->batch.writes.empty()) {
          answer["commit"] = nullptr;
          return OkResponse(std::move(answer));
        }
        auto written = service.store->Write(plan->batch);
        if (written.status().IsConflict()) return std::nullopt;  // a key moved meanwhile
        if (!written.ok()) return StoreErrorResponse(written.status(), Format::kJson);
        answer["commit"] = written->commit.Hex();
        answer["revision"] = written->revision;
        return OkResponse(std::move(answer));
      },
      "branch '" + into + "' kept changing while merging; try again");
}

namespace {

// A value of "set": a JSON string is its text and {"base64": "..."} its
// bytes; any other JSON (a number, true, null, a list, another object) is
// stored as its JSON text, to be read back as JSON. nullopt: bad base64.
std::optional<std::pair<std::string, bool>> ValueFromJson(const nlohmann::ordered_json& v) {
  if (v.is_string()) return std::pair(v.get<std::string>(), false);
  if (v.is_object() && v.size() == 1 && v.contains("base64") && v["base64"].is_string()) {
    auto bytes = common::Base64Decode(v["base64"].get<std::string>());
    if (!bytes) return std::nullopt;
    return std::pair(std::move(*bytes), false);
  }
  return std::pair(v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace), true);
}

std::variant<merge::Transaction, HttpError> ParseTxn(const std::string& text,
                                                     const Service& service) {
  // Ordered: the first matching merge pattern wins, in the order sent.
  auto parsed = ParseJsonObjectBody(text, R"({"set": {"k": "v"}})");
  if (auto* error = std::get_if<HttpError>(&parsed)) return std::move(*error);
  const nlohmann::ordered_json& body = std::get<nlohmann::ordered_json>(parsed);
  merge::Transaction txn;
  txn.branch = service.config.default_branch;
  for (const auto& [field, value] : body.items()) {
    if (field == "branch") {
      if (!value.is_string()) return HttpError{400, "branch must be a string"};
      txn.branch = value.get<std::string>();
      if (auto error = CheckForkName(txn.branch)) return std::move(*error);
    } else if (field == "base") {
      auto id = value.is_string() ? Hash::FromHex(value.get<std::string>())
                                  : Result<Hash>(Status::InvalidArgument(""));
      if (!id.ok()) return HttpError{400, "base must be a commit id of 64 hex digits"};
      txn.base = *id;
    } else if (field == "set") {
      if (!value.is_object()) return HttpError{400, "set must be an object of key: value"};
      for (const auto& [key, v] : value.items()) {
        auto bytes = ValueFromJson(v);
        if (!bytes) {
          return HttpError{400, "the value of '" + key + "' is {\"base64\": ...} but not base64"};
        }
        if (txn.writes.count(key)) {
          return HttpError{400, "key '" + key + "' is both set and deleted"};
        }
        txn.writes[key] = std::move(bytes->first);
        if (bytes->second) txn.json.insert(key);
      }
    } else if (field == "delete") {
      if (!value.is_array()) return HttpError{400, "delete must be an array of keys"};
      for (const auto& key : value) {
        if (!key.is_string()) return HttpError{400, "delete must be an array of keys"};
        if (txn.writes.count(key.get<std::string>())) {
          return HttpError{400, "key '" + key.get<std::string>() + "' is both set and deleted"};
        }
        txn.writes[key.get<std::string>()] = std::nullopt;
      }
    } else if (field == "merge") {
      if (!value.is_object()) return HttpError{400, "merge must be an object of pattern: function"};
      for (const auto& [pattern, name] : value.items()) {
        auto function =
            name.is_string() ? merge::ParseMergeFunction(name.get<std::string>()) : std::nullopt;
        if (!function) {
          return HttpError{400,
                           "merge: pattern '" + pattern + "' names no merge function (known: " +
                               merge::MergeFunctionNames() + ")",
                           "unknown_strategy"};
        }
        txn.rules.push_back({pattern, *function});
      }
    } else {
      return HttpError{400,
                       "unknown field '" + field + "' (known: branch, base, set, delete, merge)"};
    }
  }
  if (txn.writes.empty()) return HttpError{400, "nothing to commit: set or delete some keys"};
  if (txn.writes.size() > service.config.limits.max_keys_per_transaction) {
    return HttpError{400, std::to_string(txn.writes.size()) +
                              " keys in one transaction; the limit is " +
                              std::to_string(service.config.limits.max_keys_per_transaction) +
                              " (limits.max_keys_per_transaction)"};
  }
  for (const auto& [key, value] : txn.writes) {
    if (auto error = CheckKey(key, service.config.limits)) return std::move(*error);
    if (value && value->size() > service.config.limits.max_value_bytes) {
      return HttpError{413, "the value of '" + key + "' is over limits.max_value_bytes",
                       "value_too_large"};
    }
  }
  return txn;
}

}  // namespace

Response CommitTransaction(const Request& request, Service& service) {
  if (auto refused = RefuseBareWrite(request, service)) return JsonError(*refused);
  auto parsed = ParseTxn(request.body, service);
  if (auto* error = std::get_if<HttpError>(&parsed)) return JsonError(*error);
  const merge::Transaction& txn = std::get<merge::Transaction>(parsed);
  Store& store = *service.store;
  if (txn.base) {
    auto commit = store.GetCommit(*txn.base);
    if (!commit.ok()) return StoreErrorResponse(commit.status(), Format::kJson);
  }
  return RetryOnConflict(
      [&]() -> std::optional<Response> {
        const int64_t now_ns = common::WallClockNs();
        auto plan = merge::PlanTransaction(store, txn, service.config.merge_rules, now_ns);
        if (!plan.ok()) return JsonError(StoreErrorOnBranch(plan.status(), service, txn.branch));
        if (!plan->conflicts.empty()) {
          return ConflictResponse("the transaction on '" + txn.branch + "'", plan->conflicts);
        }
        if (plan->batch.writes.empty()) {
          return OkResponse({{"commit", nullptr}, {"revision", nullptr}});
        }
        auto written = store.Write(plan->batch);
        if (written.status().IsConflict()) return std::nullopt;  // a key moved meanwhile
        if (!written.ok()) {
          return JsonError(StoreErrorOnBranch(written.status(), service, txn.branch));
        }
        Response response =
            JsonResponse({{"commit", written->commit.Hex()}, {"revision", written->revision}});
        response.headers.Set("X-Kvs-Revision", std::to_string(written->revision));
        return response;
      },
      "the keys kept changing on '" + txn.branch + "'; try again");
}

}  // namespace kvs::server
