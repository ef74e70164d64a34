#include "sockit/net/error.hpp"
#include "sockit/net/resolver.hpp"
#include "sockit/net/result.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <netdb.h>

TEST(Error, MessageJoinsContextAndReason) {
  sockit::Error e = sockit::fail_errno(ECONNREFUSED, "connect 127.0.0.1:9");
  EXPECT_EQ(e.message(), "connect 127.0.0.1:9: Connection refused");
  EXPECT_TRUE(e == std::errc::connection_refused);
  EXPECT_EQ(e.with_context("nc").message(), "nc: connect 127.0.0.1:9: Connection refused");
}

TEST(Error, GaiErrorsHaveTheirOwnCategory) {
  auto ec = sockit::gai_error(EAI_NONAME);
  EXPECT_EQ(&ec.category(), &sockit::gai_category());
  EXPECT_STREQ(ec.category().name(), "getaddrinfo");
  EXPECT_EQ(ec.message(), gai_strerror(EAI_NONAME));
  // EAI_NONAME's value must not be confused with an errno of the same number.
  EXPECT_NE(ec, std::error_code(EAI_NONAME, std::system_category()));
  EXPECT_EQ(sockit::gai_error(EAI_AGAIN), std::errc::resource_unavailable_try_again);
}

TEST(Error, EaiSystemBecomesTheErrnoItCarries) {
  auto ec = sockit::gai_error(EAI_SYSTEM, EMFILE);
  EXPECT_EQ(ec, std::errc::too_many_files_open);
}

TEST(Error, SockitCodesAreNamed) {
  std::error_code ec = sockit::errc::fd_over_setsize;
  EXPECT_STREQ(ec.category().name(), "sockit");
  EXPECT_NE(ec.message().find("FD_SETSIZE"), std::string::npos);
}

TEST(Error, UnknownHostIsAResolverError) {
  auto r = sockit::Resolver::resolve("nosuchhost.invalid", "80");
  ASSERT_FALSE(r);
  EXPECT_EQ(&r.error().code().category(), &sockit::gai_category()) << r.error().message();
  EXPECT_NE(r.error().message().find("resolve nosuchhost.invalid:80"), std::string::npos);
}

TEST(Result, HoldsValueOrError) {
  sockit::Result<int> ok = 5;
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 5);
  EXPECT_FALSE(ok.code());
  sockit::Result<int> bad = sockit::Error(std::make_error_code(std::errc::timed_out), "read");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), std::errc::timed_out);
  EXPECT_EQ(bad.value_or(7), 7);
  sockit::Result<void> v;
  EXPECT_TRUE(v);
  sockit::Result<void> vf = sockit::errc::queue_full;
  EXPECT_FALSE(vf);
}

struct NoDefault {
  explicit NoDefault(int x) : v(x) {}
  int v;
};

TEST(Result, DoesNotNeedADefaultConstructibleValue) {
  sockit::Result<NoDefault> r = sockit::Error(sockit::errc::invalid_argument);
  EXPECT_FALSE(r);
  sockit::Result<NoDefault> r2 = NoDefault(3);
  EXPECT_EQ(r2->v, 3);
}
