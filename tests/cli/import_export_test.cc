// import and export --yaml through the real kvs program: a 10k-key round
// trip, values YAML could misread, one transaction, and refusals that name
// the place in the file and leave the store as it was.
#include <catch2/catch.hpp>

#include "tests/cli/kvs_runner.h"
#include "tests/store/test_util.h"

namespace kvs::cli::test {
namespace {

// A YAML file and how import must refuse it: "LINE:COLUMN: what".
struct BadFile {
  std::string yaml;
  std::string message;
};

// Imports each file into a store holding one key, and requires that it fails
// with exactly its message, changing nothing.
void RequireRefused(const std::vector<BadFile>& files) {
  kvs::test::TempDir tmp;
  std::string dir = tmp.Sub("store");
  MustKvs(dir, {"put", "before", "v"});
  std::string file = tmp.Sub("input.yaml");
  for (const BadFile& bad : files) {
    server::test::WriteFile(file, bad.yaml);
    ProgramRun run = RunKvs({"-d", dir, "import", file});
    INFO(bad.yaml);
    CHECK(run.exit_code == 1);
    CHECK(run.output.empty());
    CHECK(run.log == "kvs: " + file + ":" + bad.message + "\n");
  }
  CHECK(RevisionOf(dir) == 1);
}

}  // namespace

TEST_CASE("a 10k-key YAML file imports in one transaction and exports back identical") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.Sub("store");
  std::string yaml;
  for (int i = 0; i < 10000; ++i) {
    yaml += "key-" + std::to_string(100000 + i) + ": value number " + std::to_string(i) + "\n";
  }
  std::string file = tmp.Sub("keys.yaml");
  server::test::WriteFile(file, yaml);
  CHECK(MustKvs(dir, {"import", file}) == "imported 10000 keys at revision 1\n");
  CHECK(RevisionOf(dir) == 1);
  CHECK(MustKvs(dir, {"get-key", "key-104242"}) == "value number 4242");
  CHECK(MustKvs(dir, {"export", "--yaml"}) == yaml);
}

TEST_CASE("values YAML would read as something else survive export and import") {
  kvs::test::TempDir tmp;
  std::string from = tmp.Sub("from");
  using namespace std::string_literals;  // "...\0..."s keeps the NUL
  // clang-format off
  std::vector<std::string> values = {
      "", "null", "~", "True", "no", "off", "123", "0x1F", "1e3", ".inf", " leading",
      "trailing ", "a: b", "# not a comment", "- not a list", "[1, 2]", "{a: 1}", "'single'",
      "\"double\"", "&anchor", "*alias", "!tag", "%directive", "@at", "`tick", "?", ":", "-",
      "---", "...", "multi\nline\n", "tab\there", "cr\rlf", "back\\slash", "nul\0byte"s,
      "\x01\x1b\x7f", "\u0085next line", "\u2028line sep", "\ufeffbom", "héllo ☃ 🎉",
      "plain words_and.dots/slash@x+y-z", "\xff\xfe not utf-8"};
  // clang-format on
  values.push_back(std::string(70000, 'x') + "\n" + std::string(10, '"'));
  {
    auto store = kvs::test::OpenStore(from);
    WriteBatch batch;
    for (size_t i = 0; i < values.size(); ++i) batch.Put("v" + std::to_string(100 + i), values[i]);
    REQUIRE(store->Write(batch).ok());
  }
  std::string yaml = MustKvs(from, {"export", "--yaml"});
  std::string to = tmp.Sub("to");
  MustKvs(to, {"import", "-"}, yaml);
  for (size_t i = 0; i < values.size(); ++i) {
    INFO("value " << i);
    CHECK(MustKvs(to, {"get-key", "v" + std::to_string(100 + i)}) == values[i]);
  }
  CHECK(MustKvs(to, {"export", "--yaml"}) == yaml);
}

TEST_CASE("export --yaml writes plain text plainly and quotes or encodes the rest") {
  kvs::test::TempDir tmp;
  MustKvs(tmp.path(), {"put", "greeting", "hello world"});
  MustKvs(tmp.path(), {"put", "count", "12"});
  MustKvs(tmp.path(), {"put", "key: with colon", "yes"});
  Create(tmp.path(), "raw", std::string("\xff\x00", 2));
  CHECK(MustKvs(tmp.path(), {"export", "--yaml"}) ==
        "count: \"12\"\n"
        "greeting: hello world\n"
        "\"key: with colon\": \"yes\"\n"
        "raw: !!binary \"/wA=\"\n");
}

TEST_CASE("export --yaml of a branch without keys is an empty map, which imports") {
  kvs::test::TempDir tmp;
  kvs::test::OpenStore(tmp.path());  // an empty store
  CHECK(MustKvs(tmp.path(), {"export", "--yaml"}) == "{}\n");
  CHECK(MustKvs(tmp.path(), {"export"}).empty());
  CHECK(MustKvs(tmp.path(), {"import", "-"}, "{}\n") == "imported 0 keys: nothing written\n");
  CHECK(RevisionOf(tmp.path()) == 0);
}

TEST_CASE("import takes scalars as text and decodes !!binary") {
  kvs::test::TempDir tmp;
  MustKvs(tmp.path(), {"import", "-"},
          "number: 012\nbool: true\nquoted: 'it''s'\nblock: |\n  two\n  lines\n"
          "bin: !!binary AP8=\nalias: &a shared\nother: *a\n");
  CHECK(MustKvs(tmp.path(), {"get-key", "number"}) == "012");
  CHECK(MustKvs(tmp.path(), {"get-key", "bool"}) == "true");
  CHECK(MustKvs(tmp.path(), {"get-key", "quoted"}) == "it's");
  CHECK(MustKvs(tmp.path(), {"get-key", "block"}) == "two\nlines\n");
  CHECK(MustKvs(tmp.path(), {"get-key", "bin"}) == std::string("\x00\xff", 2));
  CHECK(MustKvs(tmp.path(), {"get-key", "other"}) == "shared");
}

TEST_CASE("values written as JSON export as JSON and import as JSON again") {
  kvs::test::TempDir tmp;
  const std::string from = tmp.Sub("from"), to = tmp.Sub("to");
  {
    auto store = kvs::test::OpenStore(from);
    WriteBatch batch;
    for (auto [key, json] : {std::pair{"list", R"(["a","b"])"}, std::pair{"number", "42"},
                             std::pair{"string", R"("hi")"}}) {
      batch.Put(key, json);
      batch.writes.back().json = true;
    }
    batch.Put("text", "[1]");
    REQUIRE(store->Write(batch).ok());
  }
  CHECK(MustKvs(from, {"export"}) == R"({"key":"list","value":["a","b"],"json":true}
{"key":"number","value":42,"json":true}
{"key":"string","value":"hi","json":true}
{"key":"text","value":"[1]"}
)");
  const std::string yaml = MustKvs(from, {"export", "--yaml"});
  CHECK(yaml == R"(list: !json "[\"a\",\"b\"]"
number: !json "42"
string: !json "\"hi\""
text: "[1]"
)");
  MustKvs(to, {"import", "-"}, yaml);
  CHECK(MustKvs(to, {"export", "--yaml"}) == yaml);
  auto store = kvs::test::OpenStore(to);
  CHECK(store->Get("main", "number")->winner.json);
  CHECK_FALSE(store->Get("main", "text")->winner.json);
}

TEST_CASE("import replaces the current value of keys that exist") {
  kvs::test::TempDir tmp;
  MustKvs(tmp.path(), {"put", "a", "old"});
  MustKvs(tmp.path(), {"put", "b", "kept"});
  CHECK(MustKvs(tmp.path(), {"import", "-"}, "a: new\nc: added\n") ==
        "imported 2 keys at revision 3\n");
  CHECK(MustKvs(tmp.path(), {"export", "--yaml"}) == "a: new\nb: kept\nc: added\n");
}

TEST_CASE("bad YAML is refused with file:line:column and nothing is imported") {
  RequireRefused({
      {"a: 1\nb: [unclosed\n", "3:1: end of sequence flow not found"},
      {"a: 1\n b: 2\n", "2:3: illegal map value"},
      {"a: 1\n\tb: 2\n", "2:1: illegal tab when looking for indentation"},
      {"a: \"\\q\"\n", "1:7: unknown escape character: q"},
      {"a: &x 1\nb: *y\n", "2:4: the referenced anchor is not defined"},
  });
}

TEST_CASE("import refuses what is not a map of text to text, naming where") {
  RequireRefused({
      {"- a\n- b\n", "1:1: expected a map of key: value at the top level, not a list"},
      {"just text\n", "1:1: expected a map of key: value at the top level, not a single value"},
      {"ok: 1\nlist: [1, 2]\n", "2:7: the value of 'list' is a list; only text can be imported"},
      {"ok: 1\nmap:\n  inner: 2\n", "3:3: the value of 'map' is a map; only text can be imported"},
      {"ok: 1\nempty:\n", "2:1: the value of 'empty' is null; write \"\" for an empty value"},
      {"ok: 1\n~: value\n", "2:1: a key is null; write \"\" for an empty value"},
      {"a: 1\nb: 2\na: 3\n", "3:1: key 'a' appears twice"},
      {"a: 1\n---\nb: 2\n", "3:1: a second YAML document; import reads one map"},
      {"a: !!binary '@@@@'\n", "1:4: the value of 'a' is tagged !!binary but is not valid base64"},
      {"a: !json '{bad'\n", "1:4: the value of 'a' is tagged !json but is not JSON"},
  });
}

TEST_CASE("import refuses keys the store or the system rules refuse, naming where") {
  RequireRefused({
      {"ok: 1\n_system: 2\n",
       "2:1: keys beginning with '_' are reserved for the system: '_system'"},
      // An explicit key ("? KEY"): YAML caps implicit ones at 1024 characters.
      {"ok: 1\n? " + std::string(1025, 'k') + "\n: 2\n",
       "2:3: a key of 1025 bytes is too long; the limit is 1024"},
      {"ok: 1\n\"\": 2\n", "2:1: empty key: a key needs at least one byte"},
      {"ok: 1\n\"a\\0b\": 2\n", "2:1: keys cannot contain a NUL byte"},
      {"ok: 1\n!!binary /w==: 2\n",
       "2:1: keys are UTF-8 text, and the key '\\xff' is not, from byte 0"},
  });
}

TEST_CASE("import of an empty or missing file fails and writes nothing") {
  kvs::test::TempDir tmp;
  std::string dir = tmp.Sub("store");
  MustKvs(dir, {"put", "before", "v"});
  std::string empty = tmp.Sub("empty.yaml");
  server::test::WriteFile(empty, "# only a comment\n");
  ProgramRun run = RunKvs({"-d", dir, "import", empty});
  CHECK(run.exit_code == 1);
  CHECK(run.log == "kvs: " + empty + ": holds no YAML map (write {} for an empty one)\n");

  ProgramRun missing = RunKvs({"-d", dir, "import", tmp.Sub("missing.yaml")});
  CHECK(missing.exit_code == 1);
  CHECK(missing.log ==
        "kvs: cannot open " + tmp.Sub("missing.yaml") + ": No such file or directory\n");
  CHECK(RevisionOf(dir) == 1);
}

}  // namespace kvs::cli::test
