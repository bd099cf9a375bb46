// Check: reads and verifies every byte of the live data file. First the
// block sequence (headers, payload checksums, salted trailers, every record's
// checksum), then the meaning (every tree in order, every version's id
// recomputed from its content, every index entry pointing where it says).
// Problems are collected, not thrown: Check reports, it never crashes.
#include <set>

#include "store/coding.h"
#include "store/crc32c.h"
#include "store/edit_log.h"
#include "store/format.h"
#include "store/store_impl.h"

namespace kvs {

using namespace format;

class Checker {
 public:
  Checker(const Snapshot& snap, CheckReport* report) : snap_(snap), report_(report) {}

  void CheckBlocks() {
    uint64_t at = kFileHeaderSize;
    uint64_t expected_revision = 0;
    bool first_commit = true;
    uint32_t previous_kind = 0;
    // The running crc of the current group, over [group, crc_end).
    uint64_t group = 0, crc_end = 0;
    uint32_t crc = 0;
    last_checkpoint_ = 0;
    while (at < snap_.head().end && report_->problems.size() < kMaxProblems) {
      auto point = snap_.ReadCommitPoint(at);
      if (!point.ok()) return Problem(point.status().message());
      uint64_t payload_at = at + kBlockHeaderSize;
      uint64_t trailer_at = point->end - kTrailerSize;
      auto payload = snap_.Bytes(payload_at, trailer_at - payload_at);
      auto trailer = snap_.Bytes(trailer_at, kTrailerSize);
      if (!payload.ok() || !trailer.ok()) {
        return Problem("block at " + std::to_string(at) + " is cut");
      }
      uint32_t kind = DecodeFixed32(trailer->data() + 40);
      uint64_t distance = uint64_t{DecodeFixed32(trailer->data() + 44)} * kRecordAlign;
      if (distance > at - kFileHeaderSize) {
        return Problem("block at " + std::to_string(at) + " names a bad group");
      }
      if (at - distance != group || crc_end > trailer_at) {
        group = crc_end = at - distance;
        crc = 0;
      }
      auto span = snap_.Bytes(crc_end, trailer_at - crc_end);
      if (!span.ok()) return Problem("block at " + std::to_string(at) + " names a bad group");
      crc = Crc32c(crc, span->data(), span->size());
      // A checkpoint of the state a logged block left (Store::Checkpoint)
      // has that block's revision.
      const bool restates = kind == kKindTransaction && previous_kind == kKindLogged &&
                            point->revision + 1 == expected_revision;
      if (kind != kKindPart && !restates) {
        // A compacted file starts at the revision it was compacted at.
        if (first_commit) expected_revision = point->revision;
        first_commit = false;
        if (point->revision != expected_revision && !CompactedAway(point->revision)) {
          Problem("block at offset " + std::to_string(at) + " has revision " +
                  std::to_string(point->revision) + ", expected " +
                  std::to_string(expected_revision));
        }
        expected_revision = point->revision + 1;
        ++report_->blocks;
      }
      previous_kind = kind;
      if (kind == kKindLogged) CheckLogged(*point);
      if (kind == kKindTransaction) last_checkpoint_ = at;
      if (crc != DecodeFixed32(trailer->data() + 4)) {
        Problem("block at offset " + std::to_string(at) + " fails its group checksum");
      } else {
        for (uint64_t r = payload_at; r < trailer_at;) {
          auto rec = ParseRecord(*payload, payload_at, r);
          if (!rec.ok()) {
            Problem(rec.status().message());
            break;
          }
          r += RecordFileBytes(rec->body.size());
        }
      }
      crc = Crc32c(crc, trailer->data(), kTrailerSize);
      crc_end = point->end;
      at = point->end;
    }
    report_->bytes = snap_.head().end;
  }

  // The global tree with the id entries of its runs in their place.
  void CheckGlobalTree() {
    GlobalCursor cursor(&snap_, snap_.head().root);
    Status s = cursor.Seek("");
    std::string prev;
    bool first = true;
    for (; s.ok() && cursor.Valid() && report_->problems.size() < kMaxProblems; s = cursor.Next()) {
      std::string key(cursor.key());
      if (!first && key <= prev) Problem("global tree keys out of order");
      first = false;
      prev = key;
      CheckGlobalEntry(key, cursor.value());
    }
    if (!s.ok()) Problem("global tree: " + s.message());
  }

 private:
  static constexpr size_t kMaxProblems = 100;
  uint64_t last_checkpoint_ = 0;  // the newest checkpoint block CheckBlocks met

  // Whether revision's block was compacted away: the compacted part of a
  // file, whose blocks after the first (a compaction's catch-ups) each
  // carry the revisions committed while it ran, so their revisions jump.
  bool CompactedAway(uint64_t revision) {
    auto entry = TreeGet(snap_, snap_.head().root, gkey::Revision(revision));
    if (!entry.ok()) return false;
    auto r = DecodeRevisionEntry(*entry);
    return r.ok() && r->block == 0;
  }

  // A logged block's edits parse, and its base is the newest checkpoint
  // before it (the blocks between are logged blocks of the same base).
  void CheckLogged(const CommitPoint& block) {
    if (block.base != last_checkpoint_) {
      Problem("logged block at offset " + std::to_string(block.block) + " names base " +
              std::to_string(block.base) + ", not the checkpoint before it");
    }
    auto edits = ReadEditRecord(snap_, block);
    Status parsed = edits.ok() ? ApplyEdits(*edits, block, nullptr).status() : edits.status();
    if (!parsed.ok()) Problem(parsed.message());
  }

  void Problem(std::string what) {
    if (report_->problems.size() < kMaxProblems) report_->problems.push_back(std::move(what));
  }

  void CheckGlobalEntry(const std::string& key, std::string_view value) {
    switch (key[0]) {
      case 'V': {
        auto offset = DecodeU64Value(value);
        if (key.size() != 33 || !offset.ok()) return Problem("malformed version index entry");
        Hash id;
        std::memcpy(id.bytes.data(), key.data() + 1, 32);
        CheckVersion(id, *offset);
        ++report_->versions;
        return;
      }
      case 'B': {
        auto branch = DecodeBranchEntry(value);
        if (!branch.ok())
          return Problem("branch '" + key.substr(1) + "': " + branch.status().message());
        if (checked_roots_.insert(branch->root).second)
          CheckBranchTree(key.substr(1), branch->root);
        return;
      }
      case 'R':
        if (key.size() != 9 || !DecodeRevisionEntry(value).ok())
          return Problem("malformed revision entry");
        ++report_->revisions;
        return;
      case 'C': {
        if (key.size() != 33 || value.size() != 16) return Problem("malformed commit index entry");
        Hash id;
        std::memcpy(id.bytes.data(), key.data() + 1, 32);
        CheckCommit(id, DecodeFixed64(value.data()), DecodeFixed64(value.data() + 8));
        ++report_->commits;
        return;
      }
      case 'L':
        if (key.size() != 65) Problem("malformed link entry");
        return;
      case 'T':
      case 'P':
        return;
      case 'X': {
        auto run = DecodeRun(key, value);
        if (!run.ok()) return Problem(run.status().message());
        CheckRun(*run);
        return;
      }
      default:
        Problem("unknown global tree entry tag");
    }
  }

  // A run holds id entries alone, as many as its entry says (their
  // meaning is checked with the global tree's).
  void CheckRun(const RunEntry& run) {
    const std::string what = "run " + std::to_string(run.seq);
    TreeCursor cursor(&snap_, run.root);
    Status s = cursor.Seek("");
    uint64_t entries = 0;
    for (; s.ok() && cursor.Valid(); s = cursor.Next()) {
      if (!IsIdKey(cursor.key())) return Problem(what + " holds an entry that is not an id entry");
      ++entries;
    }
    if (!s.ok()) return Problem(what + ": " + s.message());
    if (entries != run.entries) {
      Problem(what + " holds " + std::to_string(entries) + " entries, its entry says " +
              std::to_string(run.entries));
    }
  }

  void CheckVersion(const Hash& id, uint64_t offset) {
    auto v = ReadVersionAt(snap_, offset);
    if (!v.ok()) return Problem("version " + id.Hex() + ": " + v.status().message());
    if (v->id != id) return Problem("version index entry " + id.Hex() + " points elsewhere");
    std::vector<VersionId> parents;
    for (const ParentRef& p : v->parents) parents.push_back(p.id);
    if (ComputeVersionId(v->key, parents, v->deleted, v->json, v->value, v->time_ns, v->replica) !=
        id) {
      Problem("version " + id.Hex() + " does not match its content");
    }
  }

  void CheckCommit(const Hash& id, uint64_t revision, uint64_t offset) {
    auto rec = snap_.ReadRecord(offset);
    if (!rec.ok()) return Problem("commit " + id.Hex() + ": " + rec.status().message());
    auto commit = IsCommitRecord(rec->type) ? DecodeCommit(rec->type, rec->body)
                                            : Result<CommitRecord>(Status::Corruption(
                                                  "the index points to another kind of record"));
    if (!commit.ok()) return Problem("commit " + id.Hex() + ": " + commit.status().message());
    if (commit->id != id || commit->revision != revision) {
      Problem("commit index entry " + id.Hex() + " points elsewhere");
    }
  }

  void CheckBranchTree(const std::string& branch, uint64_t root) {
    TreeCursor cursor(&snap_, root);
    Status s = cursor.Seek("");
    std::string prev;
    for (; s.ok() && cursor.Valid() && report_->problems.size() < kMaxProblems; s = cursor.Next()) {
      if (!prev.empty() && cursor.key() <= prev)
        Problem("branch '" + branch + "': keys out of order");
      prev = std::string(cursor.key());
      std::string_view key;
      uint64_t rev;
      if (!ParseBranchTreeKey(cursor.key(), &key, &rev)) {
        Problem("branch '" + branch + "': malformed key");
        continue;
      }
      auto entry = DecodeKeyEntry(cursor.value());
      if (!entry.ok()) {
        Problem("branch '" + branch + "', key '" + std::string(key) +
                "': " + entry.status().message());
        continue;
      }
      for (const HeadRef& h : entry->heads) {
        auto v = ReadVersionAt(snap_, h.offset);
        if (!v.ok() || v->id != h.id || v->key != key) {
          Problem("branch '" + branch + "', key '" + std::string(key) + "': head " +
                  h.id.Hex().substr(0, 12) + " is not stored where the entry says");
        }
      }
    }
    if (!s.ok()) Problem("branch '" + branch + "': " + s.message());
  }

  const Snapshot& snap_;
  CheckReport* report_;
  std::set<uint64_t> checked_roots_;  // branches sharing a root are checked once
};

Result<CheckReport> StoreImpl::Check() {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  CheckReport report;
  Checker checker(snap, &report);
  checker.CheckBlocks();
  checker.CheckGlobalTree();
  return report;
}

}  // namespace kvs
