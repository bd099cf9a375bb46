// What replication reads: the changes feed (the keys a branch changed after
// a revision, found through the commits those revisions recorded) and the
// checkpoints peers stored here.
#include <algorithm>
#include <set>

#include "store/coding.h"
#include "store/format.h"
#include "store/store_impl.h"

namespace kvs {

Result<std::string> StoreImpl::Checkpoint(std::string_view peer) {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  auto value = TreeGet(snap, snap.head().root, gkey::Peer(peer));
  if (value.status().IsNotFound()) {
    return Status::NotFound("no checkpoint for peer '" + std::string(peer) + "'");
  }
  return value;
}

Result<std::vector<std::pair<std::string, std::string>>> StoreImpl::Checkpoints(
    std::string_view prefix) {
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  const std::string start = gkey::Peer(prefix);
  std::vector<std::pair<std::string, std::string>> out;
  TreeCursor cursor(&snap, snap.head().root);
  KVS_RETURN_IF_ERROR(cursor.Seek(start));
  while (cursor.Valid() && cursor.key().starts_with(start)) {
    out.emplace_back(std::string(cursor.key().substr(1)), std::string(cursor.value()));
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

namespace {

Result<RevisionEntry> ReadRevisionEntry(const Snapshot& snap, uint64_t revision) {
  KVS_ASSIGN_OR_RETURN(std::string v, TreeGet(snap, snap.head().root, gkey::Revision(revision)));
  return DecodeRevisionEntry(v);
}

}  // namespace

Result<Changes> StoreImpl::ChangesSince(const ChangesOptions& options) {
  KVS_RETURN_IF_ERROR(ValidateBranchName(options.branch));
  KVS_ASSIGN_OR_RETURN(Snapshot snap, Latest());
  const uint64_t newest = snap.head().revision;
  if (options.since > newest) {
    return Status::InvalidArgument("revision " + std::to_string(options.since) +
                                   " is in the future; the newest is " + std::to_string(newest));
  }
  KVS_ASSIGN_OR_RETURN(BranchEntry branch, ReadBranchEntry(snap, snap.head().root, options.branch));
  Changes changes;
  changes.revision = newest;
  changes.through = options.since;
  if (options.since > 0) {
    KVS_ASSIGN_OR_RETURN(RevisionEntry since, ReadRevisionEntry(snap, options.since));
    changes.since_time_ns = since.time_ns;
  }
  changes.through_time_ns = changes.since_time_ns;
  // The 'R' index in revision order; each revision that made a commit on
  // the branch names the keys it changed. Commits survive compaction, so
  // the feed does too.
  std::set<std::string> keys;
  TreeCursor cursor(&snap, snap.head().root);
  KVS_RETURN_IF_ERROR(cursor.Seek(gkey::Revision(options.since + 1)));
  const std::string revision_tag = gkey::Revision(0).substr(0, 1);
  uint64_t read = 0;
  while (cursor.Valid() && cursor.key().starts_with(revision_tag) && keys.size() < options.limit &&
         read < options.max_revisions) {
    KVS_ASSIGN_OR_RETURN(RevisionEntry r, DecodeRevisionEntry(cursor.value()));
    const uint64_t revision = DecodeBigEndian64(cursor.key().data() + 1);
    ++read;
    if (r.commit != 0) {
      KVS_ASSIGN_OR_RETURN(RecordView rec, snap.ReadRecord(r.commit));
      if (!IsCommitRecord(rec.type)) {
        return Status::Corruption("revision " + std::to_string(revision) +
                                  " points to a record that is not a commit");
      }
      KVS_ASSIGN_OR_RETURN(CommitRecord c, DecodeCommit(rec.type, rec.body));
      if (c.branch == options.branch) {
        for (std::string& key : c.keys) {
          if (key.starts_with(options.prefix)) keys.insert(std::move(key));
        }
      }
    }
    changes.through = revision;
    changes.through_time_ns = r.time_ns;
    KVS_RETURN_IF_ERROR(cursor.Next());
  }
  for (const std::string& key : keys) {
    KVS_ASSIGN_OR_RETURN(std::optional<KeyEntry> entry,
                         FindKeyEntry(snap, branch.root, key, newest));
    if (!entry) continue;  // a commit of a branch deleted and made again
    KeyHeads k{key, {}};
    for (const HeadRef& h : entry->heads) k.heads.push_back(h.id);
    changes.keys.push_back(std::move(k));
  }
  return changes;
}

}  // namespace kvs
