// Internal header of sockit::pcapdecode: turns captured frames into tcpdump-style text.
//
// Sans-I/O: the decoder never touches libpcap, files or sockets. Feed it (link type, captured
// bytes, on-wire length); it returns the one-line summary tcpdump 4.99 prints with `-n` (after the
// timestamp) plus structured fields for --json, --follow and the connection summary.
// Every read is bounds-checked against the captured length: a short or malformed packet is marked
// the way tcpdump marks it ("[|tcp]", "truncated-ip - N bytes missing!") and never read past.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sockit::dump {

/// Link-layer types, numbered as libpcap's pcap_datalink() reports them (DLT_*), which for the
/// ones below equals the LINKTYPE_* of the file header except raw IP (DLT 12/14 or LINKTYPE 101).
inline constexpr int kLinkNull = 0;         ///< BSD loopback: 4-byte host-order address family
inline constexpr int kLinkEthernet = 1;     ///< Ethernet II / 802.3
inline constexpr int kLinkRaw = 12;         ///< raw IPv4/IPv6 (Linux DLT_RAW)
inline constexpr int kLinkRawBsd = 14;      ///< raw IP (OpenBSD DLT_RAW)
inline constexpr int kLinkRawFile = 101;    ///< LINKTYPE_RAW as stored in files
inline constexpr int kLinkLoop = 108;       ///< OpenBSD loopback: 4-byte network-order family
inline constexpr int kLinkLinuxSll = 113;   ///< Linux cooked capture v1 (-i any, old libpcap)
inline constexpr int kLinkIpv4 = 228;       ///< raw IPv4
inline constexpr int kLinkIpv6 = 229;       ///< raw IPv6
inline constexpr int kLinkLinuxSll2 = 276;  ///< Linux cooked capture v2 (-i any)

/// True when decode() understands `linktype`.
bool link_type_supported(int linktype);
/// Name and description as libpcap spells them ("EN10MB", "Ethernet"); "DLT n" when unknown.
std::string link_type_name(int linktype);
std::string link_type_description(int linktype);

/// TCP header flags (the low 8 bits of the flags byte).
inline constexpr std::uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPush = 0x08,
                              kTcpAck = 0x10, kTcpUrg = 0x20, kTcpEce = 0x40, kTcpCwr = 0x80;

/// tcpdump's flag string: "S", "S.", "P.", "F.", "R", "none".
std::string tcp_flags_string(std::uint8_t flags);

/// What the decoder learnt about a TCP segment whose fixed header was fully captured.
struct TcpInfo {
  std::string src, dst;  ///< numeric addresses ("127.0.0.1", "::1")
  std::uint16_t sport = 0, dport = 0;
  std::uint8_t flags = 0;
  std::uint32_t seq = 0, ack = 0;  ///< absolute sequence numbers
  std::uint16_t win = 0;
  std::uint32_t payload_len = 0;         ///< on-wire payload length (IP length - headers)
  std::span<const std::uint8_t> payload; ///< the captured part of the payload (<= payload_len);
                                         ///< points into the caller's buffer
};

/// Decoder settings, mirroring tcpdump flags.
struct DecodeOptions {
  bool link_header = false;   ///< -e: print the link-layer header
  bool quick = false;         ///< -q: shorter protocol lines
  bool absolute_seq = false;  ///< -S: absolute TCP sequence numbers
  bool app_hints = true;      ///< append echo / IRC hints (not in tcpdump)
  int verbose = 0;            ///< -v count: 1 = -v (IP ttl/id/len, checksums), 2 = -vv, 3 = -vvv;
                              ///< protocol decoders print their -v details against this level
  bool tls = false;           ///< --tls: sockit's TLS record view after "length N" (not in tcpdump)
};

/// One decoded packet.
struct Decoded {
  std::string text;         ///< the line after the timestamp, no newline (e.g. "IP 1.2.3.4.5 > ...")
  std::string proto;        ///< innermost protocol decoded: "tcp", "udp", "icmp", "icmp6", "arp",
                            ///< "ip", "ip6", or "" when not even the link layer was readable
  std::string src, dst;     ///< network addresses when known
  std::optional<std::uint16_t> sport, dport;
  std::optional<TcpInfo> tcp;            ///< set when the TCP fixed header was captured
  std::optional<std::uint32_t> payload_len;  ///< transport payload length (TCP/UDP)
  std::string hint;         ///< application hint ("IRC: PRIVMSG #chan", "echo ...") or ""
  std::size_t network_offset = 0;  ///< where -X / -A dumps start: the network header, or 0 after a
                                   ///< truncation inside it (tcpdump then dumps the whole frame)
  bool truncated = false;   ///< the capture ended inside a header ("[|proto]" printed)
  bool malformed = false;   ///< a header was inconsistent (bad length, bad hlen, ...)
  bool unknown_payload = false;  ///< link payload type unknown: tcpdump hex-dumps it (from
                                 ///< network_offset) even without -X
  bool unsupported_link = false;  ///< the link type is not decoded: text is "UNSUPPORTED" and
                                  ///< tcpdump hex-dumps the whole frame whatever the flags
};

/// Stateful decoder for one capture (it keeps tcpdump's relative-sequence table).
/// Not thread-safe; cost is linear in the packet size plus one hash lookup per TCP segment.
class PacketDecoder {
 public:
  explicit PacketDecoder(int linktype, DecodeOptions options = {});

  /// Decodes one frame. `data` is the captured bytes (caplen), `wire_len` the original length.
  /// Never reads outside `data`; never throws.
  Decoded decode(std::span<const std::uint8_t> data, std::uint32_t wire_len);

  int linktype() const { return linktype_; }
  const DecodeOptions& options() const { return options_; }

  /// Forgets the relative sequence-number table (tcpdump keeps it for the whole run).
  void reset() { seq_table_.clear(); }

 private:
  struct SeqBase {
    std::uint32_t seq = 0;  // base for the canonical "low" side's sequence numbers
    std::uint32_t ack = 0;  // base for the other side
  };
  friend class DecodeRun;
  int linktype_;
  DecodeOptions options_;
  std::unordered_map<std::string, SeqBase> seq_table_;
  std::unordered_map<std::uint32_t, std::string> ifnames_;  // SLL2 interface index -> name (this host)
};

/// "HH:MM:SS.uuuuuu" in local time, like tcpdump's default timestamp.
std::string format_timestamp(std::int64_t sec, std::int64_t usec);

/// tcpdump's timestamp styles, by the number of -t given: 0 "HH:MM:SS.uuuuuu" (local time),
/// 1 none, 2 "seconds.uuuuuu" since the epoch, 3 " HH:MM:SS.uuuuuu" since the previous packet,
/// 4 "YYYY-MM-DD HH:MM:SS.uuuuuu" (local time), 5 " HH:MM:SS.uuuuuu" since the first packet
/// (deltas start with '-' instead of ' ' when the clock went back).
class TimestampPrinter {
 public:
  static constexpr int kMaxStyle = 5;
  explicit TimestampPrinter(int style) : style_(style) {}
  /// The prefix of a packet line, trailing space included ("" for -t).
  std::string next(std::int64_t sec, std::int64_t usec);

 private:
  int style_;
  bool have_ref_ = false;
  std::int64_t ref_ = 0;  // microseconds: the previous (-ttt) or first (-ttttt) packet
};

/// tcpdump -X body: lines "\n\t0x0000:  4500 003c ...  E..<" for `bytes` (no trailing newline).
std::string hex_ascii_dump(std::span<const std::uint8_t> bytes);
/// tcpdump -x body: the same lines without the ASCII column.
std::string hex_dump(std::span<const std::uint8_t> bytes);
/// tcpdump -A body: "\n" then the bytes with unprintables as '.', CR before LF dropped.
std::string ascii_dump(std::span<const std::uint8_t> bytes);

/// The application hint for a TCP/UDP payload on these ports, or "" (echo on 7/7007, IRC lines
/// on 6660-6669/7000 or anything that parses as IRC). Exposed for tests.
std::string application_hint(bool tcp, std::uint16_t sport, std::uint16_t dport,
                             std::span<const std::uint8_t> payload);

}  // namespace sockit::dump
