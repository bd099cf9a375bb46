// History and future walks as trees, drawn as text or JSON.
#include "common/history_tree.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "common/version_json.h"

namespace kvs::common {
namespace {

// Ids are SHA-256 digests: their first bytes hash well as they are.
struct IdHasher {
  size_t operator()(const VersionId& id) const {
    size_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);
    return h;
  }
};

class Walker {
 public:
  Walker(Store& store, WalkDirection direction, size_t max_versions)
      : store_(store), direction_(direction), budget_(max_versions) {}

  // The walk from `start` (already read), taking versions from the budget.
  Result<HistoryTree> Walk(Version start) {
    HistoryTree tree;
    Version at = std::move(start);
    std::vector<Version> next;
    for (;;) {
      --budget_;
      bool first_visit = visited_.insert(at.id).second;
      KVS_ASSIGN_OR_RETURN(next, Next(at));
      tree.run.push_back(std::move(at));
      if (next.empty()) return tree;
      tree.seen = !first_visit;
      tree.cut = first_visit && budget_ == 0;
      if (tree.seen || tree.cut) return tree;
      if (next.size() > 1) break;
      at = std::move(next.front());
    }
    for (Version& branch_start : next) {
      if (budget_ == 0) {
        tree.cut = true;
        break;
      }
      KVS_ASSIGN_OR_RETURN(HistoryTree branch, Walk(std::move(branch_start)));
      tree.branches.push_back(std::move(branch));
    }
    return tree;
  }

 private:
  // Parents (in the order the version names them) or children (by id).
  Result<std::vector<Version>> Next(const Version& v) {
    if (direction_ == WalkDirection::kFuture) return store_.Children(v.id);
    std::vector<Version> parents;
    for (const VersionId& id : v.parents) {
      KVS_ASSIGN_OR_RETURN(Version parent, store_.GetVersion(id, false));
      parents.push_back(std::move(parent));
    }
    return parents;
  }

  Store& store_;
  WalkDirection direction_;
  size_t budget_;
  std::unordered_set<VersionId, IdHasher> visited_;
};

void Draw(const HistoryTree& tree, size_t depth, std::string* out) {
  std::string indent(depth, ' ');
  for (size_t i = 0; i < tree.run.size(); ++i) {
    const Version& v = tree.run[i];
    *out += indent + (i == 0 ? "+- " : "|- ") + v.key + " :: " + v.id.Hex();
    if (tree.seen && i + 1 == tree.run.size()) *out += " (above)";
    *out += "\n";
  }
  for (const HistoryTree& branch : tree.branches) Draw(branch, depth + 1, out);
  if (tree.cut) *out += indent + "|- ...\n";
}

}  // namespace

Result<HistoryTree> WalkVersions(Store& store, const VersionId& from, WalkDirection direction,
                                 size_t max_versions) {
  KVS_ASSIGN_OR_RETURN(Version start, store.GetVersion(from, false));
  Walker walker(store, direction, std::max<size_t>(max_versions, 1));
  return walker.Walk(std::move(start));
}

std::string DrawHistoryTree(const HistoryTree& tree) {
  std::string out;
  Draw(tree, 0, &out);
  return out;
}

nlohmann::ordered_json HistoryTreeJson(const HistoryTree& tree) {
  nlohmann::ordered_json versions = nlohmann::ordered_json::array();
  for (const Version& v : tree.run) versions.push_back(VersionJson(v));
  nlohmann::ordered_json branches = nlohmann::ordered_json::array();
  for (const HistoryTree& branch : tree.branches) branches.push_back(HistoryTreeJson(branch));
  return {{"versions", std::move(versions)},
          {"branches", std::move(branches)},
          {"seen", tree.seen},
          {"cut", tree.cut}};
}

}  // namespace kvs::common
