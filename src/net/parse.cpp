#include "sockit/net/parse.hpp"


#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace sockit {
namespace {

// Splits "1.5ms" into 1.5 and "ms"; false if there is no leading number.
bool split_number(std::string_view text, double& value, std::string& unit) {
  std::string s(text);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (s.empty()) return false;
  char* end = nullptr;
  value = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(value)) return false;
  if (!std::isdigit(static_cast<unsigned char>(s[0])) && s[0] != '.') return false;  // no sign, no "inf"
  unit.assign(end);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return true;
}

}  // namespace

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  double v = 0;
  std::string unit;
  if (!split_number(text, v, unit)) return Error(errc::invalid_argument, "duration '" + std::string(text) + "'");
  double scale;
  if (unit.empty() || unit == "s") scale = 1e9;
  else if (unit == "ms") scale = 1e6;
  else if (unit == "us") scale = 1e3;
  else if (unit == "ns") scale = 1;
  else if (unit == "m") scale = 60e9;
  else if (unit == "h") scale = 3600e9;
  else return Error(errc::invalid_argument, "duration '" + std::string(text) + "' (use 500ms, 2s, 1m, 1h)");
  double ns = v * scale;
  if (ns > 1e18) return Error(errc::invalid_argument, "duration '" + std::string(text) + "' too large");
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(ns)));
}

Result<std::uint64_t> parse_size(std::string_view text) {
  double v = 0;
  std::string unit;
  if (!split_number(text, v, unit)) return Error(errc::invalid_argument, "size '" + std::string(text) + "'");
  double scale;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") scale = 1024.0;
  else if (unit == "m" || unit == "mb" || unit == "mib") scale = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib") scale = 1024.0 * 1024 * 1024;
  else return Error(errc::invalid_argument, "size '" + std::string(text) + "' (use 4096, 64k, 8MiB, 1g)");
  double bytes = v * scale;
  if (bytes > 1.8e19 || bytes != std::floor(bytes))
    return Error(errc::invalid_argument, "size '" + std::string(text) + "'");
  return static_cast<std::uint64_t>(bytes);
}

Result<std::vector<std::uint16_t>> parse_port_list(std::string_view text) {
  std::vector<std::uint16_t> out;
  if (text.empty()) return Error(errc::invalid_port, "empty port list");
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (comma != std::string_view::npos && text.empty())
      return Error(errc::invalid_port, "port list ends with ','");
    auto dash = item.find('-');
    if (dash == std::string_view::npos) {
      auto p = Address::parse_port(item);
      if (!p) return Error(errc::invalid_port, "port '" + std::string(item) + "'");
      out.push_back(*p);
      continue;
    }
    auto lo = Address::parse_port(item.substr(0, dash));
    auto hi = Address::parse_port(item.substr(dash + 1));
    if (!lo || !hi || *lo > *hi) return Error(errc::invalid_port, "port range '" + std::string(item) + "'");
    for (unsigned p = *lo; p <= *hi; ++p) out.push_back(static_cast<std::uint16_t>(p));
  }
  return out;
}

Result<Address> parse_endpoint(std::string_view text, const EndpointOptions& opts) {
  if (text.starts_with("unix:")) return Address::unix_path(text.substr(5));
  std::string host, port_text(text);
  const bool bare = opts.bare_port && !text.empty() && text.find(':') == std::string_view::npos &&
                    (text.front() == '-' || std::isdigit(static_cast<unsigned char>(text.front())));
  if (!bare) {
    auto parts = split_host_port(text);
    if (!parts) return std::move(parts).error();
    host = std::move(parts->first);
    port_text = std::move(parts->second);
  }
  // The port first, by the one port parser: the resolver must never see (and wrap) 70000.
  auto port = Address::parse_port(port_text);
  if (!port) return std::move(port).error();
  if (bare) return opts.family == Family::v6 ? Address::ipv6_loopback(*port) : Address::ipv4_loopback(*port);
  if (auto a = Address::from_ip(host, *port)) return a;
  ResolveOptions ro;
  ro.family = opts.family;
  ro.type = opts.type;
  ro.passive = opts.passive;
  auto list = Resolver::resolve(host, std::to_string(*port), ro);
  if (!list) return std::move(list).error();
  return list->front();
}

std::string format_duration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  auto ns = d.count();
  if (ns == 0) return "0s";
  if (ns % 3600'000'000'000 == 0) return std::to_string(ns / 3600'000'000'000) + "h";
  if (ns >= 60'000'000'000 && ns % 1'000'000'000 == 0) {
    auto s = ns / 1'000'000'000;
    if (s % 60 == 0) return std::to_string(s / 60) + "m";
    return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  }
  if (ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

}  // namespace sockit
