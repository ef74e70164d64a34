// Poller conformance: the same behaviour from select, poll and epoll.
#include "loop/ring_send.hpp"
#include "sockit/loop/poller.hpp"
#include "support/support.hpp"
#include "support/uring.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

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

// The io_uring poller's send buffers (ring_send.hpp): sized to the bytes, reused without
// allocating in a steady state, and trimmed to the recent peak after a burst.
using sockit::loop::detail::SendSlots;

TEST(SendSlots, ABufferIsTheSmallestClassThatHoldsTheBytes) {
  SendSlots pool;
  EXPECT_EQ(pool.take(1).size, 256u);
  EXPECT_EQ(pool.take(256).size, 256u);
  EXPECT_EQ(pool.take(257).size, 512u);
  EXPECT_EQ(pool.take(3000).size, 4096u);
  EXPECT_EQ(pool.take(16 * 1024).size, 16u * 1024);
  EXPECT_EQ(pool.take(1 << 20).size, 16u * 1024);  // the caller copies at most kSlotSize
  EXPECT_EQ(pool.bytes(), 256u + 256 + 512 + 4096 + 2 * 16 * 1024);
}

TEST(SendSlots, AFanOutOfChatLinesHoldsHundredsOfBytesPerRecipientNotSixteenKiB) {
  SendSlots pool;
  std::vector<int> out;
  for (int i = 0; i < 1000; ++i) out.push_back(pool.take(120).slot);
  EXPECT_EQ(pool.bytes(), 1000u * 256);  // was 1000 x 16 KiB
  for (int s : out) pool.give(s);
}

TEST(SendSlots, TheSteadyStateAllocatesNothing) {
  SendSlots pool;
  std::vector<int> out;
  for (int turn = 0; turn < 50; ++turn) {
    for (int i = 0; i < 300; ++i) out.push_back(pool.take(static_cast<std::size_t>(100 + (i % 3) * 600)).slot);
    for (int s : out) pool.give(s);
    out.clear();
    if (turn % 10 == 9) pool.rotate();
  }
  // 100 B -> 256, 700 B -> 1 KiB, 1300 B -> 2 KiB: 100 of each, allocated in the first turn only.
  EXPECT_EQ(pool.allocations(), 300u);
  EXPECT_EQ(pool.bytes(), 100u * (256 + 1024 + 2048));
}

TEST(SendSlots, ABurstIsFreedTwoPeriodsLaterDownToWhatIsStillNeeded) {
  SendSlots pool;
  std::vector<int> out;
  for (int i = 0; i < 1000; ++i) out.push_back(pool.take(400).slot);
  for (int s : out) pool.give(s);
  out.clear();
  EXPECT_EQ(pool.bytes(), 1000u * 512);  // kept for the next turn of the same burst
  auto steady = [&] {                    // 10 sends in flight at once from now on
    for (int i = 0; i < 10; ++i) out.push_back(pool.take(400).slot);
    for (int s : out) pool.give(s);
    out.clear();
  };
  steady();
  pool.rotate();  // the burst's period is now the last one: kept still
  steady();
  EXPECT_EQ(pool.bytes(), 1000u * 512);
  pool.rotate();
  EXPECT_EQ(pool.bytes(), 10u * 512);
  auto before = pool.allocations();
  steady();
  EXPECT_EQ(pool.allocations(), before);
  // A freed slot's index serves another class.
  auto slots = pool.slots();
  for (int i = 0; i < 5; ++i) out.push_back(pool.take(10'000).slot);
  EXPECT_EQ(pool.slots(), slots);
  EXPECT_EQ(pool.bytes(), 10u * 512 + 5 * 16 * 1024);
  for (int s : out) pool.give(s);
}

}  // namespace
