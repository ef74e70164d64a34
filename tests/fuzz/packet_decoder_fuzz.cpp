// libFuzzer target: the packet decoder of `sockit dump` (sockit::pcapdecode) and the TCP tracker
// fed with what it decodes. Input: byte 0 selects the link type (byte 0 % 10, index into kLinkTypes)
// and, as byte 0 / 10, more options (bit 0 --tls, bits 1-2 the -v count, so the application
// printers run at every verbosity), byte 1
// the decoder options (bit 0 -e, bit 1 -q, bit 2 -S, bit 3 hints off); the rest is decoded once as
// one frame, then again as a sequence of frames each prefixed by a 1-byte length, through one
// decoder (relative sequence numbers, reassembly state). Seeds: corpus/packet_decoder/, made
// from the pcap fixtures in tests/data/pcap (selector byte, 0x00, one captured frame); the apps_*
// seeds (HTTP, TLS, NTP, DHCP frames of the tests' captures) with --tls and -v set.
#include "tools/dump/packet_decoder.hpp"
#include "tools/dump/tcp_tracker.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sockit::dump;
  static constexpr std::array<int, 10> kLinkTypes = {kLinkEthernet, kLinkLinuxSll2, kLinkLinuxSll, kLinkNull,
                                                     kLinkLoop,     kLinkRaw,       kLinkRawFile,  kLinkIpv4,
                                                     kLinkIpv6,     kLinkRawBsd};
  if (size < 2) return 0;
  const int linktype = kLinkTypes[data[0] % kLinkTypes.size()];
  DecodeOptions opt;
  opt.link_header = data[1] & 1;
  opt.quick = data[1] & 2;
  opt.absolute_seq = data[1] & 4;
  opt.app_hints = !(data[1] & 8);
  opt.tls = (data[0] / kLinkTypes.size()) & 1;
  opt.verbose = static_cast<int>((data[0] / kLinkTypes.size()) >> 1) & 3;
  std::span<const std::uint8_t> body(data + 2, size - 2);

  PacketDecoder dec(linktype, opt);
  TcpTracker tracker(TrackerLimits{true, 4096, 65536, 64});
  // The on-wire length may exceed the captured bytes (snaplen); never the other way round.
  Decoded d = dec.decode(body, static_cast<std::uint32_t>(body.size() + (data[1] >> 4)));
  if (d.tcp) tracker.add(*d.tcp, 0.0);
  (void)hex_ascii_dump(body.subspan(std::min(d.network_offset, body.size())));
  (void)hex_dump(body);
  (void)ascii_dump(body);

  double ts = 0;
  for (std::size_t off = 0; off < body.size();) {
    std::size_t n = std::min<std::size_t>(body[off], body.size() - off - 1);
    auto frame = body.subspan(off + 1, n);
    Decoded f = dec.decode(frame, static_cast<std::uint32_t>(frame.size()));
    if (f.tcp) tracker.add(*f.tcp, ts += 0.001);
    off += 1 + n;
  }
  tracker.finish();
  for (const auto& c : tracker.connections()) {
    (void)c.state();
    (void)c.name();
  }
  return 0;
}
