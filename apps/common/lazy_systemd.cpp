// libsystemd, loaded on the first sd_* call (lazy_lib.hpp): only the servers use it. Without the
// library the servers behave as when not started by systemd: no notification, no inherited
// sockets, no journal (log.cpp falls back to stderr on an error).
#include "common/lazy_lib.hpp"

#include <cerrno>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

namespace {
constexpr const char* kSystemd = "libsystemd.so.0";

template <class F>
F* optional(const char* name) {
  return reinterpret_cast<F*>(sockit::lazy::find(kSystemd, name));
}
}  // namespace

extern "C" {

int sd_notify(int unset_environment, const char* state) {
  static auto* const real = optional<decltype(::sd_notify)>("sd_notify");
  return real != nullptr ? real(unset_environment, state) : 0;
}

int sd_listen_fds(int unset_environment) {
  static auto* const real = optional<decltype(::sd_listen_fds)>("sd_listen_fds");
  return real != nullptr ? real(unset_environment) : 0;
}

int sd_listen_fds_with_names(int unset_environment, char*** names) {
  static auto* const real = optional<decltype(::sd_listen_fds_with_names)>("sd_listen_fds_with_names");
  if (real != nullptr) return real(unset_environment, names);
  if (names != nullptr) *names = nullptr;
  return 0;
}

int sd_journal_sendv_with_location(const char* file, const char* line, const char* func, const struct iovec* iov, int n) {
  static auto* const real = optional<decltype(::sd_journal_sendv_with_location)>("sd_journal_sendv_with_location");
  return real != nullptr ? real(file, line, func, iov, n) : -ENOSYS;
}

}  // extern "C"
