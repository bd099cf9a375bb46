// The new data file a compaction writes. Its blocks are built in a
// BlockBuilder whose closed parts (store/format.h, kind 3) go to the file
// as soon as kSpillBytes of them have gathered, so a compaction holds about
// that much of its output in memory, not the whole new file. Records
// already written are read back (a tree being rebuilt reads its own nodes)
// through a read-only mapping of the file.
#ifndef KVS_STORE_COMPACTION_OUTPUT_H_
#define KVS_STORE_COMPACTION_OUTPUT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kvs/env.h"
#include "store/data_file.h"
#include "store/record.h"

namespace kvs {

class CompactionOutput : public RecordSource {
 public:
  static constexpr uint64_t kSpillBytes = uint64_t{16} << 20;

  // Creates (or empties) the file at path and writes its file header.
  static Result<std::unique_ptr<CompactionOutput>> Create(Env* env, const std::string& path,
                                                          uint64_t generation,
                                                          const ReplicaId& replica,
                                                          const Salt& salt, uint64_t part_bytes);

  BlockBuilder* builder() { return &builder_; }
  // Writes the closed parts once there are kSpillBytes of them. Only where
  // nobody holds a view into the builder's bytes (tree writers copy what
  // they load, so between their calls is such a place).
  Status MaybeSpill();
  // Writes everything built and not yet written (the last block must be
  // ended). Not synced. More blocks may follow, and another Finish.
  Status Finish();
  // The file's size once finished.
  uint64_t end() const { return builder_.end(); }
  File* file() { return file_.get(); }

  Result<RecordView> ReadRecord(uint64_t offset) const override;

 private:
  CompactionOutput(std::unique_ptr<File> file, const Salt& salt);
  Status Spill();
  // The part of held (bytes of the builder, from its start) not yet in the
  // file.
  std::string_view Unwritten(std::string_view held) const;

  std::unique_ptr<File> file_;
  BlockBuilder builder_;
  uint64_t written_ = 0;  // the file holds [0, written_)
  // Mappings of the file, the newest covering [0, written_); older ones stay
  // mapped until the end, as views a caller still holds may point into them.
  std::vector<std::unique_ptr<Mapping>> maps_;
};

}  // namespace kvs

#endif  // KVS_STORE_COMPACTION_OUTPUT_H_
