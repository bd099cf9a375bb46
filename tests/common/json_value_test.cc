// Values in JSON: UTF-8 as strings, anything else as base64.
#include "common/json_value.h"

#include <catch2/catch.hpp>

namespace kvs::common {

TEST_CASE("UTF-8 validation accepts text and rejects malformed sequences") {
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("plain ascii\n\t\x01"));
  CHECK(IsValidUtf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  CHECK(IsValidUtf8("\xf4\x8f\xbf\xbf"));                            // U+10FFFF
  CHECK_FALSE(IsValidUtf8("\x80"));                                  // continuation first
  CHECK_FALSE(IsValidUtf8("\xc3"));                                  // truncated
  CHECK_FALSE(IsValidUtf8("\xc0\xaf"));                              // overlong '/'
  CHECK_FALSE(IsValidUtf8("\xe0\x80\xaf"));                          // overlong
  CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));                          // surrogate U+D800
  CHECK_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));                      // above U+10FFFF
  CHECK_FALSE(IsValidUtf8("\xff"));
  CHECK_FALSE(IsValidUtf8("ok\xe2\x82"));
}

TEST_CASE("the first byte that is not UTF-8 is found, and such bytes are shown escaped") {
  CHECK(FirstInvalidUtf8("h\xc3\xa9llo") == std::nullopt);
  CHECK(FirstInvalidUtf8("\xff") == 0);
  CHECK(FirstInvalidUtf8("ok\xe2\x82") == 2);
  CHECK(FirstInvalidUtf8("ab\xed\xa0\x80") == 2);
  CHECK(EscapeInvalidUtf8("h\xc3\xa9llo") == "h\xc3\xa9llo");
  CHECK(EscapeInvalidUtf8("a\xff"
                          "b") == "a\\xffb");
  CHECK(EscapeInvalidUtf8("\xc3\xa9\xc3") == "\xc3\xa9\\xc3");
  CHECK(EscapeInvalidUtf8("\xe2\x82x\x80") == "\\xe2\\x82x\\x80");
  CHECK(EscapeInvalidUtf8("\x80\xc0\xf5") == "\\x80\\xc0\\xf5");
}

TEST_CASE("base64 is RFC 4648 with padding") {
  CHECK(Base64Encode("") == "");
  CHECK(Base64Encode("f") == "Zg==");
  CHECK(Base64Encode("fo") == "Zm8=");
  CHECK(Base64Encode("foo") == "Zm9v");
  CHECK(Base64Encode("foobar") == "Zm9vYmFy");
  CHECK(Base64Encode(std::string("\0\xff\xfe", 3)) == "AP/+");
}

TEST_CASE("base64 decodes what it encodes and refuses anything else") {
  for (std::string bytes : {std::string(), std::string("f"), std::string("fo"),
                            std::string("foobar"), std::string("\0\xff\xfe", 3)}) {
    CHECK(Base64Decode(Base64Encode(bytes)) == bytes);
  }
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v!A==", "Zg=a", "=Zg="}) {
    INFO(bad);
    CHECK_FALSE(Base64Decode(bad).has_value());
  }
}

TEST_CASE("a value goes into JSON as a string, or as base64 when it is not UTF-8") {
  nlohmann::ordered_json text;
  SetJsonValue(text, "h\xc3\xa9");
  CHECK(DumpJson(text) == "{\"value\":\"h\xc3\xa9\"}\n");

  nlohmann::ordered_json binary;
  SetJsonValue(binary, std::string("\xff\x00", 2));
  CHECK(DumpJson(binary) == "{\"value\":\"/wA=\",\"encoding\":\"base64\"}\n");
}

TEST_CASE("a value standing alone is a string, or a base64 object when it is not UTF-8") {
  CHECK(ValueJson("h\xc3\xa9").dump() == "\"h\xc3\xa9\"");
  CHECK(ValueJson("").dump() == "\"\"");
  CHECK(ValueJson(std::string("\xff\x00", 2)).dump() == "{\"base64\":\"/wA=\"}");
}

TEST_CASE("a value written as JSON reads as JSON up to kMaxJsonValueDepth levels, else as text") {
  const std::string deepest =
      std::string(kMaxJsonValueDepth, '[') + std::string(kMaxJsonValueDepth, ']');
  const std::string deeper = "[" + deepest + "]";
  CHECK(ReadsAsJson("42"));
  CHECK(ReadsAsJson(deepest));
  CHECK(ReadsAsJson(R"({"a": "[[[[ not nesting \" ]]"})"));
  CHECK_FALSE(ReadsAsJson(deeper));
  CHECK_FALSE(ReadsAsJson("[1,"));
  CHECK_FALSE(ReadsAsJson("]]]]"));
  CHECK(ValueJson(deepest, true).is_array());
  CHECK(ValueJson(deeper, true) == deeper);
  std::string out;
  AppendJsonValue(&out, deeper, true);
  CHECK(out == ValueJson(deeper).dump());
  nlohmann::ordered_json object;
  SetJsonValue(object, deeper, true);
  CHECK(object["value"] == deeper);
}

TEST_CASE("a value appended as JSON text reads as ValueJson writes it") {
  std::vector<std::string> values = {"", "plain", "quote \" and \\ slash", "h\xc3\xa9",
                                     std::string("\xff\x00", 2)};
  std::string every_ascii;
  for (int c = 0; c < 128; ++c) every_ascii.push_back(static_cast<char>(c));
  values.push_back(every_ascii);
  for (const std::string& value : values) {
    std::string out;
    AppendJsonValue(&out, value);
    CHECK(out == ValueJson(value).dump());
  }
}

}  // namespace kvs::common
