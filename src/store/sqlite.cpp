// sockit::store's SQLite helpers (sqlite.hpp).
#include "sqlite.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <system_error>

namespace sockit::store {

namespace {

std::error_code code_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_READONLY: return sys_error(EROFS);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return sys_error(EBADMSG);
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return sys_error(EBUSY);
    case SQLITE_CONSTRAINT: return sys_error(EEXIST);
    case SQLITE_CANTOPEN: return sys_error(ENOENT);
    case SQLITE_PERM:
    case SQLITE_AUTH: return sys_error(EACCES);
    case SQLITE_FULL: return sys_error(ENOSPC);
    default: return sys_error(EIO);
  }
}

}  // namespace

Stmt::Stmt(Db& db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &st_, nullptr) != SQLITE_OK) {
    error_ = db.last_error("");
    st_ = nullptr;
  }
}

Stmt::~Stmt() { sqlite3_finalize(st_); }

Stmt& Stmt::bind(int i, std::string_view text) {
  if (st_ != nullptr) sqlite3_bind_text(st_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  if (st_ != nullptr) sqlite3_bind_int64(st_, i, v);
  return *this;
}

bool Stmt::step() {
  if (st_ == nullptr) return false;
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) error_ = db_.last_error("");
  return false;
}

Result<void> Stmt::run() {
  while (step()) {
  }
  if (error_) return *error_;
  return {};
}

std::string Stmt::text(int col) const {
  const unsigned char* p = sqlite3_column_text(st_, col);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p),
                                                    static_cast<std::size_t>(sqlite3_column_bytes(st_, col)));
}

std::int64_t Stmt::integer(int col) const { return sqlite3_column_int64(st_, col); }

Result<Db> Db::open(const std::string& path, bool create) {
  sqlite3* h = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &h, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = h != nullptr ? sqlite3_errmsg(h) : sqlite3_errstr(rc);
    sqlite3_close(h);
    return Error(code_of(rc), path + ": " + msg);
  }
  Db db(h, path);
  sqlite3_busy_timeout(h, 5000);
  sqlite3_extended_result_codes(h, 1);
  {
    // A damaged file fails here, at start, rather than on some later query.
    Stmt check(db, "PRAGMA quick_check");
    if (!check.step()) return check.error() ? *check.error() : Error(sys_error(EBADMSG), path + ": quick_check");
    if (std::string r = check.text(0); r != "ok") return Error(sys_error(EBADMSG), path + ": database is damaged: " + r);
  }
  {
    Stmt wal(db, "PRAGMA journal_mode=WAL");
    if (!wal.step()) return wal.error() ? *wal.error() : Error(sys_error(EIO), path + ": journal_mode");
    if (std::string mode = wal.text(0); mode != "wal") {
      return Error(sys_error(EROFS), path + ": cannot switch to WAL (journal mode stays " + mode + ")");
    }
  }
  if (auto r = db.exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL"); !r) return r.error();
  return db;
}

Db::~Db() { sqlite3_close(db_); }

Result<void> Db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return Error(code_of(sqlite3_extended_errcode(db_)), path_ + ": " + msg);
}

Result<void> Db::migrate(const std::vector<std::string_view>& migrations) {
  if (auto r = exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); !r) return r;
  std::int64_t version = 0;
  {
    Stmt q(*this, "SELECT max(version) FROM schema_version");
    if (q.step()) version = q.integer(0);
    if (q.error()) return *q.error();
  }
  if (version > static_cast<std::int64_t>(migrations.size())) {
    return Error(sys_error(EPROTO), path_ + ": schema version " + std::to_string(version) +
                                        " is newer than this program's " + std::to_string(migrations.size()));
  }
  for (auto v = static_cast<std::size_t>(version); v < migrations.size(); ++v) {
    if (auto r = exec("BEGIN IMMEDIATE"); !r) return r;
    auto r = exec(migrations[v]);
    if (r) {
      Stmt ins(*this, "INSERT INTO schema_version (version) VALUES (?)");
      r = ins.bind(1, static_cast<std::int64_t>(v + 1)).run();
    }
    if (!r) {
      (void)exec("ROLLBACK");
      return r.error().with_context("migration to version " + std::to_string(v + 1));
    }
    if (auto c = exec("COMMIT"); !c) return c;
  }
  return {};
}

int Db::changes() const { return sqlite3_changes(db_); }

Error Db::last_error(std::string_view what) const {
  std::string ctx = path_ + ": ";
  if (!what.empty()) ctx += std::string(what) + ": ";
  return Error(code_of(sqlite3_extended_errcode(db_)), ctx + sqlite3_errmsg(db_));
}

}  // namespace sockit::store
