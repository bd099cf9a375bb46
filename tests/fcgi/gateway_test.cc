// The CGI translation both front ends share: variables to Request, body
// reading with its limit, Response to CGI bytes.
#include <catch2/catch.hpp>
#include <set>
#include <vector>

#include "fcgi/cgi_gateway.h"
#include "http/form.h"
#include "tests/harness/service_fixture.h"

namespace kvs::server::test {
namespace {

using namespace std::string_literals;

// A BodyReader over a string that hands out at most chunk bytes per call.
BodyReader ReaderOf(const std::string& body, size_t chunk, size_t* consumed) {
  return [&body, chunk, consumed](char* buffer, size_t size) -> size_t {
    size_t n = std::min({size, chunk, body.size() - *consumed});
    body.copy(buffer, n, *consumed);
    *consumed += n;
    return n;
  };
}

}  // namespace

TEST_CASE("CGI variables become the request line and headers") {
  const char* variables[] = {"REQUEST_METHOD=POST",
                             "PATH_INFO=/some/path",
                             "QUERY_STRING=k=a%20b&format=json",
                             "CONTENT_TYPE=application/x-www-form-urlencoded",
                             "CONTENT_LENGTH=12",
                             "HTTP_IF_NONE_MATCH=\"abc\"",
                             "HTTP_AUTHORIZATION=Bearer t",
                             "SERVER_SOFTWARE=nginx",
                             "MALFORMED",
                             nullptr};
  Request request = RequestFromCgiVariables(variables);
  CHECK(request.method == "POST");
  CHECK(request.path_info == "/some/path");
  CHECK(request.query_string == "k=a%20b&format=json");
  CHECK(request.headers.Get("Content-Type") == "application/x-www-form-urlencoded");
  CHECK(request.headers.Get("content-length") == "12");
  CHECK(request.headers.Get("If-None-Match") == "\"abc\"");
  CHECK(request.headers.Get("Authorization") == "Bearer t");
  CHECK_FALSE(request.headers.Has("Server-Software"));
  CHECK(request.body.empty());
}

TEST_CASE("the body is read in full however the reader splits it") {
  std::string body = "auth=x&k=v";
  size_t consumed = 0;
  Request request;
  request.headers.Set("Content-Length", std::to_string(body.size()));
  CHECK_FALSE(ReadBody(ReaderOf(body, 3, &consumed), 100, &request).has_value());
  CHECK(request.body == body);

  Request no_length;
  consumed = 0;
  CHECK_FALSE(ReadBody(ReaderOf(body, 3, &consumed), 100, &no_length).has_value());
  CHECK(no_length.body.empty());
}

// What Apache's CGI (always) and mod_proxy_fcgi (past 16 KB) pass for a
// chunked request: the body, and no CONTENT_LENGTH. It was taken as empty,
// and a streamed PUT stored an empty value with a 200.
TEST_CASE("a body without a length is read to its end for POST, PUT and PATCH, within the limit") {
  const std::string body(5000, 'b');
  for (const char* method : {"POST", "PUT", "PATCH"}) {
    size_t consumed = 0;
    Request request;
    request.method = method;
    CHECK_FALSE(ReadBody(ReaderOf(body, 700, &consumed), 5000, &request).has_value());
    CHECK(request.body == body);
  }
  size_t consumed = 0;
  Request get;
  get.method = "GET";
  CHECK_FALSE(ReadBody(ReaderOf(body, 700, &consumed), 5000, &get).has_value());
  CHECK(get.body.empty());
  CHECK(consumed == 0);

  Request over;
  over.method = "PUT";
  auto error = ReadBody(ReaderOf(body, 700, &consumed), 4999, &over);
  REQUIRE(error.has_value());
  CHECK(error->status == 413);
  CHECK_THAT(error->message, Catch::Contains("over 4999 bytes"));
  CHECK(consumed == body.size());  // drained, so the web server is not cut off
  CHECK(over.body.empty());
}

TEST_CASE("an oversized body is 413, read and dropped") {
  std::string body(1000, 'x');
  size_t consumed = 0;
  Request request;
  request.headers.Set("Content-Length", "1000");
  auto error = ReadBody(ReaderOf(body, 64, &consumed), 999, &request);
  REQUIRE(error.has_value());
  CHECK(error->status == 413);
  CHECK_THAT(error->message, Catch::Contains("limits.max_body_bytes"));
  CHECK(consumed == 1000);
  CHECK(request.body.empty());
}

TEST_CASE("a bad or unkept Content-Length is 400") {
  std::string body = "short";
  for (const char* length : {"12x", "-1", "0x10", " 5"}) {
    size_t consumed = 0;
    Request request;
    request.headers.Set("Content-Length", length);
    auto error = ReadBody(ReaderOf(body, 100, &consumed), 100, &request);
    INFO(length);
    REQUIRE(error.has_value());
    CHECK(error->status == 400);
  }
  size_t consumed = 0;
  Request request;
  request.headers.Set("Content-Length", "10");
  auto error = ReadBody(ReaderOf(body, 100, &consumed), 100, &request);
  REQUIRE(error.has_value());
  CHECK_THAT(error->message, Catch::Contains("ended after 5 of the 10 bytes"));
}

TEST_CASE("a response is serialized as CGI with Status and Content-Length") {
  Response response = ContentResponse("text/plain", std::string("a\0b", 3));
  response.headers.Set("ETag", "\"x\"");
  std::string bytes = SerializeCgiResponse(response, false);
  CHECK(bytes ==
        "Status: 200 OK\r\nContent-Type: text/plain\r\nETag: \"x\"\r\n"
        "X-Content-Type-Options: nosniff\r\nContent-Length: 3\r\n\r\na\0b"s);

  CHECK(SerializeCgiResponse(response, true) ==
        "Status: 200 OK\r\nContent-Type: text/plain\r\nETag: \"x\"\r\n"
        "X-Content-Type-Options: nosniff\r\nContent-Length: 3\r\n\r\n");

  Response not_modified;
  not_modified.status = 304;
  not_modified.body = "ignored";
  CHECK(SerializeCgiResponse(not_modified, false) ==
        "Status: 304 Not Modified\r\nX-Content-Type-Options: nosniff\r\n\r\n");
}

TEST_CASE("a whole CGI exchange routes the request and logs store failures") {
  ServiceFixture fixture;
  std::string body = "auth=" + PercentEncode(kTestSecret) + "&k=v";
  std::string length = "CONTENT_LENGTH=" + std::to_string(body.size());
  const char* post[] = {"REQUEST_METHOD=POST", "PATH_INFO=/",
                        "CONTENT_TYPE=application/x-www-form-urlencoded", length.c_str(), nullptr};
  size_t consumed = 0;
  std::string log;
  std::string answer =
      HandleCgiRequest(post, ReaderOf(body, 7, &consumed), fixture.service(), &log);
  CHECK_THAT(answer, Catch::StartsWith("Status: 200 OK\r\n"));
  CHECK_THAT(answer, Catch::EndsWith("\r\n\r\nrevision 1\nk\n"));
  CHECK(log.empty());

  const char* head[] = {"REQUEST_METHOD=HEAD", "QUERY_STRING=k=k", nullptr};
  std::string head_answer =
      HandleCgiRequest(head, ReaderOf("", 1, &consumed), fixture.service(), &log);
  CHECK_THAT(head_answer, Catch::Contains("Content-Length: 1\r\n"));
  CHECK_THAT(head_answer, Catch::EndsWith("\r\n\r\n"));

  const char* too_big[] = {"REQUEST_METHOD=POST", "CONTENT_LENGTH=99999999999",
                           "QUERY_STRING=format=json", nullptr};
  consumed = 0;
  std::string refused =
      HandleCgiRequest(too_big, ReaderOf("", 1, &consumed), fixture.service(), &log);
  CHECK_THAT(refused, Catch::StartsWith("Status: 413 Payload Too Large\r\n"));
  CHECK_THAT(refused, Catch::Contains("\"error\":\"too_large\""));
}

}  // namespace kvs::server::test

namespace kvs::server::test {

TEST_CASE("each answer carries the request's id, and its log lines name it") {
  ServiceFixture fixture;
  size_t consumed = 0;
  std::string log;
  auto exchange = [&](std::vector<const char*> variables) {
    variables.push_back(nullptr);
    return HandleCgiRequest(variables.data(), ReaderOf("", 1, &consumed), fixture.service(), &log);
  };
  const char* kNginxId = "REQUEST_ID=0123456789abcdef0123456789abcdef";
  CHECK_THAT(exchange({"REQUEST_METHOD=GET", "QUERY_STRING=k=k", kNginxId}),
             Catch::Contains("\r\nX-Request-Id: 0123456789abcdef0123456789abcdef\r\n"));
  CHECK_THAT(exchange({"REQUEST_METHOD=GET", "UNIQUE_ID=Zk3@x-Y_abc"}),
             Catch::Contains("\r\nX-Request-Id: Zk3@x-Y_abc\r\n"));

  // An id that could break a header or a log line is not taken: kvs makes one.
  std::set<std::string> made;
  for (const char* bad : {"REQUEST_ID=a b", "REQUEST_ID=", "REQUEST_ID=x\r\nSet-Cookie: y"}) {
    std::string answer = exchange({"REQUEST_METHOD=GET", bad});
    const size_t at = answer.find("X-Request-Id: ");
    REQUIRE(at != std::string::npos);
    const std::string id = answer.substr(at + 14, answer.find("\r\n", at) - at - 14);
    CHECK_THAT(id, Catch::Matches("[0-9a-f]{32}"));
    made.insert(id);
  }
  CHECK(made.size() == 3);

  // A write refused by a server whose secret is still the placeholder is
  // logged, with the id.
  ServiceFixture placeholder(std::string("yourauthorizationhere"));
  const std::string body = "auth=yourauthorizationhere&k=v";
  const std::string length = "CONTENT_LENGTH=" + std::to_string(body.size());
  const char* post[] = {"REQUEST_METHOD=POST", "CONTENT_TYPE=application/x-www-form-urlencoded",
                        length.c_str(), kNginxId, nullptr};
  consumed = 0;
  CHECK_THAT(HandleCgiRequest(post, ReaderOf(body, 7, &consumed), placeholder.service(), &log),
             Catch::StartsWith("Status: 403"));
  CHECK_THAT(log, Catch::EndsWith("(request 0123456789abcdef0123456789abcdef)"));
}

}  // namespace kvs::server::test
