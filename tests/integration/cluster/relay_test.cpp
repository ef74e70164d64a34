// Events between chat-server nodes through a real redis-server (docs/CLUSTER.md, "Events between
// nodes"): channel PRIVMSG/NOTICE relayed with one PUBLISH each, JOIN/PART/QUIT and remote members
// in NAMES, PRIVMSG to a nick on another node, and one order of a channel's lines on every node.
// Real clients over real sockets; each test starts its own Redis and nodes.
#include "redis_server.hpp"

#include "integration/irc/irc_client.hpp"
#include "support/support.hpp"

#include "sockit/irc/password.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using sockit::irc::itest::ChatServer;
using sockit::irc::itest::Client;
using sockit::test::RedisServer;

namespace {

std::string redis_cli(const RedisServer& redis, const std::vector<std::string>& args) { return redis.cli(args); }

/// Waits (bounded) until `n` node connections are subscribed to the event channel.
bool wait_subscribers(const RedisServer& redis, int n) {
  return sockit::test::wait_until(
      [&] { return redis_cli(redis, {"PUBSUB", "NUMSUB", "sockit:msg"}) == "sockit:msg\n" + std::to_string(n) + "\n"; }, 10s,
      50ms);
}

/// PUBLISH calls Redis counted so far (INFO commandstats).
long publishes(const RedisServer& redis) {
  std::string out = redis_cli(redis, {"INFO", "commandstats"});
  auto pos = out.find("cmdstat_publish:calls=");
  return pos == std::string::npos ? 0 : std::stol(out.substr(pos + 22));
}

/// NAMES `chan` from `c` until the 353 lines hold every nick of `want` (bounded); the last reply.
bool names_until(Client& c, const std::string& chan, const std::vector<std::string>& want, bool present, std::string* last) {
  return sockit::test::wait_until(
      [&] {
        c.send("NAMES " + chan);
        std::string names;
        for (std::string l = c.expect_any({"353", "366"}); !l.empty(); l = c.expect_any({"353", "366"})) {
          if (l.find(" 366 ") != std::string::npos) break;
          names += l.substr(l.rfind(':') + 1) + " ";
        }
        *last = names;
        for (const auto& n : want) {
          bool has = (" " + names).find(" " + n + " ") != std::string::npos || (" " + names).find("@" + n + " ") != std::string::npos;
          if (has != present) return false;
        }
        return true;
      },
      10s, 50ms);
}

/// Lines up to the PONG answering a PING sent now: what `c` was sent before it.
std::vector<std::string> until_pong(Client& c, const std::string& token) {
  c.send("PING " + token);
  std::vector<std::string> out;
  while (auto l = c.line(5s)) {
    if (l->find(" PONG ") != std::string::npos && l->find(token) != std::string::npos) return out;
    out.push_back(*l);
  }
  out.push_back("(no PONG)");
  return out;
}

std::string join_all(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& l : v) s += l + "\n";
  return s;
}

/// Sends `command` and returns the lines up to (and with) the numeric `end` (318, 315).
std::string query(Client& c, const std::string& command, const std::string& end) {
  c.send(command);
  std::string out;
  while (auto l = c.line(5s)) {
    out += *l + "\n";
    if (l->find(" " + end + " ") != std::string::npos) return out;
  }
  return out + "(no " + end + ")\n";
}

/// Sends `command` until its answer (up to `end`) holds (or lacks) `needle` (bounded); the last answer.
bool answer_until(Client& c, const std::string& command, const std::string& end, const std::string& needle, bool present,
                  std::string* last) {
  return sockit::test::wait_until(
      [&] {
        *last = query(c, command, end);
        return (last->find(needle) != std::string::npos) == present;
      },
      10s, 50ms);
}

/// WHOIS `nick` from `c` until its answer holds (or lacks) `needle` (bounded); the last answer.
bool whois_until(Client& c, const std::string& nick, const std::string& needle, bool present, std::string* last) {
  return answer_until(c, "WHOIS " + nick, "318", needle, present, last);
}

TEST(ClusterRelay, ChannelMessagesJoinsPartsQuitsAndPrivateMessagesCrossNodes) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha", "--server-name", "a.example"});
  ChatServer b({"--cluster", "unix:" + redis.unix_path(), "--node-name", "beta", "--server-name", "b.example"});
  ChatServer c({"--cluster", redis.url(), "--node-name", "gamma", "--server-name", "c.example"});
  ASSERT_TRUE(wait_subscribers(redis, 3)) << redis_cli(redis, {"PUBSUB", "NUMSUB", "sockit:msg"});

  Client alice(a.address());
  alice.register_as("alice");
  Client bob(b.address());
  bob.register_as("bob");
  Client carol(c.address());
  carol.register_as("carol");
  alice.send("JOIN #net");
  ASSERT_NE(alice.expect("366"), "");
  carol.send("JOIN #elsewhere");
  ASSERT_NE(carol.expect("366"), "");
  // bob (beta) sees alice (alpha) in #net once beta has her JOIN; then joins: alice sees it.
  std::string names;
  bob.send("JOIN #net");
  ASSERT_NE(bob.expect("366"), "");
  ASSERT_TRUE(names_until(bob, "#net", {"alice", "bob"}, true, &names)) << names;
  std::string joined = alice.expect("JOIN");
  EXPECT_EQ(joined.rfind(":bob!", 0), 0u) << joined;
  EXPECT_NE(joined.find(" JOIN #net"), std::string::npos) << joined;
  ASSERT_TRUE(names_until(alice, "#net", {"alice", "bob"}, true, &names)) << names;

  // A line said on alpha reaches bob on beta with alice's prefix, one PUBLISH for it.
  const long before = publishes(redis);
  alice.send("PRIVMSG #net :hello from alpha");
  std::string got = bob.expect("PRIVMSG");
  EXPECT_EQ(got.rfind(":alice!", 0), 0u) << got;
  EXPECT_NE(got.find(" PRIVMSG #net :hello from alpha"), std::string::npos) << got;
  EXPECT_EQ(publishes(redis) - before, 1);
  alice.send("NOTICE #net :a notice");
  got = bob.expect("NOTICE");
  EXPECT_EQ(got.rfind(":alice!", 0), 0u) << got;
  EXPECT_NE(got.find(" NOTICE #net :a notice"), std::string::npos) << got;
  // And back: bob's line reaches alice; neither gets its own line (no echo-message).
  bob.send("PRIVMSG #net :hi from beta");
  got = alice.expect("PRIVMSG");
  EXPECT_EQ(got.rfind(":bob!", 0), 0u) << got;
  EXPECT_NE(got.find(" PRIVMSG #net :hi from beta"), std::string::npos) << got;
  auto seen = until_pong(alice, "a1");
  EXPECT_EQ(join_all(seen).find("PRIVMSG"), std::string::npos) << join_all(seen);
  seen = until_pong(bob, "b1");
  EXPECT_EQ(join_all(seen).find("PRIVMSG"), std::string::npos) << join_all(seen);
  // carol (gamma) is in no channel with them: nothing of #net reaches her.
  seen = until_pong(carol, "c1");
  EXPECT_EQ(join_all(seen).find("#net"), std::string::npos) << join_all(seen);

  // PRIVMSG and NOTICE to a nick on another node.
  carol.send("PRIVMSG bob :psst");
  got = bob.expect("PRIVMSG");
  EXPECT_EQ(got.rfind(":carol!", 0), 0u) << got;
  EXPECT_NE(got.find(" PRIVMSG bob :psst"), std::string::npos) << got;
  bob.send("NOTICE alice :private notice");
  got = alice.expect("NOTICE");
  EXPECT_EQ(got.rfind(":bob!", 0), 0u) << got;
  EXPECT_NE(got.find(" NOTICE alice :private notice"), std::string::npos) << got;
  // A nick nobody holds: still 401.
  bob.send("PRIVMSG nobody :x");
  EXPECT_NE(bob.expect("401"), "");

  // PART on beta: alice sees it, and NAMES on alpha no longer lists bob.
  bob.send("PART #net :bye now");
  got = alice.expect("PART");
  EXPECT_EQ(got.rfind(":bob!", 0), 0u) << got;
  EXPECT_NE(got.find(" PART #net :bye now"), std::string::npos) << got;
  ASSERT_TRUE(names_until(alice, "#net", {"bob"}, false, &names)) << names;

  // QUIT on gamma of a member of #net: alice (alpha) and bob (beta, rejoined) see it once.
  carol.send("JOIN #net");
  ASSERT_NE(carol.expect("366"), "");
  got = alice.expect("JOIN");
  EXPECT_EQ(got.rfind(":carol!", 0), 0u) << got;
  bob.send("JOIN #net");
  ASSERT_TRUE(names_until(bob, "#net", {"alice", "bob", "carol"}, true, &names)) << names;
  carol.send("QUIT :gone fishing");
  got = alice.expect("QUIT");
  EXPECT_EQ(got.rfind(":carol!", 0), 0u) << got;
  EXPECT_NE(got.find("gone fishing"), std::string::npos) << got;
  got = bob.expect("QUIT");
  EXPECT_EQ(got.rfind(":carol!", 0), 0u) << got;
  ASSERT_TRUE(names_until(alice, "#net", {"carol"}, false, &names)) << names;
  seen = until_pong(alice, "a2");
  EXPECT_EQ(join_all(seen).find("QUIT"), std::string::npos) << join_all(seen);  // not twice

  // NICK on beta: alice sees it, NAMES and the nick target follow the new nick.
  bob.send("NICK bobby");
  got = alice.expect("NICK");
  EXPECT_EQ(got.rfind(":bob!", 0), 0u) << got;
  EXPECT_NE(got.find(" NICK :bobby"), std::string::npos) << got;
  ASSERT_TRUE(names_until(alice, "#net", {"alice", "bobby"}, true, &names)) << names;
  alice.send("PRIVMSG bobby :still there?");
  got = bob.expect("PRIVMSG");
  EXPECT_NE(got.find(" PRIVMSG bobby :still there?"), std::string::npos) << got;
}

/// A node started after the others learns who is in which channel (SYNC, answered with HAVE
/// events), without the others' members seeing any line for it.
TEST(ClusterRelay, ANodeStartedLateKnowsTheMembersAlreadyThere) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha"});
  ASSERT_TRUE(wait_subscribers(redis, 1));
  Client alice(a.address());
  alice.register_as("alice");
  alice.send("JOIN #early");
  ASSERT_NE(alice.expect("366"), "");
  until_pong(alice, "s");
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta"});
  ASSERT_TRUE(wait_subscribers(redis, 2));
  Client bob(b.address());
  bob.register_as("bob");
  bob.send("JOIN #early");
  ASSERT_NE(bob.expect("366"), "");
  std::string names;
  ASSERT_TRUE(names_until(bob, "#early", {"alice", "bob"}, true, &names)) << names;
  bob.send("PRIVMSG alice :found you");
  std::string got = alice.expect("PRIVMSG");
  EXPECT_NE(got.find(" PRIVMSG alice :found you"), std::string::npos) << got;
  // alice saw bob's JOIN and nothing of beta's start (no JOIN of her own replayed).
  auto seen = until_pong(alice, "a1");
  EXPECT_EQ(join_all(seen).find(":alice!"), std::string::npos) << join_all(seen);
}

/// Users on other nodes, in a channel or in none: WHOIS and WHO answered from the replica (the
/// node's server name in 312 and WHO), PRIVMSG to a remote user in no channel, NICK and QUIT of
/// such a user seen by the replica.
TEST(ClusterRelay, WhoisAndWhoAnswerForUsersOnOtherNodesInAChannelOrInNone) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha", "--server-name", "a.example"});
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta", "--server-name", "b.example"});
  ASSERT_TRUE(wait_subscribers(redis, 2));
  Client alice(a.address());
  alice.register_as("alice");
  Client dave(a.address());
  dave.register_as("dave");  // in no channel
  Client bob(b.address());
  bob.register_as("bob");
  alice.send("JOIN #net");
  ASSERT_NE(alice.expect("366"), "");

  // WHOIS dave (no channel) from beta: 311 with his user, host and real name, 312 alpha's server
  // name, no 319, 318.
  std::string w;
  ASSERT_TRUE(whois_until(bob, "dave", " 311 bob dave ~dave 127.0.0.1 * :Test dave", true, &w)) << w;
  EXPECT_NE(w.find(" 312 bob dave a.example :node alpha"), std::string::npos) << w;
  EXPECT_EQ(w.find(" 319 "), std::string::npos) << w;
  EXPECT_NE(w.find(" 318 bob dave :End of /WHOIS list"), std::string::npos) << w;
  EXPECT_EQ(w.find(" 401 "), std::string::npos) << w;
  // WHOIS alice (in #net, where bob is not): 319 lists the channel beta knows of, with her status
  // (the first member of the network: @).
  ASSERT_TRUE(whois_until(bob, "alice", " 319 bob alice :@#net", true, &w)) << w;
  EXPECT_NE(w.find(" 312 bob alice a.example "), std::string::npos) << w;
  // Nobody holds "nobody": 401 then 318.
  w = query(bob, "WHOIS nobody", "318");
  EXPECT_NE(w.find(" 401 bob nobody "), std::string::npos) << w;

  // PRIVMSG to a user on another node in no channel.
  bob.send("PRIVMSG dave :hello dave");
  std::string got = dave.expect("PRIVMSG");
  EXPECT_EQ(got.rfind(":bob!", 0), 0u) << got;
  EXPECT_NE(got.find(" PRIVMSG dave :hello dave"), std::string::npos) << got;

  // WHO #net from beta: bob (local, b.example) and alice (alpha, a.example).
  bob.send("JOIN #net");
  ASSERT_NE(bob.expect("366"), "");
  std::string names;
  ASSERT_TRUE(names_until(bob, "#net", {"alice", "bob"}, true, &names)) << names;
  w = query(bob, "WHO #net", "315");
  EXPECT_NE(w.find(" 352 bob #net ~alice 127.0.0.1 a.example alice H@ :0 Test alice"), std::string::npos) << w;
  EXPECT_NE(w.find(" 352 bob #net ~bob 127.0.0.1 b.example bob H"), std::string::npos) << w;
  EXPECT_NE(w.find(" 315 bob #net :End of WHO list"), std::string::npos) << w;
  // WHOX from beta: the remote member's fields.
  w = query(bob, "WHO #net %tcnsa,42", "315");
  EXPECT_NE(w.find(" 354 bob 42 #net a.example alice 0"), std::string::npos) << w;
  // WHO nick: a remote user in no channel.
  w = query(bob, "WHO dave", "315");
  EXPECT_NE(w.find(" 352 bob * ~dave 127.0.0.1 a.example dave H :0 Test dave"), std::string::npos) << w;
  // And from alpha, bob on beta.
  w = query(alice, "WHO bob", "315");
  EXPECT_NE(w.find(" 352 alice * ~bob 127.0.0.1 b.example bob H :0 Test bob"), std::string::npos) << w;

  // dave (no channel) renames: beta's replica follows; then quits: beta forgets him.
  dave.send("NICK dave2");
  ASSERT_NE(dave.expect("NICK"), "");
  ASSERT_TRUE(whois_until(bob, "dave2", " 311 bob dave2 ~dave ", true, &w)) << w;
  w = query(bob, "WHOIS dave", "318");
  EXPECT_NE(w.find(" 401 bob dave "), std::string::npos) << w;
  dave.send("QUIT :bye");
  ASSERT_TRUE(whois_until(bob, "dave2", " 401 bob dave2 ", true, &w)) << w;
  w = query(bob, "WHO dave2", "315");
  EXPECT_EQ(w.find(" 352 "), std::string::npos) << w;
}

/// A node started late learns the users already on the others, in no channel too (SYNC answered
/// with a HAVE per user): WHOIS finds them and a PRIVMSG reaches them.
TEST(ClusterRelay, ANodeStartedLateKnowsUsersInNoChannel) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha", "--server-name", "a.example"});
  ASSERT_TRUE(wait_subscribers(redis, 1));
  Client dave(a.address());
  dave.register_as("dave");
  until_pong(dave, "s");
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta"});
  ASSERT_TRUE(wait_subscribers(redis, 2));
  Client bob(b.address());
  bob.register_as("bob");
  std::string w;
  ASSERT_TRUE(whois_until(bob, "dave", " 311 bob dave ~dave 127.0.0.1 * :Test dave", true, &w)) << w;
  EXPECT_NE(w.find(" 312 bob dave a.example "), std::string::npos) << w;
  bob.send("PRIVMSG dave :found you");
  std::string got = dave.expect("PRIVMSG");
  EXPECT_NE(got.find(" PRIVMSG dave :found you"), std::string::npos) << got;
}

/// IRCv3 across nodes: the msgid is the same on every node, echo-message gives the sender its own
/// line once (on its return from Redis), client-only tags and TAGMSG reach message-tags receivers.
TEST(ClusterRelay, MsgidEchoAndClientTagsCrossNodes) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha"});
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta"});
  ASSERT_TRUE(wait_subscribers(redis, 2));
  Client alice(a.address());
  alice.register_as("alice");
  alice.send("CAP REQ :echo-message message-tags");
  ASSERT_NE(alice.expect("CAP"), "");
  Client bob(b.address());
  bob.register_as("bob");
  bob.send("CAP REQ :message-tags");
  ASSERT_NE(bob.expect("CAP"), "");
  Client plain(b.address());  // no caps: no tags, no TAGMSG
  plain.register_as("plain");
  for (Client* c : {&alice, &bob, &plain}) {
    c->send("JOIN #tags");
    ASSERT_NE(c->expect("366"), "");
  }
  std::string names;
  ASSERT_TRUE(names_until(alice, "#tags", {"alice", "bob", "plain"}, true, &names)) << names;
  until_pong(alice, "s");
  until_pong(bob, "s");
  until_pong(plain, "s");

  alice.send("@+example/x=1 PRIVMSG #tags :with tags");
  const std::string echoed = alice.expect("PRIVMSG");
  const std::string got = bob.expect("PRIVMSG");
  auto msgid = [](const std::string& l) {
    auto p = l.find("msgid=");
    return p == std::string::npos ? std::string() : l.substr(p + 6, l.find_first_of("; ", p) - p - 6);
  };
  ASSERT_FALSE(msgid(got).empty()) << got;
  EXPECT_EQ(msgid(echoed), msgid(got)) << echoed << "\n" << got;
  EXPECT_NE(got.find("+example/x=1"), std::string::npos) << got;
  EXPECT_NE(got.find(":alice!"), std::string::npos) << got;
  std::string p = plain.expect("PRIVMSG");
  EXPECT_EQ(p.rfind(":alice!", 0), 0u) << p;  // untagged
  auto rest = until_pong(alice, "e1");
  EXPECT_EQ(join_all(rest).find("PRIVMSG"), std::string::npos) << join_all(rest);  // the echo came once

  alice.send("@+example/typing=active TAGMSG #tags");
  std::string tag = bob.expect("TAGMSG");
  EXPECT_NE(tag.find("+example/typing=active"), std::string::npos) << tag;
  rest = until_pong(plain, "p1");
  EXPECT_EQ(join_all(rest).find("TAGMSG"), std::string::npos) << join_all(rest);
}

/// IRCv3 account-tag across nodes: a logged-in user's JOIN and channel lines carry `account=` on
/// another node to a member that asked for the cap, untagged to one that did not; a guest's never.
TEST(ClusterRelay, AccountTagOfALoggedInSenderCrossesNodes) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  sockit::test::TempDir dir("sockit-cluster-accounts");
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha", "--accounts-db", dir.file("alpha.db"),
                "--no-flood-control"});
  // Each node its own accounts file until accounts live in Redis (docs/CLUSTER.md): account-tag is
  // offered where accounts exist.
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta", "--accounts-db", dir.file("beta.db"),
                "--no-flood-control"});
  ASSERT_TRUE(wait_subscribers(redis, 2));
  Client bob(b.address());
  bob.register_as("bob");
  bob.send("CAP REQ :account-tag");
  ASSERT_NE(bob.expect("CAP").find("ACK"), std::string::npos) << bob.dump();
  Client plain(b.address());
  plain.register_as("plain");
  for (Client* c : {&bob, &plain}) {
    c->send("JOIN #acct");
    ASSERT_NE(c->expect("366"), "");
  }
  Client alice(a.address());
  alice.register_as("alice");
  alice.send("REGISTER * * :a fine password");
  ASSERT_NE(alice.expect_any({"REGISTER", "FAIL"}, 30s).find("REGISTER SUCCESS alice"), std::string::npos) << alice.dump();
  ASSERT_NE(alice.expect("900"), "");
  // The first line `c` is sent that holds `what` (bounded), or "".
  auto first = [](Client& c, const std::string& what) {
    while (auto l = c.line(10s))
      if (l->find(what) != std::string::npos) return *l;
    return std::string();
  };
  alice.send("JOIN #acct");
  EXPECT_EQ(first(bob, "alice!~alice@127.0.0.1 JOIN #acct"), "@account=alice :alice!~alice@127.0.0.1 JOIN #acct") << bob.dump();
  Client guest(a.address());
  guest.register_as("guest");
  guest.send("JOIN #acct");
  EXPECT_EQ(first(bob, "guest!~guest@127.0.0.1 JOIN #acct"), ":guest!~guest@127.0.0.1 JOIN #acct") << bob.dump();  // a guest's JOIN untagged

  alice.send("PRIVMSG #acct :from an account");
  EXPECT_EQ(first(bob, "from an account").rfind("@account=alice :alice!", 0), 0u) << bob.dump();
  guest.send("PRIVMSG #acct :from a guest");
  EXPECT_EQ(first(bob, "from a guest").rfind(":guest!", 0), 0u) << bob.dump();
  EXPECT_EQ(first(plain, "from an account").rfind(":alice!", 0), 0u) << plain.dump();  // no cap, no tag
}

/// One channel, one sender and one listener on each of three nodes, all sending at once: every
/// listener sees the same sequence, each line once; each sender sees the others' lines in that order.
/// Three nodes, a sender and a listener on each, `kLines` lines per sender in rounds of 100 in which
/// the three senders write at once: every member sees one sequence, none lost, none twice.
void one_order_on_every_node(const int kLines) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  const std::vector<std::string> flags{"--flood-burst", "100000", "--flood-rate", "100000", "--sendq", "8m"};
  std::vector<std::unique_ptr<ChatServer>> nodes;
  for (const char* name : {"n1", "n2", "n3"}) {
    std::vector<std::string> args{"--cluster", redis.url(), "--node-name", name};
    args.insert(args.end(), flags.begin(), flags.end());
    nodes.push_back(std::make_unique<ChatServer>(args));
  }
  ASSERT_TRUE(wait_subscribers(redis, 3));
  std::vector<std::unique_ptr<Client>> senders, listeners;
  std::vector<std::string> all;
  for (int i = 0; i < 3; ++i) {
    senders.push_back(std::make_unique<Client>(nodes[i]->address()));
    senders.back()->register_as("s" + std::to_string(i));
    listeners.push_back(std::make_unique<Client>(nodes[i]->address()));
    listeners.back()->register_as("l" + std::to_string(i));
    all.push_back("s" + std::to_string(i));
    all.push_back("l" + std::to_string(i));
  }
  for (int i = 0; i < 3; ++i) {
    senders[i]->send("JOIN #order");
    ASSERT_NE(senders[i]->expect("366"), "");
    listeners[i]->send("JOIN #order");
    ASSERT_NE(listeners[i]->expect("366"), "");
  }
  std::string names;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(names_until(*listeners[i], "#order", all, true, &names)) << names;
  for (auto* group : {&senders, &listeners}) {
    for (auto& cl : *group) until_pong(*cl, "sync");  // drop the JOIN lines
  }

  const long before = publishes(redis);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  // Each member's received texts, read concurrently (bounded by the overall deadline).
  std::vector<std::vector<std::string>> got(6);
  std::atomic<std::size_t> seen0{0};  // lines listener l0 has got so far
  auto reader = [&](Client& cl, std::vector<std::string>& out, std::size_t want, bool count) {
    const auto deadline = std::chrono::steady_clock::now() + 20s + std::chrono::milliseconds(4 * kLines);
    while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
      auto l = cl.line(2s);
      if (!l) continue;
      auto p = l->find(" PRIVMSG #order :");
      if (p == std::string::npos) continue;
      out.push_back(l->substr(p + 17));
      if (count) seen0 = out.size();
    }
  };
  // Rounds: the three senders each write a chunk at once, so their nodes publish at the same time;
  // the next round starts when l0 has seen this one (every round interleaves all three senders).
  threads.emplace_back([&] {
    constexpr int kChunk = 100;
    for (int k0 = 0; k0 < kLines; k0 += kChunk) {
      for (int i = 0; i < 3; ++i) {
        std::string chunk;
        for (int k = k0; k < k0 + kChunk; ++k) chunk += "PRIVMSG #order :s" + std::to_string(i) + "-" + std::to_string(k) + "\r\n";
        senders[i]->raw(chunk);
      }
      const auto want = static_cast<std::size_t>(3 * (k0 + kChunk));
      if (!sockit::test::wait_until([&] { return seen0.load() >= want; }, 10s, 1ms)) return;
    }
  });
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] { reader(*listeners[i], got[i], 3 * kLines, i == 0); });
    threads.emplace_back([&, i] { reader(*senders[i], got[3 + i], 2 * kLines, false); });
  }
  for (auto& t : threads) t.join();
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  const long calls = publishes(redis) - before;

  ASSERT_EQ(got[0].size(), static_cast<std::size_t>(3 * kLines));
  // Each sender's lines in its own order, each once.
  std::map<std::string, int> count;
  std::vector<int> next(3, 0);
  for (const auto& text : got[0]) {
    ++count[text];
    int s = text[1] - '0';
    EXPECT_EQ(text, "s" + std::to_string(s) + "-" + std::to_string(next[s])) << "sender order";
    ++next[s];
  }
  EXPECT_EQ(count.size(), static_cast<std::size_t>(3 * kLines));
  // The senders really were interleaved (else one order is trivial): count the changes of sender.
  int switches = 0;
  for (std::size_t k = 1; k < got[0].size(); ++k) switches += got[0][k][1] != got[0][k - 1][1];
  EXPECT_GE(switches, 2 * kLines / 100);  // at least two per round
  for (int i = 1; i < 3; ++i) EXPECT_TRUE(got[i] == got[0]) << "listener l" << i << " saw another order";
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> others;
    const std::string own = "s" + std::to_string(i) + "-";
    for (const auto& text : got[0]) {
      if (text.rfind(own, 0) != 0) others.push_back(text);
    }
    EXPECT_TRUE(got[3 + i] == others) << "sender s" << i << " saw another order (" << got[3 + i].size() << " lines)";
  }
  EXPECT_EQ(calls, 3 * kLines);  // one PUBLISH per channel message, not per member
  std::cout << "[ order ] 3 nodes x " << kLines << " lines, 6 members: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms, " << calls << " PUBLISH, " << switches << " changes of sender\n";
}

// LUSERS counts the users of every node (251 and 266; 265 and 255 stay this node's), MAP lists the
// nodes with their users, this one first.
TEST(ClusterRelay, LusersAndMapCountTheUsersOfEveryNode) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha", "--server-name", "a.example"});
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta", "--server-name", "b.example"});
  ASSERT_TRUE(wait_subscribers(redis, 2));
  Client alice(a.address());
  alice.register_as("alice");
  Client amy(a.address());
  amy.register_as("amy");
  Client carol(b.address());
  carol.register_as("carol");

  std::string lusers;
  ASSERT_TRUE(sockit::test::wait_until(
      [&] {
        lusers = query(carol, "LUSERS", "266");
        return lusers.find(" 266 carol 3 3 :Current global users 3, max 3") != std::string::npos &&
               lusers.find(" on 2 servers") != std::string::npos;
      },
      10s, 100ms))
      << lusers;
  EXPECT_NE(lusers.find(" 255 carol :I have 1 clients and 1 servers"), std::string::npos) << lusers;
  EXPECT_NE(lusers.find(" 265 carol 1 1 :Current local users 1, max 1"), std::string::npos) << lusers;
  // alpha learns of carol through its own subscription, independently of beta learning of alice
  // and amy: wait for it too (the stop-36 CI, under load, asked once before it had).
  std::string alpha_lusers;
  EXPECT_TRUE(sockit::test::wait_until(
      [&] {
        alpha_lusers = query(alice, "LUSERS", "266");
        return alpha_lusers.find(" 266 alice 3 3 ") != std::string::npos;
      },
      10s, 100ms))
      << alpha_lusers;

  std::string map;
  ASSERT_TRUE(sockit::test::wait_until(
      [&] {
        map = query(carol, "MAP", "017");
        return map.find("End of /MAP: 3 users") != std::string::npos;
      },
      10s, 100ms))
      << map;
  const auto self = map.find(" 015 carol :b.example (node beta) [1 users]");
  const auto other = map.find(" 015 carol :a.example (node alpha) [2 users]");
  EXPECT_NE(self, std::string::npos) << map;
  EXPECT_NE(other, std::string::npos) << map;
  EXPECT_LT(self, other) << "this node first: " << map;

  // amy quits: both nodes count 2; the maximum stays the network's, 3 (sockit:maxusers).
  amy.send("QUIT :bye");
  ASSERT_TRUE(sockit::test::wait_until([&] { return query(carol, "LUSERS", "266").find(" 266 carol 2 3 ") != std::string::npos; },
                                       10s, 100ms));
  map = query(carol, "MAP", "017");
  EXPECT_NE(map.find(" 015 carol :a.example (node alpha) [1 users]"), std::string::npos) << map;
  EXPECT_NE(map.find("End of /MAP: 2 users"), std::string::npos) << map;
}

// STATUSMSG (`@#chan`) reaches the operators of the channel on every node, with one PUBLISH; an
// IRC operator's `$mask` reaches the users of every node whose server name it matches; an operator's
// KILL of a user on another node disconnects him there and everyone sees his QUIT.
TEST(ClusterRelay, StatusMsgServerMaskAndKillCrossNodes) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  sockit::test::TempDir dir("relay-statusmsg");
  const std::string conf = dir.file("oper.toml");
  std::ofstream(conf) << "[flood]\nrate = 0\n[[operator]]\nname = \"root\"\npassword = \""
                      << sockit::irc::hash_password("pw", 1000).value() << "\"\n";
  ChatServer a({"--config", conf, "--cluster", redis.url(), "--node-name", "alpha", "--server-name", "a.example"});
  ChatServer b({"--config", conf, "--cluster", redis.url(), "--node-name", "beta", "--server-name", "b.example"});
  ASSERT_TRUE(wait_subscribers(redis, 2));
  Client bob(b.address()), dan(b.address()), alice(a.address()), eve(a.address());
  bob.register_as("bob");
  dan.register_as("dan");
  alice.register_as("alice");
  eve.register_as("eve");
  // bob joins first (an operator of #b wherever the channel's state lives), then dan on beta, then
  // alice and eve on alpha: dan and eve are operators nowhere.
  bob.send("JOIN #b");
  ASSERT_NE(bob.expect("366"), "");
  dan.send("JOIN #b");
  ASSERT_NE(dan.expect("366"), "");
  std::string names;
  ASSERT_TRUE(names_until(dan, "#b", {"@bob"}, true, &names)) << names;
  EXPECT_EQ(names.find("@dan"), std::string::npos) << names;
  for (Client* c : {&alice, &eve}) {
    c->send("JOIN #b");
    ASSERT_NE(c->expect("366"), "");
  }
  ASSERT_TRUE(names_until(bob, "#b", {"alice", "eve"}, true, &names)) << names;
  ASSERT_TRUE(names_until(eve, "#b", {"bob", "dan"}, true, &names)) << names;
  for (Client* c : {&bob, &dan, &alice, &eve}) until_pong(*c, "joined");

  const long before = publishes(redis);
  alice.send("PRIVMSG @#b :ops only");
  std::string got = bob.expect("PRIVMSG");
  EXPECT_EQ(got.rfind(":alice!", 0), 0u) << got;
  EXPECT_NE(got.find(" PRIVMSG @#b :ops only"), std::string::npos) << got;
  EXPECT_EQ(publishes(redis) - before, 1);
  alice.send("PRIVMSG #b :everyone");
  for (Client* c : {&bob, &dan, &eve}) {  // dan and eve's first line is the one for everyone
    got = c->expect("PRIVMSG");
    EXPECT_NE(got.find(" PRIVMSG #b :everyone"), std::string::npos) << got;
  }
  for (const auto& l : until_pong(alice, "no-echo")) EXPECT_EQ(l.find("PRIVMSG"), std::string::npos) << l;

  // $mask: operators only (481), then to the users of the nodes it names.
  alice.send("PRIVMSG $* :nope");
  EXPECT_NE(alice.expect("481"), "");
  alice.send("OPER root pw");
  ASSERT_NE(alice.expect("381"), "");
  alice.send("PRIVMSG $b.example :beta only");
  alice.send("PRIVMSG $* :all nodes");
  for (Client* c : {&bob, &dan}) {
    got = c->expect("PRIVMSG");
    EXPECT_NE(got.find(" PRIVMSG $b.example :beta only"), std::string::npos) << got;
    EXPECT_EQ(got.rfind(":alice!", 0), 0u) << got;
    got = c->expect("PRIVMSG");
    EXPECT_NE(got.find(" PRIVMSG $* :all nodes"), std::string::npos) << got;
  }
  got = eve.expect("PRIVMSG");  // not beta's line
  EXPECT_NE(got.find(" PRIVMSG $* :all nodes"), std::string::npos) << got;
  bob.send("OPER root pw");
  ASSERT_NE(bob.expect("381"), "");
  bob.send("NOTICE $a*.example :alpha only");
  got = eve.expect("NOTICE");
  EXPECT_NE(got.find(" NOTICE $a*.example :alpha only"), std::string::npos) << got;
  EXPECT_EQ(got.rfind(":bob!", 0), 0u) << got;
  for (const auto& l : until_pong(dan, "not-alpha")) EXPECT_EQ(l.find("alpha only"), std::string::npos) << l;

  // KILL from an operator on alpha of dan on beta: beta disconnects him, both nodes see his QUIT once.
  alice.send("KILL dan :flooding");
  got = dan.expect("KILL");
  EXPECT_EQ(got.rfind(":alice!", 0), 0u) << got;
  EXPECT_NE(got.find(" KILL dan :flooding"), std::string::npos) << got;
  EXPECT_NE(dan.expect("ERROR"), "");
  for (Client* c : {&bob, &eve}) {
    got = c->expect("QUIT");
    EXPECT_EQ(got.rfind(":dan!", 0), 0u) << got;
    EXPECT_NE(got.find("Killed (alice (flooding))"), std::string::npos) << got;
    for (const auto& l : until_pong(*c, "once")) EXPECT_EQ(l.find(" QUIT "), std::string::npos) << l;
  }
  std::string whois;
  EXPECT_TRUE(whois_until(alice, "dan", " 401 ", true, &whois)) << whois;
  alice.send("KILL nobody :x");
  EXPECT_NE(alice.expect("401"), "");
}

TEST(ClusterRelay, EveryMemberOnEveryNodeSeesOneChannelInTheSameOrder) {
  SKIP_WITHOUT_REDIS();
  one_order_on_every_node(2000);
}

// The issue's size: 3 senders on 3 nodes x 10,000 lines (30,000 PUBLISHes, 60,000 lines to read).
TEST(ClusterRelay, EveryMemberOnEveryNodeSeesOneChannelInTheSameOrder3x10000) {
  SKIP_WITHOUT_REDIS();
  one_order_on_every_node(10000);
}

/// +i and +B of users on another node (docs/CLUSTER.md, "Remote user modes"): ivy (+i, in #priv)
/// and botty (+B) on alpha. On beta, nora shares no channel with ivy: WHO by mask and of #priv
/// hide ivy from her, WHO by her exact nick does not; bob, in #priv, sees her; LUSERS counts her
/// as invisible; botty has the B flag in WHO and 335 in WHOIS. A node started later learns both
/// from the SYNC's HAVEs. -i and -B are taken back everywhere.
TEST(ClusterRelay, RemoteInvisibleAndBotModesShowInWhoWhoisAndLusers) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha"});
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta"});
  ASSERT_TRUE(wait_subscribers(redis, 2));
  Client ivy(a.address());
  ivy.register_as("ivy");
  ivy.send("MODE ivy +i");
  ASSERT_NE(ivy.expect("MODE"), "");
  ivy.send("JOIN #priv");
  ASSERT_NE(ivy.expect("366"), "");
  Client botty(a.address());
  botty.register_as("botty");
  botty.send("MODE botty +B");
  ASSERT_NE(botty.expect("MODE"), "");
  Client bob(b.address());
  bob.register_as("bob");
  bob.send("JOIN #priv");
  ASSERT_NE(bob.expect("366"), "");
  Client nora(b.address());
  nora.register_as("nora");
  std::string last;
  ASSERT_TRUE(names_until(bob, "#priv", {"ivy", "bob"}, true, &last)) << last;

  // LUSERS on beta: ivy invisible; bob, nora and botty not.
  EXPECT_TRUE(answer_until(nora, "LUSERS", "266", "There are 3 users and 1 invisible on 2 servers", true, &last)) << last;
  // WHO by a mask and of #priv: hidden from nora, shown to bob (a member of #priv).
  EXPECT_TRUE(answer_until(bob, "WHO iv*", "315", " ivy ", true, &last)) << last;
  last = query(nora, "WHO iv*", "315");
  EXPECT_EQ(last.find(" ivy "), std::string::npos) << last;
  last = query(nora, "WHO *", "315");
  EXPECT_EQ(last.find(" ivy "), std::string::npos) << last;
  EXPECT_NE(last.find(" botty "), std::string::npos) << last;  // a visible remote user is listed by WHO *
  last = query(nora, "WHO #priv", "315");
  EXPECT_EQ(last.find(" ivy "), std::string::npos) << last;
  EXPECT_NE(last.find(" bob "), std::string::npos) << last;
  last = query(bob, "WHO #priv", "315");
  EXPECT_NE(last.find(" ivy "), std::string::npos) << last;
  last = query(nora, "WHO ivy", "315");  // her exact nick: shown, as for a local +i user
  EXPECT_NE(last.find(" ivy "), std::string::npos) << last;
  // botty: B in WHO's flags, 335 in WHOIS.
  last = query(nora, "WHO botty", "315");
  EXPECT_NE(last.find(" botty HB :"), std::string::npos) << last;
  EXPECT_TRUE(whois_until(nora, "botty", " 335 ", true, &last)) << last;
  last = query(nora, "WHOIS ivy", "318");
  EXPECT_EQ(last.find(" 335 "), std::string::npos) << last;

  // A node started now learns both from the HAVEs answering its SYNC.
  ChatServer g({"--cluster", redis.url(), "--node-name", "gamma"});
  ASSERT_TRUE(wait_subscribers(redis, 3));
  Client gus(g.address());
  gus.register_as("gus");
  EXPECT_TRUE(answer_until(gus, "LUSERS", "266", "There are 4 users and 1 invisible on 3 servers", true, &last)) << last;
  EXPECT_TRUE(whois_until(gus, "botty", " 335 ", true, &last)) << last;
  last = query(gus, "WHO iv*", "315");
  EXPECT_EQ(last.find(" ivy "), std::string::npos) << last;

  // Taken back: -i shows ivy to nora and in LUSERS' users, -B drops the B flag and 335.
  ivy.send("MODE ivy -i");
  ASSERT_NE(ivy.expect("MODE"), "");
  botty.send("MODE botty -B");
  ASSERT_NE(botty.expect("MODE"), "");
  EXPECT_TRUE(answer_until(nora, "WHO iv*", "315", " ivy ", true, &last)) << last;
  EXPECT_TRUE(answer_until(nora, "LUSERS", "266", "There are 5 users and 0 invisible on 3 servers", true, &last)) << last;
  EXPECT_TRUE(answer_until(gus, "WHO #priv", "315", " ivy ", true, &last)) << last;
  EXPECT_TRUE(whois_until(nora, "botty", " 335 ", false, &last)) << last;
  EXPECT_TRUE(answer_until(nora, "WHO botty", "315", " botty H :", true, &last)) << last;
}

}  // namespace
