// Helpers shared by the application printers (app_decoders.hpp): byte readers, tcpdump's
// character escaping and its choice of printer by port.
#include "app_decoders.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace sockit::dump::app {

std::string Bytes::ip4(std::size_t off) const {
  need(off, 4);
  return fmt::format("{}.{}.{}.{}", data_[off], data_[off + 1], data_[off + 2], data_[off + 3]);
}

std::string Bytes::mac(std::size_t off) const {
  need(off, 6);
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", data_[off], data_[off + 1], data_[off + 2],
                     data_[off + 3], data_[off + 4], data_[off + 5]);
}

void print_char(std::string& out, std::uint8_t c) {
  if (c > 0x7f) {
    out += "M-";
    c &= 0x7f;
  }
  if (c < 0x20 || c == 0x7f) {
    out += '^';
    c ^= 0x40;
  }
  out += static_cast<char>(c);
}

namespace {

bool either(std::uint16_t sport, std::uint16_t dport, std::uint16_t p) { return sport == p || dport == p; }

template <std::size_t N>
bool any_of_ports(std::uint16_t sport, std::uint16_t dport, const std::array<std::uint16_t, N>& ports) {
  return std::any_of(ports.begin(), ports.end(), [&](std::uint16_t p) { return either(sport, dport, p); });
}

}  // namespace

bool tcp_ports_http(std::uint16_t sport, std::uint16_t dport) {
  // print-tcp.c tries these first: telnet, smtp, whois, bgp, pptp, redis, ssh, netbios-ssn, smb,
  // beep, openflow (old and IANA), ftp.
  static constexpr std::array<std::uint16_t, 13> kBefore = {23, 25, 43, 179, 1723, 6379, 22, 139, 445, 10288, 6633, 6653, 21};
  if (!either(sport, dport, 80) && !either(sport, dport, 8080)) return false;
  return !any_of_ports(sport, dport, kBefore);
}

const char* udp_ports_app(std::uint16_t sport, std::uint16_t dport) {
  // print-udp.c's order: domain, mdns, timed, tftp, then bootp; rip, aodv, isakmp (4 ports),
  // snmp and snmptrap, then ntp.
  static constexpr std::array<std::uint16_t, 4> kBeforeBootp = {53, 5353, 525, 69};
  static constexpr std::array<std::uint16_t, 10> kBeforeNtp = {520, 654, 500, 4500, 7500, 8500, 161, 162, 67, 68};
  if (any_of_ports(sport, dport, kBeforeBootp)) return nullptr;
  if (either(sport, dport, 67) || either(sport, dport, 68)) return "bootp";
  if (any_of_ports(sport, dport, kBeforeNtp)) return nullptr;
  if (either(sport, dport, 123)) return "ntp";
  return nullptr;
}

}  // namespace sockit::dump::app
