// Public header. store::AccountStore: the chat server's user accounts (name, password hash,
// creation time, TLS client-certificate fingerprints). An interface, so the sans-I/O IRC core
// (sockit::irc) never touches a file: the application opens the SQLite implementation
// (open_sqlite_accounts, src/store/accounts_sqlite.cpp) and hands the server a pointer.
//
// Thread-safety: every method may be called from any thread (the implementation serializes them).
// check_password and add/set_password are slow on purpose (argon2id): the IRC server calls them
// on PasswordChecker's worker threads, never on an event loop.
#pragma once

#include "sockit/net/result.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::store {

struct Account {
  std::string name;              ///< as registered (names compare ASCII case-insensitively)
  std::int64_t created = 0;      ///< Unix seconds
  std::vector<std::string> certfps;  ///< SHA-256 fingerprints, 64 lower-case hex digits
};

/// argon2id cost (RFC 9106; OWASP's second recommended set): 2 passes over 19 MiB, 1 lane.
/// About 25 ms of one core per hash or check on a 2020s x86 machine. It applies to new hashes
/// only: each PHC string carries its own m, t and p, and a check uses those (a change of cost
/// keeps the old accounts working; they move to the new cost at their next password change).
/// The chat server reads it from [accounts] hash_memory_kib, hash_iterations, hash_parallelism.
struct HashCost {
  std::uint32_t passes = 2;
  std::uint32_t memory_kib = 19 * 1024;
  std::uint32_t lanes = 1;
};

/// Bounds of a configured HashCost. Above: a check runs on one of the password checker's two
/// threads, so 1 GiB, 64 passes and 16 lanes are far past any sane setting. Below: OWASP's
/// weakest argon2id set (m = 7 MiB, t = 5; its others trade memory for passes: 9 MiB t = 4,
/// 12 MiB t = 3, 19 MiB t = 2, 46 MiB t = 1), i.e. m >= 7168 KiB and m * t >= 35840 KiB-passes;
/// argon2's own floor (m >= 8 KiB per lane) only with `weak_ok` (the tests' cheap cost).
inline constexpr std::uint32_t kMaxHashMemoryKib = 1024 * 1024;
inline constexpr std::uint32_t kMaxHashPasses = 64;
inline constexpr std::uint32_t kMaxHashLanes = 16;
inline constexpr std::uint32_t kOwaspMinMemoryKib = 7 * 1024;
inline constexpr std::uint64_t kOwaspMinMemoryPasses = 7 * 1024 * 5;
/// Why `c` is refused ("" when it is fine): out of range, or under OWASP's minimum unless `weak_ok`.
inline std::string hash_cost_problem(const HashCost& c, bool weak_ok) {
  if (c.lanes < 1 || c.lanes > kMaxHashLanes) return "parallelism must be 1 to 16";
  if (c.passes < 1 || c.passes > kMaxHashPasses) return "iterations must be 1 to 64";
  if (c.memory_kib > kMaxHashMemoryKib) return "memory must be at most 1048576 KiB (1 GiB)";
  if (c.memory_kib < 8 * c.lanes) return "memory must be at least 8 KiB per lane";
  if (weak_ok) return "";
  if (c.memory_kib < kOwaspMinMemoryKib || std::uint64_t{c.memory_kib} * c.passes < kOwaspMinMemoryPasses) {
    return "below OWASP's argon2id minimum (memory >= 7168 KiB and memory x iterations >= 35840, e.g. 19456 x 2)";
  }
  return "";
}

/// Account names: 1-32 characters of [A-Za-z0-9_-\[\]\\`^{|}], not starting with a digit or '-'
/// (nick-like, so REGISTER * can use the nick). Inline: the IRC core checks names without linking
/// the store.
inline bool valid_account_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || (name[0] >= '0' && name[0] <= '9') || name[0] == '-') return false;
  for (char ch : name) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              std::string_view("_-[]\\`^{|}").find(ch) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}
/// Passwords: 8-256 bytes, no NUL.
inline constexpr std::size_t kMinPassword = 8;
inline constexpr std::size_t kMaxPassword = 256;

class AccountStore {
 public:
  virtual ~AccountStore() = default;
  /// Creates `name` with an argon2id hash of `password`. errc::exists (std::errc::file_exists)
  /// when the name is taken; invalid_argument for a bad name or password.
  virtual Result<void> add(std::string_view name, std::string_view password) = 0;
  /// Deletes `name` (and its fingerprints); no_such_file_or_directory when there is none.
  virtual Result<void> remove(std::string_view name) = 0;
  virtual Result<void> set_password(std::string_view name, std::string_view password) = 0;
  virtual Result<std::vector<Account>> list() = 0;
  virtual Result<std::optional<Account>> find(std::string_view name) = 0;
  /// The account's name as registered when `password` matches; nullopt for an unknown name or a
  /// wrong password (the same work either way: an unknown name still costs one hash).
  virtual Result<std::optional<std::string>> check_password(std::string_view name, std::string_view password) = 0;
  /// The account owning the fingerprint `certfp` (normalized hex), if any.
  virtual Result<std::optional<std::string>> find_by_certfp(std::string_view certfp) = 0;
  virtual Result<void> add_certfp(std::string_view name, std::string_view certfp) = 0;
  virtual Result<void> remove_certfp(std::string_view name, std::string_view certfp) = 0;
  /// SASL SCRAM-SHA-256 credentials (irc::scram_encode's text, opaque here) of `name`: "" when
  /// the account has none yet (created before schema 2, or not set since), nullopt when there is
  /// no such account. set_password() clears them; the caller sets new ones (set_scram).
  virtual Result<std::optional<std::string>> scram(std::string_view) {
    return Error(std::errc::operation_not_supported, "no SCRAM credentials in this store");
  }
  virtual Result<void> set_scram(std::string_view, std::string_view) {
    return Error(std::errc::operation_not_supported, "no SCRAM credentials in this store");
  }
};

/// The key an account is stored under: its name ASCII-lower-cased (names compare that way).
inline std::string account_key(std::string_view name) {
  std::string k(name);
  for (char& ch : k) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return k;
}
/// A certificate fingerprint as stored: 64 lower-case hex digits (SHA-256).
inline bool valid_certfp(std::string_view fp) {
  if (fp.size() != 64) return false;
  for (char ch : fp) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  }
  return true;
}
/// invalid_argument unless `password` is 8-256 bytes without NUL.
Result<void> check_password_text(std::string_view password);
/// An argon2id PHC string of `password` with a fresh 16-byte salt (slow on purpose: not on a loop).
Result<std::string> hash_password(std::string_view password, HashCost cost);
/// Whether `password` matches the PHC string `encoded` (slow on purpose).
bool verify_password_hash(const std::string& encoded, std::string_view password);

/// Opens (creating when missing, unless `create` is false) the SQLite database at `path`: WAL
/// journal, foreign keys on, schema migrated to the current version. Errors name the file and
/// SQLite's reason (corrupt, read-only, newer schema...).
Result<std::unique_ptr<AccountStore>> open_sqlite_accounts(const std::string& path, HashCost cost = {},
                                                           bool create = true);
/// One account as stored, its secrets included: what a copy into another store needs.
struct AccountRecord {
  Account account;
  std::string hash;   ///< argon2id PHC string
  std::string scram;  ///< SCRAM-SHA-256 verifier ("" when none)
};
/// Every account of the SQLite database at `path` (not created when missing; migrated), by key.
Result<std::vector<AccountRecord>> read_sqlite_accounts(const std::string& path);
/// The schema version this build writes (table schema_version).
inline constexpr int kAccountsSchemaVersion = 2;

}  // namespace sockit::store
