// What the engine benchmarks share besides the harness: their command line
// (--quick, --dir DIR), the keys and values they write, and how they open a
// store. One definition, so two benchmarks measure the same workload.
#ifndef KVS_BENCH_WORKLOAD_H_
#define KVS_BENCH_WORKLOAD_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "bench/harness.h"
#include "kvs/store.h"

namespace kvs::bench {

// The size of every value the benchmarks write.
inline constexpr size_t kValueBytes = 100;

struct Args {
  bool quick = false;
  std::string parent;  // where the scratch directory goes: --dir, else $TMPDIR, else /tmp
};

// Parses [--quick] [--dir DIR]; prints the usage and exits with 2 on
// anything else. Also names the program in Fail's messages.
inline Args ParseArgs(int argc, char** argv) {
  const char* slash = std::strrchr(argv[0], '/');
  ProgramName() = slash != nullptr ? slash + 1 : argv[0];
  Args args;
  const char* tmp = std::getenv("TMPDIR");
  args.parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      args.quick = true;
    } else if (arg == "--dir" && i + 1 < argc) {
      args.parent = argv[++i];
    } else if (arg.rfind("--dir=", 0) == 0) {
      args.parent = arg.substr(6);
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--dir DIR]\n", argv[0]);
      std::exit(2);
    }
  }
  return args;
}

// "key00000042": fixed width, so byte order is numeric order.
inline std::string Key(uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key%08llu", static_cast<unsigned long long>(i));
  return buf;
}

// A 100-byte value that differs per write, so no layer can skip an
// unchanged value.
inline std::string MakeValue(uint64_t n) {
  std::string value(kValueBytes, 'v');
  std::string digits = std::to_string(n);
  value.replace(0, digits.size(), digits);
  return value;
}

// "1M", "10k", "1234".
inline std::string CountLabel(uint64_t n) {
  if (n >= 1'000'000 && n % 1'000'000 == 0) return std::to_string(n / 1'000'000) + "M";
  if (n >= 1'000 && n % 1'000 == 0) return std::to_string(n / 1'000) + "k";
  return std::to_string(n);
}

inline std::unique_ptr<Store> OpenStore(const std::string& dir, SyncMode sync, Env* env = nullptr) {
  Options options;
  options.sync = sync;
  options.env = env;
  return Must(Store::Open(dir, options), "Store::Open");
}

}  // namespace kvs::bench

#endif  // KVS_BENCH_WORKLOAD_H_
