// What root writes into a store directory belongs to the directory's owner.
//
// A server runs as a user of its own (the Debian package's `kvs`), and root
// runs the command line on its store: a cron job's `kvs compact`, a `kvs
// restore`. The files root made there (a compaction's data file, the
// COMPACT lock, a restored directory) were root's, mode 0600, and the
// server failed every request from then on. So a process running as root
// gives what it makes in a directory another user owns, and its own files
// it finds there (left by an older kvs), to that user and the directory's
// group. Files of other users, and every process that is not root, are
// left as they are.
#ifndef KVS_STORE_OWNER_H_
#define KVS_STORE_OWNER_H_

#include <string>

namespace kvs {

// When this process runs as root, path belongs to root and its directory
// to another user: gives path to that user and group. Best effort: a file
// system that refuses root (NFS's root squash) leaves it as it was, and
// opening it then fails as it did before.
void KeepDirectoryOwner(const std::string& path);

// A directory made to take the place of `like` (a restore's copy): gives it
// like's mode and, when this process runs as root, like's owner and group.
void MatchDirectory(const std::string& path, const std::string& like);

}  // namespace kvs

#endif  // KVS_STORE_OWNER_H_
