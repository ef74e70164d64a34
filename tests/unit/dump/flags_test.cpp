// tcpdump's everyday flags in the decoder library: -t.. timestamp styles, -x hex dump, -v lines
// (IP header fields, checksums), TCP option names (MPTCP, TCP-AO, MD5, ...). Expected strings are
// tcpdump 4.99.3's output for the same bytes.
#include "packet_decoder.hpp"
#include "packets.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace sockit::dump;
using namespace sockit::dump::test;

namespace {

std::string line(PacketDecoder& dec, const Bytes& frame) {
  return dec.decode(frame, static_cast<std::uint32_t>(frame.size())).text;
}

Bytes segment(std::uint8_t flags, const Bytes& opts, const Bytes& data = {}) {
  return ether(ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 6, tcp(40000, 80, 1000, 2000, flags, 502, opts, data)));
}

// The options part of the line for a segment carrying `opts`.
std::string options_of(const Bytes& opts, std::uint8_t flags = 0x10) {
  PacketDecoder dec(kLinkEthernet, DecodeOptions{false, false, true, false});
  std::string s = line(dec, segment(flags, opts));
  auto at = s.find("options [");
  return at == std::string::npos ? s : s.substr(at);
}

struct UtcZone {
  UtcZone() {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

}  // namespace

TEST(DumpTimestamps, EveryStyleOfMinusT) {
  UtcZone utc;
  const std::int64_t t0 = 1700000000;
  TimestampPrinter plain(0), none(1), epoch(2), date(4);
  EXPECT_EQ(plain.next(t0, 5), "22:13:20.000005 ");
  EXPECT_EQ(none.next(t0, 5), "");
  EXPECT_EQ(epoch.next(t0, 5), "1700000000.000005 ");
  EXPECT_EQ(date.next(t0, 5), "2023-11-14 22:13:20.000005 ");
  TimestampPrinter prev(3), first(5);
  for (auto* p : {&prev, &first}) EXPECT_EQ(p->next(t0, 999999), " 00:00:00.000000 ");
  EXPECT_EQ(prev.next(t0 + 1, 12), " 00:00:00.000013 ");
  EXPECT_EQ(first.next(t0 + 1, 12), " 00:00:00.000013 ");
  EXPECT_EQ(prev.next(t0 + 3723, 12), " 01:02:02.000000 ");
  EXPECT_EQ(first.next(t0 + 3723, 12), " 01:02:02.000013 ");
  EXPECT_EQ(prev.next(t0 + 3722, 12), "-00:00:01.000000 ");  // the clock went back
}

TEST(DumpHex, MinusXHasNoAsciiColumn) {
  Bytes b = text("E..<abcdefghijklmnopq");
  EXPECT_EQ(hex_dump(b),
            "\n\t0x0000:  452e 2e3c 6162 6364 6566 6768 696a 6b6c"
            "\n\t0x0010:  6d6e 6f70 71");
  EXPECT_EQ(hex_ascii_dump(Bytes{0x45, 0x00}), "\n\t0x0000:  4500                                     E.");
  EXPECT_EQ(hex_dump(Bytes{}), "");
}

TEST(DumpVerbose, Ipv4HeaderAndTcpChecksumLikeTcpdump) {
  DecodeOptions o;
  o.app_hints = false;
  o.verbose = 1;
  PacketDecoder dec(kLinkEthernet, o);
  // packets.hpp leaves checksums at 0: tcpdump says which value they should have.
  const std::string s = line(dec, segment(kTcpSyn, {2, 4, 5, 0xb4}));
  EXPECT_EQ(s.substr(0, s.find("\n")), "IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 44, bad cksum 0 (->26c9)!)")
      << s;
  EXPECT_NE(s.find(")\n    10.0.0.1.40000 > 10.0.0.2.80: Flags [S], cksum 0x0000 (incorrect -> 0x"), std::string::npos) << s;
}

TEST(DumpVerbose, VeryVerbosePrintsSeqOnPureAcks) {
  DecodeOptions o;
  o.app_hints = false;
  o.verbose = 2;
  PacketDecoder dec(kLinkEthernet, o);
  EXPECT_NE(line(dec, segment(kTcpAck, {})).find("cksum 0x0000 (incorrect -> 0x"), std::string::npos);
  EXPECT_NE(line(dec, segment(kTcpAck, {})).find(", seq 0, ack 1, win 502, length 0"), std::string::npos);
}

TEST(DumpVerbose, RstDataIsShownWithMinusV) {
  DecodeOptions o;
  o.app_hints = false;
  o.verbose = 1;
  PacketDecoder dec(kLinkEthernet, o);
  const std::string s = line(dec, segment(kTcpRst, {}, cat(text("bye"), Bytes{0x01, 0xff})));
  EXPECT_NE(s.find(", length 5 [RST bye^AM-^?]"), std::string::npos) << s;
}

TEST(DumpTcpOptions, NamedAsTcpdumpNamesThem) {
  EXPECT_EQ(options_of({19, 18, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}),
            "options [md5 shared secret not supplied with -M, can't check - 000102030405060708090a0b0c0d0e0f,nop,nop], length 0");
  EXPECT_EQ(options_of({29, 8, 1, 2, 0xaa, 0xbb, 0xcc, 0xdd}), "options [tcp-ao keyid 1 rnextkeyid 2 mac 0xaabbccdd], length 0");
  EXPECT_EQ(options_of({29, 3, 1}), "options [tcp-ao (invalid),nop], length 0");
  EXPECT_EQ(options_of({172, 11, 0, 0, 1, 0, 0, 2, 0, 0, 3}), "options [unknown-172 0x000001000002000003,nop], length 0");
  EXPECT_EQ(options_of({174, 2}), "options [unknown-174,nop,nop], length 0");
  EXPECT_EQ(options_of({28, 4, 0x80, 0x0a}), "options [uto 0x800a 16389], length 0");
  EXPECT_EQ(options_of({34, 2}), "options [tfo  cookiereq,nop,nop], length 0");
  EXPECT_EQ(options_of({254, 4, 0x12, 0x34}), "options [exp-1234], length 0");
  EXPECT_EQ(options_of({20, 4, 1, 2}), "options [scps cap 01 id 2], length 0");
  EXPECT_EQ(options_of({13, 6, 0, 0, 0, 5}), "options [ 5,nop,nop], length 0");  // ccecho: "" in tcpdump
}

TEST(DumpTcpOptions, MptcpSubtypes) {
  EXPECT_EQ(options_of({30, 12, 0x00, 0x81, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}, kTcpSyn),
            "options [mptcp 12 capable v0 csum {0x1122334455667788}], length 0");
  EXPECT_EQ(options_of({30, 12, 0x10, 0x01, 0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4}, kTcpSyn),
            "options [mptcp 12 join id 1 token 0xaabbccdd nonce 0x1020304], length 0");
  EXPECT_EQ(options_of({30, 8, 0x20, 0x01, 0, 0, 0, 100}), "options [mptcp 8 dss ack 100], length 0");
  EXPECT_EQ(options_of({30, 8, 0x30, 0x01, 10, 0, 0, 9}), "options [mptcp 8 add-addr v1 id 1 10.0.0.9], length 0");
  EXPECT_EQ(options_of({30, 5, 0x40, 1, 2}), "options [mptcp 5 rem-addr id 1 2,nop,nop,nop], length 0");
  EXPECT_EQ(options_of({30, 3, 0x51}), "options [mptcp 3 prio backup,nop], length 0");
  EXPECT_EQ(options_of({30, 12, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 100}), "options [mptcp 12 fail seq 100], length 0");
  EXPECT_EQ(options_of({30, 4, 0x80, 0x01}), "options [mptcp 4 unknown], length 0");  // MP_TCPRST: 4.99 has no name
  EXPECT_EQ(options_of({30, 6, 0x20, 0, 0, 0}), "options [mptcp 6 dss[bad opt]");
}

TEST(DumpUnsupportedLink, SaysUnsupported) {
  PacketDecoder dec(147);
  Decoded d = dec.decode(text("hello"), 5);
  EXPECT_EQ(d.text, "UNSUPPORTED");
  EXPECT_TRUE(d.unsupported_link);
}
