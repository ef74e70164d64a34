// sockit proxy's settings parser and control protocol (no sockets).
#include "tools/proxy/settings.hpp"

#include <gtest/gtest.h>

namespace sockit::proxy {
namespace {

using namespace std::chrono_literals;

TEST(ProxySettings, ParsesPercentages) {
  EXPECT_DOUBLE_EQ(*parse_percent("10%"), 0.10);
  EXPECT_DOUBLE_EQ(*parse_percent("0.5%"), 0.005);
  EXPECT_DOUBLE_EQ(*parse_percent("0.25"), 0.25);
  EXPECT_DOUBLE_EQ(*parse_percent("100%"), 1.0);
  EXPECT_FALSE(parse_percent("150%"));
  EXPECT_FALSE(parse_percent("-1%"));
  EXPECT_FALSE(parse_percent("ten"));
  EXPECT_FALSE(parse_percent("%"));
}

TEST(ProxySettings, ParsesBandwidth) {
  EXPECT_EQ(*parse_bandwidth("1MiB/s"), 1024u * 1024u);
  EXPECT_EQ(*parse_bandwidth("64k"), 64u * 1024u);
  EXPECT_EQ(*parse_bandwidth("off"), 0u);
  EXPECT_FALSE(parse_bandwidth("fast"));
}

TEST(ProxySettings, TcpOnlyAndUdpOnlySettingsAreRefusedOnTheOtherKind) {
  Impairments imp;
  EXPECT_FALSE(set_value(imp, "loss", "10%", /*udp=*/false));
  EXPECT_FALSE(set_value(imp, "slice", "16", /*udp=*/true));
  EXPECT_TRUE(set_value(imp, "slice", "16", false));
  EXPECT_EQ(imp.slice, 16u);
  EXPECT_TRUE(set_value(imp, "delay", "50ms", true));
  EXPECT_EQ(imp.delay, 50ms);
}

TEST(ProxyControl, SetShowAndErrors) {
  Impairments imp;
  bool quit = false;
  auto r = control_command(imp, "set delay 100ms", true, "", quit);
  EXPECT_EQ(r.rfind("OK ", 0), 0u) << r;
  EXPECT_NE(r.find("delay=100ms"), std::string::npos) << r;
  r = control_command(imp, "set loss 30%", true, "", quit);
  EXPECT_NE(r.find("loss=30%"), std::string::npos) << r;
  r = control_command(imp, "stall on", true, "", quit);
  EXPECT_TRUE(imp.stall);
  EXPECT_EQ(control_command(imp, "set loss", true, "", quit).rfind("ERR", 0), 0u);
  EXPECT_EQ(control_command(imp, "set nothing 1", true, "", quit).rfind("ERR", 0), 0u);
  EXPECT_EQ(control_command(imp, "frobnicate", true, "", quit).rfind("ERR", 0), 0u);
  EXPECT_EQ(control_command(imp, "stats", true, "a=1", quit), "OK a=1");
  control_command(imp, "clear", true, "", quit);
  EXPECT_FALSE(imp.stall);
  EXPECT_EQ(imp.loss, 0.0);
  EXPECT_FALSE(quit);
  EXPECT_EQ(control_command(imp, "quit", true, "", quit), "OK bye");
  EXPECT_TRUE(quit);
}

}  // namespace
}  // namespace sockit::proxy
