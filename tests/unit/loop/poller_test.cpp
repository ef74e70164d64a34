// Poller conformance: the same behaviour from select, poll and epoll.
#include "sockit/loop/poller.hpp"
#include "support/support.hpp"
#include "support/uring.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using sockit::loop::Backend;
using sockit::loop::Interest;
using sockit::loop::Ready;

namespace {

struct Pair {
  int a = -1, b = -1;
  Pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
      a = sv[0];
      b = sv[1];
    }
  }
  ~Pair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};

const Ready* find(const std::vector<Ready>& v, int fd) {
  for (const auto& r : v) {
    if (r.fd == fd) return &r;
  }
  return nullptr;
}

class PollerConformance : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    SOCKIT_SKIP_WITHOUT_URING(GetParam() == Backend::uring);
    auto p = sockit::loop::make_poller(GetParam());
    ASSERT_TRUE(p);
    poller_ = std::move(*p);
  }
  void TearDown() override {
    poller_.reset();
    leaks_.expect_no_leak();
  }
  /// Waits up to 1 s for readiness; returns fd's entry in ready_, or nullptr when fd is not ready
  /// or the wait failed (a test failure).
  const Ready* ready_within_1s(int fd) {
    auto n = poller_->wait(1000, ready_);
    EXPECT_TRUE(n) << "wait failed";
    return n ? find(ready_, fd) : nullptr;
  }
  sockit::test::FdLeakCheck leaks_;
  std::unique_ptr<sockit::loop::Poller> poller_;
  std::vector<Ready> ready_;
};

TEST_P(PollerConformance, NameMatchesBackend) { EXPECT_EQ(poller_->name(), sockit::loop::to_string(GetParam())); }

TEST_P(PollerConformance, NothingReadyTimesOut) {
  Pair p;
  ASSERT_TRUE(poller_->add(p.a, Interest::read));
  auto start = std::chrono::steady_clock::now();
  auto n = poller_->wait(50, ready_);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(45));
}

TEST_P(PollerConformance, ReadableWhenDataArrives) {
  Pair p;
  ASSERT_TRUE(poller_->add(p.a, Interest::read));
  ASSERT_EQ(::write(p.b, "x", 1), 1);
  const Ready* r = ready_within_1s(p.a);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->readable);
  EXPECT_FALSE(r->writable);
}

TEST_P(PollerConformance, WritableWhenAsked) {
  Pair p;
  ASSERT_TRUE(poller_->add(p.a, Interest::write));
  const Ready* r = ready_within_1s(p.a);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->writable);
  EXPECT_FALSE(r->readable);
}

TEST_P(PollerConformance, PeerCloseIsReadable) {
  Pair p;
  ASSERT_TRUE(poller_->add(p.a, Interest::read));
  ::close(p.b);
  p.b = -1;
  const Ready* r = ready_within_1s(p.a);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->readable);  // the read then returns 0
}

TEST_P(PollerConformance, ModifyChangesInterest) {
  Pair p;
  ASSERT_TRUE(poller_->add(p.a, Interest::read));
  ASSERT_TRUE(poller_->wait(0, ready_));
  EXPECT_EQ(find(ready_, p.a), nullptr);
  ASSERT_TRUE(poller_->modify(p.a, Interest::read_write));
  const Ready* r = ready_within_1s(p.a);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->writable);
}

TEST_P(PollerConformance, NoInterestHidesEvenAHangup) {
  Pair p;
  ASSERT_TRUE(poller_->add(p.a, Interest::read));
  ASSERT_TRUE(poller_->modify(p.a, Interest::none));
  ::close(p.b);
  p.b = -1;
  ASSERT_TRUE(poller_->wait(20, ready_));
  EXPECT_EQ(find(ready_, p.a), nullptr);  // a paused connection cannot make the loop spin
  ASSERT_TRUE(poller_->modify(p.a, Interest::read));
  EXPECT_NE(ready_within_1s(p.a), nullptr);
}

TEST_P(PollerConformance, RemoveStopsReports) {
  Pair p;
  ASSERT_TRUE(poller_->add(p.a, Interest::read));
  ASSERT_EQ(::write(p.b, "x", 1), 1);
  poller_->remove(p.a);
  EXPECT_EQ(poller_->size(), 0u);
  ASSERT_TRUE(poller_->wait(20, ready_));
  EXPECT_TRUE(ready_.empty());
  poller_->remove(p.a);  // twice is harmless
}

TEST_P(PollerConformance, AddTwiceFails) {
  Pair p;
  ASSERT_TRUE(poller_->add(p.a, Interest::read));
  EXPECT_FALSE(poller_->add(p.a, Interest::read));
  EXPECT_FALSE(poller_->modify(p.b, Interest::read));
}

TEST_P(PollerConformance, ManyDescriptors) {
  std::vector<std::unique_ptr<Pair>> pairs;
  for (int i = 0; i < 100; ++i) {
    pairs.push_back(std::make_unique<Pair>());
    ASSERT_TRUE(poller_->add(pairs.back()->a, Interest::read));
  }
  for (int i = 0; i < 100; i += 3) ASSERT_EQ(::write(pairs[static_cast<std::size_t>(i)]->b, "x", 1), 1);
  ASSERT_TRUE(poller_->wait(1000, ready_));
  EXPECT_EQ(ready_.size(), 34u);
  for (int i = 0; i < 100; ++i) poller_->remove(pairs[static_cast<std::size_t>(i)]->a);
  EXPECT_EQ(poller_->size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, PollerConformance,
                         testing::Values(Backend::select, Backend::poll, Backend::epoll, Backend::uring),
                         [](const testing::TestParamInfo<Backend>& i) { return std::string(sockit::loop::to_string(i.param)); });

TEST(SelectPoller, RefusesDescriptorOverFdSetsize) {
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur <= FD_SETSIZE + 10) GTEST_SKIP() << "RLIMIT_NOFILE too low to open a descriptor over FD_SETSIZE";
  Pair pair;
  int high = ::fcntl(pair.a, F_DUPFD_CLOEXEC, FD_SETSIZE + 5);
  ASSERT_GE(high, FD_SETSIZE);
  auto p = sockit::loop::make_poller(Backend::select);
  ASSERT_TRUE(p);
  auto r = (*p)->add(high, Interest::read);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), sockit::errc::fd_over_setsize);
  EXPECT_NE(r.error().message().find("FD_SETSIZE"), std::string::npos) << r.error().message();
  // poll and epoll take it.
  for (Backend b : {Backend::poll, Backend::epoll, Backend::uring}) {
    auto q = sockit::loop::make_poller(b);
    ASSERT_TRUE(q);
    EXPECT_TRUE((*q)->add(high, Interest::read));
  }
  ::close(high);
}

TEST(Backend, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(*sockit::loop::parse_backend("poll"), Backend::poll);
  auto bad = sockit::loop::parse_backend("kqueue");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("select, poll, epoll"), std::string::npos);
}

}  // namespace
