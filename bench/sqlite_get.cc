// sqlite_get: the reference bench/oneshot_bench measures a one-shot kvs read
// against: a program that opens an SQLite database read-only, prints the
// value of one key of its table kv(k, v) (bench/sqlite_kv.h) and exits, as
// the leanest CGI script or command reading a row would. C, but for the
// compiler: it links only SQLite and the C library.
//
// Usage: sqlite_get DB KEY (exit 1 when the row cannot be read).
#include <sqlite3.h>

#include <cstdio>

int main(int argc, char** argv) {
  sqlite3* db = nullptr;
  sqlite3_stmt* get = nullptr;
  if (argc != 3 || sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT v FROM kv WHERE k = ?1", -1, &get, nullptr) != SQLITE_OK) {
    return 1;
  }
  sqlite3_bind_text(get, 1, argv[2], -1, SQLITE_STATIC);
  if (sqlite3_step(get) != SQLITE_ROW) return 1;
  fwrite(sqlite3_column_blob(get, 0), 1, static_cast<size_t>(sqlite3_column_bytes(get, 0)), stdout);
  sqlite3_finalize(get);
  sqlite3_close(db);
  return 0;
}
