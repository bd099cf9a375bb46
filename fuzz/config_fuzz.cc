// Fuzz target: the YAML config file (config/config.h). Whatever the text,
// ParseConfig returns a Config or an error naming the place: yaml-cpp's
// exceptions must all be caught, and a config it accepts must convert to
// the store's options and compaction options.
//
// Input: the file's text. The seeds in fuzz/corpus/config/ are configs as
// docs/deployment.md and docs/storage.md show them.
#include <cstdint>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto config = kvs::config::ParseConfig(
      std::string_view(reinterpret_cast<const char*>(data), size), "/fuzz/kvs.yaml");
  if (config.ok()) {
    (void)config->StoreOptions();
    (void)config->retention.ToCompactOptions();
  }
  return 0;
}
