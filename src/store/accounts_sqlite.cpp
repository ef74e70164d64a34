// store::AccountStore on SQLite (accounts.hpp): one file, WAL, schema version 2:
//   accounts(key PRIMARY KEY = ASCII-lower-cased name, name, hash, created, scram)
//   certfps(certfp PRIMARY KEY, account_key REFERENCES accounts ON DELETE CASCADE)
// scram (version 2) holds the SASL SCRAM-SHA-256 verifier as the IRC layer encodes it, NULL until
// set (accounts of version 1 get one at their next password change or PLAIN login).
// Passwords are stored as argon2id PHC strings ("$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH") made by
// libargon2 with a fresh 16-byte salt; the cost travels in each string, so a change of HashCost
// applies to new hashes and old ones still verify. Nothing here logs.
#include "sockit/store/accounts.hpp"

#include "sqlite.hpp"

#include <argon2.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>

namespace sockit::store {

namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

std::string key_of(std::string_view name) { return account_key(name); }

const std::vector<std::string_view> kMigrations = {
    // 0 -> 1
    "CREATE TABLE accounts (key TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE certfps (certfp TEXT PRIMARY KEY NOT NULL,"
    " account_key TEXT NOT NULL REFERENCES accounts(key) ON DELETE CASCADE);"
    "CREATE INDEX certfps_account ON certfps(account_key);",
    // 1 -> 2: SCRAM-SHA-256 credentials beside the argon2id hash
    "ALTER TABLE accounts ADD COLUMN scram TEXT;",
};

class SqliteAccounts final : public AccountStore {
 public:
  SqliteAccounts(Db db, HashCost cost) : db_(std::move(db)), cost_(cost) {}

  Result<void> add(std::string_view name, std::string_view password) override {
    if (!valid_account_name(name)) return Error(std::errc::invalid_argument, "account name");
    if (auto r = check_password_text(password); !r) return r;
    auto hash = make_hash(password);  // slow: outside the lock
    if (!hash) return hash.error();
    std::lock_guard lock(mu_);
    Stmt st(db_, "INSERT INTO accounts (key, name, hash, created) VALUES (?, ?, ?, ?)");
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    auto r = st.bind(1, key_of(name)).bind(2, name).bind(3, *hash).bind(4, static_cast<std::int64_t>(now.count())).run();
    if (!r && r.error() == std::errc::file_exists) return Error(std::errc::file_exists, "account " + std::string(name) + " exists");
    return r;
  }

  Result<void> remove(std::string_view name) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, "DELETE FROM accounts WHERE key = ?");
    if (auto r = st.bind(1, key_of(name)).run(); !r) return r;
    if (db_.changes() == 0) return no_such(name);
    return {};
  }

  Result<void> set_password(std::string_view name, std::string_view password) override {
    if (auto r = check_password_text(password); !r) return r;
    auto hash = make_hash(password);
    if (!hash) return hash.error();
    std::lock_guard lock(mu_);
    Stmt st(db_, "UPDATE accounts SET hash = ?, scram = NULL WHERE key = ?");  // the old verifier goes too
    if (auto r = st.bind(1, *hash).bind(2, key_of(name)).run(); !r) return r;
    if (db_.changes() == 0) return no_such(name);
    return {};
  }

  Result<std::vector<Account>> list() override {
    std::lock_guard lock(mu_);
    std::vector<Account> out;
    Stmt st(db_, "SELECT name, created, key FROM accounts ORDER BY key");
    while (st.step()) out.push_back(Account{st.text(0), st.integer(1), {}});
    if (st.error()) return *st.error();
    for (Account& a : out) {
      if (auto r = certfps_of(key_of(a.name), a.certfps); !r) return r.error();
    }
    return out;
  }

  Result<std::optional<Account>> find(std::string_view name) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, "SELECT name, created FROM accounts WHERE key = ?");
    st.bind(1, key_of(name));
    if (!st.step()) {
      if (st.error()) return *st.error();
      return std::optional<Account>();
    }
    Account a{st.text(0), st.integer(1), {}};
    if (auto r = certfps_of(key_of(name), a.certfps); !r) return r.error();
    return std::optional<Account>(std::move(a));
  }

  Result<std::optional<std::string>> check_password(std::string_view name, std::string_view password) override {
    std::string stored_name, hash;
    {
      std::lock_guard lock(mu_);
      Stmt st(db_, "SELECT name, hash FROM accounts WHERE key = ?");
      st.bind(1, key_of(name));
      if (st.step()) {
        stored_name = st.text(0);
        hash = st.text(1);
      } else if (st.error()) {
        return *st.error();
      }
    }
    if (hash.empty()) {
      (void)make_hash(password);  // an unknown name costs what a wrong password does
      return std::optional<std::string>();
    }
    if (!verify_password_hash(hash, password)) return std::optional<std::string>();
    return std::optional<std::string>(stored_name);
  }

  Result<std::optional<std::string>> find_by_certfp(std::string_view certfp) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, "SELECT a.name FROM certfps c JOIN accounts a ON a.key = c.account_key WHERE c.certfp = ?");
    st.bind(1, certfp);
    if (st.step()) return std::optional<std::string>(st.text(0));
    if (st.error()) return *st.error();
    return std::optional<std::string>();
  }

  Result<void> add_certfp(std::string_view name, std::string_view certfp) override {
    if (!valid_certfp(certfp)) {
      return Error(std::errc::invalid_argument, "certfp: 64 hex digits (SHA-256)");
    }
    std::lock_guard lock(mu_);
    {
      Stmt q(db_, "SELECT 1 FROM accounts WHERE key = ?");
      q.bind(1, key_of(name));
      if (!q.step()) return q.error() ? *q.error() : no_such(name);
    }
    Stmt st(db_, "INSERT INTO certfps (certfp, account_key) VALUES (?, ?)");
    auto r = st.bind(1, certfp).bind(2, key_of(name)).run();
    if (!r && r.error() == std::errc::file_exists) return Error(std::errc::file_exists, "certfp already belongs to an account");
    return r;
  }

  Result<void> remove_certfp(std::string_view name, std::string_view certfp) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, "DELETE FROM certfps WHERE certfp = ? AND account_key = ?");
    if (auto r = st.bind(1, certfp).bind(2, key_of(name)).run(); !r) return r;
    if (db_.changes() == 0) return Error(std::errc::no_such_file_or_directory, "no such certfp on " + std::string(name));
    return {};
  }

  Result<std::optional<std::string>> scram(std::string_view name) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, "SELECT coalesce(scram, '') FROM accounts WHERE key = ?");
    st.bind(1, key_of(name));
    if (st.step()) return std::optional<std::string>(st.text(0));
    if (st.error()) return *st.error();
    return std::optional<std::string>();
  }

  Result<void> set_scram(std::string_view name, std::string_view encoded) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, "UPDATE accounts SET scram = ? WHERE key = ?");
    if (auto r = st.bind(1, encoded).bind(2, key_of(name)).run(); !r) return r;
    if (db_.changes() == 0) return no_such(name);
    return {};
  }

  Result<void> migrate() { return db_.migrate(kMigrations); }

  Result<std::vector<AccountRecord>> records() {
    std::lock_guard lock(mu_);
    std::vector<AccountRecord> out;
    Stmt st(db_, "SELECT name, created, hash, coalesce(scram, '') FROM accounts ORDER BY key");
    while (st.step()) out.push_back(AccountRecord{Account{st.text(0), st.integer(1), {}}, st.text(2), st.text(3)});
    if (st.error()) return *st.error();
    for (AccountRecord& r : out) {
      if (auto c = certfps_of(key_of(r.account.name), r.account.certfps); !c) return c.error();
    }
    return out;
  }

 private:
  static Error no_such(std::string_view name) {
    return Error(std::errc::no_such_file_or_directory, "no account " + std::string(name));
  }

  Result<void> certfps_of(const std::string& key, std::vector<std::string>& out) {
    Stmt st(db_, "SELECT certfp FROM certfps WHERE account_key = ? ORDER BY certfp");
    st.bind(1, key);
    while (st.step()) out.push_back(st.text(0));
    if (st.error()) return *st.error();
    return {};
  }

  Result<std::string> make_hash(std::string_view password) const { return hash_password(password, cost_); }

  std::mutex mu_;
  Db db_;
  HashCost cost_;
};

}  // namespace

Result<void> check_password_text(std::string_view pw) {
  if (pw.size() < kMinPassword || pw.size() > kMaxPassword || pw.find('\0') != std::string_view::npos) {
    return Error(std::errc::invalid_argument, "password: 8 to 256 bytes, no NUL");
  }
  return {};
}

Result<std::string> hash_password(std::string_view password, HashCost cost) {
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) return Error(std::errc::io_error, "RAND_bytes");
  std::size_t len = argon2_encodedlen(cost.passes, cost.memory_kib, cost.lanes, kSaltBytes, kHashBytes, Argon2_id);
  std::string encoded(len, '\0');
  int rc = argon2id_hash_encoded(cost.passes, cost.memory_kib, cost.lanes, password.data(), password.size(), salt,
                                 sizeof salt, kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Error(std::errc::invalid_argument, std::string("argon2id: ") + argon2_error_message(rc));
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool verify_password_hash(const std::string& encoded, std::string_view password) {
  std::string pw(password);
  return argon2id_verify(encoded.c_str(), pw.data(), pw.size()) == ARGON2_OK;
}

namespace {

Result<std::unique_ptr<SqliteAccounts>> open_store(const std::string& path, HashCost cost, bool create) {
  auto db = Db::open(path, create);
  if (!db) return db.error();
  auto store = std::make_unique<SqliteAccounts>(std::move(*db), cost);
  if (auto r = store->migrate(); !r) return r.error();
  return store;
}

}  // namespace

Result<std::unique_ptr<AccountStore>> open_sqlite_accounts(const std::string& path, HashCost cost, bool create) {
  auto store = open_store(path, cost, create);
  if (!store) return store.error();
  return std::unique_ptr<AccountStore>(std::move(*store));
}

Result<std::vector<AccountRecord>> read_sqlite_accounts(const std::string& path) {
  auto store = open_store(path, {}, false);
  if (!store) return store.error();
  return (*store)->records();
}

}  // namespace sockit::store
