// Fuzz target: opening a store whose files hold arbitrary bytes, then
// reading everything it will show and checking it. Whatever the files hold,
// every call must return a Status (Corruption, most often); none may crash,
// read outside the file, or loop.
//
// Input: one byte of flags, then the files.
//   flags & 1   seal the files first (fuzz/store_seal.h), so that the bytes
//               reach the code behind the checksums
//   flags & 2   the next 64 bytes are the STORE file; otherwise a fixed,
//               valid identity is written
//   flags & 4   after reading, also write a transaction and compact
//   flags & 8   ... keeping only each key's newest version
//   the rest    the data file, data.000001
// The seeds in fuzz/corpus/store/ are real data files with these flags.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "fuzz/scratch_dir.h"
#include "fuzz/store_seal.h"
#include "kvs/store.h"
#include "store/directory.h"
#include "store/format.h"

namespace kvs::fuzz {
namespace {

constexpr uint8_t kSeal = 1;
constexpr uint8_t kIdentityInInput = 2;
constexpr uint8_t kWrite = 4;
constexpr uint8_t kKeepNewest = 8;

// The bytes of a valid STORE file with a fixed replica and salt.
const std::string& FixedIdentityFile() {
  static const std::string bytes = [] {
    StoreIdentity id;
    for (size_t i = 0; i < id.replica.bytes.size(); ++i) id.replica.bytes[i] = uint8_t(i + 1);
    for (size_t i = 0; i < id.salt.size(); ++i) id.salt[i] = uint8_t(0xA0 + i);
    std::string path = EmptySubdirectory("identity") + "/STORE";
    Status written = WriteIdentityFile(Env::Default(), path, id);
    if (!written.ok()) {
      std::fprintf(stderr, "fuzz: %s\n", written.ToString().c_str());
      std::abort();
    }
    std::ifstream file(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
  }();
  return bytes;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// Reads what a client could ask for, a few of each, so one execution stays
// fast. Results are dropped: only crashes and sanitizer reports count.
void ReadEverything(Store& store) {
  (void)store.Revision();
  auto branches = store.ListBranches();
  if (branches.ok()) {
    for (size_t b = 0; b < branches->size() && b < 4; ++b) {
      const BranchInfo& branch = (*branches)[b];
      if (!branch.head_commit.IsZero()) (void)store.GetCommit(branch.head_commit);
      (void)store.Diff((*branches)[0].name, ReadPoint::Latest(), branch.name, ReadPoint::Latest());
      KeyListOptions options;
      options.limit = 8;
      options.include_deleted = true;
      options.with_values = true;
      auto keys = store.ListKeys(branch.name, options);
      if (!keys.ok()) continue;
      for (const KeyState& state : *keys) {
        (void)store.Get(branch.name, state.winner.key, ReadPoint::AtRevision(1));
        (void)store.History(state.winner.id, 0, 8, true);
        (void)store.Children(state.winner.id);
        (void)store.Tails(state.winner.key);
      }
    }
  }
  VersionListOptions versions_options;
  versions_options.limit = 8;
  auto versions = store.ListVersions(versions_options);
  if (versions.ok() && !versions->empty()) {
    (void)store.GetVersion(versions->front().id, true);
    (void)store.CommonAncestors({versions->front().id, versions->back().id});
  }
  (void)store.Check();
}

void FuzzStore(uint8_t flags, std::string_view files) {
  std::string identity = FixedIdentityFile();
  if (flags & kIdentityInInput) {
    identity = files.substr(0, format::kStoreFileSize);
    files.remove_prefix(identity.size());
  }
  if (flags & kSeal) SealIdentityFile(&identity);
  const std::string dir = EmptySubdirectory("store");
  WriteFile(dir + "/STORE", identity);
  std::string data_file(files);
  if (flags & kSeal) {
    auto id = ReadIdentity(Env::Default(), dir);
    if (id.ok()) SealDataFile(&data_file, 1, id->replica, id->salt);
  }
  WriteFile(dir + "/" + DataFileName(1), data_file);

  Options options;
  options.sync = SyncMode::kNone;
  options.create_if_missing = false;
  auto store = Store::Open(dir, options);
  if (!store.ok()) return;
  ReadEverything(**store);
  if (flags & kWrite) {
    WriteBatch batch;
    batch.Put("fuzz", "value");
    (void)(*store)->Write(batch);
    CompactOptions compact;
    if (flags & kKeepNewest) compact.rules.push_back(RetentionRule{"", 1, std::nullopt});
    (void)(*store)->Compact(compact);
    ReadEverything(**store);
  }
}

}  // namespace
}  // namespace kvs::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  kvs::fuzz::FuzzStore(data[0],
                       std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  return 0;
}
