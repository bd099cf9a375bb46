// Helpers shared by the store tests: a temporary directory removed on scope
// exit, and a store opened in it.
#ifndef KVS_TESTS_STORE_TEST_UTIL_H_
#define KVS_TESTS_STORE_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "kvs/store.h"

namespace kvs::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object goes out of scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Opens (creating) a store in dir, failing the test when it cannot.
std::unique_ptr<Store> OpenStore(const std::string& dir, Options options = Options());

// Writes key=value on branch as one transaction and returns the result,
// failing the test when the write fails.
WriteResult MustPut(Store* store, const std::string& key, const std::string& value,
                    const std::string& branch = "main");

// The winner's value of key, or "<missing>" / "<deleted>".
std::string ValueOf(Store* store, const std::string& key, const std::string& branch = "main",
                    const ReadPoint& at = ReadPoint::Latest());

// A version of key written on another replica (replica id 07 00 ...), with
// its id computed as every replica computes it.
ReplicatedVersion RemoteVersion(const std::string& key, const std::string& value,
                                std::vector<VersionId> parents, int64_t time_ns);

// A value of n bytes made from seed, which no value made from another seed
// shares: sizes stay what the test says, with nothing alike to share.
std::string Filler(const std::string& seed, size_t n);

// Copies tests/store/data/NAME (a store an earlier kvs wrote; its
// README says which) into dir, for a test to open and change.
void CopyTestStore(const std::string& name, const std::string& dir);

// The bytes of a data file before the zeros the writer keeps ahead of its
// end (store/data_file.h): what its blocks and any torn tail take, rounded
// up to the 8 bytes blocks are aligned to.
uint64_t DataFileBytes(const std::string& path);

}  // namespace kvs::test

#endif  // KVS_TESTS_STORE_TEST_UTIL_H_
