// Nicks claimed atomically across chat-server nodes through a real redis-server (docs/CLUSTER.md,
// "Nick claims"), and the users of a dead node released and QUIT (the reaper, SIGTERM). Real nodes,
// real clients over real sockets; each test starts its own Redis and nodes.
#include "redis_server.hpp"

#include "integration/irc/irc_client.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using sockit::irc::itest::ChatServer;
using sockit::irc::itest::Client;
using sockit::test::RedisServer;

namespace {

using Clock = std::chrono::steady_clock;

/// The numeric or command that ends a registration attempt: "001", "433", "437" ("" = none in time).
std::string registration_outcome(Client& c) {
  std::string l = c.expect_any({"001", "433", "437"}, 10s);
  for (const char* code : {" 001 ", " 433 ", " 437 "}) {
    if (l.find(code) != std::string::npos) return std::string(code + 1, 3);
  }
  return "";
}

/// NICK `nick` from a registered client: true when the server renamed it, false on 433.
std::string try_nick(Client& c, const std::string& nick) {
  c.send("NICK " + nick);
  std::string l = c.expect_any({"NICK", "433", "437"}, 5s);
  if (l.find(" NICK ") != std::string::npos) return "NICK";
  return l.find(" 437 ") != std::string::npos ? "437" : (l.find(" 433 ") != std::string::npos ? "433" : "");
}

TEST(ClusterNicks, ANickHeldOnOneNodeIsRefusedOnTheOtherUntilReleased) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha"});
  ChatServer b({"--cluster", "unix:" + redis.unix_path(), "--node-name", "beta"});
  ASSERT_TRUE(redis.wait_nodes_up({"alpha", "beta"}));
  Client alice(a.address());
  alice.register_as("alice");
  // Registration on beta with alpha's nick: 433, and the client may pick another.
  Client bob(b.address());
  bob.send("NICK Alice");  // casefolded: the same nick
  bob.send("USER bob 0 * :Bob");
  std::string l = bob.expect("433");
  EXPECT_NE(l.find(" 433 * Alice :Nickname is already in use"), std::string::npos) << l;
  bob.send("NICK bob");
  ASSERT_NE(bob.expect("001"), "");
  // NICK to a nick held on the other node: 433; bob keeps his nick.
  EXPECT_EQ(try_nick(bob, "alice"), "433");
  // alice changes nick: the new one is held, the old one released (a command sent right after the
  // verdict, so another node's claim may just precede it: polled).
  EXPECT_EQ(try_nick(alice, "alice2"), "NICK");
  EXPECT_EQ(try_nick(bob, "alice2"), "433");
  std::string got;
  ASSERT_TRUE(sockit::test::wait_until([&] { return (got = try_nick(bob, "ALICE")) == "NICK"; }, 5s, 20ms)) << got;
  // A change of case needs no claim.
  EXPECT_EQ(try_nick(bob, "Alice"), "NICK");
  // bob's old nick was released by his change.
  ASSERT_TRUE(sockit::test::wait_until([&] { return (got = try_nick(alice, "bob")) == "NICK"; }, 5s, 20ms)) << got;
  // QUIT releases: alice (now "bob") quits, her nick is free on beta at once.
  alice.send("QUIT :bye");
  ASSERT_NE(alice.expect("ERROR"), "");
  Client carol(b.address());
  carol.register_as("carol");
  ASSERT_TRUE(sockit::test::wait_until([&] { return (got = try_nick(carol, "bob")) == "NICK"; }, 5s, 20ms)) << got;
  // A connection closed without QUIT releases too.
  {
    Client dave(a.address());
    dave.register_as("dave");
  }
  ASSERT_TRUE(sockit::test::wait_until([&] { return (got = try_nick(carol, "dave")) == "NICK"; }, 5s, 20ms)) << got;
}

// Two nodes, the same nick at the same instant from a client on each: exactly one registers, the
// other gets 433. Batches of kBatch nicks at once, `tries` nicks in all.
void race(int tries) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha"});
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta"});
  ASSERT_TRUE(redis.wait_nodes_up({"alpha", "beta"}));
  constexpr int kBatch = 25;
  int wins_a = 0, wins_b = 0;
  const auto t0 = Clock::now();
  for (int base = 0; base < tries; base += kBatch) {
    std::vector<std::unique_ptr<Client>> on_a, on_b;
    const int n = std::min(kBatch, tries - base);
    for (int i = 0; i < n; ++i) {
      on_a.push_back(std::make_unique<Client>(a.address()));
      on_b.push_back(std::make_unique<Client>(b.address()));
    }
    for (int i = 0; i < n; ++i) {  // each pair's two registrations back to back, one write each
      const std::string reg = "NICK r" + std::to_string(base + i) + "\r\nUSER u 0 * :r\r\n";
      on_a[static_cast<std::size_t>(i)]->raw(reg);
      on_b[static_cast<std::size_t>(i)]->raw(reg);
    }
    for (int i = 0; i < n; ++i) {
      const std::string ra = registration_outcome(*on_a[static_cast<std::size_t>(i)]);
      const std::string rb = registration_outcome(*on_b[static_cast<std::size_t>(i)]);
      ASSERT_TRUE((ra == "001" && rb == "433") || (ra == "433" && rb == "001"))
          << "nick r" << base + i << ": alpha " << ra << ", beta " << rb;
      (ra == "001" ? wins_a : wins_b)++;
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(wins_a + wins_b, tries);
  EXPECT_LT(secs, 20.0);
  std::printf("race: %d nicks, alpha won %d, beta won %d, %.2f s (%.0f claims/s), %zu log bytes\n", tries, wins_a,
              wins_b, secs, 2 * tries / secs, a.log_bytes() + b.log_bytes());
}

TEST(ClusterNicks, TwoNodesClaimTheSameNickAtOnceExactlyOneWins50) {
  SKIP_WITHOUT_REDIS();
  race(50);
}

TEST(ClusterNicks, TwoNodesClaimTheSameNickAtOnceExactlyOneWins1000) {
  SKIP_WITHOUT_REDIS();
  race(1000);
}

TEST(ClusterNicks, RedisAwayRefusesRegistrationWith437AndKeepsServing) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha"});
  ASSERT_TRUE(redis.wait_nodes_up({"alpha"}));
  Client alice(a.address());
  alice.register_as("alice");
  redis.kill();
  // Once the node has seen Redis go, a registration gets 437 at once (never waits on Redis).
  std::string outcome;
  ASSERT_TRUE(sockit::test::wait_until(
      [&] {
        Client late(a.address());
        late.send("NICK late");
        late.send("USER late 0 * :Late");
        const auto t = Clock::now();
        outcome = registration_outcome(late);
        EXPECT_LT(Clock::now() - t, 2s);
        return outcome == "437";
      },
      10s, 100ms))
      << outcome;
  EXPECT_EQ(try_nick(alice, "alice2"), "437");
  alice.send("PING :still");
  EXPECT_NE(alice.expect("PONG"), "");
  // Redis back: claims work again.
  ASSERT_TRUE(redis.start()) << redis.log();
  std::string got;
  ASSERT_TRUE(sockit::test::wait_until([&] { return (got = try_nick(alice, "alice2")) == "NICK"; }, 10s, 100ms)) << got;
}

// carol (first node) and alice (second node) register and join #x; carol sees alice's JOIN
// through the relay.
void share_channel(Client& carol, Client& alice) {
  carol.register_as("carol");
  carol.send("JOIN #x");
  ASSERT_NE(carol.expect("366"), "");
  alice.register_as("alice");
  alice.send("JOIN #x");
  ASSERT_NE(alice.expect("366"), "");
  std::string l = carol.expect("JOIN");
  ASSERT_EQ(l.rfind(":alice!", 0), 0u) << l;
}

TEST(ClusterNicks, ASigkilledNodesNicksAreReleasedAndItsUsersQuitElsewhere) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha"});
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta"});
  ASSERT_TRUE(redis.wait_nodes_up({"alpha", "beta"}));
  Client carol(a.address());
  Client alice(b.address());
  ASSERT_NO_FATAL_FAILURE(share_channel(carol, alice));
  EXPECT_EQ(try_nick(carol, "alice"), "433");
  std::string l;
  b.child().signal(SIGKILL);
  ASSERT_TRUE(b.child().wait(5s).has_value());
  const auto killed = Clock::now();
  // Its QUIT reaches carol once beta's heartbeat expired (TTL 5 s) and a survivor reaped it.
  l = carol.expect("QUIT", 10s);
  const auto quit_after = Clock::now() - killed;
  EXPECT_EQ(l.rfind(":alice!", 0), 0u) << l;
  EXPECT_NE(l.find(" QUIT :*.net *.split"), std::string::npos) << l;
  std::string got;
  ASSERT_TRUE(sockit::test::wait_until([&] { return (got = try_nick(carol, "alice")) == "NICK"; }, 10s, 50ms)) << got;
  const auto free_after = Clock::now() - killed;
  EXPECT_LE(free_after, 6500ms);  // TTL + one heartbeat (+ the poll)
  EXPECT_GE(free_after, 2s);      // not before the heartbeat expired
  std::printf("sigkill: QUIT seen after %lld ms, nick claimable after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(quit_after).count()),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(free_after).count()));
  // Reaped exactly once: one QUIT, nothing more.
  carol.send("PING :end");
  for (auto line = carol.line(5s); line && line->find("PONG") == std::string::npos; line = carol.line(5s)) {
    EXPECT_EQ(line->find(" QUIT "), std::string::npos) << *line;
  }
}

TEST(ClusterNicks, ASigtermedNodePublishesItsUsersQuitsAndReleasesTheirNicks) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha"});
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta", "--drain", "1s"});
  ASSERT_TRUE(redis.wait_nodes_up({"alpha", "beta"}));
  Client carol(a.address());
  Client alice(b.address());
  ASSERT_NO_FATAL_FAILURE(share_channel(carol, alice));
  const auto t0 = Clock::now();
  std::string l;
  b.child().signal(SIGTERM);
  EXPECT_NE(alice.expect("ERROR"), "");  // its own users get ERROR
  l = carol.expect("QUIT", 5s);
  EXPECT_EQ(l.rfind(":alice!", 0), 0u) << l;
  EXPECT_NE(l.find(" QUIT :Server shutting down"), std::string::npos) << l;
  std::string got;
  ASSERT_TRUE(sockit::test::wait_until([&] { return (got = try_nick(carol, "alice")) == "NICK"; }, 5s, 20ms)) << got;
  EXPECT_LT(Clock::now() - t0, 3s);  // not the heartbeat's expiry: released by the node itself
  auto st = b.child().wait(10s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(*st, 0) << b.log();  // a clean stop (ASan found the nick claims outliving their node)
}

}  // namespace
