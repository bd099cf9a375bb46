// Which way a replication goes, as `kvs sync`, `push` and `pull` name it and
// the config's replication: peers (mode:) do.
#ifndef KVS_REPLICATION_DIRECTION_H_
#define KVS_REPLICATION_DIRECTION_H_

#include <string_view>

namespace kvs::replication {

enum class Direction {
  kPush,  // send what the other side lacks
  kPull,  // receive what this side lacks
  kSync,  // both: pull, then push
};

// "push", "pull", "sync".
constexpr std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kPush:
      return "push";
    case Direction::kPull:
      return "pull";
    case Direction::kSync:
      return "sync";
  }
  return "";
}

constexpr bool Sends(Direction d) { return d != Direction::kPull; }
constexpr bool Receives(Direction d) { return d != Direction::kPush; }

}  // namespace kvs::replication

#endif  // KVS_REPLICATION_DIRECTION_H_
