// Public header. Resolver: getaddrinfo() behind Result<>, with EAI_* errors in gai_category().
#pragma once

#include "sockit/net/address.hpp"
#include "sockit/net/result.hpp"

#include <string_view>
#include <vector>

namespace sockit {

enum class SocketType { stream = SOCK_STREAM, datagram = SOCK_DGRAM };

struct ResolveOptions {
  Family family = Family::unspec;       ///< restrict to v4 or v6 (-4 / -6)
  SocketType type = SocketType::stream;
  bool passive = false;                 ///< addresses to bind (empty host -> wildcard)
  bool numeric_host = false;            ///< AI_NUMERICHOST: never touch DNS
};

class Resolver {
 public:
  /// Resolves `host` and `service` (port number or name) to socket addresses, in getaddrinfo order
  /// (RFC 6724). Duplicates are removed. An empty host resolves to loopback (or the wildcard when
  /// passive). Errors read like "resolve nosuch.invalid:80: Name or service not known".
  static Result<std::vector<Address>> resolve(std::string_view host, std::string_view service,
                                              const ResolveOptions& opts = {});
  /// Splits "host:port" / "[v6]:port" and resolves it.
  static Result<std::vector<Address>> resolve(std::string_view host_port, const ResolveOptions& opts = {});
  /// Reverse lookup (getnameinfo); falls back to the numeric form when there is no name.
  static std::string reverse(const Address& addr);
};

/// Splits "host:port", "[v6]:port" or "v6" style text into host and port parts (no lookup).
/// Returns errc::invalid_address when the port is missing.
Result<std::pair<std::string, std::string>> split_host_port(std::string_view text);

}  // namespace sockit
