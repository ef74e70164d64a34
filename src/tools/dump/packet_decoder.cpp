// tcpdump-style decoding of captured frames. Structure follows tcpdump 4.99's printers
// (print-ether.c, print-ip.c, print-ip6.c, print-tcp.c, print-udp.c, print-icmp.c, print-icmp6.c,
// print-arp.c, print-sll.c, print-null.c) so that `sockit dump -n` lines match `tcpdump -n` lines.
//
// Bounds: every multi-byte read goes through DecodeRun::u8/be16/be32, which throw the private
// Truncated exception when the capture ends; decode() catches it and appends " [|proto]" like
// tcpdump's longjmp-based nd_trunc_longjmp. No exception leaves this file.
#include "packet_decoder.hpp"
#include "app_decoders.hpp"
#include "dns.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <array>
#include <cstring>
#include <ctime>

namespace sockit::dump {

namespace {

using Truncated = app::AppTruncated;  // one exception for every bounds-checked reader

constexpr std::uint16_t kEtherIpv4 = 0x0800, kEtherArp = 0x0806, kEtherRarp = 0x8035,
                        kEtherIpv6 = 0x86dd, kEtherVlan = 0x8100, kEtherQinQ = 0x88a8,
                        kEtherVlan9100 = 0x9100;

// TCP option kinds (IANA) tcpdump names, and the numbers their printing uses.
constexpr std::uint8_t kTcpOptEol = 0, kTcpOptNop = 1, kTcpOptMss = 2, kTcpOptWscale = 3, kTcpOptSackOk = 4,
                       kTcpOptSack = 5, kTcpOptEcho = 6, kTcpOptEchoReply = 7, kTcpOptTimestamp = 8, kTcpOptCc = 11,
                       kTcpOptCcNew = 12, kTcpOptCcEcho = 13, kTcpOptMd5 = 19, kTcpOptScps = 20,
                       kTcpOptUserTimeout = 28, kTcpOptTcpAo = 29, kTcpOptMptcp = 30, kTcpOptFastOpen = 34,
                       kTcpOptExperimental = 254;
constexpr std::uint16_t kTcpExpMagicFastOpen = 0xf989;  // RFC 7413's experimental TFO tag
constexpr std::uint32_t kSackBlockLen = 8;              // left and right edge, 4 bytes each
constexpr std::uint32_t kSecondsPerMinute = 60;
// IP addresses: their lengths and where the source sits in the header (the destination follows).
constexpr std::uint32_t kIp6ClassMask = 0x0ff00000, kIp6FlowMask = 0x000fffff;  // of the first 32 bits
constexpr unsigned kIp6ClassShift = 20;
constexpr std::size_t kIp4AddrLen = 4, kIp6AddrLen = 16, kIp4SrcOffset = 12, kIp6SrcOffset = 8;

std::string ethertype_name(std::uint16_t t) {
  switch (t) {
    case kEtherIpv4: return "IPv4";
    case kEtherArp: return "ARP";
    case kEtherRarp: return "Reverse ARP";
    case kEtherIpv6: return "IPv6";
    case kEtherVlan: return "802.1Q";
    case kEtherQinQ: return "802.1Q-QinQ";
    case kEtherVlan9100: return "802.1Q-9100";
    case 0x8847: return "MPLS unicast";
    case 0x8848: return "MPLS multicast";
    case 0x8863: return "PPPoE D";
    case 0x8864: return "PPPoE S";
    case 0x888e: return "EAPOL";
    case 0x88cc: return "LLDP";
    case 0x9000: return "Loopback";
    default: return "Unknown";
  }
}

bool is_vlan(std::uint16_t t) { return t == kEtherVlan || t == kEtherQinQ || t == kEtherVlan9100; }

// tcpdump's ipproto_values (the names -v prints after "proto" / "next-header").
const char* ipproto_name(std::uint8_t p) {
  switch (p) {
    case 0: return "Options";
    case 1: return "ICMP";
    case 2: return "IGMP";
    case 4: return "IPIP";
    case 6: return "TCP";
    case 8: return "EGP";
    case 9: return "IGRP";
    case 17: return "UDP";
    case 33: return "DCCP";
    case 41: return "IPv6";
    case 43: return "Routing";
    case 44: return "Fragment";
    case 46: return "RSVP";
    case 47: return "GRE";
    case 50: return "ESP";
    case 51: return "AH";
    case 55: return "Mobile IP";
    case 58: return "ICMPv6";
    case 88: return "EIGRP";
    case 89: return "OSPF";
    case 103: return "PIM";
    case 108: return "Compressed IP";
    case 112: return "VRRP";
    case 113: return "PGM";
    case 132: return "SCTP";
    case 135: return "Mobility";
    case 143: return "Ethernet";
    default: return "unknown";
  }
}

}  // namespace

// One decode() call: the input, the output being built and tcpdump's "current protocol".
class DecodeRun : private app::Bytes {  // have/need/u8/be16/be32 over the captured frame
 public:
  DecodeRun(PacketDecoder& dec, std::span<const std::uint8_t> data, Decoded& d)
      : app::Bytes(data), dec_(dec), data_(data), d_(d), out_(d.text) {}

  void run(std::uint32_t wire_len) {
    try {
      link(wire_len);
    } catch (const Truncated&) {
      out_ += fmt::format(" [|{}]", proto_);
      d_.truncated = true;
      // Like tcpdump after its longjmp: -X/-A dump from ndo_ll_hdr_len, which only some link
      // printers (null/loop) set before decoding the payload; otherwise the whole frame.
      d_.network_offset = std::min(ll_hdr_len_, data_.size());
    }
  }

 private:
  PacketDecoder& dec_;
  std::span<const std::uint8_t> data_;
  Decoded& d_;
  std::string& out_;
  const char* proto_ = "ether";
  int ip6_first_nh_ = -1;  // next-header field of the IPv6 fixed header
  std::size_t ip_off_ = 0;  // the IP header being decoded (the inner one inside ICMP errors)
  bool ip_v6_ = false;
  bool fragmented_ = false;  // tcpdump's `fragmented`: no transport checksums on fragments
  std::size_t ll_hdr_len_ = 0;  // tcpdump's ndo_ll_hdr_len at the time of a truncation

  const DecodeOptions& opt() const { return dec_.options_; }

  // ---- bounds-checked reads (have, need, u8, be16, be32: app::Bytes) -----------------------
  std::uint32_t le32(std::size_t off) const {
    need(off, 4);
    return (std::uint32_t{data_[off + 3]} << 24) | (std::uint32_t{data_[off + 2]} << 16) |
           (std::uint32_t{data_[off + 1]} << 8) | std::uint32_t{data_[off]};
  }
  std::uint64_t be64(std::size_t off) const { return (std::uint64_t{be32(off)} << 32) | be32(off + 4); }
  // data_[off, off + n) as lowercase hex digits, no separators.
  std::string hex_of(std::size_t off, std::size_t n) const {
    need(off, n);
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", data_[off + i]);
    return s;
  }
  int verbose() const { return opt().verbose; }

  // ---- checksums (tcpdump's in_cksum / in_cksum_shouldbe) ----------------------------------
  // Sum of the big-endian 16-bit words of data_[off, off + len), an odd last byte padded.
  std::uint32_t word_sum(std::size_t off, std::size_t len) const {
    need(off, len);
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < len; i += 2) sum += static_cast<std::uint32_t>((data_[off + i] << 8) | data_[off + i + 1]);
    if (len % 2) sum += static_cast<std::uint32_t>(data_[off + len - 1] << 8);
    return sum;
  }
  // tcpdump's in_cksum(): 0 when the data (checksum field included) is correct.
  static std::uint16_t cksum_result(std::uint64_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xffff);
  }
  // The checksum the packet should carry, given the one it carries and cksum_result().
  static std::uint16_t cksum_shouldbe(std::uint16_t carried, std::uint16_t computed) {
    std::uint32_t v = std::uint32_t{carried} + computed;
    v = (v & 0xffff) + (v >> 16);
    v = (v & 0xffff) + (v >> 16);
    return static_cast<std::uint16_t>(v);
  }
  // in_cksum over the IPv4/IPv6 pseudo-header of the current IP header plus data_[off, off+len).
  std::uint16_t transport_cksum(std::uint8_t proto, std::size_t off, std::uint32_t len) const {
    std::uint64_t sum = word_sum(off, len) + proto;
    if (ip_v6_)
      sum += word_sum(ip_off_ + 8, 32) + (len >> 16) + (len & 0xffff);
    else
      sum += word_sum(ip_off_ + 12, 8) + len;
    return cksum_result(sum);
  }

  std::string mac(std::size_t off, std::size_t len = 6) const {
    need(off, len);
    std::string s;
    for (std::size_t i = 0; i < len; ++i) {
      if (i) s += ':';
      s += fmt::format("{:02x}", data_[off + i]);
    }
    return s;
  }
  std::string ip4(std::size_t off) const {
    need(off, 4);
    return fmt::format("{}.{}.{}.{}", data_[off], data_[off + 1], data_[off + 2], data_[off + 3]);
  }
  std::string ip6(std::size_t off) const {
    need(off, 16);
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, data_.data() + off, buf, sizeof buf);
    return buf;
  }

  // ---- link layer -----------------------------------------------------------------------
  void link(std::uint32_t wire_len) {
    switch (dec_.linktype_) {
      case kLinkEthernet: return ether(wire_len);
      case kLinkLinuxSll: return sll(wire_len);
      case kLinkLinuxSll2: return sll2(wire_len);
      case kLinkNull: return null(wire_len, false);
      case kLinkLoop: return null(wire_len, true);
      case kLinkRaw:
      case kLinkRawBsd:
      case kLinkRawFile: {
        proto_ = "raw";
        if (opt().link_header) out_ += "ip: ";
        std::uint8_t v = u8(0) >> 4;
        if (v == 6) return ipv6(0, wire_len);
        return ipv4(0, wire_len);
      }
      case kLinkIpv4: return ipv4(0, wire_len);
      case kLinkIpv6: return ipv6(0, wire_len);
      default:  // tcpdump's unsupported_if_print: the frame is hex-dumped whatever the flags
        (void)wire_len;
        out_ += "UNSUPPORTED";
        d_.unsupported_link = true;
        d_.network_offset = 0;
        return;
    }
  }

  // A frame shorter than its link header: tcpdump's if_printers print " [|proto]" and report the
  // whole capture as header (so -X dumps nothing), unlike a truncation found further in.
  // A truncation tcpdump reports without its longjmp (ND_TTEST + return): the line ends with
  // " [|proto]" and -X/-A still start at the network header.
  bool soft_need(std::size_t off, std::size_t n) {
    if (have(off, n)) return true;
    out_ += fmt::format(" [|{}]", proto_);
    d_.truncated = true;
    return false;
  }

  void link_truncated() {
    out_ += fmt::format(" [|{}]", proto_);
    d_.truncated = true;
    d_.network_offset = data_.size();
  }

  void ether(std::uint32_t wire_len) {
    proto_ = "ether";
    d_.network_offset = std::min<std::size_t>(14, data_.size());
    if (data_.size() < 14 || wire_len < 14) return link_truncated();
    std::uint16_t type = be16(12);
    std::size_t off = 14;
    const bool e = opt().link_header;
    std::string header = mac(6) + " > " + mac(0) + ", ";
    if (type <= 1500) {
      // 802.3 with an LLC header: we do not decode LLC/SNAP.
      out_ += header + fmt::format("802.3, length {}: LLC, length {}", wire_len, type);
      d_.proto = "llc";
      return;
    }
    if (e) {
      out_ += header;
      // With a VLAN tag, tcpdump reads the tag before printing the outer type and length.
      if (is_vlan(type)) {
        proto_ = "vlan";
        if (!have(off, 4)) return link_truncated();
      }
      if (opt().quick && ethertype_name(type) == "Unknown")
        out_ += fmt::format("Unknown Ethertype (0x{:04x}), length {}: ", type, wire_len);
      else if (opt().quick)
        out_ += fmt::format("{}, length {}: ", ethertype_name(type), wire_len);
      else
        out_ += fmt::format("ethertype {} (0x{:04x}), length {}: ", ethertype_name(type), type, wire_len);
    }
    int tags = 0;
    while (is_vlan(type)) {
      proto_ = "vlan";
      if (!have(off, 4)) return link_truncated();
      std::uint16_t tci = be16(off);
      type = be16(off + 2);
      off += 4;
      if (e) {
        out_ += fmt::format("vlan {}, p {}{}, ", tci & 0x0fff, tci >> 13, (tci & 0x1000) ? ", DEI" : "");
        if (opt().quick)
          out_ += ethertype_name(type) + ", ";
        else
          out_ += fmt::format("ethertype {} (0x{:04x}), ", ethertype_name(type), type);
      }
      if (++tags > 8) break;
    }
    network(type, off, wire_len - std::min<std::uint32_t>(wire_len, static_cast<std::uint32_t>(off)), header);
  }

  // Dispatches on an ethertype; `header` is the printed link header used for unknown types.
  void network(std::uint16_t type, std::size_t off, std::uint32_t length, const std::string& header) {
    d_.network_offset = std::min(off, data_.size());
    switch (type) {
      case kEtherIpv4: return ipv4(off, length);
      case kEtherIpv6: return ipv6(off, length);
      case kEtherArp:
      case kEtherRarp: return arp(off, length);
      default:
        if (!opt().link_header) {
          const std::uint32_t total = length + static_cast<std::uint32_t>(off);
          if (opt().quick)
            out_ += header + fmt::format("Unknown Ethertype (0x{:04x}), length {}: ", type, total);
          else
            out_ += header + fmt::format("ethertype {} (0x{:04x}), length {}: ", ethertype_name(type), type, total);
        }
        d_.proto = "ether";
        d_.unknown_payload = true;
        return;
    }
  }

  static const char* sll_pkttype(std::uint16_t t) {
    switch (t) {
      case 0: return "In";
      case 1: return "B";
      case 2: return "M";
      case 3: return "P";
      case 4: return "Out";
      default: return "?";
    }
  }

  // Linux cooked v1: pkttype(2) hatype(2) halen(2) addr(8) protocol(2).
  void sll(std::uint32_t wire_len) {
    proto_ = "sll";
    need(0, 16);  // sll_if_print: ND_TCHECK, a longjmp (the frame is hex-dumped)
    if (wire_len < 16) throw Truncated{};
    std::uint16_t pkttype = be16(0), halen = be16(4), type = be16(14);
    if (opt().link_header) {
      out_ += fmt::format("{:>3} ", sll_pkttype(pkttype));
      if (halen == 6) out_ += mac(6) + " ";
      if (!opt().quick) out_ += fmt::format("ethertype {} (0x{:04x}), length {}: ", ethertype_name(type), type, wire_len);
    }
    const std::size_t off = cooked_vlans(type, 16);
    network(type, off, wire_len - static_cast<std::uint32_t>(std::min<std::size_t>(wire_len, off)),
            opt().link_header ? "" : fmt::format("{:>3} ", sll_pkttype(pkttype)));
  }

  // The VLAN tags after a Linux cooked header (sll, sll2) from `off`, printed with -e: the offset
  // of the network header, and the inner ethertype left in `type`.
  std::size_t cooked_vlans(std::uint16_t& type, std::size_t off) {
    while (is_vlan(type)) {
      std::uint16_t tci = be16(off);
      type = be16(off + 2);
      off += 4;
      if (opt().link_header)
        out_ += fmt::format("vlan {}, p {}, ethertype {} (0x{:04x}), ", tci & 0x0fff, tci >> 13, ethertype_name(type), type);
    }
    return off;
  }

  // Linux cooked v2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8).
  void sll2(std::uint32_t wire_len) {
    proto_ = "sll2";
    need(0, 20);
    if (wire_len < 20) throw Truncated{};
    std::uint16_t type = be16(0);
    std::uint32_t ifindex = be32(4);
    std::uint8_t pkttype = u8(10), halen = u8(11);
    // tcpdump 4.99 prints the interface name and direction even without -e.
    auto cached = dec_.ifnames_.find(ifindex);
    if (cached == dec_.ifnames_.end()) {
      char name[64] = "?";
      if (ifindex == 0 || !if_indextoname_safe(ifindex, name, sizeof name)) std::strcpy(name, "?");
      if (dec_.ifnames_.size() > 1024) dec_.ifnames_.clear();
      cached = dec_.ifnames_.emplace(ifindex, name).first;
    }
    out_ += fmt::format("{:<5} {:<3} ", cached->second, sll_pkttype(pkttype));
    if (opt().link_header) {
      out_ += fmt::format("ifindex {} ", ifindex);
      if (halen == 6) out_ += mac(12) + " ";
      if (!opt().quick) out_ += fmt::format("ethertype {} (0x{:04x}), length {}: ", ethertype_name(type), type, wire_len);
    }
    const std::size_t off = cooked_vlans(type, 20);
    network(type, off, wire_len - static_cast<std::uint32_t>(std::min<std::size_t>(wire_len, off)), "");
  }

  static bool if_indextoname_safe(std::uint32_t index, char* buf, std::size_t size);

  // DLT_NULL (host byte order) and DLT_LOOP (network byte order) 4-byte address family.
  void null(std::uint32_t wire_len, bool network_order) {
    proto_ = "null";
    need(0, 4);  // null_if_print uses ND_TCHECK here: a longjmp, the frame is hex-dumped
    if (wire_len < 4) throw Truncated{};
    ll_hdr_len_ = 4;
    std::uint32_t family = network_order ? be32(0) : le32(0);
    if (!network_order && (family & 0xffff0000U) != 0) family = be32(0);  // written big-endian
    const bool v4 = family == 2;
    const bool v6 = family == 10 || family == 24 || family == 28 || family == 30;
    if (opt().quick && (opt().link_header || (!v4 && !v6)))
      out_ += v4 || v6 ? fmt::format("{}, length {}: ", v4 ? "IPv4" : "IPv6", wire_len)
                       : fmt::format("Unknown AF {}, length {}: ", family, wire_len);
    else if (opt().link_header || (!v4 && !v6))
      out_ += fmt::format("AF {} ({}), length {}: ", v4 ? "IPv4" : v6 ? "IPv6" : "Unknown", family, wire_len);
    d_.network_offset = 4;
    if (!v4 && !v6) d_.unknown_payload = true;
    if (v4) return ipv4(4, wire_len - 4);
    if (v6) return ipv6(4, wire_len - 4);
  }

  // ---- ARP ------------------------------------------------------------------------------
  void arp(std::size_t off, std::uint32_t length) {
    proto_ = "arp";
    d_.proto = "arp";
    std::uint16_t hrd = be16(off), pro = be16(off + 2);
    std::uint8_t hln = u8(off + 4), pln = u8(off + 5);
    need(off, 8 + 2U * (hln + pln));
    if (!opt().link_header) out_ += "ARP, ";
    std::uint16_t op = be16(off + 6);
    if ((pro != kEtherIpv4 && pro != 0x1000) || pln != 4 || hln == 0) {
      out_ += fmt::format("{} (len {}), {} (len {})", hrd == 1 ? "Ethernet" : fmt::format("Unknown Hardware ({})", hrd), hln,
                          ethertype_name(pro), pln);
      out_ += fmt::format(", length {}", length);
      return;
    }
    if (verbose() > 0)  // hardware and protocol types, as print-arp.c prints them with -v
      out_ += fmt::format("{} (len {}), {} (len {}), ", hrd == 1 ? "Ethernet" : fmt::format("Unknown Hardware ({})", hrd),
                          hln, ethertype_name(pro), pln);
    const std::size_t sha = off + 8, spa = sha + hln, tha = spa + pln, tpa = tha + hln;
    static constexpr std::array<const char*, 11> kOps = {nullptr,          "Request",       "Reply",
                                                        "Reverse Request", "Reverse Reply", nullptr,
                                                        nullptr,          nullptr,         "Inverse Request",
                                                        "Inverse Reply",  "NACK Reply"};
    const char* opname = op < kOps.size() ? kOps[op] : nullptr;
    out_ += opname ? std::string(opname) : fmt::format("Unknown ({})", op);
    out_ += ' ';
    switch (op) {
      case 1: {
        out_ += "who-has " + ip4(tpa);
        need(tha, hln);
        bool nonzero = std::any_of(data_.begin() + static_cast<std::ptrdiff_t>(tha),
                                   data_.begin() + static_cast<std::ptrdiff_t>(tha + hln), [](auto b) { return b != 0; });
        if (nonzero) out_ += " (" + mac(tha, hln) + ")";
        out_ += " tell " + ip4(spa);
        d_.src = ip4(spa);
        d_.dst = ip4(tpa);
        break;
      }
      case 2:
        out_ += ip4(spa) + " is-at " + mac(sha, hln);
        d_.src = ip4(spa);
        d_.dst = ip4(tpa);
        break;
      case 3: out_ += "who-is " + mac(tha, hln) + " tell " + mac(sha, hln); break;
      case 4: out_ += mac(tha, hln) + " at " + ip4(tpa); break;
      default: break;
    }
    out_ += fmt::format(", length {}", length);
  }

  // ---- IPv4 -----------------------------------------------------------------------------
  void ipv4(std::size_t off, std::uint32_t length) {
    proto_ = "ip";
    d_.proto = "ip";
    d_.network_offset = std::min(off, data_.size());
    std::uint8_t vhl = u8(off);
    if ((vhl >> 4) == 4 && !opt().link_header) out_ += "IP ";
    if ((vhl >> 4) == 4 && !soft_need(off, 20)) return;
    if ((vhl >> 4) != 4) {
      if ((vhl >> 4) == 6)
        out_ += "IP6, wrong link-layer encapsulation (invalid)";
      else
        out_ += fmt::format("IP{} (invalid)", vhl >> 4);
      d_.malformed = true;
      return;
    }
    if (length < 20) {
      out_ += fmt::format("truncated-ip {}", length);
      d_.malformed = true;
      return;
    }
    std::uint32_t hlen = (vhl & 0x0f) * 4U;
    if (hlen < 20) {
      out_ += fmt::format("bad-hlen {}", hlen);
      d_.malformed = true;
      return;
    }
    std::uint32_t len = be16(off + 2);
    if (len > length) {
      // tcpdump 4.99 reports the shortfall but keeps decoding with the claimed length.
      out_ += fmt::format("truncated-ip - {} bytes missing! ", len - length);
      d_.malformed = true;
    } else if (len < hlen) {
      out_ += fmt::format("bad-len {}", len);
      d_.malformed = true;
      return;
    }
    std::uint16_t frag = be16(off + 6) & 0x1fff;
    ip_off_ = off;
    ip_v6_ = false;
    fragmented_ = (be16(off + 6) & 0x3fff) != 0;  // more fragments or an offset
    const bool options_cut = verbose() > 0 && !ipv4_verbose(off, hlen, len);
    std::uint8_t p = u8(off + 9);
    std::string src = ip4(off + 12), dst = ip4(off + 16);
    if (options_cut) {  // print-ip.c: the addresses, then the truncation mark
      out_ += src + " > " + dst + ":  [|ip]";
      d_.truncated = true;
      return;
    }
    if (!have(off, hlen)) {  // IP options not all captured (ip_print's check, then a longjmp)
      out_ += fmt::format(" [remaining caplen({}) < header length({})]", data_.size() - off, hlen);
      throw Truncated{};
    }
    d_.src = src;
    d_.dst = dst;
    if (frag != 0) {
      out_ += fmt::format("{} > {}: ip-proto-{}", src, dst, p);
      return;
    }
    transport(p, off + hlen, len - hlen, false, off, true);
  }

  // print-ip.c's -v header: "(tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60)"
  // then a newline and 4 spaces before the addresses. False when an IP option was cut short.
  bool ipv4_verbose(std::size_t off, std::uint32_t hlen, std::uint32_t len) {
    const std::uint8_t tos = u8(off + 1), ttl = u8(off + 8), p = u8(off + 9);
    const std::uint16_t offfield = be16(off + 6);
    static constexpr std::array<const char*, 4> kEcn = {"", ",ECT(1)", ",ECT(0)", ",CE"};
    out_ += fmt::format("(tos 0x{:x}{}", tos, kEcn[tos & 3]);
    if (ttl >= 1) out_ += fmt::format(", ttl {}", ttl);
    std::string flags;
    for (auto [bit, name] : {std::pair<std::uint16_t, const char*>{0x2000, "+"}, {0x4000, "DF"}, {0x8000, "rsvd"}})
      if (offfield & bit) flags += (flags.empty() ? "" : ", ") + std::string(name);
    out_ += fmt::format(", id {}, offset {}, flags [{}], proto {} ({}), length {}", be16(off + 4), (offfield & 0x1fff) * 8,
                        flags.empty() ? "none" : flags, ipproto_name(p), p, len);
    bool complete = true;
    if (hlen > 20) {
      out_ += ", options (";
      complete = ip_options(off + 20, hlen - 20);
      if (!complete) out_ += " [truncated-option]";
      out_ += ")";
    }
    if (have(off, hlen)) {
      const std::uint16_t sum = cksum_result(word_sum(off, hlen));
      if (sum != 0) out_ += fmt::format(", bad cksum {:x} (->{:x})!", be16(off + 10), cksum_shouldbe(be16(off + 10), sum));
    }
    out_ += ")\n    ";
    return complete;
  }

  // print-ip.c's ip_optprint: names, record-route addresses, router-alert value. False when an
  // option was not captured whole.
  bool ip_options(std::size_t cp, std::uint32_t length) {
    for (const char* sep = ""; length > 0; sep = ",") {
      out_ += sep;
      const std::uint8_t code = u8(cp);
      switch (code) {
        case 0: out_ += "EOL"; break;
        case 1: out_ += "NOP"; break;
        case 7: out_ += "RR"; break;
        case 68: out_ += "timestamp"; break;
        case 82: out_ += "traceroute"; break;
        case 130: out_ += "security"; break;
        case 131: out_ += "LSRR"; break;
        case 137: out_ += "SSRR"; break;
        case 148: out_ += "RA"; break;
        default: out_ += fmt::format("unknown {}", code); break;
      }
      std::uint32_t olen = 1;
      if (code != 0 && code != 1) {
        olen = u8(cp + 1);
        if (olen < 2) {
          out_ += fmt::format(" [bad length {}]", olen);
          return true;
        }
      }
      if (olen > length) {
        out_ += fmt::format(" [bad length {}]", olen);
        return true;
      }
      if (!have(cp, olen)) return false;
      if (code == 0) return true;
      if (code == 7 || code == 131 || code == 137) {
        if (olen < 3) {
          out_ += fmt::format(" [bad length {}]", olen);
        } else {
          if ((olen + 1) & 3) out_ += fmt::format(" [bad length {}]", olen);
          const std::uint32_t ptr = u8(cp + 2) - 1U;
          if (ptr < 3 || ((ptr + 1) & 3) || ptr > olen + 1) out_ += fmt::format(" [bad ptr {}]", u8(cp + 2));
          for (std::uint32_t i = 3; i < olen; i += 4) {
            out_ += " " + ip4(cp + i);
            if (ptr > i) out_ += ",";
          }
        }
      } else if (code == 148) {
        if (olen < 4)
          out_ += fmt::format(" [bad length {}]", olen);
        else if (be16(cp + 2) != 0)
          out_ += fmt::format(" value {}", be16(cp + 2));
      }
      cp += olen;
      length -= olen;
    }
    return true;
  }

  // ---- IPv6 -----------------------------------------------------------------------------
  void ipv6(std::size_t off, std::uint32_t length) {
    proto_ = "ip6";
    d_.proto = "ip6";
    d_.network_offset = std::min(off, data_.size());
    if (!soft_need(off, 40)) return;  // checked before anything is printed
    if (!opt().link_header) out_ += "IP6 ";
    if (length < 40) {
      out_ += fmt::format("truncated-ip6 {}", length);
      d_.malformed = true;
      return;
    }
    std::uint8_t v = u8(off) >> 4;
    if (v != 6) {
      out_ += fmt::format("version error: {} != 6", v);
      d_.malformed = true;
      return;
    }
    std::uint32_t plen = be16(off + 4);
    std::uint32_t len = length;
    if (plen != 0) {
      len = plen + 40;
      if (len > length) {
        out_ += fmt::format("truncated-ip6 - {} bytes missing!", len - length);
        len = length;
        d_.malformed = true;
      }
    }
    std::uint8_t nh = u8(off + 6);
    ip6_first_nh_ = nh;
    ip_off_ = off;
    ip_v6_ = true;
    fragmented_ = false;
    if (verbose() > 0) ip6_verbose(off, nh, plen);
    std::string src = ip6(off + 8), dst = ip6(off + 24);
    d_.src = src;
    d_.dst = dst;
    std::size_t cur = off + 40;
    std::uint32_t remaining = len - 40;
    for (int hops = 0; hops < 16; ++hops) {
      if (cur == off + 40 && nh != 6 && nh != 17 && nh != 33 && nh != 132) out_ += src + " > " + dst + ": ";
      std::uint32_t advance = 0;
      if (!ip6_extension(nh, cur, remaining, off, advance)) return;
      if (advance > remaining) throw Truncated{};
      cur += advance;
      remaining -= advance;
      proto_ = "ip6";
    }
  }

  // print-ip6.c: "(flowlabel 0x..., hlim 64, next-header TCP (6) payload length: 40) "
  void ip6_verbose(std::size_t off, std::uint8_t nh, std::uint32_t plen) {
    const std::uint32_t flow = be32(off);
    out_ += "(";
    if (flow & kIp6ClassMask) out_ += fmt::format("class 0x{:02x}, ", (flow & kIp6ClassMask) >> kIp6ClassShift);
    if (flow & kIp6FlowMask) out_ += fmt::format("flowlabel 0x{:05x}, ", flow & kIp6FlowMask);
    out_ += fmt::format("hlim {}, next-header {} ({}) payload length: {}) ", u8(off + 7), ipproto_name(nh), nh, plen);
  }

  // One IPv6 extension header at cur (nh its type): printed, nh set to the next one and advance
  // to its length. False when the chain ends here (a transport, no next header, a later fragment).
  bool ip6_extension(std::uint8_t& nh, std::size_t cur, std::uint32_t remaining, std::size_t off,
                     std::uint32_t& advance) {
    switch (nh) {
      case 0:    // hop-by-hop options
      case 60: { // destination options
        proto_ = nh == 0 ? "hbhopt" : "dstopt";
        std::uint8_t next = u8(cur);
        advance = (u8(cur + 1) + 1U) * 8U;
        need(cur, advance);
        out_ += nh == 0 ? "HBH " : "DSTOPT ";
        if (verbose() > 0) ip6_options(cur + 2, advance - 2);
        nh = next;
        break;
      }
      case 43: {  // routing
        proto_ = "rt6";
        std::uint8_t next = u8(cur);
        std::uint8_t hdrlen = u8(cur + 1), type = u8(cur + 2), segleft = u8(cur + 3);
        advance = (hdrlen + 1U) * 8U;
        out_ += fmt::format("srcrt (len={}, type={}, segleft={}", hdrlen, type, segleft);
        if (type == 0 || type == 2) {
          for (std::size_t a = cur + 8, i = 0; a + 16 <= cur + advance; a += 16, ++i) out_ += fmt::format(", [{}]{}", i, ip6(a));
        }
        out_ += ") ";
        nh = next;
        break;
      }
      case 44: {  // fragment
        proto_ = "frag6";
        std::uint8_t next = u8(cur);
        std::uint16_t offlg = be16(cur + 2);
        std::uint32_t foff = offlg & 0xfff8U;
        std::uint32_t fragpay = remaining >= 8 ? remaining - 8 : 0;
        if (verbose() > 0)
          out_ += fmt::format("frag (0x{:08x}:{}|{})", be32(cur + 4), foff, fragpay);
        else
          out_ += fmt::format("frag ({}|{})", foff, fragpay);
        if (foff != 0) return false;  // meaningless to decode a non-first fragment
        out_ += ' ';
        fragmented_ = true;
        if (!have(cur + 8, 1)) return false;  // nothing captured after it: tcpdump stops quietly
        advance = 8;
        nh = next;
        break;
      }
      case 59:  // no next header
        return false;
      default:
        transport(nh, cur, remaining, true, off, false);
        return false;
    }
    return true;
  }

  // print-ip6opts.c's ip6_opt_print (-v): "(rtalert: 0x0000) (padn) ".
  void ip6_options(std::size_t bp, std::uint32_t len) {
    for (std::uint32_t i = 0, optlen = 0; i < len; i += optlen) {
      const std::uint8_t type = u8(bp + i);
      if (type == 0) {
        optlen = 1;
      } else {
        if (i + 1 >= len) throw Truncated{};
        optlen = u8(bp + i + 1) + 2U;
      }
      if (i + optlen > len) throw Truncated{};
      switch (type) {
        case 0: out_ += "(pad1)"; break;
        case 1: out_ += "(padn)"; break;
        case 5:
          if (len - i < 4) {
            out_ += "(rtalert: trunc)";
            throw Truncated{};
          }
          if (u8(bp + i + 1) != 2) {
            out_ += fmt::format("(rtalert: invalid len {})", u8(bp + i + 1));
            throw Truncated{};
          }
          out_ += fmt::format("(rtalert: 0x{:04x}) ", be16(bp + i + 2));
          break;
        default:
          if (len - i < 2) {
            out_ += fmt::format("(type {}: trunc)", type);
            throw Truncated{};
          }
          out_ += fmt::format("(opt_type 0x{:02x}: len={})", type, u8(bp + i + 1));
          break;
      }
    }
    out_ += " ";
  }

  // ---- transport demux ------------------------------------------------------------------
  void transport(std::uint8_t p, std::size_t off, std::uint32_t length, bool v6, std::size_t ipoff, bool print_addrs) {
    switch (p) {
      case 6: return tcp(off, length, v6);
      case 17: return udp(off, length, v6);
      case 1:
        if (!v6) {
          out_ += d_.src + " > " + d_.dst + ": ";
          return icmp(off, length);
        }
        break;
      case 58: return icmp6(off, length);
      default: break;
    }
    (void)ipoff;
    if (print_addrs) out_ += d_.src + " > " + d_.dst + ": ";
    out_ += fmt::format(" ip-proto-{} {}", p, length);
  }

  // The captured bytes from `start` up to `end` (an application decoder's view of the packet).
  std::span<const std::uint8_t> capped(std::size_t start, std::size_t end) const {
    end = std::min(end, data_.size());
    start = std::min(start, end);
    return data_.subspan(start, end - start);
  }

  // Appends an application decoder's text (DNS) and its truncation/malformation marks.
  template <class AppText>
  void app_text(const AppText& t) {
    out_ += t.text;
    d_.truncated = d_.truncated || t.truncated;
    d_.malformed = d_.malformed || t.malformed;
    if (t.unwound) d_.network_offset = std::min(ll_hdr_len_, data_.size());  // as after run()'s catch
  }

  // tcpdump's HTTP, NTP and BOOTP/DHCP printers (app_decoders.hpp). A read past the capture
  // throws Truncated, which ends the line with " [|proto]" like tcpdump's longjmp; a printer's
  // own truncation mark counts too.
  void app_print(const char* proto, std::span<const std::uint8_t> payload, std::uint32_t length) {
    proto_ = proto;
    const app::Bytes bytes(payload);
    const std::string_view name(proto);
    if (name == "http") app::http_print(out_, bytes, length, opt().verbose);
    else if (name == "ntp") app::ntp_print(out_, bytes, length, opt().verbose);
    else app::bootp_print(out_, bytes, length, opt().verbose);
    if (out_.ends_with(fmt::format(" [|{}]", proto))) d_.truncated = true;
  }

  std::string endpoint(const std::string& addr, std::uint16_t port) const { return fmt::format("{}.{}", addr, port); }

  // ---- TCP ------------------------------------------------------------------------------
  void tcp(std::size_t off, std::uint32_t length, bool v6) {
    proto_ = "tcp";
    d_.proto = "tcp";
    if (!have(off, 4)) {
      out_ += d_.src + " > " + d_.dst + ":";
      soft_need(off, 4);
      return;
    }
    std::uint16_t sport = be16(off), dport = be16(off + 2);
    d_.sport = sport;
    d_.dport = dport;
    out_ += endpoint(d_.src, sport) + " > " + endpoint(d_.dst, dport) + ": ";
    if (!soft_need(off, 20)) return;
    std::uint32_t hlen = (u8(off + 12) >> 4) * 4U;
    if (hlen < 20) {
      out_ += fmt::format(" tcp {} [bad hdr length {} - too short, < 20]", length >= hlen ? length - hlen : 0, hlen);
      d_.malformed = true;
      return;
    }
    std::uint32_t seq = be32(off + 4), ack = be32(off + 8);
    std::uint16_t win = be16(off + 14), urp = be16(off + 18);
    std::uint8_t flags = u8(off + 13);
    if (opt().quick) {
      out_ += fmt::format("tcp {}", length - hlen);  // wraps like tcpdump's u_int arithmetic
      if (hlen > length) {
        out_ += fmt::format(" [bad hdr length {} - too long, > {}]", hlen, length);
        d_.malformed = true;
      }
      fill_tcp(off, length, hlen, sport, dport, flags, seq, ack, win);
      return;
    }
    out_ += "Flags [" + tcp_flags_string(flags) + "]";
    const std::uint32_t abs_seq = seq, abs_ack = ack;
    std::uint32_t thseq = 0, thack = 0;
    bool rev = false;
    if (!opt().absolute_seq && (flags & kTcpAck)) rev = relative_seq(v6, sport, dport, flags, seq, ack, thseq, thack);
    if (hlen > length) {
      out_ += fmt::format(" [bad hdr length {} - too long, > {}]", hlen, length);
      d_.malformed = true;
      return;
    }
    if (verbose() > 0 && !fragmented_ && have(off, length)) {  // the whole segment was captured
      const std::uint16_t carried = be16(off + 16), sum = transport_cksum(6, off, length);
      out_ += fmt::format(", cksum 0x{:04x}", carried);
      out_ += sum != 0 ? fmt::format(" (incorrect -> 0x{:04x})", cksum_shouldbe(carried, sum)) : " (correct)";
    }
    const std::uint32_t plen = length - hlen;
    if (verbose() > 1 || plen > 0 || (flags & (kTcpSyn | kTcpFin | kTcpRst))) {
      out_ += fmt::format(", seq {}", seq);
      if (plen > 0) out_ += fmt::format(":{}", seq + plen);
    }
    if (flags & kTcpAck) out_ += fmt::format(", ack {}", ack);
    out_ += fmt::format(", win {}", win);
    if (flags & kTcpUrg) out_ += fmt::format(", urg {}", urp);
    fill_tcp(off, length, hlen, sport, dport, flags, abs_seq, abs_ack, win);
    if (hlen > 20 && !tcp_options(off + 20, hlen - 20, rev, thseq, thack, flags, off + hlen, plen))
      return;  // "[bad opt]" ends it
    out_ += fmt::format(", length {}", plen);
    tcp_payload(off, length, hlen, sport, dport, flags);
  }

  // tcpdump's tcp_seq_hash, keyed by the unordered address/port pair: seq and ack become relative
  // to the connection's first ones (a SYN or the first segment seen starts it again); thseq and
  // thack are the bases. Returns whether this segment goes the reverse way of the key.
  bool relative_seq(bool v6, std::uint16_t sport, std::uint16_t dport, std::uint8_t flags, std::uint32_t& seq,
                    std::uint32_t& ack, std::uint32_t& thseq, std::uint32_t& thack) {
    const std::size_t alen = v6 ? kIp6AddrLen : kIp4AddrLen;
    const std::size_t ipsrc = ip_off_ + (v6 ? kIp6SrcOffset : kIp4SrcOffset), ipdst = ipsrc + alen;
    need(ipsrc, 2 * alen);
    std::string a(reinterpret_cast<const char*>(data_.data() + ipsrc), alen);
    std::string b(reinterpret_cast<const char*>(data_.data() + ipdst), alen);
    const int c = a.compare(b);
    const bool rev = c > 0 || (c == 0 && sport > dport);
    std::string key = rev ? b + a + fmt::format("{}:{}", dport, sport) : a + b + fmt::format("{}:{}", sport, dport);
    auto it = dec_.seq_table_.find(key);
    if (it == dec_.seq_table_.end() || (flags & kTcpSyn)) {
      PacketDecoder::SeqBase base;
      if (rev) {
        base.ack = seq;
        base.seq = ack - 1;
      } else {
        base.seq = seq;
        base.ack = ack - 1;
      }
      dec_.seq_table_[key] = base;
      thseq = base.seq;
      thack = base.ack;
      return rev;
    }
    if (rev) {
      seq -= it->second.ack;
      ack -= it->second.seq;
    } else {
      seq -= it->second.seq;
      ack -= it->second.ack;
    }
    thseq = it->second.seq;
    thack = it->second.ack;
    return rev;
  }

  // What follows ", length N": RST data, DNS over TCP, HTTP, TLS or an application hint.
  void tcp_payload(std::size_t off, std::uint32_t length, std::uint32_t hlen, std::uint16_t sport, std::uint16_t dport,
                   std::uint8_t flags) {
    const std::uint32_t plen = length - hlen;
    if (plen > 0 && (flags & kTcpRst) && verbose() > 0) return rst_data(off + hlen, plen);
    if (!opt().quick && plen > 0 && dns_tcp_port(sport, dport))
      return app_text(dns_print(capped(off + hlen, off + length), plen, true, false, opt().verbose));
    bool app_printed = false;
    if (plen > 0 && app::tcp_ports_http(sport, dport) && !((flags & kTcpRst) && opt().verbose)) {
      out_ += ": ";
      app_print("http", capped(off + hlen, off + length), plen);
      app_printed = true;
    }
    if (opt().tls && plen > 0) {
      const std::string view = app::tls_view(d_.tcp->payload);
      if (!view.empty()) out_ += ": " + view;
      app_printed = app_printed || !view.empty();
    }
    if (app_printed) return;
    if (opt().app_hints && plen > 0) {
      d_.hint = application_hint(true, sport, dport, d_.tcp->payload);
      if (!d_.hint.empty()) out_ += ": " + d_.hint;
    }
  }

  void fill_tcp(std::size_t off, std::uint32_t length, std::uint32_t hlen, std::uint16_t sport, std::uint16_t dport,
                std::uint8_t flags, std::uint32_t seq, std::uint32_t ack, std::uint16_t win) {
    TcpInfo t;
    t.src = d_.src;
    t.dst = d_.dst;
    t.sport = sport;
    t.dport = dport;
    t.flags = flags;
    t.seq = seq;
    t.ack = ack;
    t.win = win;
    t.payload_len = length > hlen ? length - hlen : 0;
    std::size_t start = std::min(off + hlen, data_.size());
    std::size_t avail = std::min<std::size_t>(data_.size() - start, t.payload_len);
    t.payload = data_.subspan(start, avail);
    d_.payload_len = t.payload_len;
    d_.tcp = t;
  }

  // print-tcp.c's print_tcp_rst_data: the text a RST carries, with -v.
  void rst_data(std::size_t p, std::uint32_t length) {
    out_ += have(p, length) ? " [RST" : " [!RST";
    if (length > 30) {
      length = 30;
      out_ += "+";
    }
    out_ += " ";
    for (std::uint32_t i = 0; i < length && have(p + i, 1); ++i) {
      auto c = u8(p + i);
      if (c >= 0x80) {  // fn_print_char
        c &= 0x7f;
        out_ += "M-";
      }
      if (c < 0x20 || c == 0x7f) {
        c ^= 0x40;
        out_ += "^";
      }
      out_ += static_cast<char>(c);
    }
    out_ += "]";
  }

  // print-tcp.c's print_tcp_fastopen_option.
  void fastopen(std::size_t cp, std::uint32_t datalen, bool exp) {
    if (exp) out_ += "tfo";
    if (datalen == 0) {
      out_ += " cookiereq";
    } else if (datalen % 2 != 0 || datalen < 4 || datalen > 16) {
      out_ += " (invalid)";
    } else {
      out_ += " cookie " + hex_of(cp, datalen);
    }
  }

  // print-mptcp.c's mptcp_print for the option at `o` (kind byte) of `len` bytes, all captured.
  // False: tcpdump's "[bad opt]".
  bool mptcp(std::size_t o, std::uint32_t len, std::uint8_t flags) {
    if (len < 3) return false;
    static constexpr std::array<const char*, 9> kSub = {"capable",  "join", "dss",        "add-addr", "rem-addr",
                                                        "prio",     "fail", "fast-close", "unknown"};
    proto_ = "mptcp";  // tcpdump's ndo_protocol: a later truncation prints "[|mptcp]"
    const unsigned sub = std::min(u8(o + 2) >> 4, 8);
    out_ += fmt::format(" {} {}", len, kSub[sub]);
    switch (sub) {
      case 0: return mptcp_capable(o, len, flags);
      case 1:
        if (!(len == 12 && (flags & kTcpSyn)) && !(len == 16 && (flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck)) &&
            !(len == 24 && (flags & kTcpAck)))
          return false;
        if (len != 24) out_ += fmt::format("{} id {}", (u8(o + 2) & 1) ? " backup" : "", u8(o + 3));
        if (len == 12) out_ += fmt::format(" token 0x{:x} nonce 0x{:x}", be32(o + 4), be32(o + 8));
        if (len == 16) out_ += fmt::format(" hmac 0x{:x} nonce 0x{:x}", be64(o + 4), be32(o + 12));
        if (len == 24) out_ += " hmac 0x" + hex_of(o + 4, 20);
        return true;
      case 2: return mptcp_dss(o, len, flags);
      case 3: return mptcp_add_addr(o, len);
      case 4:
        if (len < 4) return false;
        out_ += " id";
        for (std::uint32_t i = 3; i < len; ++i) out_ += fmt::format(" {}", u8(o + i));
        return true;
      case 5:
        if (len != 3 && len != 4) return false;
        out_ += (u8(o + 2) & 1) ? " backup" : " non-backup";
        if (len == 4) out_ += fmt::format(" id {}", u8(o + 3));
        return true;
      case 6:
      case 7:
        if (len != 12) return false;
        out_ += sub == 6 ? fmt::format(" seq {}", be64(o + 4)) : fmt::format(" key 0x{:x}", be64(o + 4));
        return true;
      default: return true;
    }
  }

  // MP_CAPABLE: the version, csum flag and the keys.
  bool mptcp_capable(std::size_t o, std::uint32_t len, std::uint8_t flags) {
    if (!((len == 12 || len == 4) && (flags & kTcpSyn)) && !((len == 20 || len == 22) && (flags & (kTcpSyn | kTcpAck)) == kTcpAck))
      return false;
    const unsigned version = u8(o + 2) & 0xf;
    if (version > 1) {
      out_ += fmt::format(" Unknown Version ({})", version);
      return true;
    }
    out_ += fmt::format(" v{}", version);
    if (u8(o + 3) & 0x80) out_ += " csum";
    if (len == 12 || len >= 20) {
      out_ += fmt::format(" {{0x{:x}", be64(o + 4));
      if (len >= 20) out_ += fmt::format(",0x{:x}", be64(o + 12));
      out_ += "}";
    }
    return true;
  }

  // DSS: data fin, ack, and the mapping (seq, subseq, len, csum).
  bool mptcp_dss(std::size_t o, std::uint32_t len, std::uint8_t flags) {
    if (len < 4 || (flags & kTcpSyn)) return false;
    const std::uint8_t f = u8(o + 3);
    if (f & 0x10) out_ += " fin";
    std::size_t p = o + 4;
    std::uint32_t rem = len - 4;
    // A 4- or 8-byte number (tcpdump's "a"/"m" flags), false when it does not fit.
    auto number = [&](bool wide) {
      const std::uint32_t n = wide ? 8 : 4;
      if (rem < n) return false;
      out_ += wide ? fmt::format("{}", be64(p)) : fmt::format("{}", be32(p));
      p += n;
      rem -= n;
      return true;
    };
    if (f & 0x01) {
      out_ += " ack ";
      if (!number(f & 0x02)) return false;
    }
    if (f & 0x04) {
      out_ += " seq ";
      if (!number(f & 0x08)) return false;
      if (rem < 4) return false;
      out_ += fmt::format(" subseq {}", be32(p));
      p += 4;
      rem -= 4;
      if (rem < 2) return false;
      out_ += fmt::format(" len {}", be16(p));
      p += 2;
      rem -= 2;
      if (rem >= 2) {
        out_ += fmt::format(" csum 0x{:x}", be16(p));
        rem -= 2;
      }
    }
    return rem == 0;
  }

  // ADD_ADDR: version/echo, id, address, port and hmac, told apart by the length.
  bool mptcp_add_addr(std::size_t o, std::uint32_t len) {
    const bool v4 = len == 8 || len == 10 || len == 16 || len == 18;
    const bool v6 = len == 20 || len == 22 || len == 28 || len == 30;
    if (!v4 && !v6) return false;
    switch (u8(o + 2) & 0xf) {
      case 6: out_ += " v0-ip6"; break;
      case 4: out_ += " v0-ip4"; break;
      case 1: out_ += " v1-echo"; break;
      case 0: out_ += " v1"; break;
      default: out_ += " [bad version/echo]"; break;
    }
    out_ += fmt::format(" id {}", u8(o + 3));
    const std::size_t alen = v4 ? 4 : 16;
    out_ += " " + (v4 ? ip4(o + 4) : ip6(o + 4));
    if (len == 10 || len == 18 || len == 22 || len == 30) out_ += fmt::format(":{}", be16(o + 4 + alen));
    if (len == 16 || len == 28) out_ += fmt::format(" hmac 0x{:x}", be64(o + 4 + alen));
    if (len == 18 || len == 30) out_ += fmt::format(" hmac 0x{:x}", be64(o + 6 + alen));
    return true;
  }

  // `payload`/`plen`: the segment's payload (the md5 option says whether it was all captured).
  // One TCP option's bytes and the segment facts its printing needs.
  struct TcpOpt {
    std::size_t cp;      // the option's data (after kind and length)
    std::uint32_t hlen;  // option space left after the kind and length bytes
    std::uint32_t len;   // the option's length byte (1 for eol and nop)
    bool rev;
    std::uint32_t thseq, thack;
    std::uint8_t flags;
    std::size_t payload;
    std::uint32_t plen;
  };
  // tcpdump's LENCHECK: the l data bytes are there (ok), beyond the option space (bad), or not captured.
  enum class OptCheck { ok, bad, trunc };
  OptCheck opt_check(const TcpOpt& o, std::uint32_t l) const {
    if (l > o.hlen) return OptCheck::bad;
    if (!have(o.cp, l)) return OptCheck::trunc;
    return OptCheck::ok;
  }
  // The option's data bytes from `from` on in hex, each checked first.
  OptCheck opt_hex(const TcpOpt& o, std::uint32_t from, std::uint32_t datalen) {
    for (std::uint32_t i = from; i < datalen; ++i) {
      if (OptCheck c = opt_check(o, i + 1); c != OptCheck::ok) return c;
      out_ += fmt::format("{:02x}", u8(o.cp + i));
    }
    return OptCheck::ok;
  }

  bool tcp_options(std::size_t cp, std::uint32_t hlen, bool rev, std::uint32_t thseq, std::uint32_t thack,
                   std::uint8_t flags, std::size_t payload, std::uint32_t plen) {
    out_ += ", options [";
    char ch = '\0';
    // tcpdump's "goto bad" / "goto trunc" exits of the option loop.
    auto fail = [&](OptCheck why) {
      if (why == OptCheck::bad) {
        out_ += "[bad opt]";
        if (ch != '\0') out_ += "]";
        d_.malformed = true;
      } else {
        out_ += fmt::format(" [|{}]", proto_);
        if (ch != '\0') out_ += ">";
        d_.truncated = true;
      }
      return false;
    };
    while (hlen > 0) {
      if (ch != '\0') out_ += ch;
      const std::uint8_t opt = u8(cp++);
      const bool single = opt == kTcpOptEol || opt == kTcpOptNop;
      std::uint32_t len = 1;
      if (!single) {
        len = u8(cp++);
        if (len < 2 || len > hlen) return fail(OptCheck::bad);
        --hlen;
      }
      --hlen;
      std::uint32_t datalen = 0;
      const TcpOpt o{cp, hlen, len, rev, thseq, thack, flags, payload, plen};
      if (OptCheck why = tcp_option(opt, o, datalen); why != OptCheck::ok) return fail(why);
      cp += datalen;
      hlen -= datalen;
      ++datalen;
      if (!single) ++datalen;
      if (datalen != len) out_ += fmt::format("[len {}]", len);
      ch = ',';
      if (opt == kTcpOptEol) break;
    }
    out_ += "]";
    return true;
  }

  // One option's name and data; datalen is set to the data bytes it covers.
  OptCheck tcp_option(std::uint8_t opt, const TcpOpt& o, std::uint32_t& datalen) {
    switch (opt) {
      case kTcpOptEol: out_ += "eol"; return OptCheck::ok;
      case kTcpOptNop: out_ += "nop"; return OptCheck::ok;
      case kTcpOptSackOk: out_ += "sackOK"; return OptCheck::ok;
      case kTcpOptSack: return tcp_opt_sack(o, datalen);
      case kTcpOptTcpAo: return tcp_opt_ao(o, datalen);
      case kTcpOptMptcp:
        out_ += "mptcp";
        datalen = o.len - 2;
        if (OptCheck c = opt_check(o, datalen); c != OptCheck::ok) return c;
        return mptcp(o.cp - 2, o.len, o.flags) ? OptCheck::ok : OptCheck::bad;
      case kTcpOptFastOpen:
        out_ += "tfo";
        datalen = o.len - 2;
        if (OptCheck c = opt_check(o, datalen); c != OptCheck::ok) return c;
        out_ += " ";
        fastopen(o.cp, datalen, false);
        return OptCheck::ok;
      case kTcpOptExperimental: return tcp_opt_exp(o, datalen);
      default: return tcp_opt_fixed(opt, o, datalen);
    }
  }

  // The options of one fixed data length (and the unknown ones, printed in hex).
  OptCheck tcp_opt_fixed(std::uint8_t opt, const TcpOpt& o, std::uint32_t& datalen) {
    struct Fixed {
      std::uint8_t kind;
      const char* name;
      std::uint32_t datalen;
    };
    static constexpr std::array<Fixed, 11> kFixed = {{{kTcpOptMss, "mss", 2},
                                                      {kTcpOptWscale, "wscale", 1},
                                                      {kTcpOptTimestamp, "TS", 8},
                                                      {kTcpOptEcho, "echo", 4},
                                                      {kTcpOptEchoReply, "echoreply", 4},
                                                      {kTcpOptCc, "cc", 4},
                                                      {kTcpOptCcNew, "ccnew", 4},
                                                      {kTcpOptCcEcho, "", 4},  // tcpdump's table names it ""
                                                      {kTcpOptMd5, "md5", 16},
                                                      {kTcpOptScps, "scps", 2},
                                                      {kTcpOptUserTimeout, "uto", 2}}};
    const auto* f = std::find_if(kFixed.begin(), kFixed.end(), [opt](const Fixed& x) { return x.kind == opt; });
    if (f == kFixed.end()) {  // AccECN (172/174), SNACK, QS, ...: tcpdump 4.99 has no name for them
      out_ += fmt::format("unknown-{}", opt);
      datalen = o.len - 2;
      if (datalen) out_ += " 0x";
      return opt_hex(o, 0, datalen);
    }
    datalen = f->datalen;
    out_ += f->name;
    if (OptCheck c = opt_check(o, datalen); c != OptCheck::ok) return c;
    switch (opt) {
      case kTcpOptMss: out_ += fmt::format(" {}", be16(o.cp)); break;
      case kTcpOptWscale: out_ += fmt::format(" {}", u8(o.cp)); break;
      case kTcpOptTimestamp: out_ += fmt::format(" val {} ecr {}", be32(o.cp), be32(o.cp + 4)); break;
      case kTcpOptMd5:  // tcpdump (built with libcrypto) cannot check it without -M
        out_ += have(o.payload, o.plen) ? " shared secret not supplied with -M, " : " snaplen too short, ";
        out_ += "can't check - " + hex_of(o.cp, datalen);
        break;
      case kTcpOptScps: out_ += fmt::format(" cap {:02x} id {}", u8(o.cp), u8(o.cp + 1)); break;
      case kTcpOptUserTimeout: {
        std::uint32_t uto = be16(o.cp);
        out_ += fmt::format(" 0x{:x}", uto);
        uto = (uto & 1) ? (uto >> 1) * kSecondsPerMinute : uto >> 1;  // low bit set: minutes
        out_ += fmt::format(" {}", uto);
        break;
      }
      default: out_ += fmt::format(" {}", be32(o.cp)); break;  // echo, echoreply, cc, ccnew, ccecho
    }
    return OptCheck::ok;
  }

  OptCheck tcp_opt_sack(const TcpOpt& o, std::uint32_t& datalen) {
    out_ += "sack";
    datalen = o.len - 2;
    if (datalen % kSackBlockLen != 0) {
      out_ += " invalid sack";
      return OptCheck::ok;
    }
    out_ += fmt::format(" {} ", datalen / kSackBlockLen);
    for (std::uint32_t i = 0; i < datalen; i += kSackBlockLen) {
      if (OptCheck c = opt_check(o, i + kSackBlockLen); c != OptCheck::ok) return c;
      const std::uint32_t base = o.rev ? o.thseq : o.thack;
      out_ += fmt::format("{{{}:{}}}", be32(o.cp + i) - base, be32(o.cp + i + 4) - base);
    }
    return OptCheck::ok;
  }

  OptCheck tcp_opt_ao(const TcpOpt& o, std::uint32_t& datalen) {  // TCP-AO (RFC 5925)
    out_ += "tcp-ao";
    datalen = o.len - 2;
    if (datalen < 2) {
      out_ += " (invalid)";
      return OptCheck::ok;
    }
    if (OptCheck c = opt_check(o, 1); c != OptCheck::ok) return c;
    out_ += fmt::format(" keyid {}", u8(o.cp));
    if (OptCheck c = opt_check(o, 2); c != OptCheck::ok) return c;
    out_ += fmt::format(" rnextkeyid {}", u8(o.cp + 1));
    if (datalen > 2) out_ += " mac 0x";
    return opt_hex(o, 2, datalen);
  }

  OptCheck tcp_opt_exp(const TcpOpt& o, std::uint32_t& datalen) {  // RFC 6994, tagged by a magic number
    out_ += "exp";
    datalen = o.len - 2;
    if (OptCheck c = opt_check(o, datalen); c != OptCheck::ok) return c;
    if (datalen < 2) return OptCheck::bad;
    const std::uint16_t magic = be16(o.cp);
    out_ += "-";
    if (magic == kTcpExpMagicFastOpen)
      fastopen(o.cp + 2, datalen - 2, true);
    else
      out_ += fmt::format("{:04x}", magic);
    return OptCheck::ok;
  }

  // ---- UDP ------------------------------------------------------------------------------
  void udp(std::size_t off, std::uint32_t length, bool v6) {
    // tcpdump prints IPv6 addresses with UDP ports only when UDP follows the fixed header.
    const bool ports_only = v6 && ip6_first_nh_ != 17;
    proto_ = "udp";
    d_.proto = "udp";
    if (!have(off, 4)) {
      if (!ports_only) out_ += d_.src + " > " + d_.dst + ": ";
      soft_need(off, 4);
      return;
    }
    std::uint16_t sport = be16(off), dport = be16(off + 2);
    d_.sport = sport;
    d_.dport = dport;
    const std::string addrs = ports_only ? fmt::format("{} > {}: ", sport, dport)
                                         : endpoint(d_.src, sport) + " > " + endpoint(d_.dst, dport) + ": ";
    if (length < 8) {
      out_ += addrs + fmt::format("truncated-udp {}", length);
      d_.malformed = true;
      return;
    }
    if (!have(off + 4, 2)) {
      out_ += addrs;
      soft_need(off + 4, 2);
      return;
    }
    std::uint32_t ulen = be16(off + 4);
    if (ulen == 0 && length > 65535) ulen = length;
    if (ulen < 8) {
      out_ += addrs + fmt::format("truncated-udplength {}", ulen);
      d_.malformed = true;
      return;
    }
    ulen -= 8;
    const std::size_t ip_end = off + length;  // tcpdump's snapend: the end of the IP datagram
    length -= 8;
    out_ += addrs;
    if (!soft_need(off, 8)) return;  // the checksum too, as tcpdump checks it before printing
    if (verbose() > 0 && !fragmented_) udp_checksum(off, std::min(ulen, length));  // before the app printers
    if (!opt().quick && dns_udp_port(sport, dport)) {  // before the length check, as tcpdump
      d_.payload_len = std::min(ulen, length);
      return app_text(dns_print(capped(off + 8, ip_end), std::min(ulen, length), false,
                                sport != 53 && dport != 53, opt().verbose));
    }
    if (const char* app = opt().quick ? nullptr : app::udp_ports_app(sport, dport)) {  // also before it
      d_.payload_len = std::min(ulen, length);
      return app_print(app, capped(off + 8, ip_end), std::min(ulen, length));
    }
    if (ulen > length) {
      out_ += fmt::format("UDP, bad length {} > {}", ulen, length);
      d_.malformed = true;
      return;
    }
    out_ += fmt::format("UDP, length {}", ulen);
    d_.payload_len = ulen;
    std::size_t start = std::min(off + 8, data_.size());
    auto payload = data_.subspan(start, std::min<std::size_t>(data_.size() - start, ulen));
    if (opt().app_hints && ulen > 0) {
      d_.hint = application_hint(false, sport, dport, payload);
      if (!d_.hint.empty()) out_ += ": " + d_.hint;
    }
  }

  // print-udp.c's -v checksum status: IPv6 always, IPv4 from -vv (0 there means "no checksum").
  void udp_checksum(std::size_t off, std::uint32_t paylen) {
    const std::uint16_t carried = be16(off + 6);
    if (!ip_v6_ && verbose() < 2) return;
    if (!ip_v6_ && carried == 0) {
      out_ += "[no cksum] ";
      return;
    }
    if (!have(off + 8, paylen)) return;
    const std::uint16_t sum = transport_cksum(17, off, paylen + 8);
    out_ += sum != 0 ? fmt::format("[bad udp cksum 0x{:04x} -> 0x{:04x}!] ", carried, cksum_shouldbe(carried, sum))
                     : std::string("[udp sum ok] ");
  }

  // ---- ICMP -----------------------------------------------------------------------------
  void icmp(std::size_t off, std::uint32_t length) {
    proto_ = "icmp";
    d_.proto = "icmp";
    (void)u8(off);  // the type byte is a GET (longjmp); the rest of the header a soft check
    if (!soft_need(off, 8)) return;
    std::uint8_t type = u8(off), code = u8(off + 1);
    if (type == 11 && !soft_need(off + 8, 20)) return;
    std::string s;
    try {
      s = icmp_text(off, type, code);
    } catch (const Truncated&) {  // icmp_print's "goto trunc": no longjmp
      soft_need(data_.size(), 1);
      return;
    }
    out_ += "ICMP " + s + fmt::format(", length {}", length);
    if (verbose() == 0) return;
    if (!fragmented_ && have(off, length)) {
      const std::uint16_t sum = cksum_result(word_sum(off, length));
      if (sum != 0) out_ += fmt::format(" (wrong icmp cksum {:x} (->{:x})!)", be16(off + 2), cksum_shouldbe(be16(off + 2), sum));
    }
    if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12) icmp_inner(off + 8);
  }

  // With -v, an ICMP error's quoted datagram is printed on its own line (print-icmp.c), decoded
  // up to its IP length. The packet's own fields (addresses, ports, -X offset) are kept.
  void icmp_inner(std::size_t inner) {
    out_ += "\n\t";
    const std::uint16_t ip_len = be16(inner + 2);
    Decoded saved = d_;
    const auto whole = data_;
    data_ = data_.first(std::min<std::size_t>(data_.size(), inner + ip_len));
    const auto restore = [&] {
      data_ = whole;
      saved.text = std::move(d_.text);
      saved.truncated = saved.truncated || d_.truncated;
      saved.malformed = saved.malformed || d_.malformed;
      d_ = std::move(saved);
    };
    try {
      ipv4(inner, ip_len);
    } catch (const Truncated&) {
      restore();
      throw;
    }
    restore();
  }

  std::string icmp_text(std::size_t off, std::uint8_t type, std::uint8_t code) {
    std::string s;
    switch (type) {
      case 0:
      case 8:
        s = fmt::format("echo {}, id {}, seq {}", type == 8 ? "request" : "reply", be16(off + 4), be16(off + 6));
        break;
      case 3: s = icmp_unreach(off, code); break;
      case 4: s = "source quench"; break;
      case 5: s = fmt::format("redirect {} to host {}", inner_dst(off + 8), ip4(off + 4)); break;
      case 11: s = code == 1 ? "ip reassembly time exceeded" : "time exceeded in-transit"; break;
      case 12: s = fmt::format("parameter problem - octet {}", u8(off + 4)); break;
      case 13:
      case 14:
        s = fmt::format("time stamp {}, id {}, seq {}", type == 13 ? "query" : "reply", be16(off + 4), be16(off + 6));
        break;
      default: s = fmt::format("type-#{}", type); break;
    }
    return s;
  }

  std::string inner_dst(std::size_t inner) const { return ip4(inner + 16); }

  std::string icmp_unreach(std::size_t off, std::uint8_t code) {
    const std::size_t inner = off + 8;
    switch (code) {
      case 0: return fmt::format("net {} unreachable", inner_dst(inner));
      case 1: return fmt::format("host {} unreachable", inner_dst(inner));
      case 2: return fmt::format("{} protocol {} unreachable", inner_dst(inner), u8(inner + 9));
      case 3: {
        std::uint8_t p = u8(inner + 9);
        std::size_t ihl = (u8(inner) & 0x0f) * 4U;
        std::uint16_t port = be16(inner + ihl + 2);
        const char* pname = p == 6 ? "tcp" : p == 17 ? "udp" : nullptr;
        if (pname) return fmt::format("{} {} port {} unreachable", inner_dst(inner), pname, port);
        return fmt::format("{} protocol {} port {} unreachable", inner_dst(inner), p, port);
      }
      case 4: return fmt::format("{} unreachable - need to frag (mtu {})", inner_dst(inner), be16(off + 6));
      case 5: return fmt::format("{} unreachable - source route failed", inner_dst(inner));
      case 9:
      case 10: return fmt::format("{} unreachable - admin prohibited", inner_dst(inner));
      case 13: return fmt::format("{} unreachable - admin prohibited filter", inner_dst(inner));
      default: return fmt::format("{} unreachable - #{}", inner_dst(inner), code);
    }
  }

  // ---- ICMPv6 ---------------------------------------------------------------------------
  static std::string icmp6_name(std::uint8_t type) {
    switch (type) {
      case 1: return "destination unreachable";
      case 2: return "packet too big";
      case 3: return "time exceeded";
      case 4: return "parameter problem";
      case 128: return "echo request";
      case 129: return "echo reply";
      case 130: return "multicast listener query";
      case 131: return "multicast listener report";
      case 132: return "multicast listener done";
      case 133: return "router solicitation";
      case 134: return "router advertisement";
      case 135: return "neighbor solicitation";
      case 136: return "neighbor advertisement";
      case 137: return "redirect";
      case 143: return "multicast listener report v2";
      default: return fmt::format("unknown icmp6 type ({})", type);
    }
  }

  // print-icmp6.c's icmp6_opt_print (-v): one "\n\t  NAME option (T), length L (N): ..." line per
  // neighbor discovery option; -vv adds each option's bytes in hex. A cut option ends the line
  // with "[|icmp6]".
  void nd_options(std::size_t cp, std::int64_t resid) {
    auto hex_lines = [&](std::size_t from, std::size_t n, const char* indent) {
      std::string h = hex_dump(data_.subspan(from, n));
      for (std::size_t at = 0; (at = h.find("\n\t", at)) != std::string::npos; at += 2) h.replace(at, 2, indent);
      out_ += h;
    };
    while (cp < data_.size()) {
      if (!have(cp + 1, 1)) return soft_need(data_.size(), 1), void();
      if (resid <= 0) return;
      const std::uint8_t type = u8(cp), len8 = u8(cp + 1);
      const std::size_t len = std::size_t{len8} << 3;
      if (len8 == 0 || !have(cp, len)) return soft_need(data_.size(), 1), void();
      const char* name = type == 1 ? "source link-address" : type == 2 ? "destination link-address"
                       : type == 3 ? "prefix info" : type == 5 ? "mtu" : type == 25 ? "rdnss" : "unknown";
      out_ += fmt::format("\n\t  {} option ({}), length {} ({}): ", name, type, len, len8);
      switch (type) {
        case 1:
        case 2: out_ += mac(cp + 2, len - 2); break;
        case 3: {
          auto lifetime = [&](std::uint32_t v) { return v == 0xffffffffU ? std::string("infinity") : fmt::format("{}s", v); };
          std::string flags;
          for (auto [bit, fname] : {std::pair<std::uint8_t, const char*>{0x80, "onlink"}, {0x40, "auto"}, {0x20, "router"}})
            if (u8(cp + 3) & bit) flags += (flags.empty() ? "" : ", ") + std::string(fname);
          out_ += fmt::format("{}/{}{}, Flags [{}], valid time {}, pref. time {}", ip6(cp + 16), u8(cp + 2),
                              len8 != 4 ? "badlen" : "", flags.empty() ? "none" : flags, lifetime(be32(cp + 4)),
                              lifetime(be32(cp + 8)));
          break;
        }
        case 5: out_ += fmt::format(" {}{}", be32(cp + 4), len8 != 1 ? "bad option length" : ""); break;
        case 25:
          out_ += fmt::format(" lifetime {}s,", be32(cp + 4));
          for (std::size_t i = 0; i < (len8 - 1U) / 2; ++i) out_ += " addr: " + ip6(cp + 8 + 16 * i);
          break;
        default:
          if (verbose() <= 1) return hex_lines(cp + 2, len - 2, "\n\t  ");
          break;
      }
      if (verbose() > 1) hex_lines(cp + 2, len - 2, "\n\t    ");
      cp += len;
      resid -= static_cast<std::int64_t>(len);
    }
  }

  void icmp6(std::size_t off, std::uint32_t length) {
    proto_ = "icmp6";
    d_.proto = "icmp6";
    std::uint8_t type = u8(off);
    if (verbose() > 0 && !fragmented_ && have(off, length)) {
      const std::uint16_t carried = be16(off + 2), sum = transport_cksum(58, off, length);
      out_ += sum != 0 ? fmt::format("[bad icmp6 cksum 0x{:04x} -> 0x{:04x}!] ", carried, cksum_shouldbe(carried, sum))
                       : std::string("[icmp6 sum ok] ");
    }
    out_ += "ICMP6, " + icmp6_name(type);
    const bool nd_type = (type >= 133 && type <= 137) || type == 145 || type == 147;
    if (verbose() > 0 && nd_type) out_ += fmt::format(", length {}", length);
    std::uint8_t code = u8(off + 1);
    switch (type) {
      case 1: {
        static constexpr std::array<const char*, 8> kCodes = {
            "unreachable route", "unreachable prohibited", "beyond scope", "unreachable address",
            "unreachable port", "source address failed policy", "reject route", "source routing header"};
        const std::size_t inner = off + 8;
        if (code == 4) {
          out_ += ", unreachable port";
          std::uint8_t nh = u8(inner + 6);
          std::uint16_t port = be16(inner + 40 + 2);
          out_ += fmt::format(", {} {} port {}", ip6(inner + 24), nh == 6 ? "tcp" : nh == 17 ? "udp" : "?", port);
        } else if (code < kCodes.size()) {
          out_ += fmt::format(", {} {}", kCodes[code], ip6(inner + 24));
        } else {
          out_ += fmt::format(", unknown unreach code ({})", code);
        }
        break;
      }
      case 2: out_ += fmt::format(", mtu {}", be32(off + 4)); break;
      case 3: if (code == 0) out_ += fmt::format(" in-transit for {}", ip6(off + 8 + 24)); break;
      case 4: out_ += fmt::format(", pointer {}", be32(off + 4)); break;
      case 128:
      case 129:
        out_ += fmt::format(", id {}, seq {}", be16(off + 4), be16(off + 6));
        break;
      case 130: break;
      case 131: out_ += fmt::format(" max resp delay: {} addr: {}", be16(off + 4), ip6(off + 8)); break;
      case 132: out_ += fmt::format(" max resp delay: {} addr: {}", be16(off + 4), ip6(off + 8)); break;
      case 133:
        if (verbose() > 0) nd_options(off + 8, std::int64_t{length} - 8);
        break;
      case 134:
        if (verbose() > 0) {  // print-icmp6.c's router advertisement fields
          static constexpr std::array<const char*, 4> kPref = {"medium", "high", "rsv", "low"};
          const std::uint8_t f = u8(off + 5);
          std::string flags;
          for (auto [bit, name] : {std::pair<std::uint8_t, const char*>{0x80, "managed"}, {0x40, "other stateful"},
                                   {0x20, "home agent"}})
            if (f & bit) flags += (flags.empty() ? "" : ", ") + std::string(name);
          out_ += fmt::format("\n\thop limit {}, Flags [{}], pref {}, router lifetime {}s, reachable time {}ms, retrans timer {}ms",
                              u8(off + 4), flags.empty() ? "none" : flags, kPref[(f >> 3) & 3], be16(off + 6),
                              be32(off + 8), be32(off + 12));
          nd_options(off + 16, std::int64_t{length} - 16);
        }
        break;
      case 135:
        out_ += ", who has " + ip6(off + 8);
        if (verbose() > 0) nd_options(off + 24, std::int64_t{length} - 24);
        break;
      case 136: {
        out_ += ", tgt is " + ip6(off + 8);
        if (verbose() == 0) break;
        std::string flags;  // icmp6_nd_na_flag_values
        const std::uint32_t f = be32(off + 4);
        for (auto [bit, name] : {std::pair<std::uint32_t, const char*>{0x80000000U, "router"}, {0x40000000U, "solicited"},
                                 {0x20000000U, "override"}})
          if (f & bit) flags += (flags.empty() ? "" : ", ") + std::string(name);
        out_ += fmt::format(", Flags [{}]", flags.empty() ? "none" : flags);
        nd_options(off + 24, std::int64_t{length} - 24);
        break;
      }
      case 137: break;
      case 143: out_ += fmt::format(", {} group record(s)", be16(off + 6)); break;
      default: break;
    }
    if (verbose() == 0) out_ += fmt::format(", length {}", length);  // with -v: after ND names only
  }
};

bool DecodeRun::if_indextoname_safe(std::uint32_t index, char* buf, std::size_t size) {
  char name[64] = {};
  if (size < 17) return false;
  if (!::if_indextoname(index, name)) return false;
  std::snprintf(buf, size, "%s", name);
  return true;
}

// ---------------------------------------------------------------------------------------------

bool link_type_supported(int lt) {
  switch (lt) {
    case kLinkNull:
    case kLinkEthernet:
    case kLinkRaw:
    case kLinkRawBsd:
    case kLinkRawFile:
    case kLinkLoop:
    case kLinkLinuxSll:
    case kLinkIpv4:
    case kLinkIpv6:
    case kLinkLinuxSll2: return true;
    default: return false;
  }
}

std::string link_type_name(int lt) {
  switch (lt) {
    case kLinkNull: return "NULL";
    case kLinkEthernet: return "EN10MB";
    case kLinkRaw:
    case kLinkRawBsd:
    case kLinkRawFile: return "RAW";
    case kLinkLoop: return "LOOP";
    case kLinkLinuxSll: return "LINUX_SLL";
    case kLinkIpv4: return "IPV4";
    case kLinkIpv6: return "IPV6";
    case kLinkLinuxSll2: return "LINUX_SLL2";
    default: return fmt::format("DLT {}", lt);
  }
}

std::string link_type_description(int lt) {
  switch (lt) {
    case kLinkNull: return "BSD loopback";
    case kLinkEthernet: return "Ethernet";
    case kLinkRaw:
    case kLinkRawBsd:
    case kLinkRawFile: return "Raw IP";
    case kLinkLoop: return "OpenBSD loopback";
    case kLinkLinuxSll: return "Linux cooked v1";
    case kLinkIpv4: return "Raw IPv4";
    case kLinkIpv6: return "Raw IPv6";
    case kLinkLinuxSll2: return "Linux cooked v2";
    default: return "unknown";
  }
}

std::string tcp_flags_string(std::uint8_t flags) {
  static constexpr std::array<std::pair<std::uint8_t, char>, 8> kFlags = {{{kTcpFin, 'F'},
                                                                          {kTcpSyn, 'S'},
                                                                          {kTcpRst, 'R'},
                                                                          {kTcpPush, 'P'},
                                                                          {kTcpAck, '.'},
                                                                          {kTcpUrg, 'U'},
                                                                          {kTcpEce, 'E'},
                                                                          {kTcpCwr, 'W'}}};
  std::string s;
  for (auto [bit, c] : kFlags)
    if (flags & bit) s += c;
  return s.empty() ? "none" : s;
}

PacketDecoder::PacketDecoder(int linktype, DecodeOptions options) : linktype_(linktype), options_(options) {}

Decoded PacketDecoder::decode(std::span<const std::uint8_t> data, std::uint32_t wire_len) {
  Decoded d;
  if (wire_len < data.size()) wire_len = static_cast<std::uint32_t>(data.size());
  DecodeRun run(*this, data, d);
  run.run(wire_len);
  return d;
}

std::string format_timestamp(std::int64_t sec, std::int64_t usec) {
  std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  localtime_r(&t, &tm);
  return fmt::format("{:02}:{:02}:{:02}.{:06}", tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
}

std::string TimestampPrinter::next(std::int64_t sec, std::int64_t usec) {
  switch (style_) {
    case 1: return "";
    case 2: return fmt::format("{}.{:06} ", sec, usec);
    case 3:
    case 5: {
      const std::int64_t now = sec * 1000000 + usec;
      if (!have_ref_) {
        ref_ = now;
        have_ref_ = true;
      }
      const std::int64_t delta = now < ref_ ? ref_ - now : now - ref_;
      const char sign = now < ref_ ? '-' : ' ';
      if (style_ == 3) ref_ = now;
      const std::int64_t s = (delta / 1000000) % 86400;  // gmtime of the delta: wraps at a day
      return fmt::format("{}{:02}:{:02}:{:02}.{:06} ", sign, s / 3600, s / 60 % 60, s % 60, delta % 1000000);
    }
    case 4: {
      std::time_t t = static_cast<std::time_t>(sec);
      std::tm tm{};
      localtime_r(&t, &tm);
      return fmt::format("{:04}-{:02}-{:02} {} ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, format_timestamp(sec, usec));
    }
    default: return format_timestamp(sec, usec) + " ";
  }
}

// One "\n\t0x0000: " line per 16 bytes: hex in pairs, then (ascii) the column of graphic chars.
static std::string dump_lines(std::span<const std::uint8_t> bytes, bool ascii_column) {
  std::string out;
  for (std::size_t off = 0; off < bytes.size(); off += 16) {
    const std::size_t n = std::min<std::size_t>(16, bytes.size() - off);
    std::string hex;
    for (std::size_t i = 0; i < n; i += 2)
      hex += i + 1 < n ? fmt::format(" {:02x}{:02x}", bytes[off + i], bytes[off + i + 1]) : fmt::format(" {:02x}", bytes[off + i]);
    if (!ascii_column) {
      out += fmt::format("\n\t0x{:04x}: {}", off, hex);
      continue;
    }
    std::string ascii;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t c = bytes[off + i];
      ascii += (c > 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';  // isgraph, as tcpdump
    }
    out += fmt::format("\n\t0x{:04x}: {:<40}  {}", off, hex, ascii);
  }
  return out;
}

std::string hex_dump(std::span<const std::uint8_t> bytes) { return dump_lines(bytes, false); }

std::string hex_ascii_dump(std::span<const std::uint8_t> bytes) { return dump_lines(bytes, true); }

std::string ascii_dump(std::span<const std::uint8_t> bytes) {
  std::string out = "\n";
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::uint8_t c = bytes[i];
    if (c == '\r') {
      // tcpdump's ascii_print: a CR is a '.' only when more than one byte follows and the next
      // is not LF (a CR last or next to last prints nothing).
      if (i + 2 < bytes.size() && bytes[i + 1] != '\n') out += '.';
    } else if ((c > 0x20 && c < 0x7f) || c == '\t' || c == ' ' || c == '\n') {
      out += static_cast<char>(c);
    } else {
      out += '.';
    }
  }
  return out;
}

}  // namespace sockit::dump
