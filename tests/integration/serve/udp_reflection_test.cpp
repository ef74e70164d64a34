// Reflection defences of the UDP services without sockets (issue 24, item 2): which source ports
// are never answered, when the start-up warning is due, and chargen's reply size.
#include "sockit/proto/services.hpp"
#include "sockit/serve/udp_server.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

using sockit::Address;
namespace serve = sockit::serve;
namespace proto = sockit::proto;

TEST(UdpReflection, ServicePortsAreRefusedEvenWhenLowPortsAreAllowed) {
  for (std::uint16_t p : {7, 9, 13, 17, 19, 37, 53, 123, 161, 1900, 11211}) {
    EXPECT_TRUE(serve::udp_source_port_refused(p, false)) << p;
    EXPECT_TRUE(serve::udp_source_port_refused(p, true)) << p;
  }
  EXPECT_TRUE(serve::udp_source_port_refused(0, true));
}

TEST(UdpReflection, LowPortsAreRefusedUnlessAllowed) {
  EXPECT_TRUE(serve::udp_source_port_refused(1, false));
  EXPECT_TRUE(serve::udp_source_port_refused(1023, false));
  EXPECT_FALSE(serve::udp_source_port_refused(1023, true));
  EXPECT_FALSE(serve::udp_source_port_refused(1024, false));
  EXPECT_FALSE(serve::udp_source_port_refused(40000, false));
  EXPECT_FALSE(serve::udp_source_port_refused(65535, false));
}

TEST(UdpReflection, WarningOnlyForNonLoopbackBinds) {
  EXPECT_FALSE(serve::udp_exposure_warning(*Address::parse("127.0.0.1:7007")));
  EXPECT_FALSE(serve::udp_exposure_warning(*Address::parse("127.0.0.53:7")));
  EXPECT_FALSE(serve::udp_exposure_warning(*Address::parse("[::1]:7007")));
  auto any = serve::udp_exposure_warning(*Address::parse("0.0.0.0:7007"));
  ASSERT_TRUE(any);
  EXPECT_NE(any->find("0.0.0.0:7007"), std::string::npos) << *any;
  EXPECT_NE(any->find("reflect"), std::string::npos) << *any;
  EXPECT_TRUE(serve::udp_exposure_warning(*Address::parse("[::]:7007")));
  EXPECT_TRUE(serve::udp_exposure_warning(*Address::parse("192.0.2.1:19")));
}

namespace {
std::optional<std::size_t> reply_size(serve::DatagramHandler& h, std::size_t request) {
  std::vector<std::byte> in(request, std::byte{'x'});
  std::vector<std::byte> out(65536);
  return h(in, *Address::parse("192.0.2.1:40000"), out);
}
}  // namespace

TEST(UdpReflection, ChargenReplyIsNoLargerThanTheRequest) {
  auto h = proto::make_datagram_handler(proto::Service::chargen);
  for (int i = 0; i < 200; ++i) {  // every length of the 418..512 cycle
    EXPECT_EQ(reply_size(h, 0), std::size_t{0});
    EXPECT_EQ(reply_size(h, 28), std::size_t{28});
    auto big = reply_size(h, 2000);
    ASSERT_TRUE(big);
    EXPECT_GE(*big, 418u);
    EXPECT_LE(*big, 512u);
  }
}

TEST(UdpReflection, ChargenFullKeepsTheRfcLength) {
  proto::DatagramOptions o;
  o.chargen_full = true;
  auto h = proto::make_datagram_handler(proto::Service::chargen, {}, o);
  for (int i = 0; i < 100; ++i) {
    auto n = reply_size(h, 0);
    ASSERT_TRUE(n);
    EXPECT_GE(*n, 418u);
    EXPECT_LE(*n, 512u);
  }
}
