// Internal header of sockit::loadgen: what `sockit load` was asked to do, and its command line.
// The CLI11 wiring lives here (not in apps/load) so the unit tests can parse argument vectors.
#pragma once

#include "sockit/net/address.hpp"
#include "sockit/net/result.hpp"


#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Declared, not included: <CLI/CLI.hpp> costs 15-30 s of compile time per translation unit (ASan,
// -O1), and every loadgen source and load test includes this header; only options.cpp and the
// files that build a CLI::App include it.
namespace CLI {
class App;
}  // namespace CLI

namespace sockit::load {

enum class Mode { pingpong, flood, connect, hold, udp, irc, irc_register, handshake, irc_mix };

std::string_view to_string(Mode m) noexcept;
/// "pingpong", "flood", "connect", "hold", "udp", "irc", "irc-register" (also "irc-reg"), "handshake",
/// "irc-mix".
std::optional<Mode> parse_mode(std::string_view name) noexcept;

/// Everything a run needs, after validation (see finalize()).
struct Options {
  Mode mode = Mode::pingpong;
  std::string mode_text;
  std::string target_text;
  Address target;                       // the first of targets
  std::vector<Address> targets;         // "HOST:PORT,HOST:PORT...": connection gid g goes to targets[g % n]

  std::uint32_t connections = 0;        // 0: the mode's default (finalize fills it in)
  std::chrono::nanoseconds duration{0}; // 0 with count == 0: the default of 10 s
  std::uint64_t count = 0;              // -n: stop after this many units of work (0: no limit)
  double rate = 0;                      // --rate: open loop, units per second in total (0: closed)
  std::uint32_t threads = 1;
  std::chrono::nanoseconds warmup{0};
  std::uint64_t size = 0;               // message size (0: the mode's default)
  std::uint64_t window = 0;             // flood bytes / udp datagrams / irc messages in flight
  std::chrono::nanoseconds timeout{0};  // 0: the mode's default
  int server_pid = 0;
  bool json = false;
  std::string hist_out;
  std::uint32_t senders = 10;           // irc: clients that send PRIVMSG
  std::string channel = "#load";
  bool spread_sources = true;           // bind 127.0.0.X:0 when the target is IPv4 loopback
  bool progress = true;                 // the per-second line on a terminal (--no-progress)
  bool tls = false;                     // --tls (handshake mode: always): every TCP connection speaks TLS
  std::string tls_ca;                   // --tls-ca: verify the server against this CA (default: no check)
  bool resume = false;                  // --resume: offer the last session (tickets / session ids)

  // irc-mix (a realistic network, docs/LOAD.md): a value < 0 (or 0 for counts) takes the preset's.
  std::string preset;                   // --preset small | large (none: small's values)
  std::uint32_t mix_channels = 0;       // --channels M
  std::uint32_t mix_per_client = 0;     // --per-client k: channels each client joins
  double mix_zipf = -1;                 // --zipf s: channel i (1-based) is picked with weight 1/i^s
  std::uint64_t seed = 1;               // --seed: same seed, same network (and same event choices)
  double mix_private = -1;              // --private: share of the messages sent to one nick
  double mix_churn = -1;                // --churn: PART+JOIN pairs per second, whole network
  double mix_nick = -1;                 // --nick-rate: nick changes per second
  double mix_away = -1;                 // --away-rate: AWAY toggles per second
  std::uint32_t mix_ramp = 0;           // --ramp: clients connecting or joining at once
  bool print_plan = false;              // --print-plan: print the network and exit (no connection)
  bool websocket = false;               // --websocket (irc, irc-register): IRC over WebSocket (RFC 6455)
  std::string ws_path = "/";            // --ws-path: the upgrade request's target
  std::string ws_subprotocol = "text";  // --ws-subprotocol text | binary | none
  std::string ws_protocol;              // what it names: "text.ircv3.net", "binary.ircv3.net" or "" (finalize)
  std::string caps;                     // --caps "a b": irc: every client asks for these IRCv3 caps (CAP REQ)
  std::string sasl_user;                // --sasl-user: irc: the senders log in (SASL PLAIN) as this account
  std::string sasl_pass_file;           // --sasl-pass-file: the account's password, the file's first line
  std::string sasl_pass;                // read from sasl_pass_file by finalize (never printed)

  std::string duration_text, warmup_text, size_text, window_text, timeout_text;

  /// Where connection `gid` (its index in the whole run) connects: round-robin over the targets.
  const Address& target_of(std::uint32_t gid) const noexcept {
    return targets.empty() ? target : targets[gid % targets.size()];
  }
  /// The targets as given back: "HOST:PORT" or "HOST:PORT,HOST:PORT...".
  std::string targets_text() const;

  /// Time-bounded unless -n was given alone.
  bool timed() const noexcept { return duration.count() > 0; }
  bool open_loop() const noexcept { return rate > 0; }
};

/// Adds the positional arguments and flags of `sockit load` to `app`, writing into `o`.
void add_cli(CLI::App& app, Options& o);
/// Checks and completes the options after parsing: mode, target, units, per-mode defaults.
/// errc::invalid_argument with one human-readable line on a bad value.
Result<void> finalize(Options& o);

}  // namespace sockit::load
