// Public header. store::HistoryStore: the chat server's message history (IRCv3 draft/chathistory)
// in its own SQLite file (docs/CHAT-SERVER.md, "History").
//
// The event loop never waits for the disk to write: append() copies a message into a reused slot
// of a queue (no allocation once the slots have grown; the writer is woken for a batch's first
// message and when it is full, not for each one) and a writer thread stores the queue in one transaction every `flush_interval` or `flush_messages`
// messages, whichever comes first (a SIGKILL loses at most what was queued since the last flush).
// Queries run on a reader thread with a connection of its own, once the writer has stored every
// message appended before them (so they see them); query_async() hands the result to a callback on
// that thread (the chat server posts it back to the loop), query() waits for it.
//
// The file: WAL mode, schema version in PRAGMA user_version, migrated on open; a file that is not
// a database, is newer than this code or cannot be written is refused by open() with a reason.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::store {

struct HistoryMessage {
  std::int64_t id = 0;       ///< row id (set by the store on reads; insertion order)
  std::string msgid;         ///< IRCv3 message-ids; unique
  std::int64_t time_ms = 0;  ///< Unix time in milliseconds (server-time)
  std::string key;           ///< what queries select by: a folded channel name, "nick1 nick2" or
                             ///< "@account1 @account2" (both logged in), folded, in order
  std::string target;        ///< the target as it was sent (channel or nick)
  std::string sender;        ///< nick!user@host
  std::string command;       ///< PRIVMSG or NOTICE
  std::string text;
  std::string tags;          ///< the sender's client-only tags ("+a=b;+c", escaped)
  /// An event (draft/event-playback: JOIN, PART, QUIT, KICK, TOPIC, MODE): the line after the
  /// sender's prefix ("KICK #c bob :why"), replayed as is; "" for PRIVMSG and NOTICE.
  std::string params;
};

/// A message as the event loop hands it to append(): views of the caller's strings, copied before
/// append() returns.
struct HistoryRecord {
  std::string_view msgid;
  std::int64_t time_ms = 0;
  std::string_view key, target, sender, command, text, tags;  ///< as in HistoryMessage
  std::string_view params;
};

struct HistoryOptions {
  std::string path;                                       ///< the database file
  std::size_t max_messages = 10000;                       ///< kept per key; 0 = no limit
  std::chrono::seconds max_age{0};                        ///< 0 = no limit
  std::chrono::milliseconds flush_interval{100};          ///< queued messages wait at most this
  std::size_t flush_messages = 256;                       ///< ... or until this many are queued
  std::chrono::milliseconds retention_interval{std::chrono::seconds(60)};
  std::size_t query_limit = 100;                          ///< rows per query (ISUPPORT CHATHISTORY)
  std::size_t max_queued = 100000;                        ///< over this, append() drops (counted)
};

/// A CHATHISTORY selector: `*`, msgid=..., timestamp=... (milliseconds).
struct HistorySelector {
  enum class Kind { none, msgid, time } kind = Kind::none;
  std::string msgid;
  std::int64_t time_ms = 0;
};

enum class HistoryQuery { latest, before, after, around, between };

struct HistoryTarget {
  std::string key;
  std::int64_t time_ms = 0;  ///< its latest message
};

struct HistoryStats {
  std::uint64_t appended = 0;  ///< handed to append()
  std::uint64_t written = 0;   ///< committed to the file
  std::uint64_t batches = 0;   ///< transactions that wrote them
  std::uint64_t dropped = 0;   ///< refused: queue full or a write error
  std::uint64_t deleted = 0;   ///< removed by retention
};

/// What the IRC core asks of a history (no SQLite in sight; HistoryStore is the implementation).
/// Called from the event loop's thread.
class History {
 public:
  virtual ~History() = default;
  virtual const HistoryOptions& options() const noexcept = 0;
  /// Queues a copy of `r` for the writer; never waits for the disk.
  virtual void append(const HistoryRecord& r) = 0;
  /// The same from a HistoryMessage (tests, tools).
  void append(const HistoryMessage& m) {
    append(HistoryRecord{m.msgid, m.time_ms, m.key, m.target, m.sender, m.command, m.text, m.tags, m.params});
  }
  /// The messages of `key` the query selects, oldest first, at most `limit` (and query_limit);
  /// events too when `events` (draft/event-playback), else PRIVMSG and NOTICE only.
  /// nullopt when a msgid selector names no message of `key`.
  virtual std::optional<std::vector<HistoryMessage>> query(const std::string& key, HistoryQuery kind,
                                                           const HistorySelector& a, const HistorySelector& b,
                                                           std::size_t limit, bool events = false) = 0;
  /// The keys among `channels`, and the private conversations of any of `selves` (a folded nick,
  /// "@account" for a logged-in user's conversations with other logged-in users), with a message
  /// between the two times (either order, exclusive), oldest latest-message first, at most `limit`.
  virtual std::vector<HistoryTarget> targets(const std::vector<std::string>& channels, const std::vector<std::string>& selves,
                                             std::int64_t from_ms, std::int64_t to_ms, std::size_t limit) = 0;

  /// query() without waiting: `done` gets the result, on another thread (HistoryStore's reader)
  /// or, by default, at once on the caller's. It sees every message appended before the call.
  using QueryDone = std::function<void(std::optional<std::vector<HistoryMessage>>)>;
  virtual void query_async(const std::string& key, HistoryQuery kind, const HistorySelector& a,
                           const HistorySelector& b, std::size_t limit, bool events, QueryDone done) {
    done(query(key, kind, a, b, limit, events));
  }
  /// targets() without waiting, as query_async().
  using TargetsDone = std::function<void(std::vector<HistoryTarget>)>;
  virtual void targets_async(const std::vector<std::string>& channels, const std::vector<std::string>& selves,
                             std::int64_t from_ms, std::int64_t to_ms, std::size_t limit, TargetsDone done) {
    done(targets(channels, selves, from_ms, to_ms, limit));
  }
};

class HistoryStore final : public History {
 public:
  /// Opens (creates, migrates) the database and starts the writer; null with `error` set when the
  /// file cannot be used (not a database, read-only, a newer schema, ...).
  static std::unique_ptr<HistoryStore> open(const HistoryOptions& options, std::string& error);
  /// Writes what is queued, then stops the writer.
  ~HistoryStore() override;
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  const HistoryOptions& options() const noexcept override;
  using History::append;
  void append(const HistoryRecord& r) override;
  std::optional<std::vector<HistoryMessage>> query(const std::string& key, HistoryQuery kind, const HistorySelector& a,
                                                   const HistorySelector& b, std::size_t limit,
                                                   bool events = false) override;
  std::vector<HistoryTarget> targets(const std::vector<std::string>& channels, const std::vector<std::string>& selves,
                                     std::int64_t from_ms, std::int64_t to_ms, std::size_t limit) override;
  /// On the reader thread (its own read-only connection: WAL lets it read while the writer
  /// writes), once the writer has stored every message appended before the call.
  void query_async(const std::string& key, HistoryQuery kind, const HistorySelector& a, const HistorySelector& b,
                   std::size_t limit, bool events, QueryDone done) override;
  void targets_async(const std::vector<std::string>& channels, const std::vector<std::string>& selves, std::int64_t from_ms,
                     std::int64_t to_ms, std::size_t limit, TargetsDone done) override;
  /// Runs the reads already started, drops those still queued (their `done` never runs) and
  /// stops the reader: call it before whatever the callbacks use (the event loops) goes away.
  /// Later reads run on the caller's thread. The destructor calls it too.
  void stop_reader();
  /// Waits until everything appended so far is written.
  void flush();
  /// Applies retention now (the writer also does it every retention_interval).
  void apply_retention();
  HistoryStats stats() const;

 private:
  struct Impl;
  explicit HistoryStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Every message of the history file `path` (a HistoryStore's, schema 1 or 2), opened read-only,
/// ordered by key, then time, then insertion (each key's order as queries see it); nullopt with
/// `error` ("PATH: reason") when the file is missing, not a sockit history database or newer.
/// For `sockit chat-server history import` (copying a single server's history into Redis).
std::optional<std::vector<HistoryMessage>> read_sqlite_history(const std::string& path, std::string& error);

/// "2026-11-25T13:00:00.000Z" (or without milliseconds) -> Unix milliseconds; nullopt if malformed.
/// Inline: the IRC core parses CHATHISTORY's timestamps with it without linking the store.
inline std::optional<std::int64_t> parse_iso8601_ms(std::string_view t) {
  // YYYY-MM-DDThh:mm:ss[.sss]Z
  auto num = [&](std::size_t at, std::size_t n, int& out) {
    if (at + n > t.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, sec, ms = 0;
  if (!num(0, 4, y) || t.size() < 20 || t[4] != '-' || !num(5, 2, mo) || t[7] != '-' || !num(8, 2, d) ||
      t[10] != 'T' || !num(11, 2, h) || t[13] != ':' || !num(14, 2, mi) || t[16] != ':' || !num(17, 2, sec)) {
    return std::nullopt;
  }
  std::size_t at = 19;
  if (t[at] == '.') {
    if (!num(at + 1, 3, ms)) return std::nullopt;
    at += 4;
  }
  if (at + 1 != t.size() || t[at] != 'Z') return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  // Days from civil (Howard Hinnant's algorithm).
  const int yy = y - (mo <= 2 ? 1 : 0);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = static_cast<unsigned>((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
  return ((days * 24 + h) * 60 + mi) * 60000 + static_cast<std::int64_t>(sec) * 1000 + ms;
}

}  // namespace sockit::store
