// Branches and commits, as the server's /_branches, /_log, /_diff, /_merge
// and /_reset have them: branch list, branch create, branch delete, log,
// diff, merge, reset. Each prints plain lines, one fact per line, so that
// scripts can cut them apart; commit ids are always whole (64 hex digits),
// as reset and diff take them.
#include <algorithm>
#include <limits>
#include <utility>

#include "cli/commands.h"
#include "cli/io.h"
#include "common/commit_log.h"
#include "common/time.h"
#include "merge/branch_merge.h"

namespace kvs::cli {
namespace {

// A merge plans again when INTO moved between planning and writing (the
// write's compare-and-set fails); this many times, then it gives up.
constexpr int kMergeAttempts = 5;

std::string CommitOrDash(const CommitId& id) { return id.IsZero() ? "-" : id.Hex(); }

std::string Padded(std::string text, size_t width) {
  text.resize(std::max(text.size(), width), ' ');
  return text;
}

// "NAME  rREVISION  COMMIT" per branch, the columns aligned across them.
std::vector<std::string> BranchLines(const std::vector<BranchInfo>& branches) {
  size_t name_width = 0;
  size_t revision_width = 0;
  for (const BranchInfo& b : branches) {
    name_width = std::max(name_width, b.name.size());
    revision_width = std::max(revision_width, 1 + std::to_string(b.head_revision).size());
  }
  std::vector<std::string> lines;
  for (const BranchInfo& b : branches) {
    lines.push_back(Padded(b.name, name_width) + "  " +
                    Padded("r" + std::to_string(b.head_revision), revision_width) + "  " +
                    CommitOrDash(b.head_commit));
  }
  return lines;
}

// The branch and read point an operand of diff stands for: a branch at its
// head, or a commit's branch as of that commit.
Result<std::pair<std::string, ReadPoint>> ResolveSide(Store& store, const BranchOrCommit& side) {
  if (!side.commit) return std::pair(side.branch, ReadPoint::Latest());
  KVS_ASSIGN_OR_RETURN(CommitInfo commit, store.GetCommit(*side.commit));
  return std::pair(commit.branch, ReadPoint::AtCommit(*side.commit));
}

void PrintCommit(const CommitInfo& commit) {
  PrintLine("commit " + commit.id.Hex() + "  r" + std::to_string(commit.revision) + "  " +
            commit.branch + "  " + common::FormatRfc3339(commit.time_ns));
  for (const CommitId& parent : commit.parents) PrintLine("  parent " + parent.Hex());
  for (const std::string& key : commit.keys) PrintLine("  key " + LineSafeKey(key));
}

// The plan's lines, the same for a merge and its dry run.
void PrintMergePlan(const merge::BranchMergePlan& plan) {
  for (const merge::KeyChange& change : plan.changes) {
    PrintLine(std::string(merge::KeyMergeOutcomeName(change.outcome)) + " " +
              LineSafeKey(change.key));
  }
  for (const merge::KeyConflict& conflict : plan.conflicts) {
    PrintLine("conflict " + LineSafeKey(conflict.key) + ": " + conflict.reason);
  }
}

Status MergeConflict(const Invocation& inv, const std::vector<merge::KeyConflict>& conflicts) {
  std::string keys;
  for (const merge::KeyConflict& c : conflicts) keys += (keys.empty() ? "'" : ", '") + c.key + "'";
  return Status::Conflict("merging '" + *inv.from + "' into '" + inv.branch +
                          "': " + std::to_string(conflicts.size()) +
                          (conflicts.size() == 1 ? " key" : " keys") + " cannot be merged (" +
                          keys + "); nothing was written");
}

}  // namespace

Status BranchList(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(std::vector<BranchInfo> branches, store->ListBranches());
  std::sort(branches.begin(), branches.end(),
            [](const BranchInfo& a, const BranchInfo& b) { return a.name < b.name; });
  for (const std::string& line : BranchLines(branches)) PrintLine(line);
  return Status::OK();
}

// The store reads `from` as of a commit's revision, whichever branch made
// the commit; so a commit picks its own branch, and naming another --from
// is refused rather than silently reading that branch at that revision.
Status BranchCreate(const Invocation& inv) {
  KVS_RETURN_IF_ERROR(CheckNewBranchName(inv.branch));
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  std::string from = inv.from.value_or("main");
  if (inv.at.kind == ReadPoint::Kind::kCommit) {
    KVS_ASSIGN_OR_RETURN(CommitInfo commit, store->GetCommit(inv.at.commit));
    if (inv.from && *inv.from != commit.branch) {
      return Status::InvalidArgument("commit " + commit.id.Hex() + " was made on branch '" +
                                     commit.branch + "', not '" + *inv.from +
                                     "': leave --from out, or name --from " + commit.branch);
    }
    from = commit.branch;
  }
  KVS_ASSIGN_OR_RETURN(BranchInfo created, store->CreateBranch(inv.branch, from, inv.at));
  PrintLine(BranchLines({created}).front());
  return Status::OK();
}

Status BranchDelete(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(BranchInfo doomed, store->GetBranch(inv.branch));
  KVS_RETURN_IF_ERROR(store->DeleteBranch(inv.branch));
  PrintLine("deleted " + BranchLines({doomed}).front());
  return Status::OK();
}

Status Log(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(BranchInfo branch, store->GetBranch(inv.branch));
  KVS_ASSIGN_OR_RETURN(common::CommitLogPage log,
                       common::WalkCommits(*store, {branch.head_commit},
                                           inv.limit.value_or(std::numeric_limits<size_t>::max())));
  for (const CommitInfo& commit : log.commits) PrintCommit(commit);
  return Status::OK();
}

Status Diff(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(auto from, ResolveSide(*store, inv.sides[0]));
  KVS_ASSIGN_OR_RETURN(auto to, ResolveSide(*store, inv.sides[1]));
  KVS_ASSIGN_OR_RETURN(std::vector<DiffEntry> diff,
                       store->Diff(from.first, from.second, to.first, to.second));
  for (const DiffEntry& entry : diff) {
    switch (entry.kind) {
      case DiffEntry::Kind::kAdded:
        PrintLine("+ " + LineSafeKey(entry.key));
        break;
      case DiffEntry::Kind::kRemoved:
        PrintLine("- " + LineSafeKey(entry.key));
        break;
      case DiffEntry::Kind::kModified:
        PrintLine("M " + LineSafeKey(entry.key));
        break;
    }
  }
  return Status::OK();
}

// A key both sides changed goes to --strategy, else to the merge: rule of
// the server config in -d DIR (kvs.yaml) for its pattern, else conflicts
// (reject), as with POST /_merge. The plan is printed only once it is
// final: after the write, or when nothing is to be written.
Status Merge(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::optional<config::Config> server, ServerConfig(inv));
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  // As POST /_merge: --strategy, else the server config's rule for the key's
  // pattern, else reject.
  const std::vector<merge::MergeRule> rules =
      server ? server->merge_rules : std::vector<merge::MergeRule>();
  auto function_for = [&inv, &rules](const std::string& key) {
    return inv.strategy ? *inv.strategy : merge::FunctionFor(key, {&rules});
  };
  for (int attempt = 0; attempt < kMergeAttempts; ++attempt) {
    KVS_ASSIGN_OR_RETURN(merge::BranchMergePlan plan,
                         merge::PlanBranchMerge(*store, *inv.from, inv.branch, function_for));
    if (inv.dry_run || !plan.conflicts.empty() || plan.batch.writes.empty()) {
      PrintMergePlan(plan);
      if (inv.dry_run) {
        PrintLine("dry run: nothing written");
        return Status::OK();
      }
      if (!plan.conflicts.empty()) return MergeConflict(inv, plan.conflicts);
      PrintLine("nothing to merge");
      return Status::OK();
    }
    Result<WriteResult> written = store->Write(plan.batch);
    if (written.status().IsConflict()) continue;  // INTO moved meanwhile: plan again
    if (!written.ok()) return written.status();
    PrintMergePlan(plan);
    PrintLine("commit " + written->commit.Hex());
    return Status::OK();
  }
  return Status::Conflict("branch '" + inv.branch + "' kept changing while merging '" + *inv.from +
                          "' into it; nothing was written, try again");
}

// The previous head is the new commit's parent, read after the reset, so
// that a writer landing just before it cannot make the undo hint wrong.
Status Reset(const Invocation& inv) {
  KVS_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(inv));
  KVS_ASSIGN_OR_RETURN(WriteResult reset, store->ResetBranch(inv.branch, inv.commit));
  CommitId previous;
  if (reset.commit.IsZero()) {  // the branch held that state already: no commit
    KVS_ASSIGN_OR_RETURN(BranchInfo branch, store->GetBranch(inv.branch));
    previous = branch.head_commit;
  } else {
    KVS_ASSIGN_OR_RETURN(CommitInfo commit, store->GetCommit(reset.commit));
    if (!commit.parents.empty()) previous = commit.parents.front();
  }
  PrintLine("commit " + CommitOrDash(reset.commit));
  PrintLine("previous " + CommitOrDash(previous));
  return Status::OK();
}

}  // namespace kvs::cli
