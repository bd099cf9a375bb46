// Edit records (store/edit_log.h): the compact encoding of store format 5
// replays to the trees the fixed-width one of formats 2 to 4 does, in fewer
// bytes, refuses what does not parse, and a store writes it once upgraded,
// beside the fixed-width records it wrote before, which it still replays.
#include "store/edit_log.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "store/btree.h"
#include "store/coding.h"
#include "store/entries.h"
#include "store/format.h"
#include "store/node_arena.h"
#include "tests/store/blocks.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

using Entries = std::map<std::string, std::string>;

Hash IdOf(uint8_t fill) {
  Hash h;
  h.bytes.fill(fill);
  h.bytes[0] = 0x80;  // not a byte a length or reference would start with by chance
  return h;
}

std::string IdBytes(const Hash& h) { return std::string(h.bytes.begin(), h.bytes.end()); }

// The block the edits below belong to.
CommitPoint Block() {
  CommitPoint block;
  block.block = 4096;
  block.end = 8192;
  block.revision = 7;
  block.time_ns = 1'700'000'000'000'000'000;
  return block;
}

KeyEntry EntryWithHeads(std::vector<Hash> ids) {
  KeyEntry e;
  e.created_time_ns = 5;
  for (const Hash& id : ids) e.heads.push_back(HeadRef{id, 4200, 6, false});
  return e;
}

// What a transaction of a store logs, in the order it logs it: a version
// and its link, a key's first version (a tail), a commit, the branch's new
// entry and key entries naming them (compact ones, store format 6, or
// fixed-width ones), a branch copied, a deletion, its revision entry; and
// an id in a place no id is looked for.
void LogTransaction(EditLog* log, bool compact_entries) {
  const Hash version = IdOf(1), parent = IdOf(2), first = IdOf(3), commit = IdOf(4);
  log->Put(gkey::Version(version), EncodeU64Value(4200));
  log->Put(gkey::Link(parent, version), "");
  log->Put(gkey::Version(first), EncodeU64Value(4300));
  log->Put(gkey::Tail("new key", first), "");
  log->Put(gkey::Commit(commit), EncodeU64Value(7) + EncodeU64Value(4400));
  log->Put("x" + IdBytes(version), IdBytes(commit));
  BranchEntry entry{0, 7, commit, 1, 2};
  log->PutBranch(
      "main", EncodeBranchEntry(entry),
      {{BranchTreeKey("key", 7), EncodeKeyEntry(EntryWithHeads({version}), compact_entries)},
       {BranchTreeKey("new key", 7),
        EncodeKeyEntry(EntryWithHeads({first, parent}), compact_entries)}});
  log->CopyBranch("copy", EncodeBranchEntry(entry), "main");
  log->Put(gkey::Branch("other"), EncodeBranchEntry(entry));
  log->Delete(gkey::Version(parent));
  const CommitPoint block = Block();
  log->Put(gkey::Revision(block.revision),
           EncodeRevisionEntry({block.block, block.block + 200, block.time_ns}));
}

std::string Encoded(bool compact, bool compact_entries = false) {
  EditLog log;
  const CommitPoint block = Block();
  log.Start(compact, block.block, block.revision, block.time_ns);
  LogTransaction(&log, compact_entries);
  return log.Encode();
}

// Every entry of the tree at root, and of each branch's tree under "B name/".
Entries Contents(const RecordSource& source, uint64_t root, bool with_branches = true) {
  Entries out;
  TreeCursor cursor(&source, root);
  REQUIRE(cursor.Seek("").ok());
  while (cursor.Valid()) {
    std::string key(cursor.key()), value(cursor.value());
    REQUIRE(cursor.Next().ok());
    if (with_branches && key[0] == 'B') {
      auto entry = DecodeBranchEntry(value);
      REQUIRE(entry.ok());
      for (const auto& [k, v] : Contents(source, entry->root, false)) out[key + "/" + k] = v;
      entry->root = 0;  // where a process put the tree's nodes
      value = EncodeBranchEntry(*entry);
    }
    out[key] = value;
  }
  return out;
}

// The state the edit record body leaves, applied to the empty tree.
Result<Entries> Replayed(std::string_view body) {
  auto arena = NodeArena::Create();
  TreeWriter tree(arena.get(), 0);
  EditReplay replay(&tree, arena.get(), arena.get());
  KVS_RETURN_IF_ERROR(ApplyEdits(body, Block(), &replay).status());
  KVS_RETURN_IF_ERROR(replay.Finish());
  KVS_ASSIGN_OR_RETURN(uint64_t root, tree.Flush(arena.get()));
  return Contents(*arena, root);
}

// The flags of a logged block's edit record (store/format.h).
uint32_t EditFlags(const BlockInfo& block) {
  REQUIRE(block.edit_body.size() >= 8);
  return DecodeFixed32(block.edit_body.data() + 4);
}

}  // namespace

TEST_CASE("A compact edit record replays to the trees the fixed-width one does, in fewer bytes") {
  const std::string fixed = Encoded(false), compact = Encoded(true);
  INFO("fixed " << fixed.size() << " bytes, compact " << compact.size());
  Result<Entries> from_fixed = Replayed(fixed), from_compact = Replayed(compact);
  REQUIRE(from_fixed.ok());
  REQUIRE(from_compact.ok());
  CHECK(from_fixed->size() == 14);  // two branches share the tree of two keys
  CHECK(*from_compact == *from_fixed);
  CHECK(from_fixed->count(gkey::Revision(7)) == 1);
  // Each id after its first time is a byte, the revision entry two.
  CHECK(compact.size() * 3 < fixed.size() * 2);
  CHECK(ApplyEdits(compact, Block(), nullptr).value() == 11);
}

TEST_CASE("A compact edit record writes the ids of compact key entries once too") {
  const std::string fixed = Encoded(false, true), compact = Encoded(true, true);
  Result<Entries> from_fixed = Replayed(fixed), from_compact = Replayed(compact);
  REQUIRE(from_fixed.ok());
  REQUIRE(from_compact.ok());
  CHECK(*from_compact == *from_fixed);
  auto entry =
      DecodeKeyEntry(from_compact->at(gkey::Branch("main") + "/" + BranchTreeKey("new key", 7)));
  REQUIRE(entry.ok());
  CHECK(entry->heads.size() == 2);
  // The compact entries are shorter by what they leave out; were their
  // three ids written in full, the record would grow by 31 bytes each.
  const size_t saved = EncodeKeyEntry(EntryWithHeads({IdOf(1)}), false).size() -
                       EncodeKeyEntry(EntryWithHeads({IdOf(1)}), true).size() +
                       EncodeKeyEntry(EntryWithHeads({IdOf(3), IdOf(2)}), false).size() -
                       EncodeKeyEntry(EntryWithHeads({IdOf(3), IdOf(2)}), true).size();
  INFO("compact entries " << compact.size() << " bytes, fixed-width " << Encoded(true).size());
  CHECK(compact.size() + saved <= Encoded(true).size() + 8);
}

TEST_CASE("An edit record that does not parse is refused, compact or not") {
  auto refused = [](std::string body) {
    return ApplyEdits(body, Block(), nullptr).status().IsCorruption();
  };
  const std::string compact = Encoded(true);
  REQUIRE(ApplyEdits(compact, Block(), nullptr).ok());
  std::string unknown_flags = compact;
  unknown_flags[4] = 2;
  CHECK(refused(unknown_flags));
  // The first edit is a put of 'V' and an id written in full: make its
  // reference name an id not yet written.
  std::string forward = compact;
  REQUIRE(forward.substr(8, 4) == std::string("\x01\x21V\x00", 4));
  forward[11] = 1;
  CHECK(refused(forward));
  // Cut short: its count promises edits that are not there.
  std::string cut = compact.substr(0, 40);
  cut.append(8, '\0');
  CHECK(refused(cut));
  // A revision entry past its block's end.
  EditLog log;
  log.Start(true, Block().block, Block().revision, Block().time_ns);
  log.Put(gkey::Revision(7),
          EncodeRevisionEntry({Block().block, Block().block + 100, Block().time_ns}));
  std::string revision = log.Encode();
  CHECK(ApplyEdits(revision, Block(), nullptr).ok());
  CommitPoint small = Block();
  small.end = small.block + 64;
  CHECK(ApplyEdits(revision, small, nullptr).status().IsCorruption());
}

TEST_CASE("A store of format 4 logs fixed-width edit records until upgraded, then compact ones") {
  TempDir dir;
  CopyTestStore("store-0.5", dir.path());
  {
    auto store = OpenStore(dir.path());
    CHECK(ValueOf(store.get(), "counter") == "39");
    MustPut(store.get(), "counter", "40");
  }
  std::vector<BlockInfo> blocks = Blocks(dir.path(), "data.000002");
  REQUIRE(blocks.back().kind == format::kKindLogged);
  CHECK(EditFlags(blocks.back()) == 0);

  auto upgraded = Store::Upgrade(dir.path());
  REQUIRE(upgraded.ok());
  CHECK(upgraded->from == 4);
  CHECK(upgraded->to == format::kStoreFormatVersion);
  const size_t old_blocks = blocks.size();
  // Two store objects take turns, as two processes would: each replays the
  // other's records, after the fixed-width ones in the same window.
  auto first = OpenStore(dir.path());
  auto second = OpenStore(dir.path());
  for (int i = 41; i < 50; ++i) {
    Store* store = i % 2 == 0 ? first.get() : second.get();
    MustPut(store, "counter", std::to_string(i));
    MustPut(store, "note", "draft " + std::to_string(i), "draft");
    CHECK(ValueOf(i % 2 == 0 ? second.get() : first.get(), "counter") == std::to_string(i));
  }
  blocks = Blocks(dir.path(), "data.000002");
  REQUIRE(blocks.size() == old_blocks + 18);
  for (size_t i = old_blocks; i < blocks.size(); ++i) {
    REQUIRE(blocks[i].kind == format::kKindLogged);
    CHECK(EditFlags(blocks[i]) == 1);
  }
  auto reopened = OpenStore(dir.path());
  CHECK(ValueOf(reopened.get(), "counter") == "49");
  CHECK(ValueOf(reopened.get(), "note", "draft") == "draft 49");
  CHECK(ValueOf(reopened.get(), "counter", "main",
                ReadPoint::AtRevision(*reopened->Revision() - 18)) == "40");
  auto report = reopened->Check();
  REQUIRE(report.ok());
  CHECK(report->problems.empty());
}

}  // namespace kvs::test
