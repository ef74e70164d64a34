// Internal header of sockit::store: a thin RAII layer over SQLite's C API (one connection, prepared
// statements with bound parameters, errors as sockit::Error naming the file and SQLite's message),
// and the schema-version table with ordered migrations. Used by the account store; the history
// store may reuse it.
#pragma once

#include "sockit/net/result.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace sockit::store {

class Db;

/// One prepared statement; bind() counts from 1; step() is true while rows come.
class Stmt {
 public:
  Stmt(Db& db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool prepared() const noexcept { return st_ != nullptr; }
  Stmt& bind(int i, std::string_view text);
  Stmt& bind(int i, std::int64_t v);
  /// Next row: true with a row, false when done; an error sets `error` (and returns false).
  bool step();
  /// Runs to completion (INSERT/UPDATE/DELETE); the error if any.
  Result<void> run();
  std::string text(int col) const;
  std::int64_t integer(int col) const;
  /// The error of the last prepare/step, if any ("F: SQLite message").
  const std::optional<Error>& error() const noexcept { return error_; }

 private:
  Db& db_;
  sqlite3_stmt* st_ = nullptr;
  std::optional<Error> error_;
};

class Db {
 public:
  /// Opens `path` (read-write; created when `create`). WAL journal, foreign keys, a 5 s busy
  /// timeout, and a quick_check so a damaged file fails here, not later.
  static Result<Db> open(const std::string& path, bool create);
  Db(Db&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) { o.db_ = nullptr; }
  Db& operator=(Db&&) = delete;
  ~Db();
  /// Runs statements without results.
  Result<void> exec(std::string_view sql);
  /// Brings the schema to migrations.size(): migrations[i] takes version i to i+1, each in one
  /// transaction with its version row. A file of a newer version is refused.
  Result<void> migrate(const std::vector<std::string_view>& migrations);
  int changes() const;
  /// "PATH: MESSAGE" from SQLite's last error on this connection, with an error code mapped from
  /// SQLite's (read-only -> EROFS, corrupt/not a database -> EBADMSG, busy -> EBUSY, constraint -> EEXIST).
  Error last_error(std::string_view what) const;
  sqlite3* handle() noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace sockit::store
