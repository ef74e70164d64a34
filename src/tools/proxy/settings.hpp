// Internal header of `sockit proxy`: the impairment settings, their textual forms and the control
// protocol (one command per line on a loopback TCP port). Pure: no I/O.
//
// Control protocol (each command gets exactly one reply line, "OK ..." or "ERR reason"):
//   set delay 100ms | set jitter 10ms | set bandwidth 1MiB/s | set loss 30% | set duplicate 5%
//   set reorder 5% | set reorder-delay 20ms | set slice 16 | set slice-delay 1ms
//   set reset-after 1000 | set direction both|upstream|downstream
//   stall on|off | blackhole on|off | clear (all impairments off) | show | stats | help | quit
// A value of 0 (or "off") disables an impairment.
#pragma once

#include "sockit/net/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sockit::proxy {

using Nanos = std::chrono::nanoseconds;

enum class Direction { both, upstream, downstream };

/// Every impairment the proxy applies. Defaults: none.
struct Impairments {
  Nanos delay{0};             ///< added to every chunk / datagram
  Nanos jitter{0};            ///< +- uniform around delay (TCP keeps byte order regardless)
  std::uint64_t bandwidth = 0;  ///< bytes per second per direction and connection; 0 = unlimited
  double loss = 0;            ///< UDP: probability a datagram is dropped
  double duplicate = 0;       ///< UDP: probability a datagram is sent twice
  double reorder = 0;         ///< UDP: probability a datagram is held back by reorder_delay
  Nanos reorder_delay{std::chrono::milliseconds(20)};
  std::uint64_t slice = 0;    ///< TCP: write at most this many bytes per send(); 0 = off
  Nanos slice_delay{0};       ///< TCP: pause between slices
  bool stall = false;         ///< stop forwarding (data is held, bounded, until stall off)
  std::uint64_t reset_after = 0;  ///< TCP: reset both sides once this many bytes went through
  bool blackhole = false;     ///< read and discard everything
  Direction direction = Direction::both;  ///< which way delay/jitter/bandwidth/loss/... apply

  bool applies_upstream() const { return direction != Direction::downstream; }
  bool applies_downstream() const { return direction != Direction::upstream; }
};

/// "10%", "0.1%", "0.25" (a fraction) -> probability in [0,1].
Result<double> parse_percent(std::string_view text);
/// "1MiB/s", "512k", "64KiB/s", "0", "off" -> bytes per second (0 = unlimited).
Result<std::uint64_t> parse_bandwidth(std::string_view text);
/// "on"/"off"/"1"/"0"/"true"/"false".
Result<bool> parse_on_off(std::string_view text);

/// Applies "set NAME VALUE" (NAME as the command-line flag without dashes). For a UDP proxy,
/// TCP-only settings (slice, slice-delay, reset-after) are refused, and the reverse.
Result<void> set_value(Impairments& imp, std::string_view name, std::string_view value, bool udp);

/// "delay=50ms jitter=0s bandwidth=off loss=0% ..." (the reply to `show`).
std::string format(const Impairments& imp, bool udp);
std::string format_percent(double p);

/// Runs one control line against `imp`. Returns the reply line (without newline); sets `quit`
/// when the client asked to close. `stats` is answered by the caller (it owns the counters), so
/// it is passed in as text.
std::string control_command(Impairments& imp, std::string_view line, bool udp, const std::string& stats_text,
                            bool& quit);

}  // namespace sockit::proxy
