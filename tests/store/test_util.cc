#include "tests/store/test_util.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "store/entries.h"

namespace kvs::test {

void CopyTestStore(const std::string& name, const std::string& dir) {
  std::filesystem::copy(
      std::string(KVS_TEST_DATA_DIR) + "/" + name, dir,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/kvs-test-XXXXXX";
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<Store> OpenStore(const std::string& dir, Options options) {
  auto store = Store::Open(dir, options);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

WriteResult MustPut(Store* store, const std::string& key, const std::string& value,
                    const std::string& branch) {
  WriteBatch batch;
  batch.branch = branch;
  batch.Put(key, value);
  auto r = store->Write(batch);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

std::string ValueOf(Store* store, const std::string& key, const std::string& branch,
                    const ReadPoint& at) {
  auto state = store->Get(branch, key, at);
  if (state.status().IsNotFound()) return "<missing>";
  INFO(state.status().ToString());
  REQUIRE(state.ok());
  return state->winner.deleted ? "<deleted>" : state->winner.value;
}

ReplicatedVersion RemoteVersion(const std::string& key, const std::string& value,
                                std::vector<VersionId> parents, int64_t time_ns) {
  ReplicatedVersion v;
  v.key = key;
  v.value = value;
  v.parents = std::move(parents);
  v.time_ns = time_ns;
  v.replica.bytes[0] = 7;
  v.id = ComputeVersionId(v.key, v.parents, false, false, *v.value, v.time_ns, v.replica);
  return v;
}

std::string Filler(const std::string& seed, size_t n) {
  std::string out;
  while (out.size() < n) out += seed + ":" + std::to_string(out.size()) + ";";
  out.resize(n);
  return out;
}

uint64_t DataFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t n = data.size();
  while (n > 0 && data[n - 1] == '\0') --n;
  // Blocks end 8-byte aligned, and a trailer's last byte may be zero.
  return (n + 7) / 8 * 8;
}

}  // namespace kvs::test
