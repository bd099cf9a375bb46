// How the fuzz targets whose inputs are text cut them: at the first newline,
// into a line (a Content-Type, a boundary, a URL, a request line or header)
// and the rest, so that a seed reads like the request it stands for.
#ifndef KVS_FUZZ_FIRST_LINE_H_
#define KVS_FUZZ_FIRST_LINE_H_

#include <string_view>

namespace kvs::fuzz {

struct FirstLine {
  std::string_view line;  // without the '\n'
  std::string_view rest;  // empty when there is no '\n'
};

inline FirstLine SplitFirstLine(std::string_view input) {
  size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return {input, {}};
  return {input.substr(0, newline), input.substr(newline + 1)};
}

}  // namespace kvs::fuzz

#endif  // KVS_FUZZ_FIRST_LINE_H_
