// The data file: groups, torn tails, and how the newest commit is found.
#include "store/data_file.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "store/format.h"
#include "tests/store/test_util.h"

namespace kvs::test {
namespace {

const Salt kSalt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// Appends one block holding a single record of `bytes` bytes.
void AddBlock(BlockBuilder* b, uint64_t revision, size_t bytes) {
  b->BeginBlock();
  b->Append(format::kCommitRecord, std::string(bytes, 'x'));
  b->EndBlock(revision, static_cast<int64_t>(revision), 0, format::kKindTransaction);
}

void WriteFile(const std::string& path, const std::string& bytes) {
  auto file = Env::Default()->Open(path, true);
  REQUIRE(file.ok());
  REQUIRE((*file)->Write(0, bytes).ok());
}

// Three groups: revision 0 alone, then revisions 1 and 2 written together.
// Returns the file and the offsets where each group starts.
std::string ThreeRevisions(uint64_t* second_group, uint64_t* block_two) {
  ReplicaId replica;
  std::string file = EncodeFileHeader(1, replica);
  BlockBuilder first(file.size(), kSalt);
  AddBlock(&first, 0, 100);
  file += first.bytes();
  *second_group = file.size();
  BlockBuilder group(file.size(), kSalt);
  AddBlock(&group, 1, 3000);
  *block_two = group.end();
  AddBlock(&group, 2, 3000);
  return file + group.bytes();
}

uint64_t OpenRevision(const std::string& path, uint64_t* tail_bytes = nullptr) {
  auto df = DataFile::Open(Env::Default(), path, 1, kSalt, ReplicaId());
  INFO(df.status().ToString());
  REQUIRE(df.ok());
  auto snap = (*df)->Latest();
  REQUIRE(snap.ok());
  if (tail_bytes != nullptr) *tail_bytes = (*df)->tail_bytes_at_open();
  return snap->head().revision;
}

// Writes bytes into the store's data file at offset, as a writer that died
// in the middle of its write leaves them.
void WriteInto(const std::string& dir, uint64_t offset, const std::string& bytes) {
  auto file = Env::Default()->Open(dir + "/data.000001", false);
  REQUIRE(file.ok());
  REQUIRE((*file)->Write(offset, bytes).ok());
}

// Whether the data file holds nothing but zeros past offset.
bool ZerosFrom(const std::string& dir, uint64_t offset) {
  std::ifstream in(dir + "/data.000001", std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(data.size() >= offset);
  return data.find_first_not_of('\0', offset) == std::string::npos;
}

}  // namespace

TEST_CASE("the newest block of a whole file is found") {
  TempDir dir;
  uint64_t group, two;
  WriteFile(dir.Sub("data"), ThreeRevisions(&group, &two));
  CHECK(OpenRevision(dir.Sub("data")) == 2);
}

TEST_CASE("a group whose earlier block was torn does not count, though its last block survived") {
  TempDir dir;
  uint64_t group, two;
  std::string file = ThreeRevisions(&group, &two);
  file[group + 100] ^= 0x55;  // inside revision 1's payload
  WriteFile(dir.Sub("data"), file);
  // Revision 2's own bytes are intact, but its group is not: the store is
  // at revision 0, the last group that reached the disk whole.
  CHECK(OpenRevision(dir.Sub("data")) == 0);
}

TEST_CASE("a torn last block falls back to the one before it in its group") {
  TempDir dir;
  uint64_t group, two;
  std::string file = ThreeRevisions(&group, &two);
  file.resize(two + 1000);  // revision 2 half written
  WriteFile(dir.Sub("data"), file);
  CHECK(OpenRevision(dir.Sub("data")) == 1);
}

// A file whose torn last block carries, inside a stored value, a complete
// block made with `salt` at exactly the offset it claims: what a user could
// store to fool a backward scan.
std::string FileWithForgedBlock(const Salt& salt) {
  ReplicaId replica;
  std::string file = EncodeFileHeader(1, replica);
  BlockBuilder first(file.size(), kSalt);
  AddBlock(&first, 0, 100);
  file += first.bytes();
  // The value starts after the block header, the record header and 4 bytes
  // of padding, so the forged block is 8-byte aligned like a real one.
  uint64_t forged_at = file.size() + format::kBlockHeaderSize + format::kRecordHeaderSize + 4;
  BlockBuilder forged(forged_at, salt);
  AddBlock(&forged, 7, 100);
  BlockBuilder carrier(file.size(), kSalt);
  carrier.BeginBlock();
  carrier.Append(format::kVersionRecord, "pad:" + forged.bytes());
  return file + carrier.bytes();  // no trailer: the write was torn here
}

TEST_CASE("a stored value that imitates a block is not taken for one") {
  TempDir dir;
  WriteFile(dir.Sub("data"), FileWithForgedBlock(Salt{}));
  CHECK(OpenRevision(dir.Sub("data")) == 0);
  // Only the salt stops it: the same forgery made with the store's salt
  // would be taken (the salt never leaves the machine).
  TempDir control;
  WriteFile(control.Sub("data"), FileWithForgedBlock(kSalt));
  CHECK(OpenRevision(control.Sub("data")) == 7);
}

TEST_CASE("a file that runs on in zeros ends where they start") {
  TempDir dir;
  uint64_t group, two, tail;
  std::string file = ThreeRevisions(&group, &two);
  WriteFile(dir.Sub("data"), file + std::string(256 << 10, '\0'));
  CHECK(OpenRevision(dir.Sub("data"), &tail) == 2);
  CHECK(tail == 0);
  // A torn block in the zeros: what was written of it is the torn tail.
  file.resize(two + 1000);
  WriteFile(dir.Sub("torn"), file + std::string(256 << 10, '\0'));
  CHECK(OpenRevision(dir.Sub("torn"), &tail) == 1);
  CHECK(tail == 1000);
}

TEST_CASE("a file writes two pieces one after the other, in one write") {
  TempDir dir;
  auto file = Env::Default()->Open(dir.Sub("f"), true);
  REQUIRE(file.ok());
  REQUIRE((*file)->Write(0, "0123456789").ok());
  const std::string zeros(300 << 10, '\0');
  REQUIRE((*file)->WriteThen(4, "abc", zeros).ok());
  CHECK(*(*file)->Size() == 7 + zeros.size());
  std::string head(10, '?');
  REQUIRE((*file)->Read(0, head.size(), head.data()).ok());
  CHECK(head == std::string("0123abc\0\0\0", 10));
  // The default of a File that has only Write joins the pieces.
  struct OnlyWrite : File {
    Status Write(uint64_t offset, std::string_view data) override {
      writes.emplace_back(offset, std::string(data));
      return Status::OK();
    }
    Status Sync() override { return Status::OK(); }
    Status Read(uint64_t, size_t, char*) const override { return Status::OK(); }
    Result<uint64_t> Size() const override { return uint64_t{0}; }
    Status Truncate(uint64_t) override { return Status::OK(); }
    int fd() const override { return -1; }
    std::vector<std::pair<uint64_t, std::string>> writes;
  } only_write;
  REQUIRE(only_write.WriteThen(5, "ab", "cd").ok());
  CHECK(only_write.writes == std::vector<std::pair<uint64_t, std::string>>{{5, "abcd"}});
}

TEST_CASE("bytes another process is still writing are not a crash's torn tail") {
  TempDir dir;
  uint64_t end;
  {
    auto store = OpenStore(dir.path());
    MustPut(store.get(), "k", "1");
    end = *store->DataBytes();
  }
  // Another process holds the writer lock, as a writer does while its
  // block goes into the file, and has written part of it.
  int ready[2], release[2];
  REQUIRE(pipe(ready) == 0);
  REQUIRE(pipe(release) == 0);
  const pid_t writer = fork();
  REQUIRE(writer >= 0);
  if (writer == 0) {
    const int fd = open(dir.Sub("LOCK").c_str(), O_RDWR);
    struct flock whole = {};
    whole.l_type = F_WRLCK;
    whole.l_whence = SEEK_SET;
    char byte = 0;
    const bool locked = fd >= 0 && fcntl(fd, F_SETLKW, &whole) == 0;
    if (!locked || write(ready[1], &byte, 1) != 1 || read(release[0], &byte, 1) != 1) _exit(1);
    _exit(0);  // dies without finishing its block
  }
  char byte = 0;
  REQUIRE(read(ready[0], &byte, 1) == 1);
  WriteInto(dir.path(), end, Filler("in flight", 5000));
  {
    auto reader = OpenStore(dir.path());
    CHECK(reader->recovery_info().dropped_tail_bytes == 0);
    CHECK(ValueOf(reader.get(), "k") == "1");
  }
  REQUIRE(write(release[1], &byte, 1) == 1);
  int status = 0;
  REQUIRE(waitpid(writer, &status, 0) == writer);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  for (int fd : {ready[0], ready[1], release[0], release[1]}) close(fd);
  // Its writer gone, what it left is what a crash leaves.
  auto after = OpenStore(dir.path());
  CHECK(after->recovery_info().dropped_tail_bytes == 5000);
  CHECK(ValueOf(after.get(), "k") == "1");
}

TEST_CASE("the writer keeps zeros ahead of the data, and cuts a torn write before writing on") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  MustPut(store.get(), "k", "1");
  uint64_t end = *store->DataBytes();
  CHECK(std::filesystem::file_size(dir.Sub("data.000001")) > end);
  CHECK(ZerosFrom(dir.path(), end));
  // Another process died writing 5,000 bytes: this store object, open all
  // along, cuts them before it writes a shorter block where they were, or
  // the rest of them would be a torn tail after its block.
  WriteInto(dir.path(), end, Filler("torn", 5000));
  CHECK(ValueOf(store.get(), "k") == "1");
  MustPut(store.get(), "k", "2");
  end = *store->DataBytes();
  CHECK(ZerosFrom(dir.path(), end));
  {
    auto reopened = OpenStore(dir.path());
    CHECK(reopened->recovery_info().dropped_tail_bytes == 0);
    CHECK(ValueOf(reopened.get(), "k") == "2");
  }
  // A store opened over such a tail reports it, and cuts it as well.
  WriteInto(dir.path(), end, Filler("torn", 5000));
  auto fresh = OpenStore(dir.path());
  CHECK(fresh->recovery_info().dropped_tail_bytes == 5000);
  MustPut(fresh.get(), "k", "3");
  CHECK(ZerosFrom(dir.path(), *fresh->DataBytes()));
  CHECK(ValueOf(OpenStore(dir.path()).get(), "k") == "3");
  CHECK(ValueOf(store.get(), "k") == "3");
  CHECK(fresh->Check()->ok());
}

}  // namespace kvs::test
