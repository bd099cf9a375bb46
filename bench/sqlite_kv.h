// SqliteKv: the reference the kvs benchmarks compare against. One SQLite
// database holding one table kv(k TEXT PRIMARY KEY, v BLOB) in WAL mode,
// reached through one connection with its statements prepared once.
//
// A connection belongs to one thread (opened with SQLITE_OPEN_NOMUTEX): the
// multi-threaded figures use one connection per thread, as an application
// would. Writers wait for each other through busy_timeout instead of failing
// at once; a put that still fails reports false and the caller counts only
// successful commits.
#ifndef KVS_BENCH_SQLITE_KV_H_
#define KVS_BENCH_SQLITE_KV_H_

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bench/harness.h"

namespace kvs::bench {

// db + wal: what the SQLite reference costs on disk (the -shm index is
// rebuilt from the WAL, so it is not counted).
inline uint64_t SqliteBytes(const std::string& path) {
  return AllocatedBytes(path) + AllocatedBytes(path + "-wal");
}

// Whether a commit waits for its fsync: kFull is the durable case (SQLite's
// synchronous=FULL, the peer of kvs's SyncMode::kSync); kOff leaves the
// bytes in the page cache (the peer of kNone).
enum class SqliteSync { kFull, kOff };

class SqliteKv {
 public:
  SqliteKv(const std::string& path, SqliteSync sync) : path_(path) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) Die("open");
    // Long enough that 8 writers queue for the lock instead of giving up.
    sqlite3_busy_timeout(db_, 10000);
    Exec("PRAGMA journal_mode=WAL");
    Exec(sync == SqliteSync::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
    Exec("CREATE TABLE IF NOT EXISTS kv(k TEXT PRIMARY KEY, v BLOB)");
    put_ =
        Prepare("INSERT INTO kv(k, v) VALUES(?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v");
    get_ = Prepare("SELECT v FROM kv WHERE k = ?1");
  }
  ~SqliteKv() {
    sqlite3_finalize(put_);
    sqlite3_finalize(get_);
    sqlite3_close(db_);
  }
  SqliteKv(const SqliteKv&) = delete;
  SqliteKv& operator=(const SqliteKv&) = delete;

  // Runs SQL that returns no rows the caller needs; fatal on error.
  void Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::fprintf(stderr, "%s: sqlite %s: %s\n", ProgramName().c_str(), sql.c_str(),
                   error ? error : "?");
      std::exit(1);
    }
  }

  // Inserts or replaces one row. Outside BEGIN/COMMIT this is one
  // transaction. False when SQLite refused (busy past the timeout).
  bool Put(std::string_view key, std::string_view value) {
    sqlite3_bind_text(put_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    sqlite3_bind_blob(put_, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    int rc = sqlite3_step(put_);
    sqlite3_reset(put_);
    return rc == SQLITE_DONE;
  }

  // Copies the value of key into *value, as kvs's Get copies it; false when
  // the key is missing or the read failed.
  bool Get(std::string_view key, std::string* value) {
    sqlite3_bind_text(get_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    bool found = sqlite3_step(get_) == SQLITE_ROW;
    if (found) {
      const char* blob = static_cast<const char*>(sqlite3_column_blob(get_, 0));
      value->assign(blob, static_cast<size_t>(sqlite3_column_bytes(get_, 0)));
    }
    sqlite3_reset(get_);
    return found;
  }

  // A statement on this connection; the caller finalizes it.
  sqlite3_stmt* Prepare(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) Die(sql.c_str());
    return stmt;
  }

 private:
  [[noreturn]] void Die(const char* what) {
    std::fprintf(stderr, "%s: sqlite %s (%s): %s\n", ProgramName().c_str(), what, path_.c_str(),
                 db_ ? sqlite3_errmsg(db_) : "out of memory");
    std::exit(1);
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* get_ = nullptr;
};

}  // namespace kvs::bench

#endif  // KVS_BENCH_SQLITE_KV_H_
