// Test helpers: hand-built frames for the packet decoder tests.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace sockit::dump::test {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
inline Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
inline Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

inline Bytes tcp(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
                 std::uint16_t win = 512, Bytes opts = {}, const Bytes& data = {}) {
  while (opts.size() % 4) opts.push_back(1);
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, seq);
  put32(b, ack);
  b.push_back(static_cast<std::uint8_t>(((20 + opts.size()) / 4) << 4));
  b.push_back(flags);
  put16(b, win);
  put16(b, 0);
  put16(b, 0);
  return cat(cat(b, opts), data);
}

inline Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& data) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint16_t>(8 + data.size()));
  put16(b, 0);
  return cat(b, data);
}

inline Bytes ipv4(std::initializer_list<std::uint8_t> src, std::initializer_list<std::uint8_t> dst, std::uint8_t proto,
                  const Bytes& payload, int total = -1) {
  Bytes b = {0x45, 0};
  put16(b, static_cast<std::uint16_t>(total >= 0 ? total : 20 + static_cast<int>(payload.size())));
  put16(b, 1);
  put16(b, 0x4000);
  b.push_back(64);
  b.push_back(proto);
  put16(b, 0);
  b.insert(b.end(), src);
  b.insert(b.end(), dst);
  return cat(b, payload);
}

inline Bytes ipv6(const Bytes& src16, const Bytes& dst16, std::uint8_t nh, const Bytes& payload) {
  Bytes b;
  put32(b, 0x60000000);
  put16(b, static_cast<std::uint16_t>(payload.size()));
  b.push_back(nh);
  b.push_back(64);
  b = cat(cat(b, src16), dst16);
  return cat(b, payload);
}

inline Bytes loopback6() {
  Bytes a(16, 0);
  a[15] = 1;
  return a;
}

inline Bytes ether(const Bytes& payload, std::uint16_t type = 0x0800) {
  Bytes b = {0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1};
  put16(b, type);
  return cat(b, payload);
}

}  // namespace sockit::dump::test
