// The bytes of a store directory. Everything the engine writes is described
// here; the writers are store/directory.cc (STORE), store/data_file.cc
// (file header, blocks, trailers), store/record.cc (records inside blocks)
// and store/btree.cc (tree nodes). All integers are little-endian unless a
// field says "big-endian" (only inside tree keys, where byte order must
// equal numeric order).
//
// A store directory holds:
//   STORE          identity: magic, format version, replica id, salt. Written
//                  once at creation (temp file, fsync, rename, fsync dir).
//   LOCK           empty; the interprocess writer lock is taken on it.
//   COMPACT        empty; a compaction holds flock(2) on it while it runs.
//   data.NNNNNN    the append-only data file of generation NNNNNN. Compaction
//                  writes generation N+1 (as data.NNNNNN.compacting until it
//                  is complete) and removes N; the highest complete
//                  generation is the live one.
// and every open Store holds a shared flock(2) on the directory itself
// (DirectoryUse, store/directory.h). A copy (store/copy.cc) holds only STORE
// and the live data file, cut after one commit.
//
// STORE (64 bytes):
//   [0,8) "KVSSTORE"  [8,12) format version (kStoreFormatVersion below)
//   [12,16) zero
//   [16,32) replica id  [32,48) salt (secret; never leaves the machine)
//   [48,56) creation time ns  [56,60) crc32c of [0,56)  [60,64) zero
//
// Data file = file header, then blocks, one per transaction, back to back.
//   File header (64 bytes): [0,8) "KVSDATA\0"  [8,12) format version
//     [12,16) zero  [16,24) generation  [24,40) replica id
//     [40,60) zero  [60,64) crc32c of [0,60)
//   Block = block header (32) + payload + trailer (64):
//     header:  [0,4) "KVSB"  [4,8) crc32c of [8,32)  [8,16) payload length
//              [16,24) revision  [24,32) superseded bytes: bit 63 set, and
//              in bits 0-62 the bytes of this file's records, up to and
//              including this block, that later blocks left unreachable
//              (tree nodes whose newer copy took their place or that an
//              edit removed, and the nodes of a deleted branch's tree that
//              no other branch shares): what a compaction that keeps all
//              history frees, but for replaced nodes that another branch's
//              tree still shares; and the edit records, headers and
//              trailers of logged blocks (kind 4), which no compaction
//              keeps either. Zero (unknown) in blocks written before
//              kvs 0.2; readers of those, which ignore the field, read
//              files with it as before.
//     payload: records, each starting at an 8-byte aligned file offset.
//     trailer: [0,4) "KVST"  [4,8) crc32c of the file bytes from the start
//              of this block's group to this trailer
//              [8,16) revision  [16,24) commit time ns
//              [24,32) global tree root offset (0: empty tree); in a
//                      logged block, the offset of its base block
//              [32,40) offset of this block's header  [40,44) kind
//              [44,48) (block offset - group offset) / 8
//              [48,64) salted check: the first 16 bytes of
//                      SHA-256(salt || trailer[0,48)).
//   A group is the blocks written by one write and one sync (a group
//   commit). Its bytes can reach the disk in any order, so a block counts
//   only when its header, salted check and the crc over its whole group up
//   to its trailer are valid: a block whose group was torn never counts,
//   even when its own bytes survived. With sync on, a writer writes a
//   group only once the group before it is synced (store/group_commit.cc),
//   so no valid group can follow a torn one. Readers find the newest block from the
//   end of the file's data: the salt makes a trailer impossible to forge from
//   inside a stored value, so a backward scan over a torn or in-flight tail
//   cannot be fooled. The writer keeps the file written with zeros (up to
//   256 KiB) past its last block, which the next blocks overwrite; the data
//   ends where the zeros start (store/data_file.h). Any kvs reads such a
//   file, and one that cuts the zeros off (a writer after a crash, or an
//   older kvs) changes nothing but the speed of the next syncs.
//   Kinds: 1, a transaction (a checkpoint); 2 ("moved"), the end of a
//   file that compaction replaced, whose root field holds the new
//   generation; 3 ("part"), a bounded piece of a compacted file's single
//   transaction, its own group, carrying no commit (compaction syncs the
//   whole file before publishing it, so parts are never torn, and opening a
//   compacted store checks only its last part-sized block). A compacted
//   file holds the state of one revision as its first transaction block,
//   and may follow it with more (a compaction's catch-ups with what
//   writers committed meanwhile), each carrying every revision since the
//   one before: their revisions jump, and the 'R' entries of every
//   revision they took in name no block (block offset 0). 4 ("logged"),
//   a transaction that writes its global tree edits as an edit record (the
//   last record of its payload) instead of the tree's nodes: the global
//   tree after it is its base's (the newest kind 1 block before it, named by
//   its trailer) with the edit records of every logged block from the base
//   through it applied in order (store/log_window.h). Its other records
//   (versions, commit) are as in kind 1, and so are the nodes of the branch
//   trees it changes in a store of format 2; in one of format 3 it logs
//   those edits too (op 3), and a checkpoint writes the nodes of every
//   branch tree the window changed. Only stores of format version 2 or 3
//   hold them. A kind 1 block right after a logged block
//   may carry that block's revision and time: a checkpoint of the same
//   state (Store::Checkpoint, when the store is idle), holding only the
//   tree's nodes; the 'R' entry of the revision still names the logged
//   block. A kvs that does not know this reads such a file as it should,
//   and only its Check reports the repeated revision.
//
// Record (inside a payload; 12-byte header, then the body, zero-padded to 8):
//   [0,4) crc32c of [4, length)  [4,5) type  [5,8) zero  [8,12) length
//   Types: 'L' leaf node, 'I' inner node (store/btree.h), 'V' version,
//   'C' commit, 'E' edits, and in a store of format 6, 'l' compact leaf,
//   'i' compact inner node, 'v' compact version and 'c' compact commit.
//   Every read of a record verifies its crc first.
//
// Edit record body ('E'; store/edit_log.h):
//   count[4] flags[4], count edits, then zero padding, then the record's
//   size in the file[8]: the body is sized so the record needs no padding,
//   which puts that size in the last 8 bytes before the block's trailer,
//   where readers find it. Flags 0 (stores of format 2 to 4): each edit is
//   op[1], then:
//   1 (put)     key_length[4] value_length[4] key value
//   2 (delete)  key_length[4] key
//   3 (branch; store format 3 and later) name_length[4] entry_length[4]
//               put_count[4] name entry, then put_count x (key_length[4]
//               value_length[4] key value): puts into the tree of branch
//               'B' name as the global tree holds it before this edit (the
//               empty tree when it holds none), then 'B' name := entry with
//               its tree root field set to the tree they make. Each
//               process builds those nodes in its own memory, as it does
//               the global tree's.
//   4 (copy branch; store format 3 and later) name_length[4]
//               entry_length[4] source_length[4] name entry source: 'B'
//               name := entry with its tree root field set to the root of
//               'B' source as the global tree holds it before this edit (a
//               branch created from another's current state).
//   Flags 1, compact (store format 5): the same edits, each a sequence of
//   fields instead, and one more:
//   1 (put)     key value
//   2 (delete)  key
//   3 (branch)  name entry put_count[varint], put_count x (key value)
//   4 (copy branch) name entry source
//   5 (revision) commit[varint]: 'R' revision := (the block's offset,
//               the block's offset + commit, or 0 when commit is 0, the
//               block's time), revision and time being the block's: the
//               transaction's own revision entry.
//   A field is its length[varint], then its bytes, except that each id in
//   it is a reference[varint]: 0 and then the id's 32 bytes, or n > 0,
//   the n-th id written in full earlier in the record. Ids are where the
//   field's kind and length put them, nowhere else: in a global tree key
//   (the key of op 1 and 2) after 'V' or 'C' (33 bytes long), the two
//   after 'L' (65 bytes), the last 32 bytes of a 'T' key; in a branch
//   entry (op 3 and 4, and the value of an op 1 put of a 'B' key, of
//   kBranchEntrySize bytes) its head commit at [16,48); in a key entry
//   (an op 3 value of 16 + n x kHeadSize bytes) each head's id, and in a
//   compact one (an op 3 value whose length is not a multiple of 8) the
//   ids after its first byte, as many as that byte says. Names,
//   branch tree keys and other values hold none.
//   An op 1 put never names a node in memory: a transaction that would
//   (a branch created from a past state whose tree was only in memory) is
//   a checkpoint instead.
//
// Version body ('V'):
//   id[32] time_ns[8] replica[16] revision[8] kind[1] zero[3]
//   parent_count[4] key_length[4] value_length[8]
//   parents: parent_count x (id[32], record offset[8]; 0 when not stored)
//   key bytes, value bytes.
// Compact version body ('v'; written in stores of format 6):
//   id[32] kind[1] time_ns[8] replica[16] revision[varint]
//   parent_count[varint] key_length[varint] value_length[varint]
//   parents: parent_count x ref[varint]: the offset of the parent's version
//            record, whose id is the parent's; or 0 and then the parent's
//            id[32], when it is not stored here
//   key bytes, value bytes.
// Varints are LEB128, 7 bits a byte, low bits first (store/coding.h).
// The id of either kind is SHA-256 of the canonical encoding
// (kVersionHashTag):
//   "kvs.version.v1" | key_length[4] | key | parent_count[4] |
//   parent ids sorted ascending | kind[1] | value_length[8] | value |
//   time_ns[8] | replica[16]
// Revision and parent offsets are local facts and not part of the id.
//
// Commit body ('C'):
//   id[32] revision[8] time_ns[8] branch_length[2] parent_count[2]
//   key_count[4] parents: parent_count x id[32], branch bytes,
//   keys: key_count x (key_length[4], key bytes)
// Compact commit body ('c'; written in stores of format 6):
//   id[32] time_ns[8] revision[varint] parent_count[varint]
//   branch_length[varint] key_count[varint] parents: parent_count x id[32],
//   branch bytes, keys: key_count x (key_length[varint], key bytes)
// The id of either kind is SHA-256 of "kvs.commit.v1" | branch_length[4] |
//   branch | parent_count[4] | parent ids | time_ns[8] | key_count[4] |
//   key_count x (key_length[4] | key | head_count[4] | head ids sorted).
//
// The global tree (root in each trailer) maps:
//   'B' branch name          -> branch: tree root[8] head revision[8]
//                               head commit[32] created revision[8]
//                               created time ns[8]
//   'V' version id[32]       -> record offset[8]
//   'L' parent[32] child[32] -> "" (forward links)
//   'T' key 0x00 id[32]      -> "" (tails: stored versions of key without a
//                               stored parent)
//   'R' revision[8, big-endian] -> block offset[8] (0 once compacted away)
//                               commit record offset[8] (0: none) time_ns[8]
//   'C' commit id[32]        -> revision[8] commit record offset[8]
//   'P' peer name            -> checkpoint bytes
//   'X' seq[8, big-endian]   -> run: tree root[8] entries[8] bytes[8]
//                               (store format 4 only)
// 'C', 'L', 'T' and 'V' are the id entries: in a store of format 4, each
// is in the global tree or in exactly one run, a tree of id entries alone
// named by an 'X' entry, with bytes the file bytes of its node records.
// A checkpoint (a kind 1 block a writer makes) moves the id entries of its
// global tree into a new run, and may merge runs into one, removing their
// 'X' entries; a compaction writes all id entries as one run
// (store/id_runs.h). Runs are trees as above, with larger nodes.
// A branch tree maps key 0x00 ~revision[8, big-endian] -> key entry, one
// entry per revision that changed the key, so a key's entries sort newest
// first and "the key as of revision R" is the first entry at or after
// key 0x00 ~R. Keys cannot contain 0x00. Key entry, its length a multiple
// of 8:
//   created_time_ns[8] head_count[4] zero[4]
//   heads: head_count x (id[32] record offset[8] time_ns[8] deleted[1]
//          zero[7]), winner first.
// Compact key entry (written in stores of format 6), its length never a
// multiple of 8, which tells it from the other:
//   head_count[1] (1 to kMaxCompactHeads), ids: head_count x id[32],
//   created_time_ns[8], heads: head_count x (record offset[varint],
//   zigzag(time_ns - created_time_ns) * 2 + deleted [varint]), winner
//   first, then a zero byte when the length would otherwise be a multiple
//   of 8. Entries with more heads, or with a head time 2^62 ns or more
//   from created_time_ns, take the first layout.
#ifndef KVS_STORE_FORMAT_H_
#define KVS_STORE_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace kvs::format {

// STORE's format version: 6 for stores whose version and commit records,
// key entries and tree nodes are compact ('v', 'c', 'l', 'i' and the key
// entry layout above); 5 for stores whose edit records are
// compact (flags 1, below); 4 for stores whose checkpoints move id entries
// into runs ('X' entries, store/id_runs.h); 3 for stores whose logged
// blocks (kind 4) may log branch tree edits (op 3); 2 for stores whose
// logged blocks log only the global tree's; 1 for stores written before
// logged blocks. kvs reads and writes all six, each as its version allows
// (1 without logging, 2 logging the global tree only, 3 keeping id entries
// in the global tree, 4 with edit records of fixed-width lengths, 5 with
// records, key entries and nodes of fixed-width fields), until `kvs upgrade`
// (Store::Upgrade) makes them 6: what each older version wrote is also a
// store of the newer ones. A kvs that knows fewer versions refuses to open
// a newer store, and so never meets a record, an edit or an entry it
// cannot read. Data files keep version 1 in their header: their layout did
// not change, only which blocks, records, edits and entries a store may
// write.
constexpr uint32_t kStoreFormatVersion = 6;
constexpr uint32_t kStoreFormatCompactRecords = 6;
constexpr uint32_t kStoreFormatCompactEdits = 5;
constexpr uint32_t kStoreFormatIdRuns = 4;
constexpr uint32_t kStoreFormatLoggedBranches = 3;
constexpr uint32_t kStoreFormatLoggedGlobal = 2;
constexpr uint32_t kStoreFormatUnlogged = 1;
constexpr uint32_t kDataFormatVersion = 1;

constexpr char kStoreMagic[8] = {'K', 'V', 'S', 'S', 'T', 'O', 'R', 'E'};
constexpr size_t kStoreFileSize = 64;

constexpr char kDataMagic[8] = {'K', 'V', 'S', 'D', 'A', 'T', 'A', '\0'};
constexpr size_t kFileHeaderSize = 64;

constexpr uint32_t kBlockMagic = 0x42535654;    // "KVSB" read little-endian
constexpr uint32_t kTrailerMagic = 0x54535654;  // "KVST" read little-endian
constexpr size_t kBlockHeaderSize = 32;
constexpr size_t kTrailerSize = 64;
constexpr size_t kTrailerCheckedSize = 48;  // bytes covered by the salted check
constexpr uint32_t kKindTransaction = 1;
constexpr uint32_t kKindMoved = 2;
constexpr uint32_t kKindPart = 3;
constexpr uint32_t kKindLogged = 4;
constexpr uint64_t kSupersededCounted = uint64_t{1} << 63;  // block header [24,32)

constexpr size_t kRecordHeaderSize = 12;
constexpr size_t kRecordAlign = 8;
constexpr char kLeafNode = 'L';
constexpr char kInnerNode = 'I';
constexpr char kCompactLeafNode = 'l';
constexpr char kCompactInnerNode = 'i';
constexpr char kVersionRecord = 'V';
// A version's kind: its value's bytes as written, a tombstone (no value),
// or JSON text written as a JSON value (read back as JSON). Stores written
// before JSON values hold only the first two, with the same ids.
constexpr char kVersionBytes = 0;
constexpr char kVersionTombstone = 1;
constexpr char kVersionJson = 2;
constexpr char kCommitRecord = 'C';
constexpr char kCompactVersionRecord = 'v';
constexpr char kCompactCommitRecord = 'c';
constexpr char kEditRecord = 'E';

constexpr size_t kVersionFixedSize = 32 + 8 + 16 + 8 + 1 + 3 + 4 + 4 + 8;
constexpr size_t kParentRefSize = 32 + 8;
constexpr size_t kCompactVersionFixedSize = 32 + 1 + 8 + 16;  // and four varints
constexpr size_t kCommitFixedSize = 32 + 8 + 8 + 2 + 2 + 4;
constexpr size_t kHeadSize = 32 + 8 + 8 + 1 + 7;
constexpr size_t kKeyEntryFixedSize = 8 + 4 + 4;
constexpr size_t kMaxCompactHeads = 255;
constexpr size_t kBranchEntrySize = 8 + 8 + 32 + 8 + 8;
constexpr size_t kRevisionSuffixSize = 9;  // 0x00 ~revision

constexpr char kVersionHashTag[] = "kvs.version.v1";
constexpr char kCommitHashTag[] = "kvs.commit.v1";

static_assert(kFileHeaderSize % kRecordAlign == 0);
static_assert(kBlockHeaderSize % kRecordAlign == 0);
static_assert(kTrailerSize % kRecordAlign == 0);
static_assert(kVersionFixedSize == 84);
static_assert(kHeadSize == 56);

}  // namespace kvs::format

#endif  // KVS_STORE_FORMAT_H_
