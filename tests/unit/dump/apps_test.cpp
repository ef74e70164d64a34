// The application printers of `sockit dump` (HTTP, NTP, DHCP/BOOTP like tcpdump 4.99; the --tls
// view) on hand-built packets: exact text, port precedence, truncation at every byte.
#include "app_decoders.hpp"
#include "packet_decoder.hpp"
#include "packets.hpp"

#include <gtest/gtest.h>

#include <memory>

using namespace sockit::dump;
using namespace sockit::dump::test;

namespace {

Bytes tcp_frame(std::uint16_t sport, std::uint16_t dport, const Bytes& data) {
  return ether(ipv4({127, 0, 0, 1}, {127, 0, 0, 1}, 6, tcp(sport, dport, 1000, 5000, kTcpPush | kTcpAck, 512, {}, data)));
}
Bytes udp_frame(std::uint16_t sport, std::uint16_t dport, const Bytes& data) {
  return ether(ipv4({127, 0, 0, 1}, {127, 0, 0, 1}, 17, udp(sport, dport, data)));
}

std::string decode(const Bytes& frame, DecodeOptions opt = {}) {
  opt.app_hints = false;
  PacketDecoder dec(kLinkEthernet, opt);
  return dec.decode(frame, static_cast<std::uint32_t>(frame.size())).text;
}

// The text after "length N" of a TCP line / after the ports of a UDP line.
std::string tail(const std::string& line, const std::string& from) {
  auto at = line.find(from);
  return at == std::string::npos ? "<" + line + ">" : line.substr(at + from.size());
}

Bytes u16(unsigned v) { return Bytes{static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)}; }
Bytes with_len16(const Bytes& body) { return cat(u16(static_cast<unsigned>(body.size())), body); }
Bytes ext(unsigned type, const Bytes& body) { return cat(u16(type), with_len16(body)); }

// A TLS record holding one handshake message.
Bytes handshake_record(std::uint8_t type, const Bytes& body) {
  Bytes msg = {type, 0, static_cast<std::uint8_t>(body.size() >> 8), static_cast<std::uint8_t>(body.size())};
  msg = cat(msg, body);
  return cat(Bytes{22, 3, 1}, with_len16(msg));
}

Bytes client_hello() {
  Bytes b = u16(0x0303);
  b = cat(b, Bytes(32, 7));                                      // random
  b = cat(b, Bytes{0});                                          // session id
  b = cat(b, with_len16(cat(cat(u16(0x1302), u16(0x1301)), u16(0xc02f))));  // 3 suites
  b = cat(b, Bytes{1, 0});                                       // compression: null
  Bytes sni = cat(Bytes{0}, with_len16(text("example.org")));
  Bytes alpn = cat(cat(Bytes{2}, text("h2")), cat(Bytes{8}, text("http/1.1")));
  Bytes exts = cat(ext(0, with_len16(sni)), ext(16, with_len16(alpn)));
  exts = cat(exts, ext(43, Bytes{4, 0x03, 0x04, 0x03, 0x03}));
  return handshake_record(1, cat(b, with_len16(exts)));
}

Bytes server_hello() {
  Bytes b = cat(cat(u16(0x0303), Bytes(32, 9)), Bytes{0});
  b = cat(cat(b, u16(0x1302)), Bytes{0});
  return handshake_record(2, cat(b, with_len16(ext(43, u16(0x0304)))));
}

}  // namespace

TEST(HttpPrinter, RequestLineAndWithVerboseEveryHeaderLine) {
  const Bytes req = text("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(tail(decode(tcp_frame(40000, 80, req)), "length 28"), ": HTTP: GET /a HTTP/1.1");
  DecodeOptions v;
  v.verbose = 1;
  EXPECT_EQ(tail(decode(tcp_frame(40000, 8080, req), v), "length 28"),
            ": HTTP, length: 28\n\tGET /a HTTP/1.1\n\tHost: x\n\t");
}

TEST(HttpPrinter, StatusLineBodyAndBinaryOnHttpPorts) {
  EXPECT_EQ(tail(decode(tcp_frame(80, 40000, text("HTTP/1.0 404 Not Found\r\n"))), "length 24"),
            ": HTTP: HTTP/1.0 404 Not Found");
  EXPECT_EQ(tail(decode(tcp_frame(80, 40000, text("just body bytes\r\n"))), "length 17"), ": HTTP");
  EXPECT_EQ(tail(decode(tcp_frame(40000, 80, Bytes{0x16, 3, 1, 0, 1, 1})), "length 6"), ": HTTP");
  // A line the segment cuts, and a CR followed by something else than LF.
  EXPECT_EQ(tail(decode(tcp_frame(40000, 80, text("POST /x HTTP/1.1\r\nHo"))), "length 20"), ": HTTP: POST /x HTTP/1.1");
  EXPECT_EQ(tail(decode(tcp_frame(40000, 80, text("GET / HTTP/1.1"))), "length 14"), ": HTTP: GET / HTTP/1.1 [|http]");
  EXPECT_EQ(tail(decode(tcp_frame(40000, 80, text("GET /\rX\r\n"))), "length 9"), ": HTTP");
  // Not an HTTP port, or a port a printer tcpdump tries first claims: no HTTP text.
  EXPECT_EQ(tail(decode(tcp_frame(40000, 8000, text("GET / HTTP/1.1\r\n"))), "length 16"), "");
  EXPECT_FALSE(app::tcp_ports_http(21, 80));
  EXPECT_TRUE(app::tcp_ports_http(80, 8080));
}

TEST(NtpPrinter, ModeVersionAndVerboseFields) {
  Bytes ntp = {0x23, 2, 6, 0xec};  // NTPv4 client, stratum 2, poll 6, precision -20
  ntp = cat(ntp, Bytes{0, 0, 0, 0, 0, 1, 0x80, 0, 192, 0, 2, 1});
  ntp = cat(ntp, Bytes(24, 0));  // reference, originate, receive
  put32(ntp, 3908988800U);  // transmit 2023-11-14T22:13:20Z + 0.5
  put32(ntp, 0x80000000U);
  EXPECT_EQ(tail(decode(udp_frame(40000, 123, ntp)), "40000 > 127.0.0.1.123: "), "NTPv4, Client, length 48");
  DecodeOptions v;
  v.verbose = 1;
  const std::string line = decode(udp_frame(40000, 123, ntp), v);
  EXPECT_NE(line.find("\n\tLeap indicator:  (0), Stratum 2 (secondary reference), poll 6 (64s), precision -20"
                      "\n\tRoot Delay: 0.000000, Root dispersion: 1.500000, Reference-ID: 0xc0000201"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("Transmit Timestamp:   3908988800.500000000 (2023-11-14T22:13:20Z)"), std::string::npos) << line;
  // Shorter than a time message: tcpdump's "(invalid)", and " [|ntp]" when not all captured.
  EXPECT_EQ(tail(decode(udp_frame(40000, 123, Bytes{0x24, 1, 2, 3}), v), "length 4"), "\n\tLeap indicator:  (0) (invalid)");
}

TEST(BootpPrinter, DiscoverWithOptions) {
  Bytes b = {1, 1, 6, 0, 0x39, 0x03, 0xf3, 0x26, 0, 3, 0, 0};
  b = cat(b, Bytes(16, 0));
  b = cat(b, Bytes{2, 0, 0, 0, 0, 1});
  b = cat(b, Bytes(10 + 64 + 128, 0));
  b = cat(b, Bytes{99, 130, 83, 99, 53, 1, 1, 12, 5, 'a', 'l', 'i', 'c', 'e', 55, 3, 1, 3, 119, 255});
  EXPECT_EQ(tail(decode(udp_frame(68, 67, b)), "68 > 127.0.0.1.67: "), "BOOTP/DHCP, Request from 02:00:00:00:00:01, length 256");
  DecodeOptions v;
  v.verbose = 1;
  EXPECT_EQ(tail(decode(udp_frame(68, 67, b), v), "length 256"),
            ", xid 0x3903f326, secs 3, Flags [none]\n\t  Client-Ethernet-Address 02:00:00:00:00:01"
            "\n\t  Vendor-rfc1048 Extensions\n\t    Magic Cookie 0x63825363\n\t    DHCP-Message (53), length 1: Discover"
            "\n\t    Hostname (12), length 5: \"alice\"\n\t    Parameter-Request (55), length 3: "
            "\n\t      Subnet-Mask (1), Default-Gateway (3), Unknown (119)");
  // DNS on 53 comes first in tcpdump's order; -q prints the plain UDP line.
  EXPECT_EQ(app::udp_ports_app(53, 67), nullptr);
  EXPECT_STREQ(app::udp_ports_app(68, 123), "bootp");
  DecodeOptions q;
  q.quick = true;
  EXPECT_EQ(tail(decode(udp_frame(68, 67, b), q), "67: "), "UDP, length 256");
}

TEST(TlsView, ClientHelloServerHelloAndAlert) {
  DecodeOptions t;
  t.tls = true;
  const std::string ch = decode(tcp_frame(40000, 443, client_hello()), t);
  EXPECT_NE(ch.find(": TLS: Handshake ClientHello, version TLS 1.2, 3 cipher suites, SNI example.org, ALPN h2,http/1.1, "
                    "supported_versions TLS 1.3,TLS 1.2"),
            std::string::npos)
      << ch;
  const std::string sh = decode(tcp_frame(443, 40000, cat(server_hello(), Bytes{20, 3, 3, 0, 1, 1})), t);
  EXPECT_NE(sh.find(": TLS: Handshake ServerHello, version TLS 1.2, cipher TLS_AES_256_GCM_SHA384 (0x1302), "
                    "supported_version TLS 1.3 | ChangeCipherSpec"),
            std::string::npos)
      << sh;
  EXPECT_NE(decode(tcp_frame(443, 40000, Bytes{21, 3, 3, 0, 2, 2, 70}), t).find(": TLS: Alert fatal protocol_version"),
            std::string::npos);
  EXPECT_NE(decode(tcp_frame(443, 40000, Bytes{23, 3, 3, 0, 40}), t).find(": TLS: ApplicationData 40 bytes"),
            std::string::npos);
  // Without --tls the line is tcpdump's; a payload that is not a record gets no view.
  EXPECT_EQ(decode(tcp_frame(40000, 443, client_hello())).find("TLS"), std::string::npos);
  EXPECT_EQ(decode(tcp_frame(40000, 443, text("hello")), t).find("TLS"), std::string::npos);
}

TEST(AppPrinters, NeverReadPastTheCapturedLengthAtAnyVerbosity) {
  Bytes dhcp = {1, 1, 6, 0, 1, 2, 3, 4, 0, 0, 0x80, 0};
  dhcp = cat(dhcp, Bytes(16, 1));
  dhcp = cat(dhcp, Bytes{2, 0, 0, 0, 0, 1});
  dhcp = cat(dhcp, Bytes(10, 0));
  dhcp = cat(dhcp, Bytes(64, 'a'));  // sname without its NUL
  dhcp = cat(dhcp, Bytes(128, 0));
  dhcp = cat(dhcp, Bytes{99, 130, 83, 99, 0, 0, 61, 7, 1, 2, 0, 0, 0, 0, 1, 121, 5, 24, 10, 0, 0, 1, 82, 4, 9, 2, 1, 2,
                         77, 3, 2, 'a', 'b', 81, 3, 0xf1, 0, 0, 12, 40, 'x'});
  Bytes ntp_ctrl = {0x26, 0xc2, 0, 1, 0x06, 0x15, 0, 3, 0, 0, 0, 8, 'a', 'b', 'c'};
  Bytes ntp_time = Bytes(48, 0xff);
  ntp_time[0] = 0xe4;
  ntp_time = cat(ntp_time, Bytes(20, 1));
  const std::vector<Bytes> frames = {
      udp_frame(68, 67, dhcp), udp_frame(123, 123, ntp_ctrl), udp_frame(123, 40000, ntp_time),
      tcp_frame(40000, 80, text("GET / HTTP/1.1\r\nA: b\r\n\r\nbody")),
      tcp_frame(40000, 443, cat(client_hello(), server_hello())),
  };
  for (int verbose = 0; verbose <= 3; ++verbose) {
    DecodeOptions opt;
    opt.verbose = verbose;
    opt.tls = true;
    for (const auto& f : frames) {
      PacketDecoder dec(kLinkEthernet, opt);
      for (std::size_t n = 0; n <= f.size(); ++n) {
        auto block = std::make_unique<std::uint8_t[]>(n == 0 ? 1 : n);  // ASan sees any overread
        std::copy(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n), block.get());
        Decoded d = dec.decode({block.get(), n}, static_cast<std::uint32_t>(f.size()));
        if (n == f.size()) {
          EXPECT_EQ(d.text.find("[|ip]"), std::string::npos) << "verbose " << verbose << ": " << d.text;
        }
      }
    }
  }
}
