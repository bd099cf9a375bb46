// JSON encoding of the replication messages (replication/protocol.h).
#include "replication/protocol.h"


#include "common/json_value.h"

namespace kvs::replication {
namespace {

// Bytes as a JSON string when they are UTF-8, else base64 under name + "64".
void SetBytes(Json& object, const char* name, std::string_view bytes) {
  if (common::IsValidUtf8(bytes)) {
    object[name] = bytes;
  } else {
    object[std::string(name) + "64"] = common::Base64Encode(bytes);
  }
}

// The inverse of SetBytes; throws (caught by Decode) when neither is there.
std::string GetBytes(const Json& object, const char* name) {
  if (auto it = object.find(name); it != object.end()) return it->get<std::string>();
  auto encoded = common::Base64Decode(object.at(std::string(name) + "64").get<std::string>());
  if (!encoded) throw std::invalid_argument(std::string(name) + "64 is not base64");
  return *encoded;
}

VersionId IdFrom(const Json& j) {
  auto id = Hash::FromHex(j.get_ref<const std::string&>());
  if (!id.ok()) throw std::invalid_argument(id.status().message());
  return *id;
}

ReplicaId ReplicaFrom(const Json& j) {
  std::optional<ReplicaId> replica = ReplicaId::FromHex(j.get_ref<const std::string&>());
  if (!replica) throw std::invalid_argument("bad replica id");
  return *replica;
}

std::vector<VersionId> IdsFrom(const Json& j) {
  std::vector<VersionId> ids;
  ids.reserve(j.size());
  for (const Json& id : j) ids.push_back(IdFrom(id));
  return ids;
}

std::vector<KeyHeads> KeyHeadsFrom(const Json& j) {
  std::vector<KeyHeads> keys;
  for (const Json& entry : j) keys.push_back({GetBytes(entry, "key"), IdsFrom(entry.at("heads"))});
  return keys;
}

std::vector<ReplicatedVersion> VersionsFrom(const Json& j) {
  std::vector<ReplicatedVersion> versions;
  versions.reserve(j.size());
  for (const Json& e : j) {
    ReplicatedVersion v;
    v.id = IdFrom(e.at("id"));
    v.key = GetBytes(e, "key");
    v.parents = IdsFrom(e.at("parents"));
    if (e.contains("value") || e.contains("value64")) v.value = GetBytes(e, "value");
    v.time_ns = e.at("time").get<int64_t>();
    v.replica = ReplicaFrom(e.at("replica"));
    v.json = e.value("json", false);
    versions.push_back(std::move(v));
  }
  return versions;
}

// Runs a decoder, turning what nlohmann or the helpers throw into an
// InvalidArgument that says which message was malformed.
template <typename T, typename F>
Result<T> Decode(const char* what, F decode) {
  try {
    return decode();
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed ") + what + ": " + e.what());
  }
}

}  // namespace

Json IdsJson(const std::vector<VersionId>& ids) {
  Json out = Json::array();
  for (const VersionId& id : ids) out.push_back(id.Hex());
  return out;
}

Result<std::vector<VersionId>> IdsFromJson(const Json& j) {
  return Decode<std::vector<VersionId>>("version id list", [&] { return IdsFrom(j); });
}

Json ToJson(const PeerInfo& info) {
  Json checkpoints = Json::object();
  for (const auto& [name, value] : info.checkpoints) checkpoints[name] = value;
  return {{"replica", info.replica.Hex()},
          {"revision", info.revision},
          {"branches", info.branches},
          {"checkpoints", checkpoints}};
}

Result<PeerInfo> PeerInfoFromJson(const Json& j) {
  return Decode<PeerInfo>("hello", [&] {
    PeerInfo info;
    info.replica = ReplicaFrom(j.at("replica"));
    info.revision = j.at("revision").get<uint64_t>();
    info.branches = j.at("branches").get<std::vector<std::string>>();
    for (const auto& [name, value] : j.at("checkpoints").items()) {
      info.checkpoints.emplace_back(name, value.get<std::string>());
    }
    return info;
  });
}

Json ToJson(const FeedRequest& r) {
  Json j = {{"branch", r.branch},
            {"since", r.since},
            {"since_time", r.since_time_ns},
            {"full", r.full},
            {"limit", r.limit}};
  SetBytes(j, "prefix", r.prefix);
  SetBytes(j, "after", r.after);
  return j;
}

Result<FeedRequest> FeedRequestFromJson(const Json& j) {
  return Decode<FeedRequest>("changes request", [&] {
    FeedRequest r;
    r.branch = j.at("branch").get<std::string>();
    r.prefix = GetBytes(j, "prefix");
    r.since = j.at("since").get<uint64_t>();
    r.since_time_ns = j.at("since_time").get<int64_t>();
    r.full = j.at("full").get<bool>();
    r.after = GetBytes(j, "after");
    r.limit = j.at("limit").get<size_t>();
    return r;
  });
}

Json ToJson(const std::vector<KeyHeads>& keys) {
  Json out = Json::array();
  for (const KeyHeads& k : keys) {
    Json entry = {{"heads", IdsJson(k.heads)}};
    SetBytes(entry, "key", k.key);
    out.push_back(std::move(entry));
  }
  return out;
}

Result<std::vector<KeyHeads>> KeyHeadsFromJson(const Json& j) {
  return Decode<std::vector<KeyHeads>>("key list", [&] { return KeyHeadsFrom(j); });
}

Json ToJson(const FeedPage& p) {
  return {{"keys", ToJson(p.keys)}, {"reset", p.reset},
          {"through", p.through},   {"through_time", p.through_time_ns},
          {"revision", p.revision}, {"revision_time", p.revision_time_ns},
          {"more", p.more}};
}

Result<FeedPage> FeedPageFromJson(const Json& j) {
  return Decode<FeedPage>("changes page", [&] {
    FeedPage p;
    p.keys = KeyHeadsFrom(j.at("keys"));
    p.reset = j.at("reset").get<bool>();
    p.through = j.at("through").get<uint64_t>();
    p.through_time_ns = j.at("through_time").get<int64_t>();
    p.revision = j.at("revision").get<uint64_t>();
    p.revision_time_ns = j.at("revision_time").get<int64_t>();
    p.more = j.at("more").get<bool>();
    return p;
  });
}

Json ToJson(const std::vector<KeyNeed>& needs) {
  Json out = Json::array();
  for (const KeyNeed& n : needs) {
    Json entry = {
        {"lacking", IdsJson(n.lacking)}, {"heads", IdsJson(n.heads)}, {"has_key", n.has_key}};
    SetBytes(entry, "key", n.key);
    out.push_back(std::move(entry));
  }
  return out;
}

Result<std::vector<KeyNeed>> KeyNeedsFromJson(const Json& j) {
  return Decode<std::vector<KeyNeed>>("diff answer", [&] {
    std::vector<KeyNeed> needs;
    for (const Json& e : j) {
      needs.push_back({GetBytes(e, "key"), IdsFrom(e.at("lacking")), IdsFrom(e.at("heads")),
                       e.at("has_key").get<bool>()});
    }
    return needs;
  });
}

Json ToJson(const std::vector<WalkEntry>& entries) {
  Json out = Json::array();
  for (const WalkEntry& e : entries) {
    Json entry = {{"id", e.id.Hex()}, {"parents", IdsJson(e.parents)}};
    if (e.dropped) entry["dropped"] = true;
    out.push_back(std::move(entry));
  }
  return out;
}

Result<std::vector<WalkEntry>> WalkEntriesFromJson(const Json& j) {
  return Decode<std::vector<WalkEntry>>("walk answer", [&] {
    std::vector<WalkEntry> entries;
    for (const Json& e : j) {
      entries.push_back({IdFrom(e.at("id")), IdsFrom(e.at("parents")), e.value("dropped", false)});
    }
    return entries;
  });
}

Json ToJson(const std::vector<ReplicatedVersion>& versions) {
  Json out = Json::array();
  for (const ReplicatedVersion& v : versions) {
    Json entry = {{"id", v.id.Hex()},
                  {"parents", IdsJson(v.parents)},
                  {"time", v.time_ns},
                  {"replica", v.replica.Hex()}};
    SetBytes(entry, "key", v.key);
    if (v.value) {
      SetBytes(entry, "value", *v.value);
      if (v.json) entry["json"] = true;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Result<std::vector<ReplicatedVersion>> VersionsFromJson(const Json& j) {
  return Decode<std::vector<ReplicatedVersion>>("version list", [&] { return VersionsFrom(j); });
}

Json ToJson(const ReplicationBatch& b) {
  Json j = {{"branch", b.branch},
            {"versions", ToJson(b.versions)},
            {"heads", IdsJson(b.heads)},
            {"dropped", IdsJson(b.dropped)},
            {"checkpoint", b.checkpoint}};
  SetBytes(j, "peer", b.peer);
  return j;
}

Result<ReplicationBatch> BatchFromJson(const Json& j) {
  return Decode<ReplicationBatch>("apply request", [&] {
    ReplicationBatch b;
    b.branch = j.at("branch").get<std::string>();
    b.versions = VersionsFrom(j.at("versions"));
    b.heads = IdsFrom(j.at("heads"));
    b.dropped = IdsFrom(j.at("dropped"));
    b.peer = GetBytes(j, "peer");
    b.checkpoint = j.at("checkpoint").get<std::string>();
    return b;
  });
}

Json ToJson(const WaitRequest& r) {
  Json j = {{"revision", r.revision}, {"branches", r.branches}, {"timeout_ms", r.timeout_ms}};
  SetBytes(j, "prefix", r.prefix);
  return j;
}

Result<WaitRequest> WaitRequestFromJson(const Json& j) {
  return Decode<WaitRequest>("wait request", [&] {
    WaitRequest r;
    r.revision = j.at("revision").get<uint64_t>();
    r.branches = j.at("branches").get<std::vector<std::string>>();
    r.prefix = GetBytes(j, "prefix");
    r.timeout_ms = j.at("timeout_ms").get<uint64_t>();
    return r;
  });
}

Json ToJson(const WaitOutcome& o) {
  return {{"changed", o.changed}, {"revision", o.revision}, {"busy", o.busy}};
}

Result<WaitOutcome> WaitOutcomeFromJson(const Json& j) {
  return Decode<WaitOutcome>("wait answer", [&] {
    return WaitOutcome{j.at("changed").get<bool>(), j.at("revision").get<uint64_t>(),
                       j.at("busy").get<bool>()};
  });
}

Json ToJson(const ApplyOutcome& o) {
  return {{"stored", o.stored}, {"forked", o.forked}, {"merged", o.merged}};
}

Result<ApplyOutcome> ApplyOutcomeFromJson(const Json& j) {
  return Decode<ApplyOutcome>("apply answer", [&] {
    return ApplyOutcome{j.at("stored").get<uint64_t>(),
                        j.at("forked").get<std::vector<std::string>>(),
                        j.at("merged").get<std::vector<std::string>>()};
  });
}

Result<Json> Parse(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("the message is not JSON");
  return j;
}

}  // namespace kvs::replication
