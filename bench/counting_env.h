// CountingEnv: the default Env with a counter on File::Sync, so a benchmark
// can tell how many durable commits shared one fdatasync (the point of the
// group commit) without reaching into the engine.
#ifndef KVS_BENCH_COUNTING_ENV_H_
#define KVS_BENCH_COUNTING_ENV_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "kvs/env.h"

namespace kvs::bench {

class CountingEnv : public EnvWrapper {
 public:
  CountingEnv() : EnvWrapper(Env::Default()) {}
  // Syncs of files (not directories) since the Env was made.
  uint64_t syncs() const { return syncs_.load(); }

  Result<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    Result<std::unique_ptr<File>> file = target()->Open(path, create);
    if (!file.ok()) return file.status();
    return std::unique_ptr<File>(new CountingFile(std::move(file).value(), &syncs_));
  }

 private:
  class CountingFile : public File {
   public:
    CountingFile(std::unique_ptr<File> base, std::atomic<uint64_t>* syncs)
        : base_(std::move(base)), syncs_(syncs) {}
    Status Write(uint64_t offset, std::string_view data) override {
      return base_->Write(offset, data);
    }
    Status WriteThen(uint64_t offset, std::string_view data, std::string_view then) override {
      return base_->WriteThen(offset, data, then);
    }
    Status Sync() override {
      ++*syncs_;
      return base_->Sync();
    }
    Status Read(uint64_t offset, size_t n, char* out) const override {
      return base_->Read(offset, n, out);
    }
    Result<uint64_t> Size() const override { return base_->Size(); }
    Status Truncate(uint64_t size) override { return base_->Truncate(size); }
    int fd() const override { return base_->fd(); }

   private:
    std::unique_ptr<File> base_;
    std::atomic<uint64_t>* syncs_;  // owned by the CountingEnv, which outlives its files
  };

  std::atomic<uint64_t> syncs_{0};
};

}  // namespace kvs::bench

#endif  // KVS_BENCH_COUNTING_ENV_H_
