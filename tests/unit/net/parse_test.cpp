#include "sockit/net/deadline.hpp"
#include "sockit/net/parse.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

TEST(ParseDuration, AcceptsNcatUnits) {
  EXPECT_EQ(*sockit::parse_duration("500ms"), 500ms);
  EXPECT_EQ(*sockit::parse_duration("2s"), 2s);
  EXPECT_EQ(*sockit::parse_duration("2"), 2s);
  EXPECT_EQ(*sockit::parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(*sockit::parse_duration("1m"), 60s);
  EXPECT_EQ(*sockit::parse_duration("1h"), 3600s);
  EXPECT_EQ(*sockit::parse_duration("250us"), 250us);
}

TEST(ParseDuration, RejectsJunk) {
  for (const char* bad : {"", "s", "-1s", "2x", "1e400", "inf", "abc", "1 2"}) {
    auto d = sockit::parse_duration(bad);
    EXPECT_FALSE(d) << bad;
    if (!d) {
      EXPECT_EQ(d.error(), sockit::errc::invalid_argument);
    }
  }
}

TEST(ParseSize, AcceptsBinaryUnits) {
  EXPECT_EQ(*sockit::parse_size("4096"), 4096u);
  EXPECT_EQ(*sockit::parse_size("64k"), 65536u);
  EXPECT_EQ(*sockit::parse_size("16KiB"), 16384u);
  EXPECT_EQ(*sockit::parse_size("8MiB"), 8u << 20);
  EXPECT_EQ(*sockit::parse_size("1g"), 1ull << 30);
  EXPECT_FALSE(sockit::parse_size("1.3"));
  EXPECT_FALSE(sockit::parse_size("12q"));
}

TEST(ParsePortList, ExpandsRanges) {
  auto p = sockit::parse_port_list("20-22,80");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<std::uint16_t>{20, 21, 22, 80}));
  EXPECT_FALSE(sockit::parse_port_list("25-20"));
  EXPECT_FALSE(sockit::parse_port_list("1-70000"));
  EXPECT_FALSE(sockit::parse_port_list("80,"));
}

TEST(FormatDuration, PrintsTheShortestUnit) {
  EXPECT_EQ(sockit::format_duration(2s), "2s");
  EXPECT_EQ(sockit::format_duration(500ms), "500ms");
  EXPECT_EQ(sockit::format_duration(90s), "1m30s");
  EXPECT_EQ(sockit::format_duration(3600s), "1h");
}

TEST(Deadline, NeverHasNoTimeout) {
  auto d = sockit::Deadline::never();
  EXPECT_TRUE(d.is_never());
  EXPECT_FALSE(d.expired());
  EXPECT_EQ(d.poll_timeout_ms(), -1);
  EXPECT_EQ(d.remaining(), sockit::Deadline::Duration::max());
}

TEST(Deadline, RoundsPollTimeoutUp) {
  auto now = sockit::Deadline::Clock::now();
  auto d = sockit::Deadline::at(now + 1500us);
  EXPECT_EQ(d.poll_timeout_ms(now), 2);  // never wake before the deadline
  EXPECT_EQ(sockit::Deadline::at(now + 1ns).poll_timeout_ms(now), 1);
  EXPECT_EQ(sockit::Deadline::at(now).poll_timeout_ms(now), 0);
  EXPECT_TRUE(sockit::Deadline::at(now).expired(now));
  EXPECT_EQ(sockit::Deadline::at(now - 5s).remaining(now), sockit::Deadline::Duration::zero());
}

TEST(Deadline, EarliestPicksTheSooner) {
  auto now = sockit::Deadline::Clock::now();
  auto a = sockit::Deadline::at(now + 1s);
  auto b = sockit::Deadline::at(now + 2s);
  EXPECT_EQ(sockit::Deadline::earliest(a, b), a);
  EXPECT_EQ(sockit::Deadline::earliest(sockit::Deadline::never(), b), b);
  EXPECT_EQ(sockit::Deadline::earliest(a, sockit::Deadline::never()), a);
}

// Issue #23.3: one port parser for every subcommand; 70000 must not become 4464.
TEST(ParsePort, AcceptsZeroTo65535AndRefusesTheRest) {
  EXPECT_EQ(*sockit::Address::parse_port("0"), 0);
  EXPECT_EQ(*sockit::Address::parse_port("65535"), 65535);
  for (const char* bad : {"65536", "70000", "-1", "99999999999999999999", "abc", "", "12ab"}) {
    auto p = sockit::Address::parse_port(bad);
    ASSERT_FALSE(p) << bad << " parsed as " << *p;
    EXPECT_EQ(p.error(), sockit::errc::invalid_port) << bad;
  }
  EXPECT_EQ(sockit::Address::parse_port("70000").error().context(), "port 70000 out of range 0-65535");
  EXPECT_EQ(sockit::Address::parse_port("-1").error().context(), "port -1 out of range 0-65535");
}

TEST(ParseEndpoint, ChecksThePortBeforeAnyLookup) {
  auto ok = sockit::parse_endpoint("127.0.0.1:65535");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->to_string(), "127.0.0.1:65535");
  for (const char* bad : {"127.0.0.1:65536", "127.0.0.1:70000", "[::1]:70000", "localhost:70000", "127.0.0.1:-1",
                          "localhost:abc"}) {
    auto a = sockit::parse_endpoint(bad);
    ASSERT_FALSE(a) << bad << " parsed as " << a->to_string();
    EXPECT_EQ(a.error(), sockit::errc::invalid_port) << bad << ": " << a.error().message();
  }
  EXPECT_EQ(sockit::parse_endpoint("localhost:70000").error().context(), "port 70000 out of range 0-65535");
}

TEST(ParseEndpoint, ABarePortMeansLoopbackOnlyWhenAsked) {
  sockit::EndpointOptions bare;
  bare.bare_port = true;
  auto a = sockit::parse_endpoint("7007", bare);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->to_string(), "127.0.0.1:7007");
  bare.family = sockit::Family::v6;
  EXPECT_EQ(sockit::parse_endpoint("65535", bare)->to_string(), "[::1]:65535");
  for (const char* bad : {"65536", "70000", "-1"}) {
    auto b = sockit::parse_endpoint(bad, bare);
    ASSERT_FALSE(b) << bad << " parsed as " << b->to_string();
    EXPECT_EQ(b.error(), sockit::errc::invalid_port) << bad;
  }
  EXPECT_FALSE(sockit::parse_endpoint("7007"));  // without bare_port: HOST:PORT is required
}

TEST(ResolverPorts, ANumericServiceOutOfRangeIsRefusedNotWrapped) {
  // getaddrinfo("127.0.0.1", "70000") answers port 4464.
  for (const char* bad : {"70000", "65536", "-1"}) {
    auto r = sockit::Resolver::resolve("127.0.0.1", bad);
    ASSERT_FALSE(r) << bad << " resolved to " << r->front().to_string();
    EXPECT_EQ(r.error(), sockit::errc::invalid_port) << bad;
  }
  auto r = sockit::Resolver::resolve("127.0.0.1:70000");
  ASSERT_FALSE(r) << "resolved to " << r->front().to_string();
  EXPECT_NE(r.error().message().find("out of range 0-65535"), std::string::npos) << r.error().message();
}
