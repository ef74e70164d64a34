#include "tools/chat/client.hpp"

#include <sockit/irc/message.hpp>

#include <gtest/gtest.h>

#include <algorithm>

using namespace sockit::chat;
using namespace std::chrono_literals;

namespace {

class ChatClient : public ::testing::Test {
 protected:
  Config config(std::string nick = "alice") {
    Config c;
    c.nick = std::move(nick);
    c.autojoin = {"#t"};
    c.lag_interval = 30s;
    c.ping_timeout = 60s;
    return c;
  }
  // Connects and registers as `nick`, draining the output and events.
  void up(Client& c, const std::string& nick = "alice") {
    c.connected(now);
    c.receive_line(":irc.test 001 " + nick + " :Welcome " + nick, now);
    out(c);
    c.take_events();
  }
  std::vector<std::string> out(Client& c) { return c.take_output(); }
  std::vector<std::string> texts(Client& c) {
    std::vector<std::string> t;
    for (auto& e : c.take_events()) t.push_back("[" + e.buffer + "] " + render(e.line));
    return t;
  }
  static bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }
  SteadyClock::time_point now = SteadyClock::time_point{} + 1000s;
};

}  // namespace

TEST_F(ChatClient, RegistersWithPassNickUser) {
  Config cfg = config();
  cfg.password = "secret";
  cfg.realname = "Alice A";
  Client c(cfg);
  c.connected(now);
  EXPECT_EQ(out(c), (std::vector<std::string>{"PASS secret\r\n", "CAP LS 302\r\n", "NICK alice\r\n",
                                              "USER alice 0 * :Alice A\r\n"}));
  EXPECT_EQ(c.state(), State::registering);
}

// sockit chat --tls: the status line says "TLS handshake" until the handshake is done, then
// "registering" (tls_handshaking() is what ui_curses shows); a drop ends it.
TEST_F(ChatClient, TlsHandshakeBeforeRegistering) {
  Client c(config());
  c.connected(now, true);
  EXPECT_TRUE(c.tls_handshaking());
  EXPECT_EQ(c.state(), State::registering);
  EXPECT_TRUE(has(texts(c), "[status] Connected, TLS handshake..."));
  c.tls_established("TLSv1.3");
  EXPECT_FALSE(c.tls_handshaking());
  EXPECT_TRUE(has(texts(c), "[status] TLS handshake done (TLSv1.3), registering as alice"));
  c.connected(now, true);
  c.disconnected("tls: handshake timed out");
  EXPECT_FALSE(c.tls_handshaking());
  c.connected(now);
  EXPECT_FALSE(c.tls_handshaking());
}

// sockit chat --sasl-user (issue #18 item 7): CAP LS 302 before NICK/USER, CAP REQ sasl when
// offered, AUTHENTICATE PLAIN on
// the ACK, the payload in 400-byte chunks (a final "+" after an exact multiple), CAP END after 903
// or after a failure (shown; registration goes on without an account).
TEST_F(ChatClient, SaslPlainInChunksThenCapEnd) {
  Config cfg = config();
  cfg.sasl_user = "alice";
  cfg.sasl_pass = std::string(288, 'p');  // "alice\0alice\0" + 288 = 300 bytes -> exactly 400 base64
  Client c(cfg);
  c.connected(now);
  EXPECT_EQ(out(c), (std::vector<std::string>{"CAP LS 302\r\n", "NICK alice\r\n", "USER alice 0 * :sockit chat\r\n"}));
  c.receive_line(":irc.test CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL", now);  // 302: more to come
  EXPECT_TRUE(out(c).empty());
  c.receive_line(":irc.test CAP * LS :server-time", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"CAP REQ sasl\r\n"});
  c.receive_line(":irc.test CAP * ACK :sasl", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"AUTHENTICATE PLAIN\r\n"});
  c.receive_line("AUTHENTICATE +", now);
  auto auth = out(c);
  ASSERT_EQ(auth.size(), 2u);
  EXPECT_EQ(auth[0].size(), std::string("AUTHENTICATE ").size() + 400 + 2);
  EXPECT_EQ(auth[1], "AUTHENTICATE +\r\n");
  c.receive_line(":irc.test 900 alice alice!~alice@h alice :You are now logged in as alice", now);
  c.receive_line(":irc.test 903 alice :SASL authentication successful", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"CAP END\r\n"});
  EXPECT_TRUE(has(texts(c), "[status] Logged in as alice"));

  Client d(cfg);  // a refused password
  d.connected(now);
  d.receive_line(":irc.test CAP * LS :sasl", now);
  d.receive_line(":irc.test CAP * ACK :sasl", now);
  d.receive_line("AUTHENTICATE +", now);
  out(d);
  d.receive_line(":irc.test 904 alice :SASL authentication failed", now);
  EXPECT_EQ(out(d), std::vector<std::string>{"CAP END\r\n"});
  auto shown = texts(d);
  EXPECT_TRUE(std::any_of(shown.begin(), shown.end(), [](const std::string& t) { return t.find("SASL login failed") != std::string::npos; }));

  Client e(cfg);  // a server that NAKs sasl: CAP END at once
  e.connected(now);
  e.receive_line(":irc.test CAP * LS :sasl", now);
  out(e);
  e.receive_line(":irc.test CAP * NAK :sasl", now);
  EXPECT_EQ(out(e), std::vector<std::string>{"CAP END\r\n"});

  Client f(cfg);  // a server that does not offer it: no REQ, CAP END, and the user is told
  f.connected(now);
  out(f);
  f.receive_line(":irc.test CAP * LS :multi-prefix", now);
  EXPECT_EQ(out(f), std::vector<std::string>{"CAP END\r\n"});
  auto told = texts(f);
  EXPECT_TRUE(std::any_of(told.begin(), told.end(), [](const std::string& t) { return t.find("does not offer") != std::string::npos; }));
}

// History on join (issue #18): with draft/chathistory offered, the client asks for it with batch,
// server-time and message-tags, sends CHATHISTORY LATEST #chan * 50 after its own JOIN, shows the
// batch's lines between "-- history --" and "-- end of history --" with their own time, marked
// as history, before the live lines that came meanwhile, and a message it has already shown
// (same msgid) only once.
TEST_F(ChatClient, HistoryOnJoinComesFirstMarkedAndWithoutDuplicates) {
  Client c(config());
  c.connected(now);
  out(c);
  c.receive_line(":irc.test CAP * LS :batch draft/chathistory message-tags server-time echo-message", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"CAP REQ :draft/chathistory batch server-time message-tags\r\n"});
  c.receive_line(":irc.test CAP * ACK :draft/chathistory batch server-time message-tags", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"CAP END\r\n"});
  c.receive_line(":irc.test 001 alice :Welcome alice", now);
  EXPECT_TRUE(has(out(c), "JOIN #t\r\n"));
  c.take_events();
  c.receive_line(":alice!a@h JOIN #t", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"CHATHISTORY LATEST #t * 50\r\n"});
  // A live line before the batch: held until the history is shown.
  c.receive_line("@time=2026-12-07T01:00:05.000Z;msgid=m3 :bob!b@h PRIVMSG #t :live", now);
  c.receive_line(":irc.test BATCH +H1 chathistory #t", now);
  c.receive_line("@batch=H1;time=2026-12-07T01:00:01.000Z;msgid=m1 :bob!b@h PRIVMSG #t :old one", now);
  c.receive_line("@batch=H1;time=2026-12-07T01:00:02.000Z;msgid=m2 :alice!a@h PRIVMSG #t :my old one", now);
  c.receive_line("@batch=H1;time=2026-12-07T01:00:05.000Z;msgid=m3 :bob!b@h PRIVMSG #t :live", now);
  c.receive_line(":irc.test BATCH -H1", now);
  auto ev = c.take_events();
  std::vector<std::string> shown;
  for (const auto& e : ev) shown.push_back("[" + e.buffer + "] " + render(e.line) + (e.line.history ? " (h)" : ""));
  ASSERT_EQ(shown.size(), 6u) << ::testing::PrintToString(shown);
  EXPECT_EQ(shown[0], "[#t] * alice has joined #t");
  EXPECT_EQ(shown[1], "[#t] -- history -- (h)");
  EXPECT_EQ(shown[2], "[#t] <bob> old one (h)");
  EXPECT_EQ(shown[3], "[#t] <alice> my old one (h)");
  EXPECT_EQ(shown[4], "[#t] <bob> live (h)");  // the held live copy is the same msgid: dropped
  EXPECT_EQ(shown[5], "[#t] -- end of history -- (h)");
  EXPECT_EQ(WallClock::to_time_t(ev[2].line.time), 1796605201);  // 2026-12-07T01:00:01Z
  // Live lines after the batch are not history; a repeated msgid is dropped.
  c.receive_line("@time=2026-12-07T01:00:06.000Z;msgid=m4 :bob!b@h PRIVMSG #t :new", now);
  c.receive_line("@time=2026-12-07T01:00:06.000Z;msgid=m4 :bob!b@h PRIVMSG #t :new", now);
  EXPECT_EQ(texts(c), std::vector<std::string>{"[#t] <bob> new"});
  // /query NICK asks for the conversation; a FAIL releases the window.
  c.input("/query carol", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"CHATHISTORY LATEST carol * 50\r\n"});
  c.receive_line(":carol!c@h PRIVMSG alice :hi", now);
  EXPECT_TRUE(texts(c).empty());
  c.receive_line(":irc.test FAIL CHATHISTORY INVALID_TARGET LATEST carol :Messages could not be retrieved", now);
  EXPECT_TRUE(has(texts(c), "[carol] <carol> hi"));
}

// Without draft/chathistory offered (ngircd, or a server without [history]): no REQ, no CHATHISTORY.
TEST_F(ChatClient, NoHistoryRequestWithoutTheCapability) {
  Client c(config());
  c.connected(now);
  out(c);
  c.receive_line(":irc.test CAP * LS :multi-prefix batch server-time", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"CAP END\r\n"});
  c.receive_line(":irc.test 001 alice :Welcome alice", now);
  out(c);
  c.receive_line(":alice!a@h JOIN #t", now);
  EXPECT_TRUE(out(c).empty());
  c.receive_line(":bob!b@h PRIVMSG #t :live", now);
  EXPECT_TRUE(has(texts(c), "[#t] <bob> live"));
}

TEST_F(ChatClient, AnswersPingWithPong) {
  Client c(config());
  c.connected(now);
  out(c);
  c.receive_line("PING :irc.test-123\r\n", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"PONG irc.test-123\r\n"});
}

TEST_F(ChatClient, NickInUseRetriesWithUnderscores) {
  Client c(config());
  c.connected(now);
  out(c);
  c.receive_line(":irc.test 433 * alice :Nickname already in use", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"NICK alice_\r\n"});
  c.receive_line(":irc.test 433 * alice_ :Nickname already in use", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"NICK alice__\r\n"});
  c.receive_line(":irc.test 001 alice__ :Welcome", now);
  EXPECT_EQ(c.nick(), "alice__");
  EXPECT_EQ(c.state(), State::registered);
}

TEST_F(ChatClient, ErroneousLongNickRetriesShorter) {
  Client c(config("abcdefghi"));
  c.connected(now);
  out(c);
  c.receive_line(":irc.test 433 * abcdefghi :in use", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"NICK abcdefghi_\r\n"});
  c.receive_line(":irc.test 432 * abcdefghi_ :Erroneous nickname", now);  // ngircd: over NICKLEN 9
  auto o = out(c);
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0], "NICK abcdefg__\r\n");
}

TEST_F(ChatClient, ErroneousNickOnFirstTryRetriesShorter) {
  Client c(config());
  c.connected(now);
  out(c);
  // ngircd says 432 (not 433) for a nick over its NICKLEN: the next try is shorter.
  c.receive_line(":irc.test 432 * alice :Erroneous nickname", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"NICK ali_\r\n"});
}

TEST_F(ChatClient, GivesUpAfterTenNickAttempts) {
  Client c(config());
  c.connected(now);
  out(c);
  for (int i = 0; i < 10; ++i) {
    c.receive_line(":irc.test 433 * x :in use", now);
    EXPECT_EQ(out(c).size(), 1u);
  }
  c.take_events();
  c.receive_line(":irc.test 433 * x :in use", now);
  EXPECT_TRUE(out(c).empty());
  auto ev = c.take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].line.kind, LineKind::error);
}

TEST_F(ChatClient, RegistrationJoinsAndMeasuresLag) {
  Client c(config());
  c.connected(now);
  out(c);
  c.receive_line(":irc.test 001 alice :Welcome", now);
  auto o = out(c);
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o[0], "JOIN #t\r\n");
  EXPECT_EQ(o[1].rfind("PING LAG", 0), 0u);
  const std::string token = o[1].substr(5, o[1].size() - 7);
  c.receive_line(":irc.test PONG irc.test :" + token, now + 42ms);
  ASSERT_TRUE(c.lag().has_value());
  EXPECT_EQ(*c.lag(), 42ms);
}

TEST_F(ChatClient, UnansweredLagPingRequestsDisconnect) {
  Client c(config());
  up(c);
  c.tick(now + 59s);
  EXPECT_FALSE(c.take_disconnect_request());
  c.tick(now + 61s);
  auto why = c.take_disconnect_request();
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("ping timeout"), std::string::npos);
}

TEST_F(ChatClient, LagPingRepeatsAfterInterval) {
  Client c(config());
  up(c);
  c.receive_line(":irc.test PONG irc.test :nomatch", now);  // not our token: still pending
  c.tick(now + 31s);
  EXPECT_TRUE(out(c).empty());
}

TEST_F(ChatClient, OwnJoinCreatesAndSelectsChannelWithNames) {
  Client c(config());
  up(c);
  c.receive_line(":alice!a@h JOIN #t", now);
  c.receive_line(":irc.test 353 alice = #t :@alice +bob carol", now);
  c.receive_line(":irc.test 366 alice #t :End of NAMES list", now);
  EXPECT_EQ(c.current_buffer().name, "#t");
  EXPECT_TRUE(c.current_buffer().joined);
  auto nicks = c.current_buffer().nicks;
  std::sort(nicks.begin(), nicks.end());
  EXPECT_EQ(nicks, (std::vector<std::string>{"alice", "bob", "carol"}));
  auto t = texts(c);
  EXPECT_TRUE(has(t, "[#t] * alice has joined #t"));
  EXPECT_TRUE(has(t, "[#t] * Names on #t (3): @alice +bob carol"));
}

TEST_F(ChatClient, ChannelMessageAndHighlight) {
  Client c(config());
  up(c);
  c.receive_line(":alice!a@h JOIN #t", now);
  c.take_events();
  c.receive_line(":bob!b@h PRIVMSG #t :hello there", now);
  c.receive_line(":bob!b@h PRIVMSG #t :Alice: ping", now);
  auto ev = c.take_events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].buffer, "#t");
  EXPECT_EQ(render(ev[0].line), "<bob> hello there");
  EXPECT_FALSE(ev[0].line.highlight);
  EXPECT_TRUE(ev[1].line.highlight);
}

TEST_F(ChatClient, PrivateMessageOpensQueryWithoutSwitching) {
  Client c(config());
  up(c);
  c.receive_line(":bob!b@h PRIVMSG alice :psst", now);
  EXPECT_EQ(texts(c), std::vector<std::string>{"[bob] <bob> psst"});
  EXPECT_EQ(c.current(), 0u);
  ASSERT_EQ(c.buffers().size(), 2u);
  EXPECT_EQ(c.buffers()[1].type, BufferType::query);
  EXPECT_TRUE(c.buffers()[1].highlighted);
}

TEST_F(ChatClient, CtcpVersionIsAnsweredAndActionShown) {
  Config cfg = config();
  cfg.version = "sockit chat test";
  Client c(cfg);
  up(c);
  c.receive_line(":bob!b@h PRIVMSG alice :\x01VERSION\x01", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"NOTICE bob :\x01VERSION sockit chat test\x01\r\n"});
  c.receive_line(":bob!b@h PRIVMSG #t :\x01" "ACTION waves\x01", now);
  auto t = texts(c);
  EXPECT_TRUE(has(t, "[#t] * bob waves"));
  c.receive_line(":bob!b@h NOTICE alice :\x01VERSION other\x01", now);  // a reply: never answered
  EXPECT_TRUE(out(c).empty());
}

TEST_F(ChatClient, NickChangesRenameMembersAndQueries) {
  Client c(config());
  up(c);
  c.receive_line(":alice!a@h JOIN #t", now);
  c.receive_line(":bob!b@h JOIN #t", now);
  c.receive_line(":bob!b@h PRIVMSG alice :hi", now);
  c.take_events();
  c.receive_line(":bob!b@h NICK :bobby", now);
  auto t = texts(c);
  EXPECT_TRUE(has(t, "[#t] * bob is now known as bobby"));
  EXPECT_TRUE(has(t, "[bobby] * bob is now known as bobby"));
  c.receive_line(":alice!a@h NICK alice2", now);
  EXPECT_EQ(c.nick(), "alice2");
}

TEST_F(ChatClient, InputBeforeRegistrationRunsAfterIt) {
  Client c(config());
  c.connected(now);
  out(c);
  c.input("/join #later", now);
  c.input("/msg bob early", now);
  EXPECT_TRUE(out(c).empty());
  c.receive_line(":irc.test 001 alice :Welcome", now);
  auto o = out(c);
  EXPECT_TRUE(has(o, "JOIN #later\r\n"));
  EXPECT_TRUE(has(o, "PRIVMSG bob early\r\n"));
}

TEST_F(ChatClient, BadCommandsGiveOneErrorLine) {
  Client c(config());
  up(c);
  for (const char* bad : {"/frob", "/msg", "/msg bob", "/join", "/nick 9x", "/win 99", "/me hi", "plain text"}) {
    c.input(bad, now);
    auto ev = c.take_events();
    ASSERT_EQ(ev.size(), 1u) << bad;
    EXPECT_EQ(ev[0].line.kind, LineKind::error) << bad;
  }
  EXPECT_TRUE(out(c).empty());
}

// The command table: each command given too few words answers with its own usage line (aliases
// share it), and nothing goes to the server.
TEST_F(ChatClient, CommandTableUsageLines) {
  Client c(config());
  up(c);
  const std::pair<const char*, const char*> cases[] = {
      {"/join", "Usage: /join #channel [key]"},        {"/J", "Usage: /join #channel [key]"},
      {"/msg bob", "Usage: /msg NICK|#channel TEXT"},  {"/notice bob", "Usage: /notice NICK|#channel TEXT"},
      {"/ctcp bob", "Usage: /ctcp NICK COMMAND [ARGS]"}, {"/query", "Usage: /query NICK [TEXT]"},
      {"/me", "Usage: /me TEXT"},                      {"/nick", "Usage: /nick NEWNICK"},
      {"/whois", "Usage: /whois NICK"},                {"/raw", "Usage: /raw IRC-LINE"},
      {"/quote", "Usage: /raw IRC-LINE"},              {"/win", "Usage: /win N|next|prev|close|list"},
      {"/window x", "Usage: /win N|next|prev|close|list"}, {"/part", "Usage: /part [#channel] [reason]"},
      {"/leave", "Usage: /part [#channel] [reason]"},  {"/topic", "Usage: /topic [#channel] [TEXT]"},
      {"/names", "Usage: /names #channel"},            {"/frob x", "Unknown command /frob (try /help)"},
  };
  for (const auto& [line, want] : cases) {
    c.input(line, now);
    EXPECT_EQ(texts(c), std::vector<std::string>{std::string("[status] ") + want}) << line;
  }
  EXPECT_TRUE(out(c).empty());
}

// Aliases run their command's handler; the table's "immediate" rows run before registration.
TEST_F(ChatClient, CommandTableAliasesAndImmediateRows) {
  Client c(config());
  c.connected(now);
  out(c);
  c.input("/quote PING x", now);  // immediate: raw
  c.input("/j #t", now);          // deferred until 001
  EXPECT_EQ(out(c), std::vector<std::string>{"PING x\r\n"});
  c.receive_line(":irc.test 001 alice :Welcome", now);
  EXPECT_TRUE(has(out(c), "JOIN #t\r\n"));
  c.receive_line(":alice!a@h JOIN #t", now);
  c.input("/leave", now);
  c.input("/exit bye", now);
  auto o = out(c);
  EXPECT_TRUE(has(o, "PART #t\r\n")) << ::testing::PrintToString(o);
  EXPECT_TRUE(has(o, "QUIT bye\r\n")) << ::testing::PrintToString(o);
}

// Numerics go to their family's handler by code; codes outside the table are shown as text,
// 400-599 as errors in the current window.
TEST_F(ChatClient, NumericsByFamilyAndFallback) {
  Client c(config());
  up(c);
  c.receive_line(":irc.test 311 alice bob ~b host * :Bob B", now);
  c.receive_line(":irc.test 318 alice bob :End of WHOIS list", now);
  c.receive_line(":irc.test 322 alice #t 3 :a topic", now);
  c.receive_line(":irc.test 306 alice :You have been marked as being away", now);
  c.receive_line(":irc.test 401 alice nobody :No such nick", now);
  c.receive_line(":irc.test 704 alice help :Help text", now);
  c.receive_line(":irc.test 250 alice :Highest connection count: 3", now);
  EXPECT_EQ(texts(c), (std::vector<std::string>{
                          "[status] [whois] bob (~b@host): Bob B", "[status] [whois] bob End of WHOIS",
                          "[status] [list] #t 3: a topic", "[status] You have been marked as being away",
                          "[status] nobody: No such nick", "[status] help: Help text",
                          "[status] Highest connection count: 3"}));
  EXPECT_TRUE(c.away());
}

TEST_F(ChatClient, CommandsProduceTheirWireLines) {
  Client c(config());
  up(c);
  c.receive_line(":alice!a@h JOIN #t", now);
  out(c);
  c.input("hello", now);
  c.input("/me waves", now);
  c.input("/topic new topic", now);
  c.input("/part bye now", now);
  c.input("/away gone", now);
  c.input("/whois bob", now);
  c.input("/raw MODE #t +m", now);
  c.input("//slash", now);
  EXPECT_EQ(out(c), (std::vector<std::string>{"PRIVMSG #t hello\r\n", "PRIVMSG #t :\x01" "ACTION waves\x01\r\n",
                                              "TOPIC #t :new topic\r\n", "PART #t :bye now\r\n", "AWAY gone\r\n",
                                              "WHOIS bob\r\n", "MODE #t +m\r\n", "PRIVMSG #t /slash\r\n"}));
}

TEST_F(ChatClient, LongMessagesAreSplitOnUtf8Boundaries) {
  Client c(config());
  up(c);
  c.input("/query bob", now);
  std::string text;
  for (int i = 0; i < 300; ++i) text += "é ";
  c.input(text, now);
  auto o = out(c);
  ASSERT_GE(o.size(), 2u);
  std::string joined;
  for (auto& l : o) {
    // Room for the prefix the server puts in front: ":alice!" + 10-byte user + "@" + 63-byte host + " ".
    EXPECT_LE(l.size() + 1 + 5 + 1 + 10 + 1 + 63 + 1, sockit::irc::kMaxLineBytes);
    EXPECT_TRUE(sockit::irc::is_valid_utf8(l));
    auto m = sockit::irc::parse(l.substr(0, l.size() - 2));
    ASSERT_TRUE(m);
    joined += (joined.empty() ? "" : " ") + m.message->params[1];
  }
  EXPECT_EQ(joined, text);
}

TEST_F(ChatClient, ReconnectRejoinsChannelsWithoutSwitching) {
  Client c(config());
  up(c);
  c.receive_line(":alice!a@h JOIN #t", now);
  c.input("/join #k secret", now);
  c.receive_line(":alice!a@h JOIN #k", now);
  c.receive_line(":alice!a@h JOIN #gone", now);
  c.receive_line(":op!o@h KICK #gone alice :out", now);
  c.select(0);
  c.disconnected("connection reset");
  EXPECT_FALSE(c.buffers()[1].joined);
  out(c);
  c.connected(now);
  out(c);
  c.receive_line(":irc.test 001 alice :Welcome back", now);
  auto o = out(c);
  EXPECT_TRUE(has(o, "JOIN #t\r\n"));
  EXPECT_TRUE(has(o, "JOIN #k secret\r\n"));
  EXPECT_FALSE(has(o, "JOIN #gone\r\n"));
  c.receive_line(":alice!a@h JOIN #t", now);
  EXPECT_EQ(c.current(), 0u) << "a rejoin keeps the window the user looks at";
}

TEST_F(ChatClient, Latin1FromTheServerIsShownAsUtf8) {
  Client c(config());
  up(c);
  c.receive_line(":bob!b@h PRIVMSG alice :caf\xE9", now);
  EXPECT_EQ(texts(c), std::vector<std::string>{"[bob] <bob> café"});
}

TEST_F(ChatClient, QuitSendsQuitAndEnds) {
  Client c(config());
  up(c);
  c.input("/quit see you", now);
  EXPECT_EQ(out(c), std::vector<std::string>{"QUIT :see you\r\n"});
  EXPECT_TRUE(c.quit_requested());
  EXPECT_EQ(c.state(), State::quitting);
  c.take_events();
  c.receive_line("ERROR :Closing connection", now);
  c.disconnected("the server closed the connection");
  for (const auto& e : c.take_events()) EXPECT_NE(e.line.kind, LineKind::error) << "a quit is not an error";
}

TEST_F(ChatClient, UnexpectedServerErrorIsAnError) {
  Client c(config());
  up(c);
  c.receive_line("ERROR :Closing Link: kill", now);
  auto ev = c.take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].line.kind, LineKind::error);
}

TEST_F(ChatClient, WindowCommandsSelectBuffers) {
  Client c(config());
  up(c);
  c.receive_line(":alice!a@h JOIN #t", now);
  c.input("/query bob", now);
  EXPECT_EQ(c.current_buffer().name, "bob");
  c.input("/win 2", now);
  EXPECT_EQ(c.current_buffer().name, "#t");
  c.input("/win 1", now);
  EXPECT_EQ(c.current(), 0u);
  c.input("/win 3", now);
  c.input("/close", now);
  EXPECT_EQ(c.buffers().size(), 2u);
  EXPECT_EQ(c.current_buffer().name, "#t");
}

TEST(ChatBackoff, DoublesWithJitterUpToTheCap) {
  Backoff b(1000ms, 60000ms, 42);
  std::chrono::milliseconds expected_max = 1000ms;
  for (int i = 0; i < 10; ++i) {
    const auto d = b.next();
    EXPECT_GE(d, expected_max / 2);
    EXPECT_LE(d, expected_max);
    expected_max = std::min(expected_max * 2, std::chrono::milliseconds(60000));
  }
  b.reset();
  EXPECT_LE(b.next(), 1000ms);
}

TEST(ChatTarget, ParsesHostPortAndUrls) {
  auto t = parse_target("irc://irc.example.org:6697/#a,b");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "irc.example.org");
  EXPECT_EQ(t->port, 6697);
  EXPECT_EQ(t->channels, (std::vector<std::string>{"#a", "#b"}));
  t = parse_target("localhost");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->port, 6667);
  t = parse_target("[::1]:7000");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, 7000);
  t = parse_target("::1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "::1");
  EXPECT_FALSE(parse_target(""));
  EXPECT_FALSE(parse_target("host:"));
  EXPECT_FALSE(parse_target("host:70000"));
  EXPECT_FALSE(parse_target("host:0"));
  EXPECT_FALSE(parse_target("http://host"));
}

// #16: ircs:// is IRC over TLS, port 6697 unless the URL names one; irc:// and bare hosts are not.
TEST(ChatTarget, IrcsUrlIsTlsOnPort6697) {
  auto t = parse_target("ircs://irc.example.org/#a");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->tls);
  EXPECT_FALSE(t->port_given);
  EXPECT_EQ(t->host, "irc.example.org");
  EXPECT_EQ(t->port, 6697);
  EXPECT_EQ(t->channels, (std::vector<std::string>{"#a"}));
  t = parse_target("IRCS://[::1]:7000");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->tls);
  EXPECT_TRUE(t->port_given);
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, 7000);
  t = parse_target("irc://host");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->tls);
  EXPECT_EQ(t->port, 6667);
  EXPECT_FALSE(parse_target("ircs://"));
  EXPECT_FALSE(parse_target("ircs://host:0"));
}
