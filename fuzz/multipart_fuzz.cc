// Fuzz target: multipart/form-data bodies (http/multipart.h).
//
// Input: the boundary, a newline, then the body. Each field a parse yields
// must be a name and value cut from the body: a value longer than the body
// aborts, as a finding. The seeds in fuzz/corpus/multipart/ are bodies as
// browsers and curl -F send them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz/first_line.h"
#include "http/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto [boundary, body] = kvs::fuzz::SplitFirstLine(input);
  auto fields = kvs::server::ParseMultipart(boundary, body);
  if (!fields.ok()) return 0;
  for (const kvs::server::FormField& field : *fields) {
    if (field.name.size() + field.value.size() > body.size()) {
      std::fprintf(stderr, "fuzz_multipart: a field is larger than the body\n");
      std::abort();
    }
  }
  return 0;
}
