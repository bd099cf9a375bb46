// The one query parser and its typed values.
#include "http/query.h"

#include <catch2/catch.hpp>

namespace kvs::server {
namespace {

// The message of the refusal, or "" when query parses.
std::string Refusal(std::string_view query, const QuerySpec& spec) {
  auto parsed = ParseQuery(query, spec);
  if (auto* error = std::get_if<HttpError>(&parsed)) {
    CHECK(error->status == 400);
    return error->message;
  }
  return "";
}

}  // namespace

TEST_CASE("a query keeps what the route takes, in order, decoded") {
  const std::string text = "b=2&a=x%20y&k=1&_=123&k=2,3&a2=+";
  auto parsed = ParseQuery(text, {.once = {"a", "b", "a2"}, .repeatable = {"k"}});
  REQUIRE(std::holds_alternative<Query>(parsed));
  const Query& query = std::get<Query>(parsed);
  REQUIRE(query.fields().size() == 5);  // "_" is dropped
  CHECK(query.fields()[0].name == "b");
  CHECK(query.Get("a") == "x y");
  CHECK(query.Get("a2") == " ");
  CHECK(query.Get("missing") == std::nullopt);
  CHECK(query.All("k") == std::vector<std::string>{"1", "2,3"});
  CHECK(query.fields()[3].raw_value == "2,3");
  CHECK(query.fields()[1].raw_value == "x%20y");
}

TEST_CASE("what a route does not take is a 400 naming what it does") {
  CHECK(Refusal("limt=5", {.once = {"limit", "at"}, .repeatable = {"auth"}}) ==
        "unknown parameter 'limt' (known here: limit, at, auth)");
  CHECK(Refusal("x=1", {}) == "unknown parameter 'x' (this route takes none)");
  CHECK(Refusal("_=1&_=2", {}) == "");
  CHECK(Refusal("limit=1&limit=2", {.once = {"limit"}}) == "parameter 'limit' is given twice");
  CHECK(Refusal("k=1&k=2", {.repeatable = {"k"}}) == "");
  CHECK(Refusal("a=%zz", {.once = {"a"}}).starts_with("query string: "));
}

TEST_CASE("auth in the query of a route that writes says where the secret goes") {
  std::string message = Refusal("auth=s3cret", {.once = {"key"}});
  CHECK(message.find("Authorization: Bearer") != std::string::npos);
  CHECK(message.find("s3cret") == std::string::npos);
}

TEST_CASE("typed values refuse with a message naming the parameter") {
  CHECK(std::get<bool>(FlagValue("dry_run", "1")));
  CHECK_FALSE(std::get<bool>(FlagValue("dry_run", "false")));
  CHECK(std::get<HttpError>(FlagValue("dry_run", "yes")).message ==
        "dry_run must be true or false, not 'yes'");

  CHECK(std::get<size_t>(CountValue("limit", "10", 1, 100)) == 10);
  for (std::string_view bad : {"0", "101", "-1", "x", "", "1e3"}) {
    CAPTURE(bad);
    CHECK(std::get<HttpError>(CountValue("limit", bad, 1, 100))
              .message.starts_with("limit must be a number from 1 to 100"));
  }

  CHECK(std::holds_alternative<merge::MergeFunction>(StrategyValue("lww")));
  CHECK(std::get<HttpError>(StrategyValue("nope")).code == "unknown_strategy");

  CHECK(std::get<ReadPoint>(ReadPointValue("7")).revision == 7);
  CHECK(std::get<ReadPoint>(ReadPointValue(std::string(64, 'a'))).kind == ReadPoint::Kind::kCommit);
  CHECK(std::get<HttpError>(ReadPointValue("0")).message ==
        "at=0 names no revision; they start at 1");
  CHECK(std::get<HttpError>(ReadPointValue("soon")).code == "bad_at");
  // A time written right that kvs cannot hold says so, not how to write one.
  HttpError beyond = std::get<HttpError>(ReadPointValue("9999-12-31T23:59:59Z"));
  CHECK(beyond.code == "bad_at");
  CHECK(beyond.message ==
        "at '9999-12-31T23:59:59Z' is no time kvs can name: a real date and time, from "
        "1677-09-22 to 2262-04-11");
}

TEST_CASE("a fork name is refused as the store refuses it") {
  CHECK_FALSE(CheckForkName("dev").has_value());
  for (std::string_view bad : {"", "a b", "x/y", "d\xc3\xa9v"}) {
    CAPTURE(bad);
    auto error = CheckForkName(bad);
    REQUIRE(error.has_value());
    CHECK(error->code == "bad_fork");
    CHECK(error->message == CheckBranchName(bad).message());
  }
}

}  // namespace kvs::server
