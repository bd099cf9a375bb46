// Corruption, as SQLite tests it: damage the files of a closed store byte
// by byte and make sure that opening it and reading every part of it either
// reports the damage (Status::Corruption) or gives exactly the right answers,
// never a crash, a hang or a wrong answer. Run it under AddressSanitizer too:
// that is where a missing bounds check shows.
//
// A pristine store is built by a small workload (multi-key writes, a large
// value, a tombstone, a key written again after it, a branch, writes that fork
// a key, a conflict resolved and another one left), and after each of its
// transactions everything the store shows is recorded: every key on every
// branch, key lists, branches, diffs (also from past revisions), every
// version with its history, children and common ancestors, every commit,
// tails, reads as of commits and times, and every key of main at every
// earlier revision. Then, on a copy, each byte of the data file is flipped:
//
//   - inside the file header: Open reports Corruption;
//   - inside the last block: that block is a torn tail and is dropped, so
//     the store opens at the previous revision, says how many bytes it
//     dropped, passes Check and shows exactly what it showed then;
//   - inside any earlier block: the store opens at the newest revision,
//     Check reports a problem (every byte of a block is covered by a
//     checksum), and each read either reports Corruption or gives exactly
//     the pristine answer; or, in a store with logged blocks (all but the
//     third pristine store below), Open reports Corruption, when the byte
//     is one its replay of the log reads (a block's header, trailer or
//     edit record, a node of the global tree), never when it is in a
//     version record;
//
// and the data file is cut at each length: shorter than the first block,
// Open reports Corruption; otherwise the store opens at the newest revision
// whose block is whole, reports the bytes after it as dropped, passes Check
// and shows exactly what it showed at that revision (and, at some lengths, a
// write goes on from there). All run on a store never compacted
// (data.000001), on a compacted one written to afterwards (data.000002), and
// on one written with every block a checkpoint (no logged blocks).
// Normal builds try every byte (cuts: every length near a block boundary,
// every third elsewhere); sanitizer builds, 30 times slower per trial, try
// every structural byte (headers, trailers, record headers, padding) and a
// sample of the rest. Cheap questions are asked at every trial, all of them
// at every 16th. Damaged STORE files and data files of another store or
// generation are refused as Corruption, and never replaced.
//
// Any damaged file that makes the engine crash or serve wrong data is to be
// kept below as a regression case of its own, described by where the damage
// is rather than by offset (offsets change with the random ids). Damage
// behind valid checksums, as a writer with a bug would leave it, is what
// fuzz/store_fuzz.cc finds; its findings are kept at the end of this file.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/btree.h"
#include "store/coding.h"
#include "store/data_file.h"
#include "store/directory.h"
#include "store/entries.h"
#include "store/format.h"
#include "store/log_window.h"
#include "store/node_arena.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

namespace fs = std::filesystem;

const char* const kBranches[] = {"main", "dev"};
const char* const kKeys[] = {"a", "b", "blob", "c", "d", "e", "k0", "k1", "k2", "never"};

// ---- Asking a store everything ---------------------------------------------------

// One question and the store's answer to it: a text, or a failure.
struct Answer {
  std::string question;
  Status status;  // OK, or why there is no answer (NotFound is an answer)
  std::string text;
};
using Answers = std::vector<Answer>;

// What a workload had written by some revision: the ids to ask about.
struct Known {
  std::vector<VersionId> versions;
  std::vector<CommitId> commits;
  std::vector<int64_t> times;  // of the commits
};

std::string Text(const Version& v) {
  std::ostringstream out;
  out << v.id.Hex() << " key=" << v.key << " parents=";
  for (const VersionId& p : v.parents) out << p.Hex().substr(0, 12) << ",";
  out << " deleted=" << v.deleted << " time=" << v.time_ns << " replica=" << v.replica.Hex()
      << " size=" << v.size << " rev=" << v.revision << " value=" << v.value;
  return out.str();
}

std::string Text(const KeyState& k) {
  std::ostringstream out;
  out << "winner {" << Text(k.winner) << "} heads";
  for (const Version& h : k.heads) out << " " << h.id.Hex().substr(0, 12);
  out << " rev=" << k.revision << " created=" << k.created_time_ns;
  return out.str();
}

std::string Text(const BranchInfo& b) {
  return b.name + " head=" + std::to_string(b.head_revision) + " commit=" + b.head_commit.Hex() +
         " created=" + std::to_string(b.created_revision) + "/" + std::to_string(b.created_time_ns);
}

std::string Text(const CommitInfo& c) {
  std::string out = c.id.Hex() + " branch=" + c.branch + " rev=" + std::to_string(c.revision) +
                    " time=" + std::to_string(c.time_ns) + " parents=";
  for (const CommitId& p : c.parents) out += p.Hex().substr(0, 12) + ",";
  out += " keys=";
  for (const std::string& k : c.keys) out += k + ",";
  return out;
}

std::string Text(const DiffEntry& d) {
  return std::to_string(static_cast<int>(d.kind)) + " " + d.key + " " +
         (d.from ? d.from->Hex().substr(0, 12) : "-") + " " +
         (d.to ? d.to->Hex().substr(0, 12) : "-");
}

std::string Text(uint64_t n) { return std::to_string(n); }
std::string Text(const Hash& h) { return h.Hex(); }

template <typename T>
std::string Text(const std::vector<T>& items) {
  std::string out = std::to_string(items.size()) + " [";
  for (const T& item : items) out += "{" + Text(item) + "} ";
  return out + "]";
}

template <typename T>
void Record(Answers* answers, std::string question, const Result<T>& r) {
  if (r.status().IsNotFound()) {
    answers->push_back({std::move(question), Status::OK(), "NotFound"});
  } else if (!r.ok()) {
    answers->push_back({std::move(question), r.status(), r.status().ToString()});
  } else {
    answers->push_back({std::move(question), Status::OK(), Text(*r)});
  }
}

// What the store shows about what was written up to revision: with full,
// everything; else the cheaper first part (the latest state of every key,
// branch and key list), which costs a fraction.
Answers Ask(Store* store, const Known& known, uint64_t revision, bool full) {
  Answers a;
  Record(&a, "revision", store->Revision());
  Record(&a, "branches", store->ListBranches());
  for (const char* branch : kBranches) {
    Record(&a, std::string("branch ") + branch, store->GetBranch(branch));
    for (const char* key : kKeys) {
      Record(&a, std::string("get ") + branch + "/" + key, store->Get(branch, key));
    }
    KeyListOptions list;
    list.include_deleted = true;
    list.with_values = true;
    Record(&a, std::string("keys ") + branch, store->ListKeys(branch, list));
  }
  Record(&a, "diff", store->Diff("main", ReadPoint::Latest(), "dev", ReadPoint::Latest()));
  if (!full) return a;
  for (const VersionId& id : known.versions) {
    std::string name = id.Hex().substr(0, 12);
    Record(&a, "version " + name, store->GetVersion(id, true));
    Record(&a, "history " + name, store->History(id, 0, 1000, true));
    Record(&a, "children " + name, store->Children(id));
    Record(&a, "resolve " + name, store->ResolveVersion(name));
  }
  for (size_t i = 0; i + 1 < known.versions.size(); ++i) {
    Record(&a, "common ancestors " + std::to_string(i),
           store->CommonAncestors({known.versions[i], known.versions[i + 1]}));
  }
  for (size_t i = 0; i < known.commits.size(); ++i) {
    std::string name = known.commits[i].Hex().substr(0, 12);
    Record(&a, "commit " + name, store->GetCommit(known.commits[i]));
    KeyListOptions list;
    list.with_values = true;
    list.at = ReadPoint::AtCommit(known.commits[i]);
    Record(&a, "keys main at commit " + name, store->ListKeys("main", list));
    list.at = ReadPoint::AtTime(known.times[i] - 1);
    Record(&a, "keys main just before " + name, store->ListKeys("main", list));
  }
  for (uint64_t r = 0; r <= revision; ++r) {
    Record(&a, "diff main@" + std::to_string(r),
           store->Diff("main", ReadPoint::AtRevision(r), "dev", ReadPoint::Latest()));
  }
  for (const char* key : kKeys) Record(&a, std::string("tails ") + key, store->Tails(key));
  Record(&a, "versions", store->ListVersions({}));
  for (uint64_t r = 0; r <= revision; ++r) {
    for (const char* key : kKeys) {
      Record(&a, "get main/" + std::string(key) + "@" + std::to_string(r),
             store->Get("main", key, ReadPoint::AtRevision(r)));
    }
  }
  return a;
}

// "" when every answer equals the expected one (got may answer only the
// first questions of want); when reported_is_fine, an answer may instead be
// a Corruption status (counted in *reported). Otherwise, the first difference.
std::string Compare(const Answers& got, const Answers& want, bool reported_is_fine,
                    size_t* reported = nullptr) {
  if (got.size() > want.size()) return "more answers than expected";
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i].status.code() == want[i].status.code() && got[i].text == want[i].text) continue;
    if (reported_is_fine && got[i].status.IsCorruption()) {
      if (reported != nullptr) ++*reported;
      continue;
    }
    return want[i].question + ": got " + got[i].text + "\n  expected " + want[i].text;
  }
  return "";
}

// The pristine store answers everything, except past tree states that a
// compaction removed.
bool AllAnswered(const Answers& answers) {
  for (const Answer& a : answers) {
    if (!a.status.ok() && a.status.code() != Status::Code::kCompacted) return false;
  }
  return true;
}

// ---- The pristine store ------------------------------------------------------------

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// A closed store built by the workload, with what it showed at each revision.
struct Pristine {
  TempDir dir;
  std::string path = dir.Sub("store");
  std::string data_file = "data.000001";  // the live generation's
  std::string data;                       // its bytes
  uint64_t first = 0;                     // the revision of its first block
  std::vector<uint64_t> end;              // [r], r >= first: offset just past revision r's block
  std::vector<Known> known;               // [r]: what was written up to revision r
  std::vector<Answers> answers;           // [r]: everything the store showed at r
  // Written with logged blocks (the default), or with every block a
  // checkpoint (Options::checkpoint_blocks 1).
  bool logged = true;
  uint64_t last() const { return end.size() - 1; }
  // The revision whose block holds offset (kFileHeaderSize <= offset < size).
  uint64_t BlockOf(uint64_t offset) const {
    return static_cast<uint64_t>(std::upper_bound(end.begin() + first, end.end(), offset) -
                                 end.begin());
  }
  // The type of the record that holds offset; 0 in a block's header or
  // trailer.
  char RecordTypeAt(uint64_t offset) const {
    using namespace format;
    const uint64_t r = BlockOf(offset);
    uint64_t at = (r == first ? kFileHeaderSize : end[r - 1]) + kBlockHeaderSize;
    while (at + kRecordHeaderSize <= end[r] - kTrailerSize) {
      const uint64_t next =
          at + RecordFileBytes(DecodeFixed32(data.data() + at + 8) - kRecordHeaderSize);
      if (offset >= at && offset < next) return data[at + 4];
      at = next;
    }
    return 0;
  }
};

// With compact_midway, the store is compacted (keeping all history) two
// transactions before the end, so its live file is generation 2: one block
// holding everything up to then, and two more.
void BuildPristine(Pristine* pristine, bool compact_midway = false) {
  Pristine& p = *pristine;
  Options options;
  if (!p.logged) options.checkpoint_blocks = 1;
  auto store = OpenStore(p.path, options);
  Known known;
  auto committed = [&] {
    uint64_t revision = *store->Revision();
    REQUIRE(revision == p.end.size());
    p.end.push_back(*store->DataBytes());
    p.known.push_back(known);
    p.answers.push_back(Ask(store.get(), known, revision, true));
    REQUIRE(AllAnswered(p.answers.back()));
  };
  auto write = [&](const std::string& branch, std::vector<KeyWrite> writes) {
    WriteBatch batch;
    batch.branch = branch;
    batch.writes = std::move(writes);
    auto r = store->Write(batch);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    known.versions.insert(known.versions.end(), r->versions.begin(), r->versions.end());
    known.commits.push_back(r->commit);
    known.times.push_back(r->time_ns);
    committed();
    return r->versions;
  };
  auto put = [](std::string key, std::string value) {
    return KeyWrite{std::move(key), std::move(value), std::nullopt, std::nullopt, std::nullopt};
  };
  auto del = [](std::string key) {
    return KeyWrite{std::move(key), std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  };
  auto fork = [](std::string key, std::string value, VersionId parent) {
    return KeyWrite{std::move(key), std::move(value), std::vector<VersionId>{parent}, std::nullopt,
                    std::nullopt};
  };

  committed();  // revision 0: the empty store
  std::vector<VersionId> first = write("main", {put("a", "a1"), put("b", "b1"), put("c", "c1")});
  write("main", {put("a", "a2")});
  write("main", {put("blob", std::string(2000, 'x'))});
  write("main", {del("b")});
  REQUIRE(store->CreateBranch("dev", "main").ok());
  committed();
  write("dev", {put("a", "dev-a1"), put("d", "d1")});
  write("main", {fork("a", "a-fork", first[0])});  // a: two heads on main
  write("main", {put("c", "c2"), put("e", "e1")});
  write("dev", {del("c")});
  write("main", {put("b", "b3")});  // b again, after its tombstone
  for (int i = 0; i < 4; ++i) {
    write(i % 2 ? "dev" : "main", {put("k" + std::to_string(i % 3), "v" + std::to_string(i))});
  }
  if (compact_midway) {
    auto compacted = store->Compact(CompactOptions{});
    INFO(compacted.status().ToString());
    REQUIRE(compacted.ok());
    p.data_file = "data.000002";
    p.first = p.last();
    p.end.back() = *store->DataBytes();
    // Compaction that keeps all history changes nothing a reader sees of
    // the latest state (past tree states, for Diff, are gone).
    CHECK(Compare(Ask(store.get(), known, p.first, false), p.answers.back(), false) == "");
    p.answers.back() = Ask(store.get(), known, p.first, true);
    REQUIRE(AllAnswered(p.answers.back()));
  }
  write("main", {put("a", "a-resolved")});  // a: one head again
  write("main", {fork("c", "c-fork", first[2]), put("k2", std::string(300, 'k'))});  // c: two
  store.reset();
  REQUIRE(fs::exists(p.path + "/" + p.data_file));
  // Without the zeros kept ahead of the end (store/data_file.h): a file as
  // a rollback, or an older kvs, leaves it. The zeros have a test of
  // their own.
  p.data = ReadFile(p.path + "/" + p.data_file);
  REQUIRE(p.data.size() >= p.end.back());
  REQUIRE(p.data.find_first_not_of('\0', p.end.back()) == std::string::npos);
  p.data.resize(p.end.back());
}

// A scratch copy of the pristine store whose data file a trial damages.
class Scratch {
 public:
  explicit Scratch(const Pristine& pristine)
      : pristine_(pristine),
        path_(dir_.Sub("store")),
        data_path_(path_ + "/" + pristine.data_file) {
    fs::create_directory(path_);
    fs::copy_file(pristine.path + "/STORE", path_ + "/STORE");
    Restore(pristine.data.size());
  }
  const std::string& path() const { return path_; }

  void Flip(uint64_t offset) { Poke(offset, static_cast<char>(pristine_.data[offset] ^ 0xff)); }
  void Unflip(uint64_t offset) { Poke(offset, pristine_.data[offset]); }
  void Truncate(uint64_t size) {
    REQUIRE(truncate(data_path_.c_str(), static_cast<off_t>(size)) == 0);
  }
  // The data file becomes the pristine one's first size bytes.
  void Restore(uint64_t size) {
    WriteFile(data_path_, std::string_view(pristine_.data).substr(0, size));
  }

 private:
  void Poke(uint64_t offset, char byte) {
    int fd = open(data_path_.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(pwrite(fd, &byte, 1, static_cast<off_t>(offset)) == 1);
    close(fd);
  }

  const Pristine& pristine_;
  TempDir dir_;
  std::string path_;
  std::string data_path_;
};

// Bytes that are structure rather than content: the file header, block
// headers and trailers, record headers and the padding after records. Every
// one of them is tried; record bodies, where a flip can only fail the
// record's checksum, may be sampled.
std::vector<bool> StructuralBytes(const Pristine& p) {
  using namespace format;
  std::vector<bool> structural(p.data.size(), false);
  auto mark = [&](uint64_t from, uint64_t n) {
    for (uint64_t i = from; i < from + n; ++i) structural.at(i) = true;
  };
  mark(0, kFileHeaderSize);
  uint64_t block = kFileHeaderSize;
  for (uint64_t r = p.first; r <= p.last(); ++r) {
    uint64_t end = p.end[r];
    uint64_t trailer = end - kTrailerSize;
    mark(block, kBlockHeaderSize);
    mark(trailer, kTrailerSize);
    for (uint64_t record = block + kBlockHeaderSize; record < trailer;) {
      uint64_t length = DecodeFixed32(p.data.data() + record + 8);
      REQUIRE(length >= kRecordHeaderSize);
      uint64_t padded = (length + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
      mark(record, kRecordHeaderSize);
      mark(record + length, padded - length);
      record += padded;
    }
    block = end;
  }
  return structural;
}

// Strides through record bodies and through cut lengths away from block
// boundaries (every length near one is tried); prime to the 8-byte record
// alignment, so every position within a record is reached.
#if defined(__SANITIZE_ADDRESS__)
// Sanitizers make each trial about 30 times slower.
constexpr uint64_t kBodyStride = 11;
constexpr uint64_t kCutStride = 53;
#else
constexpr uint64_t kBodyStride = 1;
constexpr uint64_t kCutStride = 3;
#endif
// Every this many trials asks every question, not only the cheap ones.
constexpr uint64_t kFullAskEvery = 16;

Result<std::unique_ptr<Store>> OpenExisting(const std::string& path) {
  Options options;
  options.create_if_missing = false;
  return Store::Open(path, options);
}

// The damaged store opens at revision, having dropped dropped bytes, passes
// Check and shows exactly what the pristine store showed at that revision.
void ExpectEarlierConsistentState(const Pristine& p, Store* store, uint64_t revision,
                                  uint64_t dropped, bool full) {
  CHECK(store->recovery_info().dropped_tail_bytes == dropped);
  auto report = store->Check();
  REQUIRE(report.ok());
  INFO("first problem: " << (report->problems.empty() ? "" : report->problems.front()));
  CHECK(report->ok());
  CHECK(Compare(Ask(store, p.known[revision], revision, full), p.answers[revision], false) == "");
}

// What flipping the byte at offset must do; see the top of the file.
// Returns the number of answers that reported Corruption.
size_t ExpectFlipHandled(const Pristine& p, Scratch* scratch, uint64_t offset, bool full) {
  INFO("byte " << offset << " of " << p.data.size() << " flipped");
  scratch->Flip(offset);
  size_t reported = 0;
  {
    auto store = OpenExisting(scratch->path());
    INFO(store.status().ToString());
    if (offset < format::kFileHeaderSize) {
      CHECK(store.status().IsCorruption());
    } else {
      uint64_t block = p.BlockOf(offset);
      INFO("in the block of revision " << block << " (the last is " << p.last() << ")");
      // In a logged store, opening replays the edits since the last
      // checkpoint onto its global tree (store/log_window.h): damage to
      // those blocks' headers, trailers or edit records, or to the nodes
      // of that tree the edits reach, is reported by Open. A version
      // record is not among them.
      const bool refused = p.logged && block != p.last() &&
                           !IsVersionRecord(p.RecordTypeAt(offset)) &&
                           store.status().IsCorruption();
      if (!refused) REQUIRE(store.ok());
      if (refused) {
        reported = 1;
      } else if (block == p.last()) {
        ExpectEarlierConsistentState(p, store->get(), block - 1, p.end[block] - p.end[block - 1],
                                     full);
      } else {
        CHECK((*store)->recovery_info().dropped_tail_bytes == 0);
        auto report = (*store)->Check();
        CHECK((!report.ok() || !report->ok()));
        CHECK(Compare(Ask(store->get(), p.known[p.last()], p.last(), full), p.answers[p.last()],
                      true, &reported) == "");
      }
    }
  }
  scratch->Unflip(offset);
  return reported;
}

// Where opening finds the data of the pristine file cut to size to end: a
// file of a size in whole 8-byte units may end in zeros that a writer kept
// ahead of its blocks (store/data_file.h), which are no torn tail.
uint64_t DataEndOf(const Pristine& p, uint64_t size) {
  if (size % format::kRecordAlign != 0) return size;
  uint64_t n = size;
  while (n > 0 && p.data[n - 1] == '\0') --n;
  return (n + format::kRecordAlign - 1) / format::kRecordAlign * format::kRecordAlign;
}

// What cutting the data file to size must do; see the top of the file. With
// write_after, also that a write goes on from the revision recovered.
void ExpectCutHandled(const Pristine& p, Scratch* scratch, uint64_t size, bool full,
                      bool write_after) {
  INFO("data file cut to " << size << " of " << p.data.size() << " bytes");
  scratch->Truncate(size);
  auto store = OpenExisting(scratch->path());
  INFO(store.status().ToString());
  if (size < p.end[p.first]) {
    CHECK(store.status().IsCorruption());
    return;
  }
  REQUIRE(store.ok());
  uint64_t revision = p.BlockOf(size) - 1;  // the newest whole block
  ExpectEarlierConsistentState(p, store->get(), revision, DataEndOf(p, size) - p.end[revision],
                               full);
  if (!write_after) return;
  MustPut(store->get(), "after", "the cut");
  store->reset();
  auto reopened = OpenStore(scratch->path());
  CHECK(reopened->recovery_info().dropped_tail_bytes == 0);
  CHECK(*reopened->Revision() == revision + 1);
  CHECK(ValueOf(reopened.get(), "after") == "the cut");
  auto report = reopened->Check();
  REQUIRE(report.ok());
  CHECK(report->ok());
  reopened.reset();
  scratch->Restore(size);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Appends to the closed store in path one transaction that only changes its
// global tree, by edit: damage behind valid checksums, as a writer with a
// bug would leave it.
void AppendGlobalTreeEdit(const std::string& path, const std::function<Status(TreeWriter*)>& edit) {
  auto identity = ReadIdentity(Env::Default(), path);
  REQUIRE(identity.ok());
  const std::string data_path = path + "/data.000001";
  auto file = DataFile::Open(Env::Default(), data_path, 1, identity->salt, identity->replica);
  REQUIRE(file.ok());
  auto snap = (*file)->Latest();
  REQUIRE(snap.ok());
  LogWindows windows;
  REQUIRE(ResolveLoggedHead(&windows, &*snap).ok());
  const CommitPoint& head = snap->head();
  BlockBuilder builder(head.end, identity->salt);
  builder.BeginBlock();
  LayeredSource source(&*snap, &builder);
  // The edited tree, then written whole where it is in memory (a logged
  // head's), as a checkpoint.
  TreeWriter global(&source, head.root);
  REQUIRE(edit(&global).ok());
  auto arena = NodeArena::Create();
  auto edited = global.Flush(arena.get());
  REQUIRE(edited.ok());
  auto root = MaterializeState(source, *edited, arena.get(), &builder);
  REQUIRE(root.ok());
  builder.EndBlock(head.revision + 1, head.time_ns + 1, *root, format::kKindTransaction);
  // Over the zeros the writer kept ahead of the end.
  std::fstream out(data_path, std::ios::binary | std::ios::in | std::ios::out);
  out.seekp(static_cast<std::streamoff>(head.end));
  out << builder.bytes();
  REQUIRE(out.good());
}

}  // namespace

// Runs body on the pristine store, once uncompacted (data.000001) and once
// compacted with writes after it (data.000002). sparseness multiplies the
// strides for the compacted one, which repeats the same kinds of bytes.
void ForEachPristine(const std::function<void(const Pristine&, uint64_t sparseness)>& body) {
  SECTION("a store never compacted") {
    Pristine p;
    BuildPristine(&p);
    body(p, 1);
  }
  SECTION("a compacted store with writes after the compaction") {
    Pristine p;
    BuildPristine(&p, /*compact_midway=*/true);
    body(p, 3);
  }
  SECTION("a store whose every block is a checkpoint") {
    Pristine p;
    p.logged = false;
    BuildPristine(&p);
    body(p, 3);
  }
}

TEST_CASE("the pristine store opens at its last revision and shows what it showed then") {
  ForEachPristine([](const Pristine& p, uint64_t) {
    Scratch scratch(p);
    auto store = OpenExisting(scratch.path());
    REQUIRE(store.ok());
    ExpectEarlierConsistentState(p, store->get(), p.last(), 0, true);
  });
}

TEST_CASE("a flipped byte anywhere in the data file is reported or harmless, never served") {
  ForEachPristine([](const Pristine& p, uint64_t sparseness) {
    Scratch scratch(p);
    const std::vector<bool> structural = StructuralBytes(p);
    const uint64_t stride = kBodyStride * sparseness;
    auto start = std::chrono::steady_clock::now();
    uint64_t trials = 0;
    size_t reported = 0;
    for (uint64_t offset = 0; offset < p.data.size(); ++offset) {
      if (!structural[offset] && offset % stride != 0) continue;
      reported += ExpectFlipHandled(p, &scratch, offset, trials++ % kFullAskEvery == 0);
    }
    std::cout << "corruption: flipped " << trials << " of the " << p.data.size() << " bytes of "
              << p.data_file << " (revisions " << p.first << " to " << p.last() << ") in "
              << SecondsSince(start) << " s; reads reported Corruption " << reported << " times\n";
    // Reads verify what they use: damage in the middle is caught by them,
    // not only by Check.
    CHECK(reported > 0);
  });
}

TEST_CASE("a data file cut at any length opens at the newest whole revision") {
  ForEachPristine([](const Pristine& p, uint64_t sparseness) {
    Scratch scratch(p);
    auto near_block_end = [&](uint64_t size) {
      for (uint64_t r = p.first; r <= p.last(); ++r) {
        if (size + 2 * format::kTrailerSize >= p.end[r] &&
            size <= p.end[r] + 2 * format::kBlockHeaderSize) {
          return true;
        }
      }
      return false;
    };
    const uint64_t stride = kCutStride * sparseness;
    auto start = std::chrono::steady_clock::now();
    uint64_t trials = 0;
    // Longest first, so that each cut only shortens the file.
    for (uint64_t size = p.data.size(); size-- > 0;) {
      if (!near_block_end(size) && size % stride != 0) continue;
      ExpectCutHandled(p, &scratch, size, trials % kFullAskEvery == 0, trials % 61 == 0);
      ++trials;
    }
    std::cout << "corruption: cut the " << p.data.size() << "-byte " << p.data_file << " at "
              << trials << " lengths in " << SecondsSince(start) << " s\n";
  });
}

TEST_CASE("a damaged STORE file is reported as Corruption and never replaced") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  MustPut(OpenStore(path).get(), "k", "v");
  const std::string store_file = path + "/STORE";
  const std::string good = ReadFile(store_file);
  REQUIRE(good.size() == format::kStoreFileSize);
  // Opened the default way, creating when missing: a damaged identity must
  // not pass for a missing one (creation would replace the data file).
  auto expect_refused = [&](const std::string& what) {
    INFO(what);
    auto store = Store::Open(path, Options());
    INFO(store.status().ToString());
    CHECK(store.status().IsCorruption());
  };
  for (size_t offset = 0; offset < good.size(); ++offset) {
    std::string bad = good;
    bad[offset] = static_cast<char>(bad[offset] ^ 0xff);
    WriteFile(store_file, bad);
    if (offset < 60) {
      expect_refused("byte " + std::to_string(offset) + " flipped");
    } else {
      // [60, 64) is reserved (zero) and outside the checksum: either refused
      // or without effect.
      INFO("byte " << offset << " flipped");
      auto store = Store::Open(path, Options());
      CHECK((store.status().IsCorruption() || (store.ok() && ValueOf(store->get(), "k") == "v")));
    }
  }
  for (size_t size = 0; size < good.size(); ++size) {
    WriteFile(store_file, std::string_view(good).substr(0, size));
    expect_refused("cut to " + std::to_string(size) + " bytes");
  }
  WriteFile(store_file, good + '\0');
  expect_refused("one byte too long");

  WriteFile(store_file, good);
  auto store = OpenExisting(path);
  REQUIRE(store.ok());
  CHECK(ValueOf(store->get(), "k") == "v");
}

TEST_CASE("a data file of another store or generation, or none, is reported as Corruption") {
  TempDir dir;
  const std::string ours = dir.Sub("ours"), theirs = dir.Sub("theirs");
  MustPut(OpenStore(ours).get(), "k", "ours");
  MustPut(OpenStore(theirs).get(), "k", "theirs");
  const std::string data = ours + "/data.000001";
  const std::string our_data = ReadFile(data), our_identity = ReadFile(ours + "/STORE");
  auto expect_refused = [&](const std::string& what) {
    INFO(what);
    auto store = Store::Open(ours, Options());
    INFO(store.status().ToString());
    CHECK(store.status().IsCorruption());
  };

  WriteFile(data, ReadFile(theirs + "/data.000001"));
  expect_refused("their data file");
  WriteFile(data, our_data);

  WriteFile(ours + "/STORE", ReadFile(theirs + "/STORE"));
  expect_refused("their STORE file");
  WriteFile(ours + "/STORE", our_identity);

  fs::rename(data, ours + "/data.000002");
  expect_refused("our data file named as generation 2");
  fs::remove(ours + "/data.000002");
  expect_refused("no data file");
  WriteFile(data, our_data);

  // Nothing was replaced while refusing.
  auto store = OpenExisting(ours);
  REQUIRE(store.ok());
  CHECK(ValueOf(store->get(), "k") == "ours");
  fs::remove(ours + "/STORE");
  CHECK(OpenExisting(ours).status().IsNotFound());
}

// ---- Found by fuzz/store_fuzz.cc ------------------------------------------------

TEST_CASE("compacting a store whose key has a head missing from the version index is Corruption") {
  // fuzz/corpus/store/regress-head-missing-from-version-index: compaction
  // threw std::out_of_range, and with retention rules pointed the head at
  // offset 0 instead.
  TempDir dir;
  const std::string path = dir.Sub("store");
  VersionId lost = MustPut(OpenStore(path).get(), "k", "v").versions[0];
  AppendGlobalTreeEdit(path,
                       [&](TreeWriter* global) { return global->Delete(gkey::Version(lost)); });
  auto store = OpenExisting(path);
  REQUIRE(store.ok());
  CompactOptions keep_all, keep_last;
  keep_last.rules.push_back(RetentionRule{"", 1, std::nullopt});
  for (const CompactOptions& options : {keep_all, keep_last}) {
    auto compacted = (*store)->Compact(options);
    INFO(compacted.status().ToString());
    CHECK(compacted.status().IsCorruption());
  }
  CHECK(ValueOf(store->get(), "k") == "v");
}

}  // namespace kvs::test
