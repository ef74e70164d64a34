// Accounts in the IRC core (issue #18): SASL's AUTHENTICATE (PLAIN, EXTERNAL, chunks, abort,
// malformed payloads, throttled failures), REGISTER/VERIFY, and what a login changes (900,
// account-notify, extended-join, WHOIS 330, WHOX %a, OPER by account). An in-memory AccountStore
// and a fake clock: no sockets, no sleeps, no SQLite (the store has its own tests).
#include "fake_peer.hpp"

#include "sockit/store/accounts.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <map>
#include <mutex>

using namespace sockit;
using namespace sockit::irc;
using namespace sockit::irc::test;
using namespace std::chrono_literals;
using H = Harness;

namespace {

class MemoryAccounts final : public store::AccountStore {
 public:
  Result<void> add(std::string_view name, std::string_view password) override {
    if (!store::valid_account_name(name)) return Error(std::errc::invalid_argument, "name");
    if (accounts.count(key(name))) return Error(std::errc::file_exists, "exists");
    accounts[key(name)] = {std::string(name), std::string(password)};
    return {};
  }
  Result<void> remove(std::string_view name) override { return accounts.erase(key(name)) ? Result<void>() : Error(std::errc::no_such_file_or_directory); }
  Result<void> set_password(std::string_view, std::string_view) override { return {}; }
  Result<std::vector<store::Account>> list() override { return std::vector<store::Account>{}; }
  Result<std::optional<store::Account>> find(std::string_view) override { return std::optional<store::Account>(); }
  Result<std::optional<std::string>> check_password(std::string_view name, std::string_view password) override {
    ++checks;
    auto it = accounts.find(key(name));
    if (it == accounts.end() || it->second.second != password) return std::optional<std::string>();
    return std::optional<std::string>(it->second.first);
  }
  Result<std::optional<std::string>> find_by_certfp(std::string_view fp) override {
    auto it = certfps.find(std::string(fp));
    if (it == certfps.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Result<void> add_certfp(std::string_view name, std::string_view fp) override {
    certfps[std::string(fp)] = std::string(name);
    return {};
  }
  Result<void> remove_certfp(std::string_view, std::string_view) override { return {}; }

  static std::string key(std::string_view n) {
    std::string k(n);
    for (char& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return k;
  }
  std::map<std::string, std::pair<std::string, std::string>> accounts;
  std::map<std::string, std::string> certfps;
  int checks = 0;
};

std::string b64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string plain(std::string_view user, std::string_view pass) {
  return b64(std::string() + std::string(user) + '\0' + std::string(user) + '\0' + std::string(pass));
}

struct Fixture {
  MemoryAccounts accounts;
  H h;
  explicit Fixture(Config cfg = quiet()) : h(std::move(cfg)) {
    h.server->set_account_store(&accounts);
    EXPECT_TRUE(accounts.add("alice", "correct horse"));
  }
  /// Connects, CAP LS 302, REQ sasl (+ `more`), NICK/USER: unregistered, replies drained.
  H::Cli& start(std::string_view nick, std::string_view more = "", std::string_view ip = "127.0.0.1") {
    H::Cli& c = h.connect(ip);
    h.send(c, "CAP LS 302");
    h.send(c, "CAP REQ :sasl" + (more.empty() ? std::string() : " " + std::string(more)));
    h.register_as(c, nick, "Real");
    c.take();
    return c;
  }
};

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (auto& l : lines) all += l + "\n";
  return all;
}

}  // namespace

TEST(IrcSasl, CapLsOffersSaslOnlyWithAnAccountStore) {
  H plain_server(quiet());
  auto& c = plain_server.connect();
  plain_server.send(c, "CAP LS 302");
  std::string ls = joined(c.take());
  EXPECT_EQ(ls.find("sasl"), std::string::npos) << ls;
  EXPECT_EQ(ls.find("account-notify"), std::string::npos) << ls;
  plain_server.send(c, "CAP REQ sasl");
  EXPECT_TRUE(H::has(c.take(), "CAP")) ;
  plain_server.send(c, "CAP LIST");
  EXPECT_EQ(joined(c.take()).find("sasl"), std::string::npos);
  plain_server.send(c, "AUTHENTICATE PLAIN");  // a server without accounts knows no SASL (as ngIRCd)
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 421 * AUTHENTICATE :Unknown command"});

  Fixture f;
  auto& d = f.h.connect();
  f.h.send(d, "CAP LS 302");
  ls = joined(d.take());
  EXPECT_NE(ls.find(" sasl=PLAIN,SCRAM-SHA-256 "), std::string::npos) << ls;  // no certificate: no EXTERNAL
  EXPECT_NE(ls.find("account-notify"), std::string::npos) << ls;
  EXPECT_EQ(ls.find("draft/account-registration"), std::string::npos) << ls;  // registration off by default
  f.h.send(d, "CAP REQ :sasl account-notify");
  EXPECT_NE(joined(d.take()).find("ACK :sasl account-notify"), std::string::npos);
}

TEST(IrcSasl, PlainLogsInThenRegistrationCompletes) {
  Fixture f;
  auto& c = f.start("alice");
  f.h.send(c, "AUTHENTICATE PLAIN");
  EXPECT_EQ(c.take(), std::vector<std::string>{"AUTHENTICATE +"});
  f.h.send(c, "AUTHENTICATE " + plain("alice", "correct horse"));
  auto lines = c.take();
  ASSERT_EQ(lines.size(), 2u) << joined(lines);
  EXPECT_EQ(lines[0], ":irc.sockit.local 900 alice alice!~alice@127.0.0.1 alice :You are now logged in as alice");
  EXPECT_EQ(lines[1], ":irc.sockit.local 903 alice :SASL authentication successful");
  f.h.send(c, "CAP END");
  EXPECT_TRUE(H::has(c.take(), "001"));
  auto& bob = f.h.user("bob");
  f.h.send(bob, "WHOIS alice");
  auto whois = H::only(bob.take(), "330");
  ASSERT_EQ(whois.size(), 1u);
  EXPECT_EQ(whois[0], ":irc.sockit.local 330 bob alice alice :is logged in as");
  f.h.send(c, "AUTHENTICATE PLAIN");  // sasl-3.1: once logged in, 907
  EXPECT_TRUE(H::has(c.take(), "907"));
  f.h.check();
}

TEST(IrcSasl, WrongPasswordIs904AfterAGrowingDelay) {
  Fixture f;
  auto& c = f.start("mallory", "", "10.0.0.9");
  auto attempt = [&](std::string_view pw) {
    f.h.send(c, "AUTHENTICATE PLAIN");
    c.take();
    f.h.send(c, "AUTHENTICATE " + plain("alice", pw));
    std::chrono::milliseconds waited{0};
    while (c.peer->out.empty() && waited < 60s) {
      f.h.advance(100ms);
      waited += 100ms;
    }
    EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 904 mallory :SASL authentication failed"});
    return waited;
  };
  EXPECT_EQ(attempt("nope1"), 1000ms);
  EXPECT_EQ(attempt("nope2"), 2000ms);
  // Another connection from the same address inherits the address's count.
  auto& d = f.start("mallory2", "", "10.0.0.9");
  f.h.send(d, "AUTHENTICATE PLAIN");
  d.take();
  f.h.send(d, "AUTHENTICATE " + plain("alice", "nope3"));
  f.h.advance(3900ms);
  EXPECT_TRUE(d.take().empty());
  f.h.advance(100ms);
  EXPECT_TRUE(H::has(d.take(), "904"));
  // A right password is answered at once, and lines sent behind it come after the verdict.
  f.h.send(c, "AUTHENTICATE PLAIN");
  c.take();
  f.h.send(c, "AUTHENTICATE " + plain("alice", "correct horse"));
  f.h.send(c, "CAP END");
  auto lines = c.take();
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(command_of(lines[0]), "900");
  EXPECT_EQ(command_of(lines[1]), "903");
  EXPECT_EQ(command_of(lines[2]), "001");
  f.h.check();
}

TEST(IrcSasl, ChunksOf400BytesAndAFinalPlus) {
  Fixture f;
  const std::string long_pw(298, 'p');  // "alice\0alice\0" + 298 = 310 bytes -> 416 base64: 400 + 16
  ASSERT_TRUE(f.accounts.add("bob", long_pw));
  auto& c = f.start("bob");
  f.h.send(c, "AUTHENTICATE PLAIN");
  c.take();
  std::string payload = plain("bob", long_pw);
  ASSERT_GT(payload.size(), 400u);
  f.h.send(c, "AUTHENTICATE " + payload.substr(0, 400));
  EXPECT_TRUE(c.take().empty());
  f.h.send(c, "AUTHENTICATE " + payload.substr(400));
  EXPECT_TRUE(H::has(c.take(), "903"));

  // Exactly 400 bytes: the client ends with "AUTHENTICATE +".
  const std::string pw400(288, 'q');  // "carol\0carol\0" + 288 = 300 bytes -> 400 base64
  ASSERT_TRUE(f.accounts.add("carol", pw400));
  auto& d = f.start("carol");
  f.h.send(d, "AUTHENTICATE PLAIN");
  d.take();
  ASSERT_EQ(plain("carol", pw400).size(), 400u);
  f.h.send(d, "AUTHENTICATE " + plain("carol", pw400));
  EXPECT_TRUE(d.take().empty());
  f.h.send(d, "AUTHENTICATE +");
  EXPECT_TRUE(H::has(d.take(), "903"));
}

TEST(IrcSasl, BadInput) {
  Fixture f;
  auto& c = f.start("eve");
  auto exchange = [&](std::vector<std::string> lines) {
    f.h.send(c, "AUTHENTICATE PLAIN");
    c.take();
    for (auto& l : lines) f.h.send(c, "AUTHENTICATE " + l);
    return c.take();  // malformed: answered at once, no check to wait for
  };
  auto only = [](const std::vector<std::string>& lines) { return lines.size() == 1 ? command_of(lines[0]) : joined(lines); };
  EXPECT_EQ(only(exchange({"!!!notbase64"})), "904");
  EXPECT_EQ(only(exchange({"YWJj="})), "904");                           // bad length
  EXPECT_EQ(only(exchange({b64("no-nul-at-all")})), "904");              // not authzid\0authcid\0passwd
  EXPECT_EQ(only(exchange({b64(std::string("bob\0alice\0correct horse", 23))})), "904");  // authzid != authcid
  EXPECT_EQ(only(exchange({std::string(401, 'A')})), "905");             // a chunk over 400 bytes
  EXPECT_EQ(only(exchange({std::string(400, 'A'), std::string(400, 'A'), std::string(400, 'A'), std::string(400, 'A'),
                           std::string(400, 'A'), std::string(400, 'A'), std::string(400, 'A'), std::string(400, 'A'),
                           std::string(400, 'A'), std::string(400, 'A'), std::string(400, 'A'), std::string(400, 'A'),
                           std::string(400, 'A'), std::string(400, 'A'), std::string(400, 'A'), std::string(400, 'A'),
                           std::string(400, 'A'), std::string(400, 'A'), std::string(400, 'A'), std::string(400, 'A'),
                           std::string(400, 'A')})),
            "905");  // more than 8 KiB in all
  EXPECT_EQ(only(exchange({"*"})), "906");                               // abort
  f.h.send(c, "AUTHENTICATE SCRAM-SHA-1");
  auto mechs = c.take();
  ASSERT_EQ(mechs.size(), 2u);
  EXPECT_EQ(mechs[0], ":irc.sockit.local 908 eve PLAIN,SCRAM-SHA-256 :are available SASL mechanisms");
  EXPECT_EQ(command_of(mechs[1]), "904");
  f.h.send(c, "AUTHENTICATE EXTERNAL");  // no client certificate: not offered
  EXPECT_TRUE(H::has(c.take(), "908"));
  // CAP END in the middle of an exchange aborts it (906), and registration completes.
  f.h.send(c, "AUTHENTICATE PLAIN");
  c.take();
  f.h.send(c, "CAP END");
  auto end = c.take();
  EXPECT_TRUE(H::has(end, "906"));
  EXPECT_TRUE(H::has(end, "001"));
  EXPECT_EQ(f.accounts.checks, 0);  // nothing malformed reached the store
  f.h.check();
}

TEST(IrcSasl, WithoutTheCapAuthenticateIsRefused) {
  Fixture f;
  auto& c = f.h.user("zed");
  f.h.send(c, "AUTHENTICATE PLAIN");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 904 zed :Request the sasl capability first"});
  // After registration, with the cap (sasl 3.2 re-authentication is allowed until logged in).
  f.h.send(c, "CAP REQ sasl");
  c.take();
  f.h.send(c, "AUTHENTICATE PLAIN");
  c.take();
  f.h.send(c, "AUTHENTICATE " + plain("alice", "correct horse"));
  EXPECT_TRUE(H::has(c.take(), "903"));
}

TEST(IrcSasl, ExternalWithARegisteredCertificate) {
  Fixture f;
  const std::string fp(64, 'c');
  ASSERT_TRUE(f.accounts.add_certfp("alice", fp));
  f.h.server->set_security_lookup([&](serve::Peer& p) {
    return ConnectionSecurity{true, p.id() == 1 ? fp : std::string(64, 'd')};
  });
  auto& c = f.h.connect();
  f.h.send(c, "CAP LS 302");
  EXPECT_NE(joined(c.take()).find("sasl=PLAIN,EXTERNAL"), std::string::npos);
  f.h.send(c, "CAP REQ sasl");
  f.h.register_as(c, "ally", "Real");
  c.take();
  f.h.send(c, "AUTHENTICATE EXTERNAL");
  EXPECT_EQ(c.take(), std::vector<std::string>{"AUTHENTICATE +"});
  f.h.send(c, "AUTHENTICATE +");
  auto lines = c.take();
  EXPECT_TRUE(H::has(lines, "900")) << joined(lines);
  EXPECT_TRUE(H::has(lines, "903"));

  auto& d = f.start("other");  // a certificate no account owns
  f.h.send(d, "AUTHENTICATE EXTERNAL");
  d.take();
  f.h.send(d, "AUTHENTICATE +");
  f.h.advance(60s);
  EXPECT_TRUE(H::has(d.take(), "904"));
}

TEST(IrcAccounts, AccountNotifyExtendedJoinAndWhox) {
  Fixture f;
  auto& watcher = f.h.connect();
  f.h.send(watcher, "CAP REQ :account-notify extended-join");
  f.h.register_as(watcher, "watcher", "W");
  f.h.send(watcher, "CAP END");
  auto& plain_peer = f.h.user("plainpeer");
  auto& c = f.h.user("alice");
  f.h.join("#a", {&watcher, &plain_peer, &c});
  f.h.send(watcher, "JOIN #b");
  H::drain({&watcher, &plain_peer, &c});
  f.h.send(c, "CAP REQ sasl");
  f.h.send(c, "AUTHENTICATE PLAIN");
  f.h.send(c, "AUTHENTICATE " + plain("alice", "correct horse"));
  EXPECT_TRUE(H::has(c.take(), "903"));
  EXPECT_EQ(watcher.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 ACCOUNT alice"});
  EXPECT_TRUE(plain_peer.take().empty());  // no cap, no ACCOUNT
  f.h.send(c, "JOIN #b");
  EXPECT_EQ(watcher.take(), std::vector<std::string>{":alice!~alice@127.0.0.1 JOIN #b alice :Real alice"});
  f.h.send(plain_peer, "WHO #a %na");
  auto who = H::only(plain_peer.take(), "354");
  ASSERT_EQ(who.size(), 3u);
  EXPECT_NE(joined(who).find(" alice alice\n"), std::string::npos) << joined(who);
  EXPECT_NE(joined(who).find(" watcher 0\n"), std::string::npos) << joined(who);
  f.h.check();
}

TEST(IrcAccounts, OperByAccount) {
  Config cfg = quiet();
  cfg.operators.push_back({"boss", "", "*"});
  cfg.operator_account["boss"] = "alice";
  Fixture f(cfg);
  auto& c = f.h.user("alice");
  f.h.send(c, "OPER boss");
  EXPECT_TRUE(H::has(c.take(), "491"));  // not logged in yet
  f.h.send(c, "CAP REQ sasl");
  f.h.send(c, "AUTHENTICATE PLAIN");
  f.h.send(c, "AUTHENTICATE " + plain("alice", "correct horse"));
  c.take();
  f.h.send(c, "OPER boss");
  EXPECT_TRUE(H::has(c.take(), "381"));
}

TEST(IrcRegister, RegisterLogsInAndFailsWithStandardReplies) {
  Config cfg = quiet();
  cfg.account_registration = true;
  cfg.register_per_ip = 2;
  cfg.register_window = 30s;
  Fixture f(cfg);
  auto& c = f.h.connect();
  f.h.send(c, "CAP LS 302");
  EXPECT_NE(joined(c.take()).find("draft/account-registration=before-connect"), std::string::npos);
  f.h.send(c, "NICK newbie");
  f.h.send(c, "REGISTER * * :a fine password");
  auto lines = c.take();
  ASSERT_EQ(lines.size(), 2u) << joined(lines);
  EXPECT_EQ(lines[0], ":irc.sockit.local REGISTER SUCCESS newbie :Account successfully registered");
  EXPECT_EQ(command_of(lines[1]), "900");
  EXPECT_EQ(f.accounts.accounts.count("newbie"), 1u);
  f.h.send(c, "REGISTER other * :a fine password");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local FAIL REGISTER ALREADY_AUTHENTICATED newbie :You are already logged in"});

  auto& d = f.h.user("dora");
  auto fail_code = [&](std::string_view line) {
    f.h.send(d, line);
    auto l = d.take();
    if (l.size() != 1) return joined(l);
    auto m = parse(l[0]);
    return m && m.message->command == "FAIL" && m.message->params.size() >= 3 ? m.message->params[1] : l[0];
  };
  EXPECT_EQ(fail_code("REGISTER alice * :whatever12"), "ACCOUNT_EXISTS");
  EXPECT_EQ(fail_code("REGISTER 9bad * :whatever12"), "BAD_ACCOUNT_NAME");
  EXPECT_EQ(fail_code("REGISTER dora * short"), "WEAK_PASSWORD");
  EXPECT_EQ(fail_code("REGISTER dora * :" + std::string(300, 'x')), "UNACCEPTABLE_PASSWORD");
  // The address has used its 2 registrations (newbie, and the attempt for alice).
  EXPECT_EQ(fail_code("REGISTER dora * :whatever12"), "TEMPORARILY_UNAVAILABLE");
  f.h.advance(cfg.register_window);  // a new window
  f.h.send(d, "REGISTER dora * :whatever12");
  auto ok = d.take();
  ASSERT_EQ(ok.size(), 2u) << joined(ok);
  EXPECT_EQ(ok[0], ":irc.sockit.local REGISTER SUCCESS dora :Account successfully registered");
  f.h.check();
}

TEST(IrcRegister, DisabledByDefaultAndVerifyHasNothingToVerify) {
  Fixture f;
  auto& c = f.h.user("dora");
  f.h.send(c, "REGISTER dora * :whatever12");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local FAIL REGISTER TEMPORARILY_UNAVAILABLE dora :Account registration is disabled"});
  f.h.send(c, "VERIFY dora 123456");
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local FAIL VERIFY INVALID_CODE dora :No verification is pending"});
  EXPECT_EQ(f.accounts.accounts.count("dora"), 0u);
}

// IRCv3 account-tag in the channel batch: lines of a logged-in sender and of a guest held in one
// turn go out in one pass, one send per member; the account tag goes only on the logged-in
// sender's lines and only to members with account-tag; server-time and msgid stack on top of it.
TEST(IrcAccountTag, HeldLinesOfALoggedInSenderAndAGuestInOneBatch) {
  Fixture f;
  f.h.server->set_hold_broadcasts(true);
  auto& a = f.start("al");
  f.h.send(a, "AUTHENTICATE PLAIN");
  f.h.send(a, "AUTHENTICATE " + plain("alice", "correct horse"));
  f.h.send(a, "CAP END");
  ASSERT_TRUE(H::has(a.take(), "903"));
  auto& g = f.h.user("guest");
  auto& t = f.h.user("tagged");
  f.h.send(t, "CAP REQ :account-tag");
  auto& p = f.h.user("plain");
  auto& e = f.h.user("every");
  f.h.send(e, "CAP REQ :account-tag server-time message-tags");
  f.h.join("#a", {&a, &g, &t, &p, &e});
  f.h.server->flush_broadcasts();
  H::drain({&a, &g, &t, &p, &e});
  const std::size_t t0 = t.peer->sends, p0 = p.peer->sends, e0 = e.peer->sends;
  f.h.raw(a, "PRIVMSG #a :1\r\nPRIVMSG #a :2\r\n");
  f.h.raw(g, "PRIVMSG #a :3\r\n");
  f.h.raw(a, "NOTICE #a :4\r\n");
  EXPECT_TRUE(t.take().empty());  // held until the turn ends
  f.h.server->flush_broadcasts();
  const std::string al = ":al!~al@127.0.0.1 ", gu = ":guest!~guest@127.0.0.1 ";
  const std::vector<std::string> lines{al + "PRIVMSG #a :1", al + "PRIVMSG #a :2", gu + "PRIVMSG #a :3",
                                       al + "NOTICE #a :4"};
  EXPECT_EQ(p.take(), lines);
  EXPECT_EQ(p.peer->sends, p0 + 1);
  const std::string acc = "@account=alice ";
  EXPECT_EQ(t.take(), (std::vector<std::string>{acc + lines[0], acc + lines[1], lines[2], acc + lines[3]}));
  EXPECT_EQ(t.peer->sends, t0 + 1);  // one buffer, one send
  auto every = e.take();
  ASSERT_EQ(every.size(), 4u);
  EXPECT_EQ(e.peer->sends, e0 + 1);
  for (std::size_t i = 0; i < every.size(); ++i) {
    const std::string& l = every[i];
    EXPECT_EQ(l.rfind("@time=2027-01-15T08:00:00.000Z;", 0), 0u) << l;
    EXPECT_EQ(l.find(";account=alice;msgid=") != std::string::npos, i != 2) << l;
    EXPECT_NE(l.find("msgid="), std::string::npos) << l;
    EXPECT_TRUE(l.ends_with(" " + lines[i])) << l;
  }
  EXPECT_EQ(H::only(g.take(), "PRIVMSG"), (std::vector<std::string>{lines[0], lines[1]}));  // not its own
  EXPECT_EQ(a.take(), std::vector<std::string>{lines[2]});
  f.h.check();
}
