// Lines in flight when a node's link to Redis drops (issue #20, the outbox; docs/CLUSTER.md,
// "Failures"). Real redis-server, two chat-server nodes, raw IRC clients over loopback; every wait
// polls with a deadline.
#include "redis_server.hpp"

#include "integration/irc/irc_client.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using sockit::irc::itest::ChatServer;
using sockit::irc::itest::Client;
using sockit::test::RedisServer;

namespace {

/// Reads `c`'s lines into `got` (the number of each of bob's "burst N" lines, as they come) until
/// `stop` holds for one (true) or `timeout` passes (false).
bool read_burst(Client& c, std::vector<int>& got, const std::function<bool(const std::string&)>& stop,
                std::chrono::milliseconds timeout, const std::string& from = ":bob!") {
  const sockit::Deadline dl = sockit::Deadline::after(timeout);
  while (!dl.expired()) {
    auto l = c.line(std::chrono::duration_cast<std::chrono::milliseconds>(dl.remaining()) + 1ms);
    if (!l) return false;
    const auto at = l->find(" PRIVMSG #net :burst ");
    if (at != std::string::npos && l->starts_with(from)) got.push_back(std::stoi(l->substr(at + 21)));
    if (stop(*l)) return true;
  }
  return false;
}

/// Each client registered as its nick and in #net (false: one got no 366).
bool join_net(std::initializer_list<std::pair<Client*, const char*>> clients) {
  for (const auto& [c, nick] : clients) {
    c->register_as(nick);
    c->send("JOIN #net");
    if (c->expect("366").empty()) return false;
  }
  return true;
}

/// `from`'s lines into #net reach each of `to` (warm-up lines, tried until one reaches them all).
bool lines_reach(Client& from, std::initializer_list<Client*> to) {
  int warm = 0;
  return sockit::test::wait_until(
      [&] {
        const std::string text = "PRIVMSG #net :warm " + std::to_string(warm++);
        from.send(text);
        std::vector<int> none;
        for (Client* c : to) {
          if (!read_burst(*c, none, [&](const std::string& l) { return l.ends_with(text); }, 1s)) return false;
        }
        return true;
      },
      10s, 1ms);
}

// bob (beta) says 300 lines into #net, one every 0.3 ms (lines 0-99, 200-299) or at once (100-199,
// while beta is stopped). Redis drops beta's subscription while lines 100-199 wait in beta's
// socket: resumed, beta publishes them on its command connection, still up (Redis gives them to
// alpha, not to beta's lost subscription), then sees the drop; its command connection is dropped
// too after line 250 (CLIENT KILL). Lines beta had published and not yet had back are taken from
// its outbox to the front of its degraded queue (carl, beta, gets them at once, before the lines
// said while degraded) and republished after the resync; a line Redis had published before the
// drop reaches alpha again and is dropped there by its msgid. alice, dave (alpha) and carl (beta)
// each get all 300, once, in bob's order. With SOCKIT_CLUSTER_OUTBOX=0 carl misses lines 100-199
// (or some of them) and the test fails; without the msgid check alice and dave get them twice.
TEST(ClusterOutbox, LinesInFlightWhenTheLinkDropsReachEveryMemberOnceInOrder) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha", "--no-flood-control"});
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta", "--no-flood-control"});
  ASSERT_TRUE(redis.wait_nodes_up({"alpha", "beta"}));
  Client alice(a.address()), dave(a.address()), bob(b.address()), carl(b.address());
  ASSERT_TRUE(join_net({{&alice, "alice"}, {&dave, "dave"}, {&bob, "bob"}, {&carl, "carl"}}));
  // bob's lines reach the three (the nodes know the channel's members on both sides).
  ASSERT_TRUE(lines_reach(bob, {&alice, &dave, &carl}));
  // beta's two connections: the subscription (sub=1) first.
  std::vector<std::string> ids;
  std::istringstream clients(redis.cli({"CLIENT", "LIST"}));
  for (std::string l; std::getline(clients, l);) {
    if (l.find(" name=sockit-node-beta") == std::string::npos) continue;
    const std::string id = l.substr(3, l.find(' ') - 3);  // "id=N ..."
    ids.insert(l.find(" sub=1 ") != std::string::npos ? ids.begin() : ids.end(), id);
  }
  ASSERT_EQ(ids.size(), 2u);
  constexpr int kLines = 300;
  auto say = [&](int i) { bob.send("PRIVMSG #net :burst " + std::to_string(i)); };
  auto kill = [&](const std::string& id) { return redis.cli({"CLIENT", "KILL", "ID", id}).starts_with("1"); };
  for (int i = 0; i < 100; ++i) {
    say(i);
    std::this_thread::sleep_for(300us);  // the burst's pace (not a wait for anything)
  }
  b.child().signal(SIGSTOP);
  for (int i = 100; i < 200; ++i) say(i);
  EXPECT_TRUE(kill(ids[0]));
  b.child().signal(SIGCONT);
  std::thread cutter;
  for (int i = 200; i < kLines; ++i) {
    say(i);
    if (i == 250) cutter = std::thread([&] { EXPECT_TRUE(kill(ids[1])); });
    std::this_thread::sleep_for(300us);
  }
  cutter.join();
  // Each member: the 300 lines; then bob's "end" line (published after beta's queue), before
  // which any copy would have come.
  std::vector<int> want(kLines);
  for (int i = 0; i < kLines; ++i) want[i] = i;
  for (Client* c : {&alice, &dave, &carl}) {
    std::vector<int> got;
    read_burst(*c, got, [&](const std::string&) { return std::set<int>(got.begin(), got.end()).size() == kLines; }, 15s);
    const std::string end = "PRIVMSG #net :end " + std::to_string(got.size());
    bob.send(end);
    EXPECT_TRUE(read_burst(*c, got, [&](const std::string& l) { return l.ends_with(end); }, 10s));
    if (got == want) continue;
    std::string missing, twice;
    for (int i = 0; i < kLines; ++i) {
      const auto k = std::count(got.begin(), got.end(), i);
      if (k == 0) missing += std::to_string(i) + " ";
      if (k > 1) twice += std::to_string(i) + " ";
    }
    ADD_FAILURE() << got.size() << " lines; missing: " << missing << "; twice: " << twice
                  << (missing.empty() && twice.empty() ? "; out of order" : "") << "\n" << c->dump();
  }
}

// A receiving node's own subscription down (issue #20, the replay; docs/CLUSTER.md, "Failures"):
// beta stopped (SIGSTOP) and its subscription dropped by Redis (CLIENT KILL), its command
// connection kept; alice (alpha) says 300 lines into #net meanwhile, which dave (alpha) gets: Redis
// published them to nobody on beta. Resumed, beta subscribes again and reads the lines after the
// last one it had from the replay stream (sockit:replay): carl (beta) gets all 300, once, in order,
// before alice's next line. `trim`: the stream is cut to its last 100 entries before beta resumes
// (XTRIM, as a MAXLEN shorter than the outage would): carl gets lines 200-299 and one NOTICE to
// #net that lines may be missing. With SOCKIT_CLUSTER_REPLAY=0 carl gets none of the 300 and both
// fail. Prints the ms from SIGCONT to carl's last line.
void replay_after_outage(bool trim) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha", "--no-flood-control"});
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta", "--no-flood-control"});
  ASSERT_TRUE(redis.wait_nodes_up({"alpha", "beta"}));
  Client alice(a.address()), dave(a.address()), carl(b.address());
  ASSERT_TRUE(join_net({{&alice, "alice"}, {&dave, "dave"}, {&carl, "carl"}}));
  ASSERT_TRUE(lines_reach(alice, {&dave, &carl}));
  std::string sub;  // beta's subscription connection
  std::istringstream clients(redis.cli({"CLIENT", "LIST"}));
  for (std::string l; std::getline(clients, l);) {
    if (l.find(" name=sockit-node-beta") != std::string::npos && l.find(" sub=1 ") != std::string::npos) {
      sub = l.substr(3, l.find(' ') - 3);  // "id=N ..."
    }
  }
  ASSERT_FALSE(sub.empty()) << redis.cli({"CLIENT", "LIST"});
  constexpr int kLines = 300;
  b.child().signal(SIGSTOP);
  EXPECT_TRUE(redis.cli({"CLIENT", "KILL", "ID", sub}).starts_with("1"));
  for (int i = 0; i < kLines; ++i) alice.send("PRIVMSG #net :burst " + std::to_string(i));
  std::vector<int> dave_got;
  EXPECT_TRUE(read_burst(dave, dave_got, [&](const std::string&) { return dave_got.size() == kLines; }, 15s, ":alice!"));
  if (trim) {
    redis.cli({"XTRIM", "sockit:replay", "MAXLEN", "100"});
    EXPECT_TRUE(redis.cli({"XLEN", "sockit:replay"}).starts_with("100")) << redis.cli({"XLEN", "sockit:replay"});
  }
  const auto cont = std::chrono::steady_clock::now();
  b.child().signal(SIGCONT);
  const int from = trim ? 200 : 0;
  std::vector<int> want;
  for (int i = from; i < kLines; ++i) want.push_back(i);
  std::vector<int> got;
  int notices = 0;
  auto tally = [&](const std::string& l) {
    if (l.find(" NOTICE #net :") != std::string::npos && l.find("may be missing") != std::string::npos) ++notices;
    return got.size() >= want.size() && (!trim || notices > 0);
  };
  read_burst(carl, got, tally, 15s, ":alice!");
  const auto took = std::chrono::steady_clock::now() - cont;
  // alice's next line comes after them (a copy or a late replayed line would come before it).
  alice.send("PRIVMSG #net :end");
  EXPECT_TRUE(read_burst(carl, got, [&](const std::string& l) { return tally(l), l.ends_with("PRIVMSG #net :end"); }, 10s,
                         ":alice!"));
  EXPECT_EQ(got, want) << got.size() << " lines\n" << carl.dump();
  EXPECT_EQ(notices, trim ? 1 : 0) << carl.dump();
  std::printf("replay%s: carl got %zu line(s), %d notice(s), %lld ms after beta was resumed\n", trim ? " (trimmed)" : "",
              got.size(), notices,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
}

TEST(ClusterReplay, LinesPublishedWhileASubscriptionWasDownReachItsMembersOnceInOrder) {
  SKIP_WITHOUT_REDIS();
  replay_after_outage(false);
}

TEST(ClusterReplay, AStreamTrimmedShorterThanTheOutageGivesTheLastLinesAndANotice) {
  SKIP_WITHOUT_REDIS();
  replay_after_outage(true);
}

}  // namespace

namespace {

/// Reads `c`'s "burst N" lines into #net as "<nick> N" (alice's and bob's, as they come) until
/// `stop` holds for one line (true) or `timeout` passes (false).
bool read_both(Client& c, std::vector<std::string>& got, const std::function<bool(const std::string&)>& stop,
               std::chrono::milliseconds timeout) {
  const sockit::Deadline dl = sockit::Deadline::after(timeout);
  while (!dl.expired()) {
    auto l = c.line(std::chrono::duration_cast<std::chrono::milliseconds>(dl.remaining()) + 1ms);
    if (!l) return false;
    const auto at = l->find(" PRIVMSG #net :burst ");
    if (at != std::string::npos && l->starts_with(":") && l->find('!') != std::string::npos) {
      got.push_back(l->substr(1, l->find('!') - 1) + " " + l->substr(at + 21));
    }
    if (stop(*l)) return true;
  }
  return false;
}

}  // namespace

// SCRIPT FLUSH on Redis under traffic (docs/CLUSTER.md, "Failures": the publish script by
// EVALSHA): each node publishes its lines with EVALSHA of a script it loaded on its connection; a
// flush makes the EVALSHAs after it fail (NOSCRIPT), and the node sends those lines again, in
// their order, by EVAL. alice (alpha) and bob (beta) each say 400 lines into #net, paced, while
// another client flushes the scripts again and again, one flush at least every 40 lines (Redis
// must have answered NOSCRIPT and each node must have logged lines sent again, or the test did
// not test it). dave (alpha) and carl (beta) get all 800 once, each sender's in its order, and
// both in the same order; bob gets alice's 400 and alice bob's, once, in order. Without the
// NOSCRIPT path the failed lines are lost (and a line sent again after later ones would be
// dropped as a copy by its msgid).
TEST(ClusterReplay, AScriptFlushUnderTrafficLosesNoLineRepeatsNoneAndKeepsTheOrder) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha", "--no-flood-control"});
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta", "--no-flood-control"});
  ASSERT_TRUE(redis.wait_nodes_up({"alpha", "beta"}));
  Client alice(a.address()), dave(a.address()), bob(b.address()), carl(b.address());
  ASSERT_TRUE(join_net({{&alice, "alice"}, {&dave, "dave"}, {&bob, "bob"}, {&carl, "carl"}}));
  ASSERT_TRUE(lines_reach(bob, {&alice, &dave, &carl}));
  ASSERT_TRUE(lines_reach(alice, {&bob, &dave, &carl}));
  constexpr int kLines = 400;
  std::atomic<bool> done{false};
  std::atomic<int> flushes{0};
  std::thread flusher([&] {
    while (!done) {
      if (redis.cli({"SCRIPT", "FLUSH"}).starts_with("OK")) ++flushes;
    }
  });
  for (int i = 0; i < kLines; ++i) {
    // Every 40 lines, one more flush first: the flushes fall among the lines on a loaded machine too.
    if (i % 40 == 0) {
      const int before = flushes;
      EXPECT_TRUE(sockit::test::wait_until([&] { return flushes > before; }, 10s, 1ms)) << "SCRIPT FLUSH did not run";
    }
    alice.send("PRIVMSG #net :burst " + std::to_string(i));
    bob.send("PRIVMSG #net :burst " + std::to_string(i));
    if (i % 2 == 1) std::this_thread::sleep_for(1ms);  // the traffic's pace (not a wait for anything)
  }
  done = true;
  flusher.join();
  const std::string errors = redis.cli({"INFO", "errorstats"});
  EXPECT_NE(errors.find("errorstat_NOSCRIPT:count="), std::string::npos)
      << "no EVALSHA failed: the flushes (" << flushes.load() << ") missed the traffic\n" << errors;
  auto of = [](const std::vector<std::string>& got, const std::string& nick) {
    std::vector<int> out;
    for (const std::string& g : got) {
      if (g.starts_with(nick + " ")) out.push_back(std::stoi(g.substr(nick.size() + 1)));
    }
    return out;
  };
  std::vector<int> want(kLines);
  for (int i = 0; i < kLines; ++i) want[i] = i;
  std::vector<std::string> merged[2];
  int k = 0;
  for (auto [c, senders] : {std::pair{&dave, std::vector<std::string>{"alice", "bob"}},
                            std::pair{&carl, std::vector<std::string>{"alice", "bob"}},
                            std::pair{&alice, std::vector<std::string>{"bob"}},
                            std::pair{&bob, std::vector<std::string>{"alice"}}}) {
    std::vector<std::string> got;
    const std::size_t total = senders.size() * kLines;
    read_both(*c, got, [&](const std::string&) { return std::set<std::string>(got.begin(), got.end()).size() == total; },
              15s);
    // Then each sender's "end" line, after which no copy can come (a sender's lines keep its order).
    for (const std::string& s : senders) {
      Client& from = s == "alice" ? alice : bob;
      const std::string end = "PRIVMSG #net :end " + std::to_string(k++);
      from.send(end);
      EXPECT_TRUE(read_both(*c, got, [&](const std::string& l) { return l.ends_with(end); }, 10s)) << c->dump();
    }
    for (const std::string& s : senders) {
      const std::vector<int> line = of(got, s);
      if (line == want) continue;
      std::string missing, twice;
      for (int i = 0; i < kLines; ++i) {
        const auto n = std::count(line.begin(), line.end(), i);
        if (n == 0) missing += std::to_string(i) + " ";
        if (n > 1) twice += std::to_string(i) + " ";
      }
      ADD_FAILURE() << s << "'s lines: " << line.size() << "; missing: " << missing << "; twice: " << twice
                    << (missing.empty() && twice.empty() ? "; out of order" : "");
    }
    if (c == &dave) merged[0] = got;
    if (c == &carl) merged[1] = got;
  }
  EXPECT_EQ(merged[0], merged[1]) << "dave and carl got the lines in different orders";
  // Each node's lines met a flush: each logged that it sent them again.
  for (ChatServer* node : {&a, &b}) {
    const std::string note = "line(s) sent again in order";
    EXPECT_NE(node->wait_log(note, 5s).find(note), std::string::npos) << node->log();
  }
  const std::size_t at = errors.find("errorstat_NOSCRIPT");
  std::printf("script flush: %d flush(es), %s\n", flushes.load(), at == std::string::npos ? "no NOSCRIPT" : errors.substr(at).c_str());
}
