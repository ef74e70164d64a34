// cluster::RedisClient against a real redis-server (Debian's; skipped only where it is missing):
// commands, pub/sub, AUTH with a password and an ACL user, and reconnection after the test kills
// Redis (SIGKILL, by PID) and starts it again.
#include "redis_server.hpp"

#include "sockit/cluster/redis.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using sockit::cluster::RedisClient;
using sockit::cluster::RedisOptions;
using sockit::cluster::RedisReply;
using sockit::test::RedisServer;

namespace {

// Runs loop turns until `pred` holds or `timeout` passes.
bool spin(sockit::loop::EventLoop& loop, const std::function<bool()>& pred,
          std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    loop.run_once(20ms);
  }
  return true;
}

RedisOptions options_for(const std::string& url) {
  std::string err;
  auto u = sockit::cluster::parse_redis_url(url, &err);
  EXPECT_TRUE(u) << err;
  RedisOptions o;
  if (u) o.url = *u;
  o.backoff_min = 20ms;
  o.backoff_max = 200ms;
  o.connect_timeout = 1s;
  return o;
}

std::unique_ptr<RedisClient> make_client(sockit::loop::EventLoop& loop, const std::string& url) {
  auto c = RedisClient::create(loop, options_for(url));
  EXPECT_TRUE(c) << c.error().message();
  return std::move(c).value();
}

// Sends a command and spins until its reply.
RedisReply call(sockit::loop::EventLoop& loop, RedisClient& c, const std::vector<std::string>& args) {
  std::optional<RedisReply> got;
  c.command(args, [&](const RedisReply& r) { got = r; });
  EXPECT_TRUE(spin(loop, [&] { return got.has_value(); })) << args[0] << ": no reply";
  if (!got) {
    RedisReply none;
    none.type = RedisReply::Type::disconnected;
    return none;
  }
  return *got;
}

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_REDIS();
    loop_ = sockit::loop::EventLoop::create().value();
  }
  std::unique_ptr<sockit::loop::EventLoop> loop_;
};

TEST_F(RedisClientTest, CommandsOverTcpAndUnixAreBinarySafe) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  sockit::test::FdLeakCheck fds;
  {
    auto tcp = make_client(*loop_, redis.url());
    auto unx = make_client(*loop_, "unix:" + redis.unix_path());
    tcp->start();
    unx->start();
    ASSERT_TRUE(spin(*loop_, [&] { return tcp->ready() && unx->ready(); }));
    std::string value("a\0b\r\nc", 6);
    EXPECT_EQ(call(*loop_, *tcp, {"SET", "k", value}).str, "OK");
    RedisReply got = call(*loop_, *unx, {"GET", "k"});
    EXPECT_EQ(got.type, RedisReply::Type::string);
    EXPECT_EQ(got.str, value);
    EXPECT_EQ(call(*loop_, *unx, {"INCR", "n"}).integer, 1);
    EXPECT_EQ(call(*loop_, *tcp, {"GET", "nothing"}).type, RedisReply::Type::nil);
    RedisReply err = call(*loop_, *tcp, {"NOSUCHCOMMAND"});
    EXPECT_EQ(err.type, RedisReply::Type::error);
    RedisReply arr = call(*loop_, *tcp, {"MGET", "k", "nothing"});
    ASSERT_EQ(arr.elements.size(), 2u);
    EXPECT_EQ(arr.elements[0].str, value);
    // Many in flight at once: answered in order.
    std::vector<std::int64_t> seen;
    for (int i = 0; i < 200; ++i) tcp->command({"INCR", "m"}, [&](const RedisReply& r) { seen.push_back(r.integer); });
    ASSERT_TRUE(spin(*loop_, [&] { return seen.size() == 200; }));
    for (int i = 0; i < 200; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i + 1);
  }
  for (int i = 0; i < 5; ++i) loop_->run_once(0ms);  // posted callbacks of the destroyed clients
  fds.expect_no_leak();
}

TEST_F(RedisClientTest, PubSubDeliversEveryMessageInOrder) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  auto pub = make_client(*loop_, redis.url());
  auto sub = make_client(*loop_, "unix:" + redis.unix_path());
  std::vector<std::string> got;
  sub->set_on_message([&](std::string_view ch, std::string_view payload) {
    EXPECT_EQ(ch, "sockit:test");
    got.emplace_back(payload);
  });
  sub->subscribe("sockit:test");
  pub->start();
  sub->start();
  ASSERT_TRUE(spin(*loop_, [&] { return pub->ready() && sub->ready(); }));
  // The subscription is live once PUBLISH counts one receiver.
  ASSERT_TRUE(spin(*loop_, [&] { return call(*loop_, *pub, {"PUBLISH", "sockit:test", "probe"}).integer == 1; }));
  got.clear();
  for (int i = 0; i < 500; ++i) pub->command({"PUBLISH", "sockit:test", "m" + std::to_string(i)});
  ASSERT_TRUE(spin(*loop_, [&] { return got.size() >= 500; })) << got.size();
  std::size_t start = got.size() - 500;  // probes that arrived late come first
  for (std::size_t i = 0; i < 500; ++i) EXPECT_EQ(got[start + i], "m" + std::to_string(i));
}

TEST_F(RedisClientTest, ReconnectsWithBackoffAfterRedisIsKilledAndRestarted) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  auto cmd = make_client(*loop_, redis.url());
  auto sub = make_client(*loop_, redis.url());
  std::vector<std::string> states;
  cmd->set_on_state([&](bool up, const std::string& why) { states.push_back((up ? "up: " : "down: ") + why); });
  std::vector<std::string> got;
  sub->set_on_message([&](std::string_view, std::string_view payload) { got.emplace_back(payload); });
  sub->subscribe("ch");
  cmd->start();
  sub->start();
  ASSERT_TRUE(spin(*loop_, [&] { return cmd->ready() && sub->ready(); }));
  EXPECT_EQ(cmd->stats().connects, 1u);

  redis.kill();
  ASSERT_TRUE(spin(*loop_, [&] { return !cmd->ready() && !sub->ready(); }));
  // While Redis is away a command is answered `disconnected` at once, never queued.
  RedisReply r = call(*loop_, *cmd, {"PING"});
  EXPECT_EQ(r.type, RedisReply::Type::disconnected);
  // Failed attempts double the wait up to backoff_max.
  ASSERT_TRUE(spin(*loop_, [&] { return cmd->stats().attempts >= 6; }));
  EXPECT_EQ(cmd->next_backoff(), 200ms);

  ASSERT_TRUE(redis.start()) << redis.log();  // same port, empty data
  ASSERT_TRUE(spin(*loop_, [&] { return cmd->ready() && sub->ready(); }));
  EXPECT_EQ(cmd->stats().connects, 2u);
  EXPECT_EQ(cmd->stats().disconnects, 1u);
  EXPECT_EQ(cmd->next_backoff(), 20ms);
  EXPECT_EQ(call(*loop_, *cmd, {"PING"}).str, "PONG");
  // The subscription came back by itself.
  ASSERT_TRUE(spin(*loop_, [&] { return call(*loop_, *cmd, {"PUBLISH", "ch", "after"}).integer == 1; }));
  ASSERT_TRUE(spin(*loop_, [&] { return !got.empty() && got.back() == "after"; }));
  ASSERT_GE(states.size(), 3u);
  EXPECT_TRUE(states.front().starts_with("up: ")) << states.front();
  EXPECT_TRUE(states[1].starts_with("down: ")) << states[1];
  EXPECT_TRUE(states.back().starts_with("up: ")) << states.back();
}

// A Redis that accepts but never answers (SIGSTOP): the command waiting for a reply is answered
// `disconnected` after command_timeout, the connection is dropped and retried with backoff, and the
// client is back once Redis runs again (SIGCONT).
TEST_F(RedisClientTest, ACommandWithoutReplyTimesOutAndTheClientReconnects) {
  RedisServer redis;
  ASSERT_TRUE(redis.start()) << redis.log();
  RedisOptions o = options_for(redis.url());
  o.command_timeout = 500ms;
  auto c = std::move(RedisClient::create(*loop_, o)).value();
  std::vector<std::string> states;
  c->set_on_state([&](bool up, const std::string& why) { states.push_back((up ? "up: " : "down: ") + why); });
  c->start();
  ASSERT_TRUE(spin(*loop_, [&] { return c->ready(); }));
  redis.signal(SIGSTOP);
  std::optional<RedisReply> got;
  const auto t0 = std::chrono::steady_clock::now();
  c->command({"PING"}, [&](const RedisReply& r) { got = r; });
  ASSERT_TRUE(spin(*loop_, [&] { return got.has_value(); }, 5s));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(got->type, RedisReply::Type::disconnected);
  EXPECT_GE(waited, 450ms);
  EXPECT_LT(waited, 2s);
  EXPECT_FALSE(c->ready());
  EXPECT_EQ(c->stats().timeouts, 1u);
  ASSERT_GE(states.size(), 2u);
  EXPECT_NE(states[1].find("no reply in 500 ms"), std::string::npos) << states[1];
  redis.signal(SIGCONT);
  ASSERT_TRUE(spin(*loop_, [&] { return c->ready(); }, 10s));
  EXPECT_EQ(call(*loop_, *c, {"PING"}).str, "PONG");
}

TEST_F(RedisClientTest, AuthWithPasswordAndAclUser) {
  RedisServer redis({"--requirepass", "s3cret"});
  ASSERT_TRUE(redis.start()) << redis.log();
  // Never ready, retrying, with the server's reason: no password (the PING sent on connect meets
  // NOAUTH), then a wrong one.
  auto expect_refused = [&](const std::string& url, const std::string& says) {
    auto c = make_client(*loop_, url);
    std::string why;
    c->set_on_state([&](bool, const std::string& w) { why = w; });
    c->start();
    ASSERT_TRUE(spin(*loop_, [&] { return c->stats().attempts >= 2; }));
    EXPECT_FALSE(c->ready());
    EXPECT_NE(why.find(says), std::string::npos) << why;
  };
  expect_refused(redis.url(), "NOAUTH");
  expect_refused("redis://:nope@127.0.0.1:" + std::to_string(redis.port()), "AUTH refused");

  auto admin = make_client(*loop_, "redis://:s3cret@127.0.0.1:" + std::to_string(redis.port()));
  admin->start();
  ASSERT_TRUE(spin(*loop_, [&] { return admin->ready(); }));
  EXPECT_EQ(call(*loop_, *admin, {"ACL", "SETUSER", "node", "on", ">p%w@1", "~sockit:*", "&*", "+@all"}).str, "OK");

  // The ACL user's password holds '%' and '@': %-escaped in the URL.
  auto user = make_client(*loop_, "redis://node:p%25w%401@127.0.0.1:" + std::to_string(redis.port()));
  user->start();
  ASSERT_TRUE(spin(*loop_, [&] { return user->ready(); }));
  EXPECT_EQ(call(*loop_, *user, {"SET", "sockit:x", "1"}).str, "OK");
  EXPECT_EQ(call(*loop_, *user, {"SET", "other", "1"}).type, RedisReply::Type::error);  // ~sockit:* only
  EXPECT_EQ(call(*loop_, *user, {"ACL", "WHOAMI"}).str, "node");
}

TEST_F(RedisClientTest, ConnectRefusedKeepsRetryingWithoutBlockingTheLoop) {
  RedisServer redis;  // never started: its port is free
  auto c = make_client(*loop_, redis.url());
  int ticks = 0;
  loop_->run_every(std::chrono::milliseconds(10), [&] { ++ticks; });
  c->start();
  ASSERT_TRUE(spin(*loop_, [&] { return c->stats().attempts >= 4 && ticks >= 10; }, 5s));
  EXPECT_FALSE(c->ready());
  EXPECT_EQ(c->stats().connects, 0u);
}

}  // namespace
