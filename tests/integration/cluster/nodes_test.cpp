// Chat-server nodes joined through a real redis-server (started by the test, skipped only where
// the binary is missing): --cluster/--node-name and [cluster] in --check-config, the heartbeat seen
// by --status and LINKS, a SIGKILLed node leaving the view when its key expires.
#include "redis_server.hpp"

#include "integration/irc/irc_client.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

using namespace std::chrono_literals;
using sockit::irc::itest::ChatServer;
using sockit::irc::itest::Client;
using sockit::test::RedisServer;

namespace {

sockit::test::RunResult status(const std::string& url) {
  return sockit::test::run({sockit::test::sockit_bin(), "chat-server", "--cluster", url, "--status"}, {}, 15s);
}

// `sockit chat-server --status` until its output satisfies `pred` (bounded).
bool status_until(const std::string& url, const std::function<bool(const std::string&)>& pred,
                  std::chrono::milliseconds timeout, std::string* last) {
  return sockit::test::wait_until(
      [&] {
        auto r = status(url);
        *last = r.out + r.err;
        return r.status == 0 && pred(r.out);
      },
      timeout, 100ms);
}

bool has_row(const std::string& out, const std::string& node, int users) {
  // "NAME   USERS  SERVER ..." rows: the name, then the count.
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string name;
    std::string count;
    words >> name >> count;
    if (name == node && count == std::to_string(users)) return true;
  }
  return false;
}

TEST(ClusterNodes, StatusAndLinksListTheLiveNodesWithTheirUsers) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha", "--server-name", "a.example"});
  ChatServer b({"--cluster", "unix:" + redis.unix_path(), "--node-name", "beta", "--server-name", "b.example"});
  Client alice(a.address());
  alice.register_as("alice");
  Client bob(b.address());
  bob.register_as("bob");
  Client carol(b.address());
  carol.register_as("carol");
  std::string last;
  ASSERT_TRUE(status_until(redis.url(), [](const std::string& out) {
    return has_row(out, "alpha", 1) && has_row(out, "beta", 2) && out.find("2 nodes, 3 users") != std::string::npos;
  }, 10s, &last)) << last;
  EXPECT_NE(last.find("a.example"), std::string::npos) << last;

  // LINKS on alpha: itself (hop 0), then beta by node name (hop 1) with its users as of alpha's
  // last heartbeat (beta's count reaches alpha within two heartbeats).
  std::string links;
  ASSERT_TRUE(sockit::test::wait_until([&] {
    alice.send("LINKS");
    links.clear();
    for (std::string l = alice.expect_any({"364", "365"}); l.find(" 365 ") == std::string::npos && !l.empty();
         l = alice.expect_any({"364", "365"})) {
      links += l + "\n";
    }
    return links.find("2 users") != std::string::npos;
  }, 5s, 200ms)) << links;
  EXPECT_NE(links.find(" 364 alice a.example a.example :0 "), std::string::npos) << links;
  EXPECT_NE(links.find(" 364 alice beta a.example :1 node beta (b.example), 2 users"), std::string::npos) << links;
  EXPECT_EQ(links.find(" 364 alice alpha "), std::string::npos) << links;  // not itself twice
}

TEST(ClusterNodes, ASigkilledNodeLeavesTheViewWhenItsHeartbeatExpires) {
  SKIP_WITHOUT_REDIS();
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  ChatServer a({"--cluster", redis.url(), "--node-name", "alpha"});
  ChatServer b({"--cluster", redis.url(), "--node-name", "beta"});
  std::string last;
  ASSERT_TRUE(status_until(redis.url(), [](const std::string& out) { return out.find("2 nodes") != std::string::npos; },
                           10s, &last)) << last;
  b.child().signal(SIGKILL);
  ASSERT_TRUE(b.child().wait(5s).has_value());
  auto killed = std::chrono::steady_clock::now();
  // The heartbeat's TTL is 5 s: gone within that (plus a heartbeat and a status run).
  ASSERT_TRUE(status_until(redis.url(), [](const std::string& out) {
    return out.find("1 node,") != std::string::npos && has_row(out, "alpha", 0) && !has_row(out, "beta", 0);
  }, 12s, &last)) << last;
  auto gone = std::chrono::steady_clock::now() - killed;
  EXPECT_LE(gone, 7s);
  EXPECT_GE(gone, 2s);  // not at once: the key expires, nobody deletes it
  // The node name can be used again once its heartbeat expired.
  ChatServer b2({"--cluster", redis.url(), "--node-name", "beta"});
  ASSERT_TRUE(status_until(redis.url(), [](const std::string& out) { return out.find("2 nodes") != std::string::npos; },
                           10s, &last)) << last;
}

TEST(ClusterNodes, FlagsAndConfigErrorsAreClear) {
  auto bin = sockit::test::sockit_bin();
  auto r = sockit::test::run({bin, "chat-server", "--cluster", "http://x", "--node-name", "n", "--check-config"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--cluster: 'http://x': not a Redis URL"), std::string::npos) << r.err;
  r = sockit::test::run({bin, "chat-server", "--cluster", "redis://127.0.0.1:6379", "--check-config"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("needs --node-name"), std::string::npos) << r.err;
  r = sockit::test::run({bin, "chat-server", "--cluster", "redis://127.0.0.1:1", "--node-name", "a b", "--check-config"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--node-name: 'a b': a node name holds only"), std::string::npos) << r.err;
  r = sockit::test::run({bin, "chat-server", "--node-name", "n", "--check-config"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("needs --cluster"), std::string::npos) << r.err;
  r = sockit::test::run({bin, "chat-server", "--status"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--status: needs --cluster"), std::string::npos) << r.err;

  // [cluster] in the file, shown by --check-config (which reads its own output back).
  RedisServer scratch;  // only for its temporary directory
  const std::string toml = scratch.dir() + "/chat.toml";
  std::ofstream(toml) << "[cluster]\nurl = \"redis://node@127.0.0.1:6390\"\nnode_name = \"n1\"\npassword = \"pw\"\n";
  r = sockit::test::run({bin, "chat-server", "--config", toml, "--check-config"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("[cluster]\nurl = \"redis://node@127.0.0.1:6390\"\nnode_name = \"n1\"\npassword = \"pw\"\n"),
            std::string::npos) << r.out;
  std::ofstream(toml + ".2") << r.out;
  auto again = sockit::test::run({bin, "chat-server", "--config", toml + ".2", "--check-config"});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out, r.out);
  // Without --cluster the section is there, empty: a single server, no Redis.
  r = sockit::test::run({bin, "chat-server", "--check-config"});
  EXPECT_NE(r.out.find("[cluster]\nurl = \"\"\nnode_name = \"\"\n"), std::string::npos) << r.out;
  // The flag wins over the file.
  std::ofstream(toml) << "[cluster]\nurl = \"redis://127.0.0.1:6390\"\nnode_name = \"n1\"\n";
  r = sockit::test::run({bin, "chat-server", "--config", toml, "--node-name", "n2", "--check-config"});
  EXPECT_NE(r.out.find("node_name = \"n2\""), std::string::npos) << r.out;
}

TEST(ClusterNodes, StatusWithoutRedisFailsInBoundedTime) {
  RedisServer redis;  // never started: its port is free
  auto t0 = std::chrono::steady_clock::now();
  auto r = status(redis.url());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--cluster " + redis.url()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 6s);
}

}  // namespace
