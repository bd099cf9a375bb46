// Opening and creating a store, and the small helpers every part shares.
#include <chrono>
#include <cstdio>

#include "store/coding.h"
#include "store/format.h"
#include "store/store_impl.h"

namespace kvs {

// ---- Public value types ---------------------------------------------------

std::string Status::ToString() const {
  static const char* const kNames[] = {"OK",       "NotFound",  "InvalidArgument",
                                       "Conflict", "Ambiguous", "Corruption",
                                       "IOError",  "Compacted", "NoSpace"};
  std::string out = kNames[static_cast<int>(code_)];
  if (!message_.empty()) out += ": " + message_;
  return out;
}

namespace {
std::string ToHex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

// Decodes hex (exactly 2 * n digits, either case) into out[0..n); false
// for another length or a non-hex digit.
bool FromHexDigits(std::string_view hex, uint8_t* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < 2 * n; ++i) {
    char c = hex[i];
    int v = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (v < 0) return false;
    out[i / 2] = static_cast<uint8_t>(i % 2 ? out[i / 2] | v : v << 4);
  }
  return true;
}
}  // namespace

std::string Hash::Hex() const { return ToHex(bytes.data(), bytes.size()); }
std::string ReplicaId::Hex() const { return ToHex(bytes.data(), bytes.size()); }

bool Hash::IsZero() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

Result<Hash> Hash::FromHex(std::string_view hex) {
  if (hex.size() != 64) {
    return Status::InvalidArgument("an id has 64 hex digits, got " + std::to_string(hex.size()));
  }
  Hash h;
  if (!FromHexDigits(hex, h.bytes.data(), h.bytes.size())) {
    return Status::InvalidArgument("id contains a non-hex character");
  }
  return h;
}

std::optional<ReplicaId> ReplicaId::FromHex(std::string_view hex) {
  ReplicaId r;
  if (!FromHexDigits(hex, r.bytes.data(), r.bytes.size())) return std::nullopt;
  return r;
}

WriteBatch& WriteBatch::Put(std::string key, std::string value) {
  writes.push_back(
      KeyWrite{std::move(key), std::move(value), std::nullopt, std::nullopt, std::nullopt});
  return *this;
}

WriteBatch& WriteBatch::Delete(std::string key) {
  writes.push_back(
      KeyWrite{std::move(key), std::nullopt, std::nullopt, std::nullopt, std::nullopt});
  return *this;
}

// ---- Shared helpers ---------------------------------------------------------

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ValidateKey(std::string_view key, size_t max_bytes) {
  if (key.empty()) return Status::InvalidArgument("the key is empty");
  if (key.size() > max_bytes) {
    return Status::InvalidArgument("the key is " + std::to_string(key.size()) +
                                   " bytes; the limit is " + std::to_string(max_bytes));
  }
  if (key.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("keys cannot contain a NUL byte");
  }
  return Status::OK();
}

Status ValidateBranchName(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return Status::InvalidArgument("a branch name has 1 to 64 characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) {
      return Status::InvalidArgument("branch name '" + std::string(name) +
                                     "' may only hold letters, digits, '-', '_' and '.'");
    }
  }
  return Status::OK();
}

Status CheckBranchName(std::string_view name) { return ValidateBranchName(name); }

Status CheckNewBranchName(std::string_view name) {
  KVS_RETURN_IF_ERROR(ValidateNewBranchName(name));
  if (name.size() == 64 && name.find_first_not_of("0123456789abcdefABCDEF") == name.npos) {
    return Status::InvalidArgument("branch name '" + std::string(name) +
                                   "' is 64 hex digits, which reads as a commit id; name it "
                                   "otherwise");
  }
  return Status::OK();
}

Status ValidateNewBranchName(std::string_view name) {
  KVS_RETURN_IF_ERROR(ValidateBranchName(name));
  if (name.starts_with('.')) {
    return Status::InvalidArgument("branch name '" + std::string(name) +
                                   "' starts with '.': web servers resolve or hide such paths");
  }
  return Status::OK();
}

namespace {

// The key's entry, from the first branch tree entry (tree_key, value) at
// or after the key as of some revision; nullopt when that entry is another
// key's.
Result<std::optional<KeyEntry>> KeyEntryFound(std::string_view tree_key, std::string_view value,
                                              std::string_view key, uint64_t* entry_revision) {
  std::string_view found;
  uint64_t rev;
  if (!ParseBranchTreeKey(tree_key, &found, &rev)) {
    return Status::Corruption("malformed branch tree key");
  }
  if (found != key) return std::optional<KeyEntry>();
  if (entry_revision != nullptr) *entry_revision = rev;
  KVS_ASSIGN_OR_RETURN(KeyEntry entry, DecodeKeyEntry(value));
  return std::optional<KeyEntry>(std::move(entry));
}

}  // namespace

Result<std::optional<KeyEntry>> FindKeyEntry(const RecordSource& source, uint64_t root,
                                             std::string_view key, uint64_t revision,
                                             uint64_t* entry_revision) {
  TreeCursor cursor(&source, root);
  KVS_RETURN_IF_ERROR(cursor.Seek(BranchTreeKey(key, revision)));
  if (!cursor.Valid()) return std::optional<KeyEntry>();
  return KeyEntryFound(cursor.key(), cursor.value(), key, entry_revision);
}

Result<std::optional<KeyEntry>> FindKeyEntry(TreeWriter* tree, std::string_view key,
                                             uint64_t revision) {
  KVS_ASSIGN_OR_RETURN(std::optional<TreeWriter::Entry> at,
                       tree->Seek(BranchTreeKey(key, revision)));
  if (!at) return std::optional<KeyEntry>();
  return KeyEntryFound(at->first, at->second, key, nullptr);
}

Result<VersionRecord> ReadVersionAt(const RecordSource& source, uint64_t offset) {
  KVS_ASSIGN_OR_RETURN(RecordView rec, source.ReadRecord(offset));
  if (!IsVersionRecord(rec.type)) {
    return Status::Corruption("offset " + std::to_string(offset) + " is not a version record");
  }
  // A compact record's stored parents are named by offset: their records,
  // always earlier in the file, hold their ids.
  return DecodeVersion(rec.type, rec.body, [&](uint64_t parent) -> Result<VersionId> {
    if (parent >= offset) return Status::Corruption("a version names a parent stored after it");
    KVS_ASSIGN_OR_RETURN(RecordView p, source.ReadRecord(parent));
    return VersionIdOfRecord(p.type, p.body);
  });
}

Result<BranchEntry> ReadBranchEntry(const RecordSource& source, uint64_t global_root,
                                    std::string_view name) {
  auto value = TreeGet(source, global_root, gkey::Branch(name));
  if (!value.ok()) {
    if (value.status().IsNotFound()) {
      return Status::NotFound("branch '" + std::string(name) + "' does not exist");
    }
    return value.status();
  }
  return DecodeBranchEntry(*value);
}

Result<BranchEntries> ReadBranchEntries(const RecordSource& source, uint64_t global_root) {
  TreeCursor cursor(&source, global_root);
  KVS_RETURN_IF_ERROR(cursor.Seek("B"));
  BranchEntries out;
  while (cursor.Valid() && cursor.key()[0] == 'B') {
    KVS_ASSIGN_OR_RETURN(BranchEntry e, DecodeBranchEntry(cursor.value()));
    out.emplace_back(std::string(cursor.key().substr(1)), e);
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

// ---- Opening ----------------------------------------------------------------

namespace {

// Writes generation 1 of a new store: the file header and revision 0, which
// creates the empty main branch.
Status CreateFirstDataFile(Env* env, const std::string& dir, const StoreIdentity& id) {
  BlockBuilder builder(format::kFileHeaderSize, id.salt);
  builder.set_compact_nodes(id.format_version >= format::kStoreFormatCompactRecords);
  builder.BeginBlock();
  TreeWriter global(&builder, 0);
  BranchEntry main;
  main.created_time_ns = id.created_ns;
  KVS_RETURN_IF_ERROR(global.Put(gkey::Branch("main"), EncodeBranchEntry(main)));
  KVS_RETURN_IF_ERROR(global.Put(gkey::Revision(0),
                                 EncodeRevisionEntry({builder.block_start(), 0, id.created_ns})));
  KVS_ASSIGN_OR_RETURN(uint64_t root, global.Flush(&builder));
  builder.EndBlock(0, id.created_ns, root, format::kKindTransaction);

  std::string tmp = dir + "/" + DataFileName(1) + ".tmp";
  {
    KVS_ASSIGN_OR_RETURN(std::unique_ptr<File> file, env->Open(tmp, true));
    KVS_RETURN_IF_ERROR(file->Truncate(0));
    KVS_RETURN_IF_ERROR(file->Write(0, EncodeFileHeader(1, id.replica) + builder.bytes()));
    KVS_RETURN_IF_ERROR(file->Sync());
  }
  KVS_RETURN_IF_ERROR(env->Rename(tmp, dir + "/" + DataFileName(1)));
  return env->SyncDir(dir);
}

// Makes a new store in dir; the caller holds the writer lock. The identity
// goes to STORE.tmp first and becomes STORE by rename last, so a STORE file
// always comes with its data. Data files found without a STORE file are
// removed only when they belong to the STORE.tmp of a creation that never
// finished; any others are somebody's data, and opening refuses to touch
// them.
Result<StoreIdentity> CreateStore(Env* env, const std::string& dir) {
  const std::string tmp = dir + "/STORE.tmp";
  auto unfinished = ReadIdentityFile(env, tmp);
  KVS_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  for (const std::string& name : names) {
    if (name.compare(0, 5, "data.") != 0) continue;
    auto file = env->Open(dir + "/" + name, false);
    auto header = file.ok() ? ReadFileHeader(**file, name) : Result<DataFileHeader>(file.status());
    if (!unfinished.ok() || !header.ok() || header->replica != unfinished->replica) {
      return Status::Corruption(dir +
                                " holds data files but no STORE file; restore STORE, or "
                                "move the data files away to start a new store");
    }
  }
  for (const std::string& name : names) {
    if (name.compare(0, 5, "data.") == 0) KVS_RETURN_IF_ERROR(env->Remove(dir + "/" + name));
  }
  StoreIdentity id = NewIdentity();
  KVS_RETURN_IF_ERROR(WriteIdentityFile(env, tmp, id));
  KVS_RETURN_IF_ERROR(CreateFirstDataFile(env, dir, id));
  KVS_RETURN_IF_ERROR(env->Rename(tmp, dir + "/STORE"));
  KVS_RETURN_IF_ERROR(env->SyncDir(dir));
  return id;
}

// Opens the data file of generation or, when a compaction has removed it
// already, the live one, newer still. That happens to a process that slept
// through several compactions: it follows a "moved" block to a file a later
// compaction removed. Every file a compaction removes was ended with a move
// first, so the live generation holds everything the removed one did.
// Another compaction can remove the live file too between the listing and
// the open: look again for as long as that happens.
Result<std::unique_ptr<DataFile>> OpenDataFileFrom(Env* env, const std::string& dir,
                                                   uint64_t generation, const StoreIdentity& id) {
  for (;;) {
    auto file =
        DataFile::Open(env, dir + "/" + DataFileName(generation), generation, id.salt, id.replica);
    if (!file.status().IsNotFound()) return file;
    KVS_ASSIGN_OR_RETURN(uint64_t live, LiveGeneration(env, dir));
    if (live <= generation) return file.status();
    generation = live;
  }
}

// The live generation (LiveGeneration), from names, a listing of dir.
// A compactor that crashed after publishing it, but before ending the file
// it replaced with a "moved" block, leaves the processes still reading that
// file blind: whoever opens the store from now on writes into the live
// one, and nobody writes into the old file again to notice. Opening
// finishes the compactor's job. Only an unannounced file takes the lock.
Result<uint64_t> AnnouncedLiveGeneration(Env* env, const std::string& dir,
                                         const std::vector<std::string>& names,
                                         const StoreIdentity& id, WriterLock* lock) {
  const uint64_t live = LiveGenerationOf(names);
  for (const std::string& name : names) {
    std::optional<uint64_t> generation = GenerationOf(name);
    if (!generation || *generation >= live) continue;
    KVS_RETURN_IF_ERROR(EndUnannounced(env, dir + "/" + name, *generation, live, id, lock));
  }
  return live;
}

// What a crashed compaction left: the .compacting file it was writing, or,
// when it crashed after publishing, the file it replaced (which
// AnnouncedLiveGeneration ended). The next compaction removed them; until
// then they took as much disk as the store itself, and the automatic
// compaction, which counts the live file's garbage, might not come for a
// long while. A compaction running now writes its .compacting file, so
// they are removed only while none runs. Best effort: a process that may
// not remove files here leaves them to the next compaction. names: the
// listing AnnouncedLiveGeneration read.
void RemoveCrashLeftovers(Env* env, const std::string& dir, const std::vector<std::string>& names,
                          uint64_t live) {
  std::vector<std::string> leftovers;
  for (const std::string& name : names) {
    std::optional<uint64_t> generation = GenerationOf(name);
    const bool unfinished = name.rfind("data.", 0) == 0 && name.ends_with(kUnfinishedSuffix);
    if (unfinished || (generation && *generation < live)) leftovers.push_back(name);
  }
  if (leftovers.empty()) return;
  auto idle = CompactionLock::Take(dir, /*wait=*/false);
  if (!idle.ok()) return;
  for (const std::string& name : leftovers) env->Remove(dir + "/" + name);
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const Options& given) {
  Options options = given;
  if (options.env == nullptr) options.env = Env::Default();
  if (options.max_key_bytes > kMaxKeyBytes) {
    return Status::InvalidArgument("max_key_bytes can be at most " + std::to_string(kMaxKeyBytes));
  }
  Env* env = options.env;
  if (!env->Exists(dir)) {
    if (!options.create_if_missing) return Status::NotFound(dir + " does not exist");
    KVS_RETURN_IF_ERROR(env->MakeDir(dir));
  }
  // Before anything is read or made here: a copy being put in place in dir
  // (CopyTo) finishes first.
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<DirectoryUse> use, DirectoryUse::Share(dir));
  KVS_ASSIGN_OR_RETURN(std::shared_ptr<WriterLock> lock, WriterLock::ForDirectory(dir));
  auto identity = ReadIdentity(env, dir);
  if (identity.status().IsNotFound()) {
    if (!options.create_if_missing) return identity.status();
    std::lock_guard<WriterLock> guard(*lock);
    identity = ReadIdentity(env, dir);  // another process may have won the race
    if (identity.status().IsNotFound()) identity = CreateStore(env, dir);
  }
  if (!identity.ok()) return identity.status();

  KVS_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  KVS_ASSIGN_OR_RETURN(uint64_t generation,
                       AnnouncedLiveGeneration(env, dir, names, *identity, lock.get()));
  if (generation == 0) return Status::Corruption(dir + " has a STORE file but no data file");
  RemoveCrashLeftovers(env, dir, names, generation);
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<DataFile> data,
                       OpenDataFileFrom(env, dir, generation, *identity));
  // Bytes past the newest block may be a write another process is making,
  // not what a crash left: they count only when no writer is at work, as
  // they are once that is sure. Busy, a writer cuts them later if torn.
  RecoveryInfo recovery;
  if (data->tail_bytes_at_open() > 0 && lock->try_lock()) {
    Result<uint64_t> torn = data->TornTailBytes();
    lock->unlock();
    KVS_ASSIGN_OR_RETURN(recovery.dropped_tail_bytes, torn);
  }
  auto store = std::make_unique<StoreImpl>(dir, options, *identity, std::move(use), std::move(lock),
                                           std::shared_ptr<DataFile>(std::move(data)));
  store->set_recovery(recovery);
  KVS_RETURN_IF_ERROR(store->Latest().status());
  return std::unique_ptr<Store>(std::move(store));
}

std::shared_ptr<DataFile> StoreImpl::data() {
  std::lock_guard<std::mutex> lock(data_mu_);
  return data_;
}

Status StoreImpl::SwitchToGeneration(uint64_t generation) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<DataFile> next,
                       OpenDataFileFrom(env_, dir_, generation, identity_));
  std::lock_guard<std::mutex> lock(data_mu_);
  if (data_->generation() < next->generation()) data_ = std::move(next);
  return Status::OK();
}

Result<Snapshot> StoreImpl::Latest() { return FollowMoves(&DataFile::Latest); }

Result<Snapshot> StoreImpl::FollowMoves(Result<Snapshot> (DataFile::*take)()) {
  // A compaction ends the old file with a "moved" block naming the new
  // generation; follow it (possibly more than once).
  for (int hops = 0; hops < 16; ++hops) {
    std::shared_ptr<DataFile> file = data();
    KVS_ASSIGN_OR_RETURN(Snapshot snap, (file.get()->*take)());
    if (!snap.head().moved) {
      KVS_RETURN_IF_ERROR(ResolveLoggedHead(&windows_, &snap));
      return snap;
    }
    KVS_RETURN_IF_ERROR(SwitchToGeneration(snap.head().moved_to));
  }
  return Status::Corruption("data files form a chain of moves that does not end");
}

Result<UpgradeInfo> Store::Upgrade(const std::string& dir, Env* env) {
  if (env == nullptr) env = Env::Default();
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<DirectoryUse> alone, DirectoryUse::TakeExclusive(dir));
  KVS_ASSIGN_OR_RETURN(StoreIdentity id, ReadIdentity(env, dir));
  UpgradeInfo info{id.format_version, format::kStoreFormatVersion};
  if (info.from == info.to) return info;
  id.format_version = info.to;
  const std::string tmp = dir + "/STORE.tmp";
  KVS_RETURN_IF_ERROR(WriteIdentityFile(env, tmp, id));
  KVS_RETURN_IF_ERROR(env->Rename(tmp, dir + "/STORE"));
  KVS_RETURN_IF_ERROR(env->SyncDir(dir));
  return info;
}

Result<uint64_t> StoreImpl::DataBytes() {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  return snap.head().end;
}

Result<uint64_t> StoreImpl::Revision() {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  return snap.head().revision;
}

}  // namespace kvs
