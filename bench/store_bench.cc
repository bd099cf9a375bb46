// store_bench: the kvs store engine measured next to SQLite, in the same run
// and on the same disk, so every figure is read against a reference whose
// behaviour people already know.
//
// SQLite plays by the same rules: one table kv(k TEXT PRIMARY KEY, v BLOB)
// in WAL mode, synchronous=FULL wherever kvs runs SyncMode::kSync, each put
// its own transaction, one connection per thread (bench/sqlite_kv.h). Data
// sets are loaded the fast way (5,000 keys per transaction, kvs with kNone)
// and then measured the slow way. Where SQLite has no such operation
// (branches, history) it runs the nearest SQL equivalent, named in the
// metric. Durable figures mean little without the disk under them, so the
// run starts by timing a bare append + fdatasync loop.
//
// Usage: store_bench [--quick] [--dir DIR]
//   --quick  about a minute, at 100k keys instead of 1M (default: ~10 minutes)
//   --dir    parent of the scratch directory (default: $TMPDIR, else /tmp);
//            the scratch directory is removed at the end
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/counting_env.h"
#include "bench/harness.h"
#include "bench/sqlite_kv.h"
#include "bench/workload.h"
#include "config/config.h"
#include "kvs/store.h"

namespace kvs::bench {
namespace {

constexpr size_t kLoadBatchKeys = 5000;
constexpr int kManyThreads = 8;
constexpr size_t kDiffKeys = 100;
// Values written on the diff branch count from here, far above any other
// counter, so they differ from every value already stored (SQLite's diff
// compares values; kvs's compares versions).
constexpr uint64_t kBranchValueBase = uint64_t{1} << 60;

// How big and how long. Every loop stops at its count or its time bound,
// whichever comes first.
struct Scale {
  size_t big_keys;           // the "1M keys" data set
  size_t small_keys;         // the "10k keys" data set
  size_t tiny_keys;          // the baseline of the get cost ratio
  double rate_seconds;       // one throughput measurement
  uint64_t max_rate_ops;     // ... and its bound in operations
  double load_seconds;       // loading one data set into kvs
  size_t history_revisions;  // revisions of the one key whose history is read
  size_t churn_writes;       // writes of the bytes-per-write phase
  size_t churn_keys;         // ... spread over this many keys
  size_t self_writes;        // writes of the phase that compacts by itself
  double write_loop_seconds;
  int fsync_rounds;
  int open_rounds;
};

constexpr Scale kFullScale{.big_keys = 1'000'000,
                           .small_keys = 10'000,
                           .tiny_keys = 1'000,
                           .rate_seconds = 4,
                           .max_rate_ops = 5'000'000,
                           .load_seconds = 240,
                           .history_revisions = 100'000,
                           .churn_writes = 100'000,
                           .churn_keys = 10'000,
                           .self_writes = 300'000,
                           .write_loop_seconds = 90,
                           .fsync_rounds = 300,
                           .open_rounds = 5};

constexpr Scale kQuickScale{.big_keys = 100'000,
                            .small_keys = 10'000,
                            .tiny_keys = 1'000,
                            .rate_seconds = 0.7,
                            .max_rate_ops = 1'000'000,
                            .load_seconds = 30,
                            .history_revisions = 10'000,
                            .churn_writes = 10'000,
                            .churn_keys = 10'000,
                            .self_writes = 100'000,
                            .write_loop_seconds = 15,
                            .fsync_rounds = 100,
                            .open_rounds = 3};

std::string ThreadLabel(int threads) {
  return std::to_string(threads) + (threads == 1 ? " thread" : " threads");
}

std::optional<double> PerUnit(double total, uint64_t units) {
  if (units == 0) return std::nullopt;
  return total / static_cast<double>(units);
}

// Bytes this process has handed to write(2) so far (the kernel's wchar):
// one meter that reads both engines the same way.
uint64_t BytesWritten() {
  std::ifstream io("/proc/self/io");
  std::string name;
  uint64_t value = 0;
  while (io >> name >> value) {
    if (name == "wchar:") return value;
  }
  return 0;
}

void NoteFailures(const std::string& what, const Rate& rate, Report* report) {
  if (rate.failed == 0) return;
  report->Note(what + ": " + std::to_string(rate.failed) + " operations failed (not counted)");
}

// ---- The disk -------------------------------------------------------------------

// Appends 100 bytes and fdatasyncs, `rounds` times: the least one durable
// commit can cost here. Appending (not overwriting) makes the file system
// log the new size too, as a kvs commit does.
void MeasureFsync(const std::string& dir, int rounds, const char* when, Report* report) {
  std::string path = dir + "/fsync_probe";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Fail("cannot create " + path);
  std::string bytes(kValueBytes, 'f');
  std::vector<double> micros;
  for (int i = 0; i < rounds; ++i) {
    Clock::time_point start = Clock::now();
    if (write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) ||
        fdatasync(fd) != 0) {
      Fail("the fdatasync probe failed");
    }
    micros.push_back(SecondsSince(start) * 1e6);
  }
  close(fd);
  unlink(path.c_str());
  std::sort(micros.begin(), micros.end());
  char line[300];
  std::snprintf(line, sizeof(line),
                "disk at %s of run: append 100 B + fdatasync: median %.0f us, p99 %.0f us "
                "(%d rounds); load average %s",
                when, micros[micros.size() / 2], micros[micros.size() * 99 / 100], rounds,
                LoadAverage().c_str());
  report->Header(line);
  report->Progress(line);
}

// ---- Data sets ------------------------------------------------------------------

// Keys Key(0) .. Key(keys - 1), 100-byte values, loaded into both engines.
struct DataSet {
  size_t keys = 0;
  std::string label;  // "10k keys"
  std::string kvs_dir;
  std::string sqlite_path;
};

// A bulk load: transactions of kLoadBatchKeys, not synced (what is measured
// comes later). Stops at the time bound; returns the keys loaded.
size_t LoadKvs(const std::string& dir, size_t keys, double seconds) {
  auto store = OpenStore(dir, SyncMode::kNone);
  Clock::time_point start = Clock::now();
  size_t loaded = 0;
  while (loaded < keys && SecondsSince(start) < seconds) {
    WriteBatch batch;
    size_t end = std::min(keys, loaded + kLoadBatchKeys);
    for (size_t i = loaded; i < end; ++i) batch.Put(Key(i), MakeValue(i));
    Must(store->Write(batch), "loading kvs");
    loaded = end;
  }
  return loaded;
}

void LoadSqlite(const std::string& path, size_t keys) {
  SqliteKv db(path, SqliteSync::kFull);
  for (size_t first = 0; first < keys; first += kLoadBatchKeys) {
    db.Exec("BEGIN");
    for (size_t i = first; i < std::min(keys, first + kLoadBatchKeys); ++i) {
      if (!db.Put(Key(i), MakeValue(i))) Fail("loading SQLite failed");
    }
    db.Exec("COMMIT");
  }
}

DataSet BuildDataSet(const std::string& root, size_t wanted, const Scale& s, Report* report) {
  std::string name = CountLabel(wanted);
  DataSet d;
  d.kvs_dir = root + "/kvs-" + name;
  d.sqlite_path = root + "/sqlite-" + name + ".db";
  report->Progress("loading " + name + " keys");
  double kvs_seconds = TimeOnce([&] { d.keys = LoadKvs(d.kvs_dir, wanted, s.load_seconds); });
  double sqlite_seconds = TimeOnce([&] { LoadSqlite(d.sqlite_path, d.keys); });
  d.label = CountLabel(d.keys) + " keys";
  if (d.keys < wanted) {
    report->Note("loading " + name + " keys into kvs hit its time bound; the data set has " +
                 std::to_string(d.keys));
  }
  report->Add("load " + d.label + ", 5000 per transaction (s)", kvs_seconds, sqlite_seconds,
              Better::kLower);
  report->Add("disk bytes per key after loading " + d.label, PerUnit(DiskBytes(d.kvs_dir), d.keys),
              PerUnit(SqliteBytes(d.sqlite_path), d.keys), Better::kLower);
  return d;
}

// ---- Throughput -----------------------------------------------------------------

std::vector<Op> KvsPutOps(Store* store, size_t keys, int threads) {
  std::vector<Op> ops;
  for (int t = 0; t < threads; ++t) {
    ops.push_back([store, keys, rng = std::mt19937_64(t + 1), n = uint64_t{0}]() mutable {
      WriteBatch batch;
      batch.Put(Key(rng() % keys), MakeValue(++n));
      return store->Write(batch).ok();
    });
  }
  return ops;
}

std::vector<Op> SqlitePutOps(const std::string& path, size_t keys, int threads) {
  std::vector<Op> ops;
  for (int t = 0; t < threads; ++t) {
    auto db = std::make_shared<SqliteKv>(path, SqliteSync::kFull);
    ops.push_back([db, keys, rng = std::mt19937_64(t + 1), n = uint64_t{0}]() mutable {
      return db->Put(Key(rng() % keys), MakeValue(++n));
    });
  }
  return ops;
}

std::vector<Op> KvsGetOps(Store* store, size_t keys, int threads) {
  std::vector<Op> ops;
  for (int t = 0; t < threads; ++t) {
    ops.push_back([store, keys, rng = std::mt19937_64(t + 100)]() mutable {
      return store->Get("main", Key(rng() % keys)).ok();
    });
  }
  return ops;
}

std::vector<Op> SqliteGetOps(const std::string& path, size_t keys, int threads) {
  std::vector<Op> ops;
  for (int t = 0; t < threads; ++t) {
    auto db = std::make_shared<SqliteKv>(path, SqliteSync::kFull);
    ops.push_back([db, keys, rng = std::mt19937_64(t + 100), value = std::string()]() mutable {
      return db->Get(Key(rng() % keys), &value);
    });
  }
  return ops;
}

// Durable single-key puts to random existing keys. Also what each put cost
// in bytes written and, for kvs, how many puts shared one fdatasync (the
// group commit at work).
void MeasurePuts(const DataSet& d, const Scale& s, Report* report) {
  CountingEnv env;
  auto store = OpenStore(d.kvs_dir, SyncMode::kSync, &env);
  for (int threads : {1, kManyThreads}) {
    std::string suffix = ThreadLabel(threads) + ", " + d.label;
    report->Progress("durable puts, " + suffix);
    std::vector<Op> kvs_ops = KvsPutOps(store.get(), d.keys, threads);
    uint64_t syncs = env.syncs(), bytes = BytesWritten();
    const uint64_t data_bytes = Must(store->DataBytes(), "DataBytes");
    Rate k = RunRate(kvs_ops, s.rate_seconds, s.max_rate_ops);
    uint64_t kvs_bytes = BytesWritten() - bytes;
    const uint64_t kvs_data_bytes = Must(store->DataBytes(), "DataBytes") - data_bytes;
    syncs = env.syncs() - syncs;

    std::vector<Op> sqlite_ops = SqlitePutOps(d.sqlite_path, d.keys, threads);
    bytes = BytesWritten();
    Rate q = RunRate(sqlite_ops, s.rate_seconds, s.max_rate_ops);
    uint64_t sqlite_bytes = BytesWritten() - bytes;

    report->Add("durable puts/s, " + suffix, k.PerSecond(), q.PerSecond(), Better::kHigher);
    report->Add("bytes written per durable put, " + suffix, PerUnit(kvs_bytes, k.ok),
                PerUnit(sqlite_bytes, q.ok), Better::kLower);
    // The rest are the zeros kept written ahead of the file's end, which
    // each byte of the file gets once before its data (docs/benchmarks.md).
    report->Add("  ... of which kvs's blocks", PerUnit(kvs_data_bytes, k.ok), std::nullopt,
                Better::kLower);
    report->Add("kvs puts per fdatasync, " + suffix, PerUnit(k.ok, syncs), std::nullopt,
                Better::kHigher);
    NoteFailures("kvs puts, " + suffix, k, report);
    NoteFailures("SQLite puts, " + suffix, q, report);
  }
}

// Single-thread gets/s of both engines, kept for the cost ratio.
struct GetRates {
  double kvs = 0;
  double sqlite = 0;
};

// Gets of random existing keys: kvs Store::Get against a prepared SELECT.
GetRates MeasureGets(const DataSet& d, const std::vector<int>& thread_counts, const Scale& s,
                     Report* report) {
  auto store = OpenStore(d.kvs_dir, SyncMode::kSync);
  GetRates single;
  for (int threads : thread_counts) {
    std::string suffix = ThreadLabel(threads) + ", " + d.label;
    report->Progress("gets, " + suffix);
    std::vector<Op> kvs_ops = KvsGetOps(store.get(), d.keys, threads);
    Rate k = RunRate(kvs_ops, s.rate_seconds, s.max_rate_ops);
    std::vector<Op> sqlite_ops = SqliteGetOps(d.sqlite_path, d.keys, threads);
    Rate q = RunRate(sqlite_ops, s.rate_seconds, s.max_rate_ops);
    if (threads == 1) single = {k.PerSecond(), q.PerSecond()};
    report->Add("gets/s, " + suffix, k.PerSecond(), q.PerSecond(), Better::kHigher);
    NoteFailures("kvs gets, " + suffix, k, report);
    NoteFailures("SQLite gets, " + suffix, q, report);
  }
  return single;
}

// ---- Branches -------------------------------------------------------------------

// kvs: CreateBranch shares the source's tree, so it should cost the same at
// any size. SQLite has no branches; its nearest equivalent, copying the
// table, is O(n). Leaves branch "b" (table kv_b) for MeasureDiff.
void MeasureBranch(const DataSet& d, Report* report) {
  report->Progress("branch creation, " + d.label);
  double kvs_seconds;
  {
    auto store = OpenStore(d.kvs_dir, SyncMode::kSync);
    kvs_seconds = TimeOnce([&] { Must(store->CreateBranch("b", "main"), "CreateBranch"); });
  }
  SqliteKv db(d.sqlite_path, SqliteSync::kFull);
  double sqlite_seconds = TimeOnce([&] {
    db.Exec(
        "BEGIN; CREATE TABLE kv_b(k TEXT PRIMARY KEY, v BLOB); "
        "INSERT INTO kv_b SELECT k, v FROM kv; COMMIT");
  });
  report->Add("create branch at " + d.label + " (ms; SQLite: copy table)", kvs_seconds * 1e3,
              sqlite_seconds * 1e3, Better::kLower);
}

// The keys changed on branch b, spread over the whole key range so each
// lands in a different part of the tree: the diff's worst case.
std::string DiffKey(const DataSet& d, size_t j) { return Key(j * d.keys / kDiffKeys); }

double KvsDiffSeconds(const DataSet& d) {
  auto store = OpenStore(d.kvs_dir, SyncMode::kNone);
  for (size_t j = 0; j < kDiffKeys; ++j) {
    WriteBatch batch;
    batch.branch = "b";
    batch.Put(DiffKey(d, j), MakeValue(kBranchValueBase + j));
    Must(store->Write(batch), "write on branch b");
  }
  std::vector<DiffEntry> diff;
  double seconds = TimeOnce([&] {
    diff = Must(store->Diff("main", ReadPoint::Latest(), "b", ReadPoint::Latest()), "Diff");
  });
  if (diff.size() != kDiffKeys) Fail("kvs Diff found " + std::to_string(diff.size()) + " keys");
  return seconds;
}

double SqliteDiffSeconds(const DataSet& d) {
  SqliteKv db(d.sqlite_path, SqliteSync::kFull);
  sqlite3_stmt* update = db.Prepare("UPDATE kv_b SET v = ?1 WHERE k = ?2");
  db.Exec("BEGIN");
  for (size_t j = 0; j < kDiffKeys; ++j) {
    std::string key = DiffKey(d, j), value = MakeValue(kBranchValueBase + j);
    sqlite3_bind_blob(update, 1, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    sqlite3_bind_text(update, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    if (sqlite3_step(update) != SQLITE_DONE) Fail("SQLite update of kv_b failed");
    sqlite3_reset(update);
  }
  db.Exec("COMMIT");
  sqlite3_finalize(update);
  sqlite3_stmt* diff = db.Prepare(
      "SELECT coalesce(a.k, b.k) FROM kv AS a FULL JOIN kv_b AS b ON a.k = b.k "
      "WHERE a.v IS NOT b.v");
  size_t rows = 0;
  double seconds = TimeOnce([&] {
    while (sqlite3_step(diff) == SQLITE_ROW) ++rows;
  });
  sqlite3_finalize(diff);
  if (rows != kDiffKeys) Fail("SQLite diff found " + std::to_string(rows) + " keys");
  return seconds;
}

// Requires MeasureBranch first (branch b, table kv_b).
void MeasureDiff(const DataSet& d, Report* report) {
  report->Progress("diff, " + d.label);
  double k = KvsDiffSeconds(d);
  double q = SqliteDiffSeconds(d);
  report->Add("diff of two " + d.label + " branches, 100 differ (ms; SQLite: FULL JOIN)", k * 1e3,
              q * 1e3, Better::kLower);
}

// ---- Opening --------------------------------------------------------------------

// Store::Open plus one Get: what a CGI process pays before its first answer.
// The page cache is warm; the close is not timed.
double KvsOpenSeconds(const std::string& dir, const std::string& key, int rounds) {
  return MedianSeconds(rounds, [&] {
    std::unique_ptr<Store> store = OpenStore(dir, SyncMode::kSync);
    Must(store->Get("main", key), "Get after Open");
    return store;
  });
}

double SqliteOpenSeconds(const std::string& path, const std::string& key, int rounds) {
  return MedianSeconds(rounds, [&] {
    auto db = std::make_unique<SqliteKv>(path, SqliteSync::kFull);
    std::string value;
    if (!db->Get(key, &value)) Fail("SQLite get after open failed");
    return db;
  });
}

void MeasureOpen(const DataSet& d, const Scale& s, Report* report) {
  report->Progress("open, " + d.label);
  double k = KvsOpenSeconds(d.kvs_dir, Key(0), s.open_rounds);
  double q = SqliteOpenSeconds(d.sqlite_path, Key(0), s.open_rounds);
  report->Add("open + first get, " + d.label + " (ms)", k * 1e3, q * 1e3, Better::kLower);
  // What kvs-fcgi leaves once the store is idle: nothing logged to replay.
  Must(OpenStore(d.kvs_dir, SyncMode::kSync)->Checkpoint(), "Checkpoint");
  k = KvsOpenSeconds(d.kvs_dir, Key(0), s.open_rounds);
  report->Add("open + first get after an idle checkpoint, " + d.label + " (ms)", k * 1e3, q * 1e3,
              Better::kLower);
}

// ---- History --------------------------------------------------------------------

struct HistoryRun {
  size_t revisions = 0;
  double puts_per_second = 0;
  double read_seconds = 0;
};

// Reads of a full history timed, each side; the median is reported. The
// first read of a process's run pays for the fresh memory its result takes
// (page faults, a few ms on a virtual machine), which the side measured
// second then finds freed and warm.
constexpr int kHistoryReads = 3;

// Transactions that each write the one key "hot" (kNone: the history is the
// point here, not the disk), then History of the newest version, values
// included.
HistoryRun KvsHistory(const std::string& dir, const Scale& s) {
  auto store = OpenStore(dir, SyncMode::kNone);
  HistoryRun run;
  VersionId head;
  Clock::time_point start = Clock::now();
  while (run.revisions < s.history_revisions && SecondsSince(start) < s.write_loop_seconds) {
    WriteBatch batch;
    batch.Put("hot", MakeValue(run.revisions));
    head = Must(store->Write(batch), "write of the hot key").versions.front();
    ++run.revisions;
  }
  run.puts_per_second = run.revisions / SecondsSince(start);
  run.read_seconds = MedianSeconds(kHistoryReads, [&] {
    std::vector<Version> history =
        Must(store->History(head, 0, SIZE_MAX, /*with_values=*/true), "History");
    if (history.size() != run.revisions) {
      Fail("History returned " + std::to_string(history.size()) + " versions");
    }
    return history;
  });
  return run;
}

// SQLite keeps no history; the nearest equivalent is a row per revision,
// read newest first through the primary key, values copied as kvs copies
// them.
HistoryRun SqliteHistory(const std::string& path, size_t revisions) {
  SqliteKv db(path, SqliteSync::kOff);
  db.Exec("CREATE TABLE hist(k TEXT, rev INTEGER, v BLOB, PRIMARY KEY (k, rev))");
  sqlite3_stmt* insert = db.Prepare("INSERT INTO hist(k, rev, v) VALUES('hot', ?1, ?2)");
  double write_seconds = TimeOnce([&] {
    for (size_t rev = 0; rev < revisions; ++rev) {
      std::string value = MakeValue(rev);
      sqlite3_bind_int64(insert, 1, static_cast<sqlite3_int64>(rev));
      sqlite3_bind_blob(insert, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
      if (sqlite3_step(insert) != SQLITE_DONE) Fail("SQLite history insert failed");
      sqlite3_reset(insert);
    }
  });
  sqlite3_finalize(insert);
  sqlite3_stmt* read = db.Prepare("SELECT rev, v FROM hist WHERE k = 'hot' ORDER BY rev DESC");
  const double read_seconds = MedianSeconds(kHistoryReads, [&] {
    std::vector<std::string> values;
    while (sqlite3_step(read) == SQLITE_ROW) {
      values.emplace_back(static_cast<const char*>(sqlite3_column_blob(read, 1)),
                          static_cast<size_t>(sqlite3_column_bytes(read, 1)));
    }
    sqlite3_reset(read);
    if (values.size() != revisions) Fail("SQLite history returned too few rows");
    return values;
  });
  sqlite3_finalize(read);
  return HistoryRun{revisions, revisions / write_seconds, read_seconds};
}

void MeasureHistory(const std::string& root, const Scale& s, Report* report) {
  report->Progress("history: writing revisions of one key");
  HistoryRun k = KvsHistory(root + "/kvs-history", s);
  HistoryRun q = SqliteHistory(root + "/sqlite-history.db", k.revisions);
  std::string n = CountLabel(k.revisions);
  report->Add("non-durable puts/s, 1 thread, one key, " + n + " revisions", k.puts_per_second,
              q.puts_per_second, Better::kHigher);
  report->Add("read full history of a key, " + n + " revisions (ms, median of 3; SQLite: rows)",
              k.read_seconds * 1e3, q.read_seconds * 1e3, Better::kLower);
}

// ---- Bytes on disk --------------------------------------------------------------

// The same sequence of single-key transactions, random keys among
// churn_keys, for both engines (kNone / synchronous=OFF: the bytes do not
// depend on it, and it keeps the phase short).
size_t ChurnKvs(Store* store, const Scale& s) {
  std::mt19937_64 rng(42);
  Clock::time_point start = Clock::now();
  size_t writes = 0;
  while (writes < s.churn_writes && SecondsSince(start) < s.write_loop_seconds) {
    WriteBatch batch;
    batch.Put(Key(rng() % s.churn_keys), MakeValue(writes));
    Must(store->Write(batch), "churn write");
    ++writes;
  }
  return writes;
}

void ChurnSqlite(SqliteKv* db, const Scale& s, size_t writes) {
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < writes; ++i) {
    if (!db->Put(Key(rng() % s.churn_keys), MakeValue(i))) Fail("SQLite churn write failed");
  }
}

// kvs keeps every version, so its bytes per write are shown as written,
// after a compaction that keeps all history, and after one that keeps only
// each key's newest version. SQLite keeps no history: its footprint is
// db + wal, and after checkpoint + VACUUM for the compacted rows.
void MeasureBytesPerWrite(const std::string& root, const Scale& s, Report* report) {
  report->Progress("bytes per write: single-key writes to random keys");
  const std::string dir = root + "/kvs-churn", path = root + "/sqlite-churn.db";
  size_t writes;
  double kvs_raw, kvs_all, kvs_last;
  {
    auto store = OpenStore(dir, SyncMode::kNone);
    writes = ChurnKvs(store.get(), s);
    kvs_raw = DiskBytes(dir);
    Must(store->Compact(CompactOptions{}), "Compact");
    kvs_all = DiskBytes(dir);
    CompactOptions keep_last;
    keep_last.rules = {RetentionRule{"", 1, std::nullopt}};
    Must(store->Compact(keep_last), "Compact keep_last=1");
    kvs_last = DiskBytes(dir);
  }
  double sqlite_raw, sqlite_vacuumed;
  {
    SqliteKv db(path, SqliteSync::kOff);
    ChurnSqlite(&db, s, writes);
    sqlite_raw = SqliteBytes(path);
    db.Exec("PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite_vacuumed = SqliteBytes(path);
  }
  std::string n = CountLabel(writes) + " writes to " + CountLabel(s.churn_keys) + " keys";
  report->Add("disk bytes per write, " + n, PerUnit(kvs_raw, writes), PerUnit(sqlite_raw, writes),
              Better::kLower);
  report->Add("  ... after Compact, all history (SQLite: VACUUM)", PerUnit(kvs_all, writes),
              PerUnit(sqlite_vacuumed, writes), Better::kLower);
  report->Add("  ... after Compact, keep_last=1 (SQLite: VACUUM)", PerUnit(kvs_last, writes),
              PerUnit(sqlite_vacuumed, writes), Better::kLower);
}

// kvs-fcgi compacts its store by itself (fcgi/compaction_watch.cc): every
// check_interval it reads Store::Space and compacts once the garbage passes
// the retention settings, whose defaults are config::Retention's. The same
// rule here, checked every kSelfCheckWrites writes instead of every minute,
// over enough writes for a few compactions. From the first compaction on,
// the disk bytes per write are what a server's store costs in steady state
// (SQLite is sampled at the same points), and the size before the last
// compaction over the size it left says whether the store keeps within
// about twice its compacted size (the first compactions of a small store
// wait for min_garbage_bytes instead, and find more).
constexpr size_t kSelfCheckWrites = 1000;

struct PerWriteSamples {
  double peak = 0;
  double sum = 0;
  size_t samples = 0;
  void Add(double bytes, size_t writes) {
    double per_write = bytes / static_cast<double>(writes);
    peak = std::max(peak, per_write);
    sum += per_write;
    ++samples;
  }
  std::optional<double> mean() const { return PerUnit(sum, samples); }
};

void MeasureSelfCompacting(const std::string& root, const Scale& s, Report* report) {
  report->Progress("bytes per write, compacting by itself");
  const std::string dir = root + "/kvs-self", path = root + "/sqlite-self.db";
  const config::Retention retention;
  PerWriteSamples kvs, sqlite;
  size_t writes = 0, compactions = 0, first_compaction = 0;
  double growth = 0;  // the size before the last compaction / the size it left
  {
    auto store = OpenStore(dir, SyncMode::kNone);
    std::mt19937_64 rng(42);
    Clock::time_point start = Clock::now();
    while (writes < s.self_writes && SecondsSince(start) < s.write_loop_seconds) {
      WriteBatch batch;
      batch.Put(Key(rng() % s.churn_keys), MakeValue(writes));
      Must(store->Write(batch), "self-compacting write");
      if (++writes % kSelfCheckWrites != 0) continue;
      const double bytes = static_cast<double>(DiskBytes(dir));
      if (compactions > 0) kvs.Add(bytes, writes);
      if (retention.GarbageDue(Must(store->Space(), "Space"))) {
        Must(store->Compact(retention.ToCompactOptions()), "Compact");
        if (compactions++ == 0) first_compaction = writes;
        growth = bytes / static_cast<double>(DiskBytes(dir));
      }
    }
  }
  {
    SqliteKv db(path, SqliteSync::kOff);
    std::mt19937_64 rng(42);
    for (size_t i = 0; i < writes;) {
      if (!db.Put(Key(rng() % s.churn_keys), MakeValue(i))) Fail("SQLite write failed");
      if (++i % kSelfCheckWrites == 0 && compactions > 0 && i > first_compaction) {
        sqlite.Add(static_cast<double>(SqliteBytes(path)), i);
      }
    }
  }
  const std::string n = CountLabel(writes) + " writes to " + CountLabel(s.churn_keys) + " keys";
  if (compactions < 2) {
    report->Note("compacting by itself: " + std::to_string(compactions) + " compactions in " + n +
                 ", too few for a steady state");
    return;
  }
  report->Add("disk bytes per write, " + n + ", compacting by itself: peak", kvs.peak, sqlite.peak,
              Better::kLower);
  report->Add("  ... mean", kvs.mean(), sqlite.mean(), Better::kLower);
  report->Add("  ... size before the last compaction / after (x)", growth, std::nullopt,
              Better::kLower);
  report->Note("compacting by itself: " + std::to_string(compactions) +
               " compactions by kvs-fcgi's default retention settings, checked every " +
               std::to_string(kSelfCheckWrites) + " writes; figures from write " +
               std::to_string(first_compaction) + " on.");
}

// Compaction rewrites the whole store into a new file; Open must stay O(1)
// afterwards too. SQLite's nearest maintenance step is VACUUM.
void MeasureCompaction(const DataSet& d, const Scale& s, Report* report) {
  report->Progress("compaction, " + d.label);
  double kvs_seconds, sqlite_seconds;
  {
    auto store = OpenStore(d.kvs_dir, SyncMode::kSync);
    kvs_seconds = TimeOnce([&] { Must(store->Compact(CompactOptions{}), "Compact"); });
  }
  {
    SqliteKv db(d.sqlite_path, SqliteSync::kFull);
    sqlite_seconds = TimeOnce([&] { db.Exec("PRAGMA wal_checkpoint(TRUNCATE); VACUUM"); });
  }
  report->Add("Compact, all history, " + d.label + " (ms; SQLite: VACUUM)", kvs_seconds * 1e3,
              sqlite_seconds * 1e3, Better::kLower);
  report->Add("open + first get after Compact, " + d.label + " (ms)",
              KvsOpenSeconds(d.kvs_dir, Key(0), s.open_rounds) * 1e3,
              SqliteOpenSeconds(d.sqlite_path, Key(0), s.open_rounds) * 1e3, Better::kLower);
}

// ---- Main -----------------------------------------------------------------------

void Run(const Args& args) {
  const Scale& s = args.quick ? kQuickScale : kFullScale;
  const std::string root = MakeScratchDir(args.parent);
  Report report;
  report.Progress(std::string(args.quick ? "quick" : "full") + " run in " + root);
  MeasureFsync(root, s.fsync_rounds, "start", &report);

  DataSet tiny = BuildDataSet(root, s.tiny_keys, s, &report);
  DataSet small = BuildDataSet(root, s.small_keys, s, &report);
  DataSet big = BuildDataSet(root, s.big_keys, s, &report);
  const std::vector<const DataSet*> sized = {&small, &big};

  for (const DataSet* d : sized) MeasurePuts(*d, s, &report);
  MeasureGets(small, {1, kManyThreads}, s, &report);
  GetRates big_gets = MeasureGets(big, {1, kManyThreads}, s, &report);
  GetRates tiny_gets = MeasureGets(tiny, {1}, s, &report);
  report.Add("cost of a get at " + big.label + " / at " + tiny.label + " (x)",
             tiny_gets.kvs / big_gets.kvs, tiny_gets.sqlite / big_gets.sqlite, Better::kLower);
  for (const DataSet* d : sized) MeasureBranch(*d, &report);
  for (const DataSet* d : sized) MeasureDiff(*d, &report);
  for (const DataSet* d : sized) MeasureOpen(*d, s, &report);
  MeasureHistory(root, s, &report);
  MeasureBytesPerWrite(root, s, &report);
  MeasureSelfCompacting(root, s, &report);
  for (const DataSet* d : sized) MeasureCompaction(*d, s, &report);
  MeasureFsync(root, s.fsync_rounds, "end", &report);

  report.Note(
      "SQLite: WAL, synchronous=FULL for durable puts (one WAL sync per commit, no group "
      "commit), default page cache; kvs reads through mmap. Page cache warm for every read "
      "figure.");
  report.Note(
      "bytes written = the process's write(2) bytes (/proc/self/io wchar) during the phase; "
      "disk bytes = the blocks the files take (du), not their lengths.");
  report.Print();
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace kvs::bench

int main(int argc, char** argv) {
  kvs::bench::Run(kvs::bench::ParseArgs(argc, argv));
  return 0;
}
