// JSON encoding of the replication messages (replication/protocol.h).
#include "replication/protocol.h"

#include <map>
#include <optional>

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

// A filter's hash ranges as text ("hash_ranges", left out when there are
// none: a peer that knows no such filter sends every key, which is more
// than asked for, never less).
void SetRanges(Json& object, const common::HashRanges& ranges) {
  if (!ranges.empty()) object["hash_ranges"] = common::HashRangesText(ranges);
}

common::HashRanges GetRanges(const Json& object) {
  auto it = object.find("hash_ranges");
  if (it == object.end()) return {};
  auto ranges = common::HashRangesFromText(it->get<std::string>());
  if (!ranges.ok()) throw std::invalid_argument(ranges.status().message());
  return *std::move(ranges);
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

// Reads the protocol's two large messages straight from their text into
// their structures, as the decoders below read the document, without
// building the document first (most of their parsing time went to its
// allocations): a fetch answer {"versions": [...]}, and an apply request
// {"branch", "versions", "heads", "dropped", "peer", "checkpoint",
// "may_fork"}. A member named twice in an object is refused, as the
// server's body parser refuses it; members it does not know are skipped.
class MessageReader : public nlohmann::json_sax<Json> {
 public:
  std::map<std::string, std::string> strings;         // the message's string members
  std::map<std::string, std::vector<VersionId>> ids;  // "heads", "dropped"
  std::vector<ReplicatedVersion> versions;
  std::vector<std::string> keys;  // "may_fork": its objects' keys
  std::string error;

  bool null() override { return Scalar("null"); }
  bool boolean(bool b) override {
    if (skip_ == 0 && depth_ == 3 && field_ == "json") {
      json_ = b;
      return true;
    }
    return Scalar("a boolean");
  }
  bool number_integer(number_integer_t n) override {
    if (skip_ == 0 && depth_ == 3 && field_ == "time") {
      time_ = n;
      return true;
    }
    return Scalar("a number");
  }
  bool number_unsigned(number_unsigned_t n) override {
    if (skip_ == 0 && depth_ == 3 && field_ == "time" && n <= uint64_t{INT64_MAX}) {
      time_ = static_cast<int64_t>(n);
      return true;
    }
    return Scalar("a number");
  }
  bool number_float(number_float_t, const string_t&) override { return Scalar("a number"); }
  bool binary(binary_t&) override { return Scalar("binary"); }
  bool string(string_t& text) override {
    if (skip_ > 0) return true;
    if (depth_ == 1) {
      strings[field_] = std::move(text);
      return true;
    }
    if (depth_ == 2 && ids.count(list_)) return Id(text, &ids[list_].emplace_back());
    if (depth_ == 4) return Id(text, &version_.parents.emplace_back());
    if (depth_ == 3) {
      auto it = members_.find(field_);
      if (it == members_.end()) return true;  // a member it does not know
      it->second = std::move(text);
      return true;
    }
    return Scalar("a string");
  }
  bool key(string_t& name) override {
    if (skip_ > 0) return true;
    std::vector<std::string>& seen = depth_ == 1 ? seen_[0] : seen_[1];
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return Fail("the member \"" + name + "\" is named twice");
    }
    seen.push_back(name);
    field_ = std::move(name);
    return true;
  }
  bool start_object(std::size_t) override {
    if (skip_ > 0 || (depth_ == 1 && !IsList(field_)) || (depth_ == 3 && field_ != "parents")) {
      ++skip_;
      return true;
    }
    if (depth_ == 0) {
      depth_ = 1;
      return true;
    }
    if (depth_ != 2 || ids.count(list_)) return Fail("an object where it expects none");
    depth_ = 3;
    Begin();
    return true;
  }
  bool end_object() override {
    if (skip_ > 0) {
      --skip_;
      return true;
    }
    if (depth_-- == 3) return End();
    return true;
  }
  bool start_array(std::size_t) override {
    if (skip_ > 0 || (depth_ == 1 && !IsList(field_)) || (depth_ == 3 && field_ != "parents")) {
      ++skip_;
      return true;
    }
    if (depth_ == 1) {
      list_ = field_;
      if (list_ == "heads" || list_ == "dropped") ids[list_];
      lists_.push_back(list_);
    } else if (depth_ == 3) {
      if (list_ != "versions") {
        ++skip_;  // a may_fork entry's heads: not needed
        return true;
      }
      has_parents_ = true;
    } else {
      return Fail("a list where it expects none");
    }
    ++depth_;
    return true;
  }
  bool end_array() override {
    if (skip_ > 0) {
      --skip_;
      return true;
    }
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    return Fail(e.what());
  }

  // Whether the message held the list named name.
  bool Has(const std::string& name) const {
    return std::find(lists_.begin(), lists_.end(), name) != lists_.end();
  }
  // A bytes member of the message: text as it is, or name + "64" decoded.
  Result<std::string> Bytes(const std::string& name) const {
    if (auto it = strings.find(name); it != strings.end()) return it->second;
    auto it = strings.find(name + "64");
    if (it == strings.end()) return Status::InvalidArgument("no \"" + name + "\"");
    std::optional<std::string> decoded = common::Base64Decode(it->second);
    if (!decoded) return Status::InvalidArgument(name + "64 is not base64");
    return std::move(*decoded);
  }

 private:
  static bool IsList(const std::string& name) {
    return name == "versions" || name == "may_fork" || name == "heads" || name == "dropped";
  }
  // A value where the message has none of that kind: fine in a member it
  // does not know, refused elsewhere.
  bool Scalar(const char* what) {
    if (skip_ > 0 || (depth_ == 1 && !IsList(field_)) ||
        (depth_ == 3 && field_ != "parents" && !members_.count(field_))) {
      return true;
    }
    return Fail(std::string(what) + " where the message has none");
  }
  bool Fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  bool Id(const std::string& hex, VersionId* id) {
    auto parsed = Hash::FromHex(hex);
    if (!parsed.ok()) return Fail(parsed.status().message());
    *id = *parsed;
    return true;
  }
  void Begin() {
    version_ = ReplicatedVersion();
    for (auto& [name, text] : members_) text.reset();
    seen_[1].clear();
    time_.reset();
    json_ = false;
    has_parents_ = false;
  }
  // An object's bytes member: text as it is, or name + "64" decoded.
  bool ObjectBytes(const std::string& name, bool required, std::optional<std::string>* out) {
    if (auto& text = members_[name]) {
      *out = std::move(*text);
      return true;
    }
    if (auto& encoded = members_[name + "64"]) {
      *out = common::Base64Decode(*encoded);
      if (!*out) return Fail(name + "64 is not base64");
      return true;
    }
    if (required) return Fail("an entry has no " + name);
    return true;
  }
  bool End() {
    std::optional<std::string> key;
    if (!ObjectBytes("key", true, &key)) return false;
    if (list_ == "may_fork") {
      keys.push_back(std::move(*key));
      return true;
    }
    auto& id = members_["id"];
    auto& replica = members_["replica"];
    if (!id || !replica || !time_ || !has_parents_) {
      return Fail("a version lacks its id, parents, time or replica");
    }
    if (!Id(*id, &version_.id)) return false;
    std::optional<ReplicaId> from = ReplicaId::FromHex(*replica);
    if (!from) return Fail("bad replica id");
    version_.replica = *from;
    version_.time_ns = *time_;
    version_.json = json_;
    version_.key = std::move(*key);
    if (!ObjectBytes("value", false, &version_.value)) return false;
    versions.push_back(std::move(version_));
    return true;
  }

  int depth_ = 0;      // 1 the message, 2 a list, 3 an object of a list, 4 its parents
  int skip_ = 0;       // how deep inside a value it does not know
  std::string field_;  // the member being read
  std::string list_;   // the list being read
  std::vector<std::string> lists_;
  std::vector<std::string> seen_[2];  // member names: the message's, the object's
  ReplicatedVersion version_;
  std::map<std::string, std::optional<std::string>> members_ = {
      {"id", {}}, {"key", {}}, {"key64", {}}, {"value", {}}, {"value64", {}}, {"replica", {}}};
  std::optional<int64_t> time_;
  bool json_ = false;
  bool has_parents_ = false;
};

// Reads text with a MessageReader: InvalidArgument naming `what` when it
// is malformed.
Status Read(std::string_view text, const char* what, MessageReader* reader) {
  if (!Json::sax_parse(text, reader)) {
    return Status::InvalidArgument(std::string("malformed ") + what + ": " + reader->error);
  }
  return Status::OK();
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
  SetRanges(j, r.hash_ranges);
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
    r.hash_ranges = GetRanges(j);
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

Result<std::vector<ReplicatedVersion>> FetchAnswerFromText(std::string_view text) {
  MessageReader reader;
  KVS_RETURN_IF_ERROR(Read(text, "version list", &reader));
  if (!reader.Has("versions")) return Status::InvalidArgument("malformed version list: none");
  return std::move(reader.versions);
}

namespace {

// name and bytes as SetBytes puts them in an object, after a comma.
void AppendBytes(std::string* out, const char* name, std::string_view bytes) {
  const bool text = common::IsValidUtf8(bytes);
  *out += ",\"";
  *out += name;
  *out += text ? "\":" : "64\":\"";
  if (text) {
    common::AppendJsonValue(out, bytes);
  } else {
    *out += common::Base64Encode(bytes);
    *out += '"';
  }
}

// ids as ToJson puts them, a list of hex strings.
void AppendIds(std::string* out, const std::vector<VersionId>& ids) {
  out->push_back('[');
  for (size_t i = 0; i < ids.size(); ++i) {
    *out += i > 0 ? ",\"" : "\"";
    *out += ids[i].Hex();
    out->push_back('"');
  }
  out->push_back(']');
}

// versions as ToJson puts them.
void AppendVersions(std::string* out, const std::vector<ReplicatedVersion>& versions) {
  out->push_back('[');
  for (size_t i = 0; i < versions.size(); ++i) {
    const ReplicatedVersion& v = versions[i];
    if (i > 0) out->push_back(',');
    *out += "{\"id\":\"" + v.id.Hex() + "\",\"parents\":";
    AppendIds(out, v.parents);
    *out += ",\"time\":" + std::to_string(v.time_ns) + ",\"replica\":\"" + v.replica.Hex() + '"';
    AppendBytes(out, "key", v.key);
    if (v.value) {
      AppendBytes(out, "value", *v.value);
      if (v.json) *out += ",\"json\":true";
    }
    out->push_back('}');
  }
  out->push_back(']');
}

}  // namespace

std::string FetchAnswerText(const std::vector<ReplicatedVersion>& versions) {
  std::string out = "{\"versions\":";
  AppendVersions(&out, versions);
  out += "}\n";
  return out;
}

std::string ApplyRequestText(const ReplicationBatch& b, const std::vector<std::string>& may_fork) {
  std::string out = "{\"branch\":";
  common::AppendJsonValue(&out, b.branch);
  out += ",\"versions\":";
  AppendVersions(&out, b.versions);
  out += ",\"heads\":";
  AppendIds(&out, b.heads);
  out += ",\"dropped\":";
  AppendIds(&out, b.dropped);
  out += ",\"checkpoint\":";
  common::AppendJsonValue(&out, b.checkpoint);
  AppendBytes(&out, "peer", b.peer);
  out += ",\"may_fork\":[";
  for (size_t i = 0; i < may_fork.size(); ++i) {
    out += i > 0 ? ",{\"heads\":[]" : "{\"heads\":[]";
    AppendBytes(&out, "key", may_fork[i]);
    out.push_back('}');
  }
  out += "]}\n";
  return out;
}

Result<ApplyRequest> ApplyRequestFromText(std::string_view text) {
  MessageReader reader;
  KVS_RETURN_IF_ERROR(Read(text, "apply request", &reader));
  for (const char* list : {"versions", "heads", "dropped", "may_fork"}) {
    if (!reader.Has(list)) {
      return Status::InvalidArgument(std::string("malformed apply request: no list \"") + list +
                                     "\"");
    }
  }
  ApplyRequest request;
  ReplicationBatch& b = request.batch;
  for (auto [name, into] : {std::pair{"branch", &b.branch}, {"checkpoint", &b.checkpoint}}) {
    auto it = reader.strings.find(name);
    if (it == reader.strings.end()) {
      return Status::InvalidArgument(std::string("malformed apply request: no \"") + name + "\"");
    }
    *into = std::move(it->second);
  }
  auto peer = reader.Bytes("peer");
  if (!peer.ok())
    return Status::InvalidArgument("malformed apply request: " + peer.status().message());
  b.peer = std::move(*peer);
  b.versions = std::move(reader.versions);
  b.heads = std::move(reader.ids["heads"]);
  b.dropped = std::move(reader.ids["dropped"]);
  request.may_fork = std::move(reader.keys);
  return request;
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
  SetRanges(j, r.hash_ranges);
  if (r.each_revision) j["each_revision"] = true;  // older peers ignore it, and wait
  return j;
}

Result<WaitRequest> WaitRequestFromJson(const Json& j) {
  return Decode<WaitRequest>("wait request", [&] {
    WaitRequest r;
    r.revision = j.at("revision").get<uint64_t>();
    r.branches = j.at("branches").get<std::vector<std::string>>();
    r.prefix = GetBytes(j, "prefix");
    r.timeout_ms = j.at("timeout_ms").get<uint64_t>();
    r.hash_ranges = GetRanges(j);
    r.each_revision = j.value("each_revision", false);
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
