// Internal header of sockit::pcapdecode: the application-layer printers behind `sockit dump`
// (HTTP, NTP, DHCP/BOOTP as tcpdump 4.99 prints them, and sockit's own --tls view).
//
// Each printer appends to the packet's line exactly what tcpdump's print-http.c, print-ntp.c and
// print-bootp.c append (after "length N: " for TCP, after the UDP ports for UDP). Reads are
// bounds-checked against the captured bytes: where tcpdump's GET_* macros would longjmp, the
// printers throw AppTruncated and the packet decoder ends the line with " [|proto]" like tcpdump.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace sockit::dump::app {

/// Thrown when a printer needs a byte past the captured data (tcpdump's nd_trunc_longjmp).
struct AppTruncated {};

/// Bounds-checked big-endian reads over the captured payload.
class Bytes {
 public:
  explicit Bytes(std::span<const std::uint8_t> data) : data_(data) {}
  std::size_t size() const { return data_.size(); }
  bool have(std::size_t off, std::size_t n) const { return off <= data_.size() && n <= data_.size() - off; }
  void need(std::size_t off, std::size_t n) const {
    if (!have(off, n)) throw AppTruncated{};
  }
  std::uint8_t u8(std::size_t off) const {
    need(off, 1);
    return data_[off];
  }
  std::uint16_t be16(std::size_t off) const {
    need(off, 2);
    return static_cast<std::uint16_t>((data_[off] << 8) | data_[off + 1]);
  }
  std::uint32_t be32(std::size_t off) const {
    need(off, 4);
    return (std::uint32_t{data_[off]} << 24) | (std::uint32_t{data_[off + 1]} << 16) |
           (std::uint32_t{data_[off + 2]} << 8) | std::uint32_t{data_[off + 3]};
  }
  std::string ip4(std::size_t off) const;
  std::string mac(std::size_t off) const;
  std::span<const std::uint8_t> span() const { return data_; }

 private:
  std::span<const std::uint8_t> data_;
};

/// tcpdump's fn_print_char: printable ASCII as is, others as "M-" (high bit) and "^X" (control).
void print_char(std::string& out, std::uint8_t c);

/// True when tcpdump 4.99 hands a TCP segment between these ports to http_print (80 or 8080,
/// and no printer it tries first claims the other port).
bool tcp_ports_http(std::uint16_t sport, std::uint16_t dport);
/// Which UDP printer of ours tcpdump 4.99 would call for these ports: "bootp", "ntp" or nullptr.
const char* udp_ports_app(std::uint16_t sport, std::uint16_t dport);

/// print-http.c (txtproto_print): "HTTP" and, for a request or status line, ": " and that line;
/// with -v ", length: N" and every text line. `length` is the on-wire payload length.
void http_print(std::string& out, Bytes b, std::uint32_t length, int verbose);
/// print-ntp.c: "NTPv4, Client, length 48"; with -v the header fields and timestamps.
void ntp_print(std::string& out, Bytes b, std::uint32_t length, int verbose);
/// print-bootp.c: "BOOTP/DHCP, Request from MAC, length N"; with -v the fixed fields and the
/// RFC 1048 option list (PAD and END too with -vvv).
void bootp_print(std::string& out, Bytes b, std::uint32_t length, int verbose);

/// sockit's --tls view of a TCP payload (not in tcpdump): the TLS records that start in this
/// segment ("TLS Handshake ClientHello, version TLS 1.2, 31 cipher suites, SNI example.org, ...").
/// "" when the payload does not start with a TLS record header.
std::string tls_view(std::span<const std::uint8_t> payload);

}  // namespace sockit::dump::app
