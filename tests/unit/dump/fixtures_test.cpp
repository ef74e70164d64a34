// Decodes the pcap fixtures of tests/data/pcap and compares every line with what tcpdump 4.99.3
// printed for the same file (the .txt files, made by regen-expected.sh with TZ=UTC).
#include "packet_decoder.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace sockit::dump;

namespace {

struct Record {
  std::int64_t sec = 0, usec = 0;
  std::uint32_t len = 0;
  std::vector<std::uint8_t> data;
};

// Minimal classic-pcap reader (the decoder itself never reads files).
bool read_pcap(const std::string& path, int& linktype, std::vector<Record>& out) {
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  if (all.size() < 24) return false;
  auto u32 = [&](std::size_t off, bool swap) {
    std::uint32_t v;
    std::memcpy(&v, all.data() + off, 4);
    return swap ? __builtin_bswap32(v) : v;
  };
  std::uint32_t magic = u32(0, false);
  bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
  bool nano = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
  if (!swap && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) return false;
  linktype = static_cast<int>(u32(20, swap) & 0x0fffffff);
  for (std::size_t off = 24; off + 16 <= all.size();) {
    Record r;
    r.sec = u32(off, swap);
    r.usec = u32(off + 4, swap) / (nano ? 1000 : 1);
    std::uint32_t caplen = u32(off + 8, swap);
    r.len = u32(off + 12, swap);
    off += 16;
    if (caplen > all.size() - off) return false;
    r.data.assign(all.begin() + static_cast<std::ptrdiff_t>(off), all.begin() + static_cast<std::ptrdiff_t>(off + caplen));
    off += caplen;
    out.push_back(std::move(r));
  }
  return true;
}

std::vector<std::string> expected_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

struct Case {
  const char* file;
  const char* variant;  // "", "e", "X", "q"
};

class Fixture : public ::testing::TestWithParam<Case> {};

TEST_P(Fixture, MatchesTcpdumpLineByLine) {
  setenv("TZ", "UTC", 1);
  tzset();
  const Case c = GetParam();
  const std::string dir = std::string(SOCKIT_SOURCE_DIR) + "/tests/data/pcap/";
  int linktype = -1;
  std::vector<Record> recs;
  ASSERT_TRUE(read_pcap(dir + c.file, linktype, recs)) << c.file;
  const std::string v = c.variant;
  DecodeOptions opt;
  opt.app_hints = false;
  opt.link_header = v == "e";
  opt.quick = v == "q";
  if (linktype == 101) linktype = kLinkRawFile;
  PacketDecoder dec(linktype, opt);
  std::string out;
  for (const auto& r : recs) {
    if (r.data.empty() || r.len == 0) {
      out += "[Invalid header: caplen==0, len==0]\n";  // the app prints these, not the decoder
      continue;
    }
    Decoded d = dec.decode(r.data, r.len);
    out += format_timestamp(r.sec, r.usec) + " " + d.text;
    std::span<const std::uint8_t> net(r.data);
    net = net.subspan(std::min(d.network_offset, net.size()));
    if (d.unknown_payload && v != "X" && v != "q") out += hex_ascii_dump(net);
    if (v == "X") out += hex_ascii_dump(net);
    out += "\n";
  }
  std::istringstream got(out);
  std::vector<std::string> want = expected_lines(dir + c.file + (v.empty() ? "" : "." + v) + ".txt");
  std::size_t i = 0;
  for (std::string l; std::getline(got, l); ++i) {
    ASSERT_LT(i, want.size()) << "extra line: " << l;
    EXPECT_EQ(l, want[i]) << c.file << " line " << i + 1;
  }
  EXPECT_EQ(i, want.size());
}

std::vector<Case> cases() {
  std::vector<Case> v;
  for (const char* f : {"loopback_echo.pcap", "any_irc.pcap", "synthetic_ether.pcap", "synthetic_bad.pcap",
                        "synthetic_raw.pcap", "synthetic_null.pcap", "synthetic_sll.pcap", "dns_edge.pcap",
                        "synthetic_apps.pcap"})
    for (const char* var : {"", "e", "X", "q"}) v.push_back({f, var});
  return v;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string n = info.param.file;
  n = n.substr(0, n.find('.'));
  return n + (*info.param.variant ? std::string("_") + info.param.variant : std::string("_plain"));
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Tcpdump, Fixture, ::testing::ValuesIn(cases()), case_name);

namespace {

// The DNS text of one packet line: what follows "ADDR.PORT > ADDR.PORT: " (UDP, after a checksum
// remark "[no cksum] " / "[udp sum ok] " / "[bad udp cksum ...] ") or ", length N" (TCP).
std::string dns_part(const std::string& line) {
  auto gt = line.find(" > ");
  if (gt == std::string::npos) return line;
  auto colon = line.find(": ", gt);
  if (colon == std::string::npos) return line;
  std::string rest = line.substr(colon + 2);
  if (rest.rfind("Flags [", 0) == 0) {
    auto len = rest.find(", length ");
    if (len == std::string::npos) return rest;
    auto end = rest.find_first_not_of("0123456789", len + 9);
    return end == std::string::npos ? std::string() : rest.substr(end);
  }
  if (rest.rfind("[no cksum] ", 0) == 0 || rest.rfind("[udp sum ok] ", 0) == 0 || rest.rfind("[bad udp cksum ", 0) == 0)
    rest = rest.substr(rest.find("] ") + 2);
  return rest;
}

class DnsVerbose : public ::testing::TestWithParam<int> {};

// dns_edge.pcap with -v, -vv, -vvv: the DNS text of every packet against tcpdump's (the IP and
// transport details -v adds around it are the packet decoder's and are compared elsewhere).
TEST_P(DnsVerbose, MatchesTcpdumpDnsTextLineByLine) {
  const int level = GetParam();
  const std::string dir = std::string(SOCKIT_SOURCE_DIR) + "/tests/data/pcap/";
  int linktype = -1;
  std::vector<Record> recs;
  ASSERT_TRUE(read_pcap(dir + "dns_edge.pcap", linktype, recs));
  std::vector<std::string> want;  // tcpdump -v puts the transport line on an indented second line
  for (auto& l : expected_lines(dir + "dns_edge.pcap." + std::string(static_cast<std::size_t>(level), 'v') + ".txt")) {
    if (l.rfind("    ", 0) == 0 && !want.empty()) want.back() = l;
    else want.push_back(l);
  }
  ASSERT_EQ(want.size(), recs.size());
  DecodeOptions opt;
  opt.app_hints = false;
  opt.verbose = level;
  PacketDecoder dec(linktype, opt);
  for (std::size_t i = 0; i < recs.size(); ++i) {
    std::string got = dec.decode(recs[i].data, recs[i].len).text;
    auto nl = got.rfind('\n');
    if (nl != std::string::npos) got = got.substr(nl + 1);
    EXPECT_EQ(dns_part(got), dns_part(want[i])) << "packet " << i + 1 << ": " << want[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Tcpdump, DnsVerbose, ::testing::Values(1, 2, 3),
                         [](const ::testing::TestParamInfo<int>& p) { return "v" + std::to_string(p.param); });

}  // namespace
