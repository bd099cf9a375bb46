// branch_bench: what diffing and merging two branches costs as the store
// grows, measured next to SQLite doing the same with tables, in the same run.
//
// For each size N, branch dev is created from main holding N keys, then 5
// keys change on dev and 5 others on main, each its own transaction: 10 keys
// differ. kvs diffs the branches (Store::Diff), plans merging dev into main
// (merge::PlanBranchMerge: the 5 dev keys fast-forward, the 5 main keys are
// already up to date) and carries the plan out. Branches share their tree
// but for the keys that changed, so all three should cost the same at any N.
//
// SQLite has no branches. Its nearest equivalent is a table per branch plus
// one of the branch point (kv = main, kv_dev, kv_base, copied from kv), so a
// merge can tell which side changed a row. Its diff is store_bench's FULL
// JOIN; its merge is what an application would run: one INSERT OR REPLACE
// ... SELECT of the rows dev changed since the branch point and main did not
// (a row both changed is left alone, as kvs leaves a conflict under the
// reject function). Both statements read all N rows.
//
// Seeding is fast (kvs SyncMode::kNone, SQLite synchronous=OFF, 10k keys per
// transaction); what is measured runs durable (kSync, synchronous=FULL), so
// each merge pays one commit's sync. Each size repeats the divergence
// kRounds times on a fresh branch: the diff and plan figures are medians of
// kRounds * kRepeats calls, the merge figure the median of kRounds merges.
//
// Usage: branch_bench [--quick] [--dir DIR]
//   --quick  10k and 100k keys only (default: 10k, 100k and 1M)
//   --dir    parent of the scratch directory (default: $TMPDIR, else /tmp);
//            the scratch directory is removed at the end
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/harness.h"
#include "bench/sqlite_kv.h"
#include "bench/workload.h"
#include "kvs/store.h"
#include "merge/branch_merge.h"

namespace kvs::bench {
namespace {

constexpr size_t kSeedBatchKeys = 10'000;
// Keys changed on each side; 2 * kKeysPerSide keys differ.
constexpr size_t kKeysPerSide = 5;
constexpr int kRounds = 5;
constexpr int kRepeats = 3;
// Values written on the branches count from here, far above the seeded
// ones, so they differ from every value already stored (SQLite's diff
// compares values; kvs's compares versions).
constexpr uint64_t kBranchValueBase = uint64_t{1} << 60;
// The verdict "stayed flat": the largest size costs less than this many
// times the smallest (100 times fewer keys; 10 times with --quick).
constexpr double kFlatBound = 2.0;

// ---- The divergence -------------------------------------------------------------

using KeyValue = std::pair<std::string, std::string>;

// What one round writes on each side. The keys are spread over the whole
// key range, so each lands in a different part of the tree (the diff's
// worst case), and shifted by the round, so no round rewrites another's.
struct Divergence {
  std::vector<KeyValue> dev;
  std::vector<KeyValue> main;
};

Divergence MakeDivergence(size_t keys, int round) {
  Divergence d;
  const size_t spacing = keys / (2 * kKeysPerSide);
  for (size_t j = 0; j < kKeysPerSide; ++j) {
    uint64_t n = kBranchValueBase + round * 2 * kKeysPerSide + j;
    d.dev.emplace_back(Key(2 * j * spacing + round), MakeValue(n));
    d.main.emplace_back(Key((2 * j + 1) * spacing + round), MakeValue(n + kKeysPerSide));
  }
  return d;
}

// Figures of one size, in seconds; every call's time, medians taken later.
struct Times {
  std::vector<double> diff, plan, merge;
};

// ---- kvs ------------------------------------------------------------------------

double SeedKvs(const std::string& dir, size_t keys) {
  auto store = OpenStore(dir, SyncMode::kNone);
  return TimeOnce([&] {
    for (size_t first = 0; first < keys; first += kSeedBatchKeys) {
      WriteBatch batch;
      for (size_t i = first; i < std::min(keys, first + kSeedBatchKeys); ++i) {
        batch.Put(Key(i), MakeValue(i));
      }
      Must(store->Write(batch), "seeding kvs");
    }
  });
}

merge::BranchMergePlan PlanMerge(Store& store, const std::string& from) {
  return Must(
      merge::PlanBranchMerge(store, from, "main",
                             [](const std::string&) { return merge::MergeFunction::kReject; }),
      "PlanBranchMerge");
}

void CheckPlan(const merge::BranchMergePlan& plan) {
  bool all_fast_forward = true;
  for (const merge::KeyChange& change : plan.changes) {
    all_fast_forward &= change.outcome == merge::KeyMergePlan::Outcome::kFastForward;
  }
  if (plan.changes.size() != kKeysPerSide || !all_fast_forward || !plan.conflicts.empty() ||
      plan.up_to_date != kKeysPerSide) {
    Fail("PlanBranchMerge planned " + std::to_string(plan.changes.size()) + " changes, " +
         std::to_string(plan.conflicts.size()) + " conflicts, " + std::to_string(plan.up_to_date) +
         " up to date");
  }
}

void ExpectKvsValues(Store& store, const std::vector<KeyValue>& expected) {
  for (const auto& [key, value] : expected) {
    KeyState state = Must(store.Get("main", key), "Get after the merge");
    if (state.winner.value != value) Fail("after the merge, main has the wrong value of " + key);
  }
}

// Each write its own transaction.
void WriteEach(Store& store, const std::string& branch, const std::vector<KeyValue>& writes) {
  for (const auto& [key, value] : writes) {
    WriteBatch batch;
    batch.branch = branch;
    batch.Put(key, value);
    Must(store.Write(batch), "write on a branch");
  }
}

// One round: a fresh branch, the divergence, then the timed calls; leaves
// main merged and the branch deleted.
void KvsRound(Store& store, const Divergence& d, int round, Times* times) {
  const std::string dev = "dev" + std::to_string(round);
  Must(store.CreateBranch(dev, "main"), "CreateBranch");
  WriteEach(store, dev, d.dev);
  WriteEach(store, "main", d.main);
  for (int i = 0; i < kRepeats; ++i) {
    std::vector<DiffEntry> diff;
    times->diff.push_back(TimeOnce([&] {
      diff = Must(store.Diff("main", ReadPoint::Latest(), dev, ReadPoint::Latest()), "Diff");
    }));
    if (diff.size() != 2 * kKeysPerSide) {
      Fail("kvs Diff found " + std::to_string(diff.size()) + " keys");
    }
  }
  for (int i = 0; i < kRepeats; ++i) {
    merge::BranchMergePlan plan;
    times->plan.push_back(TimeOnce([&] { plan = PlanMerge(store, dev); }));
    CheckPlan(plan);
  }
  // The merge a caller runs: plan, then write the plan.
  merge::BranchMergePlan plan;
  times->merge.push_back(TimeOnce([&] {
    plan = PlanMerge(store, dev);
    Must(store.Write(plan.batch), "writing the merge");
  }));
  CheckPlan(plan);
  ExpectKvsValues(store, d.dev);
  ExpectKvsValues(store, d.main);
  Must(store.DeleteBranch(dev), "DeleteBranch");
}

// ---- SQLite ---------------------------------------------------------------------

double SeedSqlite(const std::string& path, size_t keys) {
  SqliteKv db(path, SqliteSync::kOff);
  return TimeOnce([&] {
    for (size_t first = 0; first < keys; first += kSeedBatchKeys) {
      db.Exec("BEGIN");
      for (size_t i = first; i < std::min(keys, first + kSeedBatchKeys); ++i) {
        if (!db.Put(Key(i), MakeValue(i))) Fail("seeding SQLite failed");
      }
      db.Exec("COMMIT");
    }
  });
}

// Each write its own transaction, as on kvs.
void UpdateDev(SqliteKv& db, const std::vector<KeyValue>& writes) {
  sqlite3_stmt* update = db.Prepare("UPDATE kv_dev SET v = ?1 WHERE k = ?2");
  for (const auto& [key, value] : writes) {
    sqlite3_bind_blob(update, 1, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    sqlite3_bind_text(update, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    if (sqlite3_step(update) != SQLITE_DONE) Fail("SQLite update of kv_dev failed");
    sqlite3_reset(update);
  }
  sqlite3_finalize(update);
}

void ExpectSqliteValues(SqliteKv& db, const std::vector<KeyValue>& expected) {
  std::string value;
  for (const auto& [key, want] : expected) {
    if (!db.Get(key, &value) || value != want) {
      Fail("after the SQLite merge, kv has the wrong value of " + key);
    }
  }
}

// The same round as KvsRound; "creating the branch" copies the table twice
// (dev and the branch point), untimed.
void SqliteRound(SqliteKv& db, const Divergence& d, Times* times) {
  db.Exec(
      "BEGIN; DROP TABLE IF EXISTS kv_dev; DROP TABLE IF EXISTS kv_base; "
      "CREATE TABLE kv_dev(k TEXT PRIMARY KEY, v BLOB); INSERT INTO kv_dev SELECT k, v FROM kv; "
      "CREATE TABLE kv_base(k TEXT PRIMARY KEY, v BLOB); INSERT INTO kv_base SELECT k, v FROM kv; "
      "COMMIT");
  UpdateDev(db, d.dev);
  for (const auto& [key, value] : d.main) {
    if (!db.Put(key, value)) Fail("SQLite update of kv failed");
  }
  sqlite3_stmt* diff = db.Prepare(
      "SELECT coalesce(a.k, b.k) FROM kv AS a FULL JOIN kv_dev AS b ON a.k = b.k "
      "WHERE a.v IS NOT b.v");
  for (int i = 0; i < kRepeats; ++i) {
    size_t rows = 0;
    times->diff.push_back(TimeOnce([&] {
      while (sqlite3_step(diff) == SQLITE_ROW) ++rows;
    }));
    sqlite3_reset(diff);
    if (rows != 2 * kKeysPerSide) Fail("SQLite diff found " + std::to_string(rows) + " keys");
  }
  sqlite3_finalize(diff);
  times->merge.push_back(TimeOnce([&] {
    db.Exec(
        "BEGIN; INSERT OR REPLACE INTO kv(k, v) SELECT d.k, d.v FROM kv_dev AS d "
        "LEFT JOIN kv_base AS b ON b.k = d.k LEFT JOIN kv AS m ON m.k = d.k "
        "WHERE d.v IS NOT b.v AND m.v IS b.v; COMMIT");
  }));
  ExpectSqliteValues(db, d.dev);
  ExpectSqliteValues(db, d.main);
}

// ---- One size -------------------------------------------------------------------

// Median milliseconds of one size, both engines.
struct SizeFigures {
  size_t keys = 0;
  double kvs_diff = 0, kvs_plan = 0, kvs_merge = 0;
  double sqlite_diff = 0, sqlite_merge = 0;
};

SizeFigures MeasureSize(const std::string& root, size_t keys, Report* report) {
  const std::string label = CountLabel(keys);
  const std::string kvs_dir = root + "/kvs-" + label,
                    sqlite_path = root + "/sqlite-" + label + ".db";
  report->Progress("seeding " + label + " keys");
  double kvs_seed = SeedKvs(kvs_dir, keys);
  double sqlite_seed = SeedSqlite(sqlite_path, keys);
  char line[200];
  std::snprintf(line, sizeof(line), "seeding %s keys: kvs %.1f s, SQLite %.1f s", label.c_str(),
                kvs_seed, sqlite_seed);
  report->Header(line);

  Times kvs, sqlite;
  {
    auto store = OpenStore(kvs_dir, SyncMode::kSync);
    for (int round = 0; round < kRounds; ++round) {
      report->Progress("kvs round " + std::to_string(round + 1) + ", " + label + " keys");
      KvsRound(*store, MakeDivergence(keys, round), round, &kvs);
    }
  }
  {
    SqliteKv db(sqlite_path, SqliteSync::kFull);
    for (int round = 0; round < kRounds; ++round) {
      report->Progress("SQLite round " + std::to_string(round + 1) + ", " + label + " keys");
      SqliteRound(db, MakeDivergence(keys, round), &sqlite);
    }
  }
  SizeFigures f{keys,
                Median(kvs.diff) * 1e3,
                Median(kvs.plan) * 1e3,
                Median(kvs.merge) * 1e3,
                Median(sqlite.diff) * 1e3,
                Median(sqlite.merge) * 1e3};
  report->Add("diff, 10 of " + label + " keys differ (ms; SQLite: FULL JOIN)", f.kvs_diff,
              f.sqlite_diff, Better::kLower);
  report->Add("plan merge, " + label + " keys (ms; kvs only)", f.kvs_plan, std::nullopt,
              Better::kLower);
  report->Add("merge = plan + write, " + label + " keys (ms; SQLite: INSERT OR REPLACE)",
              f.kvs_merge, f.sqlite_merge, Better::kLower);
  return f;
}

// ---- The summary ----------------------------------------------------------------

// The figures again, one line per size, as the issue asked for them.
void NoteSummary(const std::vector<SizeFigures>& sizes, Report* report) {
  char line[300];
  std::snprintf(line, sizeof(line), "%6s  %9s  %9s  %9s  %11s  %12s  %10s  %11s", "keys",
                "kvs diff", "kvs plan", "kvs merge", "SQLite diff", "SQLite merge", "diff ratio",
                "merge ratio");
  report->Note(line);
  for (const SizeFigures& f : sizes) {
    std::snprintf(line, sizeof(line), "%6s  %9.3f  %9.3f  %9.3f  %11.3f  %12.3f  %9.3gx  %10.3gx",
                  CountLabel(f.keys).c_str(), f.kvs_diff, f.kvs_plan, f.kvs_merge, f.sqlite_diff,
                  f.sqlite_merge, f.kvs_diff / f.sqlite_diff, f.kvs_merge / f.sqlite_merge);
    report->Note(line);
  }
  report->Note("(ms, medians; ratio = kvs / SQLite)");
}

// Whether kvs's diff and merge cost the same at the largest size as at the
// smallest, with SQLite's growth over the same range beside it.
void NoteFlatness(const SizeFigures& small, const SizeFigures& big, Report* report) {
  const std::string range = CountLabel(big.keys) + " / at " + CountLabel(small.keys);
  double diff_growth = big.kvs_diff / small.kvs_diff;
  double merge_growth = big.kvs_merge / small.kvs_merge;
  report->Add("diff time at " + range + " (x)", diff_growth, big.sqlite_diff / small.sqlite_diff,
              Better::kLower);
  report->Add("merge time at " + range + " (x)", merge_growth,
              big.sqlite_merge / small.sqlite_merge, Better::kLower);
  bool flat = diff_growth < kFlatBound && merge_growth < kFlatBound;
  char line[300];
  std::snprintf(line, sizeof(line),
                "kvs stayed flat: %s (from %s to %s keys: diff %.2fx, merge %.2fx; "
                "flat means under %.0fx)",
                flat ? "yes" : "NO", CountLabel(small.keys).c_str(), CountLabel(big.keys).c_str(),
                diff_growth, merge_growth, kFlatBound);
  report->Note(line);
}

// ---- Many branches through a compaction ---------------------------------------

// kManyBranches branches of main, each with one key changed. Their
// copy-on-write trees share all but a path each, and so must the trees a
// compaction rebuilds for each (store/tree_builder.h, WrittenNodes). SQLite's
// branches are tables, each a whole copy; its compaction is VACUUM.
constexpr int kManyBranches = 20;

void MeasureManyBranches(const std::string& root, size_t keys, Report* report) {
  const std::string label = CountLabel(keys);
  const std::string kvs_dir = root + "/kvs-" + label,
                    sqlite_path = root + "/sqlite-" + label + ".db";
  report->Progress(std::to_string(kManyBranches) + " branches through a compaction");
  const std::string what =
      std::to_string(kManyBranches) + " branches of " + label + " keys, one key changed on each";
  std::vector<double> kvs_diff;
  uint64_t kvs_alone = 0, kvs_before = 0, kvs_after = 0;
  {
    auto store = OpenStore(kvs_dir, SyncMode::kSync);
    Must(store->Compact(CompactOptions{}), "Compact");
    kvs_alone = DiskBytes(kvs_dir);
    for (int b = 0; b < kManyBranches; ++b) {
      const std::string branch = "many" + std::to_string(b);
      Must(store->CreateBranch(branch, "main"), "CreateBranch");
      WriteEach(*store, branch, {{Key(b * keys / kManyBranches), MakeValue(kBranchValueBase + b)}});
    }
    Must(store->Checkpoint(), "Checkpoint");
    kvs_before = DiskBytes(kvs_dir);
    Must(store->Compact(CompactOptions{}), "Compact");
    kvs_after = DiskBytes(kvs_dir);
    for (int i = 0; i < kRepeats; ++i) {
      std::vector<DiffEntry> diff;
      kvs_diff.push_back(TimeOnce([&] {
        diff =
            Must(store->Diff("many0", ReadPoint::Latest(), "many1", ReadPoint::Latest()), "Diff");
      }));
      if (diff.size() != 2) Fail("kvs Diff of two branches found " + std::to_string(diff.size()));
    }
  }
  std::vector<double> sqlite_diff;
  uint64_t sqlite_before = 0, sqlite_after = 0;
  {
    SqliteKv db(sqlite_path, SqliteSync::kFull);
    for (int b = 0; b < kManyBranches; ++b) {
      const std::string table = "kv_many" + std::to_string(b);
      db.Exec("CREATE TABLE " + table + "(k TEXT PRIMARY KEY, v BLOB); INSERT INTO " + table +
              " SELECT k, v FROM kv; UPDATE " + table + " SET v = x'00' WHERE k = '" +
              Key(b * keys / kManyBranches) + "'");
    }
    sqlite_before = SqliteBytes(sqlite_path);
    db.Exec("PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite_after = SqliteBytes(sqlite_path);
    sqlite3_stmt* diff = db.Prepare(
        "SELECT coalesce(a.k, b.k) FROM kv_many0 AS a FULL JOIN kv_many1 AS b ON a.k = b.k "
        "WHERE a.v IS NOT b.v");
    for (int i = 0; i < kRepeats; ++i) {
      size_t rows = 0;
      sqlite_diff.push_back(TimeOnce([&] {
        while (sqlite3_step(diff) == SQLITE_ROW) ++rows;
      }));
      sqlite3_reset(diff);
      if (rows != 2) Fail("SQLite diff of two branches found " + std::to_string(rows) + " keys");
    }
    sqlite3_finalize(diff);
  }
  report->Add("disk MB, " + what + " (SQLite: a table each)", kvs_before / 1e6, sqlite_before / 1e6,
              Better::kLower);
  report->Add("  ... after Compact (SQLite: VACUUM)", kvs_after / 1e6, sqlite_after / 1e6,
              Better::kLower);
  report->Add("  ... diff of two of them after Compact (ms; SQLite: FULL JOIN)",
              Median(kvs_diff) * 1e3, Median(sqlite_diff) * 1e3, Better::kLower);
  char line[200];
  std::snprintf(line, sizeof(line),
                "%d branches through a compaction: main alone took %.1f MB compacted, before "
                "the branches were made",
                kManyBranches, kvs_alone / 1e6);
  report->Note(line);
}

// ---- Main -----------------------------------------------------------------------

void Run(const Args& args) {
  std::vector<size_t> key_counts = {10'000, 100'000};
  if (!args.quick) key_counts.push_back(1'000'000);
  const std::string root = MakeScratchDir(args.parent);
  Report report;
  report.Progress(std::string(args.quick ? "quick" : "full") + " run in " + root);
  report.Header(
      "seeded fast: kvs SyncMode::kNone, SQLite synchronous=OFF, 10k keys per transaction; "
      "measured durable: kvs SyncMode::kSync, SQLite WAL + synchronous=FULL");

  std::vector<SizeFigures> sizes;
  for (size_t keys : key_counts) sizes.push_back(MeasureSize(root, keys, &report));
  MeasureManyBranches(root, 100'000, &report);
  NoteFlatness(sizes.front(), sizes.back(), &report);
  NoteSummary(sizes, &report);
  report.Note("each size: " + std::to_string(kRounds) +
              " rounds on a fresh branch; diff and plan: " + std::to_string(kRepeats) +
              " calls per round; merge: one per round.");
  report.Note(
      "SQLite branches are tables (kv, kv_dev, kv_base = the branch point); its merge copies "
      "the rows dev changed and main did not. Page cache warm for every figure.");
  report.Print();
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace kvs::bench

int main(int argc, char** argv) {
  kvs::bench::Run(kvs::bench::ParseArgs(argc, argv));
  return 0;
}
