// Built against an *installed* sockit: the store, ws and cluster layers (installed since their
// headers hide SQLite, argon2, wslay and hiredis) are usable from outside: one call into each,
// which pulls the private library in at link time. Prints "ok"; the first failure's name otherwise.
#include <sockit/cluster/redis.hpp>
#include <sockit/store/accounts.hpp>
#include <sockit/ws/handshake.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <stdlib.h>

int main() {
  // ws: RFC 6455 section 1.3's example key (SHA-1 from libcrypto).
  if (sockit::ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") return std::puts("ws"), 1;
  // cluster: a URL parsed by the hiredis client's translation unit.
  std::string why;
  auto url = sockit::cluster::parse_redis_url("redis://127.0.0.1:6380", &why);
  if (!url || url->port != 6380) return std::puts("cluster"), 1;
  // store: an account in a SQLite file (a cheap argon2id cost), its password checked.
  char dir[] = "/tmp/sockit-consumer-XXXXXX";
  if (!::mkdtemp(dir)) return std::puts("mkdtemp"), 1;
  bool ok = false;
  {
    auto st = sockit::store::open_sqlite_accounts(std::string(dir) + "/a.db", sockit::store::HashCost{1, 64, 1});
    ok = st && (*st)->add("alice", "correct horse") && (*st)->check_password("alice", "correct horse").value_or(std::nullopt) &&
         !(*st)->check_password("alice", "wrong horse").value_or(std::nullopt);
  }
  std::filesystem::remove_all(dir);
  if (!ok) return std::puts("store"), 1;
  std::puts("ok");
  return 0;
}
