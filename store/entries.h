// Typed encodings of what the store keeps in records and tree entries:
// version and commit records, key entries (a key's heads as of one
// revision), branch entries, and the keys of the global tree. Layouts are
// in store/format.h; this is their only encoder and parser.
#ifndef KVS_STORE_ENTRIES_H_
#define KVS_STORE_ENTRIES_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kvs/store.h"

namespace kvs {

// Hashes are uniformly random: any 8 of their bytes make a good hash code.
struct HashHasher {
  size_t operator()(const Hash& h) const {
    size_t v;
    std::memcpy(&v, h.bytes.data(), sizeof(v));
    return v;
  }
};

// ---- Versions ---------------------------------------------------------------

struct ParentRef {
  VersionId id;
  uint64_t offset = 0;  // record offset; 0 when not stored here
};

// A version record as stored; value is a view into the record.
struct VersionRecord {
  VersionId id;
  int64_t time_ns = 0;
  ReplicaId replica;
  uint64_t revision = 0;
  bool deleted = false;
  bool json = false;  // never with deleted
  std::vector<ParentRef> parents;
  std::string_view key;
  std::string_view value;
};

// SHA-256 of the canonical encoding (store/format.h).
VersionId ComputeVersionId(std::string_view key, std::vector<VersionId> parents, bool deleted,
                           bool json, std::string_view value, int64_t time_ns,
                           const ReplicaId& replica);

// A record as a writer appends it: its type and body.
struct EncodedRecord {
  char type;
  std::string body;
};
// Records of store format 6 are compact ('v', 'c'); older formats write
// the fixed-width layouts ('V', 'C'). Readers take both.
bool IsVersionRecord(char type);
bool IsCommitRecord(char type);
EncodedRecord EncodeVersion(const VersionRecord& v, bool compact);
// The id of the version record at a file offset: a compact record names a
// parent stored in the same file by its offset alone, and its decoder asks
// for that parent's id.
using VersionIdAt = std::function<Result<VersionId>(uint64_t offset)>;
// Corruption when the body does not parse.
Result<VersionRecord> DecodeVersion(char type, std::string_view body, const VersionIdAt& parent_id);
// The id a version record of either layout starts with.
Result<VersionId> VersionIdOfRecord(char type, std::string_view body);
// The public form; the value is copied only when with_value.
Version ToVersion(const VersionRecord& v, bool with_value);

// ---- Key entries ------------------------------------------------------------

struct HeadRef {
  VersionId id;
  uint64_t offset = 0;
  int64_t time_ns = 0;
  bool deleted = false;
};

struct KeyEntry {
  int64_t created_time_ns = 0;
  std::vector<HeadRef> heads;  // winner first (see SortHeads)
};

// Orders heads newest first, ties broken by the larger id: the winner rule
// every replica applies, so all agree on a key's value.
void SortHeads(std::vector<HeadRef>* heads);
// compact: the layout of store format 6, for an entry of at most
// kMaxCompactHeads heads (more take the fixed-width one). DecodeKeyEntry
// reads both: a fixed-width entry's length is a multiple of 8, a compact
// one's never is (store/format.h).
std::string EncodeKeyEntry(const KeyEntry& e, bool compact);
Result<KeyEntry> DecodeKeyEntry(std::string_view bytes);
bool IsCompactKeyEntrySize(size_t size);

// Branch tree keys: key 0x00 ~revision (big-endian).
std::string BranchTreeKey(std::string_view key, uint64_t revision);
// The user key and revision of a branch tree key; false if malformed.
bool ParseBranchTreeKey(std::string_view tree_key, std::string_view* key, uint64_t* revision);

// ---- Branches -----------------------------------------------------------------

struct BranchEntry {
  uint64_t root = 0;
  uint64_t head_revision = 0;
  CommitId head_commit;
  uint64_t created_revision = 0;
  int64_t created_time_ns = 0;
};
std::string EncodeBranchEntry(const BranchEntry& b);
Result<BranchEntry> DecodeBranchEntry(std::string_view bytes);

// ---- Commits --------------------------------------------------------------------

struct CommitRecord {
  CommitId id;
  uint64_t revision = 0;
  int64_t time_ns = 0;
  std::string branch;
  std::vector<CommitId> parents;
  std::vector<std::string> keys;  // sorted
};
// keys_with_heads: each changed key with its new head ids.
CommitId ComputeCommitId(
    std::string_view branch, const std::vector<CommitId>& parents, int64_t time_ns,
    const std::vector<std::pair<std::string, std::vector<VersionId>>>& changes);
EncodedRecord EncodeCommit(const CommitRecord& c, bool compact);
Result<CommitRecord> DecodeCommit(char type, std::string_view body);

// ---- Global tree keys ---------------------------------------------------------------

namespace gkey {
std::string Branch(std::string_view name);
std::string Version(const VersionId& id);
std::string Link(const VersionId& parent, const VersionId& child);
std::string LinkPrefix(const VersionId& parent);
std::string Tail(std::string_view key, const VersionId& id);
std::string TailPrefix(std::string_view key);
std::string Revision(uint64_t revision);
std::string Commit(const CommitId& id);
std::string Peer(std::string_view peer);
}  // namespace gkey

// 'R' entries: where revision r's block and commit are, and its time.
struct RevisionEntry {
  uint64_t block = 0;   // 0 once compacted away
  uint64_t commit = 0;  // commit record offset; 0 when the revision made none
  int64_t time_ns = 0;
};
std::string EncodeRevisionEntry(const RevisionEntry& r);
Result<RevisionEntry> DecodeRevisionEntry(std::string_view bytes);

// Decodes an 8-byte little-endian number stored as a tree value.
Result<uint64_t> DecodeU64Value(std::string_view bytes);
std::string EncodeU64Value(uint64_t v);

}  // namespace kvs

#endif  // KVS_STORE_ENTRIES_H_
