// Public header. Operator / server password hashes: PBKDF2-HMAC-SHA256 from OpenSSL's libcrypto.
// Format: "pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX" (32-byte hash). Comparison is constant-time.
// Cost: one verify is ITERATIONS HMAC-SHA256 rounds (default 100000, about 30 ms).
#pragma once

#include "sockit/net/result.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace sockit::irc {

inline constexpr unsigned kDefaultPbkdf2Iterations = 100000;

/// Hashes `password` with a fresh random 16-byte salt.
Result<std::string> hash_password(std::string_view password, unsigned iterations = kDefaultPbkdf2Iterations);
/// True when `password` matches `encoded`; false for a malformed `encoded`.
bool verify_password(std::string_view password, std::string_view encoded);
/// True when `encoded` has the form hash_password() produces.
bool is_password_hash(std::string_view encoded);

/// verify_password() on a few worker threads with a bounded queue, so a PBKDF2 check (about
/// 30 ms of CPU) never runs on an event loop, and a flood of checks waits in line instead of
/// taking every core. irc::Server::set_password_checker hands it the checks; the verdict goes
/// back to the loop through serve::Peer::waker(). The workers run at the lowest priority
/// (nice 19 per thread), so event loops are never slowed by them; on a saturated machine a check
/// then waits for idle CPU.
class PasswordChecker {
 public:
  explicit PasswordChecker(unsigned threads = 2, std::size_t max_queued = 1024);
  ~PasswordChecker();  ///< stop()
  PasswordChecker(const PasswordChecker&) = delete;
  PasswordChecker& operator=(const PasswordChecker&) = delete;

  /// Queues one check; `done(matches)` later runs on a worker thread. False, and `done` is never
  /// called, when max_queued checks are waiting already or after stop(). Any thread.
  /// `urgent` checks (from addresses without recent failures) go before the others, so a flood of
  /// wrong passwords does not queue a legitimate login behind it. A check whose `owner` has
  /// expired by the time a worker takes it is skipped (`done` not called): its client left.
  bool submit(std::string password, std::string encoded, std::function<void(bool)> done, bool urgent = false,
              std::weak_ptr<const void> owner = {});
  /// The same queue for any slow job (an account store's argon2id check, a registration):
  /// `task` runs on a worker thread; it is skipped when its `owner` has expired.
  bool submit_task(std::function<void()> task, bool urgent = false, std::weak_ptr<const void> owner = {});
  /// Drops the queued checks and joins the workers (a check running finishes first). Idempotent.
  void stop();

 private:
  struct Impl;  // queue, lock and worker threads (src/irc/password.cpp)
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockit::irc
