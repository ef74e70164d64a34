#include "options.hpp"

#include "sockit/net/error.hpp"
#include "sockit/net/parse.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <utility>

namespace sockit::load {

namespace {

constexpr std::array<std::pair<std::string_view, Mode>, 10> kModes{{
    {"pingpong", Mode::pingpong},
    {"flood", Mode::flood},
    {"connect", Mode::connect},
    {"hold", Mode::hold},
    {"udp", Mode::udp},
    {"irc", Mode::irc},
    {"irc-register", Mode::irc_register},
    {"irc-reg", Mode::irc_register},
    {"handshake", Mode::handshake},
    {"irc-mix", Mode::irc_mix},
}};

Error bad(std::string text) { return Error(errc::invalid_argument, std::move(text)); }

// irc-mix presets (docs/LOAD.md lists every value). Without --preset: small's.
struct MixPreset {
  std::string_view name;
  std::uint32_t clients, channels, per_client;
  double zipf, rate, priv, churn, nick, away;
  std::int64_t warmup_s, duration_s;
  std::uint32_t ramp;
};
constexpr std::array<MixPreset, 2> kMixPresets{{
    {"small", 1000, 200, 3, 1.0, 500, 0.1, 5, 1, 2, 2, 10, 200},
    {"large", 10000, 2000, 3, 1.0, 200, 0.1, 20, 5, 10, 2, 10, 200},
}};

Result<void> finalize_mix(Options& o) {
  const MixPreset* p = &kMixPresets[0];
  if (!o.preset.empty()) {
    p = nullptr;
    for (const auto& m : kMixPresets)
      if (m.name == o.preset) p = &m;
    if (!p) return bad(fmt::format("unknown preset '{}' (small, large)", o.preset));
  }
  if (!o.connections) o.connections = p->clients;
  if (!o.mix_channels) o.mix_channels = p->channels;
  if (!o.mix_per_client) o.mix_per_client = p->per_client;
  auto dflt = [](double& v, double d) { if (v < 0) v = d; };
  dflt(o.mix_zipf, p->zipf);
  dflt(o.mix_private, p->priv);
  dflt(o.mix_churn, p->churn);
  dflt(o.mix_nick, p->nick);
  dflt(o.mix_away, p->away);
  if (o.rate == 0) o.rate = p->rate;
  if (o.warmup_text.empty()) o.warmup = std::chrono::seconds(p->warmup_s);
  if (o.duration_text.empty() && o.count == 0) o.duration = std::chrono::seconds(p->duration_s);
  if (!o.mix_ramp) o.mix_ramp = p->ramp;
  if (!o.size) o.size = 64;
  if (!o.window) o.window = 1;
  if (o.connections < 2) return bad("irc-mix needs at least 2 clients");
  if (o.count) return bad("irc-mix is timed: -d, not -n");
  if (o.mix_per_client > o.mix_channels)
    return bad(fmt::format("--per-client {} is more than --channels {}", o.mix_per_client, o.mix_channels));
  if (o.mix_per_client > 20) return bad("--per-client is at most 20 (servers cap channels per client)");
  if (!(o.mix_zipf <= 10) || std::isinf(o.mix_zipf)) return bad("--zipf must be between 0 and 10");
  if (!(o.mix_private <= 1)) return bad("--private is a share: 0 to 1");
  for (const double r : {o.mix_churn, o.mix_nick, o.mix_away})
    if (!(r < 1e7)) return bad("--churn, --nick-rate and --away-rate must be finite rates (per second)");
  if (o.threads != 1) return bad("irc-mix runs on one thread (--threads 1): the generator tracks every membership");
  if (o.size > 400) return bad("irc message size is at most 400 bytes");
  return {};
}

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

// A number >= 0, with a plain message (CLI11's own range check prints DBL_MAX).
const CLI::Validator kNonNegative(
    [](std::string& v) -> std::string {
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(d >= 0) || std::isinf(d)) return "must be a number, 0 or more (got '" + v + "')";
      return {};
    },
    "NUMBER>=0");

void add_cli(CLI::App& app, Options& o) {
  app.add_option("mode", o.mode_text,
                 "pingpong | flood | connect | hold | udp | irc | irc-register | handshake | irc-mix")
      ->required();
  app.add_option("target", o.target_text,
                 "HOST:PORT of the server under test; HOST:PORT,HOST:PORT,... spreads the connections round-robin "
                 "over several (e.g. the nodes of a chat cluster)")
      ->required();
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
  app.add_option("--caps", o.caps, "irc: IRCv3 capabilities every client asks for, e.g. \"message-tags server-time\"");
  app.add_option("--sasl-user", o.sasl_user, "irc: the senders log in with SASL PLAIN as this account");
  app.add_option("--sasl-pass-file", o.sasl_pass_file, "irc: --sasl-user's password: the first line of FILE");
  app.add_flag("!--no-spread", o.spread_sources,
               "do not spread source addresses over 127.0.0.0/8 (hold, connect, irc)");
  app.add_flag("!--no-progress", o.progress, "no per-second progress line on stderr");
  app.add_flag("--tls", o.tls,
               "TLS on every TCP connection; the server's certificate is NOT checked (a load tool), unless --tls-ca");
  app.add_option("--tls-ca", o.tls_ca, "--tls: check the server's certificate against this PEM CA file (and its address)");
  app.add_flag("--resume", o.resume, "--tls: resume the last session (session ticket or id) on each new connection");
  app.add_option("--preset", o.preset, "irc-mix: small (1000 clients, 200 channels) or large (10000, 2000)");
  app.add_option("--channels", o.mix_channels, "irc-mix: channels (default: the preset's)")->check(CLI::Range(1u, 100000u));
  app.add_option("--per-client", o.mix_per_client, "irc-mix: channels each client joins (default 3)")->check(CLI::PositiveNumber);
  app.add_option("--zipf", o.mix_zipf, "irc-mix: Zipf exponent of the channel sizes (default 1.0)")->check(kNonNegative);
  app.add_option("--seed", o.seed, "irc-mix: random seed: the same seed gives the same network (default 1)");
  app.add_option("--private", o.mix_private, "irc-mix: share of messages sent to one nick (default 0.1)")->check(kNonNegative);
  app.add_option("--churn", o.mix_churn, "irc-mix: PART+JOIN pairs per second, whole network")->check(kNonNegative);
  app.add_option("--nick-rate", o.mix_nick, "irc-mix: nick changes per second, whole network")->check(kNonNegative);
  app.add_option("--away-rate", o.mix_away, "irc-mix: AWAY toggles per second, whole network")->check(kNonNegative);
  app.add_option("--ramp", o.mix_ramp, "irc-mix: clients connecting and joining at once (default 200)")->check(CLI::PositiveNumber);
  app.add_flag("--print-plan", o.print_plan, "irc-mix: print the network (channel sizes) and exit without connecting");
  app.add_flag("--websocket", o.websocket,
               "irc, irc-register: speak IRC over WebSocket (RFC 6455, IRCv3; with --tls: wss://)");
  app.add_option("--ws-path", o.ws_path, "--websocket: the upgrade request's path (default /)");
  app.add_option("--ws-subprotocol", o.ws_subprotocol,
                 "--websocket: text (text.ircv3.net, default), binary (binary.ircv3.net) or none");
}

std::string Options::targets_text() const {
  std::string t;
  for (const auto& a : targets) t += (t.empty() ? "" : ",") + a.to_string();
  return t.empty() ? target.to_string() : t;
}

Result<void> finalize(Options& o) {
  auto mode = parse_mode(o.mode_text);
  if (!mode) return bad(fmt::format("unknown mode '{}' (pingpong, flood, connect, hold, udp, irc, irc-register, handshake, irc-mix)", o.mode_text));
  o.mode = *mode;

  o.targets.clear();
  for (std::string_view rest = o.target_text;;) {
    const auto comma = rest.find(',');
    const std::string one(rest.substr(0, comma));
    auto addr = parse_endpoint(one);
    if (!addr) return bad(fmt::format("bad target '{}': {}", one, addr.error().message()));
    if (!addr->is_ip() || addr->port() == 0) return bad(fmt::format("bad target '{}': expected HOST:PORT", one));
    o.targets.push_back(*addr);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  o.target = o.targets.front();

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
  if (o.mode != Mode::irc_mix && (!o.preset.empty() || o.print_plan))
    return bad("--preset and --print-plan are irc-mix options");

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
    case Mode::irc_mix:
      if (auto r = finalize_mix(o); !r) return r;
      break;
  }
  if (o.mode == Mode::udp && o.tls) return bad("udp has no TLS (DTLS is not supported)");
  if (!o.tls && !o.tls_ca.empty()) return bad("--tls-ca needs --tls");
  if (!o.tls && o.resume) return bad("--resume needs --tls (or the handshake mode)");
  if (o.websocket && o.mode != Mode::irc && o.mode != Mode::irc_register)
    return bad("--websocket is for the irc and irc-register modes");
  if (o.ws_subprotocol == "text") {
    o.ws_protocol = "text.ircv3.net";
  } else if (o.ws_subprotocol == "binary") {
    o.ws_protocol = "binary.ircv3.net";
  } else if (o.ws_subprotocol == "none") {
    o.ws_protocol.clear();
  } else {
    return bad(fmt::format("--ws-subprotocol '{}': text, binary or none", o.ws_subprotocol));
  }
  if (o.ws_path.empty() || o.ws_path[0] != '/' || o.ws_path.find_first_of(" \r\n") != std::string::npos)
    return bad(fmt::format("--ws-path '{}': a path starting with /", o.ws_path));
  if (!o.caps.empty() && o.mode != Mode::irc) return bad("--caps is for the irc mode");
  if (o.caps.find_first_of(":\r\n\a,") != std::string::npos) return bad(fmt::format("--caps '{}': names separated by spaces", o.caps));
  if (o.sasl_user.empty() != o.sasl_pass_file.empty()) return bad("--sasl-user and --sasl-pass-file go together");
  if (!o.sasl_user.empty()) {
    if (o.mode != Mode::irc) return bad("--sasl-user is for the irc mode");
    if (o.sasl_user.find_first_of(std::string_view("\0\r\n ", 4)) != std::string::npos)
      return bad(fmt::format("--sasl-user '{}': an account name", o.sasl_user));
    std::ifstream f(o.sasl_pass_file);
    if (!f || !std::getline(f, o.sasl_pass) || o.sasl_pass.empty())
      return bad(fmt::format("--sasl-pass-file '{}': cannot read a password from its first line", o.sasl_pass_file));
    if (!o.sasl_pass.empty() && o.sasl_pass.back() == '\r') o.sasl_pass.pop_back();
  }
  if (o.timeout.count() == 0) o.timeout = std::chrono::seconds(5);
  if (o.duration.count() == 0 && o.count == 0) o.duration = std::chrono::seconds(10);
  if (o.mode == Mode::hold && o.duration.count() == 0) o.duration = std::chrono::seconds(10);
  if (o.threads > o.connections) o.threads = o.connections;
  if (o.connections > 1'000'000) return bad("too many connections");
  return {};
}

}  // namespace sockit::load
