#include "packet_decoder.hpp"
#include "packets.hpp"

#include <gtest/gtest.h>

#include <memory>

using namespace sockit::dump;
using namespace sockit::dump::test;

namespace {

const Bytes kMss = {2, 4, 0xff, 0xd7};
const Bytes kSackOk = {4, 2};
const Bytes kTs = {8, 10, 0, 0, 0, 100, 0, 0, 0, 0};
const Bytes kWs = {1, 3, 3, 7};

std::string line(PacketDecoder& dec, const Bytes& frame) {
  return dec.decode(frame, static_cast<std::uint32_t>(frame.size())).text;
}

Bytes c2s(std::uint32_t seq, std::uint32_t ack, std::uint8_t flags, const Bytes& opts = {}, const Bytes& data = {}) {
  return ether(ipv4({127, 0, 0, 1}, {127, 0, 0, 1}, 6, tcp(40000, 7007, seq, ack, flags, 512, opts, data)));
}
Bytes s2c(std::uint32_t seq, std::uint32_t ack, std::uint8_t flags, const Bytes& opts = {}, const Bytes& data = {}) {
  return ether(ipv4({127, 0, 0, 1}, {127, 0, 0, 1}, 6, tcp(7007, 40000, seq, ack, flags, 512, opts, data)));
}

}  // namespace

TEST(PacketDecoder, SynShowsAbsoluteSeqFlagsAndOptions) {
  PacketDecoder dec(kLinkEthernet, {.app_hints = false});
  EXPECT_EQ(line(dec, c2s(1000, 0, kTcpSyn, cat(cat(cat(kMss, kSackOk), kTs), Bytes{1, 3, 3, 7}))),
            "IP 127.0.0.1.40000 > 127.0.0.1.7007: Flags [S], seq 1000, win 512, options [mss 65495,sackOK,TS val 100 "
            "ecr 0,nop,wscale 7], length 0");
}

TEST(PacketDecoder, SequenceNumbersAreRelativeAfterTheHandshake) {
  PacketDecoder dec(kLinkEthernet, {.app_hints = false});
  line(dec, c2s(1000, 0, kTcpSyn));
  EXPECT_EQ(line(dec, s2c(5000, 1001, kTcpSyn | kTcpAck)),
            "IP 127.0.0.1.7007 > 127.0.0.1.40000: Flags [S.], seq 5000, ack 1001, win 512, length 0");
  EXPECT_EQ(line(dec, c2s(1001, 5001, kTcpAck)), "IP 127.0.0.1.40000 > 127.0.0.1.7007: Flags [.], ack 1, win 512, length 0");
  EXPECT_EQ(line(dec, c2s(1001, 5001, kTcpAck | kTcpPush, {}, text("hello"))),
            "IP 127.0.0.1.40000 > 127.0.0.1.7007: Flags [P.], seq 1:6, ack 1, win 512, length 5");
  EXPECT_EQ(line(dec, s2c(5001, 1006, kTcpAck | kTcpFin)),
            "IP 127.0.0.1.7007 > 127.0.0.1.40000: Flags [F.], seq 1, ack 6, win 512, length 0");
}

TEST(PacketDecoder, AbsoluteSequenceNumbersWithOptionS) {
  PacketDecoder dec(kLinkEthernet, {.absolute_seq = true, .app_hints = false});
  line(dec, s2c(5000, 1001, kTcpSyn | kTcpAck));
  EXPECT_EQ(line(dec, c2s(1001, 5001, kTcpAck)), "IP 127.0.0.1.40000 > 127.0.0.1.7007: Flags [.], ack 5001, win 512, length 0");
}

TEST(PacketDecoder, SackBlocksAreRelativeToThePeersSequence) {
  PacketDecoder dec(kLinkEthernet, {.app_hints = false});
  line(dec, s2c(5000, 1001, kTcpSyn | kTcpAck));
  Bytes sack = {1, 1, 5, 10};
  put32(sack, 5011);
  put32(sack, 5021);
  EXPECT_EQ(line(dec, c2s(1001, 5001, kTcpAck, sack)),
            "IP 127.0.0.1.40000 > 127.0.0.1.7007: Flags [.], ack 1, win 512, options [nop,nop,sack 1 {11:21}], length 0");
}

TEST(PacketDecoder, AllFlagsInTcpdumpOrder) {
  EXPECT_EQ(tcp_flags_string(0), "none");
  EXPECT_EQ(tcp_flags_string(kTcpFin | kTcpPush | kTcpAck), "FP.");
  EXPECT_EQ(tcp_flags_string(0xff), "FSRP.UEW");
}

TEST(PacketDecoder, QuickModePrintsTcpLength) {
  PacketDecoder dec(kLinkEthernet, {.quick = true, .app_hints = false});
  EXPECT_EQ(line(dec, c2s(1, 2, kTcpAck, {}, text("abc"))), "IP 127.0.0.1.40000 > 127.0.0.1.7007: tcp 3");
}

TEST(PacketDecoder, LinkHeaderWithE) {
  PacketDecoder dec(kLinkEthernet, {.link_header = true, .app_hints = false});
  EXPECT_EQ(line(dec, ether(ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 17, udp(1, 2, text("x"))))),
            "00:00:00:00:00:01 > 00:00:00:00:00:02, ethertype IPv4 (0x0800), length 43: 10.0.0.1.1 > 10.0.0.2.2: UDP, "
            "length 1");
}

TEST(PacketDecoder, TruncatedTcpHeaderIsMarked) {
  PacketDecoder dec(kLinkEthernet);
  Bytes f = c2s(1, 0, kTcpSyn, kMss);
  Bytes cut(f.begin(), f.begin() + 14 + 20 + 10);
  Decoded d = dec.decode(cut, static_cast<std::uint32_t>(f.size()));
  EXPECT_EQ(d.text, "IP 127.0.0.1.40000 > 127.0.0.1.7007:  [|tcp]");
  EXPECT_TRUE(d.truncated);
  cut.resize(14 + 20 + 2);
  EXPECT_EQ(dec.decode(cut, static_cast<std::uint32_t>(f.size())).text, "IP 127.0.0.1 > 127.0.0.1: [|tcp]");
}

TEST(PacketDecoder, ShortIpHeaderIsMarked) {
  PacketDecoder dec(kLinkEthernet);
  Bytes f = c2s(1, 0, kTcpSyn);
  Bytes cut(f.begin(), f.begin() + 24);
  EXPECT_EQ(dec.decode(cut, static_cast<std::uint32_t>(f.size())).text, "IP  [|ip]");
}

TEST(PacketDecoder, IpLengthBeyondFrameIsReported) {
  PacketDecoder dec(kLinkEthernet, {.app_hints = false});
  Bytes f = ether(ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 6, tcp(1, 2, 3, 4, kTcpSyn), 200));
  Decoded d = dec.decode(f, static_cast<std::uint32_t>(f.size()));
  EXPECT_EQ(d.text.rfind("IP truncated-ip - 160 bytes missing! 10.0.0.1.1 > 10.0.0.2.2: Flags [S]", 0), 0U) << d.text;
  EXPECT_TRUE(d.malformed);
}

TEST(PacketDecoder, BadTcpOptionLengthStopsTheLine) {
  PacketDecoder dec(kLinkEthernet, {.app_hints = false});
  Decoded d = dec.decode(c2s(3, 0, kTcpSyn, {2, 9, 5, 0xb4}), 58);
  EXPECT_EQ(d.text, "IP 127.0.0.1.40000 > 127.0.0.1.7007: Flags [S], seq 3, win 512, options [[bad opt]");
  EXPECT_TRUE(d.malformed);
}

TEST(PacketDecoder, TcpHeaderLengthTooShort) {
  PacketDecoder dec(kLinkEthernet);
  Bytes seg = tcp(1, 2, 3, 4, kTcpSyn);
  seg[12] = 3 << 4;
  Bytes f = ether(ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 6, seg));
  EXPECT_EQ(line(dec, f), "IP 10.0.0.1.1 > 10.0.0.2.2:  tcp 8 [bad hdr length 12 - too short, < 20]");
}

TEST(PacketDecoder, UdpAndIcmpEcho) {
  PacketDecoder dec(kLinkEthernet, {.app_hints = false});
  EXPECT_EQ(line(dec, ether(ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 17, udp(5000, 6000, text("hi!"))))),
            "IP 10.0.0.1.5000 > 10.0.0.2.6000: UDP, length 3");
  Bytes echo = {8, 0, 0, 0, 0, 77, 0, 1};
  EXPECT_EQ(line(dec, ether(ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 1, cat(echo, Bytes(56, 'x'))))),
            "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 77, seq 1, length 64");
}

TEST(PacketDecoder, Ipv6HopByHopThenIcmp6) {
  PacketDecoder dec(kLinkIpv6);
  Bytes hbh = {58, 0, 5, 2, 0, 0, 1, 0};
  Bytes echo = {128, 0, 0, 0, 0, 9, 0, 2, 'p', 'i', 'n', 'g'};
  EXPECT_EQ(line(dec, ipv6(loopback6(), loopback6(), 0, cat(hbh, echo))),
            "IP6 ::1 > ::1: HBH ICMP6, echo request, id 9, seq 2, length 12");
}

TEST(PacketDecoder, Ipv6TcpUsesBracketlessEndpoints) {
  PacketDecoder dec(kLinkIpv6, {.app_hints = false});
  EXPECT_EQ(line(dec, ipv6(loopback6(), loopback6(), 6, tcp(1, 2, 10, 0, kTcpSyn))),
            "IP6 ::1.1 > ::1.2: Flags [S], seq 10, win 512, length 0");
}

TEST(PacketDecoder, CookedV1AndNull) {
  Bytes sll = {0, 4, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0};
  PacketDecoder dec(kLinkLinuxSll, {.link_header = true, .app_hints = false});
  EXPECT_EQ(line(dec, cat(sll, ipv4({1, 2, 3, 4}, {5, 6, 7, 8}, 17, udp(1, 2, {})))),
            "Out 00:00:00:00:00:00 ethertype IPv4 (0x0800), length 44: 1.2.3.4.1 > 5.6.7.8.2: UDP, length 0");
  PacketDecoder null(kLinkNull, {.app_hints = false});
  EXPECT_EQ(line(null, cat(Bytes{2, 0, 0, 0}, ipv4({1, 2, 3, 4}, {5, 6, 7, 8}, 17, udp(1, 2, {})))),
            "IP 1.2.3.4.1 > 5.6.7.8.2: UDP, length 0");
}

TEST(PacketDecoder, ArpRequestAndReply) {
  PacketDecoder dec(kLinkEthernet);
  Bytes req = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2};
  EXPECT_EQ(line(dec, ether(req, 0x0806)), "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28");
  Bytes rep = {0, 1, 8, 0, 6, 4, 0, 2, 2, 0, 0, 0, 0, 2, 10, 0, 0, 2, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1};
  EXPECT_EQ(line(dec, ether(rep, 0x0806)), "ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02, length 28");
}

TEST(PacketDecoder, UnknownLinkTypeSaysSo) {
  // As tcpdump 4.99: "UNSUPPORTED", and the whole frame is hex-dumped (unsupported_link).
  PacketDecoder dec(9999);
  EXPECT_EQ(line(dec, Bytes{1, 2, 3}), "UNSUPPORTED");
  Bytes frame{1, 2, 3};
  Decoded d = dec.decode(frame, 3);
  EXPECT_TRUE(d.unsupported_link);
  EXPECT_EQ(d.network_offset, 0U);
  EXPECT_FALSE(link_type_supported(9999));
}

// Every prefix of every frame, copied to an exactly-sized heap block: ASan reports any read
// past the captured length.
TEST(PacketDecoder, NeverReadsPastTheCapturedLength) {
  std::vector<std::pair<int, Bytes>> frames = {
      {kLinkEthernet, c2s(1, 0, kTcpSyn, cat(cat(kMss, kSackOk), kTs), text("data"))},
      {kLinkEthernet, ether(ipv4({1, 1, 1, 1}, {2, 2, 2, 2}, 1, Bytes{3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0, 0, 28, 0, 0, 0, 0,
                                                                      64, 17, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0, 2}))},
      {kLinkIpv6, ipv6(loopback6(), loopback6(), 0, cat(Bytes{58, 0, 5, 2, 0, 0, 1, 0}, Bytes{1, 4, 0, 0, 0, 0, 0, 0}))},
      {kLinkEthernet, ether(Bytes{0, 10, 8, 0, 0x45}, 0x8100)},
  };
  for (auto& [lt, f] : frames) {
    PacketDecoder dec(lt);
    for (std::size_t n = 0; n <= f.size(); ++n) {
      auto block = std::make_unique<std::uint8_t[]>(n == 0 ? 1 : n);
      std::copy(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n), block.get());
      Decoded d = dec.decode({block.get(), n}, static_cast<std::uint32_t>(f.size()));
      if (n < f.size() && n < 14 && lt == kLinkEthernet) {
        EXPECT_TRUE(d.truncated) << n;
      }
    }
  }
}

TEST(PacketDecoder, HexAndAsciiDumpsLikeTcpdump) {
  Bytes b = text("E..<hello world!\x01");
  EXPECT_EQ(hex_ascii_dump(b),
            "\n\t0x0000:  452e 2e3c 6865 6c6c 6f20 776f 726c 6421  E..<hello.world!\n\t0x0010:  01                "
            "                       .");
  EXPECT_EQ(ascii_dump(text("a b\r\nc\rd\x01")), "\na b\nc.d.");
}

TEST(ApplicationHint, IrcCommandOfEachLine) {
  EXPECT_EQ(application_hint(true, 40000, 6667, text("PRIVMSG #chan :hello there\r\n")), "IRC: PRIVMSG #chan");
  EXPECT_EQ(application_hint(true, 6667, 40000, text(":srv 001 alice :Welcome\r\nPING :x\r\n")), "IRC: 001 alice | PING x");
  EXPECT_EQ(application_hint(true, 1234, 5678, text("NICK bob\r\nUSER bob 0 * :Bob\r\n")), "IRC: NICK bob | USER bob");
  EXPECT_EQ(application_hint(true, 1234, 5678, text("GET / HTTP/1.1\r\n")), "");
  EXPECT_EQ(application_hint(true, 1234, 5678, text("hello\n")), "");
}

TEST(ApplicationHint, EchoPorts) {
  EXPECT_EQ(application_hint(true, 40000, 7007, text("hi\n")), "echo request \"hi\\n\"");
  EXPECT_EQ(application_hint(false, 7, 40000, text("x")), "echo reply \"x\"");
}

TEST(PacketDecoder, HintIsAppendedToTheLine) {
  PacketDecoder dec(kLinkEthernet);
  EXPECT_EQ(line(dec, c2s(1, 1, kTcpAck | kTcpPush, {}, text("JOIN #c\r\n"))),
            "IP 127.0.0.1.40000 > 127.0.0.1.7007: Flags [P.], seq 1:10, ack 1, win 512, length 9: echo request "
            "\"JOIN #c\\r\\n\"");
}
