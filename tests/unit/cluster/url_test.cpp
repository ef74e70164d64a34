// cluster::parse_redis_url: the --cluster / [cluster] url forms and their errors.
#include "sockit/cluster/redis.hpp"

#include <gtest/gtest.h>

using sockit::cluster::parse_redis_url;

namespace {

TEST(RedisUrl, TcpForms) {
  std::string err;
  auto u = parse_redis_url("redis://127.0.0.1:6390", &err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 6390);
  EXPECT_TRUE(u->user.empty());
  EXPECT_TRUE(u->password.empty());
  EXPECT_FALSE(u->is_unix());

  u = parse_redis_url("redis://localhost", &err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->port, 6379);

  u = parse_redis_url("redis://[::1]:7000/0", &err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 7000);
  EXPECT_EQ(u->display(), "redis://[::1]:7000");
}

TEST(RedisUrl, CredentialsPasswordAloneOrAclUserWithEscapes) {
  std::string err;
  auto u = parse_redis_url("redis://:pw@h:1", &err);
  ASSERT_TRUE(u) << err;
  EXPECT_TRUE(u->user.empty());
  EXPECT_EQ(u->password, "pw");
  u = parse_redis_url("redis://pw@h:1", &err);  // like redis-cli: a lone credential is the password
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->password, "pw");
  u = parse_redis_url("redis://node:a%40b%3Ac@h:1", &err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->user, "node");
  EXPECT_EQ(u->password, "a@b:c");
  EXPECT_EQ(u->display(), "redis://node@h:1");  // never the password
  u = parse_redis_url("redis://node:p@ss@h:1", &err);  // the last '@' ends the credentials
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->password, "p@ss");
  EXPECT_EQ(u->host, "h");
}

TEST(RedisUrl, UnixSocket) {
  std::string err;
  auto u = parse_redis_url("unix:/run/redis/redis.sock", &err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(u->display(), "unix:/run/redis/redis.sock");
  u = parse_redis_url("unix:///tmp/r.sock", &err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->unix_path, "/tmp/r.sock");
}

TEST(RedisUrl, ErrorsSayWhatIsWrong) {
  struct Case {
    const char* url;
    const char* says;
  } cases[] = {
      {"", "not a Redis URL"},
      {"http://h:1", "not a Redis URL"},
      {"rediss://h:1", "not a Redis URL"},
      {"redis://", "no host"},
      {"redis://:6379", "no host"},
      {"redis://h:", "not a port"},
      {"redis://h:0", "not a port"},
      {"redis://h:65536", "not a port"},
      {"redis://h:12x", "not a port"},
      {"redis://::1:6379", "brackets"},
      {"redis://[::1:6379", "unclosed"},
      {"redis://[::1]x", "expected ':port'"},
      {"redis://h:1/3", "database numbers"},
      {"redis://user:@h:1", "without a password"},
      {"redis://u:%zz@h:1", "%-escape"},
      {"redis://u:%4@h:1", "%-escape"},
      {"unix:", "absolute path"},
      {"unix:relative.sock", "absolute path"},
  };
  for (const auto& c : cases) {
    std::string err;
    EXPECT_FALSE(parse_redis_url(c.url, &err)) << c.url;
    EXPECT_NE(err.find(c.says), std::string::npos) << c.url << " -> " << err;
  }
}

}  // namespace
