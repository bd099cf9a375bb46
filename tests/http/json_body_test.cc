// The JSON body parser every endpoint with a JSON body uses: what it takes,
// and that every refusal says what and where.
#include "http/json_body.h"

#include <catch2/catch.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <random>

namespace kvs::server {
namespace {

constexpr const char* kExample = R"({"set": {"k": "v"}})";

nlohmann::ordered_json MustParse(std::string_view body) {
  auto parsed = ParseJsonObjectBody(body, kExample);
  INFO(body);
  if (auto* error = std::get_if<HttpError>(&parsed)) FAIL(error->message);
  return std::get<nlohmann::ordered_json>(parsed);
}

std::string ErrorOf(std::string_view body) {
  auto parsed = ParseJsonObjectBody(body, kExample);
  INFO(body);
  REQUIRE(std::holds_alternative<HttpError>(parsed));
  CHECK(std::get<HttpError>(parsed).status == 400);
  return std::get<HttpError>(parsed).message;
}

}  // namespace

TEST_CASE("a JSON object body parses with its members in the order sent") {
  nlohmann::ordered_json body =
      MustParse(R"( {"z": [1, -2, 3.5, true, null], "a": {"b64": {"base64": "AP8="}}, "m": {}} )");
  CHECK(body.dump() == R"({"z":[1,-2,3.5,true,null],"a":{"b64":{"base64":"AP8="}},"m":{}})");
  // The same name in different objects is no repeat.
  CHECK(MustParse(R"({"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]})").size() == 2);
}

TEST_CASE("a member named twice in one object is refused, at any depth, naming it and where") {
  CHECK(ErrorOf(R"({"set": {"a": "1"}, "set": {"b": "2"}})") ==
        "the JSON body names the member \"set\" twice in the top-level object; name each "
        "member once");
  CHECK_THAT(ErrorOf(R"({"set": {"a": "1", "a": "2"}})"),
             Catch::Contains("\"a\" twice in the object at /set;"));
  CHECK_THAT(ErrorOf(R"({"delete": [{"x": 1}, {"x": 1, "x": 2}]})"),
             Catch::Contains("\"x\" twice in the object at /delete/1;"));
  CHECK_THAT(ErrorOf(R"({"a/b~c": {"k": 1, "k": 2}})"),
             Catch::Contains("\"k\" twice in the object at /a~1b~0c;"));
}

TEST_CASE("a body that is not JSON is refused, naming the byte offset and what was expected") {
  CHECK(ErrorOf(R"({"set": {"a": "1",}})") ==
        "the body is not valid JSON: at byte 18, syntax error while parsing object key - "
        "unexpected '}'; expected string literal");
  CHECK_THAT(ErrorOf(R"({"a": 1} x)"),
             Catch::StartsWith("the body is not valid JSON: at byte 9, "));
  CHECK_THAT(ErrorOf(R"({"a": 1} x)"), Catch::EndsWith("expected end of input"));
  CHECK_THAT(ErrorOf("{\"a\": \"\xff\"}"), Catch::Contains("at byte 7, "));
  CHECK_THAT(ErrorOf("{\"a\": \"\xff\"}"), Catch::Contains("ill-formed UTF-8"));
  CHECK_THAT(ErrorOf(R"({"a": "\udc00"})"), Catch::Contains("surrogate"));
  CHECK_THAT(ErrorOf("{\"a\""), Catch::Contains("at byte 4, "));
}

TEST_CASE("an empty body, JSON that is no object and deep nesting are refused") {
  CHECK(ErrorOf("") == std::string("the body is empty; send a JSON object like ") + kExample);
  CHECK(ErrorOf("[1]") ==
        std::string("the body is JSON but not an object; send a JSON object like ") + kExample);
  CHECK_THAT(ErrorOf("\"text\""), Catch::StartsWith("the body is JSON but not an object"));
  std::string deep = std::string(kMaxJsonBodyDepth, '[') + std::string(kMaxJsonBodyDepth, ']');
  CHECK_THAT(ErrorOf("{\"a\": " + deep + "}"), Catch::Contains("deeper than"));
  std::string fits =
      std::string(kMaxJsonBodyDepth - 1, '[') + std::string(kMaxJsonBodyDepth - 1, ']');
  CHECK(MustParse("{\"a\": " + fits + "}").size() == 1);
}

// Numbers are kept as doubles: one a double holds exactly, however written,
// passes; one it would round is refused rather than stored rounded.
TEST_CASE("a number a double cannot hold exactly is refused, not rounded") {
  nlohmann::ordered_json exact = MustParse(
      R"({"a": [0.1, 1e5, 1.10, -0.0, 2.5e-3, 9007199254740993, -9223372036854775808, 1E+2]})");
  CHECK(exact["a"].dump() ==
        "[0.1,100000.0,1.1,-0.0,0.0025,9007199254740993,-9223372036854775808,100.0]");
  // What Python's repr and JavaScript print of a double, and the 17 digits
  // of the same double; and 2^64, which a double holds exactly.
  for (const char* number : {"0.429109850938206", "0.42910985093820597", "0.4014172007869726",
                             "18446744073709551616", "5e-324", "1.7976931348623157e308"}) {
    INFO(number);
    CHECK(MustParse(std::string(R"({"a": )") + number + "}")["a"].is_number_float());
  }
  // Any double as the shortest text that reads back as it (what JavaScript
  // and Python print) and as 17 digits.
  std::mt19937_64 random(7);
  for (int i = 0; i < 2000; ++i) {
    double value;
    do {
      const uint64_t bits = random();
      std::memcpy(&value, &bits, sizeof value);
    } while (!std::isfinite(value));
    char shortest[64];
    auto written = std::to_chars(shortest, shortest + sizeof shortest, value);
    char seventeen[64];
    std::snprintf(seventeen, sizeof seventeen, "%.17g", value);
    for (const std::string& number : {std::string(shortest, written.ptr), std::string(seventeen)}) {
      INFO(number);
      auto parsed = ParseJsonObjectBody(R"({"a": )" + number + "}", kExample);
      CHECK(std::holds_alternative<nlohmann::ordered_json>(parsed));
    }
  }
  for (const char* number :
       {"123456789012345678901234567890", "18446744073709551617", "-9223372036854775809",
        "1.0000000000000000001", "3.14159265358979323846", "9007199254740993.0"}) {
    CHECK(ErrorOf(std::string(R"({"a": )") + number + "}") ==
          std::string("the JSON body holds the number ") + number +
              ", which a 64-bit floating-point number cannot hold exactly; send it as a string");
  }
}

}  // namespace kvs::server
