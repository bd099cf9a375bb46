// The protocol's JSON form: the large messages (a fetch answer, an apply
// request) read from their text decode as their documents do, and are
// refused where the documents are.
#include "replication/protocol.h"

#include <catch2/catch.hpp>

#include "common/json_value.h"

namespace kvs::replication {
namespace {

std::vector<ReplicatedVersion> Sample() {
  ReplicatedVersion text;
  text.key = "greeting";
  text.value = "héllo \"world\"\n";
  text.time_ns = 1700000000123456789;
  text.replica.bytes[0] = 7;
  text.id.bytes[0] = 1;  // ids travel as they are: no need to be real here

  ReplicatedVersion binary;
  binary.key = std::string("bin\xff", 4);
  binary.value = std::string("\x00\x01\xfe", 3);
  binary.parents = {text.id};
  binary.time_ns = 5;
  binary.id.bytes[31] = 2;

  ReplicatedVersion json;
  json.key = "doc";
  json.value = R"({"a":[1,2]})";
  json.json = true;
  json.parents = {text.id, binary.id};
  json.id.bytes[5] = 3;

  ReplicatedVersion deleted;  // a tombstone: no value
  deleted.key = "greeting";
  deleted.parents = {text.id};
  deleted.time_ns = -3;  // before 1970 is a time too
  deleted.id.bytes[9] = 4;
  return {text, binary, json, deleted};
}

void RequireEqual(const std::vector<ReplicatedVersion>& a,
                  const std::vector<ReplicatedVersion>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].id == b[i].id);
    CHECK(a[i].key == b[i].key);
    CHECK(a[i].value == b[i].value);
    CHECK(a[i].parents == b[i].parents);
    CHECK(a[i].time_ns == b[i].time_ns);
    CHECK(a[i].replica == b[i].replica);
    CHECK(a[i].json == b[i].json);
  }
}

std::string Answer(const std::vector<ReplicatedVersion>& versions) {
  return common::DumpJson(Json{{"versions", ToJson(versions)}});
}

}  // namespace

TEST_CASE("a fetch answer read from its text is what its document decodes to") {
  const std::vector<ReplicatedVersion> sent = Sample();
  auto read = FetchAnswerFromText(Answer(sent));
  REQUIRE(read.ok());
  RequireEqual(*read, sent);
  auto decoded = VersionsFromJson(*Parse(Answer(sent)).value().find("versions"));
  REQUIRE(decoded.ok());
  RequireEqual(*read, *decoded);

  CHECK(FetchAnswerText(sent) == Answer(sent));
  CHECK(FetchAnswerText({}) == Answer({}));
  auto empty = FetchAnswerFromText(R"({"versions":[]})");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("a fetch answer's fields it does not know are skipped, nested or not") {
  Json answer = Json::parse(Answer(Sample()));
  answer["later"] = {{"a", Json::array({1, {{"b", nullptr}}})}};
  answer["versions"][0]["note"] = "x";
  answer["versions"][0]["extra"] = {{"deep", Json::array({Json::object(), 2.5, true})}};
  answer["versions"][1]["flags"] = Json::array({"parents", 1});
  auto read = FetchAnswerFromText(common::DumpJson(answer));
  REQUIRE(read.ok());
  RequireEqual(*read, Sample());
}

TEST_CASE("a malformed fetch answer is refused with what is wrong") {
  const std::string good = Answer(Sample());
  Json answer = Json::parse(good);
  auto with = [&](const std::function<void(Json&)>& change) {
    Json j = answer;
    change(j);
    return common::DumpJson(j);
  };
  const std::vector<std::string> bad = {
      "",
      "not json",
      good.substr(0, good.size() / 2),
      "[]",
      "{}",
      R"({"versions":{}})",
      R"({"versions":5})",
      R"({"versions":[1]})",
      R"({"versions":[[]]})",
      with([](Json& j) { j["versions"][0]["id"] = "abc"; }),
      with([](Json& j) { j["versions"][0]["id"] = 5; }),
      with([](Json& j) { j["versions"][0].erase("id"); }),
      with([](Json& j) { j["versions"][0].erase("time"); }),
      with([](Json& j) { j["versions"][0]["time"] = 1.5; }),
      with([](Json& j) { j["versions"][0]["time"] = "1"; }),
      with([](Json& j) { j["versions"][0]["time"] = 18446744073709551615ull; }),
      with([](Json& j) { j["versions"][0].erase("replica"); }),
      with([](Json& j) { j["versions"][0]["replica"] = "zz"; }),
      with([](Json& j) { j["versions"][0].erase("parents"); }),
      with([](Json& j) { j["versions"][0]["parents"] = "x"; }),
      with([](Json& j) { j["versions"][1]["parents"] = Json::array({1}); }),
      with([](Json& j) { j["versions"][1]["parents"] = Json::array({"00"}); }),
      with([](Json& j) { j["versions"][0].erase("key"); }),
      with([](Json& j) { j["versions"][0]["key"] = nullptr; }),
      with([](Json& j) { j["versions"][0]["value"] = 3; }),
      with([](Json& j) { j["versions"][1]["value64"] = "not base64!"; }),
      R"({"versions":[],"versions":[]})",
      good.substr(0, good.size() - 3) + R"(,"key":"again"}]})",
  };
  for (const std::string& text : bad) {
    INFO(text);
    auto read = FetchAnswerFromText(text);
    REQUIRE_FALSE(read.ok());
    CHECK(read.status().code() == Status::Code::kInvalidArgument);
    CHECK(read.status().message().find("malformed version list") != std::string::npos);
  }
}

TEST_CASE("an apply request read from its text is what its document decodes to") {
  ReplicationBatch sent;
  sent.branch = "dev";
  sent.versions = Sample();
  sent.heads = {Sample()[0].id};
  sent.dropped = {Sample()[1].id, Sample()[2].id};
  sent.peer = std::string("peer\xfe", 5);  // travels as peer64
  sent.checkpoint = R"({"full":false})";
  Json message = ToJson(sent);
  message["may_fork"] = ToJson(std::vector<KeyHeads>{{"a", {}}, {std::string("\xff", 1), {}}});
  CHECK(ApplyRequestText(sent, {"a", std::string("\xff", 1)}) == common::DumpJson(message));
  auto read = ApplyRequestFromText(common::DumpJson(message));
  REQUIRE(read.ok());
  auto decoded = BatchFromJson(message);
  REQUIRE(decoded.ok());
  for (const ReplicationBatch* b : {&read->batch, &*decoded}) {
    CHECK(b->branch == sent.branch);
    RequireEqual(b->versions, sent.versions);
    CHECK(b->heads == sent.heads);
    CHECK(b->dropped == sent.dropped);
    CHECK(b->peer == sent.peer);
    CHECK(b->checkpoint == sent.checkpoint);
  }
  CHECK(read->may_fork == std::vector<std::string>{"a", std::string("\xff", 1)});

  for (const char* missing :
       {"branch", "checkpoint", "peer64", "versions", "heads", "dropped", "may_fork"}) {
    Json j = message;
    j.erase(missing);
    INFO(missing);
    CHECK(ApplyRequestFromText(common::DumpJson(j)).status().code() ==
          Status::Code::kInvalidArgument);
  }
  Json bad = message;
  bad["heads"] = Json::array({"0123"});
  CHECK_FALSE(ApplyRequestFromText(common::DumpJson(bad)).ok());
  bad = message;
  bad["may_fork"] = Json::array({Json::object()});
  CHECK_FALSE(ApplyRequestFromText(common::DumpJson(bad)).ok());
  const std::string text = common::DumpJson(message);
  auto twice = ApplyRequestFromText(R"({"branch":"x",)" + text.substr(1));
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.status().message().find("named twice") != std::string::npos);
}

TEST_CASE("a filter's hash ranges travel in the changes and wait requests") {
  FeedRequest feed;
  feed.hash_ranges = {{5, 10}, {20, uint64_t{1} << 32}};
  auto decoded = FeedRequestFromJson(ToJson(feed));
  REQUIRE(decoded.ok());
  CHECK(decoded->hash_ranges == feed.hash_ranges);
  CHECK_FALSE(ToJson(FeedRequest()).contains("hash_ranges"));  // none: left out
  WaitRequest wait;
  wait.hash_ranges = {{0, 1}};
  auto waited = WaitRequestFromJson(ToJson(wait));
  REQUIRE(waited.ok());
  CHECK(waited->hash_ranges == wait.hash_ranges);
  Json bad = ToJson(feed);
  bad["hash_ranges"] = "10-5";
  CHECK_THAT(FeedRequestFromJson(bad).status().message(), Catch::Contains("hash ranges"));
}

TEST_CASE("a wait asks to end at each revision only when told to") {
  WaitRequest wait;
  CHECK_FALSE(ToJson(wait).contains("each_revision"));  // as peers before it sent them
  CHECK_FALSE(WaitRequestFromJson(ToJson(wait))->each_revision);
  wait.each_revision = true;
  auto decoded = WaitRequestFromJson(ToJson(wait));
  REQUIRE(decoded.ok());
  CHECK(decoded->each_revision);
  Json bad = ToJson(wait);
  bad["each_revision"] = "yes";
  CHECK(WaitRequestFromJson(bad).status().code() == Status::Code::kInvalidArgument);
}

}  // namespace kvs::replication
