// store::HistoryStore: message history in its own SQLite file, written by one thread in batches
// (include/sockit/store/history.hpp). The event loop only locks a mutex to copy a message into a
// queue slot (slots and their strings are reused batch after batch: no allocation once warm); the
// writer thread owns the read-write connection; a reader thread runs the queries on a read-only
// one, each once the writer has stored what was appended before it (sequence numbers).
#include "sockit/store/history.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

namespace sockit::store {

namespace {

constexpr int kSchemaVersion = 2;

// Migrations: kMigrations[i] takes the schema from version i to i + 1.
constexpr const char* kMigrations[] = {
    "CREATE TABLE messages ("
    " id INTEGER PRIMARY KEY,"
    " msgid TEXT NOT NULL UNIQUE,"
    " key TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " time_ms INTEGER NOT NULL,"
    " sender TEXT NOT NULL,"
    " command TEXT NOT NULL,"
    " text TEXT NOT NULL,"
    " tags TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX messages_key_time ON messages(key, time_ms, id);"
    "CREATE INDEX messages_time ON messages(time_ms);",
    // 2: events (draft/event-playback) keep their line after the sender's prefix.
    "ALTER TABLE messages ADD COLUMN params TEXT NOT NULL DEFAULT '';",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

/// One prepared statement (RAII); binds count from 1.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { prepared_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) == SQLITE_OK; }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return prepared_ && st_ != nullptr; }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  /// true with a row; false when done or on an error (rc() tells).
  bool row() {
    if (!ok()) return false;
    rc_ = sqlite3_step(st_);
    return rc_ == SQLITE_ROW;
  }
  bool run() {
    row();
    bool done = rc_ == SQLITE_DONE;
    sqlite3_reset(st_);
    return done;
  }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  std::string text(int col) const {
    const unsigned char* p = sqlite3_column_text(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, col)))
             : std::string();
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(st_, col); }
  bool null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  int rc() const { return rc_; }

 private:
  sqlite3_stmt* st_ = nullptr;
  bool prepared_ = false;
  int rc_ = SQLITE_OK;
};

/// A point in a key's order (time_ms, id): rows compare as row values.
struct Point {
  std::int64_t time_ms = 0;
  std::int64_t id = 0;
};
constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();

constexpr const char* kColumns = "id, msgid, key, target, time_ms, sender, command, text, tags, params";

HistoryMessage read_row(const Stmt& st) {
  HistoryMessage m;
  m.id = st.integer(0);
  m.msgid = st.text(1);
  m.key = st.text(2);
  m.target = st.text(3);
  m.time_ms = st.integer(4);
  m.sender = st.text(5);
  m.command = st.text(6);
  m.text = st.text(7);
  m.tags = st.text(8);
  m.params = st.text(9);
  return m;
}

/// Calls `start` with a function that ends the wait, and waits for it (from any thread).
void wait_for(const std::function<void(std::function<void()>)>& start) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  start([&] {
    std::lock_guard lock(m);
    done = true;
    cv.notify_all();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return done; });
}

}  // namespace

struct HistoryStore::Impl {
  HistoryOptions opt;
  sqlite3* db = nullptr;

  mutable std::mutex mu;
  std::condition_variable cv;       // the writer waits here
  std::condition_variable done_cv;  // flush() and queries wait here
  // The first `queued` slots hold messages; the rest keep their strings' capacity for the next
  // ones. The writer swaps the whole vector with its own (written) one.
  std::vector<HistoryMessage> queue;
  std::size_t queued = 0;
  std::deque<std::function<void()>> jobs;  // run on the writer thread, after the queue is written
  std::chrono::steady_clock::time_point first_queued{};
  bool stop = false;
  HistoryStats st;
  std::set<std::string> touched;  // keys written since the last retention pass (writer only)
  std::thread writer;

  // Reads: messages are numbered as they are queued; a read waits until the writer has stored
  // those queued before it (`written` >= its number), asking for a batch now (`flush_upto`).
  sqlite3* rdb = nullptr;       // the reader's read-only connection
  std::uint64_t appended_seq = 0;  // messages queued so far
  std::uint64_t taken_seq = 0;     // ... taken by the writer
  std::uint64_t written_seq = 0;   // ... stored (or dropped on a write error)
  std::uint64_t flush_upto = 0;    // a read waits for the messages up to this one
  struct Read {
    std::uint64_t seq;
    std::function<void(sqlite3*)> run;
  };
  std::deque<Read> reads;
  std::condition_variable read_cv;  // the reader waits here
  bool stop_reads = false;
  bool writer_done = false;  // the writer has returned (a read waits for it no more)
  std::thread reader;

  ~Impl() {
    stop_reader();
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    cv.notify_all();
    if (writer.joinable()) writer.join();
    if (rdb != nullptr) sqlite3_close(rdb);
    if (db != nullptr) sqlite3_close(db);
  }

  void stop_reader() {
    {
      std::lock_guard lock(mu);
      if (stop_reads) return;
      stop_reads = true;
      reads.clear();
    }
    read_cv.notify_all();
    if (reader.joinable()) reader.join();
  }

  /// Opens the reader's connection (after open_db: the file exists, in WAL mode, migrated).
  std::string open_reader() {
    if (sqlite3_open_v2(opt.path.c_str(), &rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      return opt.path + ": cannot open the history database for reading: " +
             (rdb ? sqlite3_errmsg(rdb) : "out of memory");
    }
    sqlite3_busy_timeout(rdb, 5000);
    return {};
  }

  /// Queues `run` for the reader, numbered after the messages appended so far; without a reader
  /// (stopped), runs it here once they are stored.
  void read(std::function<void(sqlite3*)> run) {
    {
      std::lock_guard lock(mu);
      if (!stop_reads) {
        reads.push_back({appended_seq, std::move(run)});
        read_cv.notify_one();
        return;
      }
    }
    written_seq_wait(current_seq());
    run(rdb);
  }

  std::uint64_t current_seq() {
    std::lock_guard lock(mu);
    return appended_seq;
  }

  /// Waits until the messages up to `seq` are stored (or the writer has stopped).
  void written_seq_wait(std::uint64_t seq) {
    std::unique_lock lock(mu);
    if (written_seq < seq) {
      flush_upto = std::max(flush_upto, seq);
      cv.notify_all();
      done_cv.wait(lock, [&] { return written_seq >= seq || writer_done; });
    }
  }

  void run_reader() {
    std::unique_lock lock(mu);
    for (;;) {
      read_cv.wait(lock, [&] { return stop_reads || !reads.empty(); });
      if (reads.empty()) return;  // stopping
      Read r = std::move(reads.front());
      reads.pop_front();
      lock.unlock();
      written_seq_wait(r.seq);
      r.run(rdb);
      r.run = nullptr;  // its captures go here, not under the lock
      lock.lock();
    }
  }

  std::string err(std::string_view what) const {
    return opt.path + ": " + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
  }

  bool exec(const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }

  std::string open_db() {
    if (sqlite3_open_v2(opt.path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      return err("cannot open the history database");
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_db_readonly(db, "main") == 1) return opt.path + ": the history database is read-only";
    Stmt version(db, "PRAGMA user_version");
    if (!version.row()) return err("not a usable history database");
    const std::int64_t v = version.integer(0);
    version.reset();
    if (v > kSchemaVersion) {
      return opt.path + ": history schema version " + std::to_string(v) + " is newer than this sockit's (" +
             std::to_string(kSchemaVersion) + ")";
    }
    if (!exec("PRAGMA journal_mode=WAL")) return err("cannot use WAL mode");
    Stmt mode(db, "PRAGMA journal_mode");
    if (!mode.row() || mode.text(0) != "wal") return err("cannot use WAL mode");
    mode.reset();
    exec("PRAGMA synchronous=NORMAL");
    Stmt check(db, "PRAGMA quick_check");
    if (!check.row() || check.text(0) != "ok") return err("the history database is damaged (quick_check)");
    check.reset();
    for (std::int64_t i = v; i < kSchemaVersion; ++i) {
      const std::string sql = std::string("BEGIN IMMEDIATE;") + kMigrations[i] + "PRAGMA user_version=" +
                              std::to_string(i + 1) + ";COMMIT;";
      if (!exec(sql.c_str())) {
        std::string e = err("migration to schema version " + std::to_string(i + 1) + " failed");
        exec("ROLLBACK");
        return e;
      }
    }
    // A write lock proves the file (and its directory, for the WAL) can be written.
    if (!exec("BEGIN IMMEDIATE") || !exec("COMMIT")) {
      std::string e = err("the history database cannot be written");
      exec("ROLLBACK");
      return e;
    }
    return {};
  }

  // ---- writer thread ----------------------------------------------------------------------------

  /// Writes the first `n` of `batch` in one transaction.
  void write(std::vector<HistoryMessage>& batch, std::size_t n) {
    if (n == 0) return;
    bool ok = exec("BEGIN");
    std::uint64_t written = 0;
    if (ok) {
      Stmt ins(db,
               "INSERT OR IGNORE INTO messages(msgid, key, target, time_ms, sender, command, text, tags, params) "
               "VALUES(?,?,?,?,?,?,?,?,?)");
      for (std::size_t i = 0; i < n; ++i) {
        const HistoryMessage& m = batch[i];
        ins.bind(1, m.msgid).bind(2, m.key).bind(3, m.target).bind(4, m.time_ms).bind(5, m.sender);
        ins.bind(6, m.command).bind(7, m.text).bind(8, m.tags).bind(9, m.params);
        if (ins.run() && sqlite3_changes(db) == 1) {  // 0: a msgid stored already (ignored)
          ++written;
          touched.insert(m.key);
        }
      }
      ok = exec("COMMIT");
      if (!ok) exec("ROLLBACK");
    }
    // The slots stay for the loop's next messages (a writer that falls behind makes batches of a
    // few flush_messages: keep them, or the loop regrows the vector batch after batch); after a
    // burst (a stalled disk) those over 16 x flush_messages (4096: about 1.5 MB) go.
    if (batch.size() > 16 * opt.flush_messages) {
      batch.resize(16 * opt.flush_messages);
      batch.shrink_to_fit();
    }
    std::lock_guard lock(mu);
    if (ok) {
      st.written += written;
      st.dropped += n - written;
      ++st.batches;
    } else {
      st.dropped += n;
      std::fprintf(stderr, "%s\n", err("history write failed").c_str());
    }
  }

  std::uint64_t retention() {
    std::uint64_t deleted = 0;
    if (opt.max_age.count() > 0) {
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      const std::int64_t cutoff =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - opt.max_age).count();
      Stmt del(db, "DELETE FROM messages WHERE time_ms < ?");
      if (del.bind(1, cutoff).run()) deleted += static_cast<std::uint64_t>(sqlite3_changes(db));
    }
    if (opt.max_messages > 0) {
      Stmt del(db,
               "DELETE FROM messages WHERE key = ?1 AND (time_ms, id) <= "
               "(SELECT time_ms, id FROM messages WHERE key = ?1 ORDER BY time_ms DESC, id DESC LIMIT 1 OFFSET ?2)");
      for (const std::string& key : touched) {
        if (del.bind(1, key).bind(2, static_cast<std::int64_t>(opt.max_messages)).run()) {
          deleted += static_cast<std::uint64_t>(sqlite3_changes(db));
        }
        del.reset();
      }
    }
    touched.clear();
    std::lock_guard lock(mu);
    st.deleted += deleted;
    return deleted;
  }

  void run() {
    using Clock = std::chrono::steady_clock;
    std::vector<HistoryMessage> batch;
    auto last_retention = Clock::now();
    std::unique_lock lock(mu);
    for (;;) {
      // Sleep until a batch is due: full, its first message's deadline passed, a query or flush
      // is waiting, or the server stops. Retention runs when due while idle.
      while (!stop && jobs.empty() && queued < opt.flush_messages && flush_upto <= taken_seq) {
        const auto now = Clock::now();
        if (queued > 0 && now >= first_queued + opt.flush_interval) break;
        if (now - last_retention >= opt.retention_interval) {
          lock.unlock();
          retention();
          last_retention = Clock::now();
          lock.lock();
          continue;
        }
        auto until = last_retention + opt.retention_interval;
        if (queued > 0) until = std::min(until, first_queued + opt.flush_interval);
        cv.wait_until(lock, until);
      }
      batch.swap(queue);
      const std::size_t n = std::exchange(queued, 0);
      taken_seq = appended_seq;
      std::deque<std::function<void()>> run_jobs;
      run_jobs.swap(jobs);
      const bool stopping = stop;
      lock.unlock();
      write(batch, n);
      for (auto& job : run_jobs) job();
      lock.lock();
      written_seq = std::max(written_seq, taken_seq);
      done_cv.notify_all();
      if (stopping && queued == 0 && jobs.empty()) {
        writer_done = true;
        done_cv.notify_all();
        return;
      }
    }
  }

  /// Runs `fn` on the writer thread after the queue is written, and waits for it.
  void on_writer(std::function<void()> fn) {
    bool finished = false;
    std::unique_lock lock(mu);
    jobs.push_back([&] {
      fn();
      std::lock_guard l(mu);
      finished = true;
    });
    cv.notify_all();
    done_cv.wait(lock, [&] { return finished; });
  }

  // ---- queries (writer thread) -------------------------------------------------------------------

  /// Where selector `s` is in `key`'s order; `after_side`: a timestamp stands after its own
  /// millisecond's rows (for "after") or before them. nullopt: an unknown msgid.
  static std::optional<Point> resolve(sqlite3* db, const std::string& key, const HistorySelector& s, bool after_side) {
    if (s.kind == HistorySelector::Kind::time) return Point{s.time_ms, after_side ? kMaxId : 0};
    Stmt q(db, "SELECT time_ms, id FROM messages WHERE msgid = ? AND key = ?");
    q.bind(1, s.msgid).bind(2, key);
    if (!q.row()) return std::nullopt;
    return Point{q.integer(0), q.integer(1)};
  }

  /// Rows of `key` strictly after `lo` (if given) and strictly before `hi` (if given), `limit` of
  /// them from the `newest` end or the oldest, returned oldest first; without `events`, only
  /// PRIVMSG and NOTICE rows.
  static std::vector<HistoryMessage> range(sqlite3* db, bool events, const std::string& key, std::optional<Point> lo,
                                           std::optional<Point> hi, bool newest, std::size_t limit,
                                           bool lo_inclusive = false) {
    std::string sql = std::string("SELECT ") + kColumns + " FROM messages WHERE key = ?1";
    if (!events) sql += " AND command IN ('PRIVMSG', 'NOTICE')";
    if (lo) sql += lo_inclusive ? " AND (time_ms, id) >= (?2, ?3)" : " AND (time_ms, id) > (?2, ?3)";
    if (hi) sql += " AND (time_ms, id) < (?4, ?5)";
    sql += newest ? " ORDER BY time_ms DESC, id DESC" : " ORDER BY time_ms, id";
    sql += " LIMIT ?6";
    Stmt q(db, sql.c_str());
    q.bind(1, key);
    if (lo) q.bind(2, lo->time_ms).bind(3, lo->id);
    if (hi) q.bind(4, hi->time_ms).bind(5, hi->id);
    q.bind(6, static_cast<std::int64_t>(limit));
    std::vector<HistoryMessage> out;
    while (q.row()) out.push_back(read_row(q));
    if (newest) std::reverse(out.begin(), out.end());
    return out;
  }

  static std::optional<std::vector<HistoryMessage>> query(sqlite3* db, const std::string& key, HistoryQuery kind,
                                                          const HistorySelector& a, const HistorySelector& b,
                                                          std::size_t limit, bool events) {
    using K = HistorySelector::Kind;
    switch (kind) {
      case HistoryQuery::latest: {
        if (a.kind == K::none) return range(db, events, key, std::nullopt, std::nullopt, true, limit);
        auto lo = resolve(db, key, a, true);
        if (!lo) return std::nullopt;
        return range(db, events, key, lo, std::nullopt, true, limit);
      }
      case HistoryQuery::before: {
        auto hi = resolve(db, key, a, false);
        if (!hi) return std::nullopt;
        return range(db, events, key, std::nullopt, hi, true, limit);
      }
      case HistoryQuery::after: {
        auto lo = resolve(db, key, a, true);
        if (!lo) return std::nullopt;
        return range(db, events, key, lo, std::nullopt, false, limit);
      }
      case HistoryQuery::around: {
        // Half before the selector, the rest from it on (the message itself included).
        auto at = resolve(db, key, a, false);
        if (!at) return std::nullopt;
        std::vector<HistoryMessage> out = range(db, events, key, std::nullopt, at, true, limit / 2);
        auto later = range(db, events, key, at, std::nullopt, false, limit - out.size(), true);
        out.insert(out.end(), std::make_move_iterator(later.begin()), std::make_move_iterator(later.end()));
        return out;
      }
      case HistoryQuery::between: {
        auto pa = resolve(db, key, a, true), pa_before = resolve(db, key, a, false);
        auto pb = resolve(db, key, b, true), pb_before = resolve(db, key, b, false);
        if (!pa || !pb) return std::nullopt;
        const bool forward = std::pair(pa->time_ms, pa->id) <= std::pair(pb->time_ms, pb->id);
        if (forward) return range(db, events, key, pa, pb_before, false, limit);
        return range(db, events, key, pb, pa_before, true, limit);
      }
    }
    return std::vector<HistoryMessage>{};
  }

  static std::vector<HistoryTarget> targets(sqlite3* db, const std::vector<std::string>& channels,
                                            const std::vector<std::string>& selves, std::int64_t from_ms,
                                            std::int64_t to_ms, std::size_t limit) {
    if (from_ms > to_ms) std::swap(from_ms, to_ms);
    std::vector<HistoryTarget> out;
    // Conversations with messages: events (JOIN, MODE...) do not count.
    Stmt q(db,
           "SELECT MAX(time_ms) FROM messages WHERE key = ? AND time_ms > ? AND time_ms < ? AND "
           "command IN ('PRIVMSG', 'NOTICE')");
    for (const std::string& key : channels) {
      q.bind(1, key).bind(2, from_ms).bind(3, to_ms);
      if (q.row() && !q.null(0)) out.push_back({key, q.integer(0)});
      q.reset();
    }
    // Private conversations: "a b" keys with one of `selves` on either side (nicks, accounts and
    // channel names have no spaces); the time index narrows the scan.
    Stmt dm(db,
            "SELECT key, MAX(time_ms) FROM messages WHERE time_ms > ?1 AND time_ms < ?2 AND "
            "command IN ('PRIVMSG', 'NOTICE') AND "
            "(substr(key, 1, length(?3) + 1) = ?3 || ' ' OR substr(key, -length(?3) - 1) = ' ' || ?3) GROUP BY key");
    for (const std::string& self : selves) {
      dm.bind(1, from_ms).bind(2, to_ms).bind(3, self);
      while (dm.row()) out.push_back({dm.text(0), dm.integer(1)});
      dm.reset();
    }
    std::sort(out.begin(), out.end(), [](const HistoryTarget& x, const HistoryTarget& y) {
      return std::pair(x.time_ms, x.key) < std::pair(y.time_ms, y.key);
    });
    if (out.size() > limit) out.resize(limit);
    return out;
  }
};

HistoryStore::HistoryStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HistoryStore::~HistoryStore() = default;  // Impl's destructor writes the queue and joins

std::unique_ptr<HistoryStore> HistoryStore::open(const HistoryOptions& options, std::string& error) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  if (impl->opt.flush_messages == 0) impl->opt.flush_messages = 1;
  if (impl->opt.query_limit == 0) impl->opt.query_limit = 1;
  error = impl->open_db();
  if (!error.empty()) return nullptr;
  error = impl->open_reader();
  if (!error.empty()) return nullptr;
  Impl* raw = impl.get();
  impl->writer = std::thread([raw] { raw->run(); });
  impl->reader = std::thread([raw] { raw->run_reader(); });
  return std::unique_ptr<HistoryStore>(new HistoryStore(std::move(impl)));
}

const HistoryOptions& HistoryStore::options() const noexcept { return impl_->opt; }

void HistoryStore::append(const HistoryRecord& r) {
  Impl& d = *impl_;
  bool wake = false;
  {
    std::lock_guard lock(d.mu);
    ++d.st.appended;
    if (d.queued >= d.opt.max_queued) {
      ++d.st.dropped;
      return;
    }
    if (d.queued == 0) d.first_queued = std::chrono::steady_clock::now();
    if (d.queued == d.queue.size()) d.queue.emplace_back();
    // assign() into a used slot reuses its strings' buffers: no allocation once they have grown.
    HistoryMessage& m = d.queue[d.queued++];
    ++d.appended_seq;
    m.msgid.assign(r.msgid);
    m.time_ms = r.time_ms;
    m.key.assign(r.key);
    m.target.assign(r.target);
    m.sender.assign(r.sender);
    m.command.assign(r.command);
    m.text.assign(r.text);
    m.tags.assign(r.tags);
    m.params.assign(r.params);
    // The writer sleeps until the first message's deadline: wake it for the first one and when
    // the batch is full, not for every message.
    wake = d.queued == 1 || d.queued == d.opt.flush_messages;
  }
  if (wake) d.cv.notify_one();
}

std::optional<std::vector<HistoryMessage>> HistoryStore::query(const std::string& key, HistoryQuery kind,
                                                               const HistorySelector& a, const HistorySelector& b,
                                                               std::size_t limit, bool events) {
  std::optional<std::vector<HistoryMessage>> out;
  wait_for([&](std::function<void()> finished) {
    query_async(key, kind, a, b, limit, events, [&out, finished](std::optional<std::vector<HistoryMessage>> rows) {
      out = std::move(rows);
      finished();
    });
  });
  return out;
}

void HistoryStore::query_async(const std::string& key, HistoryQuery kind, const HistorySelector& a,
                               const HistorySelector& b, std::size_t limit, bool events, QueryDone done) {
  limit = std::min(limit, impl_->opt.query_limit);
  impl_->read([key, kind, a, b, limit, events, done = std::move(done)](sqlite3* db) {
    done(Impl::query(db, key, kind, a, b, limit, events));
  });
}

std::vector<HistoryTarget> HistoryStore::targets(const std::vector<std::string>& channels,
                                                 const std::vector<std::string>& selves, std::int64_t from_ms,
                                                 std::int64_t to_ms, std::size_t limit) {
  std::vector<HistoryTarget> out;
  wait_for([&](std::function<void()> finished) {
    targets_async(channels, selves, from_ms, to_ms, limit, [&out, finished](std::vector<HistoryTarget> t) {
      out = std::move(t);
      finished();
    });
  });
  return out;
}

void HistoryStore::targets_async(const std::vector<std::string>& channels, const std::vector<std::string>& selves,
                                 std::int64_t from_ms, std::int64_t to_ms, std::size_t limit, TargetsDone done) {
  limit = std::min(limit, impl_->opt.query_limit);
  impl_->read([channels, selves, from_ms, to_ms, limit, done = std::move(done)](sqlite3* db) {
    done(Impl::targets(db, channels, selves, from_ms, to_ms, limit));
  });
}

void HistoryStore::stop_reader() { impl_->stop_reader(); }

void HistoryStore::flush() {
  impl_->on_writer([] {});
}

void HistoryStore::apply_retention() {
  impl_->on_writer([this] {
    // Every key, not only those written since the last pass.
    Stmt keys(impl_->db, "SELECT DISTINCT key FROM messages");
    while (keys.row()) impl_->touched.insert(keys.text(0));
    impl_->retention();
  });
}

HistoryStats HistoryStore::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->st;
}

std::optional<std::vector<HistoryMessage>> read_sqlite_history(const std::string& path, std::string& error) {
  sqlite3* db = nullptr;
  auto fail = [&](const std::string& what) {
    error = path + ": " + what;
    if (db != nullptr) sqlite3_close_v2(db);  // closed once the statements still open are finalized
    return std::nullopt;
  };
  // Read-only: a missing file is an error here, never created.
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    return fail(std::string("cannot open the history database: ") + (db ? sqlite3_errmsg(db) : "out of memory"));
  }
  sqlite3_busy_timeout(db, 5000);
  std::int64_t v = 0;
  {
    Stmt version(db, "PRAGMA user_version");
    if (!version.row()) return fail(std::string("not a sockit history database: ") + sqlite3_errmsg(db));
    v = version.integer(0);
  }
  bool has_table = false;
  {
    Stmt table(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'");
    has_table = table.row();
  }
  if (v < 1 || !has_table) return fail("not a sockit history database (no messages table of schema 1-2)");
  if (v > kSchemaVersion) {
    return fail("history schema version " + std::to_string(v) + " is newer than this sockit's (" +
                std::to_string(kSchemaVersion) + ")");
  }
  // Schema 1 has no params column (events came with 2).
  const std::string sql = std::string("SELECT ") +
                          (v >= 2 ? kColumns : "id, msgid, key, target, time_ms, sender, command, text, tags, ''") +
                          " FROM messages ORDER BY key, time_ms, id";
  std::vector<HistoryMessage> out;
  {
    Stmt all(db, sql.c_str());
    if (!all.ok()) return fail(std::string("not a sockit history database: ") + sqlite3_errmsg(db));
    while (all.row()) out.push_back(read_row(all));
    if (all.rc() != SQLITE_DONE) {
      return fail(std::string("reading the messages failed: ") + sqlite3_errmsg(db));
    }
  }
  sqlite3_close(db);
  return out;
}

}  // namespace sockit::store
