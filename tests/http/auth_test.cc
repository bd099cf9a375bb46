// The shared secret: loading, constant-time comparison, bearer tokens.
#include "http/auth.h"

#include <catch2/catch.hpp>

#include "tests/harness/server_stack.h"

namespace kvs::server {

TEST_CASE("constant-time comparison is plain equality") {
  CHECK(ConstantTimeEquals("secret", "secret"));
  CHECK_FALSE(ConstantTimeEquals("secret", "secreT"));
  CHECK_FALSE(ConstantTimeEquals("secret", "secret1"));
  CHECK_FALSE(ConstantTimeEquals("secret", "secre"));
  CHECK_FALSE(ConstantTimeEquals("secret", ""));
  CHECK_FALSE(ConstantTimeEquals("", "x"));
  CHECK(ConstantTimeEquals("", ""));
  // Same bytes repeated: the modulo indexing must not make these equal.
  CHECK_FALSE(ConstantTimeEquals("ab", "abab"));
}

TEST_CASE("the secret is the first line of the auth file, trimmed") {
  kvs::test::TempDir dir;
  test::WriteFile(dir.Sub("auth.txt"), "  s3cret \r\n# a comment line\n");
  auto secret = Secret::Load(dir.Sub("auth.txt"));
  REQUIRE(secret.ok());
  CHECK(secret->configured());
  CHECK_FALSE(secret->Authorize({"s3cret"}, "writing").has_value());
  CHECK(secret->Authorize({"s3cret "}, "writing").has_value());
}

TEST_CASE("an empty auth file or the template's placeholder is no secret") {
  kvs::test::TempDir dir;
  test::WriteFile(dir.Sub("empty.txt"), "\nsecond line does not count\n");
  auto empty = Secret::Load(dir.Sub("empty.txt"));
  REQUIRE(empty.ok());
  CHECK_FALSE(empty->configured());

  auto sample = Secret::Load(std::string(KVS_SOURCE_DIR "/auth_sample.txt"));
  REQUIRE(sample.ok());
  CHECK_FALSE(sample->configured());
  auto refused = sample->Authorize({"yourauthorizationhere"}, "writing");
  REQUIRE(refused.has_value());
  CHECK(refused->status == 403);
  CHECK_THAT(refused->message, Catch::Contains("placeholder"));

  CHECK_FALSE(Secret::Load(std::nullopt)->configured());
}

TEST_CASE("an auth file that cannot be read is an error at start") {
  auto secret = Secret::Load(std::string("/nonexistent/auth.txt"));
  REQUIRE_FALSE(secret.ok());
  CHECK_THAT(secret.status().message(), Catch::Contains("/nonexistent/auth.txt"));
}

TEST_CASE("every offered credential must match, and one must be offered") {
  Secret secret = Secret::FromString("s3cret");
  CHECK_FALSE(secret.Authorize({"s3cret"}, "writing").has_value());
  CHECK_FALSE(secret.Authorize({"s3cret", "s3cret"}, "writing").has_value());
  CHECK(secret.Authorize({}, "writing")->status == 403);
  CHECK(secret.Authorize({"s3cret", "guess"}, "writing")->status == 403);
  CHECK_THAT(secret.Authorize({}, "reading")->message, Catch::StartsWith("reading needs"));
}

TEST_CASE("bearer tokens come from the Authorization header") {
  HeaderMap headers;
  CHECK_FALSE(BearerToken(headers).has_value());
  headers.Set("Authorization", "Bearer  tok en ");
  CHECK(BearerToken(headers) == "tok en");
  headers.Set("authorization", "bEaReR x");
  CHECK(BearerToken(headers) == "x");
  headers.Set("Authorization", "Basic dXNlcjpwYXNz");
  CHECK_FALSE(BearerToken(headers).has_value());
  headers.Set("Authorization", "Bearerx");
  CHECK_FALSE(BearerToken(headers).has_value());
}

}  // namespace kvs::server
