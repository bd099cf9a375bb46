#include "store/entries.h"

#include <algorithm>
#include <cstring>

#include "store/coding.h"
#include "store/format.h"
#include "store/sha256.h"

namespace kvs {

using namespace format;

namespace {

void PutHash(std::string* out, const Hash& h) {
  out->append(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size());
}
Hash GetHash(Decoder* d) {
  Hash h;
  std::string_view b = d->Bytes(32);
  if (b.size() == 32) std::memcpy(h.bytes.data(), b.data(), 32);
  return h;
}
Status Bad(const char* what) { return Status::Corruption(std::string("malformed ") + what); }

// A version's kind byte (store/format.h).
char KindByte(bool deleted, bool json) {
  return deleted ? kVersionTombstone : json ? kVersionJson : kVersionBytes;
}

}  // namespace

// ---- Versions ---------------------------------------------------------------

VersionId VersionIdOf(const ReplicatedVersion& v) {
  return ComputeVersionId(v.key, v.parents, !v.value, v.value && v.json,
                          v.value ? std::string_view(*v.value) : std::string_view(), v.time_ns,
                          v.replica);
}

VersionId ComputeVersionId(std::string_view key, std::vector<VersionId> parents, bool deleted,
                           bool json, std::string_view value, int64_t time_ns,
                           const ReplicaId& replica) {
  std::sort(parents.begin(), parents.end());
  std::string buf(kVersionHashTag);
  PutFixed32(&buf, static_cast<uint32_t>(key.size()));
  buf.append(key);
  PutFixed32(&buf, static_cast<uint32_t>(parents.size()));
  for (const VersionId& p : parents) PutHash(&buf, p);
  buf.push_back(KindByte(deleted, json));
  PutFixed64(&buf, value.size());
  buf.append(value);
  PutFixed64(&buf, static_cast<uint64_t>(time_ns));
  buf.append(reinterpret_cast<const char*>(replica.bytes.data()), replica.bytes.size());
  return Sha256(buf);
}

bool IsVersionRecord(char type) { return type == kVersionRecord || type == kCompactVersionRecord; }
bool IsCommitRecord(char type) { return type == kCommitRecord || type == kCompactCommitRecord; }

namespace {

std::string EncodeFixedVersion(const VersionRecord& v) {
  std::string out;
  out.reserve(kVersionFixedSize + v.parents.size() * kParentRefSize + v.key.size() +
              v.value.size());
  PutHash(&out, v.id);
  PutFixed64(&out, static_cast<uint64_t>(v.time_ns));
  out.append(reinterpret_cast<const char*>(v.replica.bytes.data()), 16);
  PutFixed64(&out, v.revision);
  out.push_back(KindByte(v.deleted, v.json));
  out.append(3, '\0');
  PutFixed32(&out, static_cast<uint32_t>(v.parents.size()));
  PutFixed32(&out, static_cast<uint32_t>(v.key.size()));
  PutFixed64(&out, v.value.size());
  for (const ParentRef& p : v.parents) {
    PutHash(&out, p.id);
    PutFixed64(&out, p.offset);
  }
  out.append(v.key);
  out.append(v.value);
  return out;
}

std::string EncodeCompactVersion(const VersionRecord& v) {
  std::string out;
  out.reserve(kCompactVersionFixedSize + 4 * 10 + v.parents.size() * 10 + v.key.size() +
              v.value.size());
  PutHash(&out, v.id);
  out.push_back(KindByte(v.deleted, v.json));
  PutFixed64(&out, static_cast<uint64_t>(v.time_ns));
  out.append(reinterpret_cast<const char*>(v.replica.bytes.data()), 16);
  PutVarint64(&out, v.revision);
  PutVarint64(&out, v.parents.size());
  PutVarint64(&out, v.key.size());
  PutVarint64(&out, v.value.size());
  for (const ParentRef& p : v.parents) {
    PutVarint64(&out, p.offset);
    if (p.offset == 0) PutHash(&out, p.id);
  }
  out.append(v.key);
  out.append(v.value);
  return out;
}

Result<VersionRecord> DecodeFixedVersion(std::string_view body) {
  Decoder d(body);
  VersionRecord v;
  v.id = GetHash(&d);
  v.time_ns = static_cast<int64_t>(d.U64());
  std::string_view replica = d.Bytes(16);
  if (replica.size() == 16) std::memcpy(v.replica.bytes.data(), replica.data(), 16);
  v.revision = d.U64();
  uint8_t kind = d.U8();
  d.Bytes(3);
  uint32_t nparents = d.U32();
  uint32_t klen = d.U32();
  uint64_t vlen = d.U64();
  if (!d.ok() || kind > kVersionJson || nparents > d.remaining() / kParentRefSize) {
    return Bad("version");
  }
  v.deleted = kind == kVersionTombstone;
  v.json = kind == kVersionJson;
  v.parents.resize(nparents);
  for (ParentRef& p : v.parents) {
    p.id = GetHash(&d);
    p.offset = d.U64();
  }
  v.key = d.Bytes(klen);
  if (!d.ok() || vlen != d.remaining()) return Bad("version");
  v.value = d.Bytes(vlen);
  return v;
}

Result<VersionRecord> DecodeCompactVersion(std::string_view body, const VersionIdAt& parent_id) {
  Decoder d(body);
  VersionRecord v;
  v.id = GetHash(&d);
  uint8_t kind = d.U8();
  v.time_ns = static_cast<int64_t>(d.U64());
  std::string_view replica = d.Bytes(16);
  if (replica.size() == 16) std::memcpy(v.replica.bytes.data(), replica.data(), 16);
  v.revision = d.Varint();
  uint64_t nparents = d.Varint();
  uint64_t klen = d.Varint();
  uint64_t vlen = d.Varint();
  // Each parent takes a byte at least.
  if (!d.ok() || kind > kVersionJson || nparents > d.remaining()) return Bad("version");
  v.deleted = kind == kVersionTombstone;
  v.json = kind == kVersionJson;
  v.parents.resize(nparents);
  for (ParentRef& p : v.parents) {
    p.offset = d.Varint();
    if (p.offset == 0) p.id = GetHash(&d);
  }
  v.key = d.Bytes(klen);
  if (!d.ok() || vlen != d.remaining()) return Bad("version");
  v.value = d.Bytes(vlen);
  for (ParentRef& p : v.parents) {
    if (p.offset == 0) continue;
    KVS_ASSIGN_OR_RETURN(p.id, parent_id(p.offset));
  }
  return v;
}

}  // namespace

EncodedRecord EncodeVersion(const VersionRecord& v, bool compact) {
  if (compact) return {kCompactVersionRecord, EncodeCompactVersion(v)};
  return {kVersionRecord, EncodeFixedVersion(v)};
}

Result<VersionRecord> DecodeVersion(char type, std::string_view body,
                                    const VersionIdAt& parent_id) {
  if (type == kCompactVersionRecord) return DecodeCompactVersion(body, parent_id);
  if (type == kVersionRecord) return DecodeFixedVersion(body);
  return Bad("version (not a version record)");
}

Result<VersionId> VersionIdOfRecord(char type, std::string_view body) {
  if (!IsVersionRecord(type) || body.size() < 32) return Bad("version");
  Decoder d(body);
  return GetHash(&d);
}

Version ToVersion(const VersionRecord& v, bool with_value) {
  Version out;
  out.id = v.id;
  out.key = std::string(v.key);
  for (const ParentRef& p : v.parents) out.parents.push_back(p.id);
  out.deleted = v.deleted;
  out.json = v.json;
  out.time_ns = v.time_ns;
  out.replica = v.replica;
  out.size = v.value.size();
  out.revision = v.revision;
  if (with_value) out.value = std::string(v.value);
  return out;
}

// ---- Key entries ------------------------------------------------------------

void SortHeads(std::vector<HeadRef>* heads) {
  std::sort(heads->begin(), heads->end(), [](const HeadRef& a, const HeadRef& b) {
    if (a.time_ns != b.time_ns) return a.time_ns > b.time_ns;
    return a.id > b.id;
  });
}

bool IsCompactKeyEntrySize(size_t size) { return size % 8 != 0; }

namespace {

// A head's time as its distance from the key's creation, and whether it is
// a tombstone, in one varint: zigzag(time - created) * 2 + deleted. Times
// come from other replicas too, so any two may be far apart: a distance of
// 2^62 ns (146 years) or more takes the fixed-width layout.
bool FitsCompact(const HeadRef& h, int64_t created_ns) {
  const int64_t delta =
      static_cast<int64_t>(static_cast<uint64_t>(h.time_ns) - static_cast<uint64_t>(created_ns));
  constexpr int64_t kLimit = int64_t{1} << 62;
  return delta > -kLimit && delta < kLimit &&
         (h.time_ns >= created_ns) == (delta >= 0);  // no wrap-around
}
uint64_t TimeAndDeleted(const HeadRef& h, int64_t created_ns) {
  const int64_t delta =
      static_cast<int64_t>(static_cast<uint64_t>(h.time_ns) - static_cast<uint64_t>(created_ns));
  const uint64_t zigzag = (static_cast<uint64_t>(delta) << 1) ^ static_cast<uint64_t>(delta >> 63);
  return (zigzag << 1) | (h.deleted ? 1 : 0);
}
void SetTimeAndDeleted(uint64_t v, int64_t created_ns, HeadRef* h) {
  h->deleted = (v & 1) != 0;
  const uint64_t zigzag = v >> 1;
  const int64_t delta = static_cast<int64_t>((zigzag >> 1) ^ (~(zigzag & 1) + 1));
  h->time_ns =
      static_cast<int64_t>(static_cast<uint64_t>(created_ns) + static_cast<uint64_t>(delta));
}

std::string EncodeFixedKeyEntry(const KeyEntry& e) {
  std::string out;
  out.reserve(kKeyEntryFixedSize + e.heads.size() * kHeadSize);
  PutFixed64(&out, static_cast<uint64_t>(e.created_time_ns));
  PutFixed32(&out, static_cast<uint32_t>(e.heads.size()));
  PutFixed32(&out, 0);
  for (const HeadRef& h : e.heads) {
    PutHash(&out, h.id);
    PutFixed64(&out, h.offset);
    PutFixed64(&out, static_cast<uint64_t>(h.time_ns));
    out.push_back(h.deleted ? 1 : 0);
    out.append(7, '\0');
  }
  return out;
}

std::string EncodeCompactKeyEntry(const KeyEntry& e) {
  std::string out;
  out.reserve(1 + e.heads.size() * (32 + 20) + 8 + 1);
  out.push_back(static_cast<char>(e.heads.size()));
  for (const HeadRef& h : e.heads) PutHash(&out, h.id);
  PutFixed64(&out, static_cast<uint64_t>(e.created_time_ns));
  for (const HeadRef& h : e.heads) {
    PutVarint64(&out, h.offset);
    PutVarint64(&out, TimeAndDeleted(h, e.created_time_ns));
  }
  if (!IsCompactKeyEntrySize(out.size())) out.push_back('\0');
  return out;
}

Result<KeyEntry> DecodeFixedKeyEntry(std::string_view bytes) {
  Decoder d(bytes);
  KeyEntry e;
  e.created_time_ns = static_cast<int64_t>(d.U64());
  uint32_t n = d.U32();
  d.U32();
  if (!d.ok() || n == 0 || d.remaining() != static_cast<size_t>(n) * kHeadSize) {
    return Bad("key entry");
  }
  e.heads.resize(n);
  for (HeadRef& h : e.heads) {
    h.id = GetHash(&d);
    h.offset = d.U64();
    h.time_ns = static_cast<int64_t>(d.U64());
    h.deleted = d.U8() != 0;
    d.Bytes(7);
  }
  return e;
}

Result<KeyEntry> DecodeCompactKeyEntry(std::string_view bytes) {
  Decoder d(bytes);
  KeyEntry e;
  const uint8_t n = d.U8();
  if (n == 0 || n > d.remaining() / 32) return Bad("key entry");
  e.heads.resize(n);
  for (HeadRef& h : e.heads) h.id = GetHash(&d);
  e.created_time_ns = static_cast<int64_t>(d.U64());
  for (HeadRef& h : e.heads) {
    h.offset = d.Varint();
    SetTimeAndDeleted(d.Varint(), e.created_time_ns, &h);
  }
  // The byte that keeps the length off a multiple of 8, when one was needed.
  const size_t rest = d.remaining();
  if (!d.ok() || rest > 1 || (rest == 1 && (bytes.back() != '\0' || (bytes.size() - 1) % 8 != 0))) {
    return Bad("key entry");
  }
  return e;
}

}  // namespace

std::string EncodeKeyEntry(const KeyEntry& e, bool compact) {
  const auto fits = [&e](const HeadRef& h) { return FitsCompact(h, e.created_time_ns); };
  if (compact && !e.heads.empty() && e.heads.size() <= kMaxCompactHeads &&
      std::all_of(e.heads.begin(), e.heads.end(), fits)) {
    return EncodeCompactKeyEntry(e);
  }
  return EncodeFixedKeyEntry(e);
}

Result<KeyEntry> DecodeKeyEntry(std::string_view bytes) {
  if (IsCompactKeyEntrySize(bytes.size())) return DecodeCompactKeyEntry(bytes);
  return DecodeFixedKeyEntry(bytes);
}

std::string BranchTreeKey(std::string_view key, uint64_t revision) {
  std::string out(key);
  out.push_back('\0');
  PutBigEndian64(&out, ~revision);
  return out;
}

bool ParseBranchTreeKey(std::string_view tree_key, std::string_view* key, uint64_t* revision) {
  if (tree_key.size() < kRevisionSuffixSize) return false;
  size_t n = tree_key.size() - kRevisionSuffixSize;
  if (tree_key[n] != '\0') return false;
  *key = tree_key.substr(0, n);
  *revision = ~DecodeBigEndian64(tree_key.data() + n + 1);
  return true;
}

// ---- Branches -----------------------------------------------------------------

std::string EncodeBranchEntry(const BranchEntry& b) {
  std::string out;
  PutFixed64(&out, b.root);
  PutFixed64(&out, b.head_revision);
  PutHash(&out, b.head_commit);
  PutFixed64(&out, b.created_revision);
  PutFixed64(&out, static_cast<uint64_t>(b.created_time_ns));
  return out;
}

Result<BranchEntry> DecodeBranchEntry(std::string_view bytes) {
  if (bytes.size() != kBranchEntrySize) return Bad("branch entry");
  Decoder d(bytes);
  BranchEntry b;
  b.root = d.U64();
  b.head_revision = d.U64();
  b.head_commit = GetHash(&d);
  b.created_revision = d.U64();
  b.created_time_ns = static_cast<int64_t>(d.U64());
  return b;
}

// ---- Commits --------------------------------------------------------------------

CommitId ComputeCommitId(
    std::string_view branch, const std::vector<CommitId>& parents, int64_t time_ns,
    const std::vector<std::pair<std::string, std::vector<VersionId>>>& changes) {
  std::string buf(kCommitHashTag);
  PutFixed32(&buf, static_cast<uint32_t>(branch.size()));
  buf.append(branch);
  PutFixed32(&buf, static_cast<uint32_t>(parents.size()));
  for (const CommitId& p : parents) PutHash(&buf, p);
  PutFixed64(&buf, static_cast<uint64_t>(time_ns));
  PutFixed32(&buf, static_cast<uint32_t>(changes.size()));
  for (const auto& [key, heads] : changes) {
    PutFixed32(&buf, static_cast<uint32_t>(key.size()));
    buf.append(key);
    std::vector<VersionId> sorted = heads;
    std::sort(sorted.begin(), sorted.end());
    PutFixed32(&buf, static_cast<uint32_t>(sorted.size()));
    for (const VersionId& h : sorted) PutHash(&buf, h);
  }
  return Sha256(buf);
}

namespace {

std::string EncodeFixedCommit(const CommitRecord& c) {
  std::string out;
  PutHash(&out, c.id);
  PutFixed64(&out, c.revision);
  PutFixed64(&out, static_cast<uint64_t>(c.time_ns));
  PutFixed16(&out, static_cast<uint16_t>(c.branch.size()));
  PutFixed16(&out, static_cast<uint16_t>(c.parents.size()));
  PutFixed32(&out, static_cast<uint32_t>(c.keys.size()));
  for (const CommitId& p : c.parents) PutHash(&out, p);
  out.append(c.branch);
  for (const std::string& k : c.keys) {
    PutFixed32(&out, static_cast<uint32_t>(k.size()));
    out.append(k);
  }
  return out;
}

std::string EncodeCompactCommit(const CommitRecord& c) {
  std::string out;
  PutHash(&out, c.id);
  PutFixed64(&out, static_cast<uint64_t>(c.time_ns));
  PutVarint64(&out, c.revision);
  PutVarint64(&out, c.parents.size());
  PutVarint64(&out, c.branch.size());
  PutVarint64(&out, c.keys.size());
  for (const CommitId& p : c.parents) PutHash(&out, p);
  out.append(c.branch);
  for (const std::string& k : c.keys) {
    PutVarint64(&out, k.size());
    out.append(k);
  }
  return out;
}

Result<CommitRecord> DecodeFixedCommit(std::string_view body) {
  Decoder d(body);
  CommitRecord c;
  c.id = GetHash(&d);
  c.revision = d.U64();
  c.time_ns = static_cast<int64_t>(d.U64());
  uint16_t blen = d.U16();
  uint16_t np = d.U16();
  uint32_t nk = d.U32();
  if (!d.ok() || np > d.remaining() / 32 || nk > d.remaining() / 4) return Bad("commit");
  for (uint16_t i = 0; i < np; ++i) c.parents.push_back(GetHash(&d));
  c.branch = std::string(d.Bytes(blen));
  for (uint32_t i = 0; i < nk && d.ok(); ++i) c.keys.emplace_back(d.Bytes(d.U32()));
  if (!d.ok() || d.remaining() != 0) return Bad("commit");
  return c;
}

Result<CommitRecord> DecodeCompactCommit(std::string_view body) {
  Decoder d(body);
  CommitRecord c;
  c.id = GetHash(&d);
  c.time_ns = static_cast<int64_t>(d.U64());
  c.revision = d.Varint();
  uint64_t np = d.Varint();
  uint64_t blen = d.Varint();
  uint64_t nk = d.Varint();
  // Each parent takes 32 bytes, each key a byte at least.
  if (!d.ok() || np > d.remaining() / 32 || nk > d.remaining()) return Bad("commit");
  for (uint64_t i = 0; i < np; ++i) c.parents.push_back(GetHash(&d));
  c.branch = std::string(d.Bytes(blen));
  for (uint64_t i = 0; i < nk && d.ok(); ++i) c.keys.emplace_back(d.Bytes(d.Varint()));
  if (!d.ok() || d.remaining() != 0) return Bad("commit");
  return c;
}

}  // namespace

EncodedRecord EncodeCommit(const CommitRecord& c, bool compact) {
  if (compact) return {kCompactCommitRecord, EncodeCompactCommit(c)};
  return {kCommitRecord, EncodeFixedCommit(c)};
}

Result<CommitRecord> DecodeCommit(char type, std::string_view body) {
  if (type == kCompactCommitRecord) return DecodeCompactCommit(body);
  if (type == kCommitRecord) return DecodeFixedCommit(body);
  return Bad("commit (not a commit record)");
}

// ---- Global tree keys ---------------------------------------------------------------

namespace gkey {
namespace {
std::string Tagged(char tag, std::string_view rest) {
  std::string out(1, tag);
  out.append(rest);
  return out;
}
std::string_view Bytes(const Hash& h) {
  return std::string_view(reinterpret_cast<const char*>(h.bytes.data()), h.bytes.size());
}
}  // namespace

std::string Branch(std::string_view name) { return Tagged('B', name); }
std::string Version(const VersionId& id) { return Tagged('V', Bytes(id)); }
std::string Link(const VersionId& parent, const VersionId& child) {
  return LinkPrefix(parent) + std::string(Bytes(child));
}
std::string LinkPrefix(const VersionId& parent) { return Tagged('L', Bytes(parent)); }
std::string Tail(std::string_view key, const VersionId& id) {
  return TailPrefix(key) + std::string(Bytes(id));
}
std::string TailPrefix(std::string_view key) {
  std::string out = Tagged('T', key);
  out.push_back('\0');
  return out;
}
std::string Revision(uint64_t revision) {
  std::string out(1, 'R');
  PutBigEndian64(&out, revision);
  return out;
}
std::string Commit(const CommitId& id) { return Tagged('C', Bytes(id)); }
std::string Peer(std::string_view peer) { return Tagged('P', peer); }
}  // namespace gkey

std::string EncodeRevisionEntry(const RevisionEntry& r) {
  std::string out;
  PutFixed64(&out, r.block);
  PutFixed64(&out, r.commit);
  PutFixed64(&out, static_cast<uint64_t>(r.time_ns));
  return out;
}

Result<RevisionEntry> DecodeRevisionEntry(std::string_view bytes) {
  if (bytes.size() != 24) return Bad("revision entry");
  return RevisionEntry{DecodeFixed64(bytes.data()), DecodeFixed64(bytes.data() + 8),
                       static_cast<int64_t>(DecodeFixed64(bytes.data() + 16))};
}

Result<uint64_t> DecodeU64Value(std::string_view bytes) {
  if (bytes.size() != 8) return Bad("tree value");
  return DecodeFixed64(bytes.data());
}

std::string EncodeU64Value(uint64_t v) {
  std::string out;
  PutFixed64(&out, v);
  return out;
}

}  // namespace kvs
