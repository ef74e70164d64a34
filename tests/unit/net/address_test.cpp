#include "sockit/net/address.hpp"
#include "sockit/net/resolver.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

using sockit::Address;

TEST(Address, ParsesIpv4HostPort) {
  auto a = Address::parse("127.0.0.1:7007");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->port(), 7007);
  EXPECT_EQ(a->ip_string(), "127.0.0.1");
  EXPECT_EQ(a->to_string(), "127.0.0.1:7007");
  EXPECT_TRUE(a->is_loopback());
}

TEST(Address, ParsesBracketedIpv6) {
  auto a = Address::parse("[::1]:6667");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_TRUE(a->is_v6());
  EXPECT_EQ(a->port(), 6667);
  EXPECT_EQ(a->to_string(), "[::1]:6667");
  EXPECT_TRUE(a->is_loopback());
}

TEST(Address, ParsesIpv6WithZone) {
  auto a = Address::parse("[fe80::1%lo]:80");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->to_string(), "[fe80::1%lo]:80");
}

TEST(Address, ParsesServiceNames) {
  auto a = Address::parse("127.0.0.1:http");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->port(), 80);
}

TEST(Address, RoundTripsThroughToString) {
  for (const char* text : {"0.0.0.0:0", "255.255.255.255:65535", "[::]:1", "[2001:db8::8:800:200c:417a]:443",
                           "[::ffff:10.0.0.1]:22"}) {
    auto a = Address::parse(text);
    ASSERT_TRUE(a) << text;
    auto b = Address::parse(a->to_string());
    ASSERT_TRUE(b) << a->to_string();
    EXPECT_EQ(*a, *b) << text;
  }
}

struct BadAddress {
  const char* text;
  sockit::errc expected;
};

// Named in test output (and no raw-bytes printing of struct padding, which valgrind flags).
void PrintTo(const BadAddress& b, std::ostream* os) { *os << '"' << b.text << '"'; }

class AddressRejects : public ::testing::TestWithParam<BadAddress> {};

TEST_P(AddressRejects, WithANamedError) {
  auto a = Address::parse(GetParam().text);
  ASSERT_FALSE(a) << GetParam().text << " parsed as " << a->to_string();
  EXPECT_EQ(a.error(), GetParam().expected) << a.error().message();
  EXPECT_NE(a.error().message().find(GetParam().text), std::string::npos) << a.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, AddressRejects,
    ::testing::Values(BadAddress{"127.0.0.1", sockit::errc::invalid_address},
                      BadAddress{"127.0.0.1:70000", sockit::errc::invalid_port},
                      BadAddress{"127.0.0.1:-1", sockit::errc::invalid_port},
                      BadAddress{"127.0.0.1:", sockit::errc::invalid_port},
                      BadAddress{"256.0.0.1:80", sockit::errc::invalid_address},
                      BadAddress{"::1:80", sockit::errc::invalid_address},
                      BadAddress{"[::1]", sockit::errc::invalid_address},
                      BadAddress{"[::1:80", sockit::errc::invalid_address},
                      BadAddress{"[zz::1]:80", sockit::errc::invalid_address},
                      BadAddress{"example.com:80", sockit::errc::invalid_address},
                      BadAddress{"127.0.0.1:nosuchservice", sockit::errc::invalid_port}));

TEST(Address, UnixPathsAndAbstractNames) {
  auto p = Address::parse("unix:/tmp/x.sock");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->is_unix());
  EXPECT_EQ(p->to_string(), "unix:/tmp/x.sock");
  auto a = Address::parse("unix:@sockit-test");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "unix:@sockit-test");
  EXPECT_NE(*p, *a);
  EXPECT_FALSE(Address::unix_path(std::string(200, 'x')));
  // A pathname with a NUL would read back as an abstract name: refused.
  EXPECT_FALSE(Address::parse(std::string("unix:\0\0x", 8)));
  EXPECT_FALSE(Address::parse(std::string("unix:/tmp/a\0b", 14)));
}

TEST(Address, OrdersAndHashesByValue) {
  auto a = *Address::parse("127.0.0.1:1");
  auto b = *Address::parse("127.0.0.1:2");
  auto c = *Address::parse("127.0.0.2:1");
  auto v6 = *Address::parse("[::1]:1");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(a, v6);  // AF_INET < AF_INET6
  std::unordered_set<Address> set{a, b, c, v6, *Address::parse("127.0.0.1:1")};
  EXPECT_EQ(set.size(), 4u);
}

TEST(Address, UnmapsV4MappedAddresses) {
  auto m = *Address::parse("[::ffff:127.0.0.1]:99");
  EXPECT_TRUE(m.is_v4_mapped());
  EXPECT_TRUE(m.is_loopback());
  EXPECT_EQ(m.unmapped().to_string(), "127.0.0.1:99");
}

TEST(SplitHostPort, HandlesNamesAndBrackets) {
  auto a = sockit::split_host_port("example.org:6667");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->first, "example.org");
  EXPECT_EQ(a->second, "6667");
  auto b = sockit::split_host_port("[::1]:http");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first, "::1");
  EXPECT_EQ(b->second, "http");
  EXPECT_FALSE(sockit::split_host_port("example.org"));
  EXPECT_FALSE(sockit::split_host_port("::1:80"));
}

TEST(CompactAddress, RoundTripsEveryFamily) {
  for (const char* text : {"127.0.0.1:7007", "[::1]:6667", "[fe80::1%lo]:80", "[::ffff:10.1.2.3]:9",
                           "unix:/run/some/longer/path/to/a/socket.sock", "unix:@abstract-name"}) {
    auto a = sockit::Address::parse(text);
    ASSERT_TRUE(a) << text;
    sockit::CompactAddress c(*a);
    EXPECT_EQ(c.get(), *a) << text;
    EXPECT_EQ(c.get().to_string(), a->to_string());
    sockit::CompactAddress copy(c);
    sockit::CompactAddress assigned;
    assigned = copy;
    EXPECT_EQ(assigned.get(), *a) << text;
  }
  EXPECT_EQ(sockit::CompactAddress().get().family(), sockit::Family::unspec);
  EXPECT_LE(sizeof(sockit::CompactAddress), 32u);
}
