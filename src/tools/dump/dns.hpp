// Internal header of sockit::pcapdecode: the DNS printer of `sockit dump`, after tcpdump 4.99's
// print-domain.c (domain_print, ns_qprint, ns_rprint, fqdn_print), for UDP and TCP port 53 and
// mDNS (UDP port 5353).
//
// Sans-I/O and bounds-checked: the printer sees only the captured bytes of the message and never
// reads past them; where tcpdump's GET_* macros would longjmp, or its printer would "goto trunc",
// the text ends in " [|domain]". Name decompression follows tcpdump: a compression pointer must
// point backwards, before the previous one ("<BAD PTR>" otherwise), so a pointer cycle cannot
// loop; a name longer than 255 characters is cut and marked "<DOMAIN NAME TOO LONG>".
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace sockit::dump {

/// What tcpdump -n prints for one DNS message.
struct DnsText {
  std::string text;        ///< UDP: "12345+ A? example.com. (29)"; TCP: " 12345+ ..." (tcpdump's
                           ///< leading space after "length N")
  bool truncated = false;  ///< the capture ended inside the message (" [|domain]" printed)
  bool malformed = false;  ///< " (invalid)" printed: bad TCP length prefix or a short header
  bool unwound = false;    ///< ended where tcpdump longjmps (a GET_* past the capture): its -X/-A
                           ///< then dump the frame from the link-layer header length
};

/// True when tcpdump hands a UDP datagram with these ports to its DNS printer (53, or 5353 as
/// mDNS; port 53 wins).
bool dns_udp_port(std::uint16_t sport, std::uint16_t dport);
/// True when tcpdump decodes a TCP segment's payload with these ports as DNS: port 53, unless the
/// other port is one whose printer tcpdump tries first (21, 22, 23, 25, 43, 80, 179, 554, ...).
bool dns_tcp_port(std::uint16_t sport, std::uint16_t dport);

/// tcpdump's domain_print. `msg`: the captured bytes of the transport payload (at most up to the
/// end of the IP datagram); `length`: the payload's length on the wire (UDP: the smaller of the
/// UDP and IP lengths; TCP: the segment's payload length, including the 2-byte length prefix when
/// `over_tcp`). `verbose` is the -v count (1: owner names, SOA details; 2: question, authority and
/// additional sections of answers, all sections of queries; 3: TTLs). Never reads outside `msg`.
DnsText dns_print(std::span<const std::uint8_t> msg, std::uint32_t length, bool over_tcp, bool mdns, int verbose);

}  // namespace sockit::dump
