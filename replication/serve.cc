// Protocol messages to Peer calls and back (replication/serve.h).
#include "replication/serve.h"

#include <array>

namespace kvs::replication {
namespace {

constexpr std::array<std::pair<Op, std::string_view>, 8> kOps = {{
    {Op::kHello, "hello"},
    {Op::kChanges, "changes"},
    {Op::kWalk, "walk"},
    {Op::kFetch, "fetch"},
    {Op::kDiff, "diff"},
    {Op::kLacking, "lacking"},
    {Op::kApply, "apply"},
    {Op::kWait, "wait"},
}};

// body[name], or InvalidArgument naming it.
Result<Json> Field(const Json& body, const char* name) {
  if (!body.is_object() || !body.contains(name)) {
    return Status::InvalidArgument(std::string("the message has no \"") + name + "\"");
  }
  return body.at(name);
}

template <typename T>
Result<T> Number(const Json& body, const char* name) {
  KVS_ASSIGN_OR_RETURN(Json j, Field(body, name));
  if (!j.is_number_unsigned()) {
    return Status::InvalidArgument(std::string("\"") + name + "\" is not a count");
  }
  return j.get<T>();
}

// A fetch message's ids and byte budget.
Result<std::pair<std::vector<VersionId>, size_t>> FetchRequest(const Json& body) {
  KVS_ASSIGN_OR_RETURN(Json ids_json, Field(body, "ids"));
  KVS_ASSIGN_OR_RETURN(std::vector<VersionId> ids, IdsFromJson(ids_json));
  KVS_ASSIGN_OR_RETURN(size_t max_bytes, Number<size_t>(body, "max_bytes"));
  return std::pair{std::move(ids), max_bytes};
}

}  // namespace

std::optional<Op> OpNamed(std::string_view name) {
  for (const auto& [op, op_name] : kOps) {
    if (op_name == name) return op;
  }
  return std::nullopt;
}

std::string_view OpName(Op op) {
  for (const auto& [known, name] : kOps) {
    if (known == op) return name;
  }
  return "";
}

Result<Json> Answer(Peer& peer, Op op, const Json& body) {
  switch (op) {
    case Op::kHello: {
      KVS_ASSIGN_OR_RETURN(Json prefix, Field(body, "checkpoints"));
      if (!prefix.is_string()) return Status::InvalidArgument("\"checkpoints\" is not a string");
      KVS_ASSIGN_OR_RETURN(PeerInfo info, peer.Hello(prefix.get<std::string>()));
      return ToJson(info);
    }
    case Op::kChanges: {
      KVS_ASSIGN_OR_RETURN(FeedRequest request, FeedRequestFromJson(body));
      KVS_ASSIGN_OR_RETURN(FeedPage page, peer.Changes(request));
      return ToJson(page);
    }
    case Op::kWalk: {
      KVS_ASSIGN_OR_RETURN(Json from_json, Field(body, "from"));
      KVS_ASSIGN_OR_RETURN(std::vector<VersionId> from, IdsFromJson(from_json));
      KVS_ASSIGN_OR_RETURN(Json stop_json, Field(body, "stop"));
      KVS_ASSIGN_OR_RETURN(std::vector<VersionId> stop, IdsFromJson(stop_json));
      KVS_ASSIGN_OR_RETURN(size_t limit, Number<size_t>(body, "limit"));
      KVS_ASSIGN_OR_RETURN(std::vector<WalkEntry> entries, peer.Walk(from, stop, limit));
      return Json{{"versions", ToJson(entries)}};
    }
    case Op::kFetch: {
      KVS_ASSIGN_OR_RETURN(auto request, FetchRequest(body));
      KVS_ASSIGN_OR_RETURN(std::vector<ReplicatedVersion> versions,
                           peer.Fetch(request.first, request.second));
      return Json{{"versions", ToJson(versions)}};
    }
    case Op::kDiff: {
      KVS_ASSIGN_OR_RETURN(Json branch, Field(body, "branch"));
      if (!branch.is_string()) return Status::InvalidArgument("\"branch\" is not a string");
      KVS_ASSIGN_OR_RETURN(Json keys_json, Field(body, "keys"));
      KVS_ASSIGN_OR_RETURN(std::vector<KeyHeads> keys, KeyHeadsFromJson(keys_json));
      KVS_ASSIGN_OR_RETURN(std::vector<KeyNeed> needs, peer.Diff(branch.get<std::string>(), keys));
      return Json{{"keys", ToJson(needs)}};
    }
    case Op::kLacking: {
      KVS_ASSIGN_OR_RETURN(Json ids_json, Field(body, "ids"));
      KVS_ASSIGN_OR_RETURN(std::vector<VersionId> ids, IdsFromJson(ids_json));
      KVS_ASSIGN_OR_RETURN(std::vector<VersionId> lacking, peer.Lacking(ids));
      return Json{{"ids", IdsJson(lacking)}};
    }
    case Op::kApply: {
      KVS_ASSIGN_OR_RETURN(ReplicationBatch batch, BatchFromJson(body));
      KVS_ASSIGN_OR_RETURN(Json may_fork_json, Field(body, "may_fork"));
      KVS_ASSIGN_OR_RETURN(std::vector<KeyHeads> may_fork, KeyHeadsFromJson(may_fork_json));
      std::vector<std::string> keys;
      for (KeyHeads& k : may_fork) keys.push_back(std::move(k.key));
      KVS_ASSIGN_OR_RETURN(ApplyOutcome outcome, peer.Apply(batch, keys));
      return ToJson(outcome);
    }
    case Op::kWait: {
      KVS_ASSIGN_OR_RETURN(WaitRequest request, WaitRequestFromJson(body));
      KVS_ASSIGN_OR_RETURN(WaitOutcome outcome, peer.Wait(request));
      return ToJson(outcome);
    }
  }
  return Status::InvalidArgument("unknown message");
}

Result<std::string> AnswerFetch(Peer& peer, const Json& body) {
  KVS_ASSIGN_OR_RETURN(auto request, FetchRequest(body));
  KVS_ASSIGN_OR_RETURN(std::vector<ReplicatedVersion> versions,
                       peer.Fetch(request.first, request.second));
  return FetchAnswerText(versions);
}

Result<Json> AnswerApply(Peer& peer, std::string_view request) {
  KVS_ASSIGN_OR_RETURN(ApplyRequest apply, ApplyRequestFromText(request));
  KVS_ASSIGN_OR_RETURN(ApplyOutcome outcome, peer.Apply(apply.batch, apply.may_fork));
  return ToJson(outcome);
}

Result<PeerInfo> RemotePeer::Hello(const std::string& checkpoint_prefix) {
  KVS_ASSIGN_OR_RETURN(Json answer, Call(Op::kHello, {{"checkpoints", checkpoint_prefix}}));
  return PeerInfoFromJson(answer);
}

Result<FeedPage> RemotePeer::Changes(const FeedRequest& request) {
  KVS_ASSIGN_OR_RETURN(Json answer, Call(Op::kChanges, ToJson(request)));
  return FeedPageFromJson(answer);
}

Result<std::vector<WalkEntry>> RemotePeer::Walk(const std::vector<VersionId>& from,
                                                const std::vector<VersionId>& stop, size_t limit) {
  KVS_ASSIGN_OR_RETURN(
      Json answer,
      Call(Op::kWalk, {{"from", IdsJson(from)}, {"stop", IdsJson(stop)}, {"limit", limit}}));
  KVS_ASSIGN_OR_RETURN(Json versions, Field(answer, "versions"));
  return WalkEntriesFromJson(versions);
}

Result<std::vector<ReplicatedVersion>> RemotePeer::Fetch(const std::vector<VersionId>& ids,
                                                         size_t max_bytes) {
  return CallFetch({{"ids", IdsJson(ids)}, {"max_bytes", max_bytes}});
}

Result<std::vector<ReplicatedVersion>> RemotePeer::CallFetch(const Json& body) {
  KVS_ASSIGN_OR_RETURN(Json answer, Call(Op::kFetch, body));
  KVS_ASSIGN_OR_RETURN(Json versions, Field(answer, "versions"));
  return VersionsFromJson(versions);
}

Result<std::vector<KeyNeed>> RemotePeer::Diff(const std::string& branch,
                                              const std::vector<KeyHeads>& keys) {
  KVS_ASSIGN_OR_RETURN(Json answer, Call(Op::kDiff, {{"branch", branch}, {"keys", ToJson(keys)}}));
  KVS_ASSIGN_OR_RETURN(Json needs, Field(answer, "keys"));
  return KeyNeedsFromJson(needs);
}

Result<std::vector<VersionId>> RemotePeer::Lacking(const std::vector<VersionId>& ids) {
  KVS_ASSIGN_OR_RETURN(Json answer, Call(Op::kLacking, {{"ids", IdsJson(ids)}}));
  KVS_ASSIGN_OR_RETURN(Json lacking, Field(answer, "ids"));
  return IdsFromJson(lacking);
}

Result<ApplyOutcome> RemotePeer::Apply(const ReplicationBatch& batch,
                                       const std::vector<std::string>& may_fork) {
  return CallApply(batch, may_fork);
}

Result<ApplyOutcome> RemotePeer::CallApply(const ReplicationBatch& batch,
                                           const std::vector<std::string>& may_fork) {
  Json message = ToJson(batch);
  std::vector<KeyHeads> keys;  // the key list's form: {"key"} or {"key64"}
  for (const std::string& key : may_fork) keys.push_back({key, {}});
  message["may_fork"] = ToJson(keys);
  KVS_ASSIGN_OR_RETURN(Json answer, Call(Op::kApply, message));
  return ApplyOutcomeFromJson(answer);
}

Result<WaitOutcome> RemotePeer::Wait(const WaitRequest& request) {
  KVS_ASSIGN_OR_RETURN(Json answer, Call(Op::kWait, ToJson(request)));
  return WaitOutcomeFromJson(answer);
}

}  // namespace kvs::replication
