#include "store/owner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace kvs {

void KeepDirectoryOwner(const std::string& path) {
  if (geteuid() != 0) return;
  std::string dir = std::filesystem::path(path).parent_path().string();
  struct stat file, parent;
  if (stat(dir.empty() ? "." : dir.c_str(), &parent) != 0 || parent.st_uid == 0) return;
  if (stat(path.c_str(), &file) != 0 || file.st_uid != 0) return;
  (void)!chown(path.c_str(), parent.st_uid, parent.st_gid);
}

void MatchDirectory(const std::string& path, const std::string& like) {
  struct stat st;
  if (stat(like.c_str(), &st) != 0) return;
  if (geteuid() == 0) (void)!chown(path.c_str(), st.st_uid, st.st_gid);
  (void)!chmod(path.c_str(), st.st_mode & 07777);
}

}  // namespace kvs
