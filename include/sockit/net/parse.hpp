// Public header. Parsing of the units the tools accept on their command lines.
#pragma once

#include "sockit/net/address.hpp"
#include "sockit/net/resolver.hpp"
#include "sockit/net/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sockit {

/// "500ms", "2s", "1.5s", "1m", "1h", "250us"; a bare number means seconds (as ncat).
/// errc::invalid_argument for anything else or a negative value.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);
/// "4096", "64k", "16KiB", "1m", "8MiB", "1g" (k = 1024). errc::invalid_argument otherwise.
Result<std::uint64_t> parse_size(std::string_view text);
/// "20-25,80" -> port list (nc -z). errc::invalid_port on a bad or reversed range.
Result<std::vector<std::uint16_t>> parse_port_list(std::string_view text);
/// How parse_endpoint treats its text.
struct EndpointOptions {
  Family family = Family::unspec;       ///< restrict a name's lookup (and a bare port) to v4 or v6
  SocketType type = SocketType::stream;
  bool passive = false;                 ///< an address to bind
  bool bare_port = false;               ///< "7007" alone means loopback:7007 (never the wildcard)
};
/// The one parser of the address a subcommand listens on or connects to: "127.0.0.1:7007",
/// "[::1]:7007", "unix:/path", "localhost:7007" (resolved, first result) and, with bare_port,
/// "7007". The port is checked before any lookup: "port 70000 out of range 0-65535"
/// (errc::invalid_port); errc::invalid_address or the resolver's error otherwise.
Result<Address> parse_endpoint(std::string_view text, const EndpointOptions& opts = {});
/// Human form of a duration for messages: "2s", "500ms", "1m30s".
std::string format_duration(std::chrono::nanoseconds d);

}  // namespace sockit
