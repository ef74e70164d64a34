#include "options.hpp"

#include "sockit/net/error.hpp"
#include "sockit/net/parse.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <utility>

namespace sockit::load {

namespace {

constexpr std::array<std::pair<std::string_view, Mode>, 9> kModes{{
    {"pingpong", Mode::pingpong},
    {"flood", Mode::flood},
    {"connect", Mode::connect},
    {"hold", Mode::hold},
    {"udp", Mode::udp},
    {"irc", Mode::irc},
    {"irc-register", Mode::irc_register},
    {"irc-reg", Mode::irc_register},
    {"handshake", Mode::handshake},
}};

Error bad(std::string text) { return Error(errc::invalid_argument, std::move(text)); }

}  // namespace

std::string_view to_string(Mode m) noexcept {
  for (const auto& [name, mode] : kModes)
    if (mode == m) return name;
  return "?";
}

std::optional<Mode> parse_mode(std::string_view name) noexcept {
  for (const auto& [n, mode] : kModes)
    if (n == name) return mode;
  return std::nullopt;
}

void add_cli(CLI::App& app, Options& o) {
  app.add_option("mode", o.mode_text,
                 "pingpong | flood | connect | hold | udp | irc | irc-register | handshake")
      ->required();
  app.add_option("target", o.target_text, "HOST:PORT of the server under test")->required();
  app.add_option("-c,--connections", o.connections,
                 "connections (udp: sockets; irc: clients; connect: concurrent churners)");
  app.add_option("-d,--duration", o.duration_text, "measured time, e.g. 10s (default 10s; hold: time held)");
  app.add_option("-n,--count", o.count, "stop after this many units of work (messages, connections...)");
  app.add_option("--rate", o.rate, "open loop: units per second in total; latency counts from the intended send time");
  app.add_option("--threads", o.threads, "worker threads, one epoll loop each (default 1)")->check(CLI::Range(1, 256));
  app.add_option("--warmup", o.warmup_text, "run this long before measuring (default 0)");
  app.add_option("--size", o.size_text, "message size, e.g. 64 or 16KiB (default 64; flood 16KiB)");
  app.add_option("--window", o.window_text,
                 "in flight per connection: flood bytes (default 64KiB), udp datagrams (1), irc messages per sender (1)");
  app.add_option("--timeout", o.timeout_text, "a reply later than this is an error (default 5s; udp 1s)");
  app.add_option("--server-pid", o.server_pid, "report this process's CPU time and RSS")->check(CLI::PositiveNumber);
  app.add_flag("--json", o.json, "print a JSON summary on stdout instead of text");
  app.add_option("--hist-out", o.hist_out, "write the latency percentile spectrum (us) to FILE for gnuplot");
  app.add_option("--senders", o.senders, "irc: clients that send PRIVMSG (default 10)");
  app.add_option("--channel", o.channel, "irc: channel to join (default #load)");
  app.add_flag("!--no-spread", o.spread_sources,
               "do not spread source addresses over 127.0.0.0/8 (hold, connect, irc)");
  app.add_flag("!--no-progress", o.progress, "no per-second progress line on stderr");
  app.add_flag("--tls", o.tls,
               "TLS on every TCP connection; the server's certificate is NOT checked (a load tool), unless --tls-ca");
  app.add_option("--tls-ca", o.tls_ca, "--tls: check the server's certificate against this PEM CA file (and its address)");
  app.add_flag("--resume", o.resume, "--tls: resume the last session (session ticket or id) on each new connection");
}

Result<void> finalize(Options& o) {
  auto mode = parse_mode(o.mode_text);
  if (!mode) return bad(fmt::format("unknown mode '{}' (pingpong, flood, connect, hold, udp, irc, irc-register, handshake)", o.mode_text));
  o.mode = *mode;

  auto addr = parse_endpoint(o.target_text);
  if (!addr) return bad(fmt::format("bad target '{}': {}", o.target_text, addr.error().message()));
  if (!addr->is_ip() || addr->port() == 0) return bad(fmt::format("bad target '{}': expected HOST:PORT", o.target_text));
  o.target = *addr;

  auto dur = [](const std::string& text, std::chrono::nanoseconds& out, const char* what) -> Result<void> {
    if (text.empty()) return {};
    auto d = parse_duration(text);
    if (!d) return bad(fmt::format("bad {} '{}': expected e.g. 500ms, 10s, 1m", what, text));
    out = *d;
    return {};
  };
  if (auto r = dur(o.duration_text, o.duration, "duration"); !r) return r;
  if (auto r = dur(o.warmup_text, o.warmup, "warmup"); !r) return r;
  if (auto r = dur(o.timeout_text, o.timeout, "timeout"); !r) return r;
  if (!o.duration_text.empty() && o.duration.count() == 0) return bad("duration must be positive");
  if (!o.timeout_text.empty() && o.timeout.count() == 0) return bad("timeout must be positive");

  if (!o.size_text.empty()) {
    auto s = parse_size(o.size_text);
    if (!s || *s == 0 || *s > (std::uint64_t{64} << 20)) return bad(fmt::format("bad size '{}': 1 B to 64 MiB", o.size_text));
    o.size = *s;
  }
  if (!o.window_text.empty()) {
    auto w = parse_size(o.window_text);
    if (!w || *w == 0) return bad(fmt::format("bad window '{}'", o.window_text));
    o.window = *w;
  }
  if (!(o.rate >= 0) || std::isinf(o.rate)) return bad("rate must be a positive number");

  // Per-mode defaults.
  switch (o.mode) {
    case Mode::pingpong: if (!o.connections) o.connections = 10; if (!o.size) o.size = 64; break;
    case Mode::flood:
      if (!o.connections) o.connections = 10;
      if (!o.size) o.size = 16 * 1024;
      if (!o.window) o.window = 64 * 1024;
      if (o.window < o.size) o.window = o.size;
      if (o.rate > 0) return bad("flood is closed loop only (no --rate)");
      break;
    case Mode::connect: if (!o.connections) o.connections = 10; if (!o.size) o.size = 64; break;
    case Mode::hold:
      if (!o.connections) o.connections = 1000;
      if (!o.size) o.size = 1;
      if (o.rate > 0) return bad("hold takes no --rate");
      break;
    case Mode::udp:
      if (!o.connections) o.connections = 1;
      if (!o.size) o.size = 64;
      if (!o.window) o.window = 1;
      if (o.timeout.count() == 0) o.timeout = std::chrono::seconds(1);
      if (o.size < 24) return bad("udp size must be at least 24 bytes (id and timestamp)");
      if (o.size > 65507) return bad("udp size must be at most 65507 bytes");
      break;
    case Mode::irc:
      if (!o.connections) o.connections = 100;
      if (!o.size) o.size = 64;
      if (!o.window) o.window = 1;
      if (o.senders == 0) return bad("irc needs at least one sender");
      if (o.connections < 2) return bad("irc needs at least 2 clients");
      if (o.senders >= o.connections) o.senders = o.connections - 1;
      if (o.size > 400) return bad("irc message size is at most 400 bytes");
      if (o.channel.empty() || (o.channel[0] != '#' && o.channel[0] != '&') ||
          o.channel.find_first_of(" ,\r\n\a") != std::string::npos)
        return bad(fmt::format("bad channel name '{}'", o.channel));
      break;
    case Mode::irc_register: if (!o.connections) o.connections = 10; break;
    case Mode::handshake: if (!o.connections) o.connections = 10; o.tls = true; break;
  }
  if (o.mode == Mode::udp && o.tls) return bad("udp has no TLS (DTLS is not supported)");
  if (!o.tls && !o.tls_ca.empty()) return bad("--tls-ca needs --tls");
  if (!o.tls && o.resume) return bad("--resume needs --tls (or the handshake mode)");
  if (o.timeout.count() == 0) o.timeout = std::chrono::seconds(5);
  if (o.duration.count() == 0 && o.count == 0) o.duration = std::chrono::seconds(10);
  if (o.mode == Mode::hold && o.duration.count() == 0) o.duration = std::chrono::seconds(10);
  if (o.threads > o.connections) o.threads = o.connections;
  if (o.connections > 1'000'000) return bad("too many connections");
  return {};
}

}  // namespace sockit::load
