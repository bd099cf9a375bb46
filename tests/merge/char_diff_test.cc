// Character diffs: the exact edits for small cases, UTF-8 and byte units,
// the cost bound, and random pairs checked against a brute-force LCS.
#include "merge/char_diff.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

#include "common/json_value.h"

namespace kvs::merge {
namespace {

using Edits = std::vector<Edit>;
constexpr EditOp kEq = EditOp::kEqual;
constexpr EditOp kDel = EditOp::kDelete;
constexpr EditOp kIns = EditOp::kInsert;

// Edits as a person reads them: {eq "text"} {del "x"} ...
std::string Show(const Edits& edits) {
  std::string shown;
  for (const Edit& edit : edits) {
    shown += "{" + std::string(EditOpName(edit.op)) + " \"" + edit.text + "\"} ";
  }
  return shown;
}

void RequireEdits(const Edits& got, const Edits& expected) {
  INFO("got      " << Show(got));
  INFO("expected " << Show(expected));
  REQUIRE(got == expected);
}

// The normal form DiffChars promises: no empty edit, no two adjacent edits
// with the same op, no insertion directly followed by a deletion.
void RequireNormalized(const Edits& edits) {
  INFO(Show(edits));
  for (size_t i = 0; i < edits.size(); ++i) {
    REQUIRE(!edits[i].text.empty());
    if (i == 0) continue;
    REQUIRE(edits[i].op != edits[i - 1].op);
    REQUIRE(!(edits[i - 1].op == kIns && edits[i].op == kDel));
  }
}

// Code points deleted plus inserted.
size_t Cost(const Edits& edits) {
  size_t cost = 0;
  for (const Edit& edit : edits) {
    if (edit.op == kEq) continue;
    cost += std::count_if(edit.text.begin(), edit.text.end(),
                          [](char c) { return (static_cast<uint8_t>(c) & 0xC0) != 0x80; });
  }
  return cost;
}

// Length of the longest common subsequence of two unit sequences, by
// dynamic programming: the reference a minimal diff is checked against.
size_t LongestCommonSubsequence(const std::vector<size_t>& a, const std::vector<size_t>& b) {
  std::vector<size_t> row(b.size() + 1, 0);
  for (size_t unit : a) {
    size_t diagonal = 0;  // row[j - 1] of the previous row
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = unit == b[j - 1] ? diagonal + 1 : std::max(row[j], row[j - 1]);
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Diffs `rounds` random pairs of strings of up to max_units units (each an
// index into alphabet, whose entries are distinct characters) and checks
// that each diff applies, is normalized, holds whole characters, and is
// minimal when a minimal diff costs at most max_cost.
void CheckRandomPairs(uint32_t seed, const std::vector<std::string>& alphabet, size_t max_units,
                      size_t max_cost, int rounds) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<size_t> length(0, max_units);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  auto random_units = [&] {
    std::vector<size_t> units(length(random));
    for (size_t& unit : units) unit = pick(random);
    return units;
  };
  auto text = [&](const std::vector<size_t>& units) {
    std::string s;
    for (size_t unit : units) s += alphabet[unit];
    return s;
  };
  for (int round = 0; round < rounds; ++round) {
    std::vector<size_t> from_units = random_units(), to_units = random_units();
    std::string from = text(from_units), to = text(to_units);
    INFO("from \"" << from << "\" to \"" << to << "\" max_cost " << max_cost);
    Edits edits = DiffChars(from, to, max_cost);
    RequireNormalized(edits);
    REQUIRE(ApplyEdits(from, edits) == to);
    for (const Edit& edit : edits) REQUIRE(common::IsValidUtf8(edit.text));
    size_t minimal =
        from_units.size() + to_units.size() - 2 * LongestCommonSubsequence(from_units, to_units);
    if (minimal <= max_cost) REQUIRE(Cost(edits) == minimal);
  }
}

TEST_CASE("edit ops are named eq, del and ins") {
  CHECK(EditOpName(kEq) == "eq");
  CHECK(EditOpName(kDel) == "del");
  CHECK(EditOpName(kIns) == "ins");
}

TEST_CASE("a changed last character is the common text, one delete and one insert") {
  RequireEdits(DiffChars("test 2", "test 1"), {{kEq, "test "}, {kDel, "2"}, {kIns, "1"}});
}

TEST_CASE("empty and equal inputs give no edit or one equal edit") {
  RequireEdits(DiffChars("", ""), {});
  RequireEdits(DiffChars("same", "same"), {{kEq, "same"}});
  RequireEdits(DiffChars("", "new"), {{kIns, "new"}});
  RequireEdits(DiffChars("old", ""), {{kDel, "old"}});
}

TEST_CASE("pure insertions keep everything else equal") {
  RequireEdits(DiffChars("abc", "aXbcY"), {{kEq, "a"}, {kIns, "X"}, {kEq, "bc"}, {kIns, "Y"}});
  RequireEdits(DiffChars("world", "hello world"), {{kIns, "hello "}, {kEq, "world"}});
}

TEST_CASE("pure deletions keep everything else equal") {
  RequireEdits(DiffChars("abcdef", "abef"), {{kEq, "ab"}, {kDel, "cd"}, {kEq, "ef"}});
  RequireEdits(DiffChars("xaxbx", "ab"),
               {{kDel, "x"}, {kEq, "a"}, {kDel, "x"}, {kEq, "b"}, {kDel, "x"}});
}

TEST_CASE("a changed stretch lists its deletion before its insertion") {
  RequireEdits(DiffChars("the cat sat", "the dog sat"),
               {{kEq, "the "}, {kDel, "cat"}, {kIns, "dog"}, {kEq, " sat"}});
}

TEST_CASE("UTF-8 text is diffed by code point, never splitting a character") {
  RequireEdits(DiffChars("héllo", "hallo"), {{kEq, "h"}, {kDel, "é"}, {kIns, "a"}, {kEq, "llo"}});
  // é and è share their first byte, é and ũ their last: neither is cut.
  RequireEdits(DiffChars("é", "è"), {{kDel, "é"}, {kIns, "è"}});
  RequireEdits(DiffChars("xéy", "xũy"), {{kEq, "x"}, {kDel, "é"}, {kIns, "ũ"}, {kEq, "y"}});
  RequireEdits(DiffChars("a😀b", "a😁b"), {{kEq, "a"}, {kDel, "😀"}, {kIns, "😁"}, {kEq, "b"}});
  RequireEdits(DiffChars("日本語", "日本人語"), {{kEq, "日本"}, {kIns, "人"}, {kEq, "語"}});
}

TEST_CASE("text that is not UTF-8 is diffed by byte") {
  // The trailing 0xFF makes both invalid UTF-8, so the shared lead byte of
  // é and è is an equal byte of its own.
  RequireEdits(DiffChars("\xC3\xA9\xFF", "\xC3\xA8\xFF"),
               {{kEq, "\xC3"}, {kDel, "\xA9"}, {kIns, "\xA8"}, {kEq, "\xFF"}});
  // One invalid side is enough.
  RequireEdits(DiffChars("é", "\xC3\xA8\x80"), {{kEq, "\xC3"}, {kDel, "\xA9"}, {kIns, "\xA8\x80"}});
}

TEST_CASE("a difference costing more than max_cost is one delete and one insert") {
  // Six units differ (three deleted, three inserted).
  RequireEdits(DiffChars("a1b2c3d", "a9b8c7d", 6), {{kEq, "a"},
                                                    {kDel, "1"},
                                                    {kIns, "9"},
                                                    {kEq, "b"},
                                                    {kDel, "2"},
                                                    {kIns, "8"},
                                                    {kEq, "c"},
                                                    {kDel, "3"},
                                                    {kIns, "7"},
                                                    {kEq, "d"}});
  RequireEdits(DiffChars("a1b2c3d", "a9b8c7d", 5),
               {{kEq, "a"}, {kDel, "1b2c3"}, {kIns, "9b8c7"}, {kEq, "d"}});
  // An odd cost: three.
  RequireEdits(DiffChars("a1b2c", "ab9c", 3),
               {{kEq, "a"}, {kDel, "1"}, {kEq, "b"}, {kDel, "2"}, {kIns, "9"}, {kEq, "c"}});
  RequireEdits(DiffChars("a1b2c", "ab9c", 2),
               {{kEq, "a"}, {kDel, "1b2"}, {kIns, "b9"}, {kEq, "c"}});
  RequireEdits(DiffChars("ab", "ba", 0), {{kDel, "ab"}, {kIns, "ba"}});
}

TEST_CASE("two megabyte strings differing in every character fall back to a coarse diff") {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> letter(0, 25);
  std::string from(1 << 20, ' '), to(1 << 20, ' ');
  for (size_t i = 0; i < from.size(); ++i) {
    from[i] = static_cast<char>('a' + letter(random));
    to[i] = static_cast<char>('a' + (from[i] - 'a' + 1 + letter(random) % 25) % 26);
  }
  Edits edits = DiffChars(from, to);
  REQUIRE(edits.size() == 2);
  CHECK(edits[0].op == kDel);
  CHECK(edits[0].text == from);
  CHECK(edits[1].op == kIns);
  CHECK(edits[1].text == to);
}

TEST_CASE("two megabyte strings differing in three places give a fine diff") {
  std::mt19937 random(11);
  std::uniform_int_distribution<int> letter(0, 25);
  std::string from(1 << 20, ' ');
  for (char& c : from) c = static_cast<char>('a' + letter(random));
  std::string to = from;
  to[1000] = '#';
  to[500000] = '$';
  to[1000000] = '%';
  Edits edits = DiffChars(from, to);
  RequireNormalized(edits);
  REQUIRE(edits.size() == 10);
  CHECK(edits[2] == Edit{kIns, "#"});
  CHECK(edits[5] == Edit{kIns, "$"});
  CHECK(edits[8] == Edit{kIns, "%"});
  CHECK(Cost(edits) == 6);
  CHECK(ApplyEdits(from, edits) == to);
}

TEST_CASE("random pairs: the diff applies, is normalized and is minimal") {
  CheckRandomPairs(20240601, {"a", "b", "c", " "}, 24, 2000, 3000);
}

TEST_CASE("random UTF-8 pairs: the diff holds whole characters and is minimal") {
  CheckRandomPairs(42, {"a", "é", "è", "ũ", "😀", "😁"}, 12, 2000, 2000);
}

TEST_CASE("random pairs under a small max_cost still apply, and are minimal within it") {
  for (size_t max_cost : {0, 1, 2, 3, 5, 8})
    CheckRandomPairs(5 + max_cost, {"a", "b", "c"}, 30, max_cost, 400);
}

TEST_CASE("applying edits checks them against the text they apply to") {
  CHECK(ApplyEdits("test 2", {{kEq, "test "}, {kDel, "2"}, {kIns, "1"}}) == "test 1");
  CHECK(ApplyEdits("", {}) == "");
  CHECK(ApplyEdits("abc", {{kEq, "abX"}}) == std::nullopt);             // equal text differs
  CHECK(ApplyEdits("abc", {{kEq, "a"}, {kDel, "c"}}) == std::nullopt);  // deleted text differs
  CHECK(ApplyEdits("abc", {{kEq, "ab"}}) == std::nullopt);              // "c" left over
  CHECK(ApplyEdits("abc", {{kEq, "abcd"}}) == std::nullopt);            // past the end
  CHECK(ApplyEdits("abc", {}) == std::nullopt);
}

}  // namespace
}  // namespace kvs::merge
