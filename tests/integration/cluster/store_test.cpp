// Accounts and chat history in Redis (docs/CLUSTER.md, "Accounts and history in Redis"): an
// account registered on one node logs in with SASL PLAIN on another, a name registered from two
// nodes at once is created exactly once, and the history of a channel written on one node is read
// by CHATHISTORY on another. Real redis-server, real chat-server processes, raw IRC clients.
#include "redis_server.hpp"

#include "integration/irc/irc_client.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using sockit::irc::itest::ChatServer;
using sockit::irc::itest::Client;
using sockit::irc::itest::plain;
using sockit::test::RedisServer;

namespace {

/// A configuration file with accounts (REGISTER on, no per-address limit to speak of, a cheap
/// argon2id cost) and history on, no flood control; the two nodes share it.
std::string write_config(const sockit::test::TempDir& d) {
  const std::string conf = d.file("chat.toml");
  std::ofstream(conf) << "[accounts]\nregister_per_ip = 1000\n" << sockit::test::kCheapHashCost
                      << "[history]\nenabled = true\n[flood]\nrate = 0\n";
  return conf;
}

std::vector<std::string> node_args(const RedisServer& redis, const std::string& conf, const std::string& name) {
  return {"--config", conf, "--cluster", redis.url(), "--node-name", name, "--server-name", name + ".example"};
}

/// CAP REQ sasl, NICK/USER, AUTHENTICATE PLAIN: the line that ends it (903 or 904).
std::string sasl_plain(Client& c, std::string_view nick, std::string_view user, std::string_view pass) {
  c.send("CAP LS 302");
  c.expect("CAP");
  c.send("CAP REQ :sasl");
  c.expect("CAP");
  c.send("NICK " + std::string(nick));
  c.send("USER " + std::string(nick) + " 0 * :Test");
  c.send("AUTHENTICATE PLAIN");
  c.expect("AUTHENTICATE");
  c.send("AUTHENTICATE " + plain(user, pass));
  return c.expect_any({"903", "904"}, 30s);
}


/// CAP REQ of the caps a history client asks for, then registration.
void register_with_caps(Client& c, const std::string& nick, const std::string& caps) {
  c.send("CAP LS 302");
  c.send("CAP REQ :" + caps);
  c.expect("CAP");
  EXPECT_NE(c.expect("CAP").find(" ACK "), std::string::npos) << c.dump();
  c.send("CAP END");
  c.register_as(nick);
}

/// alice (on one node) and bob (on another) with the history caps, both in `chan`; returns once
/// bob's JOIN reached alice's node (it relays to him from then on).
void history_pair(Client& alice, Client& bob, const std::string& chan) {
  const std::string caps = "draft/chathistory batch server-time message-tags echo-message";
  register_with_caps(alice, "alice", caps);
  register_with_caps(bob, "bob", caps);
  alice.send("JOIN " + chan);
  alice.expect("366");
  bob.send("JOIN " + chan);
  bob.expect("366");
  alice.expect("JOIN");
}

/// alice (echo-message on) sends `from_alice`, then bob `from_bob`: each waits for its echo and the
/// other's copy, relayed across the nodes, before the next line goes.
void say_both(Client& alice, const std::string& from_alice, Client& bob, const std::string& from_bob) {
  alice.send(from_alice);
  alice.expect("PRIVMSG");
  bob.expect("PRIVMSG");
  bob.send(from_bob);
  bob.expect("PRIVMSG");
  alice.expect("PRIVMSG");
}

/// The value of tag `key` of a line ("" when absent).
std::string tag(const std::string& line, const std::string& key) {
  if (line.empty() || line[0] != '@') return "";
  const std::string tags = ";" + line.substr(1, line.find(' ') - 1) + ";";
  const auto at = tags.find(";" + key + "=");
  if (at == std::string::npos) return "";
  const auto from = at + key.size() + 2;
  return tags.substr(from, tags.find(';', from) - from);
}

/// Sends a CHATHISTORY command; the texts of its batch's lines (comma-separated), or with `tagged`
/// each as "text msgid time\n"; the first line when it is no batch.
std::string history(Client& c, const std::string& cmd, bool tagged = false) {
  c.send(cmd);
  const std::string open = c.expect_any({"BATCH", "FAIL"});
  if (open.find(" BATCH +") == std::string::npos) return "(no batch) " + open;
  std::string out;
  while (auto l = c.line(5s)) {
    if (l->find(" BATCH -") != std::string::npos) return out;
    const std::string text = l->substr(l->rfind(" :") + 2);
    if (tagged) out += text + " " + tag(*l, "msgid") + " " + tag(*l, "time") + "\n";
    else out += (out.empty() ? "" : ",") + text;
  }
  return out + "(no end of batch)";
}

/// A Redis and two nodes, alpha and beta, sharing write_config's file.
class ClusterStore : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << RedisServer::kBinary << " missing";
    ASSERT_TRUE(redis.start()) << redis.log();
    conf = write_config(d);
    a.emplace(node_args(redis, conf, "alpha"));
    b.emplace(node_args(redis, conf, "beta"));
    ASSERT_TRUE(redis.wait_nodes_up({"alpha", "beta"}));
  }
  RedisServer redis;
  sockit::test::TempDir d{"sockit-cluster-store"};
  std::string conf;
  std::optional<ChatServer> a, b;
};

}  // namespace

TEST_F(ClusterStore, AnAccountRegisteredOnOneNodeLogsInWithSaslOnAnother) {
  EXPECT_FALSE(std::filesystem::exists(d.file("accounts.db")));  // in cluster mode the file is not used

  {
    Client c(a->address());
    c.send("CAP LS 302");
    EXPECT_NE(c.expect("CAP").find("draft/account-registration"), std::string::npos);
    c.send("NICK alice");
    c.send("REGISTER * * :correct horse");
    EXPECT_EQ(c.expect_any({"REGISTER", "FAIL"}, 30s),
              ":alpha.example REGISTER SUCCESS alice :Account successfully registered");
  }
  // The account is a hash in Redis: the password only as an argon2id hash.
  std::string hash = redis.cli({"HGET", "sockit:account:alice", "hash"});
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=64,t=1,p=1$", 0), 0u) << hash;  // [accounts] hash_* of the config
  EXPECT_EQ(redis.cli({"HGET", "sockit:account:alice", "name"}), "alice\n");
  EXPECT_EQ(redis.cli({"SISMEMBER", "sockit:accounts", "alice"}), "1\n");
  EXPECT_NE(redis.cli({"HGET", "sockit:account:alice", "scram"}), "\n");  // SCRAM-SHA-256 credentials too
  std::string all = redis.cli({"HGETALL", "sockit:account:alice"});
  EXPECT_EQ(all.find("correct horse"), std::string::npos);

  // SASL PLAIN on beta with the account made on alpha; a wrong password fails; the name is taken there too.
  Client ok(b->address());
  EXPECT_NE(sasl_plain(ok, "al", "ALICE", "correct horse").find(" 903 "), std::string::npos) << ok.dump();
  EXPECT_NE(ok.dump().find(" 900 al al!~al@127.0.0.1 alice :You are now logged in as alice"), std::string::npos) << ok.dump();
  ok.send("CAP END");
  ok.expect("001");
  Client bad(b->address());
  EXPECT_NE(sasl_plain(bad, "mal", "alice", "wrong horse").find(" 904 "), std::string::npos) << bad.dump();
  Client again(b->address());
  again.send("NICK other");
  again.send("REGISTER Alice * :another password");
  EXPECT_NE(again.expect_any({"REGISTER", "FAIL"}, 30s).find("FAIL REGISTER ACCOUNT_EXISTS"), std::string::npos) << again.dump();
}

TEST_F(ClusterStore, TheSameAccountRegisteredOnTwoNodesAtOnceExactlyOneWins) {
  constexpr int kRounds = 20, kAtOnce = 5;  // 5 names raced at a time, each from both nodes
  int alpha_wins = 0, beta_wins = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int first = 0; first < kRounds; first += kAtOnce) {
    std::vector<std::unique_ptr<Client>> ca, cb;
    for (int i = first; i < first + kAtOnce; ++i) {
      ca.push_back(std::make_unique<Client>(a->address()));
      cb.push_back(std::make_unique<Client>(b->address()));
      ca.back()->send("NICK ra" + std::to_string(i));
      cb.back()->send("NICK rb" + std::to_string(i));
    }
    for (int k = 0; k < kAtOnce; ++k) {
      const std::string name = "acct" + std::to_string(first + k);
      ca[static_cast<std::size_t>(k)]->send("REGISTER " + name + " * :password of alpha");
      cb[static_cast<std::size_t>(k)]->send("REGISTER " + name + " * :password of beta");
    }
    for (int k = 0; k < kAtOnce; ++k) {
      const int i = first + k;
      const std::string name = "acct" + std::to_string(i);
      const std::string ra = ca[static_cast<std::size_t>(k)]->expect_any({"REGISTER", "FAIL"}, 30s);
      const std::string rb = cb[static_cast<std::size_t>(k)]->expect_any({"REGISTER", "FAIL"}, 30s);
      const bool wa = ra.find(" REGISTER SUCCESS " + name + " ") != std::string::npos;
      const bool wb = rb.find(" REGISTER SUCCESS " + name + " ") != std::string::npos;
      ASSERT_NE(wa, wb) << "round " << i << ": " << ra << " / " << rb;
      EXPECT_NE((wa ? rb : ra).find("FAIL REGISTER ACCOUNT_EXISTS " + name), std::string::npos) << ra << " / " << rb;
      (wa ? alpha_wins : beta_wins)++;
      if (k != 0) continue;
      // The winner's password is the account's, on the other node too (once per batch: argon2id
      // under ASan is slow).
      Client check(wa ? b->address() : a->address());
      EXPECT_NE(sasl_plain(check, "c" + std::to_string(i), name, wa ? "password of alpha" : "password of beta").find(" 903 "),
                std::string::npos)
          << check.dump();
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(redis.cli({"SCARD", "sockit:accounts"}), std::to_string(kRounds) + "\n");
  std::cout << kRounds << " races in " << secs << " s: alpha " << alpha_wins << ", beta " << beta_wins << "\n";
}

/// `sockit chat-server account ARGS...` with `stdin_data`.
sockit::test::RunResult account_cli(const std::vector<std::string>& args, const std::string& stdin_data = {}) {
  std::vector<std::string> argv{sockit::test::sockit_bin(), "chat-server", "account"};
  argv.insert(argv.end(), args.begin(), args.end());
  return sockit::test::run(argv, stdin_data);
}

/// SASL PLAIN as `user` on `node`: whether it ends with 903.
bool logs_in(const ChatServer& node, const std::string& nick, const std::string& user, const std::string& pass) {
  Client c(node.address());
  return sasl_plain(c, nick, user, pass).find(" 903 ") != std::string::npos;
}

// The operators' CLI against the network's Redis ([cluster] url in the file, or --cluster): an
// account it creates logs in on a node; a SQLite file made by the CLI is imported (idempotent; a
// different account of the same name is left alone unless --overwrite) and its passwords log in.
TEST_F(ClusterStore, TheAccountCliActsOnRedisAndImportsASqliteFile) {
  const std::string net = d.file("net.toml");
  std::ofstream(net) << "[cluster]\nurl = \"" << redis.url() << "\"\n[accounts]\n" << sockit::test::kCheapHashCost;
  const std::string cost = d.file("cost.toml");  // the cheap cost for the CLI's --db and --cluster
  std::ofstream(cost) << "[accounts]\n" << sockit::test::kCheapHashCost;
  auto r = account_cli({"add", "erin", "--config", net}, "erin's password\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "account erin added\n");
  EXPECT_EQ(redis.cli({"SISMEMBER", "sockit:accounts", "erin"}), "1\n");
  EXPECT_EQ(redis.cli({"HGET", "sockit:account:erin", "hash"}).rfind("$argon2id$v=19$m=64,t=1,p=1$", 0), 0u);
  EXPECT_TRUE(logs_in(*b, "erin", "erin", "erin's password"));
  EXPECT_EQ(account_cli({"add", "Erin", "--cluster", redis.url(), "--config", cost}, "another one\n").status, 1);  // names ignore case
  r = account_cli({"list", "--cluster", redis.url()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("erin\t", 0), 0u) << r.out;
  EXPECT_EQ(account_cli({"del", "nobody", "--cluster", redis.url()}).status, 1);
  EXPECT_EQ(account_cli({"list", "--db", d.file("x.db"), "--cluster", redis.url()}).status, 2);  // which one?
  EXPECT_EQ(account_cli({"import", "--cluster", redis.url()}).status, 2);                        // from what?
  EXPECT_EQ(account_cli({"list", "--cluster", "redis://127.0.0.1:1"}).status, 1);                // no Redis there

  // A SQLite file made by the CLI, imported: its password logs in on a node.
  const std::string db = d.file("old-accounts.db");
  ASSERT_EQ(account_cli({"add", "fred", "--db", db, "--config", cost}, "fred's password\n").status, 0);
  r = account_cli({"import", "--db", db, "--cluster", redis.url()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("imported 1 account(s) from " + db + ": 1 created, 0 unchanged"), std::string::npos) << r.err;
  r = account_cli({"import", "--db", db, "--config", net});  // again: nothing to do
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find(": 0 created, 1 unchanged, 0 replaced, 0 different"), std::string::npos) << r.err;
  EXPECT_TRUE(logs_in(*a, "fred", "fred", "fred's password"));
  // The file's fred changes his password: the import leaves Redis's alone (exit 1) unless --overwrite.
  ASSERT_EQ(account_cli({"passwd", "fred", "--db", db, "--config", cost}, "fred's new password\n").status, 0);
  r = account_cli({"import", "--db", db, "--cluster", redis.url()});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("fred exists in Redis with another password"), std::string::npos) << r.err;
  r = account_cli({"import", "--db", db, "--cluster", redis.url(), "--overwrite"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find(": 0 created, 0 unchanged, 1 replaced"), std::string::npos) << r.err;
  EXPECT_TRUE(logs_in(*a, "fred2", "fred", "fred's new password"));
  EXPECT_EQ(redis.cli({"SCARD", "sockit:accounts"}), "2\n");
}

TEST_F(ClusterStore, LinesSaidOnOneNodeAreReturnedByChathistoryOnAnotherWithTheirMsgids) {
  ASSERT_TRUE(sockit::test::wait_until(
      [&] { return redis.cli({"PUBSUB", "NUMSUB", "sockit:msg"}) == "sockit:msg\n2\n"; }, 10s, 50ms));
  EXPECT_FALSE(std::filesystem::exists(d.file("chat-history.db")));  // in cluster mode the file is not used
  Client alice(a->address()), bob(b->address());
  history_pair(alice, bob, "#h");
  std::vector<std::string> ids, times;
  for (int i = 1; i <= 6; ++i) {
    alice.send("PRIVMSG #h :m" + std::to_string(i));
    const std::string echo = alice.expect("PRIVMSG");
    const std::string got = bob.expect("PRIVMSG");
    ids.push_back(tag(echo, "msgid"));
    times.push_back(tag(got, "time"));
    ASSERT_FALSE(ids.back().empty()) << echo;
    EXPECT_EQ(tag(got, "msgid"), ids.back()) << got;  // the relayed line: the same msgid on beta
  }
  // Written once each, into one stream: the 6 lines (by alpha) and the two JOINs (event-playback,
  // each by its member's node).
  EXPECT_EQ(redis.cli({"XLEN", "sockit:hist:#h"}), "8\n");
  auto texts = [&](std::initializer_list<int> which) {
    std::string out;
    for (int i : which) out += (out.empty() ? "" : ",") + std::string("m") + std::to_string(i);
    return out;
  };
  // CHATHISTORY on beta and on alpha: the lines in order with their msgids, and the same
  // server-time on both nodes (when alice said them on alpha: at most what beta stamped on the
  // live line, which it stamps at delivery).
  std::vector<std::string> stored[2];
  for (Client* c : {&bob, &alice}) {
    c->send("CHATHISTORY LATEST #h * 10");
    ASSERT_NE(c->expect("BATCH").find(" chathistory #h"), std::string::npos) << c->dump();
    for (int i = 0; i < 6; ++i) {
      const std::string l = c->expect("PRIVMSG");
      EXPECT_NE(l.find(" :alice!~alice@127.0.0.1 PRIVMSG #h :m" + std::to_string(i + 1)), std::string::npos) << l;
      EXPECT_EQ(tag(l, "msgid"), ids[static_cast<std::size_t>(i)]) << l;
      EXPECT_LE(tag(l, "time"), times[static_cast<std::size_t>(i)]) << l;  // ISO 8601 UTC: compares as text
      stored[c == &alice].push_back(tag(l, "time"));
    }
    EXPECT_NE(c->expect("BATCH").find(" BATCH -"), std::string::npos);
  }
  EXPECT_EQ(stored[0], stored[1]);
  EXPECT_EQ(history(bob, "CHATHISTORY LATEST #h * 3"), texts({4, 5, 6}));
  EXPECT_EQ(history(bob, "CHATHISTORY LATEST #h msgid=" + ids[3] + " 10"), texts({5, 6}));
  EXPECT_EQ(history(bob, "CHATHISTORY BEFORE #h msgid=" + ids[3] + " 2"), texts({2, 3}));
  EXPECT_EQ(history(bob, "CHATHISTORY AFTER #h msgid=" + ids[1] + " 2"), texts({3, 4}));
  EXPECT_EQ(history(bob, "CHATHISTORY AROUND #h msgid=" + ids[2] + " 3"), texts({2, 3, 4}));
  EXPECT_EQ(history(bob, "CHATHISTORY BETWEEN #h msgid=" + ids[0] + " msgid=" + ids[4] + " 10"), texts({2, 3, 4}));
  EXPECT_EQ(history(bob, "CHATHISTORY BETWEEN #h msgid=" + ids[5] + " msgid=" + ids[0] + " 2"), texts({4, 5}));
  EXPECT_EQ(history(bob, "CHATHISTORY BEFORE #h timestamp=2999-01-01T00:00:00.000Z 2"), texts({5, 6}));
  EXPECT_EQ(history(bob, "CHATHISTORY AFTER #h timestamp=2999-01-01T00:00:00.000Z 5"), "");
  EXPECT_EQ(history(bob, "CHATHISTORY AFTER #h timestamp=2000-01-01T00:00:00Z 1"), texts({1}));
  if (stored[0][2] != stored[0][3]) {  // m3 and m4 in different milliseconds (nearly always)
    EXPECT_EQ(history(bob, "CHATHISTORY AFTER #h timestamp=" + stored[0][2] + " 2"), texts({4, 5}));
  }
  EXPECT_EQ(history(bob, "CHATHISTORY AFTER #h msgid=nope 5"), "");  // an unknown msgid: an empty batch

  // A line said on beta is in the same stream, after alpha's; alpha reads it.
  bob.send("PRIVMSG #h :m7");
  const std::string seven = tag(bob.expect("PRIVMSG"), "msgid");
  alice.expect("PRIVMSG");
  EXPECT_EQ(history(alice, "CHATHISTORY LATEST #h * 2"), texts({6, 7}));
  alice.send("CHATHISTORY AFTER #h msgid=" + ids[5] + " 1");
  alice.expect("BATCH");
  EXPECT_EQ(tag(alice.expect("PRIVMSG"), "msgid"), seven);

  // Private lines across nodes: one stream per conversation, read from either side; TARGETS lists it.
  say_both(alice, "PRIVMSG bob :psst", bob, "PRIVMSG alice :what");
  EXPECT_EQ(history(alice, "CHATHISTORY LATEST bob * 10"), "psst,what");
  EXPECT_EQ(history(bob, "CHATHISTORY LATEST alice * 10"), "psst,what");
  bob.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z 10");
  EXPECT_NE(bob.expect("BATCH").find("draft/chathistory-targets"), std::string::npos);
  const std::string t1 = bob.expect("CHATHISTORY"), t2 = bob.expect("CHATHISTORY");
  EXPECT_NE(t1.find("CHATHISTORY TARGETS #h timestamp="), std::string::npos) << t1;
  EXPECT_NE(t2.find("CHATHISTORY TARGETS alice timestamp="), std::string::npos) << t2;
}

/// A Redis and a configuration file with history on, its retention keys given by each test.
class ClusterHistory : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << RedisServer::kBinary << " missing";
    ASSERT_TRUE(redis.start()) << redis.log();
  }
  /// The file, with `retention` ("max_messages = 100\n") under [history].
  std::string config(const std::string& retention) {
    const std::string conf = d.file("chat.toml");
    std::ofstream(conf) << "[history]\nenabled = true\n" << retention << "[flood]\nrate = 0\n";
    return conf;
  }
  RedisServer redis;
  sockit::test::TempDir d{"sockit-cluster-store"};
};

TEST_F(ClusterHistory, StreamsAreCappedAtMaxMessages) {
  ChatServer a(node_args(redis, config("max_messages = 100\n"), "alpha"));
  ASSERT_TRUE(redis.wait_nodes_up({"alpha"}));
  Client alice(a.address());
  alice.register_as("alice");
  alice.send("JOIN #cap");
  alice.expect("366");
  std::string bulk;
  for (int i = 0; i < 1000; ++i) bulk += "PRIVMSG #cap :n" + std::to_string(i) + "\r\n";
  alice.raw(bulk + "PING :filled\r\n");
  alice.expect("PONG", 20s);
  std::string len;
  // MAXLEN ~ 100: Redis trims whole nodes of the stream, so a little over 100 may stay, never 1,000.
  ASSERT_TRUE(sockit::test::wait_until(
      [&] {
        len = redis.cli({"XLEN", "sockit:hist:#cap"});
        const std::string last = redis.cli({"XREVRANGE", "sockit:hist:#cap", "+", "-", "COUNT", "1"});
        return last.find("n999") != std::string::npos;
      },
      10s, 50ms))
      << len;
  const long n = std::stol(len);
  EXPECT_GE(n, 100);
  EXPECT_LT(n, 300);
  // The msgid index follows the stream: at most 100 members more than it has entries, plus those
  // sharing the first entry's millisecond.
  const long idx = std::stol(redis.cli({"ZCARD", "sockit:histidx:#cap"}));
  EXPECT_GE(idx, n);
  EXPECT_LT(idx, n + 300);
}

// [history] max_age in Redis: a line older than it is returned by CHATHISTORY on neither node
// (nor found by its msgid, nor listed by TARGETS); lines said after are; the keys expire.
TEST_F(ClusterHistory, LinesOlderThanMaxAgeAreNotReturnedOnAnyNode) {
  const std::string conf = config("max_age = \"2s\"\n");
  ChatServer a(node_args(redis, conf, "alpha")), b(node_args(redis, conf, "beta"));
  ASSERT_TRUE(redis.wait_nodes_up({"alpha", "beta"}));
  Client alice(a.address()), bob(b.address());
  history_pair(alice, bob, "#age");
  const auto t0 = std::chrono::steady_clock::now();
  alice.send("PRIVMSG #age :old1");
  const std::string old1 = tag(alice.expect("PRIVMSG"), "msgid");
  bob.expect("PRIVMSG");
  alice.send("PRIVMSG bob :oldpriv");
  alice.expect("PRIVMSG");
  bob.expect("PRIVMSG");
  const std::string fresh = history(bob, "CHATHISTORY LATEST #age * 10");
  if (std::chrono::steady_clock::now() - t0 < 1500ms) {
    EXPECT_EQ(fresh, "old1");  // not yet 2 s old
  }
  // Gone on both nodes once 2 s old, never before.
  std::string on_a, on_b;
  ASSERT_TRUE(sockit::test::wait_until(
      [&] {
        on_b = history(bob, "CHATHISTORY LATEST #age * 10");
        on_a = history(alice, "CHATHISTORY LATEST #age * 10");
        return on_a.empty() && on_b.empty();
      },
      10s, 100ms))
      << on_a << " / " << on_b;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1900ms);
  EXPECT_EQ(history(alice, "CHATHISTORY AFTER #age msgid=" + old1 + " 5"), "");  // its msgid is unknown now
  EXPECT_EQ(history(bob, "CHATHISTORY LATEST alice * 10"), "");
  bob.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2999-01-01T00:00:00.000Z 10");
  EXPECT_NE(bob.expect("BATCH").find("draft/chathistory-targets"), std::string::npos);
  EXPECT_NE(bob.expect("BATCH").find(" BATCH -"), std::string::npos) << bob.dump();  // no target listed
  // The stream and its index hold the old entries no more (the JOINs went too).
  EXPECT_EQ(redis.cli({"XLEN", "sockit:hist:#age"}), "0\n");
  EXPECT_EQ(redis.cli({"ZCARD", "sockit:histidx:#age"}), "0\n");

  // Newer lines, said on either node, are returned on both.
  say_both(alice, "PRIVMSG #age :new1", bob, "PRIVMSG #age :new2");
  EXPECT_EQ(history(alice, "CHATHISTORY LATEST #age * 10"), "new1,new2");
  EXPECT_EQ(history(bob, "CHATHISTORY LATEST #age * 10"), "new1,new2");
  // The keys expire max_age + 1 s after their last line.
  const long ttl = std::stol(redis.cli({"PTTL", "sockit:hist:#age"}));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 3000);
  const long ittl = std::stol(redis.cli({"PTTL", "sockit:histidx:#age"}));
  EXPECT_GT(ittl, 0);
  EXPECT_LE(ittl, 3000);
}

TEST_F(ClusterStore, WithRedisAwayRegisterAndSaslFailAtOnceAndTheLoopKeepsServing) {
  Client ok(a->address());
  ok.send("NICK dora");
  ok.send("REGISTER * * :a fine password");
  ASSERT_NE(ok.expect_any({"REGISTER", "FAIL"}, 30s).find("REGISTER SUCCESS dora"), std::string::npos) << ok.dump();
  Client here(a->address());
  here.register_as("here");
  redis.kill();
  // REGISTER and SASL answered (not hung) while Redis is away; the node keeps answering PING.
  const auto t0 = std::chrono::steady_clock::now();
  Client c(a->address());
  c.send("NICK eve");
  c.send("REGISTER * * :a fine password");
  EXPECT_NE(c.expect_any({"REGISTER", "FAIL"}, 10s).find("FAIL REGISTER TEMPORARILY_UNAVAILABLE eve"), std::string::npos)
      << c.dump();
  here.send("PING :alive");
  EXPECT_NE(here.expect("PONG"), "");
  Client s(a->address());
  EXPECT_NE(sasl_plain(s, "dd", "dora", "a fine password").find(" 904 "), std::string::npos) << s.dump();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  // Redis back (empty: no persistence): the node reconnects and REGISTER works again.
  ASSERT_TRUE(redis.start()) << redis.log();
  ASSERT_TRUE(redis.wait_nodes_up({"alpha"}));
  std::string last;
  ASSERT_TRUE(sockit::test::wait_until(
      [&] {
        Client r(a->address());
        r.send("NICK fred");
        r.send("REGISTER * * :a fine password");
        last = r.expect_any({"REGISTER", "FAIL"}, 30s);
        return last.find("REGISTER SUCCESS fred") != std::string::npos;
      },
      15s, 200ms))
      << last;
}

namespace {

/// `sockit chat-server history ARGS...`.
sockit::test::RunResult history_cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv{sockit::test::sockit_bin(), "chat-server", "history"};
  argv.insert(argv.end(), args.begin(), args.end());
  return sockit::test::run(argv);
}

/// A CHATHISTORY command's batch as "text msgid time" lines.
std::string history_tagged(Client& c, const std::string& cmd) { return history(c, cmd, true); }

}  // namespace

// `sockit chat-server history import`: the history a single server wrote to its SQLite file,
// copied into Redis, is answered by CHATHISTORY on a cluster node as the single server answered it
// (same lines, order, msgids, server-time tags; a private conversation too); a second import adds
// nothing; [history] max_messages of --config is applied; bad input is one line and exit != 0.
TEST_F(ClusterHistory, ASingleServersSqliteHistoryImportedIsAnsweredByANodeWithTheSameMsgidsAndTimes) {
  const std::string conf = config("");
  const std::string db = d.file("chat-history.db");  // [history] db's default beside the file
  const std::string caps = "draft/chathistory batch server-time message-tags echo-message";
  std::string latest, before, priv, ids[5];
  {
    ChatServer single({"--config", conf});
    Client alice(single.address()), bob(single.address());
    register_with_caps(alice, "alice", caps);
    register_with_caps(bob, "bob", caps);
    alice.send("JOIN #imp");
    alice.expect("366");
    for (int i = 0; i < 5; ++i) {
      alice.send("PRIVMSG #imp :m" + std::to_string(i + 1));
      ids[i] = tag(alice.expect("PRIVMSG"), "msgid");
      ASSERT_FALSE(ids[i].empty()) << alice.dump();
    }
    alice.send("PRIVMSG bob :psst");
    alice.expect("PRIVMSG");
    bob.expect("PRIVMSG");
    latest = history_tagged(alice, "CHATHISTORY LATEST #imp * 10");
    before = history_tagged(alice, "CHATHISTORY BEFORE #imp msgid=" + ids[3] + " 2");
    priv = history_tagged(alice, "CHATHISTORY LATEST bob * 10");
    single.child().signal(SIGTERM);
    ASSERT_TRUE(single.child().wait(10s).has_value());
  }
  ASSERT_EQ(std::count(latest.begin(), latest.end(), '\n'), 5) << latest;
  ASSERT_NE(latest.find("m1 " + ids[0] + " 20"), std::string::npos) << latest;  // a time tag follows
  ASSERT_EQ(std::count(before.begin(), before.end(), '\n'), 2) << before;
  ASSERT_NE(priv.find("psst "), std::string::npos) << priv;

  // Bad input: one line on stderr, exit 1 (2: usage).
  for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"import", "--db", d.file("missing.db"), "--cluster", redis.url()}, "cannot open the history database"},
           {{"import", "--db", conf, "--cluster", redis.url()}, "not a sockit history database"},
           {{"import", "--db", db, "--cluster", "redis://127.0.0.1:1"}, "Redis redis://127.0.0.1:1"}}) {
    auto r = history_cli(args);
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(history_cli({"import", "--cluster", redis.url()}).status, 2);  // from what?
  EXPECT_EQ(history_cli({"import", "--db", db}).status, 2);               // into what?

  auto r = history_cli({"import", "--db", db, "--cluster", redis.url()});
  ASSERT_EQ(r.status, 0) << r.err;
  // The 5 lines, the JOIN (event-playback) and the private line; nothing there before.
  EXPECT_NE(r.err.find("imported 7, skipped 0 already there"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(7 lines in the file)"), std::string::npos) << r.err;
  r = history_cli({"import", "--db", db, "--cluster", redis.url()});  // again: nothing added
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("imported 0, skipped 7 already there"), std::string::npos) << r.err;
  EXPECT_EQ(redis.cli({"XLEN", "sockit:hist:#imp"}), "6\n");

  {
    ChatServer a(node_args(redis, conf, "alpha"));
    ASSERT_TRUE(redis.wait_nodes_up({"alpha"}));
    Client alice(a.address());
    register_with_caps(alice, "alice", caps);
    alice.send("JOIN #imp");  // a JOIN entry more; without event-playback the lines are the same
    alice.expect("366");
    EXPECT_EQ(history_tagged(alice, "CHATHISTORY LATEST #imp * 10"), latest);
    EXPECT_EQ(history_tagged(alice, "CHATHISTORY BEFORE #imp msgid=" + ids[3] + " 2"), before);
    EXPECT_EQ(history_tagged(alice, "CHATHISTORY LATEST bob * 10"), priv);
  }

  // [history] max_messages of --config: the newest 3 of the file's 6 entries of #imp, into empty keys.
  redis.cli({"DEL", "sockit:hist:#imp", "sockit:histidx:#imp", "sockit:hist:alice bob", "sockit:histidx:alice bob"});
  const std::string capped = d.file("capped.toml");
  std::ofstream(capped) << "[cluster]\nurl = \"" << redis.url() << "\"\n[history]\nenabled = true\nmax_messages = 3\n";
  r = history_cli({"import", "--db", db, "--config", capped});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("imported 4, skipped 0 already there; not copied: 0 older than max_age, 3 over max_messages"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(redis.cli({"XLEN", "sockit:hist:#imp"}), "3\n");
}
