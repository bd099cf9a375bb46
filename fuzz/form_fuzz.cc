// Fuzz target: urlencoded forms, percent-encoding and Content-Type values
// (http/form.h), and POST bodies by their Content-Type.
//
// Input: a Content-Type value, a newline, then the body. Besides parsing,
// it checks one property: any bytes percent-encoded decode back to
// themselves, also as a form field's value (a break aborts, as a finding).
// The seeds in fuzz/corpus/form/ are forms as browsers and curl send them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz/first_line.h"
#include "http/form.h"

namespace kvs::server {
namespace {

void Require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz_form: %s\n", what);
  std::abort();
}

void FuzzForm(std::string_view input) {
  auto [content_type, body] = fuzz::SplitFirstLine(input);

  (void)ParseMediaType(content_type);
  (void)ParseFormBody(content_type, body);
  (void)ParseUrlEncoded(input);
  (void)ParseCount(body);
  (void)PercentDecode(input, /*plus_as_space=*/false);

  std::string encoded = PercentEncode(body);
  auto decoded = PercentDecode(encoded, /*plus_as_space=*/true);
  Require(decoded.ok() && *decoded == body, "PercentDecode(PercentEncode(x)) is not x");
  auto fields = ParseUrlEncoded("v=" + encoded);
  Require(fields.ok() && fields->size() == 1 && (*fields)[0].value == body,
          "an encoded value does not come back from ParseUrlEncoded");
}

}  // namespace
}  // namespace kvs::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kvs::server::FuzzForm(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
