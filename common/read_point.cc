// Parsing read points: a revision, an RFC 3339 time or a commit id.
#include "common/read_point.h"

#include <charconv>
#include <cstdint>

#include "common/time.h"

namespace kvs::common {

std::optional<ReadPoint> ParseReadPoint(std::string_view text) {
  if (text.size() == 64) {
    if (auto commit = Hash::FromHex(text); commit.ok()) return ReadPoint::AtCommit(*commit);
  }
  uint64_t revision = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), revision);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) {
    if (revision == 0) return std::nullopt;
    return ReadPoint::AtRevision(revision);
  }
  if (auto time = ParseRfc3339(text)) return ReadPoint::AtTime(*time);
  return std::nullopt;
}

}  // namespace kvs::common
