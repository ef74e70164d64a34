// Lines in flight when a node's link to Redis drops (issue #20, the outbox; docs/CLUSTER.md,
// "Failures"). Real redis-server, two chat-server nodes, raw IRC clients over loopback; every wait
// polls with a deadline.
#include "redis_server.hpp"

#include "integration/irc/irc_client.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <functional>
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
                std::chrono::milliseconds timeout) {
  const sockit::Deadline dl = sockit::Deadline::after(timeout);
  while (!dl.expired()) {
    auto l = c.line(std::chrono::duration_cast<std::chrono::milliseconds>(dl.remaining()) + 1ms);
    if (!l) return false;
    const auto at = l->find(" PRIVMSG #net :burst ");
    if (at != std::string::npos && l->starts_with(":bob!")) got.push_back(std::stoi(l->substr(at + 21)));
    if (stop(*l)) return true;
  }
  return false;
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
  for (auto& [c, nick] : {std::pair{&alice, "alice"}, std::pair{&dave, "dave"}, std::pair{&bob, "bob"}, std::pair{&carl, "carl"}}) {
    c->register_as(nick);
    c->send("JOIN #net");
    ASSERT_NE(c->expect("366"), "");
  }
  // bob's lines reach the three (the nodes know the channel's members on both sides).
  int warm = 0;
  ASSERT_TRUE(sockit::test::wait_until(
      [&] {
        const std::string text = "PRIVMSG #net :warm " + std::to_string(warm++);
        bob.send(text);
        std::vector<int> none;
        for (Client* c : {&alice, &dave, &carl}) {
          if (!read_burst(*c, none, [&](const std::string& l) { return l.ends_with(text); }, 1s)) return false;
        }
        return true;
      },
      10s, 1ms));
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

}  // namespace
