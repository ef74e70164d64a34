// Public header. Error categories of sockit: system errors stay in std::system_category(),
// getaddrinfo's EAI_* codes live in gai_category(), sockit's own conditions in sockit::category().
#pragma once

#include <string>
#include <system_error>

namespace sockit {

/// sockit's own error conditions (never overlapping errno or EAI_*).
enum class errc {
  ok = 0,
  fd_over_setsize = 1,    ///< select() cannot watch a descriptor >= FD_SETSIZE
  unexpected_eof,         ///< the peer closed before read_exact() got all its bytes
  message_truncated,      ///< a datagram was larger than the buffer given to recv_from()
  invalid_address,        ///< text that is not an address ("host:port", "[v6]:port", "unix:/path")
  invalid_port,           ///< port outside 0..65535 or unknown service name
  no_addresses,           ///< the resolver returned an empty list
  line_too_long,          ///< a protocol line exceeded its limit
  queue_full,             ///< a bounded queue refused more work
  not_supported,          ///< operation not available for this socket kind or platform
  invalid_argument,       ///< a parameter out of range (durations, sizes, counts)
};

const std::error_category& category() noexcept;
/// The category of getaddrinfo() results (EAI_NONAME, EAI_AGAIN, ...). EAI_SYSTEM is reported as
/// the errno it carries, in std::system_category().
const std::error_category& gai_category() noexcept;

std::error_code make_error_code(errc e) noexcept;
/// errno value -> std::error_code in the system category.
inline std::error_code sys_error(int err) noexcept { return {err, std::system_category()}; }
/// EAI_* value -> std::error_code in gai_category() (EAI_SYSTEM maps to the current errno).
std::error_code gai_error(int eai, int saved_errno = 0) noexcept;

}  // namespace sockit

template <>
struct std::is_error_code_enum<sockit::errc> : std::true_type {};
