#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace sockit::load {

namespace {

double us(std::int64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string human_us(double v) {
  if (v >= 1e6) return fmt::format("{:.2f}s", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.2f}ms", v / 1e3);
  return fmt::format("{:.1f}us", v);
}

nlohmann::json latency_json(const Histogram& h) {
  return {{"count", h.count()},       {"min", us(h.min())},          {"mean", h.mean() / 1000.0},
          {"p50", us(h.percentile(50))}, {"p90", us(h.percentile(90))}, {"p99", us(h.percentile(99))},
          {"p99_9", us(h.percentile(99.9))}, {"p99_99", us(h.percentile(99.99))}, {"max", us(h.max())}};
}

std::string latency_line(const char* label, const Histogram& h) {
  return fmt::format("  {:<12} p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (mean {}, {} samples)\n", label,
                     human_us(us(h.percentile(50))), human_us(us(h.percentile(90))), human_us(us(h.percentile(99))),
                     human_us(us(h.percentile(99.9))), human_us(us(h.max())), human_us(h.mean() / 1000.0), h.count());
}

double server_cpu(const RunResult& r) {
  return (r.server_begin && r.server_end) ? r.server_end->cpu_s - r.server_begin->cpu_s : 0.0;
}

std::string flood_hint(const Options& o, const RunResult& r, std::int64_t step) {
  const double per_sender = static_cast<double>(r.stats.sent) / r.measured_s / static_cast<double>(o.senders);
  return fmt::format(
      "deliveries come in steps of {} and each sender got {:.1f} lines/s through: the server's flood limiter is "
      "pacing the senders, so this measures the limiter, not the server. Start the chat server with "
      "--no-flood-control (sockit chat-server) or raise its flood rate.",
      human_us(us(step)), per_sender);
}

std::string shortfall_hint(const Options& o, double achieved) {
  return fmt::format(
      "the senders got {:.1f} PRIVMSGs/s out of the {:g}/s offered: the server is holding their lines back, "
      "either its flood limiter (start sockit chat-server with --no-flood-control or raise its flood rate; "
      "senders it reset were killed for flooding) or it cannot keep up, so this does not measure the offered load.",
      achieved, o.rate);
}

}  // namespace

std::optional<double> open_loop_shortfall(const Options& o, const RunResult& r) noexcept {
  if (o.mode != Mode::irc || !o.open_loop() || r.measured_s <= 0) return std::nullopt;
  const double achieved = static_cast<double>(r.stats.sent) / r.measured_s;
  if (achieved >= 0.5 * o.rate) return std::nullopt;
  return achieved;
}

std::optional<std::int64_t> flood_limiter_step(const Options& o, const Stats& s) noexcept {
  constexpr std::int64_t kSlow = 50'000'000;  // 50 ms: far above a loopback delivery
  const Histogram& h = s.latency;
  if (o.mode != Mode::irc || h.count() < 10) return std::nullopt;
  const std::uint64_t slow = h.count_between(kSlow, h.max());
  if (slow * 4 < h.count()) return std::nullopt;
  // Share of the slow deliveries at offset + whole multiples of `step`.
  auto on_steps = [&](std::int64_t step, std::int64_t offset) {
    std::uint64_t n = 0;
    const std::int64_t tol = step / 20;  // 5 % of a step: an even spread has a tenth of its mass there
    for (std::int64_t k = 0, at = offset; at <= h.max() + tol && k <= 1000; ++k, at += step)
      if (at >= kSlow - tol) n += h.count_between(at - tol, at + tol);
    return static_cast<double>(n) / static_cast<double>(slow);
  };
  const auto n = static_cast<double>(h.count());
  auto at_rank = [&](double k) { return h.percentile(100.0 * (k - 0.5) / n); };  // the k-th smallest delivery
  const std::int64_t first = at_rank(n - static_cast<double>(slow) + 1);
  // The step is the smallest slow delivery (a window of several lines waits 1, 2, 3... intervals),
  // or their median (the first held line of a burst waits less than a whole interval, the ones
  // after it exactly one), or the gap from the smallest to the next cluster, with the smallest as
  // the offset (a window of several lines whose first held one waited less than an interval).
  for (const std::int64_t step : {first, at_rank(n - static_cast<double>(slow) / 2)}) {
    if (step >= kSlow && on_steps(step, step) >= 0.6) return step;
  }
  const std::uint64_t near_first = h.count_between(kSlow, first + first / 10);
  if (near_first < slow) {
    const std::int64_t step = at_rank(n - static_cast<double>(slow - near_first) + 1) - first;
    if (step >= kSlow && on_steps(step, first % step) >= 0.6) return step;
  }
  return std::nullopt;
}

std::string_view unit_name(Mode m) noexcept {
  switch (m) {
    case Mode::pingpong: return "message";
    case Mode::flood: return "chunk";
    case Mode::connect: return "connection";
    case Mode::hold: return "connection";
    case Mode::udp: return "datagram";
    case Mode::irc: return "delivery";
    case Mode::irc_register: return "registration";
    case Mode::handshake: return "handshake";
    case Mode::irc_mix: return "delivery";
  }
  return "unit";
}

namespace {

// The irc mode's fields: fan-out, and the flood-limiter or shortfall hint.
void irc_json(const Options& o, const RunResult& r, nlohmann::json& j) {
  const auto& s = r.stats;
  j["clients"] = o.connections;
  j["senders"] = o.senders;
  j["sent"] = s.sent;
  j["deliveries"] = s.units;
  j["deliveries_per_s"] = static_cast<double>(s.units) / r.measured_s;
  j["fanout"] = s.sent ? static_cast<double>(s.units) / static_cast<double>(s.sent) : 0.0;
  j["sent_all"] = s.sent_all;
  j["delivered_all"] = s.delivered_all;
  const auto step = flood_limiter_step(o, s);
  j["flood_limited"] = step.has_value();
  if (step) {
    j["flood_step_ms"] = static_cast<double>(*step) / 1e6;
    j["hint"] = flood_hint(o, r, *step);
  } else if (const auto achieved = open_loop_shortfall(o, r)) {
    j["hint"] = shortfall_hint(o, *achieved);
  }
}

std::uint64_t mix_lost(const Stats& s) noexcept { return s.mix.expected > s.units ? s.mix.expected - s.units : 0; }

// RSS per client: from before the first connection to the start of the measured interval.
std::optional<std::pair<double, double>> mix_rss_per_client(const RunResult& r) {
  if (!r.hold_before || !r.server_begin || r.stats.mix.clients_joined == 0) return std::nullopt;
  const auto n = static_cast<double>(r.stats.mix.clients_joined);
  return std::pair{(static_cast<double>(r.server_begin->rss_kib) - static_cast<double>(r.hold_before->rss_kib)) * 1024.0 / n,
                   (static_cast<double>(r.server_begin->rss_anon_kib) - static_cast<double>(r.hold_before->rss_anon_kib)) *
                       1024.0 / n};
}

constexpr const char* kMixLifetimeNote =
    "expected counts the deliveries to members present for the message's whole lifetime "
    "(their JOIN complete before it was sent, no PART or nick change before it arrived)";

// The irc-mix mode's fields.
void mix_json(const Options& o, const RunResult& r, nlohmann::json& j) {
  const auto& s = r.stats;
  j["clients"] = o.connections;
  j["clients_joined"] = s.mix.clients_joined;
  j["channels"] = o.mix_channels;
  j["per_client"] = o.mix_per_client;
  j["zipf"] = o.mix_zipf;
  j["seed"] = o.seed;
  j["preset"] = o.preset.empty() ? "small" : o.preset;
  j["private_share"] = o.mix_private;
  j["churn_per_s"] = o.mix_churn;
  j["nick_per_s"] = o.mix_nick;
  j["away_per_s"] = o.mix_away;
  j["sent"] = s.sent;
  j["sent_channel"] = s.mix.channel_msgs;
  j["sent_private"] = s.mix.private_msgs;
  j["deliveries_expected"] = s.mix.expected;
  j["deliveries"] = s.units;
  j["lost"] = mix_lost(s);
  j["excluded"] = s.mix.excluded;
  j["unexpected"] = s.mix.unexpected;
  j["deliveries_per_s"] = static_cast<double>(s.units) / r.measured_s;
  j["fanout"] = s.sent ? static_cast<double>(s.units) / static_cast<double>(s.sent) : 0.0;
  j["joins"] = s.mix.joins;
  j["parts"] = s.mix.parts;
  j["nicks"] = s.mix.nicks;
  j["aways"] = s.mix.aways;
  j["expected_rule"] = kMixLifetimeNote;
}

// --server-pid: the server's CPU and memory.
nlohmann::json server_json(const Options& o, const RunResult& r) {
  const auto& s = r.stats;
  nlohmann::json sv;
  sv["pid"] = o.server_pid;
  const double cpu = server_cpu(r);
  sv["cpu_s"] = cpu;
  sv["cpu_us_per_unit"] = s.units ? cpu * 1e6 / static_cast<double>(s.units) : 0.0;
  sv["cpu_util"] = cpu / r.measured_s;
  if (r.server_end) {
    sv["rss_kib"] = r.server_end->rss_kib;
    sv["rss_anon_kib"] = r.server_end->rss_anon_kib;
  }
  if (o.mode == Mode::irc_mix) {
    if (const auto per = mix_rss_per_client(r)) {
      sv["rss_before_kib"] = r.hold_before->rss_kib;
      sv["rss_steady_kib"] = r.server_begin->rss_kib;
      sv["rss_per_client_bytes"] = per->first;
      sv["rss_anon_per_client_bytes"] = per->second;
    }
  }
  if (o.mode == Mode::hold && r.hold_before && r.hold_up) {
    sv["rss_before_kib"] = r.hold_before->rss_kib;
    sv["rss_anon_before_kib"] = r.hold_before->rss_anon_kib;
    sv["rss_held_kib"] = r.hold_up->rss_kib;
    sv["rss_anon_held_kib"] = r.hold_up->rss_anon_kib;
    const auto held = static_cast<double>(std::max<std::uint64_t>(s.held, 1));
    sv["rss_per_conn_bytes"] =
        (static_cast<double>(r.hold_up->rss_kib) - static_cast<double>(r.hold_before->rss_kib)) * 1024.0 / held;
    sv["rss_anon_per_conn_bytes"] =
        (static_cast<double>(r.hold_up->rss_anon_kib) - static_cast<double>(r.hold_before->rss_anon_kib)) * 1024.0 / held;
  }
  return sv;
}

}  // namespace

nlohmann::json to_json(const Options& o, const RunResult& r) {
  const auto& s = r.stats;
  nlohmann::json j;
  j["schema"] = 1;
  j["mode"] = std::string(to_string(o.mode));
  j["target"] = o.targets_text();
  j["connections"] = o.connections;
  j["threads"] = o.threads;
  j["size_bytes"] = o.size;
  j["loop"] = o.open_loop() ? "open" : "closed";
  if (o.open_loop()) j["rate_target_per_s"] = o.rate;
  j["warmup_s"] = static_cast<double>(o.warmup.count()) / 1e9;
  j["duration_s"] = r.measured_s;
  j["unit"] = std::string(unit_name(o.mode));
  j["units"] = s.units;
  j["rate_per_s"] = static_cast<double>(s.units) / r.measured_s;
  j["bytes_out"] = s.bytes_out;
  j["bytes_in"] = s.bytes_in;
  j["mib_per_s"] = static_cast<double>(s.bytes_in) / r.measured_s / (1024.0 * 1024.0);
  j["latency_us"] = latency_json(s.latency);
  if (o.open_loop()) j["latency_raw_us"] = latency_json(s.latency_raw);
  nlohmann::json e = nlohmann::json::object();
  for (std::size_t i = 0; i < kErrorKinds; ++i) e[std::string(to_string(static_cast<ErrorKind>(i)))] = s.errors[i];
  j["errors"] = e;
  j["errors_total"] = s.error_total();
  j["client_cpu_s"] = r.client_cpu_s;
  if (o.mode == Mode::udp) {
    j["sent"] = s.sent;
    j["received"] = s.units;
    j["lost"] = s.errors[static_cast<std::size_t>(ErrorKind::timeout)];
    j["late"] = s.late;
    j["loss_ratio"] = s.sent ? 1.0 - static_cast<double>(s.units) / static_cast<double>(s.sent) : 0.0;
  }
  if (o.mode == Mode::irc) irc_json(o, r, j);
  if (o.mode == Mode::irc_mix) mix_json(o, r, j);
  if (o.mode == Mode::hold) {
    j["held"] = s.held;
    j["failed"] = s.failed;
    j["dropped"] = s.dropped;
    j["alive"] = s.alive;
  }
  j["tls"] = o.tls;
  if (o.websocket) {
    j["websocket"] = true;
    j["ws_subprotocol"] = o.ws_protocol;
  }
  if (o.mode == Mode::handshake) {
    j["resume"] = o.resume;
    j["resumed"] = s.resumed;
  }
  if (o.server_pid) j["server"] = server_json(o, r);
  if (!r.note.empty()) j["note"] = r.note;
  return j;
}

std::string to_text(const Options& o, const RunResult& r) {
  const auto& s = r.stats;
  std::string t = fmt::format("sockit load {} {}{}: {} {}, {} B, {} thread{}, {} loop, measured {:.2f}s\n",
                              to_string(o.mode), o.targets_text(),
                              o.websocket ? (o.tls ? " (WebSocket, TLS)" : " (WebSocket)") : o.tls ? " (TLS)" : "",
                              o.connections,
                              o.mode == Mode::udp ? "sockets" : (o.mode == Mode::irc || o.mode == Mode::irc_mix) ? "clients" : "connections",
                              o.size, o.threads, o.threads == 1 ? "" : "s",
                              o.open_loop() ? fmt::format("open ({:.0f}/s)", o.rate) : std::string("closed"),
                              r.measured_s);
  const double rate = static_cast<double>(s.units) / r.measured_s;
  const std::string unit(unit_name(o.mode));
  const std::string units = unit == "delivery" ? "deliveries" : unit + "s";
  t += fmt::format("  {:<12} {} ({:.1f}/s", units, s.units, rate);
  if (s.bytes_in) t += fmt::format(", {:.2f} MiB/s in", static_cast<double>(s.bytes_in) / r.measured_s / 1048576.0);
  t += ")\n";
  if (o.mode == Mode::udp)
    t += fmt::format("  {:<12} sent {}, received {}, lost {}, late {}\n", "datagrams", s.sent, s.units,
                     s.errors[static_cast<std::size_t>(ErrorKind::timeout)], s.late);
  if (o.mode == Mode::irc)
    t += fmt::format("  {:<12} {} senders sent {} PRIVMSGs, fan-out {:.1f}\n", "irc", o.senders, s.sent,
                     s.sent ? static_cast<double>(s.units) / static_cast<double>(s.sent) : 0.0);
  if (o.mode == Mode::irc_mix) {
    t += fmt::format("  {:<12} {} clients ({} joined), {} channels, {} per client, zipf {:g}, seed {}\n", "network",
                     o.connections, s.mix.clients_joined, o.mix_channels, o.mix_per_client, o.mix_zipf, o.seed);
    t += fmt::format("  {:<12} {} PRIVMSGs ({} to channels, {} private); joins {}, parts {}, nick changes {}, away {}\n",
                     "sent", s.sent, s.mix.channel_msgs, s.mix.private_msgs, s.mix.joins, s.mix.parts, s.mix.nicks,
                     s.mix.aways);
    t += fmt::format("  {:<12} expected {}, received {}, lost {}; excluded {}, unexpected {}\n", "deliveries",
                     s.mix.expected, s.units, mix_lost(s), s.mix.excluded, s.mix.unexpected);
    t += fmt::format("  {:<12} {}\n", "rule", kMixLifetimeNote);
  }
  if (o.mode == Mode::hold)
    t += fmt::format("  {:<12} held {}, failed {}, dropped {}, alive at the end {}\n", "connections", s.held, s.failed,
                     s.dropped, s.alive);
  if (o.mode == Mode::handshake)
    t += fmt::format("  {:<12} resumed {} of {} ({:.1f}%){}\n", "tls", s.resumed, s.units,
                     s.units ? 100.0 * static_cast<double>(s.resumed) / static_cast<double>(s.units) : 0.0,
                     o.resume ? "" : ", --resume not given: every handshake is a full one");
  if (s.latency.count()) t += latency_line(o.open_loop() ? "latency" : "latency", s.latency);
  if (o.open_loop() && s.latency_raw.count()) t += latency_line("uncorrected", s.latency_raw);
  t += "  errors      ";
  for (std::size_t i = 0; i < kErrorKinds; ++i)
    t += fmt::format(" {} {}", to_string(static_cast<ErrorKind>(i)), s.errors[i]);
  t += "\n";
  if (o.server_pid && r.server_end) {
    const double cpu = server_cpu(r);
    t += fmt::format("  server       pid {}: cpu {:.3f}s ({:.0f}%), {:.2f} us per {}, rss {} KiB (anon {} KiB)\n",
                     o.server_pid, cpu, 100.0 * cpu / r.measured_s,
                     s.units ? cpu * 1e6 / static_cast<double>(s.units) : 0.0, unit_name(o.mode), r.server_end->rss_kib,
                     r.server_end->rss_anon_kib);
    if (o.mode == Mode::irc_mix)
      if (const auto per = mix_rss_per_client(r))
        t += fmt::format("  memory       rss {} -> {} KiB: {:.0f} B per client (anon {:.0f} B)\n", r.hold_before->rss_kib,
                         r.server_begin->rss_kib, per->first, per->second);
    if (o.mode == Mode::hold && r.hold_before && r.hold_up && s.held) {
      const double held = static_cast<double>(s.held);
      t += fmt::format("  memory       rss {} -> {} KiB, anon {} -> {} KiB: {:.0f} B per connection (anon {:.0f} B)\n",
                       r.hold_before->rss_kib, r.hold_up->rss_kib, r.hold_before->rss_anon_kib, r.hold_up->rss_anon_kib,
                       (static_cast<double>(r.hold_up->rss_kib) - static_cast<double>(r.hold_before->rss_kib)) * 1024.0 / held,
                       (static_cast<double>(r.hold_up->rss_anon_kib) - static_cast<double>(r.hold_before->rss_anon_kib)) *
                           1024.0 / held);
    }
  }
  t += fmt::format("  client       cpu {:.3f}s\n", r.client_cpu_s);
  if (!r.note.empty()) t += fmt::format("  note         {}\n", r.note);
  if (const auto step = flood_limiter_step(o, s)) {
    t += fmt::format("  hint         {}\n", flood_hint(o, r, *step));
  } else if (const auto achieved = open_loop_shortfall(o, r)) {
    t += fmt::format("  hint         {}\n", shortfall_hint(o, *achieved));
  }
  return t;
}

int exit_status(const Options& o, const RunResult& r) noexcept {
  if (r.stats.error_total() > 0) return 1;
  if (o.mode == Mode::hold) return r.stats.held > 0 ? 0 : 1;
  if (o.mode == Mode::irc_mix && mix_lost(r.stats) > 0) return 1;
  return r.stats.units > 0 ? 0 : 1;
}

}  // namespace sockit::load
