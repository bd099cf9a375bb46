// What the tree tests (btree_test, tree_diff_test, tree_builder_test)
// share: a std::map model of what a tree should hold, trees built in memory
// in a BlockBuilder, random keys, values and edits, and reads that compare
// a tree with the model.
#ifndef KVS_TESTS_STORE_TREE_MODEL_H_
#define KVS_TESTS_STORE_TREE_MODEL_H_

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "store/btree.h"
#include "store/data_file.h"
#include "store/record.h"

namespace kvs::tree_test {

using Model = std::map<std::string, std::string>;

// Bytes as hex for messages, cut after 40.
std::string Hex(std::string_view s);
// Where got differs from want, for messages; empty when they are equal.
std::string FirstDifference(const Model& got, const Model& want);

// A builder with an open block, where TreeWriter::Flush appends nodes: of
// the compact layout (a store of format 6) or the fixed one.
BlockBuilder OpenBuilder(bool compact_nodes = false);

// Counts ReadRecord calls, to measure what a tree operation reads.
class CountingSource : public RecordSource {
 public:
  explicit CountingSource(const RecordSource* inner) : inner_(inner) {}
  Result<RecordView> ReadRecord(uint64_t offset) const override {
    ++reads_;
    return inner_->ReadRecord(offset);
  }
  size_t reads() const { return reads_; }

 private:
  const RecordSource* inner_;
  mutable size_t reads_ = 0;
};

// Every entry of the tree, by a full cursor scan.
Model Scan(const RecordSource& source, uint64_t root);
// How the tree at root differs from want; empty when it holds exactly that.
std::string Mismatch(const RecordSource& source, uint64_t root, const Model& want);
// The value of key, or "<missing>".
std::string GetOrMissing(const RecordSource& source, uint64_t root, const std::string& key);
uint64_t MustFlush(TreeWriter* writer, BlockBuilder* builder);
// A tree of contents, put by a TreeWriter and flushed.
uint64_t Build(BlockBuilder* builder, const Model& contents);

// Offsets of every node of the tree, and its depth (0 for the empty tree).
struct TreeShape {
  std::vector<uint64_t> nodes;
  size_t depth = 0;
};
TreeShape ShapeOf(const RecordSource& source, uint64_t root);

// A uniform random number in [0, n).
size_t Below(std::mt19937_64& rng, size_t n);
// Keys of varied shapes: empty, short ones over a small alphabet (so they
// share prefixes, and include 0x00 and 0xff bytes), medium ones, and long
// ones up to kMaxTreeKeyBytes that share a long prefix (long separators).
std::string RandomKey(std::mt19937_64& rng);
// Values from empty to larger than a node.
std::string RandomValue(std::mt19937_64& rng);
// Applies n random puts (new keys and overwrites) and deletes (present and
// absent keys) to writer and model alike. pool collects every key used, so
// later edits hit existing keys often.
void RandomEdits(TreeWriter* writer, Model* model, std::vector<std::string>* pool,
                 std::mt19937_64& rng, size_t n, int delete_percent);
// The tree that n random edits (RandomEdits) make of the empty tree,
// flushed; with what it holds and every key the edits used.
struct RandomTree {
  Model model;
  std::vector<std::string> pool;  // every key written, the deleted ones too
  uint64_t root = 0;
};
RandomTree BuildRandomTree(BlockBuilder* builder, std::mt19937_64& rng, size_t n,
                           int delete_percent);
// The tree at root holds exactly model: a full scan, and lookups of a
// sample of present and absent keys.
void CheckTreeMatches(const RecordSource& source, uint64_t root, const Model& model,
                      const std::vector<std::string>& pool, std::mt19937_64& rng);

// Keys "key00000042"-style: fixed width, so their byte order is numeric.
std::string NumberedKey(size_t i);
// A tree of n numbered keys, inserted in random order.
uint64_t BuildNumbered(BlockBuilder* builder, size_t n, std::mt19937_64& rng);
// The bytes the record at offset takes in the file.
size_t RecordBytes(const RecordSource& source, uint64_t offset);

}  // namespace kvs::tree_test

#endif  // KVS_TESTS_STORE_TREE_MODEL_H_
