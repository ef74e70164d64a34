// Accounts over real sockets (issue #18): `sockit chat-server account ...` (exit codes, password on
// stdin), SASL PLAIN against the SQLite store (argon2id on the worker threads), REGISTER and its
// spam limit, and a database that cannot be used at start (clear error, exit 1).
#include "irc_client.hpp"

#include "support/support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sockit/irc/scram.hpp"
#include "sockit/store/accounts.hpp"

#include <filesystem>
#include <fstream>
#include <map>

using namespace sockit;
using namespace sockit::irc::itest;
namespace fs = std::filesystem;

namespace {

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("sockit-accounts") { std::ofstream(cost()) << "[accounts]\n" << test::kCheapHashCost; }
  std::string db() const { return file("accounts.db"); }
  /// A config of the cheap argon2id cost only, for `account add|passwd` and the servers; the
  /// server of SaslPlainLogsInAndWhoisShows330 and its account keep the default cost.
  std::string cost() const { return file("cost.toml"); }
};

test::RunResult account(const std::vector<std::string>& args, const std::string& stdin_data = {}) {
  std::vector<std::string> argv{test::sockit_bin(), "chat-server", "account"};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run(argv, stdin_data);
}

/// CAP LS 302 + REQ sasl + NICK/USER, then AUTHENTICATE PLAIN with `pass`: the numeric that ends it.
std::string sasl_login(Client& c, std::string_view nick, std::string_view user, std::string_view pass) {
  c.send("CAP LS 302");
  std::string ls = c.expect("CAP");
  EXPECT_NE(ls.find("sasl=PLAIN"), std::string::npos) << ls;
  c.send("CAP REQ :sasl");
  EXPECT_NE(c.expect("CAP").find("ACK"), std::string::npos);
  c.send("NICK " + std::string(nick));
  c.send("USER " + std::string(nick) + " 0 * :Test");
  c.send("AUTHENTICATE PLAIN");
  EXPECT_EQ(c.expect("AUTHENTICATE"), "AUTHENTICATE +");
  c.send("AUTHENTICATE " + plain(user, pass));
  std::string end = c.expect_any({"903", "904"}, 60s);
  auto p = irc::parse(end);
  return p ? p.message->command : std::string();
}

}  // namespace

TEST(ChatServerAccounts, CliAddListPasswdDelWithExitCodes) {
  TempDir d;
  auto r = account({"add", "alice", "--db", d.db(), "--config", d.cost()}, "correct horse\n");
  EXPECT_EQ(r.status, 0) << r.err;
  auto stored = store::read_sqlite_accounts(d.db());  // hashed at the cost of --config's [accounts]
  ASSERT_TRUE(stored && stored->size() == 1u);
  EXPECT_EQ(stored->front().hash.rfind("$argon2id$v=19$m=64,t=1,p=1$", 0), 0u) << stored->front().hash;
  EXPECT_EQ(account({"add", "ALICE", "--db", d.db(), "--config", d.cost()}, "another one\n").status, 1);  // names ignore case
  r = account({"add", "bob", "--db", d.db(), "--config", d.cost()}, "short\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("8 to 256 bytes"), std::string::npos) << r.err;
  EXPECT_EQ(account({"add", "bob", "--db", d.db(), "--config", d.cost()}, "").status, 1);  // no password on stdin
  r = account({"list", "--db", d.db()});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("alice\t20", 0), 0u) << r.out;
  r = account({"list", "--db", d.db(), "--json"});
  ASSERT_EQ(r.status, 0);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "alice");
  EXPECT_EQ(account({"passwd", "alice", "--db", d.db(), "--config", d.cost()}, "battery staple\n").status, 0);
  EXPECT_EQ(account({"passwd", "nobody", "--db", d.db(), "--config", d.cost()}, "battery staple\n").status, 1);
  EXPECT_EQ(account({"certfp", "add", "alice", "zz", "--db", d.db()}).status, 2);
  EXPECT_EQ(account({"certfp", "add", "alice", std::string(64, 'a'), "--db", d.db()}).status, 0);
  EXPECT_EQ(account({"frob", "--db", d.db()}).status, 2);
  EXPECT_EQ(account({"list"}).status, 2);  // no --db
  EXPECT_EQ(account({"list", "--db", (d.path / "missing.db").string()}).status, 1);
  EXPECT_FALSE(fs::exists(d.path / "missing.db"));  // only add creates a file
  // The password is in the file only as an argon2id hash.
  std::ifstream f(d.db(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(bytes.find("battery staple"), std::string::npos);
  EXPECT_EQ(account({"del", "alice", "--db", d.db()}).status, 0);
  EXPECT_EQ(account({"del", "alice", "--db", d.db()}).status, 1);
}

// The one account test at the default argon2id cost (the CLI and the server without hash_* keys).
TEST(ChatServerAccounts, SaslPlainLogsInAndWhoisShows330) {
  TempDir d;
  ASSERT_EQ(account({"add", "alice", "--db", d.db()}, "correct horse\n").status, 0);
  auto stored = store::read_sqlite_accounts(d.db());
  ASSERT_TRUE(stored && stored->size() == 1u);
  EXPECT_EQ(stored->front().hash.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << stored->front().hash;
  ChatServer server({"--accounts-db", d.db(), "--no-flood-control"});
  Client c(server.address());
  ASSERT_EQ(sasl_login(c, "al", "alice", "correct horse"), "903");
  EXPECT_NE(c.dump().find(" 900 al al!~al@127.0.0.1 alice :You are now logged in as alice"), std::string::npos) << c.dump();
  c.send("CAP END");
  c.expect("001");
  Client b(server.address());
  b.register_as("bob");
  b.send("WHOIS al");
  EXPECT_EQ(b.expect("330"), ":irc.sockit.local 330 bob al alice :is logged in as");
  b.send("WHO al %na");
  EXPECT_EQ(b.expect("354"), ":irc.sockit.local 354 bob al alice");

  Client m(server.address());  // a wrong password: 904 after the throttle's delay, no login
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(sasl_login(m, "mal", "alice", "wrong horse"), "904");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
  m.send("AUTHENTICATE PLAIN");
  m.expect("AUTHENTICATE");
  m.send("AUTHENTICATE not*base64");
  m.expect("904");
  m.send("AUTHENTICATE PLAIN");
  m.expect("AUTHENTICATE");
  m.send("AUTHENTICATE " + std::string(401, 'A'));
  m.expect("905");
  m.send("CAP END");
  m.expect("001");
  b.send("WHOIS mal");
  b.expect("318");
  EXPECT_EQ(b.dump().find(" 330 bob mal"), std::string::npos);
}

TEST(ChatServerAccounts, RegisterOnLoopbackThenSaslWithTheNewAccount) {
  TempDir d;
  ChatServer server({"--accounts-db", d.db(), "--config", d.cost(), "--no-flood-control"});
  {
    Client c(server.address());
    c.send("CAP LS 302");
    EXPECT_NE(c.expect("CAP").find("draft/account-registration=before-connect"), std::string::npos);
    c.send("NICK newbie");
    c.send("REGISTER * * :a fine password");
    EXPECT_EQ(c.expect_any({"REGISTER", "FAIL"}, 30s), ":irc.sockit.local REGISTER SUCCESS newbie :Account successfully registered");
    c.expect("900");
    c.send("REGISTER other * :a fine password");  // one per connection
    EXPECT_NE(c.expect("FAIL").find("ALREADY_AUTHENTICATED"), std::string::npos);
  }
  Client again(server.address());
  EXPECT_EQ(sasl_login(again, "nb", "newbie", "a fine password"), "903");
  // REGISTER spam: 3 per address and hour by default (newbie was the first).
  std::vector<std::string> codes;
  for (int i = 0; i < 3; ++i) {
    Client r(server.address());
    r.send("NICK spam" + std::to_string(i));
    r.send("REGISTER * * :a fine password");
    codes.push_back(r.expect_any({"REGISTER", "FAIL"}, 30s));
  }
  EXPECT_NE(codes[0].find("SUCCESS"), std::string::npos);
  EXPECT_NE(codes[1].find("SUCCESS"), std::string::npos);
  EXPECT_EQ(codes[2], ":irc.sockit.local FAIL REGISTER TEMPORARILY_UNAVAILABLE spam2 :Too many registrations, try again later");
  auto list = account({"list", "--db", d.db()});
  EXPECT_EQ(list.out.find("spam2"), std::string::npos);
  EXPECT_NE(list.out.find("spam1"), std::string::npos);
}

TEST(ChatServerAccounts, RegistrationOffInTheConfig) {
  TempDir d;
  const fs::path conf = d.path / "chat.toml";
  std::ofstream(conf) << "[accounts]\n" << test::kCheapHashCost << "registration = \"off\"\n";
  ChatServer server({"--config", conf.string()});
  EXPECT_TRUE(fs::exists(d.path / "accounts.db"));  // the default file, beside the config
  Client c(server.address());
  c.send("CAP LS 302");
  std::string ls = c.expect("CAP");
  EXPECT_NE(ls.find("sasl=PLAIN"), std::string::npos);
  EXPECT_EQ(ls.find("account-registration"), std::string::npos);
  c.send("NICK x");
  c.send("REGISTER * * :a fine password");
  EXPECT_NE(c.expect("FAIL").find("TEMPORARILY_UNAVAILABLE"), std::string::npos);
}

TEST(ChatServerAccounts, UnusableDatabaseIsAClearErrorAtStart) {
  TempDir d;
  {
    std::ofstream f(d.db(), std::ios::binary);
    f << std::string(4096, 'x');
  }
  auto r = test::run({test::sockit_bin(), "chat-server", "-l", "127.0.0.1:0", "--accounts-db", d.db()}, {}, 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(d.db() + ": file is not a database"), std::string::npos) << r.err;
  r = test::run({test::sockit_bin(), "chat-server", "--check-config", "--accounts-db", d.db()}, {}, 10s);
  EXPECT_EQ(r.status, 1);
  r = test::run({test::sockit_bin(), "chat-server", "-l", "127.0.0.1:0", "--accounts-db", (d.path / "no/such/dir.db").string()}, {}, 10s);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no/such/dir.db"), std::string::npos) << r.err;
}

TEST(ChatServerAccounts, ChatClientLogsInWithSaslFromAPasswordFile) {
  TempDir d;
  ASSERT_EQ(account({"add", "alice", "--db", d.db(), "--config", d.cost()}, "correct horse\n").status, 0);
  const fs::path pass = d.path / "pass";
  std::ofstream(pass) << "correct horse\n";
  ChatServer server({"--accounts-db", d.db(), "--config", d.cost(), "--no-flood-control"});
  auto chat = test::Child::spawn({test::sockit_bin(), "chat", "127.0.0.1", std::to_string(server.port()), "--nick", "al",
                                  "--plain", "--no-reconnect", "--sasl-user", "alice", "--sasl-pass-file", pass.string()});
  std::string out = chat.read_stdout_until("MOTD", 20s);
  Client b(server.address());
  b.register_as("bob");
  b.send("WHOIS al");
  EXPECT_EQ(b.expect("330"), ":irc.sockit.local 330 bob al alice :is logged in as");
  ASSERT_TRUE(chat.write_stdin("/quit bye\n"));
  chat.close_stdin();
  out += chat.read_stdout(10s);
  EXPECT_EQ(chat.wait(10s), 0) << out;
  EXPECT_NE(out.find("Logged in as alice"), std::string::npos) << out;
  EXPECT_EQ(out.find("SASL login failed"), std::string::npos) << out;

  // A wrong password: shown, and registration goes on without an account.
  std::ofstream(pass) << "wrong horse\n";
  auto bad = test::Child::spawn({test::sockit_bin(), "chat", "127.0.0.1", std::to_string(server.port()), "--nick", "al2",
                                 "--plain", "--no-reconnect", "--sasl-user", "alice", "--sasl-pass-file", pass.string()});
  std::string bad_out = bad.read_stdout_until("MOTD", 30s);
  std::string bad_err = bad.read_stderr_until("SASL login failed", 5s);
  ASSERT_TRUE(bad.write_stdin("/quit\n"));
  bad.close_stdin();
  EXPECT_EQ(bad.wait(10s), 0);
  EXPECT_NE((bad_out + bad_err).find("SASL login failed"), std::string::npos) << bad_out << bad_err;
  // No password at all: a usage error, exit 2.
  auto r = test::run({test::sockit_bin(), "chat", "127.0.0.1", "6667", "--sasl-user", "alice"}, "", 10s);
  EXPECT_EQ(r.status, 2) << r.err;
}

// IRCv3 account-tag: a logged-in sender's PRIVMSG, NOTICE, TAGMSG (to a channel and to a nick)
// and AWAY carry @account= to receivers that asked for account-tag, and nothing to the others;
// a sender without an account sends no account tag.
TEST(ChatServerAccounts, AccountTagOnlyToReceiversThatAskedForIt) {
  TempDir d;
  ASSERT_EQ(account({"add", "alice", "--db", d.db(), "--config", d.cost()}, "correct horse\n").status, 0);
  ChatServer server({"--accounts-db", d.db(), "--config", d.cost(), "--no-flood-control"});
  Client a(server.address());
  ASSERT_EQ(sasl_login(a, "al", "alice", "correct horse"), "903");
  a.send("CAP END");
  a.expect("422");  // end of the welcome burst (no MOTD)
  Client tagged(server.address());
  tagged.send("CAP LS 302");
  EXPECT_NE(tagged.expect("CAP").find("account-tag"), std::string::npos);
  tagged.send("CAP REQ :account-tag message-tags away-notify");
  EXPECT_NE(tagged.expect("CAP").find("ACK"), std::string::npos);
  tagged.send("CAP END");
  tagged.register_as("tg");
  Client plain_rx(server.address());
  plain_rx.send("CAP REQ :away-notify");
  plain_rx.expect("CAP");
  plain_rx.send("CAP END");
  plain_rx.register_as("pl");
  for (Client* c : {&a, &tagged, &plain_rx}) {
    c->send("JOIN #t");
    c->expect("366");
  }
  tagged.expect("JOIN");  // pl's join
  a.send("PRIVMSG #t :hello");
  std::string l = tagged.expect("PRIVMSG");
  EXPECT_EQ(l.rfind("@account=alice;msgid=", 0), 0u) << l;
  EXPECT_NE(l.find(" :al!~al@127.0.0.1 PRIVMSG #t :hello"), std::string::npos) << l;
  EXPECT_EQ(plain_rx.expect("PRIVMSG"), ":al!~al@127.0.0.1 PRIVMSG #t :hello");
  a.send("NOTICE tg :psst");
  l = tagged.expect("NOTICE");
  EXPECT_EQ(l.rfind("@account=alice;msgid=", 0), 0u) << l;
  a.send("@+typing=active TAGMSG #t");
  l = tagged.expect("TAGMSG");
  EXPECT_EQ(l.rfind("@account=alice;msgid=", 0), 0u) << l;
  EXPECT_NE(l.find(";+typing=active :al!"), std::string::npos) << l;
  a.send("AWAY :lunch");
  EXPECT_EQ(tagged.expect("AWAY"), "@account=alice :al!~al@127.0.0.1 AWAY :lunch");
  EXPECT_EQ(plain_rx.expect("AWAY"), ":al!~al@127.0.0.1 AWAY :lunch");
  // A sender without an account: no account tag, even for a receiver that asked.
  plain_rx.send("PRIVMSG #t :me too");
  l = tagged.expect("PRIVMSG");
  EXPECT_EQ(l.find("account="), std::string::npos) << l;
}

namespace {

/// A registered client that asked for `caps` (CAP REQ, checked ACKed).
std::unique_ptr<Client> with_caps(const ChatServer& server, std::string_view caps, std::string_view nick) {
  auto c = std::make_unique<Client>(server.address());
  c->send("CAP LS 302");
  c->expect("CAP");
  c->send("CAP REQ :" + std::string(caps));
  EXPECT_NE(c->expect("CAP").find("ACK"), std::string::npos) << c->dump();
  c->send("CAP END");
  c->register_as(nick);
  return c;
}

/// The line `c` gets next with command `cmd`, checked to be `line` with "@account=alice " in front
/// (`tagged`) or as it is.
void expect_line(Client& c, std::string_view cmd, const std::string& line, bool tagged) {
  EXPECT_EQ(c.expect(cmd), tagged ? "@account=alice " + line : line) << c.dump();
}

/// The line a server-time + message-tags + account-tag client gets: time first, then the account.
void expect_timed(Client& c, std::string_view cmd, const std::string& line) {
  const std::string l = c.expect(cmd);
  EXPECT_EQ(l.rfind("@time=", 0), 0u) << l;
  EXPECT_NE(l.find(";account=alice"), std::string::npos) << l;
  EXPECT_TRUE(l.ends_with(" " + line)) << l;
}

}  // namespace

// IRCv3 account-tag on every line a logged-in user causes, to the receivers that asked for it, the
// same line without the tag to the others, each over real sockets: JOIN (plain and extended-join),
// TOPIC, MODE, INVITE (to the invited user and as invite-notify), KICK, AWAY, SETNAME, NICK, PART,
// PRIVMSG in the channel batch, QUIT. A guest's lines carry no account tag.
TEST(ChatServerAccounts, AccountTagOnEveryLineALoggedInUserCauses) {
  TempDir d;
  ASSERT_EQ(account({"add", "alice", "--db", d.db(), "--config", d.cost()}, "correct horse\n").status, 0);
  ChatServer server({"--accounts-db", d.db(), "--config", d.cost(), "--no-flood-control"});
  auto tg = with_caps(server, "account-tag away-notify invite-notify setname", "tg");
  auto pl = with_caps(server, "away-notify invite-notify setname", "pl");
  auto tm = with_caps(server, "account-tag server-time message-tags", "tm");
  auto ex = with_caps(server, "account-tag extended-join", "ex");
  auto out = with_caps(server, "account-tag", "out");
  const std::vector<Client*> early{tg.get(), pl.get(), tm.get(), ex.get()};
  for (Client* c : early) {
    c->send("JOIN #t");
    c->expect("366");
  }
  for (std::size_t i = 0; i < early.size(); ++i) {  // the JOINs of those who came after
    for (std::size_t j = i + 1; j < early.size(); ++j) early[i]->expect("JOIN");
  }
  Client a(server.address());
  ASSERT_EQ(sasl_login(a, "al", "alice", "correct horse"), "903");
  a.send("CAP END");
  a.expect("422");
  const std::string al = ":al!~al@127.0.0.1 ";

  a.send("JOIN #t");
  a.expect("366");
  expect_line(*tg, "JOIN", al + "JOIN #t", true);
  expect_line(*pl, "JOIN", al + "JOIN #t", false);
  expect_timed(*tm, "JOIN", al + "JOIN #t");
  expect_line(*ex, "JOIN", al + "JOIN #t alice :Test", true);  // extended-join: both
  // tg (a guest, the channel's operator) gives al +o: no account tag on a guest's line.
  tg->send("MODE #t +o al");
  EXPECT_EQ(tg->expect("MODE"), ":tg!~tg@127.0.0.1 MODE #t +o :al");
  expect_line(*pl, "MODE", ":tg!~tg@127.0.0.1 MODE #t +o :al", false);
  EXPECT_EQ(ex->expect("MODE"), ":tg!~tg@127.0.0.1 MODE #t +o :al");
  EXPECT_EQ(tm->expect("MODE").find("account="), std::string::npos);
  a.expect("MODE");

  a.send("TOPIC #t :news");
  expect_line(*tg, "TOPIC", al + "TOPIC #t :news", true);
  expect_line(*pl, "TOPIC", al + "TOPIC #t :news", false);
  expect_timed(*tm, "TOPIC", al + "TOPIC #t :news");

  a.send("MODE #t +v pl");
  expect_line(*tg, "MODE", al + "MODE #t +v :pl", true);
  expect_line(*pl, "MODE", al + "MODE #t +v :pl", false);
  expect_timed(*tm, "MODE", al + "MODE #t +v :pl");

  a.send("INVITE out #t");
  a.expect("341");
  expect_line(*out, "INVITE", al + "INVITE out :#t", true);
  expect_line(*tg, "INVITE", al + "INVITE out :#t", true);  // invite-notify
  expect_line(*pl, "INVITE", al + "INVITE out :#t", false);

  out->send("JOIN #t");
  out->expect("366");
  EXPECT_EQ(tg->expect("JOIN"), ":out!~out@127.0.0.1 JOIN #t");  // a guest's JOIN: no tag
  a.send("KICK #t out :bye");
  expect_line(*out, "KICK", al + "KICK #t out :bye", true);
  expect_line(*tg, "KICK", al + "KICK #t out :bye", true);
  expect_line(*pl, "KICK", al + "KICK #t out :bye", false);
  expect_timed(*tm, "KICK", al + "KICK #t out :bye");

  a.send("AWAY :lunch");
  expect_line(*tg, "AWAY", al + "AWAY :lunch", true);
  expect_line(*pl, "AWAY", al + "AWAY :lunch", false);
  a.send("AWAY");
  expect_line(*tg, "AWAY", al + "AWAY", true);
  expect_line(*pl, "AWAY", al + "AWAY", false);

  a.send("SETNAME :Alice L");
  expect_line(*tg, "SETNAME", al + "SETNAME :Alice L", true);
  expect_line(*pl, "SETNAME", al + "SETNAME :Alice L", false);

  a.send("PRIVMSG #t :one\r\nPRIVMSG #t :two");  // one read: the same channel batch
  for (const char* text : {"one", "two"}) {
    expect_line(*tg, "PRIVMSG", al + "PRIVMSG #t :" + text, true);  // no message-tags: no msgid
    expect_line(*pl, "PRIVMSG", al + "PRIVMSG #t :" + text, false);
    const std::string l = tm->expect("PRIVMSG");
    EXPECT_EQ(l.rfind("@time=", 0), 0u) << l;
    EXPECT_NE(l.find(";account=alice;msgid="), std::string::npos) << l;
    EXPECT_TRUE(l.ends_with(al + "PRIVMSG #t :" + text)) << l;
  }

  a.send("NICK al2");
  const std::string al2 = ":al2!~al@127.0.0.1 ";
  expect_line(*tg, "NICK", al + "NICK :al2", true);
  expect_line(*pl, "NICK", al + "NICK :al2", false);
  expect_timed(*tm, "NICK", al + "NICK :al2");

  a.send("PART #t :later");
  expect_line(*tg, "PART", al2 + "PART #t :later", true);
  expect_line(*pl, "PART", al2 + "PART #t :later", false);
  expect_timed(*tm, "PART", al2 + "PART #t :later");
  a.send("JOIN #t");
  expect_line(*tg, "JOIN", al2 + "JOIN #t", true);
  a.send("JOIN 0");  // PART from every channel
  expect_line(*tg, "PART", al2 + "PART #t :Left all channels", true);
  expect_line(*pl, "PART", al2 + "PART #t :Left all channels", false);
  a.send("JOIN #t");
  expect_line(*pl, "JOIN", al2 + "JOIN #t", false);

  a.send("QUIT :gone");
  expect_line(*tg, "QUIT", al2 + "QUIT :Quit: gone", true);
  expect_line(*pl, "QUIT", al2 + "QUIT :Quit: gone", false);
  expect_timed(*tm, "QUIT", al2 + "QUIT :Quit: gone");
}

namespace {

std::string b64(std::string_view in) { return irc::encode_base64(in); }
std::string unb64(std::string_view in) { return irc::decode_base64(in).value_or(""); }

std::string hmac256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

/// The AUTHENTICATE payload of a line from the server ("AUTHENTICATE xyz").
std::string authenticate_payload(const std::string& line) {
  auto p = irc::parse(line);
  return p && !p.message->params.empty() ? p.message->params[0] : std::string();
}

/// A SCRAM-SHA-256 client (RFC 5802/7677) written here with OpenSSL: CAP, NICK/USER, then the
/// exchange for `user`/`pass`. `tamper`: "" (honest), "nonce" (a client-final with another nonce).
/// Returns the numeric that ends it (903 or 904) and fills `server_first`.
std::string scram_login(Client& c, std::string_view nick, std::string_view user, std::string_view pass,
                        std::string* server_first_out = nullptr, std::string_view tamper = {}) {
  c.send("CAP LS 302");
  std::string ls = c.expect("CAP");
  EXPECT_NE(ls.find("sasl=PLAIN,SCRAM-SHA-256"), std::string::npos) << ls;
  c.send("CAP REQ :sasl");
  c.expect("CAP");
  c.send("NICK " + std::string(nick));
  c.send("USER " + std::string(nick) + " 0 * :Test");
  c.send("AUTHENTICATE SCRAM-SHA-256");
  EXPECT_EQ(c.expect("AUTHENTICATE"), "AUTHENTICATE +");
  const std::string cnonce = "fyko+d2lbbFgONRv9qkxdawL";
  const std::string bare = "n=" + std::string(user) + ",r=" + cnonce;
  c.send("AUTHENTICATE " + b64("n,," + bare));
  const std::string server_first = unb64(authenticate_payload(c.expect("AUTHENTICATE", 30s)));
  if (server_first_out) *server_first_out = server_first;
  std::map<char, std::string> f;
  for (std::string_view rest = server_first; !rest.empty();) {
    std::size_t comma = rest.find(',');
    std::string_view a = rest.substr(0, comma);
    if (a.size() >= 2) f[a[0]] = std::string(a.substr(2));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  EXPECT_EQ(f['r'].rfind(cnonce, 0), 0u) << server_first;  // the server's nonce extends ours
  EXPECT_GT(f['r'].size(), cnonce.size());
  const std::string salt = unb64(f['s']);
  const int iterations = std::atoi(f['i'].c_str());
  EXPECT_GE(iterations, 4096);
  unsigned char salted[32];
  PKCS5_PBKDF2_HMAC(pass.data(), static_cast<int>(pass.size()), reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(), 32, salted);
  const std::string sp(reinterpret_cast<const char*>(salted), 32);
  const std::string client_key = hmac256(sp, "Client Key");
  const std::string nonce = tamper == "nonce" ? cnonce + "forged" : f['r'];
  const std::string without_proof = "c=biws,r=" + nonce;
  const std::string auth = bare + "," + server_first + "," + without_proof;
  std::string proof = hmac256(sha256(client_key), auth);
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ client_key[i]);
  c.send("AUTHENTICATE " + b64(without_proof + ",p=" + b64(proof)));
  std::string reply = c.expect_any({"AUTHENTICATE", "904"}, 60s);
  if (reply.find(" 904 ") != std::string::npos) return "904";
  EXPECT_EQ(unb64(authenticate_payload(reply)), "v=" + b64(hmac256(hmac256(sp, "Server Key"), auth)));
  c.send("AUTHENTICATE +");
  std::string end = c.expect_any({"903", "904"}, 30s);
  auto p = irc::parse(end);
  return p ? p.message->command : std::string();
}

}  // namespace

// SASL SCRAM-SHA-256 over a real socket, the client written in the test: a full exchange logs in
// (server-final checked, 900/903, WHOIS 330); a wrong password, an unknown name (a salt and
// 4096 iterations like a real one) and a forged nonce all get 904 after PLAIN's throttle; an
// account without SCRAM credentials yet (as one from schema 1) gets them at its next PLAIN login.
TEST(ChatServerAccounts, SaslScramSha256FullExchangeAndFailures) {
  TempDir d;
  ASSERT_EQ(account({"add", "alice", "--db", d.db(), "--config", d.cost()}, "correct horse\n").status, 0);
  ChatServer server({"--accounts-db", d.db(), "--config", d.cost(), "--no-flood-control"});
  Client c(server.address());
  ASSERT_EQ(scram_login(c, "al", "alice", "correct horse"), "903");
  EXPECT_NE(c.dump().find(" 900 al al!~al@127.0.0.1 alice :You are now logged in as alice"), std::string::npos) << c.dump();
  c.send("CAP END");
  c.expect("001");
  c.send("WHOIS al");
  EXPECT_EQ(c.expect("330"), ":irc.sockit.local 330 al al alice :is logged in as");  // SCRAM test

  // Each failing client from its own loopback address, so each waits the first throttle step (1 s).
  auto from = [](const char* ip) { return Address::from_ip(ip, 0).value(); };
  Client wrong(server.address(), from("127.0.0.2"));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(scram_login(wrong, "w1", "alice", "wrong horse"), "904");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
  Client unknown(server.address(), from("127.0.0.3"));
  std::string fake_first;
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(scram_login(unknown, "w2", "nobody", "whatever pw", &fake_first), "904");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
  EXPECT_NE(fake_first.find(",s="), std::string::npos) << fake_first;
  EXPECT_NE(fake_first.find(",i=4096"), std::string::npos) << fake_first;
  Client forged(server.address(), from("127.0.0.4"));
  EXPECT_EQ(scram_login(forged, "w3", "alice", "correct horse", nullptr, "nonce"), "904");
  // Malformed client-first: 904 at once; "*" aborts with 906.
  forged.send("AUTHENTICATE SCRAM-SHA-256");
  forged.expect("AUTHENTICATE");
  forged.send("AUTHENTICATE " + b64("p=tls-unique,,n=alice,r=abc"));
  forged.expect("904");
  forged.send("AUTHENTICATE SCRAM-SHA-256");
  forged.expect("AUTHENTICATE");
  forged.send("AUTHENTICATE *");
  forged.expect("906");

  // An account without SCRAM credentials (as accounts of schema 1): SCRAM fails until a PLAIN login.
  {
    auto st = store::open_sqlite_accounts(d.db(), {}, false);
    ASSERT_TRUE(st) << st.error().message();
    ASSERT_TRUE((*st)->add("old", "old password"));
    auto sc = (*st)->scram("old");
    ASSERT_TRUE(sc && sc->has_value());
    EXPECT_EQ(**sc, "");
  }
  Client before(server.address(), from("127.0.0.5"));
  EXPECT_EQ(scram_login(before, "o1", "old", "old password"), "904");
  Client plain_login(server.address());
  EXPECT_EQ(sasl_login(plain_login, "o2", "old", "old password"), "903");
  Client after(server.address());
  EXPECT_EQ(scram_login(after, "o3", "old", "old password"), "903");
}

// SIGHUP re-reads [accounts]: registration turned off takes draft/account-registration out of the
// offer (CAP DEL to cap-notify clients, REGISTER refused), turned on again brings it back (CAP NEW
// with its value); a client without cap-notify is told nothing.
TEST(ChatServerAccounts, SighupRegistrationChangeSendsCapDelAndNew) {
  TempDir d;
  const fs::path conf = d.path / "chat.toml";
  std::ofstream(conf) << "[accounts]\n" << test::kCheapHashCost << "registration = \"on\"\n[flood]\nrate = 0\n";
  ChatServer server({"--config", conf.string()});
  Client c(server.address());
  c.send("CAP LS 302");  // cap-notify implied
  EXPECT_NE(c.expect("CAP").find("draft/account-registration=before-connect"), std::string::npos);
  c.send("CAP END");
  c.register_as("watcher");
  Client old(server.address());
  old.register_as("oldclient");
  std::ofstream(conf) << "[accounts]\n" << test::kCheapHashCost << "registration = \"off\"\n[flood]\nrate = 0\n";
  server.child().signal(SIGHUP);
  EXPECT_EQ(c.expect("CAP", 10s), ":irc.sockit.local CAP watcher DEL :draft/account-registration");
  c.send("REGISTER * * :a fine password");
  EXPECT_NE(c.expect("FAIL").find("TEMPORARILY_UNAVAILABLE"), std::string::npos);
  std::ofstream(conf) << "[accounts]\n" << test::kCheapHashCost << "registration = \"on\"\n[flood]\nrate = 0\n";
  server.child().signal(SIGHUP);
  EXPECT_EQ(c.expect("CAP", 10s), ":irc.sockit.local CAP watcher NEW :draft/account-registration=before-connect");
  old.send("PING :x");
  old.expect("PONG");
  for (const std::string& l : old.seen()) EXPECT_EQ(l.find(" CAP "), std::string::npos) << l;
}

// Nick ownership ([accounts] enforce_nicks, nick_grace = 3s here: a SASL login, argon2id under
// ASan on a busy machine, must fit in it): a client on a registered
// account's nick without logging in gets a NOTICE, then a guest nick that its channel sees (not a
// kill); one that logs in to the account within the grace keeps it; other nicks are left alone.
TEST(ChatServerAccounts, EnforceNicksRenamesToGuestAfterGraceUnlessLoggedIn) {
  TempDir d;
  ASSERT_EQ(account({"add", "alice", "--db", d.db(), "--config", d.cost()}, "correct horse\n").status, 0);
  ASSERT_EQ(account({"add", "bob", "--db", d.db(), "--config", d.cost()}, "battery staple\n").status, 0);
  const fs::path conf = d.path / "chat.toml";
  std::ofstream(conf) << "[accounts]\n" << test::kCheapHashCost << "enforce_nicks = true\nnick_grace = \"3s\"\n[flood]\nrate = 0\n";
  ChatServer server({"--config", conf.string()});
  Client watcher(server.address());
  watcher.register_as("watcher");
  watcher.send("JOIN #c");
  watcher.expect("366");
  Client owner(server.address());  // first: takes bob's nick and logs in within the grace (SASL 3.2)
  owner.send("CAP REQ :sasl");
  owner.expect("CAP");
  owner.send("CAP END");
  owner.register_as("Bob");
  owner.expect("NOTICE", 10s);
  owner.send("AUTHENTICATE PLAIN");
  owner.expect("AUTHENTICATE");
  owner.send("AUTHENTICATE " + plain("bob", "battery staple"));
  EXPECT_NE(owner.expect_any({"903", "904"}, 30s).find(" 903 "), std::string::npos);
  Client squat(server.address());  // takes alice's nick, never logs in
  squat.register_as("alice");
  EXPECT_NE(squat.expect("NOTICE", 10s).find("This nickname is registered"), std::string::npos) << squat.dump();
  squat.send("JOIN #c");
  squat.expect("366");
  // Polled, not slept: the NICK change arrives after the grace, seen by the channel too.
  std::string nick = squat.expect("NICK", 15s);
  EXPECT_NE(nick.find(":alice!~alice@127.0.0.1 NICK :Guest"), std::string::npos) << nick;
  EXPECT_EQ(watcher.expect("NICK", 5s), nick);
  squat.send("PING :still-here");
  EXPECT_EQ(squat.expect("PONG"), ":irc.sockit.local PONG irc.sockit.local :still-here");  // not killed
  // Bob's deadline (set before alice's, same grace) has passed by now: still Bob.
  owner.send("WHOIS Bob");
  EXPECT_EQ(owner.expect("311").rfind(":irc.sockit.local 311 Bob Bob ", 0), 0u);
  for (const std::string& l : owner.seen()) EXPECT_EQ(l.find(" NICK "), std::string::npos) << l;
}
