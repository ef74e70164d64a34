// `sockit chat-server` with [history] over real loopback sockets: msgid tags, the draft/chathistory
// cap and ISUPPORT, every CHATHISTORY subcommand, the FAIL replies, history across a SIGTERM
// restart and a SIGKILL (at most the unflushed batch lost), and database files that cannot be used.
#include "irc_client.hpp"

#include <sqlite3.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace sockit;
using namespace sockit::irc::itest;
using namespace std::chrono_literals;

namespace {

// A directory of its own per test (test::TempDir): ctest runs a test and its faults.* twin at the
// same time, and a shared file name let each read the other's history.
struct HistoryFiles : test::TempDir {
  std::string conf, db;
  explicit HistoryFiles(const std::string& name, const std::string& extra = "")
      : test::TempDir("sockit-chathistory"),
        conf(file("chathistory_" + name + ".toml")),
        db(file("chathistory_" + name + ".db")) {
    std::ofstream f(conf);
    f << "[flood]\nrate = 0\n[history]\nenabled = true\ndb = \"" << db << "\"\n" << extra;
  }
};

/// Registers with the caps history clients ask for.
void register_with_caps(Client& c, const std::string& nick,
                        const std::string& caps = "draft/chathistory batch server-time message-tags echo-message") {
  c.send("CAP LS 302");
  c.send("CAP REQ :" + caps);
  c.expect("CAP");  // LS
  EXPECT_NE(c.expect("CAP").find(" ACK "), std::string::npos) << c.dump();
  c.send("CAP END");
  c.register_as(nick);
}

std::string tag_of(const std::string& line, std::string_view key) {
  if (line.empty() || line[0] != '@') return "";
  const std::string tags = line.substr(1, line.find(' ') - 1);
  for (std::size_t at = 0; at <= tags.size();) {
    std::size_t end = tags.find(';', at);
    if (end == std::string::npos) end = tags.size();
    const std::string_view t = std::string_view(tags).substr(at, end - at);
    if (t.starts_with(key) && t.size() > key.size() && t[key.size()] == '=') return std::string(t.substr(key.size() + 1));
    at = end + 1;
  }
  return "";
}

std::string trailing(const std::string& line) {
  auto p = irc::parse(line);
  return p && !p.message->params.empty() ? p.message->params.back() : std::string();
}

/// Sends `cmd` and reads its chathistory batch: the lines inside (tags kept), or the FAIL line.
struct Reply {
  std::vector<std::string> lines;
  std::string open;  ///< the BATCH + line
  std::string fail;  ///< a FAIL line instead
  std::string texts() const {
    std::string out;
    for (const auto& l : lines) out += (out.empty() ? "" : ",") + trailing(l);
    return out;
  }
};
Reply history(Client& c, const std::string& cmd) {
  c.send(cmd);
  Reply r;
  std::string first = c.expect_any({"BATCH", "FAIL", "421"});
  if (first.empty()) return r;
  auto p = irc::parse(first);
  if (p.message->command != "BATCH") {
    r.fail = first[0] == '@' ? first.substr(first.find(' ') + 1) : first;  // without the server-time tag
    return r;
  }
  r.open = first;
  const std::string ref = p.message->params[0].substr(1);
  while (auto l = c.line(5s)) {
    auto q = irc::parse(*l);
    if (q && q.message->command == "BATCH" && q.message->params[0] == "-" + ref) return r;
    EXPECT_EQ(tag_of(*l, "batch"), ref) << *l;
    r.lines.push_back(*l);
  }
  ADD_FAILURE() << "no end of batch " << ref;
  return r;
}

/// Messages alice sends to `target` (echo-message): their msgids, in order.
std::vector<std::string> say(Client& c, const std::string& target, const std::vector<std::string>& texts) {
  std::vector<std::string> ids;
  for (const auto& t : texts) {
    c.send("PRIVMSG " + target + " :" + t);
    const std::string echo = c.expect("PRIVMSG");
    EXPECT_EQ(trailing(echo), t);
    ids.push_back(tag_of(echo, "msgid"));
    EXPECT_FALSE(ids.back().empty()) << echo;
  }
  return ids;
}

std::int64_t rows_in(const std::string& db) {
  sqlite3* h = nullptr;
  std::int64_t n = -1;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM messages WHERE command IN ('PRIVMSG', 'NOTICE')", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return n;
}

}  // namespace

TEST(ChatHistory, CapAndIsupportOnlyWithHistory) {
  HistoryFiles f("caps", "query_limit = 42\n");
  ChatServer srv({"--config", f.conf});
  Client a(srv.address());
  a.send("CAP LS 302");
  EXPECT_NE(a.expect("CAP").find("draft/chathistory"), std::string::npos) << a.dump();
  a.send("CAP END");
  a.register_as("alice");
  bool isupport = false;
  for (const auto& l : a.seen()) isupport = isupport || l.find(" CHATHISTORY=42 ") != std::string::npos;
  EXPECT_TRUE(isupport) << a.dump();
  ChatServer plain({"--no-flood-control"});
  Client b(plain.address());
  b.send("CAP LS 302");
  EXPECT_EQ(b.expect("CAP").find("draft/chathistory"), std::string::npos) << b.dump();
  b.send("CAP REQ :draft/chathistory");
  EXPECT_NE(b.expect("CAP").find(" NAK "), std::string::npos) << b.dump();
  b.send("CAP END");
  b.register_as("bob");
  b.send("CHATHISTORY LATEST #x * 10");
  EXPECT_NE(b.expect("421").find("CHATHISTORY"), std::string::npos);
}

TEST(ChatHistory, EverySubcommand) {
  HistoryFiles f("subcommands");
  ChatServer srv({"--config", f.conf});
  Client a(srv.address()), b(srv.address());
  register_with_caps(a, "alice");
  register_with_caps(b, "bob", "batch server-time message-tags");
  a.send("JOIN #h");
  a.expect("366");
  b.send("JOIN #h");
  b.expect("366");
  const auto ids = say(a, "#h", {"m1", "m2", "m3", "m4", "m5", "m6"});
  // bob got the same msgids as alice's echo.
  for (const auto& id : ids) EXPECT_EQ(tag_of(b.expect("PRIVMSG"), "msgid"), id);

  Reply r = history(b, "CHATHISTORY LATEST #h * 3");
  EXPECT_NE(r.open.find("BATCH +"), std::string::npos);
  EXPECT_NE(r.open.find(" chathistory #h"), std::string::npos) << r.open;
  EXPECT_EQ(r.texts(), "m4,m5,m6");
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(tag_of(r.lines[0], "msgid"), ids[3]);
  EXPECT_FALSE(tag_of(r.lines[0], "time").empty());
  EXPECT_NE(r.lines[0].find(" :alice!~alice@127.0.0.1 PRIVMSG #h :m4"), std::string::npos) << r.lines[0];
  EXPECT_EQ(history(b, "CHATHISTORY LATEST #h msgid=" + ids[3] + " 10").texts(), "m5,m6");
  EXPECT_EQ(history(b, "CHATHISTORY BEFORE #h msgid=" + ids[3] + " 2").texts(), "m2,m3");
  EXPECT_EQ(history(b, "CHATHISTORY AFTER #h msgid=" + ids[1] + " 2").texts(), "m3,m4");
  EXPECT_EQ(history(b, "CHATHISTORY AROUND #h msgid=" + ids[2] + " 3").texts(), "m2,m3,m4");
  EXPECT_EQ(history(b, "CHATHISTORY BETWEEN #h msgid=" + ids[0] + " msgid=" + ids[4] + " 10").texts(), "m2,m3,m4");
  EXPECT_EQ(history(b, "CHATHISTORY BETWEEN #h msgid=" + ids[5] + " msgid=" + ids[0] + " 2").texts(), "m4,m5");
  // Timestamps: everything before a time far ahead, nothing after it.
  EXPECT_EQ(history(b, "CHATHISTORY BEFORE #h timestamp=2999-01-01T00:00:00.000Z 2").texts(), "m5,m6");
  EXPECT_EQ(history(b, "chathistory after #H timestamp=2999-01-01T00:00:00.000Z 5").texts(), "");
  EXPECT_EQ(history(b, "CHATHISTORY AFTER #h timestamp=2000-01-01T00:00:00Z 1").texts(), "m1");
  // An unknown msgid: an empty batch.
  EXPECT_EQ(history(b, "CHATHISTORY AFTER #h msgid=nope 5").lines.size(), 0u);
  // labeled-response: the chathistory batch nests in the labeled one, its lines keep their own tag.
  Client l(srv.address());
  register_with_caps(l, "lena", "draft/chathistory batch labeled-response");
  l.send("JOIN #h");
  l.expect("366");
  l.send("@label=q1 CHATHISTORY LATEST #h * 2");
  const std::string outer = l.expect("BATCH");
  EXPECT_EQ(outer.rfind("@label=q1 :irc.sockit.local BATCH +", 0), 0u) << outer;
  const std::string outer_ref = outer.substr(outer.find('+') + 1, outer.find(' ', outer.find('+')) - outer.find('+') - 1);
  const std::string inner = l.expect("BATCH");
  EXPECT_EQ(inner.rfind("@batch=" + outer_ref + " :irc.sockit.local BATCH +", 0), 0u) << inner;
  EXPECT_NE(inner.find(" chathistory #h"), std::string::npos) << inner;
  const std::string inner_ref = inner.substr(inner.find('+') + 1, inner.find(' ', inner.find('+')) - inner.find('+') - 1);
  EXPECT_EQ(l.expect("PRIVMSG"), "@batch=" + inner_ref + " :alice!~alice@127.0.0.1 PRIVMSG #h :m5");
  EXPECT_EQ(l.expect("PRIVMSG"), "@batch=" + inner_ref + " :alice!~alice@127.0.0.1 PRIVMSG #h :m6");
  EXPECT_EQ(l.expect("BATCH"), "@batch=" + outer_ref + " :irc.sockit.local BATCH -" + inner_ref);
  EXPECT_EQ(l.expect("BATCH"), ":irc.sockit.local BATCH -" + outer_ref);

  // Private messages: each side sees the conversation under the other's nick.
  a.send("PRIVMSG bob :psst");
  a.expect("PRIVMSG");
  b.expect("PRIVMSG");
  b.send("PRIVMSG alice :what");
  a.expect("PRIVMSG");
  EXPECT_EQ(history(a, "CHATHISTORY LATEST bob * 10").texts(), "psst,what");
  EXPECT_EQ(history(b, "CHATHISTORY LATEST ALICE * 10").texts(), "psst,what");
  Client c(srv.address());
  register_with_caps(c, "carol");
  EXPECT_EQ(history(c, "CHATHISTORY LATEST alice * 10").texts(), "");  // not carol's conversation

  // TARGETS: the channel and the conversation, with their latest times.
  b.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z 10");
  std::string open = b.expect("BATCH");
  EXPECT_NE(open.find("draft/chathistory-targets"), std::string::npos) << open;
  std::string t1 = b.expect("CHATHISTORY"), t2 = b.expect("CHATHISTORY");
  EXPECT_NE(t1.find("CHATHISTORY TARGETS #h timestamp="), std::string::npos) << t1;
  EXPECT_NE(t2.find("CHATHISTORY TARGETS alice timestamp="), std::string::npos) << t2;
  EXPECT_EQ(irc::parse(b.expect("BATCH")).message->params[0][0], '-');
}

/// `n` messages "n0".."n{n-1}" from `c` to `target` in one write (no echo-message: a PING after
/// them proves they were all handled).
void fill(Client& c, const std::string& target, int n) {
  std::string bulk;
  for (int i = 0; i < n; ++i) bulk += "PRIVMSG " + target + " :n" + std::to_string(i) + "\r\n";
  c.raw(bulk + "PING :filled\r\n");
  c.expect("PONG", 20s);
}

// The reply is read on the store's reader thread and sent from the loop: the commands a client
// sends after CHATHISTORY (in the same write) are answered after the whole reply, labeled or not.
TEST(ChatHistory, LaterCommandsAreAnsweredAfterTheReply) {
  HistoryFiles f("order", "query_limit = 500\n");
  ChatServer srv({"--config", f.conf});
  Client a(srv.address()), b(srv.address());
  register_with_caps(a, "alice", "batch");
  register_with_caps(b, "bob", "draft/chathistory batch labeled-response");
  a.send("JOIN #o");
  a.expect("366");
  b.send("JOIN #o");
  b.expect("366");
  fill(a, "#o", 300);
  b.raw("CHATHISTORY LATEST #o * 300\r\nPING :after\r\n@label=q7 CHATHISTORY LATEST #o * 2\r\n@label=p8 PING :labeled\r\n");
  // What bob gets, in order: the batches, the history lines (batch tag: bob's live copies of the
  // channel lines came before and have none) and the PONGs, with their labels.
  std::vector<std::string> got;
  while (auto l = b.line(10s)) {
    auto p = irc::parse(*l);
    if (!p) continue;
    const std::string& cmd = p.message->command;
    const std::string label = tag_of(*l, "label");
    if (cmd == "PRIVMSG" && !tag_of(*l, "batch").empty()) got.push_back("PRIVMSG " + p.message->params.back());
    if (cmd == "BATCH") got.push_back(label.empty() ? "BATCH" : "BATCH label=" + label);
    if (cmd == "PONG") got.push_back("PONG " + p.message->params.back() + (label.empty() ? "" : " label=" + label));
    if (cmd == "PONG" && p.message->params.back() == "labeled") break;
  }
  // BATCH +, n0..n299, BATCH -, PONG after, then the labeled batch around the chathistory batch of
  // n298 and n299, then the labeled PONG.
  ASSERT_EQ(got.size(), 310u) << b.dump();
  EXPECT_EQ(got[0], "BATCH");
  for (int i = 0; i < 300; ++i) EXPECT_EQ(got[static_cast<std::size_t>(1 + i)], "PRIVMSG n" + std::to_string(i));
  EXPECT_EQ(got[301], "BATCH");
  EXPECT_EQ(got[302], "PONG after");
  EXPECT_EQ(got[303], "BATCH label=q7");
  EXPECT_EQ(got[304], "BATCH");
  EXPECT_EQ(got[305], "PRIVMSG n298");
  EXPECT_EQ(got[306], "PRIVMSG n299");
  EXPECT_EQ(got[307], "BATCH");
  EXPECT_EQ(got[308], "BATCH");
  EXPECT_EQ(got[309], "PONG labeled label=p8");
}

// Clients that ask for a big reply and close at once (the read still running on the reader
// thread, or its wake already posted) cost nothing: the server (ASan build) answers the next client
// and exits cleanly on SIGTERM.
TEST(ChatHistory, ClientsThatLeaveBeforeTheReplyAreFine) {
  HistoryFiles f("leave", "query_limit = 2000\n");
  ChatServer srv({"--config", f.conf});
  Client a(srv.address());
  register_with_caps(a, "alice", "batch");
  a.send("JOIN #big");
  a.expect("366");
  fill(a, "#big", 2000);
  for (int i = 0; i < 12; ++i) {
    Client q(srv.address());
    register_with_caps(q, "q" + std::to_string(i));
    q.send("JOIN #big");
    q.expect("366");
    // Half leave with a QUIT behind the request (held, then run after the reply), half just close.
    q.raw(i % 2 ? "CHATHISTORY LATEST #big * 2000\r\nQUIT :bye\r\n" : "CHATHISTORY LATEST #big * 2000\r\n");
  }  // each closes here
  Client b(srv.address());
  register_with_caps(b, "bob");
  b.send("JOIN #big");
  b.expect("366");
  Reply r = history(b, "CHATHISTORY LATEST #big * 3");
  EXPECT_EQ(r.texts(), "n1997,n1998,n1999");
  srv.child().signal(SIGTERM);
  EXPECT_EQ(srv.child().wait(10s), 0);
}

/// Registers `nick` and an account of the same name (REGISTER before CAP END: logged in), with
/// the history caps.
void register_account(Client& c, const std::string& nick) {
  c.send("CAP LS 302");
  c.expect("CAP");
  c.send("CAP REQ :draft/chathistory batch server-time message-tags echo-message");
  EXPECT_NE(c.expect("CAP").find(" ACK "), std::string::npos) << c.dump();
  c.send("NICK " + nick);
  c.send("REGISTER * * :a fine password");
  EXPECT_NE(c.expect_any({"REGISTER", "FAIL"}, 60s).find("REGISTER SUCCESS " + nick), std::string::npos) << c.dump();
  c.expect("900");
  c.send("CAP END");
  c.send("USER " + nick + " 0 * :Test");
  c.expect("001");
}

std::vector<std::string> targets_of(Client& c) {
  c.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z 10");
  c.expect("BATCH");
  std::vector<std::string> out;
  while (auto l = c.line(5s)) {
    auto p = irc::parse(*l);
    if (!p || p.message->command == "BATCH") break;
    if (p.message->command == "CHATHISTORY") out.push_back(p.message->params[1]);
  }
  return out;
}

// Both sides logged in: the conversation belongs to the two accounts. It follows a nick change,
// and a guest who takes the nick afterwards neither sees it nor adds to it; a guest's own
// conversation is keyed by nicks as before.
TEST(ChatHistory, PrivateHistoryFollowsAccountsNotNicks) {
  HistoryFiles f("accounts");
  ChatServer srv({"--config", f.conf, "--accounts-db", f.file("accounts.db")});
  Client a(srv.address()), b(srv.address());
  register_account(a, "alice");
  register_account(b, "bob");
  say(a, "bob", {"one"});
  b.expect("PRIVMSG");
  b.send("NICK bobby");
  b.expect("NICK");
  EXPECT_EQ(history(a, "CHATHISTORY LATEST bobby * 10").texts(), "one");
  say(b, "alice", {"two"});
  EXPECT_EQ(trailing(a.expect("PRIVMSG")), "two");
  EXPECT_EQ(history(b, "CHATHISTORY LATEST alice * 10").texts(), "one,two");
  // A guest takes the nick "bob": not its conversation.
  Client g(srv.address());
  register_with_caps(g, "bob");
  EXPECT_EQ(history(g, "CHATHISTORY LATEST alice * 10").texts(), "");
  EXPECT_TRUE(targets_of(g).empty());
  say(a, "bob", {"guest"});
  g.expect("PRIVMSG");
  EXPECT_EQ(history(g, "CHATHISTORY LATEST alice * 10").texts(), "guest");
  EXPECT_EQ(history(a, "CHATHISTORY LATEST bob * 10").texts(), "guest");  // the nick bob: the guest
  EXPECT_EQ(history(a, "CHATHISTORY LATEST bobby * 10").texts(), "one,two");
  // alice's targets: the account conversation under bob's nick now, the guest's under its nick.
  const auto t = targets_of(a);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0], "bobby");
  EXPECT_EQ(t[1], "bob");
  // bob gone: his account's name still finds the conversation for alice.
  b.send("QUIT");
  EXPECT_TRUE(b.closed_within(5s));
  g.send("NICK guest");
  g.expect("NICK");
  EXPECT_EQ(history(a, "CHATHISTORY LATEST bob * 10").texts(), "one,two");
}

/// "COMMAND nick" per line of a reply (the sender's nick).
std::string events_of(const Reply& r) {
  std::string out;
  for (const auto& l : r.lines) {
    auto p = irc::parse(l);
    if (!p) continue;
    const std::string& prefix = p.message->prefix;
    out += (out.empty() ? "" : ",") + p.message->command + " " + prefix.substr(0, prefix.find('!'));
  }
  return out;
}

// draft/event-playback: JOIN, PART, QUIT, KICK, TOPIC and MODE are kept with the messages and
// replayed, as they went out, only to a client that negotiated the cap; the others get the
// messages alone (and a limit counts messages only).
TEST(ChatHistory, EventPlaybackOnlyForClientsThatAskedForIt) {
  HistoryFiles f("events");
  ChatServer srv({"--config", f.conf});
  Client a(srv.address()), b(srv.address()), c(srv.address()), d(srv.address());
  register_with_caps(a, "alice");
  for (auto [cl, nick] : {std::pair{&b, "bob"}, {&c, "carol"}, {&d, "dave"}}) cl->register_as(nick);
  a.send("JOIN #ev");
  a.expect("366");
  b.send("JOIN #ev");
  b.expect("366");
  say(a, "#ev", {"hello"});
  a.send("TOPIC #ev :news");
  a.expect("TOPIC");
  a.send("MODE #ev +v bob");
  a.expect("MODE");
  b.send("PART #ev :later");
  b.expect("PART");
  c.send("JOIN #ev");
  c.expect("366");
  c.send("QUIT :gone");
  EXPECT_TRUE(c.closed_within(5s));
  d.send("JOIN #ev");
  d.expect("366");
  a.send("KICK #ev dave :out");
  d.expect("KICK");
  Client e(srv.address());
  e.send("CAP LS 302");
  EXPECT_NE(e.expect("CAP").find("draft/event-playback"), std::string::npos) << e.dump();
  e.send("CAP REQ :draft/chathistory draft/event-playback batch message-tags");
  EXPECT_NE(e.expect("CAP").find(" ACK "), std::string::npos) << e.dump();
  e.send("CAP END");
  e.register_as("eve");
  e.send("JOIN #ev");
  e.expect("366");
  Reply r = history(e, "CHATHISTORY LATEST #ev * 50");
  EXPECT_EQ(events_of(r),
            "JOIN alice,JOIN bob,PRIVMSG alice,TOPIC alice,MODE alice,PART bob,JOIN carol,QUIT carol,JOIN dave,"
            "KICK alice,JOIN eve")
      << e.dump();
  ASSERT_EQ(r.lines.size(), 11u);
  // Each as it went out, with a msgid of its own.
  EXPECT_NE(r.lines[3].find(" :alice!~alice@127.0.0.1 TOPIC #ev :news"), std::string::npos) << r.lines[3];
  EXPECT_NE(r.lines[4].find(" :alice!~alice@127.0.0.1 MODE #ev +v :bob"), std::string::npos) << r.lines[4];
  EXPECT_NE(r.lines[5].find(" :bob!~bob@127.0.0.1 PART #ev :later"), std::string::npos) << r.lines[5];
  EXPECT_NE(r.lines[7].find(" :carol!~carol@127.0.0.1 QUIT :Quit: gone"), std::string::npos) << r.lines[7];
  EXPECT_NE(r.lines[9].find(" :alice!~alice@127.0.0.1 KICK #ev dave :out"), std::string::npos) << r.lines[9];
  EXPECT_FALSE(tag_of(r.lines[9], "msgid").empty()) << r.lines[9];
  // A limit of 2 with events: the last two events.
  EXPECT_EQ(events_of(history(e, "CHATHISTORY LATEST #ev * 2")), "KICK alice,JOIN eve");
  // Without the cap: the message alone, even with a limit of 1.
  EXPECT_EQ(history(a, "CHATHISTORY LATEST #ev * 50").texts(), "hello");
  EXPECT_EQ(history(a, "CHATHISTORY LATEST #ev * 1").texts(), "hello");
}

// draft/event-playback (#18): a member's NICK change is kept in the channel's history (under the
// old mask), and a JOIN is kept in the extended-join form: a client with extended-join gets the
// account and real name as they were, one without gets the plain JOIN.
TEST(ChatHistory, EventPlaybackKeepsNickChangesAndTheExtendedJoin) {
  HistoryFiles f("nickjoin");
  ChatServer srv({"--config", f.conf, "--accounts-db", f.file("accounts.db")});
  Client a(srv.address());
  register_with_caps(a, "alice");
  a.send("JOIN #nj");
  a.expect("366");
  Client b(srv.address());  // registers the account "newbie" before connecting (logged in: 900)
  b.send("CAP LS 302");
  EXPECT_NE(b.expect("CAP").find("draft/account-registration"), std::string::npos) << b.dump();
  b.send("NICK newbie");
  b.send("REGISTER * * :a fine password");
  EXPECT_NE(b.expect_any({"REGISTER", "FAIL"}, 30s).find("REGISTER SUCCESS newbie"), std::string::npos) << b.dump();
  b.expect("900");
  b.send("USER nb 0 * :Real Newbie");
  b.send("CAP END");
  b.expect_any({"376", "422"});
  b.send("JOIN #nj");
  b.expect("366");
  b.send("NICK newbie2");
  EXPECT_EQ(b.expect("NICK"), ":newbie!~nb@127.0.0.1 NICK :newbie2");
  Client lone(srv.address());  // a NICK change outside any channel is in no channel's history
  lone.register_as("lone");
  lone.send("NICK lone2");
  lone.expect("NICK");
  Client e(srv.address()), p(srv.address());
  register_with_caps(e, "eve", "draft/chathistory draft/event-playback batch message-tags extended-join");
  register_with_caps(p, "pat", "draft/chathistory draft/event-playback batch message-tags");
  for (Client* c : {&e, &p}) {
    c->send("JOIN #nj");
    c->expect("366");
  }
  Reply ext = history(e, "CHATHISTORY LATEST #nj * 50");
  EXPECT_EQ(events_of(ext), "JOIN alice,JOIN newbie,NICK newbie,JOIN eve,JOIN pat") << e.dump();
  ASSERT_EQ(ext.lines.size(), 5u);
  EXPECT_NE(ext.lines[0].find(" :alice!~alice@127.0.0.1 JOIN #nj * :Test alice"), std::string::npos) << ext.lines[0];
  EXPECT_NE(ext.lines[1].find(" :newbie!~nb@127.0.0.1 JOIN #nj newbie :Real Newbie"), std::string::npos) << ext.lines[1];
  EXPECT_NE(ext.lines[2].find(" :newbie!~nb@127.0.0.1 NICK :newbie2"), std::string::npos) << ext.lines[2];
  EXPECT_FALSE(tag_of(ext.lines[2], "msgid").empty()) << ext.lines[2];
  Reply plain = history(p, "CHATHISTORY LATEST #nj * 50");
  EXPECT_EQ(events_of(plain), events_of(ext));
  ASSERT_EQ(plain.lines.size(), 5u);
  for (std::size_t i : {0u, 1u, 3u, 4u}) {
    EXPECT_TRUE(plain.lines[i].ends_with(" JOIN #nj")) << plain.lines[i];
  }
  EXPECT_NE(plain.lines[2].find(" :newbie!~nb@127.0.0.1 NICK :newbie2"), std::string::npos) << plain.lines[2];
  // Without event-playback: no events at all (nothing was said).
  Reply none = history(a, "CHATHISTORY LATEST #nj * 50");
  EXPECT_TRUE(none.lines.empty()) << a.dump();
  EXPECT_TRUE(none.fail.empty()) << none.fail;
}

TEST(ChatHistory, BadInputGetsFail) {
  HistoryFiles f("bad", "query_limit = 5\n");
  ChatServer srv({"--config", f.conf});
  Client a(srv.address()), c(srv.address());
  register_with_caps(a, "alice");
  register_with_caps(c, "carol");
  a.send("JOIN #h");
  a.expect("366");
  c.send("JOIN #other");
  c.expect("366");
  say(a, "#h", {"x1", "x2", "x3", "x4", "x5", "x6", "x7"});
  auto fail = [&](const std::string& cmd) { return history(a, cmd).fail; };
  EXPECT_EQ(fail("CHATHISTORY LATEST #h bogus 10"),
            ":irc.sockit.local FAIL CHATHISTORY INVALID_PARAMS LATEST :Invalid selector or limit");
  EXPECT_NE(fail("CHATHISTORY BEFORE #h * 10").find("INVALID_PARAMS BEFORE"), std::string::npos);  // '*' only for LATEST
  EXPECT_NE(fail("CHATHISTORY BEFORE #h timestamp=yesterday 10").find("INVALID_PARAMS"), std::string::npos);
  EXPECT_NE(fail("CHATHISTORY LATEST #h * 0").find("INVALID_PARAMS"), std::string::npos);
  EXPECT_NE(fail("CHATHISTORY LATEST #h * ten").find("INVALID_PARAMS"), std::string::npos);
  EXPECT_NE(fail("CHATHISTORY LATEST #h * -1").find("INVALID_PARAMS"), std::string::npos);
  EXPECT_NE(fail("CHATHISTORY TARGETS msgid=a timestamp=2000-01-01T00:00:00Z 5").find("INVALID_PARAMS TARGETS"),
            std::string::npos);
  EXPECT_EQ(fail("CHATHISTORY LATEST #nochan * 10"),
            ":irc.sockit.local FAIL CHATHISTORY INVALID_TARGET LATEST #nochan :Messages could not be retrieved");
  EXPECT_NE(fail("CHATHISTORY LATEST #other * 10").find("INVALID_TARGET LATEST #other"), std::string::npos);  // not a member
  EXPECT_NE(fail("CHATHISTORY LATEST a*b * 10").find("INVALID_TARGET"), std::string::npos);
  EXPECT_EQ(fail("CHATHISTORY SOMETIME #h * 10"), ":irc.sockit.local FAIL CHATHISTORY UNKNOWN_COMMAND SOMETIME :Unknown subcommand");
  EXPECT_EQ(fail("CHATHISTORY LATEST #h *"), ":irc.sockit.local FAIL CHATHISTORY NEED_MORE_PARAMS LATEST :Insufficient parameters");
  EXPECT_NE(fail("CHATHISTORY BETWEEN #h * 10").find("NEED_MORE_PARAMS BETWEEN"), std::string::npos);
  // A limit over CHATHISTORY=5 is capped, not refused.
  EXPECT_EQ(history(a, "CHATHISTORY LATEST #h * 500").texts(), "x3,x4,x5,x6,x7");
  // The connection is still fine.
  a.send("PING :ok");
  EXPECT_NE(a.expect("PONG").find("ok"), std::string::npos);
}

TEST(ChatHistory, SurvivesASigtermRestart) {
  HistoryFiles f("restart");
  std::vector<std::string> ids;
  std::string before;
  {
    ChatServer srv({"--config", f.conf});
    Client a(srv.address());
    register_with_caps(a, "alice");
    a.send("JOIN #keep");
    a.expect("366");
    ids = say(a, "#keep", {"first", "second", "third"});
    srv.child().signal(SIGTERM);
    EXPECT_EQ(srv.child().wait(10s), 0);
  }
  ChatServer srv({"--config", f.conf});
  Client a(srv.address());
  register_with_caps(a, "alice");
  a.send("JOIN #keep");
  a.expect("366");
  Reply r = history(a, "CHATHISTORY LATEST #keep * 50");
  EXPECT_EQ(r.texts(), "first,second,third");
  ASSERT_EQ(r.lines.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(tag_of(r.lines[i], "msgid"), ids[i]);
  // New msgids after the restart do not collide with the stored ones.
  say(a, "#keep", {"fourth"});
  EXPECT_EQ(history(a, "CHATHISTORY LATEST #keep * 50").texts(), "first,second,third,fourth");
}

TEST(ChatHistory, SigkillLosesAtMostTheUnflushedBatch) {
  // flush_interval 300ms: what was queued less than that before the kill may be lost, the rest not.
  HistoryFiles f("kill", "flush_interval = \"300ms\"\nflush_messages = 1000\n");
  {
    ChatServer srv({"--config", f.conf});
    Client a(srv.address());
    register_with_caps(a, "alice");
    a.send("JOIN #k");
    a.expect("366");
    say(a, "#k", {"k1", "k2", "k3"});
    // The writer's timer flushes them: poll the file (another reader, WAL) until they are there.
    Deadline dl = Deadline::after(5s);
    while (rows_in(f.db) < 3 && !dl.expired()) {
      a.send("PING :wait");  // a round trip paces the poll
      a.expect("PONG");
    }
    EXPECT_EQ(rows_in(f.db), 3);
    say(a, "#k", {"k4", "k5"});
    srv.child().signal(SIGKILL);
    EXPECT_EQ(srv.child().wait(10s), 128 + SIGKILL);
  }
  ChatServer srv({"--config", f.conf});
  Client a(srv.address());
  register_with_caps(a, "alice");
  a.send("JOIN #k");
  a.expect("366");
  const std::string got = history(a, "CHATHISTORY LATEST #k * 50").texts();
  // The flushed batch is there; the last one whole or not at all (one transaction).
  EXPECT_TRUE(got == "k1,k2,k3" || got == "k1,k2,k3,k4,k5") << got;
}

TEST(ChatHistory, UnusableDatabaseExitsWithAClearError) {
  HistoryFiles f("corrupt");
  {
    std::ofstream db(f.db);
    db << std::string(4096, 'x');
  }
  auto r = test::run({test::sockit_bin(), "chat-server", "-l", "127.0.0.1:0", "--config", f.conf}, "", 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(f.db), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a database"), std::string::npos) << r.err;
  r = test::run({test::sockit_bin(), "chat-server", "--check-config", "--config", f.conf}, "", 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("not a database"), std::string::npos) << r.err;
  // A database that cannot be created (a folder that does not exist).
  HistoryFiles g("nodir");
  {
    std::ofstream conf(g.conf);
    conf << "[history]\nenabled = true\ndb = \"/nonexistent-sockit-dir/h.db\"\n";
  }
  r = test::run({test::sockit_bin(), "chat-server", "-l", "127.0.0.1:0", "--config", g.conf}, "", 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/nonexistent-sockit-dir/h.db: cannot open the history database"), std::string::npos) << r.err;
  // A bad [history] key or value is a configuration error (exit 2, file:line:column).
  {
    std::ofstream conf(g.conf);
    conf << "[history]\nenabled = true\nflush_messages = 0\n";
  }
  r = test::run({test::sockit_bin(), "chat-server", "--check-config", "--config", g.conf}, "", 10s);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("history.flush_messages: expected an integer >= 1"), std::string::npos) << r.err;
}

// `sockit chat` shows history on join (issue #18): lines said in #h before it connects come
// first, between "-- history --" and "-- end of history --", each with its own time, each once,
// then the live ones (without a time: --plain prints none for live lines unless --timestamps).
TEST(ChatHistory, ChatClientShowsHistoryOnJoin) {
  HistoryFiles f("chatclient");
  ChatServer srv({"--config", f.conf});
  Client a(srv.address());
  register_with_caps(a, "alice");
  a.send("JOIN #h");
  a.expect("366");
  say(a, "#h", {"one", "two", "three"});
  auto chat = test::Child::spawn({test::sockit_bin(), "chat", "127.0.0.1", std::to_string(srv.port()), "--nick",
                                  "carol", "--join", "#h", "--plain", "--no-reconnect"});
  std::string out = chat.read_stdout_until("-- end of history --", 20s);
  a.expect("JOIN");  // carol's
  say(a, "#h", {"four"});
  out += chat.read_stdout_until("<alice> four", 10s);
  ASSERT_TRUE(chat.write_stdin("/quit bye\n"));
  chat.close_stdin();
  out += chat.read_stdout(10s);
  EXPECT_EQ(chat.wait(10s), 0) << out;
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < out.size();) {
    std::size_t nl = out.find('\n', at);
    if (nl == std::string::npos) nl = out.size();
    lines.push_back(out.substr(at, nl - at));
    at = nl + 1;
  }
  auto index_of = [&](const std::string& needle) {
    std::size_t found = lines.size(), count = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find(needle) != std::string::npos) {
        if (found == lines.size()) found = i;
        ++count;
      }
    }
    EXPECT_EQ(count, 1u) << needle << " in\n" << out;
    return found;
  };
  const std::size_t start = index_of("-- history --"), one = index_of("<alice> one"), two = index_of("<alice> two"),
                    three = index_of("<alice> three"), end = index_of("-- end of history --"),
                    four = index_of("<alice> four");
  EXPECT_LT(start, one);
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
  EXPECT_LT(three, end);
  EXPECT_LT(end, four);
  ASSERT_LT(four, lines.size()) << out;
  // "HH:MM:SS [#h] <alice> one": the replayed line's own time; the live line has none.
  auto stamped = [](const std::string& l) {
    return l.size() > 9 && l[2] == ':' && l[5] == ':' && l[8] == ' ' && l.compare(9, 5, "[#h] ") == 0;
  };
  EXPECT_TRUE(stamped(lines[one])) << lines[one];
  EXPECT_TRUE(stamped(lines[three])) << lines[three];
  EXPECT_EQ(lines[four], "[#h] <alice> four");
}
