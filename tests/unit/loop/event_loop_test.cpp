// EventLoop: post from other threads, timers, watchers, signals; on every backend.
#include "sockit/loop/event_loop.hpp"
#include "support/support.hpp"
#include "support/uring.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <future>
#include <thread>

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using sockit::loop::Backend;
using sockit::loop::EventLoop;
using sockit::loop::Interest;

namespace {

class Loop : public testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    SOCKIT_SKIP_WITHOUT_URING(GetParam() == Backend::uring);
    auto l = EventLoop::create(GetParam());
    ASSERT_TRUE(l);
    loop_ = std::move(*l);
  }
  void TearDown() override {
    loop_.reset();
    leaks_.expect_no_leak();
  }
  sockit::test::FdLeakCheck leaks_;
  std::unique_ptr<EventLoop> loop_;
};

TEST_P(Loop, PostFromManyThreadsRunsEverythingInLoopThread) {
  std::atomic<int> count{0};
  std::atomic<bool> wrong_thread{false};
  std::thread runner([&] { loop_->run(); });
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        loop_->post([&] {
          if (!loop_->is_in_loop_thread()) wrong_thread = true;
          ++count;
        });
      }
    });
  }
  for (auto& p : posters) p.join();
  loop_->post([&] { loop_->stop(); });
  runner.join();
  EXPECT_EQ(count.load(), 4000);
  EXPECT_FALSE(wrong_thread.load());
}

TEST_P(Loop, StopFromAnotherThreadWakesABlockedLoop) {
  // The loop has entered run() once a task posted before it ran; stop() then finds it running
  // (blocked in its poller, or about to block) and must wake it.
  std::promise<void> running;
  loop_->post([&] { running.set_value(); });
  std::thread runner([&] { loop_->run(); });
  running.get_future().wait();
  auto start = std::chrono::steady_clock::now();
  loop_->stop();
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_P(Loop, TimersFireInOrderAndNotEarly) {
  std::vector<int> order;
  auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration first_at{};
  loop_->run_after(30ms, [&] { order.push_back(2); });
  loop_->run_after(10ms, [&] {
    first_at = std::chrono::steady_clock::now() - start;
    order.push_back(1);
  });
  auto cancelled = loop_->run_after(20ms, [&] { order.push_back(99); });
  EXPECT_TRUE(loop_->cancel(cancelled));
  loop_->run_after(40ms, [&] { loop_->stop(); });
  loop_->run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_GE(first_at, 10ms);
}

TEST_P(Loop, RunEveryRepeats) {
  int ticks = 0;
  sockit::loop::TimerId id = 0;
  id = loop_->run_every(5ms, [&] {
    if (++ticks == 3) {
      loop_->cancel(id);
      loop_->stop();
    }
  });
  loop_->run();
  EXPECT_EQ(ticks, 3);
}

TEST_P(Loop, WatchDeliversReadinessAndUnwatchInsideCallbackIsSafe) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  int calls = 0;
  ASSERT_TRUE(loop_->watch(sv[0], Interest::read, [&](const sockit::loop::Ready& r) {
    EXPECT_TRUE(r.readable);
    ++calls;
    loop_->unwatch(sv[0]);
    loop_->stop();
  }));
  EXPECT_EQ(loop_->watcher_count(), 1u);
  ASSERT_EQ(::write(sv[1], "x", 1), 1);
  loop_->run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(loop_->watcher_count(), 0u);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST_P(Loop, UnwatchedDescriptorGetsNoStaleEventInTheSameTurn) {
  int a[2], b[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, a), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, b), 0);
  int a_calls = 0, b_calls = 0;
  // Whichever runs first unwatches the other; the other must not run in this turn.
  ASSERT_TRUE(loop_->watch(a[0], Interest::read, [&](const sockit::loop::Ready&) {
    ++a_calls;
    loop_->unwatch(b[0]);
    loop_->unwatch(a[0]);
  }));
  ASSERT_TRUE(loop_->watch(b[0], Interest::read, [&](const sockit::loop::Ready&) {
    ++b_calls;
    loop_->unwatch(a[0]);
    loop_->unwatch(b[0]);
  }));
  ASSERT_EQ(::write(a[1], "x", 1), 1);
  ASSERT_EQ(::write(b[1], "x", 1), 1);
  loop_->run_once(1000ms);
  EXPECT_EQ(a_calls + b_calls, 1);
  for (int fd : {a[0], a[1], b[0], b[1]}) ::close(fd);
}

TEST_P(Loop, SignalsArriveThroughSignalfd) {
  sigset_t old;
  std::array<int, 1> sigs{SIGUSR2};
  ASSERT_TRUE(sockit::loop::block_signals(sigs, &old));
  int got = 0;
  ASSERT_TRUE(loop_->watch_signals(sigs, [&](int s) {
    got = s;
    loop_->stop();
  }));
  loop_->run_after(1ms, [] { ::pthread_kill(::pthread_self(), SIGUSR2); });
  loop_->run_after(2s, [&] { loop_->stop(); });
  loop_->run();
  EXPECT_EQ(got, SIGUSR2);
  loop_.reset();
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, Loop, testing::Values(Backend::select, Backend::poll, Backend::epoll, Backend::uring),
                         [](const testing::TestParamInfo<Backend>& i) { return std::string(sockit::loop::to_string(i.param)); });

}  // namespace
