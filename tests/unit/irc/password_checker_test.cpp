// PasswordChecker (issue #24 item 1): the worker threads that take PBKDF2 checks off the event
// loop. Real threads, no sockets, no sleeps: every wait is on a promise the test controls. Runs
// under ThreadSanitizer too (scripts/tsan.sh builds unit_irc).
#include "sockit/irc/password.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace sockit::irc;

namespace {
// Cheap hashes: the checker's logic, not PBKDF2's cost, is under test.
std::string cheap_hash(std::string_view pw) { return hash_password(pw, 1000).value(); }

// Occupies the checker's only worker until release() is called, so the test can queue jobs
// behind it and know that none has been taken yet.
struct Blocker {
  std::promise<void> started, go;
  std::shared_future<void> go_f = go.get_future().share();
  void submit(PasswordChecker& c, const std::string& hash) {
    ASSERT_TRUE(c.submit("pw", hash, [this](bool) {
      started.set_value();
      go_f.wait();
    }));
    started.get_future().wait();  // the worker is inside the blocker's callback now
  }
  void release() { go.set_value(); }
};
}  // namespace

TEST(PasswordChecker, EveryCheckFromManyThreadsGetsItsVerdict) {
  const std::string hash = cheap_hash("pw");
  PasswordChecker checker(2, 1024);
  constexpr int kThreads = 4, kEach = 25;
  std::atomic<int> right{0}, wrong{0}, answered{0};
  std::promise<void> all_done;
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        bool good = (i + t) % 2 == 0;
        ASSERT_TRUE(checker.submit(good ? "pw" : "nope", hash, [&, good](bool ok) {
          (ok == good ? right : wrong).fetch_add(1);
          if (answered.fetch_add(1) + 1 == kThreads * kEach) all_done.set_value();
        }));
      }
    });
  }
  for (auto& s : submitters) s.join();
  all_done.get_future().wait();
  EXPECT_EQ(right.load(), kThreads * kEach);
  EXPECT_EQ(wrong.load(), 0);
}

TEST(PasswordChecker, UrgentChecksGoBeforeTheOthers) {
  const std::string hash = cheap_hash("pw");
  PasswordChecker checker(1, 16);
  Blocker blocker;
  blocker.submit(checker, hash);
  std::mutex mu;
  std::vector<std::string> order;
  std::promise<void> last;
  auto record = [&](std::string name, bool is_last) {
    return [&, name, is_last](bool) {
      {
        std::lock_guard lock(mu);
        order.push_back(name);
      }
      if (is_last) last.set_value();
    };
  };
  ASSERT_TRUE(checker.submit("x", hash, record("flood1", false)));
  ASSERT_TRUE(checker.submit("x", hash, record("flood2", true)));
  ASSERT_TRUE(checker.submit("pw", hash, record("legit", false), /*urgent=*/true));
  blocker.release();
  last.get_future().wait();
  EXPECT_EQ(order, (std::vector<std::string>{"legit", "flood1", "flood2"}));
}

TEST(PasswordChecker, AFullQueueRefusesInsteadOfGrowing) {
  const std::string hash = cheap_hash("pw");
  PasswordChecker checker(1, 3);
  Blocker blocker;
  blocker.submit(checker, hash);  // taken by the worker: not in the queue any more
  std::atomic<int> ran{0};
  std::promise<void> third;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(checker.submit("pw", hash, [&, i](bool) {
      ran.fetch_add(1);
      if (i == 2) third.set_value();
    }));
  }
  EXPECT_FALSE(checker.submit("pw", hash, [&](bool) { ran.fetch_add(100); }));
  EXPECT_FALSE(checker.submit("pw", hash, [&](bool) { ran.fetch_add(100); }, /*urgent=*/true));
  blocker.release();
  third.get_future().wait();
  EXPECT_EQ(ran.load(), 3);
}

TEST(PasswordChecker, ACheckWhoseClientLeftIsSkipped) {
  const std::string hash = cheap_hash("pw");
  PasswordChecker checker(1, 16);
  Blocker blocker;
  blocker.submit(checker, hash);
  auto client = std::make_shared<int>(0);
  std::atomic<bool> gone_ran{false};
  std::promise<void> after;
  ASSERT_TRUE(checker.submit("pw", hash, [&](bool) { gone_ran = true; }, false, client));
  ASSERT_TRUE(checker.submit("pw", hash, [&](bool) { after.set_value(); }));
  client.reset();  // the client disconnects while its check waits in line
  blocker.release();
  after.get_future().wait();  // FIFO: the skipped check was taken before this one
  EXPECT_FALSE(gone_ran.load());
}

TEST(PasswordChecker, StopDropsQueuedChecksAndRefusesNewOnes) {
  const std::string hash = cheap_hash("pw");
  auto checker = std::make_unique<PasswordChecker>(1, std::size_t{1} << 20);  // never full here
  Blocker blocker;
  blocker.submit(*checker, hash);
  std::atomic<int> ran{0};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(checker->submit("pw", hash, [&](bool) { ran.fetch_add(1); }));
  std::thread stopper([&] { checker->stop(); });  // waits for the running blocker
  // stop() marks the checker stopping before it joins: once a submit is refused, stop has begun.
  while (checker->submit("pw", hash, [&](bool) { ran.fetch_add(1000); })) {
    std::this_thread::yield();
  }
  blocker.release();
  stopper.join();
  EXPECT_EQ(ran.load(), 0) << "checks queued behind the running one are dropped by stop()";
  EXPECT_FALSE(checker->submit("pw", hash, [](bool) {}));
  checker->stop();  // idempotent
}
