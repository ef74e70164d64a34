#include "tools/proxy/settings.hpp"

#include "sockit/net/parse.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace sockit::proxy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

Error bad(std::string msg) { return Error(errc::invalid_argument, std::move(msg)); }

Result<Nanos> duration(std::string_view name, std::string_view v) {
  if (lower(v) == "off") return Nanos(0);
  auto d = parse_duration(v);
  if (!d) return bad(fmt::format("invalid duration for {}: '{}' (use e.g. 50ms, 1s)", name, v));
  return *d;
}

Result<std::uint64_t> count(std::string_view name, std::string_view v) {
  if (lower(v) == "off") return std::uint64_t{0};
  auto n = parse_size(v);
  if (!n) return bad(fmt::format("invalid size for {}: '{}' (use e.g. 16, 4k, 1MiB)", name, v));
  return *n;
}

std::string size_text(std::uint64_t n) {
  if (n && n % (1024 * 1024) == 0) return fmt::format("{}MiB", n / (1024 * 1024));
  if (n && n % 1024 == 0) return fmt::format("{}KiB", n / 1024);
  return std::to_string(n);
}

}  // namespace

Result<double> parse_percent(std::string_view text) {
  std::string_view t = trim(text);
  bool pct = !t.empty() && t.back() == '%';
  if (pct) t.remove_suffix(1);
  std::string s(t);
  if (s.empty()) return bad(fmt::format("invalid percentage: '{}' (use e.g. 10%)", text));
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v))
    return bad(fmt::format("invalid percentage: '{}' (use e.g. 10%)", text));
  if (pct) v /= 100.0;
  if (v < 0 || v > 1) return bad(fmt::format("percentage out of range: '{}' (0% to 100%)", text));
  return v;
}

Result<std::uint64_t> parse_bandwidth(std::string_view text) {
  std::string_view t = trim(text);
  std::string l = lower(t);
  if (l == "off" || l == "0") return std::uint64_t{0};
  if (l.size() > 2 && l.substr(l.size() - 2) == "/s") t.remove_suffix(2);
  auto n = parse_size(t);
  if (!n || *n == 0) return bad(fmt::format("invalid bandwidth: '{}' (use e.g. 1MiB/s, 64k)", text));
  return *n;
}

Result<bool> parse_on_off(std::string_view text) {
  std::string l = lower(trim(text));
  if (l == "on" || l == "1" || l == "true" || l == "yes") return true;
  if (l == "off" || l == "0" || l == "false" || l == "no") return false;
  return bad(fmt::format("expected on or off, not '{}'", text));
}

Result<void> set_value(Impairments& imp, std::string_view name_in, std::string_view value, bool udp) {
  const std::string name = lower(name_in);
  const bool tcp_only = name == "slice" || name == "slice-delay" || name == "reset-after";
  const bool udp_only = name == "loss" || name == "duplicate" || name == "reorder" || name == "reorder-delay";
  if (udp && tcp_only) return bad(fmt::format("{} applies to TCP proxies only", name));
  if (!udp && udp_only) return bad(fmt::format("{} applies to UDP proxies only (--udp)", name));
  if (name == "delay" || name == "jitter" || name == "slice-delay" || name == "reorder-delay") {
    auto d = duration(name, value);
    if (!d) return d.error();
    (name == "delay" ? imp.delay : name == "jitter" ? imp.jitter : name == "slice-delay" ? imp.slice_delay
                                                                                         : imp.reorder_delay) = *d;
    return {};
  }
  if (name == "bandwidth") {
    auto b = parse_bandwidth(value);
    if (!b) return b.error();
    imp.bandwidth = *b;
    return {};
  }
  if (name == "loss" || name == "duplicate" || name == "reorder") {
    auto p = parse_percent(value);
    if (!p) return p.error();
    (name == "loss" ? imp.loss : name == "duplicate" ? imp.duplicate : imp.reorder) = *p;
    return {};
  }
  if (name == "slice" || name == "reset-after") {
    auto n = count(name, value);
    if (!n) return n.error();
    (name == "slice" ? imp.slice : imp.reset_after) = *n;
    return {};
  }
  if (name == "stall" || name == "blackhole") {
    auto b = parse_on_off(value);
    if (!b) return b.error();
    (name == "stall" ? imp.stall : imp.blackhole) = *b;
    return {};
  }
  if (name == "direction") {
    std::string v = lower(trim(value));
    if (v == "both") imp.direction = Direction::both;
    else if (v == "upstream" || v == "up") imp.direction = Direction::upstream;
    else if (v == "downstream" || v == "down") imp.direction = Direction::downstream;
    else return bad(fmt::format("direction must be both, upstream or downstream, not '{}'", value));
    return {};
  }
  return bad(fmt::format("unknown setting '{}'", name_in));
}

std::string format_percent(double p) { return fmt::format("{:g}%", p * 100.0); }

std::string format(const Impairments& imp, bool udp) {
  const char* dir = imp.direction == Direction::both ? "both" : imp.direction == Direction::upstream ? "upstream"
                                                                                                     : "downstream";
  std::string s = fmt::format("delay={} jitter={} bandwidth={}", format_duration(imp.delay), format_duration(imp.jitter),
                              imp.bandwidth ? size_text(imp.bandwidth) + "/s" : std::string("off"));
  if (udp)
    s += fmt::format(" loss={} duplicate={} reorder={} reorder-delay={}", format_percent(imp.loss),
                     format_percent(imp.duplicate), format_percent(imp.reorder), format_duration(imp.reorder_delay));
  else
    s += fmt::format(" slice={} slice-delay={} reset-after={}", imp.slice ? std::to_string(imp.slice) : "off",
                     format_duration(imp.slice_delay), imp.reset_after ? std::to_string(imp.reset_after) : "off");
  s += fmt::format(" stall={} blackhole={} direction={}", imp.stall ? "on" : "off", imp.blackhole ? "on" : "off", dir);
  return s;
}

std::string control_command(Impairments& imp, std::string_view line, bool udp, const std::string& stats_text,
                            bool& quit) {
  auto w = words(line);
  if (w.empty()) return "ERR empty command (try help)";
  const std::string cmd = lower(w[0]);
  auto ok_show = [&] { return "OK " + format(imp, udp); };
  if (cmd == "show" && w.size() == 1) return ok_show();
  if (cmd == "stats" && w.size() == 1) return "OK " + stats_text;
  if (cmd == "help")
    return "OK commands: set NAME VALUE (delay jitter bandwidth loss duplicate reorder reorder-delay slice "
           "slice-delay reset-after direction stall blackhole), stall on|off, blackhole on|off, clear, show, stats, "
           "quit";
  if (cmd == "quit" || cmd == "exit") {
    quit = true;
    return "OK bye";
  }
  if (cmd == "clear" && w.size() == 1) {
    imp = Impairments{};
    return ok_show();
  }
  if ((cmd == "stall" || cmd == "blackhole") && w.size() == 2) {
    if (auto r = set_value(imp, cmd, w[1], udp); !r) return "ERR " + r.error().context();
    return ok_show();
  }
  if (cmd == "set" && w.size() == 3) {
    if (auto r = set_value(imp, w[1], w[2], udp); !r) return "ERR " + r.error().context();
    return ok_show();
  }
  if (cmd == "set") return "ERR usage: set NAME VALUE";
  return fmt::format("ERR unknown command '{}' (try help)", w[0]);
}

}  // namespace sockit::proxy
