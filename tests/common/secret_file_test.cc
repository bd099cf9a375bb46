// A secret file reads the same everywhere: the first line, without blanks
// at its ends.
#include "common/secret_file.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/store/test_util.h"

namespace kvs::common {

TEST_CASE("a secret file's secret is its first line, without blanks at its ends") {
  kvs::test::TempDir dir;
  const std::string path = dir.Sub("auth.txt");
  std::ofstream(path) << "  correct horse \r\nthe second line is a comment\n";
  auto secret = ReadSecretFile(path, "the secret file");
  REQUIRE(secret.ok());
  CHECK(*secret == "correct horse");

  std::ofstream(path) << "\nsecret on the second line\n";
  CHECK(ReadSecretFile(path, "the secret file").value() == "");

  auto missing = ReadSecretFile(dir.Sub("none.txt"), "the auth_file");
  CHECK(missing.status().code() == Status::Code::kIOError);
  CHECK(missing.status().message() == "cannot read the auth_file " + dir.Sub("none.txt") +
                                          ": No such file or directory");
}

}  // namespace kvs::common
