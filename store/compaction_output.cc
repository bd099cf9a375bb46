#include "store/compaction_output.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "store/format.h"

namespace kvs {

namespace {

// Room for what gathers between spills (MaybeSpill is called only now and
// then, so a little more than kSpillBytes), reserved at once: grown by
// doubling, the buffer copied itself and faulted fresh pages in at each
// step, which took a sixth of a compaction of a 10k-key store.
std::string SpillBuffer() {
  std::string buffer;
  buffer.reserve(CompactionOutput::kSpillBytes + CompactionOutput::kSpillBytes / 2);
  return buffer;
}

}  // namespace

CompactionOutput::CompactionOutput(std::unique_ptr<File> file, const Salt& salt)
    : file_(std::move(file)), builder_(format::kFileHeaderSize, salt, SpillBuffer()) {}

Result<std::unique_ptr<CompactionOutput>> CompactionOutput::Create(
    Env* env, const std::string& path, uint64_t generation, const ReplicaId& replica,
    const Salt& salt, uint64_t part_bytes) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<File> file, env->Open(path, true));
  KVS_RETURN_IF_ERROR(file->Truncate(0));
  KVS_RETURN_IF_ERROR(file->Write(0, EncodeFileHeader(generation, replica)));
  std::unique_ptr<CompactionOutput> out(new CompactionOutput(std::move(file), salt));
  out->written_ = format::kFileHeaderSize;
  out->builder_.set_part_limit(part_bytes);
  return out;
}

Status CompactionOutput::MaybeSpill() {
  if (builder_.closed_bytes().size() < kSpillBytes) return Status::OK();
  return Spill();
}

Status CompactionOutput::Spill() {
  std::string_view closed = Unwritten(builder_.closed_bytes());
  KVS_RETURN_IF_ERROR(file_->Write(written_, closed));
  // Start writing it to disk now, without waiting: left to pile up, the
  // whole file would be written by the sync before publishing, and the
  // writers' syncs meanwhile queue behind it.
  sync_file_range(file_->fd(), static_cast<off_t>(written_), static_cast<off_t>(closed.size()),
                  SYNC_FILE_RANGE_WRITE);
  written_ += closed.size();
  builder_.DropClosed();
  if (builder_.start() == format::kFileHeaderSize) return Status::OK();  // nothing dropped
  // What the builder dropped is read from the file from now on.
  if (maps_.empty() || maps_.back()->capacity < builder_.start()) {
    // Address space only; twice what is needed, so remaps stay few.
    size_t capacity = static_cast<size_t>(written_) * 2;
    void* addr = mmap(nullptr, capacity, PROT_READ, MAP_SHARED, file_->fd(), 0);
    if (addr == MAP_FAILED) {
      return Status::IOError(std::string("mmap of the compacted file failed: ") +
                             std::strerror(errno));
    }
    maps_.push_back(std::make_unique<Mapping>(static_cast<const char*>(addr), capacity));
  }
  return Status::OK();
}

std::string_view CompactionOutput::Unwritten(std::string_view held) const {
  // The builder's bytes start at builder_.start(), at or before written_.
  return held.substr(std::min<size_t>(held.size(), written_ - builder_.start()));
}

Status CompactionOutput::Finish() {
  std::string_view rest = Unwritten(builder_.bytes());
  KVS_RETURN_IF_ERROR(file_->Write(written_, rest));
  written_ += rest.size();
  return Status::OK();
}

Result<RecordView> CompactionOutput::ReadRecord(uint64_t offset) const {
  if (builder_.Contains(offset)) return builder_.ReadRecord(offset);
  if (maps_.empty() || offset >= builder_.start()) {
    return Status::Corruption("record offset " + std::to_string(offset) +
                              " is outside the compacted file");
  }
  // Spilled bytes end where the builder's begin.
  return ParseRecord(std::string_view(maps_.back()->data, builder_.start()), 0, offset);
}

}  // namespace kvs
