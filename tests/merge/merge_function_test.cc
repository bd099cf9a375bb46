// Merge functions: the trivial cases every function shares, then each
// function's own decision when both sides changed a key, with exact outputs.
#include "merge/merge_function.h"

#include <catch2/catch.hpp>
#include <vector>

namespace kvs::merge {
namespace {

using Kind = MergeOutcome::Kind;
using Value = std::optional<std::string>;

const std::vector<MergeFunction> kAllFunctions = {
    MergeFunction::kLww,  MergeFunction::kCounter, MergeFunction::kMax,
    MergeFunction::kMin,  MergeFunction::kUnion,   MergeFunction::kJson,
    MergeFunction::kText, MergeFunction::kKeep,    MergeFunction::kReject};

// The functions that combine two values and so cannot merge a deletion.
const std::vector<MergeFunction> kCombiningFunctions = {
    MergeFunction::kCounter, MergeFunction::kMax,  MergeFunction::kMin,
    MergeFunction::kUnion,   MergeFunction::kJson, MergeFunction::kText};

MergeOutcome Run(MergeFunction f, Value base, Value ours, Value theirs) {
  MergeInput in;
  in.base = std::move(base);
  in.ours.value = std::move(ours);
  in.theirs.value = std::move(theirs);
  return Merge(f, in);
}

std::string KindName(Kind kind) {
  switch (kind) {
    case Kind::kValue:
      return "value";
    case Kind::kDeleted:
      return "deleted";
    case Kind::kKeepBoth:
      return "keep both";
    case Kind::kConflict:
      return "conflict";
  }
  return "?";
}

void RequireValue(const MergeOutcome& outcome, const std::string& expected) {
  INFO("kind " << KindName(outcome.kind) << ", reason \"" << outcome.reason << "\"");
  REQUIRE(outcome.kind == Kind::kValue);
  REQUIRE(outcome.value == expected);
}

void RequireConflict(const MergeOutcome& outcome, const std::string& reason) {
  INFO("kind " << KindName(outcome.kind) << ", value \"" << outcome.value << "\"");
  REQUIRE(outcome.kind == Kind::kConflict);
  REQUIRE(outcome.reason == reason);
}

TEST_CASE("merge function names parse, print and list") {
  for (MergeFunction f : kAllFunctions) {
    CHECK(ParseMergeFunction(MergeFunctionName(f)) == f);
  }
  CHECK(ParseMergeFunction("counter") == MergeFunction::kCounter);
  CHECK(ParseMergeFunction("LWW") == std::nullopt);
  CHECK(ParseMergeFunction("") == std::nullopt);
  CHECK(ParseMergeFunction("lww ") == std::nullopt);
  CHECK(MergeFunctionNames() == "lww, counter, max, min, union, json, text, keep, reject");
}

TEST_CASE("every function settles equal sides and one-sided changes the same way") {
  for (MergeFunction f : kAllFunctions) {
    INFO("function " << MergeFunctionName(f));
    // Both sides equal: ours, whatever the base.
    RequireValue(Run(f, "1", "2", "2"), "2");
    RequireValue(Run(f, std::nullopt, "2", "2"), "2");
    CHECK(Run(f, "1", std::nullopt, std::nullopt).kind == Kind::kDeleted);
    // Ours unchanged: theirs, including their deletion.
    RequireValue(Run(f, "1", "1", "3"), "3");
    CHECK(Run(f, "1", "1", std::nullopt).kind == Kind::kDeleted);
    RequireValue(Run(f, std::nullopt, std::nullopt, "3"), "3");
    // Theirs unchanged: ours, including our deletion.
    RequireValue(Run(f, "1", "2", "1"), "2");
    CHECK(Run(f, "1", std::nullopt, "1").kind == Kind::kDeleted);
    RequireValue(Run(f, std::nullopt, "2", std::nullopt), "2");
  }
}

TEST_CASE("every combining function reports a deletion against a change as a conflict") {
  for (MergeFunction f : kCombiningFunctions) {
    INFO("function " << MergeFunctionName(f));
    RequireConflict(Run(f, "1", std::nullopt, "3"), "ours deleted the key and theirs changed it");
    RequireConflict(Run(f, "1", "2", std::nullopt), "theirs deleted the key and ours changed it");
  }
}

// ---- lww ----

MergeInput LwwInput(Value ours, int64_t ours_time, std::string ours_id, Value theirs,
                    int64_t theirs_time, std::string theirs_id) {
  MergeInput in;
  in.base = "base";
  in.ours = {std::move(ours), ours_time, std::move(ours_id)};
  in.theirs = {std::move(theirs), theirs_time, std::move(theirs_id)};
  return in;
}

TEST_CASE("lww takes the side written last") {
  RequireValue(Merge(MergeFunction::kLww, LwwInput("ours", 200, "aa", "theirs", 100, "bb")),
               "ours");
  RequireValue(Merge(MergeFunction::kLww, LwwInput("ours", 100, "bb", "theirs", 200, "aa")),
               "theirs");
}

TEST_CASE("lww takes a later deletion, and a later value over an earlier deletion") {
  CHECK(Merge(MergeFunction::kLww, LwwInput(std::nullopt, 200, "aa", "theirs", 100, "bb")).kind ==
        Kind::kDeleted);
  RequireValue(Merge(MergeFunction::kLww, LwwInput(std::nullopt, 100, "aa", "theirs", 200, "bb")),
               "theirs");
}

TEST_CASE("lww breaks a tie on time by the larger version id, whichever side holds it") {
  RequireValue(Merge(MergeFunction::kLww, LwwInput("ours", 100, "0a", "theirs", 100, "0b")),
               "theirs");
  RequireValue(Merge(MergeFunction::kLww, LwwInput("ours", 100, "0b", "theirs", 100, "0a")),
               "ours");
  // Equal ids too (which real versions never have): the larger value, so
  // both directions of the merge agree.
  RequireValue(Merge(MergeFunction::kLww, LwwInput("x", 100, "0a", "y", 100, "0a")), "y");
  RequireValue(Merge(MergeFunction::kLww, LwwInput("y", 100, "0a", "x", 100, "0a")), "y");
}

// ---- counter ----

TEST_CASE("counter adds both sides' increments to the base") {
  RequireValue(Run(MergeFunction::kCounter, "10", "15", "17"), "22");
  RequireValue(Run(MergeFunction::kCounter, "10", "5", "17"), "12");  // -5 and +7
  RequireValue(Run(MergeFunction::kCounter, std::nullopt, "3", "4"), "7");
  RequireValue(Run(MergeFunction::kCounter, " -5\n", "-2", "\t0 "), "3");
  RequireValue(Run(MergeFunction::kCounter, "007", "8", "9"), "10");
}

TEST_CASE("counter reports a sum beyond int64 as a conflict, not a wrapped number") {
  RequireConflict(Run(MergeFunction::kCounter, "0", "9223372036854775807", "1"),
                  "ours + theirs - base overflows a 64-bit integer");
  RequireConflict(Run(MergeFunction::kCounter, "1", "-9223372036854775808", "-1"),
                  "ours + theirs - base overflows a 64-bit integer");
  // ours + theirs alone would overflow; the result does not.
  RequireValue(Run(MergeFunction::kCounter, "10", "9223372036854775807", "5"),
               "9223372036854775802");
  RequireConflict(Run(MergeFunction::kCounter, "0", "9223372036854775808", "1"),
                  "ours is not a decimal int64 integer");
}

TEST_CASE("counter reports values that are not integers as conflicts naming the side") {
  RequireConflict(Run(MergeFunction::kCounter, "1", "1.5", "2"),
                  "ours is not a decimal int64 integer");
  RequireConflict(Run(MergeFunction::kCounter, "1", "2", "two"),
                  "theirs is not a decimal int64 integer");
  RequireConflict(Run(MergeFunction::kCounter, "one", "2", "3"),
                  "the base is not a decimal int64 integer");
  RequireConflict(Run(MergeFunction::kCounter, "1", "", "3"),
                  "ours is not a decimal int64 integer");
  RequireConflict(Run(MergeFunction::kCounter, "1", "+2", "3"),
                  "ours is not a decimal int64 integer");
  RequireConflict(Run(MergeFunction::kCounter, "1", "2 3", "3"),
                  "ours is not a decimal int64 integer");
}

// ---- max and min ----

TEST_CASE("max and min compare numbers by value and keep the winner's text") {
  RequireValue(Run(MergeFunction::kMax, "0", "3", "10"), "10");  // "3" > "10" as text
  RequireValue(Run(MergeFunction::kMin, "0", "3", "10"), "3");
  RequireValue(Run(MergeFunction::kMax, "0", "1e3", "999.5"), "1e3");
  RequireValue(Run(MergeFunction::kMin, "0", "1e3", "999.5"), "999.5");
  RequireValue(Run(MergeFunction::kMax, "0", "-2", "-10"), "-2");
  RequireValue(Run(MergeFunction::kMin, "0", "-2", "-10"), "-10");
  RequireValue(Run(MergeFunction::kMax, "0", " 7\n", "5"), " 7\n");
  RequireValue(Run(MergeFunction::kMin, std::nullopt, "0.25", ".5e0"), "0.25");
}

TEST_CASE("max and min pick the same text for equal numbers in either direction") {
  RequireValue(Run(MergeFunction::kMax, "0", "1.0", "1"), "1.0");
  RequireValue(Run(MergeFunction::kMax, "0", "1", "1.0"), "1.0");
  RequireValue(Run(MergeFunction::kMin, "0", "1", "1.0"), "1.0");
}

TEST_CASE("max and min report values that are not finite numbers as conflicts") {
  for (MergeFunction f : {MergeFunction::kMax, MergeFunction::kMin}) {
    INFO("function " << MergeFunctionName(f));
    RequireConflict(Run(f, "0", "abc", "1"), "ours is not a number");
    RequireConflict(Run(f, "0", "1", "12abc"), "theirs is not a number");
    RequireConflict(Run(f, "0", "1", "nan"), "theirs is not a number");
    RequireConflict(Run(f, "0", "inf", "1"), "ours is not a number");
    RequireConflict(Run(f, "0", "1e999", "1"), "ours is not a number");
    RequireConflict(Run(f, "0", "", "1"), "ours is not a number");
  }
}

// ---- union ----

TEST_CASE("union of JSON arrays is ours, then the elements only theirs has") {
  RequireValue(Run(MergeFunction::kUnion, "[1,2]", "[1,2,3]", "[0,1,2,4]"), "[1,2,3,0,4]");
  RequireValue(Run(MergeFunction::kUnion, std::nullopt, "[\"a\"]", "[ \"b\" , \"a\" ]"),
               R"(["a","b"])");
  // Ours' own duplicates stay; theirs' are added once.
  RequireValue(Run(MergeFunction::kUnion, "[]", "[1,1]", "[2,2,1]"), "[1,1,2]");
}

TEST_CASE("union brings back an element one side removed while the other kept it") {
  RequireValue(Run(MergeFunction::kUnion, "[1,2,3]", "[1,3]", "[1,2,3,4]"), "[1,3,2,4]");
  // Removed by both: gone.
  RequireValue(Run(MergeFunction::kUnion, "[1,2,3]", "[1,3,5]", "[1,3,6]"), "[1,3,5,6]");
}

TEST_CASE("union compares elements as JSON, ignoring field order and number spelling") {
  RequireValue(Run(MergeFunction::kUnion, "[]", R"([{"a":1,"b":2}])", R"([{"b":2,"a":1},{"c":3}])"),
               R"([{"a":1,"b":2},{"c":3}])");
  RequireValue(Run(MergeFunction::kUnion, "[]", "[1]", "[1.0,2]"), "[1,2]");
}

TEST_CASE("union of values that are not all arrays is a union of lines") {
  RequireValue(Run(MergeFunction::kUnion, "a\n", "a\nb\n", "a\nc\n"), "a\nb\nc\n");
  RequireValue(Run(MergeFunction::kUnion, "x", "x\ny", "y\nz\n"), "x\ny\nz\n");
  RequireValue(Run(MergeFunction::kUnion, "", "x", "y"), "x\ny");
  RequireValue(Run(MergeFunction::kUnion, "", "a\n\nb\n", "\nc\n"), "a\n\nb\nc\n");
  // One side not an array.
  RequireValue(Run(MergeFunction::kUnion, "[]", "[1]", "b"), "[1]\nb");
  // A base that is not an array.
  RequireValue(Run(MergeFunction::kUnion, "base", "[1]", "[2]"), "[1]\n[2]");
}

TEST_CASE("union treats JSON nested too deep as lines instead of recursing") {
  std::string deep_ours = std::string(100000, '[') + std::string(100000, ']');
  std::string deep_theirs = std::string(100000, '[') + "1" + std::string(100000, ']');
  RequireValue(Run(MergeFunction::kUnion, "", deep_ours, deep_theirs),
               deep_ours + "\n" + deep_theirs);
}

// ---- json ----

TEST_CASE("json keeps fields each side changed when they are different fields") {
  RequireValue(
      Run(MergeFunction::kJson, R"({"a":1,"b":2})", R"({"a":10,"b":2})", R"({"a":1,"b":20})"),
      R"({"a":10,"b":20})");
  RequireValue(Run(MergeFunction::kJson, R"({"a":1})", R"({"a":5,"x":1})", R"({"a":5,"y":[2]})"),
               R"({"a":5,"x":1,"y":[2]})");
  RequireValue(Run(MergeFunction::kJson, std::nullopt, R"({"a":1})", R"({"b":2})"),
               R"({"a":1,"b":2})");
}

TEST_CASE("json reports a field both sides changed differently, by name") {
  RequireConflict(
      Run(MergeFunction::kJson, R"({"a":1,"b":1})", R"({"a":10,"b":2})", R"({"a":11,"b":1})"),
      R"(field "a" changed on both sides)");
  RequireConflict(Run(MergeFunction::kJson, std::nullopt, R"({"a":1})", R"({"a":2})"),
                  R"(field "a" changed on both sides)");
}

TEST_CASE("json merges nested objects field by field and names nested conflicts by path") {
  RequireValue(Run(MergeFunction::kJson, R"({"o":{"p":1,"q":1},"r":0})",
                   R"({"o":{"p":2,"q":1},"r":0})", R"({"o":{"p":1,"q":2},"r":0})"),
               R"({"o":{"p":2,"q":2},"r":0})");
  RequireConflict(Run(MergeFunction::kJson, R"({"a":{"b":{"c":1}},"d":1,"e":1})",
                      R"({"a":{"b":{"c":2}},"d":2,"e":1})", R"({"a":{"b":{"c":3}},"d":3,"e":2})"),
                  R"(fields "a.b.c", "d" changed on both sides)");
  // Objects added on both sides merge as if the base had {}.
  RequireValue(Run(MergeFunction::kJson, "{}", R"({"n":{"x":1}})", R"({"n":{"y":2}})"),
               R"({"n":{"x":1,"y":2}})");
}

TEST_CASE("json removes a field one side removed and the other left alone") {
  RequireValue(Run(MergeFunction::kJson, R"({"a":1,"b":2})", R"({"a":1})", R"({"a":3,"b":2})"),
               R"({"a":3})");
  RequireConflict(Run(MergeFunction::kJson, R"({"a":1,"b":2})", R"({"a":1})", R"({"a":1,"b":3})"),
                  R"(field "b" changed on both sides)");
}

TEST_CASE("json orders fields as ours, then theirs' new ones, and ignores field order") {
  RequireValue(
      Run(MergeFunction::kJson, R"({"a":0,"z":0})", R"({"z":1,"a":0})", R"({"a":0,"z":0,"t":5})"),
      R"({"z":1,"a":0,"t":5})");
  // Ours only reordered "o": theirs' change of it stands.
  RequireValue(Run(MergeFunction::kJson, R"({"o":{"x":1,"y":2}})", R"({"o":{"y":2,"x":1},"n":1})",
                   R"({"o":{"x":1,"y":3}})"),
               R"({"o":{"x":1,"y":3},"n":1})");
}

TEST_CASE("json reports which side is not a JSON object") {
  RequireConflict(Run(MergeFunction::kJson, "{}", "[1]", R"({"a":1})"),
                  "ours is not a JSON object");
  RequireConflict(Run(MergeFunction::kJson, "{}", R"({"a":1})", "{"),
                  "theirs is not JSON (or nests deeper than 256 levels)");
  RequireConflict(Run(MergeFunction::kJson, "3", R"({"a":1})", R"({"b":1})"),
                  "the base is not a JSON object");
  std::string deep = "{\"a\":" + std::string(300, '[') + std::string(300, ']') + "}";
  RequireConflict(Run(MergeFunction::kJson, "{}", deep, R"({"b":1})"),
                  "ours is not JSON (or nests deeper than 256 levels)");
}

// ---- text ----

TEST_CASE("text keeps both sides' edits to different lines") {
  RequireValue(Run(MergeFunction::kText, "a\nb\nc\n", "A\nb\nc\n", "a\nb\nC\n"), "A\nb\nC\n");
  // Adjacent lines.
  RequireValue(Run(MergeFunction::kText, "a\nb\nc\n", "A\nb\nc\n", "a\nB\nc\n"), "A\nB\nc\n");
  // A deletion and an insertion elsewhere.
  RequireValue(Run(MergeFunction::kText, "a\nb\nc\nd\n", "a\nc\nd\n", "a\nb\nc\nd\ne\n"),
               "a\nc\nd\ne\n");
}

TEST_CASE("text reports both sides changing the same line as a conflict on that line") {
  RequireConflict(Run(MergeFunction::kText, "a\nb\nc\n", "a\nX\nc\n", "a\nY\nc\n"),
                  "both sides changed line 2");
  RequireConflict(Run(MergeFunction::kText, "a\nb\nc\nd\n", "X\nb\nc\nY\n", "Z\nb\nc\nW\n"),
                  "both sides changed line 1; both sides changed line 4");
  RequireConflict(Run(MergeFunction::kText, "a\nb\nc\nd\n", "a\nX\nd\n", "a\nb\nY\nd\n"),
                  "both sides changed lines 2-3");
}

TEST_CASE("text merges the same edit made on both sides") {
  RequireValue(Run(MergeFunction::kText, "a\nb\nc\n", "a\nX\nc\nours\n", "a\nX\nc\n"),
               "a\nX\nc\nours\n");
}

TEST_CASE("text reports different insertions at the same place, and merges equal ones") {
  RequireConflict(Run(MergeFunction::kText, "a\n", "a\nx\n", "a\ny\n"),
                  "both sides inserted different lines after line 1");
  RequireConflict(Run(MergeFunction::kText, std::nullopt, "x\n", "y\n"),
                  "both sides inserted different lines at the start");
  RequireValue(Run(MergeFunction::kText, "a\nb\n", "A\nb\nx\n", "a\nb\nx\n"), "A\nb\nx\n");
}

TEST_CASE("text puts an insertion next to lines the other side replaced, not inside") {
  // Theirs inserts Y right before the line ours replaces.
  RequireValue(Run(MergeFunction::kText, "a\nb\nc\n", "a\nB\nc\n", "a\nY\nb\nc\n"), "a\nY\nB\nc\n");
  // Theirs inserts Y between the two lines ours replaces.
  RequireConflict(Run(MergeFunction::kText, "a\nb\nc\nd\n", "a\nX\nd\n", "a\nb\nY\nc\nd\n"),
                  "both sides changed lines 2-3");
}

TEST_CASE("text treats a change to the final newline as a change to the last line") {
  RequireValue(Run(MergeFunction::kText, "a\nb", "a\nb\n", "A\nb"), "A\nb\n");
  RequireConflict(Run(MergeFunction::kText, "a\nb", "a\nb\n", "a\nB"), "both sides changed line 2");
}

TEST_CASE("text merges edits far apart in a long document") {
  std::string base, ours, theirs, merged;
  for (int i = 1; i <= 5000; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    base += line;
    ours += i == 10 ? "ours\n" : line;
    theirs += i == 4990 ? "theirs\n" : line;
    merged += i == 10 ? "ours\n" : i == 4990 ? "theirs\n" : line;
  }
  RequireValue(Run(MergeFunction::kText, base, ours, theirs), merged);
}

// ---- keep and reject ----

TEST_CASE("keep leaves both versions when both sides changed the key, even by deleting") {
  CHECK(Run(MergeFunction::kKeep, "1", "2", "3").kind == Kind::kKeepBoth);
  CHECK(Run(MergeFunction::kKeep, "1", std::nullopt, "3").kind == Kind::kKeepBoth);
}

TEST_CASE("reject fails when both sides changed the key, even by deleting") {
  RequireConflict(Run(MergeFunction::kReject, "1", "2", "3"), "changed on both sides");
  RequireConflict(Run(MergeFunction::kReject, "1", "2", std::nullopt), "changed on both sides");
}

}  // namespace
}  // namespace kvs::merge
