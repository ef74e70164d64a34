// store::AccountStore on SQLite (issue #18 item 2): a temporary directory, no sockets, no sleeps.
// Cheap argon2id costs: the store's logic, not the hash's cost, is under test.
#include "sockit/store/accounts.hpp"

#include <gtest/gtest.h>

#include "support/support.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

using namespace sockit;
using namespace sockit::store;
namespace fs = std::filesystem;

namespace {

constexpr HashCost kCheap{1, 64, 1};

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("sockit-store") {}
};

std::unique_ptr<AccountStore> open(const fs::path& p) {
  auto s = open_sqlite_accounts(p.string(), kCheap);
  EXPECT_TRUE(s) << s.error().message();
  return s ? std::move(*s) : nullptr;
}

std::string journal_mode(const fs::path& p) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  std::string mode;
  if (sqlite3_step(st) == SQLITE_ROW) mode = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return mode;
}

}  // namespace

TEST(AccountStore, AddCheckListRemove) {
  TempDir d;
  auto s = open(d.path / "accounts.db");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->add("Alice", "correct horse"));
  ASSERT_TRUE(s->add("bob", "battery staple"));
  auto dup = s->add("ALICE", "whatever123");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error(), std::errc::file_exists);

  auto ok = s->check_password("alice", "correct horse");
  ASSERT_TRUE(ok);
  ASSERT_TRUE(ok->has_value());
  EXPECT_EQ(**ok, "Alice");  // the name as registered
  EXPECT_FALSE(s->check_password("alice", "wrong password")->has_value());
  EXPECT_FALSE(s->check_password("nobody", "correct horse")->has_value());

  auto all = s->list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "Alice");
  EXPECT_GT((*all)[0].created, 1'700'000'000);

  ASSERT_TRUE(s->set_password("alice", "new password"));
  EXPECT_FALSE(s->check_password("alice", "correct horse")->has_value());
  EXPECT_TRUE(s->check_password("alice", "new password")->has_value());

  ASSERT_TRUE(s->remove("ALICE"));
  EXPECT_FALSE(s->find("alice")->has_value());
  auto again = s->remove("alice");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), std::errc::no_such_file_or_directory);
  EXPECT_FALSE(s->set_password("alice", "new password"));
}

TEST(AccountStore, PasswordsAreArgon2idHashesNeverPlainText) {
  TempDir d;
  {
    auto s = open(d.path / "a.db");
    ASSERT_TRUE(s->add("carol", "plain-text-secret"));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((d.path / "a.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT hash FROM accounts", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  std::string hash = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=64,t=1,p=1$", 0), 0u) << hash;
  EXPECT_EQ(hash.find("plain-text-secret"), std::string::npos);
  std::ifstream f(d.path / "a.db", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(bytes.find("plain-text-secret"), std::string::npos);
}

TEST(AccountStore, RejectsBadNamesAndPasswords) {
  TempDir d;
  auto s = open(d.path / "a.db");
  EXPECT_FALSE(s->add("", "long enough"));
  EXPECT_FALSE(s->add("9lives", "long enough"));
  EXPECT_FALSE(s->add("has space", "long enough"));
  EXPECT_FALSE(s->add(std::string(33, 'a'), "long enough"));
  EXPECT_FALSE(s->add("dave", "short"));
  EXPECT_FALSE(s->add("dave", std::string("with\0nul!", 9)));
  EXPECT_FALSE(s->add("dave", std::string(257, 'x')));
  EXPECT_TRUE(s->add("dave", std::string(256, 'x')));
  EXPECT_TRUE(valid_account_name("[bot]_2"));
}

TEST(AccountStore, CertfpsMapToTheirAccount) {
  TempDir d;
  auto s = open(d.path / "a.db");
  ASSERT_TRUE(s->add("erin", "long enough"));
  const std::string fp(64, 'a');
  EXPECT_FALSE(s->add_certfp("erin", "AB:CD"));
  EXPECT_FALSE(s->add_certfp("nobody", fp));
  ASSERT_TRUE(s->add_certfp("erin", fp));
  EXPECT_FALSE(s->add_certfp("erin", fp));  // already taken
  EXPECT_EQ(s->find_by_certfp(fp)->value_or(""), "erin");
  EXPECT_EQ((*s->find("ERIN"))->certfps, std::vector<std::string>{fp});
  ASSERT_TRUE(s->remove("erin"));  // cascades
  EXPECT_FALSE(s->find_by_certfp(fp)->has_value());
}

TEST(AccountStore, WalModeSchemaVersionAndReopenKeepsAccounts) {
  TempDir d;
  const fs::path p = d.path / "a.db";
  {
    auto s = open(p);
    ASSERT_TRUE(s->add("frank", "long enough"));
  }
  EXPECT_EQ(journal_mode(p), "wal");
  auto s = open(p);  // migrations already applied: a no-op
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->check_password("frank", "long enough")->has_value());
}

TEST(AccountStore, NewerSchemaIsRefused) {
  TempDir d;
  const fs::path p = d.path / "a.db";
  { ASSERT_TRUE(open(p)); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((p).c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = open_sqlite_accounts(p.string(), kCheap);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("schema version 99"), std::string::npos) << s.error().message();
}

TEST(AccountStore, CorruptFileIsAClearErrorNotACrash) {
  TempDir d;
  const fs::path p = d.path / "a.db";
  {
    std::ofstream f(p, std::ios::binary);
    f << std::string(8192, 'G');  // not a database
  }
  auto s = open_sqlite_accounts(p.string(), kCheap);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(p.string()), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("not a database"), std::string::npos) << s.error().message();
}

TEST(AccountStore, ReadOnlyFileIsAClearError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores file modes";
  TempDir d;
  const fs::path p = d.path / "a.db";
  { ASSERT_TRUE(open(p)); }
  fs::permissions(p, fs::perms::owner_read);
  fs::permissions(d.path, fs::perms::owner_read | fs::perms::owner_exec);
  auto s = open_sqlite_accounts(p.string(), kCheap);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(p.string()), std::string::npos) << s.error().message();
}

TEST(AccountStore, MissingFileWithoutCreateIsAnError) {
  TempDir d;
  auto s = open_sqlite_accounts((d.path / "none.db").string(), kCheap, false);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), std::errc::no_such_file_or_directory);
}

// Schema 1 -> 2 (SASL SCRAM-SHA-256): an account of a version-1 file keeps its argon2id hash and
// has no SCRAM credentials ("") until they are set; a password change drops the old ones.
TEST(AccountStore, MigratesSchema1AndKeepsScramBesideTheHash) {
  TempDir d;
  const fs::path p = d.path / "a.db";
  {
    auto s = open(p);
    ASSERT_TRUE(s->add("frank", "long enough"));
  }
  sqlite3* db = nullptr;  // turn the file back into a version-1 one, as an older build left it
  ASSERT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE accounts DROP COLUMN scram; DELETE FROM schema_version WHERE version = 2",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = open(p);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->check_password("frank", "long enough")->has_value());
  auto sc = s->scram("frank");
  ASSERT_TRUE(sc && sc->has_value());
  EXPECT_EQ(**sc, "");
  EXPECT_FALSE(s->scram("nobody")->has_value());
  ASSERT_TRUE(s->set_scram("frank", "SCRAM-SHA-256$4096$c2FsdA==$x$y"));
  EXPECT_EQ(**s->scram("FRANK"), "SCRAM-SHA-256$4096$c2FsdA==$x$y");
  EXPECT_FALSE(s->set_scram("nobody", "x"));
  ASSERT_TRUE(s->set_password("frank", "another long one"));
  EXPECT_EQ(**s->scram("frank"), "");
}

namespace {
/// The stored argon2id string of `name` (read_sqlite_accounts: the file as another process sees it).
std::string stored_hash(const fs::path& p, std::string_view name) {
  auto all = read_sqlite_accounts(p.string());
  EXPECT_TRUE(all) << all.error().message();
  if (!all) return "";
  for (const AccountRecord& r : *all) {
    if (r.account.name == name) return r.hash;
  }
  return "";
}
}  // namespace

// [accounts] hash_* changed between two runs: the accounts hashed before still log in (a check
// uses the m, t, p of the stored string, not the store's cost), new hashes (a new account, a
// password change) take the new cost. Against the real argon2id, the default cost included.
TEST(AccountStore, ACostChangeKeepsOldAccountsWorkingAndNewHashesTakeTheNewCost) {
  TempDir d;
  const fs::path p = d.path / "a.db";
  {
    auto s = open(p);  // kCheap: m=64, t=1
    ASSERT_TRUE(s->add("gina", "old cost password"));
  }
  EXPECT_EQ(stored_hash(p, "gina").rfind("$argon2id$v=19$m=64,t=1,p=1$", 0), 0u) << stored_hash(p, "gina");
  auto s = open_sqlite_accounts(p.string(), HashCost{});  // the default: m=19456, t=2
  ASSERT_TRUE(s) << s.error().message();
  auto& st = **s;
  EXPECT_EQ(*st.check_password("gina", "old cost password"), std::optional<std::string>("gina"));
  EXPECT_EQ(*st.check_password("gina", "old cost passworD"), std::nullopt);
  ASSERT_TRUE(st.add("hank", "new cost password"));
  EXPECT_EQ(stored_hash(p, "hank").rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << stored_hash(p, "hank");
  EXPECT_EQ(*st.check_password("hank", "new cost password"), std::optional<std::string>("hank"));
  ASSERT_TRUE(st.set_password("gina", "changed password"));
  EXPECT_EQ(stored_hash(p, "gina").rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << stored_hash(p, "gina");
  EXPECT_EQ(*st.check_password("gina", "changed password"), std::optional<std::string>("gina"));
  // And back down to the cheap cost: the default-cost hashes still verify.
  auto cheap = open(p);
  EXPECT_EQ(*cheap->check_password("hank", "new cost password"), std::optional<std::string>("hank"));
  EXPECT_EQ(*cheap->check_password("hank", "wrong"), std::nullopt);
}

// The bounds of a configured cost: OWASP's argon2id sets pass, anything weaker only as a test's
// cost, and nothing passes argon2's own floor or the upper limits.
TEST(AccountStore, HashCostBoundsAreOwaspsMinimumUnlessWeakForTests) {
  EXPECT_EQ(hash_cost_problem(HashCost{}, false), "");
  for (HashCost owasp : {HashCost{1, 47104, 1}, HashCost{2, 19456, 1}, HashCost{3, 12288, 1}, HashCost{4, 9216, 1},
                         HashCost{5, 7168, 1}}) {
    EXPECT_EQ(hash_cost_problem(owasp, false), "") << owasp.memory_kib << " KiB t=" << owasp.passes;
  }
  for (HashCost weak : {HashCost{1, 19456, 1}, HashCost{4, 7168, 1}, HashCost{64, 6144, 1}, kCheap}) {
    EXPECT_NE(hash_cost_problem(weak, false).find("below OWASP"), std::string::npos) << weak.memory_kib << " t=" << weak.passes;
    EXPECT_EQ(hash_cost_problem(weak, true), "") << weak.memory_kib << " t=" << weak.passes;
  }
  EXPECT_NE(hash_cost_problem(HashCost{1, 31, 4}, true), "");  // under 8 KiB per lane
  EXPECT_NE(hash_cost_problem(HashCost{0, 19456, 1}, true), "");
  EXPECT_NE(hash_cost_problem(HashCost{65, 19456, 1}, false), "");
  EXPECT_NE(hash_cost_problem(HashCost{2, 19456, 0}, false), "");
  EXPECT_NE(hash_cost_problem(HashCost{2, 19456, 17}, false), "");
  EXPECT_NE(hash_cost_problem(HashCost{2, kMaxHashMemoryKib + 1, 1}, false), "");
  EXPECT_EQ(hash_cost_problem(HashCost{1, kMaxHashMemoryKib, 16}, false), "");
}
