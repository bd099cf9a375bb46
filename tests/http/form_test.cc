// Form encodings: percent-decoding, urlencoded fields, Content-Type and
// multipart/form-data bodies, including binary values and hostile boundaries.
#include "http/form.h"

#include <catch2/catch.hpp>

#include "http/multipart.h"
#include "tests/harness/service_fixture.h"

namespace kvs::server {
namespace {

using test::AllBytes;

std::string Decoded(std::string_view text, bool plus_as_space = true) {
  auto decoded = PercentDecode(text, plus_as_space);
  INFO(decoded.status().ToString());
  REQUIRE(decoded.ok());
  return *decoded;
}

FormFields Fields(std::string_view text) {
  auto fields = ParseUrlEncoded(text);
  INFO(fields.status().ToString());
  REQUIRE(fields.ok());
  return *fields;
}

FormFields Multipart(std::string_view boundary, std::string_view body) {
  auto fields = ParseMultipart(boundary, body);
  INFO(fields.status().ToString());
  REQUIRE(fields.ok());
  return *fields;
}

std::string MultipartError(std::string_view boundary, std::string_view body) {
  auto fields = ParseMultipart(boundary, body);
  REQUIRE_FALSE(fields.ok());
  CHECK(fields.status().code() == Status::Code::kInvalidArgument);
  return fields.status().message();
}

}  // namespace

TEST_CASE("percent-decoding turns %XX of either case into the byte") {
  CHECK(Decoded("a%20b%2fc%2Fd") == "a b/c/d");
  CHECK(Decoded("%00%ff%FF") == std::string("\0\xff\xff", 3));
  CHECK(Decoded("") == "");
}

TEST_CASE("percent-decoding reads '+' as a space only in forms") {
  CHECK(Decoded("a+b%2Bc", true) == "a b+c");
  CHECK(Decoded("a+b", false) == "a+b");
}

TEST_CASE("percent-decoding refuses bad escapes and says where") {
  for (const char* bad : {"%", "%4", "abc%zz", "%g0", "%0g", "100%"}) {
    auto decoded = PercentDecode(bad, true);
    INFO(bad);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().code() == Status::Code::kInvalidArgument);
    CHECK_THAT(decoded.status().message(), Catch::Contains("bad percent-encoding at byte"));
  }
  CHECK_THAT(PercentDecode("abc%zz", true).status().message(), Catch::Contains("byte 3"));
}

TEST_CASE("percent-encoding round-trips every byte") {
  std::string encoded = PercentEncode(AllBytes());
  CHECK(encoded.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789-._~%") == std::string::npos);
  CHECK(Decoded(encoded, false) == AllBytes());
  CHECK(PercentEncode("a b/é") == "a%20b%2F%C3%A9");
}

TEST_CASE("urlencoded fields keep order, duplicates and empty values") {
  FormFields fields = Fields("k=v&auth=s+1&k=w&empty=&bare&&x%3Dy=1%262");
  REQUIRE(fields.size() == 6);
  CHECK(fields[0] == FormField{"k", "v"});
  CHECK(fields[1] == FormField{"auth", "s 1"});
  CHECK(fields[2] == FormField{"k", "w"});
  CHECK(fields[3] == FormField{"empty", ""});
  CHECK(fields[4] == FormField{"bare", ""});
  CHECK(fields[5] == FormField{"x=y", "1&2"});
  CHECK(Fields("").empty());
  CHECK(Fields("&&").empty());
}

TEST_CASE("urlencoded values may hold '=' and every byte") {
  FormFields fields = Fields("k=a=b&bin=" + PercentEncode(AllBytes()));
  REQUIRE(fields.size() == 2);
  CHECK(fields[0].value == "a=b");
  CHECK(fields[1].value == AllBytes());
}

TEST_CASE("a bad escape anywhere fails the whole urlencoded form") {
  CHECK_FALSE(ParseUrlEncoded("a=1&b=%zz").ok());
  CHECK_FALSE(ParseUrlEncoded("%q=1").ok());
}

TEST_CASE("Content-Type splits into a lower-cased type and unquoted parameters") {
  auto media =
      ParseMediaType("Multipart/Form-Data; Boundary=\"a b;c\"; charset=UTF-8 ;;x=\"q\\\"\"");
  REQUIRE(media.ok());
  CHECK(media->type == "multipart/form-data");
  CHECK(media->params.at("boundary") == "a b;c");
  CHECK(media->params.at("charset") == "UTF-8");
  CHECK(media->params.at("x") == "q\"");
  CHECK_FALSE(ParseMediaType("").ok());
  CHECK_FALSE(ParseMediaType("text/plain; boundary=\"open").ok());
  CHECK_FALSE(ParseMediaType("text/plain; novalue").ok());
}

TEST_CASE("a form body is parsed by its Content-Type") {
  auto urlencoded = ParseFormBody("application/x-www-form-urlencoded; charset=UTF-8", "a=1");
  REQUIRE(urlencoded.ok());
  CHECK(*urlencoded == FormFields{{"a", "1"}});

  auto multipart = ParseFormBody("multipart/form-data; boundary=XX",
                                 "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
                                 "--XX--\r\n");
  REQUIRE(multipart.ok());
  CHECK(*multipart == FormFields{{"a", "1"}});
}

TEST_CASE("a body that is not a form is refused with a message") {
  for (const char* type : {"", "text/plain", "application/json", "multipart/mixed; boundary=x"}) {
    INFO(type);
    auto fields = ParseFormBody(type, "a=1");
    REQUIRE_FALSE(fields.ok());
    CHECK_THAT(fields.status().message(), Catch::Contains("not a form"));
  }
  auto no_boundary = ParseFormBody("multipart/form-data", "a=1");
  REQUIRE_FALSE(no_boundary.ok());
  CHECK_THAT(no_boundary.status().message(), Catch::Contains("boundary"));
}

TEST_CASE("multipart carries binary values exactly, CR and LF included") {
  std::string value = AllBytes() + "\r\n--almost\r\n" + AllBytes();
  std::string body =
      "preamble to ignore\r\n"
      "--b0undary\r\n"
      "Content-Disposition: form-data; name=\"bin\"; filename=\"x.bin\"\r\n"
      "Content-Type: application/octet-stream\r\n"
      "\r\n" +
      value +
      "\r\n--b0undary  \r\n"  // transport padding after a boundary
      "content-disposition: FORM-DATA; name=text\r\n"
      "\r\n"
      "hello\r\n"
      "--b0undary\r\n"
      "Content-Disposition: form-data; name=\"empty\"\r\n"
      "\r\n"
      "\r\n"
      "--b0undary--\r\n"
      "epilogue to ignore";
  FormFields fields = Multipart("b0undary", body);
  REQUIRE(fields.size() == 3);
  CHECK(fields[0].name == "bin");
  CHECK(fields[0].value == value);
  CHECK(fields[1] == FormField{"text", "hello"});
  CHECK(fields[2] == FormField{"empty", ""});
}

TEST_CASE("a boundary string inside a value is content unless it ends the line") {
  std::string body =
      "--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"
      "line\r\n--xyzzy\r\n--xyz-not\r\nend"
      "\r\n--xyz--";
  FormFields fields = Multipart("xyz", body);
  REQUIRE(fields.size() == 1);
  CHECK(fields[0].value == "line\r\n--xyzzy\r\n--xyz-not\r\nend");
}

TEST_CASE("multipart with no parts gives no fields") { CHECK(Multipart("b", "--b--\r\n").empty()); }

TEST_CASE("malformed multipart bodies are refused with a message") {
  const std::string part = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv";
  CHECK_THAT(MultipartError("b", part), Catch::Contains("ends before the closing boundary"));
  CHECK_THAT(MultipartError("b", part + "\r\n--b"),
             Catch::Contains("ends before the closing boundary"));
  CHECK_THAT(MultipartError("b", "no boundary here"), Catch::Contains("does not occur"));
  CHECK_THAT(MultipartError("b", "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n"),
             Catch::Contains("headers do not end"));
  CHECK_THAT(MultipartError("b", "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--"),
             Catch::Contains("no Content-Disposition"));
  CHECK_THAT(MultipartError("b", "--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--"),
             Catch::Contains("without a name"));
  CHECK_THAT(
      MultipartError("b", "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--b--"),
      Catch::Contains("not form-data"));
  CHECK_THAT(MultipartError("b", "--bX\r\n"), Catch::Contains("not followed by a line end"));
  CHECK_THAT(MultipartError("", "--\r\n"), Catch::Contains("1 to 70"));
  CHECK_THAT(MultipartError(std::string(71, 'b'), "x"), Catch::Contains("1 to 70"));
}

}  // namespace kvs::server
