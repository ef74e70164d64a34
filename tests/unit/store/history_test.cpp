// store::HistoryStore: schema and migration, batched writes, the CHATHISTORY queries, retention,
// and files that cannot be used (not a database, newer schema, read-only). Temp files only.
#include "sockit/store/history.hpp"

#include <gtest/gtest.h>

#include "support/support.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sockit::store {
namespace {

// The database files live in one mkdtemp directory, removed with them when the test binary exits.
std::string temp_db(const std::string& name) {
  static const test::TempDir dir("sockit-history");
  std::string path = dir.file("history_" + name + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());  // --gtest_repeat
  return path;
}

HistoryMessage msg(std::string key, std::int64_t ms, std::string id, std::string text = "hi") {
  HistoryMessage m;
  m.msgid = std::move(id);
  m.time_ms = ms;
  m.target = key;
  m.key = std::move(key);
  m.sender = "alice!~alice@127.0.0.1";
  m.command = "PRIVMSG";
  m.text = std::move(text);
  return m;
}

std::string ids(const std::optional<std::vector<HistoryMessage>>& rows) {
  if (!rows) return "none";
  std::string out;
  for (const auto& m : *rows) out += (out.empty() ? "" : ",") + m.msgid;
  return out;
}

std::int64_t pragma(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
  std::int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

/// A store with ten messages m1..m10 in "#a" at 1000, 2000, ... ms, m5 and m6 sharing 5000 ms.
std::unique_ptr<HistoryStore> ten(const std::string& path) {
  std::string err;
  HistoryOptions o;
  o.path = path;
  auto s = HistoryStore::open(o, err);
  EXPECT_TRUE(s) << err;
  if (!s) return s;
  for (int i = 1; i <= 10; ++i) s->append(msg("#a", (i == 6 ? 5 : i) * 1000, "m" + std::to_string(i)));
  s->append(msg("#b", 3500, "other"));
  return s;
}

TEST(HistoryStore, CreatesVersionedWalFileAndKeepsMessagesAcrossReopen) {
  const std::string path = temp_db("reopen");
  {
    auto s = ten(path);
    ASSERT_TRUE(s);
    // The destructor writes what is queued.
  }
  EXPECT_EQ(pragma(path, "PRAGMA user_version"), 2);
  EXPECT_EQ(pragma(path, "SELECT count(*) FROM messages"), 11);
  std::string err;
  HistoryOptions o;
  o.path = path;
  auto s = HistoryStore::open(o, err);
  ASSERT_TRUE(s) << err;
  auto rows = s->query("#a", HistoryQuery::latest, {}, {}, 3);
  EXPECT_EQ(ids(rows), "m8,m9,m10");
  ASSERT_TRUE(rows);
  EXPECT_EQ((*rows)[0].sender, "alice!~alice@127.0.0.1");
  EXPECT_EQ((*rows)[0].time_ms, 8000);
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(HistoryStore, WritesInBatchesAndQueriesSeeWhatIsQueued) {
  const std::string path = temp_db("batches");
  std::string err;
  HistoryOptions o;
  o.path = path;
  o.flush_messages = 4;
  o.flush_interval = std::chrono::hours(1);  // only size, a query or flush() writes
  auto s = HistoryStore::open(o, err);
  ASSERT_TRUE(s) << err;
  for (int i = 0; i < 3; ++i) s->append(msg("#a", 1000 + i, "q" + std::to_string(i)));
  // A query runs after the queue is written, so it sees all three.
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::latest, {}, {}, 10)), "q0,q1,q2");
  s->flush();
  const HistoryStats st = s->stats();
  EXPECT_EQ(st.appended, 3u);
  EXPECT_EQ(st.written, 3u);
  EXPECT_EQ(st.batches, 1u);
  // Duplicate msgids are not stored twice.
  s->append(msg("#a", 5000, "q0"));
  s->flush();
  EXPECT_EQ(s->stats().written, 3u);
  EXPECT_EQ(s->stats().dropped, 1u);
}

// query_async: the answer comes on the store's reader thread (its own connection), after the
// writer has stored what was appended before the call (a flush interval of an hour: only the read
// makes the writer write); several reads in flight each get their own answer.
TEST(HistoryStore, QueryAsyncAnswersOnTheReaderAfterWhatWasAppended) {
  const std::string path = temp_db("async");
  std::string err;
  HistoryOptions o;
  o.path = path;
  o.flush_interval = std::chrono::hours(1);
  auto s = HistoryStore::open(o, err);
  ASSERT_TRUE(s) << err;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> got(3);
  std::vector<std::thread::id> threads(3);
  int answered = 0;
  for (int i = 0; i < 3; ++i) {
    s->append(msg("#a", 1000 + i, "a" + std::to_string(i)));
    s->query_async("#a", HistoryQuery::latest, {}, {}, 10, false, [&, i](std::optional<std::vector<HistoryMessage>> rows) {
      std::lock_guard lock(mu);
      got[static_cast<std::size_t>(i)] = ids(rows);
      threads[static_cast<std::size_t>(i)] = std::this_thread::get_id();
      ++answered;
      cv.notify_all();
    });
  }
  bool targets_done = false;
  std::vector<HistoryTarget> found;
  s->targets_async({"#a"}, {"nobody"}, 0, 10000, 10, [&](std::vector<HistoryTarget> t) {
    std::lock_guard lock(mu);
    found = std::move(t);
    targets_done = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return answered == 3 && targets_done; }));
  // Each sees at least what came before it (the writer may have taken the later ones too).
  EXPECT_TRUE(got[0] == "a0" || got[0] == "a0,a1" || got[0] == "a0,a1,a2") << got[0];
  EXPECT_TRUE(got[1] == "a0,a1" || got[1] == "a0,a1,a2") << got[1];
  EXPECT_EQ(got[2], "a0,a1,a2");
  EXPECT_NE(threads[0], std::this_thread::get_id());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].key, "#a");
  EXPECT_EQ(found[0].time_ms, 1002);
}

// After stop_reader() (the chat server calls it before its loops go) reads run on the caller's
// thread, still after what was appended; the store still writes and closes cleanly.
TEST(HistoryStore, AfterStopReaderReadsRunOnTheCaller) {
  const std::string path = temp_db("stopreader");
  auto s = ten(path);
  ASSERT_TRUE(s);
  s->stop_reader();
  s->append(msg("#a", 20000, "late"));
  std::thread::id where;
  std::string got;
  s->query_async("#a", HistoryQuery::latest, {}, {}, 2, false, [&](std::optional<std::vector<HistoryMessage>> rows) {
    where = std::this_thread::get_id();
    got = ids(rows);
  });
  EXPECT_EQ(where, std::this_thread::get_id());
  EXPECT_EQ(got, "m10,late");
  EXPECT_EQ(ids(s->query("#b", HistoryQuery::latest, {}, {}, 5)), "other");
}

// The queue's slots are reused batch after batch (append copies into a slot's strings): a short
// message after a long one in the same slot comes back exact, tags and all, over several batches.
TEST(HistoryStore, ReusedQueueSlotsKeepEachMessageExact) {
  const std::string path = temp_db("slots");
  std::string err;
  HistoryOptions o;
  o.path = path;
  auto s = HistoryStore::open(o, err);
  ASSERT_TRUE(s) << err;
  std::vector<std::string> texts;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) {
      const int n = round * 4 + i;
      std::string text(static_cast<std::size_t>(round == 1 ? 2 : 300 - n), static_cast<char>('a' + n));
      HistoryMessage m = msg("#s", 1000 + n, "s" + std::to_string(n), text);
      if (round != 1) m.tags = "+draft/reply=" + std::to_string(n);
      s->append(m);
      texts.push_back(text);
    }
    s->flush();  // the writer takes the batch; the next round reuses the slots
  }
  auto rows = s->query("#s", HistoryQuery::latest, {}, {}, 100);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ((*rows)[i].text, texts[i]) << i;
    EXPECT_EQ((*rows)[i].msgid, "s" + std::to_string(i));
    EXPECT_EQ((*rows)[i].tags, i / 4 == 1 ? "" : "+draft/reply=" + std::to_string(i)) << i;
    EXPECT_EQ((*rows)[i].sender, "alice!~alice@127.0.0.1");
  }
  EXPECT_EQ(s->stats().written, texts.size());
  s.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

TEST(HistoryStore, SelectorsOfEveryQuery) {
  const std::string path = temp_db("queries");
  auto s = ten(path);
  ASSERT_TRUE(s);
  using K = HistorySelector::Kind;
  auto id = [](std::string m) { return HistorySelector{K::msgid, std::move(m), 0}; };
  auto at = [](std::int64_t ms) { return HistorySelector{K::time, "", ms}; };
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::latest, {}, {}, 100)), "m1,m2,m3,m4,m5,m6,m7,m8,m9,m10");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::latest, id("m7"), {}, 2)), "m9,m10");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::latest, at(8000), {}, 5)), "m9,m10");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::before, id("m6"), {}, 2)), "m4,m5");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::before, at(5000), {}, 3)), "m2,m3,m4");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::after, id("m5"), {}, 2)), "m6,m7");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::after, at(5000), {}, 2)), "m7,m8");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::around, id("m4"), {}, 4)), "m2,m3,m4,m5");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::between, id("m2"), id("m5"), 10)), "m3,m4");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::between, id("m9"), id("m2"), 2)), "m7,m8");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::between, at(1500), at(4500), 10)), "m2,m3,m4");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::before, id("other"), {}, 10)), "none");  // another key's msgid
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::after, id("nope"), {}, 10)), "none");
  EXPECT_EQ(ids(s->query("#c", HistoryQuery::latest, {}, {}, 10)), "");
}

TEST(HistoryStore, QueryLimitCapsEveryQuery) {
  const std::string path = temp_db("limit");
  std::string err;
  HistoryOptions o;
  o.path = path;
  o.query_limit = 3;
  auto s = HistoryStore::open(o, err);
  ASSERT_TRUE(s) << err;
  for (int i = 1; i <= 5; ++i) s->append(msg("#a", i, "l" + std::to_string(i)));
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::latest, {}, {}, 1000)), "l3,l4,l5");
  EXPECT_EQ(s->options().query_limit, 3u);
}

TEST(HistoryStore, TargetsListsChannelsAndOwnConversations) {
  const std::string path = temp_db("targets");
  auto s = ten(path);
  ASSERT_TRUE(s);
  s->append(msg("alice bob", 2500, "d1"));
  s->append(msg("bob carol", 2600, "d2"));
  s->append(msg("al bob", 2700, "d3"));  // "al" is not "alice"
  auto t = s->targets({"#a", "#b", "#none"}, {"bob"}, 0, 20000, 10);
  std::string got;
  for (const auto& x : t) got += x.key + "@" + std::to_string(x.time_ms) + " ";
  EXPECT_EQ(got, "alice bob@2500 bob carol@2600 al bob@2700 #b@3500 #a@10000 ");
  t = s->targets({"#a", "#b"}, {"alice"}, 20000, 3000, 10);  // either order; alice is in no conversation then
  got.clear();
  for (const auto& x : t) got += x.key + " ";
  EXPECT_EQ(got, "#b #a ");
  EXPECT_EQ(s->targets({"#a", "#b"}, {"x"}, 0, 20000, 1).size(), 1u);
  // A logged-in user is itself twice: its nick (conversations with guests) and "@account".
  s->append(msg("@alice @dave", 2800, "d4"));
  s->append(msg("@bob @carol", 2900, "d5"));
  t = s->targets({}, {"alice", "@alice"}, 0, 20000, 10);
  got.clear();
  for (const auto& x : t) got += x.key + " ";
  EXPECT_EQ(got, "alice bob @alice @dave ");
}

TEST(HistoryStore, RetentionByCountPerKeyAndByAge) {
  const std::string path = temp_db("retention");
  std::string err;
  HistoryOptions o;
  o.path = path;
  o.max_messages = 3;
  auto s = HistoryStore::open(o, err);
  ASSERT_TRUE(s) << err;
  for (int i = 1; i <= 6; ++i) s->append(msg("#a", i * 1000, "r" + std::to_string(i)));
  s->append(msg("#b", 1000, "b1"));
  s->apply_retention();
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::latest, {}, {}, 10)), "r4,r5,r6");
  EXPECT_EQ(ids(s->query("#b", HistoryQuery::latest, {}, {}, 10)), "b1");
  EXPECT_EQ(s->stats().deleted, 3u);
  s.reset();
  o.max_messages = 0;
  o.max_age = std::chrono::hours(1);  // every message above is from 1970
  s = HistoryStore::open(o, err);
  ASSERT_TRUE(s) << err;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  s->append(msg("#a", now, "fresh"));
  s->apply_retention();
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::latest, {}, {}, 10)), "fresh");
  EXPECT_EQ(ids(s->query("#b", HistoryQuery::latest, {}, {}, 10)), "");
}

// A file of schema version 1 (before events had their params column), as the previous sockit
// left it: opened, migrated to 2 in place, its rows kept and readable, new rows with params.
TEST(HistoryStore, MigratesAVersion1File) {
  const std::string path = temp_db("v1");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "PRAGMA journal_mode=WAL;"
                           "CREATE TABLE messages (id INTEGER PRIMARY KEY, msgid TEXT NOT NULL UNIQUE, key TEXT NOT NULL,"
                           " target TEXT NOT NULL, time_ms INTEGER NOT NULL, sender TEXT NOT NULL, command TEXT NOT NULL,"
                           " text TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '');"
                           "CREATE INDEX messages_key_time ON messages(key, time_ms, id);"
                           "CREATE INDEX messages_time ON messages(time_ms);"
                           "INSERT INTO messages(msgid, key, target, time_ms, sender, command, text, tags) VALUES"
                           " ('old1', '#a', '#a', 1000, 'al!~al@h', 'PRIVMSG', 'from v1', '+x=1');"
                           "PRAGMA user_version=1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  std::string err;
  HistoryOptions o;
  o.path = path;
  auto s = HistoryStore::open(o, err);
  ASSERT_TRUE(s) << err;
  EXPECT_EQ(pragma(path, "PRAGMA user_version"), 2);
  HistoryMessage join = msg("#a", 2000, "ev1");
  join.command = "JOIN";
  join.text.clear();
  join.params = "JOIN #a";
  s->append(join);
  auto rows = s->query("#a", HistoryQuery::latest, {}, {}, 10, true);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].msgid, "old1");
  EXPECT_EQ((*rows)[0].text, "from v1");
  EXPECT_EQ((*rows)[0].tags, "+x=1");
  EXPECT_EQ((*rows)[0].params, "");
  EXPECT_EQ((*rows)[1].params, "JOIN #a");
  // Without events (a client without draft/event-playback) the JOIN is not there, and the limit
  // counts messages only.
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::latest, {}, {}, 1)), "old1");
  EXPECT_EQ(ids(s->query("#a", HistoryQuery::latest, {}, {}, 1, true)), "ev1");
}

TEST(HistoryStore, RefusesAFileThatIsNotADatabase) {
  const std::string path = temp_db("garbage");
  {
    std::ofstream f(path);
    f << std::string(8192, 'x');
  }
  std::string err;
  HistoryOptions o;
  o.path = path;
  EXPECT_FALSE(HistoryStore::open(o, err));
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_NE(err.find("not a database"), std::string::npos) << err;
}

TEST(HistoryStore, RefusesANewerSchemaAndADirectory) {
  const std::string path = temp_db("newer");
  {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  std::string err;
  HistoryOptions o;
  o.path = path;
  EXPECT_FALSE(HistoryStore::open(o, err));
  EXPECT_NE(err.find("schema version 99 is newer"), std::string::npos) << err;
  o.path = ::testing::TempDir();
  EXPECT_FALSE(HistoryStore::open(o, err));
  EXPECT_NE(err.find("cannot open"), std::string::npos) << err;
}

TEST(HistoryStore, RefusesAReadOnlyFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes read-only files (the integration test uses a read-only WAL dir)";
  const std::string path = temp_db("readonly");
  {
    std::string err;
    HistoryOptions o;
    o.path = path;
    ASSERT_TRUE(HistoryStore::open(o, err)) << err;
  }
  ::chmod(path.c_str(), 0444);
  std::string err;
  HistoryOptions o;
  o.path = path;
  EXPECT_FALSE(HistoryStore::open(o, err));
  EXPECT_NE(err.find("read-only"), std::string::npos) << err;
}

TEST(HistoryStore, ParsesServerTimeTimestamps) {
  EXPECT_EQ(parse_iso8601_ms("1970-01-01T00:00:01.500Z"), 1500);
  EXPECT_EQ(parse_iso8601_ms("2026-11-25T13:00:00Z"), 1795611600000);
  EXPECT_EQ(parse_iso8601_ms("2000-02-29T00:00:00.000Z"), 951782400000);
  for (const char* bad : {"", "2026-11-25", "2026-11-25T13:00:00", "2026-13-01T00:00:00Z", "2026-11-25T13:00:00.5Z",
                          "2026-11-25T13:00:00.000Zx", "x026-11-25T13:00:00Z"}) {
    EXPECT_FALSE(parse_iso8601_ms(bad)) << bad;
  }
}

}  // namespace
}  // namespace sockit::store
