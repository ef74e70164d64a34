// Public header. The classic "simple services" as Sessions (TCP) and DatagramHandlers (UDP), so
// every concurrency model of sockit::serve can serve them:
//
//   echo     RFC 862  sends back every byte received
//   discard  RFC 863  reads and throws away
//   chargen  RFC 864  TCP: an endless stream of 72-character lines of rotating printable ASCII,
//                     paced by the reader (never queues more than the low-water mark);
//                     UDP: one datagram per datagram received, of 418-512 characters but
//                     never longer than the request (a 0-byte request gets an empty reply), so
//                     a forged request cannot be amplified; DatagramOptions::chargen_full
//                     restores the RFC's length whatever the request
//   daytime  RFC 867  one line of the current date and time, then close
//   time     RFC 868  32-bit big-endian seconds since 1900-01-01, then close
//
// The services read no clock of their own: daytime and time take a WallClock, so tests can fix
// the time. Sessions are sans-I/O (session.hpp).
#pragma once

#include "sockit/serve/session.hpp"
#include "sockit/serve/udp_server.hpp"
#include "sockit/net/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace sockit::proto {

enum class Service { echo, discard, chargen, daytime, time };

/// "echo", "discard", "chargen", "daytime", "time".
std::string_view to_string(Service s) noexcept;
/// errc::invalid_argument with the valid names otherwise.
Result<Service> parse_service(std::string_view name);
std::span<const Service> all_services() noexcept;

using WallClock = std::function<std::chrono::system_clock::time_point()>;

/// A SessionFactory for TCP. `clock` defaults to std::chrono::system_clock::now.
serve::SessionFactory make_session_factory(Service s, WallClock clock = {});
struct DatagramOptions {
  /// chargen: reply with 418-512 characters whatever the request's size (RFC 864 as written; a
  /// 17x amplifier for a forged 0-byte request). Off: the reply is at most the request's size.
  bool chargen_full = false;
};
/// A DatagramHandler for UDP.
serve::DatagramHandler make_datagram_handler(Service s, WallClock clock = {}, DatagramOptions opts = {});

/// RFC 867 text: "Wednesday, November 25, 2026 13:05:00-UTC\r\n" (the RFC suggests this form).
std::string daytime_text(std::chrono::system_clock::time_point t);
/// RFC 868 value: seconds since 1900-01-01T00:00:00Z, modulo 2^32.
std::uint32_t rfc868_time(std::chrono::system_clock::time_point t);
/// `n` bytes of the RFC 864 pattern starting at line `line` (lines of 72 characters + CRLF, each
/// shifted one character further along the 95 printable ASCII characters).
std::string chargen_lines(std::size_t first_line, std::size_t lines);

}  // namespace sockit::proto
