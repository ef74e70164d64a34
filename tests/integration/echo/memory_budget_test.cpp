// Issue 24 item 4 over real sockets on loopback: clients that write and never read must not make
// `sockit echo-server` hold more than --max-buffered in total. Each slow client pins up to the
// per-connection high-water mark (1 MiB) without the budget; with it, the server's buffered bytes
// (SIGUSR1 counters) stay within the budget, a new client is still echoed, and once the slow
// clients leave the budget's count is back to 0 (RSS figures printed; see RELIABILITY.md).
#include "echo_server.hpp"

#include "sockit/loop/connection.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using sockit::test::EchoServer;
using sockit::test::Variant;

namespace {

// `n` clients with tiny socket buffers that write until the server stops reading from them and
// never read: all driven at once; done when none has had a byte taken for 300 ms (the server
// paused reading and every buffer is full). Adds what they wrote to `pushed`.
std::vector<int> slow_readers(std::uint16_t port, std::size_t n, std::size_t& pushed) {
  std::vector<int> fds;
  std::vector<pollfd> pfds;
  for (std::size_t i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int small = 4096;
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
      ::close(fd);
      continue;
    }
    fds.push_back(fd);
    pfds.push_back(pollfd{fd, POLLOUT, 0});
  }
  std::string chunk(256 * 1024, 's');
  auto last = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - last < 300ms) {
    if (::poll(pfds.data(), pfds.size(), 50) <= 0) continue;
    for (auto& p : pfds) {
      if ((p.revents & POLLOUT) == 0) continue;
      ssize_t k = ::send(p.fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (k > 0) {
        pushed += static_cast<std::size_t>(k);
        last = std::chrono::steady_clock::now();
      } else if (k < 0 && errno != EAGAIN) {
        p.events = 0;  // failed: stop driving it
      }
    }
  }
  return fds;
}

}  // namespace

void slow_readers_stay_within_budget(const Variant& model) {
  constexpr std::size_t kClients = 32;
  constexpr std::size_t kBudget = 4 << 20;
  // ASan keeps freed memory in quarantine: release it at once, as a plain build's malloc_trim does.
  EchoServer s(model, {"--max-buffered", "4M", "--send-queue", "4MiB", "--max-conns", "100"},
               {"env", "ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=0:allocator_release_to_os_interval_ms=50"});
  ASSERT_TRUE(s.ok()) << s.err();
  long base_kib = s.rss_kib();
  std::size_t pushed = 0;
  std::vector<int> slow = slow_readers(s.port(), kClients, pushed);
  ASSERT_EQ(slow.size(), kClients);
  auto held = s.counters_now();
  long held_kib = s.rss_kib();
  // At most one 4 KiB read over the budget per connection that had nothing queued (BufferBudget).
  EXPECT_LE(held["tcp.buffered_peak"], kBudget + kClients * sockit::loop::BufferBudget::kMinRead)
      << "pushed " << pushed << " bytes";
  EXPECT_GT(held["tcp.buffered"], kBudget / 2);
  EXPECT_GT(held["tcp.budget_pauses"], 0u);
  // Without the budget: about 1 MiB each (32 MiB); with it: 4 MiB, the pages around it and (thread
  // model) 32 threads.
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer's own state per thread (several MiB: shadow stack, clocks) swamps this bound
  // in the thread model (CI's tsan preset: +78 MiB for 32 threads); the buffered bytes above are
  // the budget's own measure and are still checked.
  const bool rss_bound_applies = false;
#else
  const bool rss_bound_applies = true;
#endif
  if (rss_bound_applies) {
    EXPECT_LT(held_kib - base_kib, 24 * 1024) << "RSS " << base_kib << " KiB idle, " << held_kib << " KiB held";
  }
  // The budget is spent, yet a client that reads is served in full.
  auto echoed = sockit::test::echo_once(s.port(), sockit::test::pattern(256 * 1024, 7), 10s);
  ASSERT_TRUE(echoed);
  EXPECT_EQ(*echoed, sockit::test::pattern(256 * 1024, 7));
  for (int fd : slow) ::close(fd);
  auto end = std::chrono::steady_clock::now() + 10s;
  std::map<std::string, std::uint64_t> after;
  while (std::chrono::steady_clock::now() < end) {
    after = s.counters_now();
    if (after["tcp.active"] == 0) break;
  }
  EXPECT_EQ(after["tcp.active"], 0u);
  EXPECT_EQ(after["tcp.buffered"], 0u);
  // RSS after the wave is printed, not asserted: under ASan freed chunks stay with its allocator.
  long after_kib = s.rss_kib();
  std::printf("[ figures ] RSS idle %ld KiB, %zu slow readers %ld KiB (peak buffered %llu B), after %ld KiB\n",
              base_kib, kClients, held_kib, static_cast<unsigned long long>(held["tcp.buffered_peak"]), after_kib);
  auto st = s.stop();
  ASSERT_TRUE(st);
  EXPECT_EQ(*st, 0) << s.err();
}

TEST(MemoryBudget, SlowReadersStayWithinMaxBufferedAndAReaderIsStillServed) {
  slow_readers_stay_within_budget(Variant{"epoll"});
}

// The thread model: one budget shared by the connection threads.
TEST(MemoryBudget, ThreadModelSlowReadersStayWithinMaxBuffered) { slow_readers_stay_within_budget(Variant{"thread"}); }
