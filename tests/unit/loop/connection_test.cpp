// Connection, Acceptor and Connector over loopback sockets on one loop.
#include "sockit/loop/acceptor.hpp"
#include "sockit/loop/connection.hpp"
#include "sockit/loop/connector.hpp"
#include "loop/detail.hpp"
#include "loop/ring_recv.hpp"
#include "sockit/net/io.hpp"
#include "sockit/net/socket.hpp"
#include "sockit/net/sys.hpp"
#include "support/support.hpp"
#include "support/uring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::Fd;
using sockit::loop::CloseReason;
using sockit::loop::Connection;
using sockit::loop::ConnectionOptions;
using sockit::loop::EventLoop;

namespace {

// Echo connection that records how it ended.
class EchoConn : public Connection {
 public:
  using Connection::Connection;
  std::optional<CloseReason> closed;
  std::size_t max_queued = 0;
  bool paused_seen = false;
  bool resumed_after_pause = false;

 protected:
  void on_data(std::span<const std::byte> d) override {
    if (paused_seen) resumed_after_pause = true;
    send(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
    max_queued = std::max(max_queued, queued_bytes());
    if (!reading()) paused_seen = true;
  }
  void on_closed(CloseReason r, std::error_code) override {
    closed = r;
    loop().stop();
  }
};

template <class Conn>
struct BasicFixture {
  std::unique_ptr<EventLoop> loop;
  std::optional<sockit::TcpStream> client;
  std::shared_ptr<Conn> conn;
  ConnectionOptions opts;

  // client_rcvbuf > 0: the client's SO_RCVBUF, set before it connects (its SYN then advertises
  // the small window, as a client that wants a small buffer does).
  explicit BasicFixture(ConnectionOptions o = {}, sockit::loop::Backend backend = sockit::loop::kDefaultBackend,
                        int client_rcvbuf = 0)
      : opts(o) {
    loop = std::move(*EventLoop::create(backend));
    auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
    if (client_rcvbuf > 0) {
      Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      EXPECT_EQ(::setsockopt(s.get(), SOL_SOCKET, SO_RCVBUF, &client_rcvbuf, sizeof client_rcvbuf), 0);
      const Address to = *l->local_address();
      EXPECT_EQ(::connect(s.get(), to.sockaddr_ptr(), to.length()), 0);
      client.emplace(std::move(s));
    } else {
      auto c = sockit::TcpStream::connect(*l->local_address(), Deadline::after(2s));
      client.emplace(std::move(*c));
    }
    Address peer;
    auto s = l->accept(Deadline::after(2s), &peer);
    conn = std::make_shared<Conn>(*loop, s->release(), peer, opts);
    EXPECT_TRUE(conn->start());
  }
};
using Fixture = BasicFixture<EchoConn>;

TEST(Connection, EchoesThenHalfClosesAfterPeerEof) {
  sockit::test::FdLeakCheck leaks;
  {
    Fixture f;
    ASSERT_TRUE(f.client->write_all("abc", Deadline::after(1s)));
    ASSERT_TRUE(f.client->shutdown_write());
    f.loop->run_after(5s, [&] { f.loop->stop(); });
    f.loop->run();
    ASSERT_TRUE(f.conn->closed);
    EXPECT_EQ(*f.conn->closed, CloseReason::peer_closed);
    char buf[8];
    auto n = f.client->read_some(std::as_writable_bytes(std::span(buf)), Deadline::after(1s));
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string(buf, *n), "abc");
    EXPECT_EQ(f.loop->watcher_count(), 0u);
  }
}

TEST(Connection, HighWaterMarkPausesReadingAndCapsMemory) {
  sockit::test::FdLeakCheck leaks;
  ConnectionOptions o;
  o.high_water = 256 << 10;
  o.low_water = 64 << 10;
  o.max_output = 0;
  Fixture f(o);
  std::string chunk(64 << 10, 'q');
  std::size_t pushed = 0;
  // Client writes without reading; the loop runs in between.
  for (int i = 0; i < 400; ++i) {
    auto n = f.client->write_some(sockit::as_bytes(chunk), Deadline::after(10ms));
    if (n) pushed += *n;
    f.loop->run_once(5ms);
  }
  EXPECT_TRUE(f.conn->paused_seen);
  EXPECT_LT(f.conn->max_queued, o.high_water + (4 * 64 << 10));
  EXPECT_GT(pushed, o.high_water);
  EXPECT_FALSE(f.conn->reading());
  // Reading the echo drains the queue below the low-water mark, and reading resumes.
  char buf[65536];
  for (int i = 0; i < 400 && !f.conn->resumed_after_pause; ++i) {
    (void)f.client->read_some(std::as_writable_bytes(std::span(buf)), Deadline::after(5ms));
    f.loop->run_once(5ms);
  }
  EXPECT_TRUE(f.conn->resumed_after_pause);
  f.client->close();
  f.conn->close(CloseReason::protocol);
}

TEST(Connection, SendQueueCapClosesSlowReader) {
  sockit::test::FdLeakCheck leaks;
  ConnectionOptions o;
  o.max_output = 128 << 10;
  Fixture f(o);
  ASSERT_TRUE(f.client->set_recv_buffer(4096));
  std::string big(256 << 10, 'z');
  f.loop->post([&] {
    for (int i = 0; i < 64 && f.conn->is_open(); ++i) f.conn->send(big);  // 16 MiB, never read
  });
  f.loop->run_after(2s, [&] { f.loop->stop(); });
  f.loop->run();
  ASSERT_TRUE(f.conn->closed);
  EXPECT_EQ(*f.conn->closed, CloseReason::send_queue_full);
}

TEST(Connection, CoalescedSendsGoOutOnceAtTurnEnd) {
  sockit::test::FdLeakCheck leaks;
  ConnectionOptions o;
  o.coalesce_writes = true;
  Fixture f(o);
  std::string expected;
  bool nothing_written_yet = false;
  f.loop->post([&] {
    for (int i = 0; i < 100; ++i) {
      std::string line = "line " + std::to_string(i) + "\r\n";
      expected += line;
      f.conn->send(line);
    }
    // Still inside the turn: everything is queued, nothing has reached the socket.
    char probe[16];
    ssize_t n = ::recv(f.client->fd(), probe, sizeof probe, MSG_DONTWAIT);
    nothing_written_yet = n < 0 && errno == EAGAIN && f.conn->queued_bytes() == expected.size();
  });
  f.loop->run_once(100ms);
  EXPECT_TRUE(nothing_written_yet);
  EXPECT_EQ(f.conn->queued_bytes(), 0u);
  EXPECT_EQ(f.loop->bytes_out(), expected.size());
  std::string got(expected.size(), '\0');
  auto r = f.client->read_exact(std::as_writable_bytes(std::span(got)), Deadline::after(1s));
  ASSERT_TRUE(r);
  EXPECT_EQ(got, expected);
  f.conn->close(CloseReason::protocol);
}

TEST(Connection, SharedSendsAreQueuedByReferenceUntilTheTurnEnds) {
  sockit::test::FdLeakCheck leaks;
  ConnectionOptions o;
  o.coalesce_writes = true;
  Fixture f(o);
  auto owner = std::make_shared<const std::string>(std::string(1000, 's'));
  std::string expected = "own " + std::string(500, 's') + " own " + std::string(1000, 's');
  long refs_while_queued = 0;
  f.loop->post([&] {
    f.conn->send(std::string_view("own "));
    f.conn->send(owner, std::string_view(*owner).substr(0, 500));
    f.conn->send(std::string_view(" own "));
    f.conn->send(owner);
    refs_while_queued = owner.use_count();
  });
  f.loop->run_once(100ms);
  EXPECT_EQ(refs_while_queued, 3);  // two references queued, no copies
  EXPECT_EQ(owner.use_count(), 1);  // written: the references are gone
  std::string got(expected.size(), '\0');
  auto r = f.client->read_exact(std::as_writable_bytes(std::span(got)), Deadline::after(1s));
  ASSERT_TRUE(r);
  EXPECT_EQ(got, expected);
  f.conn->close(CloseReason::protocol);
}

TEST(Connection, CoalescedEchoFlushesBeforeHalfClose) {
  sockit::test::FdLeakCheck leaks;
  ConnectionOptions o;
  o.coalesce_writes = true;
  {
    Fixture f(o);
    std::string payload(200000, 'k');
    ASSERT_TRUE(f.client->write_all(payload, Deadline::after(1s)));
    ASSERT_TRUE(f.client->shutdown_write());
    std::string got;
    f.loop->run_after(5s, [&] { f.loop->stop(); });
    // Read the echo as the loop writes it (the kernel buffers alone may not hold all of it).
    auto give_up = std::chrono::steady_clock::now() + 10s;
    while (!f.conn->closed && std::chrono::steady_clock::now() < give_up) {
      f.loop->run_once(5ms);
      char buf[65536];
      auto n = f.client->read_some(std::as_writable_bytes(std::span(buf)), Deadline::after(1ms));
      if (n && *n > 0) got.append(buf, *n);
    }
    for (;;) {
      char buf[65536];
      auto n = f.client->read_some(std::as_writable_bytes(std::span(buf)), Deadline::after(1s));
      if (!n || *n == 0) break;
      got.append(buf, *n);
    }
    ASSERT_TRUE(f.conn->closed) << "the connection never finished its half-close";
    EXPECT_EQ(*f.conn->closed, CloseReason::peer_closed);
    EXPECT_EQ(got.size(), payload.size());
    EXPECT_EQ(got, payload);
    EXPECT_EQ(f.loop->watcher_count(), 0u);
  }
}

TEST(Connection, CoalescedSendQueueCapClosesSlowReader) {
  sockit::test::FdLeakCheck leaks;
  ConnectionOptions o;
  o.coalesce_writes = true;
  o.max_output = 128 << 10;
  Fixture f(o);
  ASSERT_TRUE(f.client->set_recv_buffer(4096));
  std::string big(16 << 10, 'z');
  f.loop->run_every(1ms, [&] {
    for (int i = 0; i < 4 && f.conn->is_open(); ++i) f.conn->send(big);  // never read
  });
  f.loop->run_after(5s, [&] { f.loop->stop(); });
  f.loop->run();
  ASSERT_TRUE(f.conn->closed);
  EXPECT_EQ(*f.conn->closed, CloseReason::send_queue_full);
}

// Pausing, resuming and the per-event read budget must not lose input in either registration
// mode: edge-triggered (epoll's default) gets no new report for bytes already queued.
class ConnectionModes : public ::testing::TestWithParam<bool> {};

TEST_P(ConnectionModes, ResumeReadingDeliversInputThatArrivedWhilePaused) {
  sockit::test::FdLeakCheck leaks;
  ConnectionOptions o;
  o.edge_triggered = GetParam();
  Fixture f(o);
  f.loop->post([&] { f.conn->pause_reading(); });
  f.loop->run_once(10ms);
  ASSERT_TRUE(f.client->write_all("while paused", Deadline::after(1s)));
  for (int i = 0; i < 5; ++i) f.loop->run_once(5ms);
  char probe[32];
  EXPECT_LT(::recv(f.client->fd(), probe, sizeof probe, MSG_DONTWAIT), 0);  // nothing echoed yet
  f.conn->resume_reading();
  for (int i = 0; i < 5; ++i) f.loop->run_once(5ms);
  std::string got(12, '\0');
  ASSERT_TRUE(f.client->read_exact(std::as_writable_bytes(std::span(got)), Deadline::after(1s)));
  EXPECT_EQ(got, "while paused");
  f.conn->close(CloseReason::protocol);
}

TEST_P(ConnectionModes, ReadBudgetPerEventLosesNothing) {
  sockit::test::FdLeakCheck leaks;
  ConnectionOptions o;
  o.edge_triggered = GetParam();
  o.reads_per_event = 1;  // one 64 KiB read per report: the rest must come back by itself
  Fixture f(o);
  std::string payload;
  for (int i = 0; payload.size() < (1 << 20); ++i) payload += std::to_string(i) + ",";
  std::thread writer([&] {
    (void)f.client->write_all(payload, Deadline::after(10s));
    (void)f.client->shutdown_write();
  });
  std::string got;
  auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!f.conn->closed && std::chrono::steady_clock::now() < give_up) {
    f.loop->run_once(5ms);
    char buf[65536];
    ssize_t n = ::recv(f.client->fd(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
  }
  writer.join();
  for (;;) {
    char buf[65536];
    auto n = f.client->read_some(std::as_writable_bytes(std::span(buf)), Deadline::after(1s));
    if (!n || *n == 0) break;
    got.append(buf, *n);
  }
  ASSERT_TRUE(f.conn->closed);
  EXPECT_EQ(*f.conn->closed, CloseReason::peer_closed);
  EXPECT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
}

INSTANTIATE_TEST_SUITE_P(Registration, ConnectionModes, ::testing::Bool(),
                         [](const auto& p) { return std::string(p.param ? "EdgeTriggered" : "LevelTriggered"); });

// set_echo_splice: large reads go back through the loop's pipe without reaching on_data; the
// echo must still be byte-exact, in order, in both registration modes, and when the client does
// not read (the socket fills, the pipe's rest goes to the output queue, backpressure pauses).
class SigpipeIgnored {
 public:
  explicit SigpipeIgnored(void (*how)(int) = SIG_IGN) : old_(std::signal(SIGPIPE, how)) {}
  ~SigpipeIgnored() { std::signal(SIGPIPE, old_); }

 private:
  void (*old_)(int);
};

class SpliceConn : public EchoConn {
 public:
  using EchoConn::EchoConn;
  std::size_t seen = 0;  // bytes that reached on_data

 protected:
  void on_data(std::span<const std::byte> d) override {
    seen += d.size();
    EchoConn::on_data(d);
  }
};

std::string numbered(std::size_t size) {
  std::string s;
  for (int i = 0; s.size() < size; ++i) s += std::to_string(i) + ",";
  return s;
}

// A coalesced connection whose backlog waits for room: when room comes, the backlog does not
// go out at once but at the turn end, with what the same turn adds (a chat receiver under
// fan-out): one write for both, and everything in order.
TEST_P(ConnectionModes, CoalescedBacklogLeavesWithTheTurnsNewOutputInOneWrite) {
  sockit::test::FdLeakCheck leaks;
  ConnectionOptions o;
  o.coalesce_writes = true;
  o.edge_triggered = GetParam();
  o.max_output = 0;
  Fixture f(o);
  std::string expected = numbered(16 << 20);
  f.loop->post([&] { f.conn->send(std::string_view(expected)); });
  f.loop->run_once(100ms);
  ASSERT_GT(f.conn->queued_bytes(), 0u) << "the kernel took 16 MiB at once: no backlog to test";

  std::string got;
  int writing_turns = 0;
  auto give_up = std::chrono::steady_clock::now() + 20s;
  for (int i = 0; f.conn->queued_bytes() > 0 && std::chrono::steady_clock::now() < give_up; ++i) {
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(f.client->fd(), buf, sizeof buf, MSG_DONTWAIT)) > 0) got.append(buf, static_cast<std::size_t>(n));
    // A turn that may find room: a posted task (run after the ready events, before the turn end)
    // adds a line and records what was still queued at that point.
    const std::size_t before = f.conn->queued_bytes();
    const std::uint64_t writes_before = f.loop->writes();
    std::size_t at_post = 0, after_send = 0;
    std::string line = "tail " + std::to_string(i) + "\n";
    expected += line;
    f.loop->post([&] {
      at_post = f.conn->queued_bytes();
      f.conn->send(std::string_view(line));
      after_send = f.conn->queued_bytes();
    });
    f.loop->run_once(5ms);
    const std::uint64_t writes = f.loop->writes() - writes_before;
    EXPECT_LE(writes, 1u) << "turn " << i << ": backlog and new line left in separate writes";
    if (writes == 1) {
      ++writing_turns;
      EXPECT_EQ(at_post, before) << "turn " << i << ": the backlog went out before the turn end";
      EXPECT_EQ(after_send, before + line.size()) << "turn " << i << ": the backlog went out inside send()";
    }
  }
  EXPECT_FALSE(f.conn->closed);
  EXPECT_EQ(f.conn->queued_bytes(), 0u);
  EXPECT_GT(writing_turns, 1);
  for (;;) {
    char buf[65536];
    auto n = f.client->read_some(std::as_writable_bytes(std::span(buf)), Deadline::after(200ms));
    if (!n || *n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
  f.conn->close(CloseReason::protocol);
}

// Runs the loop while a thread writes `payload` (then FIN) and this thread reads the echo, after
// `read_after` loop turns without reading.
std::string echo_through(EventLoop& loop, sockit::TcpStream& client, const Connection& conn, const std::string& payload,
                         int read_after) {
  std::thread writer([&] {
    (void)client.write_all(payload, Deadline::after(20s));
    (void)client.shutdown_write();
  });
  std::string got;
  auto give_up = std::chrono::steady_clock::now() + 20s;
  for (int turn = 0; conn.is_open() && std::chrono::steady_clock::now() < give_up; ++turn) {
    loop.run_once(2ms);
    if (turn < read_after) continue;
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(client.fd(), buf, sizeof buf, MSG_DONTWAIT)) > 0) got.append(buf, static_cast<std::size_t>(n));
  }
  writer.join();
  for (;;) {
    char buf[65536];
    auto n = client.read_some(std::as_writable_bytes(std::span(buf)), Deadline::after(1s));
    if (!n || *n == 0) break;
    got.append(buf, *n);
  }
  return got;
}

TEST_P(ConnectionModes, EchoSpliceReturnsLargeReadsUnchangedWithoutACopy) {
  sockit::test::FdLeakCheck leaks;
  SigpipeIgnored ignore;
  ConnectionOptions o;
  o.edge_triggered = GetParam();
  BasicFixture<SpliceConn> f(o);
  auto& conn = f.conn;
  sockit::loop::detail::set_echo_splice(*conn, true);
  std::string payload = numbered(4 << 20);
  std::string got = echo_through(*f.loop, *f.client, *conn, payload, 0);
  ASSERT_TRUE(conn->closed);
  EXPECT_EQ(*conn->closed, CloseReason::peer_closed);
  EXPECT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
  EXPECT_GT(f.loop->bytes_spliced(), payload.size() / 2);  // most of it never reached user space
  EXPECT_LT(conn->seen, payload.size() / 2);
  EXPECT_EQ(f.loop->bytes_out(), payload.size());
}

TEST_P(ConnectionModes, EchoSpliceKeepsOrderWhenTheReaderLags) {
  sockit::test::FdLeakCheck leaks;
  SigpipeIgnored ignore;
  ConnectionOptions o;
  o.edge_triggered = GetParam();
  o.high_water = 512 << 10;
  o.low_water = 128 << 10;
  BasicFixture<SpliceConn> f(o);
  ASSERT_TRUE(f.client->set_recv_buffer(16 << 10));  // the server's writes stop short early
  auto& conn = f.conn;
  sockit::loop::detail::set_echo_splice(*conn, true);
  std::string payload = numbered(8 << 20);
  std::string got = echo_through(*f.loop, *f.client, *conn, payload, 200);  // 200 turns unread
  ASSERT_TRUE(conn->closed);
  EXPECT_TRUE(conn->paused_seen || conn->max_queued > 0);  // the queue took what the socket did not
  EXPECT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
  EXPECT_GT(f.loop->bytes_spliced(), 0u);
}

TEST(Connection, EchoSpliceLeavesSmallReadsToOnData) {
  sockit::test::FdLeakCheck leaks;
  SigpipeIgnored ignore;
  Fixture f;
  sockit::loop::detail::set_echo_splice(*f.conn, true);
  for (int i = 0; i < 20; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    ASSERT_TRUE(f.client->write_all(line, Deadline::after(1s)));
    std::string got(line.size(), '\0');
    for (int t = 0; t < 3; ++t) f.loop->run_once(2ms);
    ASSERT_TRUE(f.client->read_exact(std::as_writable_bytes(std::span(got)), Deadline::after(1s)));
    EXPECT_EQ(got, line);
  }
  EXPECT_EQ(f.loop->bytes_spliced(), 0u);
  f.conn->close(CloseReason::protocol);
}

// --- io_uring: reads through a multishot RECV into the loop's buffer ring (ring_recv.hpp) ---

// Sets (or clears) an environment variable for the lifetime of a test, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Echoes `lines` one at a time (written, then read back) through a connection on `f`'s loop.
template <class F>
void echo_lines(F& f, int lines) {
  for (int i = 0; i < lines; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    ASSERT_TRUE(f.client->write_all(line, Deadline::after(1s)));
    std::string got;
    auto give_up = std::chrono::steady_clock::now() + 2s;
    while (got.size() < line.size() && std::chrono::steady_clock::now() < give_up) {
      f.loop->run_once(2ms);
      char buf[256];
      ssize_t n = ::recv(f.client->fd(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    }
    ASSERT_EQ(got, line);
  }
}

// On by default (SOCKIT_URING_RECV unset) where the kernel passes the probe, as it does here.
TEST(UringRecv, ReadsComeThroughTheBufferRingAndNotRecv) {
  SOCKIT_SKIP_WITHOUT_URING(true);
  sockit::test::FdLeakCheck leaks;
  if (sockit::sys::faults_enabled()) GTEST_SKIP() << "SOCKIT_FAULTS: reads go through sys:: (recv)";
  ScopedEnv on("SOCKIT_URING_RECV", nullptr);
  BasicFixture<EchoConn> f({}, sockit::loop::Backend::uring);
  ASSERT_NE(sockit::loop::detail::recv_ring(*f.loop), nullptr);
  echo_lines(f, 50);
  // Each line was written after the last echo came back: one completion per line at least.
  EXPECT_GE(sockit::loop::detail::ring_recvs(*f.loop), 50u);
  f.conn->close(CloseReason::protocol);
  // The close cancelled the RECV at once: the client sees the FIN (nothing holds the socket).
  char c;
  auto n = f.client->read_some(std::as_writable_bytes(std::span(&c, 1)), Deadline::after(2s));
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
}

TEST(UringRecv, SwitchedOffItReadsWithRecv) {
  SOCKIT_SKIP_WITHOUT_URING(true);
  sockit::test::FdLeakCheck leaks;
  ScopedEnv off("SOCKIT_URING_RECV", "0");
  BasicFixture<EchoConn> f({}, sockit::loop::Backend::uring);
  EXPECT_EQ(sockit::loop::detail::recv_ring(*f.loop), nullptr);
  echo_lines(f, 10);
  EXPECT_EQ(sockit::loop::detail::ring_recvs(*f.loop), 0u);
  f.conn->close(CloseReason::protocol);
}

TEST(UringRecv, PausedReadingCancelsTheRecvAndResumeDeliversWhatArrived) {
  SOCKIT_SKIP_WITHOUT_URING(true);
  sockit::test::FdLeakCheck leaks;
  ScopedEnv on("SOCKIT_URING_RECV", "1");
  BasicFixture<EchoConn> f({}, sockit::loop::Backend::uring);
  echo_lines(f, 1);
  f.loop->post([&] { f.conn->pause_reading(); });
  f.loop->run_once(10ms);
  const std::uint64_t before = sockit::loop::detail::ring_recvs(*f.loop);
  ASSERT_TRUE(f.client->write_all("while paused", Deadline::after(1s)));
  for (int i = 0; i < 5; ++i) f.loop->run_once(5ms);
  char probe[32];
  EXPECT_LT(::recv(f.client->fd(), probe, sizeof probe, MSG_DONTWAIT), 0);  // nothing echoed yet
  EXPECT_EQ(sockit::loop::detail::ring_recvs(*f.loop), before);             // nor read: cancelled
  f.conn->resume_reading();
  std::string got;
  auto give_up = std::chrono::steady_clock::now() + 2s;
  while (got.size() < 12 && std::chrono::steady_clock::now() < give_up) {
    f.loop->run_once(2ms);
    ssize_t n = ::recv(f.client->fd(), probe, sizeof probe, MSG_DONTWAIT);
    if (n > 0) got.append(probe, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(got, "while paused");
  EXPECT_GT(sockit::loop::detail::ring_recvs(*f.loop), before);  // the re-armed RECV read it
  f.conn->close(CloseReason::protocol);
}

// 8 MiB through a lagging reader: high water pauses (RECV cancelled), low water resumes (armed
// again), EOF ends it; byte-exact, in order. The multishot RECV cannot take the loop's buffer ring
// for one connection: past RecvRing::kMaxHeld buffers held it is cancelled and the connection
// reads with recv() under its water marks.
// The client's 16 KiB receive buffer is set before it connects. Set after the handshake (the SYN
// advertised 64 KiB), it made this test crawl on uring (docs/MODELS.md, tcpdump): Linux bounds
// the server's MSS to half the largest window the peer advertised (32 KiB), the shrunk buffer
// then offers 31 KiB or 32 KiB depending on the segments it got, and with 31 KiB the server
// sends only on its persist timer (31 KiB per ~210 ms): 8 MiB took 46 s.
TEST(UringRecv, BackpressureAndEofLoseNothing) {
  SOCKIT_SKIP_WITHOUT_URING(true);
  sockit::test::FdLeakCheck leaks;
  if (sockit::sys::faults_enabled()) GTEST_SKIP() << "SOCKIT_FAULTS: reads go through sys:: (recv)";
  ScopedEnv on("SOCKIT_URING_RECV", "1");
  ConnectionOptions o;
  o.high_water = 256 << 10;
  o.low_water = 64 << 10;
  BasicFixture<EchoConn> f(o, sockit::loop::Backend::uring, 16 << 10);
  auto* ring = sockit::loop::detail::recv_ring(*f.loop);
  ASSERT_NE(ring, nullptr);
  std::string payload = numbered(8 << 20);
  std::string got = echo_through(*f.loop, *f.client, *f.conn, payload, 200);
  ASSERT_TRUE(f.conn->closed);
  EXPECT_EQ(*f.conn->closed, CloseReason::peer_closed);
  EXPECT_TRUE(f.conn->paused_seen);
  EXPECT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
  EXPECT_GT(sockit::loop::detail::ring_recvs(*f.loop), 0u);
  // The cap held: the RECV stopped at its byte limit (without it the slot took 1103-2048 of the
  // ring's 2048 buffers). Short reads may add buffers, never bytes.
  EXPECT_LE(ring->held_peak(), 2 * sockit::loop::detail::RecvRing::kMaxHeld) << "peak " << ring->held_peak();
  std::printf("ring buffers held at most: %zu\n", ring->held_peak());
}

// Echoes `size` numbered bytes then FIN through `f`: byte-exact, closed as peer_closed.
template <class F>
void expect_exact_echo_then_eof(F& f, std::size_t size) {
  std::string payload = numbered(size);
  std::string got = echo_through(*f.loop, *f.client, *f.conn, payload, 0);
  ASSERT_TRUE(f.conn->closed);
  EXPECT_EQ(*f.conn->closed, CloseReason::peer_closed);
  EXPECT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
}

// An echo that splices starts on readiness: a large first transfer is spliced as on epoll.
TEST(UringRecv, EchoSpliceSplicesALargeFirstTransfer) {
  SOCKIT_SKIP_WITHOUT_URING(true);
  sockit::test::FdLeakCheck leaks;
  SigpipeIgnored ignore;
  ScopedEnv on("SOCKIT_URING_RECV", "1");
  BasicFixture<SpliceConn> f({}, sockit::loop::Backend::uring);
  sockit::loop::detail::set_echo_splice(*f.conn, true);
  expect_exact_echo_then_eof(f, 4 << 20);
  EXPECT_GT(f.loop->bytes_spliced(), (4u << 20) / 2);
}

// Small reads move a splicing echo to the ring; a large one then makes it leave the ring (what
// the RECV already took goes through on_data first): byte-exact either way.
TEST(UringRecv, EchoSpliceEntersTheRingOnSmallReadsAndLeavesItExactly) {
  SOCKIT_SKIP_WITHOUT_URING(true);
  sockit::test::FdLeakCheck leaks;
  SigpipeIgnored ignore;
  ScopedEnv on("SOCKIT_URING_RECV", "1");
  BasicFixture<SpliceConn> f({}, sockit::loop::Backend::uring);
  sockit::loop::detail::set_echo_splice(*f.conn, true);
  echo_lines(f, 5);
  EXPECT_GE(sockit::loop::detail::ring_recvs(*f.loop), 4u);  // the first on readiness, then the ring
  expect_exact_echo_then_eof(f, 4 << 20);
}

// Connections closed while their RECV is armed and while completions wait in their slot: the
// slots are reused by new connections (ASan: no use of a freed connection or buffer).
TEST(UringRecv, ClosingWithCompletionsQueuedIsSafeAndSlotsAreReused) {
  SOCKIT_SKIP_WITHOUT_URING(true);
  sockit::test::FdLeakCheck leaks;
  ScopedEnv on("SOCKIT_URING_RECV", "1");
  auto loop = std::move(*EventLoop::create(sockit::loop::Backend::uring));
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l);
  ConnectionOptions o;
  for (int round = 0; round < 20; ++round) {
    auto c = sockit::TcpStream::connect(*l->local_address(), Deadline::after(2s));
    ASSERT_TRUE(c);
    Address peer;
    auto s = l->accept(Deadline::after(2s), &peer);
    ASSERT_TRUE(s);
    auto conn = std::make_shared<EchoConn>(*loop, s->release(), peer, o);
    ASSERT_TRUE(conn->start());
    loop->post([&] { conn->pause_reading(); });
    loop->run_once(2ms);
    conn->resume_reading();  // the cancelled RECV may not have ended yet: armed again after it
    ASSERT_TRUE(c->write_all("abc", Deadline::after(1s)));
    loop->run_once(0ms);
    if (round % 2 == 0) {
      conn->close(CloseReason::protocol);  // maybe with the completion still queued
    }
    conn.reset();
    for (int i = 0; i < 3; ++i) loop->run_once(1ms);
  }
  EXPECT_EQ(loop->watcher_count(), 0u);
}

TEST(Connection, EchoSpliceNeedsSigpipeIgnored) {
  sockit::test::FdLeakCheck leaks;
  SigpipeIgnored dfl(SIG_DFL);  // a splice into a reset socket would kill the process: no pipe
  BasicFixture<SpliceConn> f;
  auto& conn = f.conn;
  sockit::loop::detail::set_echo_splice(*conn, true);
  std::string payload = numbered(1 << 20);
  std::string got = echo_through(*f.loop, *f.client, *conn, payload, 0);
  EXPECT_TRUE(got == payload);
  EXPECT_EQ(f.loop->bytes_spliced(), 0u);
  EXPECT_EQ(conn->seen, payload.size());
}

TEST(Connection, IdleTimeoutCloses) {
  sockit::test::FdLeakCheck leaks;
  ConnectionOptions o;
  o.idle_timeout = 50ms;
  auto start = std::chrono::steady_clock::now();  // before the connection exists: idle counts from then
  Fixture f(o);
  f.loop->run_after(5s, [&] { f.loop->stop(); });
  f.loop->run();
  ASSERT_TRUE(f.conn->closed);
  EXPECT_EQ(*f.conn->closed, CloseReason::idle_timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST(Connection, PeerResetIsReported) {
  sockit::test::FdLeakCheck leaks;
  Fixture f;
  ASSERT_TRUE(f.client->write_all("x", Deadline::after(1s)));
  f.loop->run_once(50ms);
  f.client->reset();
  f.loop->post([&] { f.conn->send(std::string(100000, 'r')); });
  f.loop->run_after(5s, [&] { f.loop->stop(); });
  f.loop->run();
  ASSERT_TRUE(f.conn->closed);
  EXPECT_TRUE(*f.conn->closed == CloseReason::reset || *f.conn->closed == CloseReason::peer_closed);
}

TEST(Acceptor, AcceptsInBatchesAndCloseRefusesNewConnects) {
  sockit::test::FdLeakCheck leaks;
  auto loop = std::move(*EventLoop::create());
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l);
  Address addr = *l->local_address();
  std::vector<Fd> got;
  auto acc = sockit::loop::Acceptor::create(*loop, l->release(), [&](Fd fd, const Address&) {
    got.push_back(std::move(fd));
  });
  ASSERT_TRUE(acc);
  std::vector<sockit::TcpStream> clients;
  for (int i = 0; i < 40; ++i) clients.push_back(std::move(*sockit::TcpStream::connect(addr, Deadline::after(2s))));
  for (int i = 0; i < 50 && got.size() < 40; ++i) loop->run_once(20ms);
  EXPECT_EQ(got.size(), 40u);
  (*acc)->close();
  EXPECT_FALSE(sockit::TcpStream::connect(addr, Deadline::after(1s)));
}

// --- io_uring multishot accept (ring_accept.hpp) ---

// `n` non-blocking connects to `addr` at once (a burst: all in the backlog before the loop runs).
std::vector<Fd> connect_burst(const Address& addr, int n) {
  std::vector<Fd> out;
  for (int i = 0; i < n; ++i) {
    Fd c(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!c) break;
    int rc = ::connect(c.get(), addr.sockaddr_ptr(), addr.length());
    if (rc != 0 && errno != EINPROGRESS) break;
    out.push_back(std::move(c));
  }
  return out;
}

std::string local_of(int fd) {
  Address a;
  socklen_t len = Address::capacity();
  if (::getsockname(fd, a.sockaddr_ptr(), &len) != 0) return "?";
  a.set_length(len);
  return a.to_string();
}

// The ring's accept needs io_uring, and is off under SOCKIT_FAULTS (faults are injected in sys::accept4).
#define SKIP_WITHOUT_RING_ACCEPT()                                                              \
  do {                                                                                          \
    SOCKIT_SKIP_WITHOUT_URING(true);                                                            \
    if (sockit::sys::faults_enabled()) GTEST_SKIP() << "SOCKIT_FAULTS: accepts go through accept4"; \
  } while (false)

struct RingAcceptRun {
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<sockit::loop::Acceptor> acc;
  Address addr;
  std::vector<Fd> got;
  std::vector<std::string> peers;
  RingAcceptRun() {
    loop = std::move(*EventLoop::create(sockit::loop::Backend::uring));
    auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
    if (!l) return;
    addr = *l->local_address();
    auto a = sockit::loop::Acceptor::create(*loop, l->release(), [this](Fd fd, const Address& peer) {
      got.push_back(std::move(fd));
      peers.push_back(peer.to_string());
    });
    if (a) acc = std::move(*a);
  }
  void run_until(std::size_t n, std::chrono::milliseconds limit) {
    auto give_up = std::chrono::steady_clock::now() + limit;
    while (got.size() < n && std::chrono::steady_clock::now() < give_up) loop->run_once(10ms);
  }
};

TEST(UringAccept, ABurstOf500ConnectsIsAllAcceptedThroughTheRing) {
  SKIP_WITHOUT_RING_ACCEPT();
  sockit::test::FdLeakCheck leaks;
  {
    RingAcceptRun r;
    ASSERT_TRUE(r.acc);
    ASSERT_TRUE(r.acc->accepts_on_ring());
    std::vector<Fd> clients = connect_burst(r.addr, 500);
    ASSERT_EQ(clients.size(), 500u);
    r.run_until(500, 10s);
    ASSERT_EQ(r.got.size(), 500u);
    EXPECT_EQ(sockit::loop::detail::ring_accepts(*r.acc), 500u);  // every one through the ring, none through accept4
    EXPECT_EQ(r.acc->core().accepted(), 500u);
    // Same descriptors as accept4 gives: non-blocking, close-on-exec; and the right peers.
    std::vector<std::string> locals;
    for (const Fd& c : clients) locals.push_back(local_of(c.get()));
    std::sort(locals.begin(), locals.end());
    std::sort(r.peers.begin(), r.peers.end());
    EXPECT_EQ(r.peers, locals);
    for (const Fd& fd : r.got) {
      ASSERT_NE(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK, 0);
      ASSERT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0);
    }
    // The accepted connections work: a byte each way on the first one.
    ASSERT_EQ(::send(clients[0].get(), "x", 1, MSG_NOSIGNAL), 1);
    r.acc->close();  // cancels the multishot accept: the port is released at once
    EXPECT_FALSE(sockit::TcpStream::connect(r.addr, Deadline::after(1s)));
  }
}

TEST(UringAccept, OffWithSockitUringAcceptZeroAcceptsOnReadiness) {
  SOCKIT_SKIP_WITHOUT_URING(true);
  sockit::test::FdLeakCheck leaks;
  ScopedEnv off("SOCKIT_URING_ACCEPT", "0");
  RingAcceptRun r;
  ASSERT_TRUE(r.acc);
  EXPECT_FALSE(r.acc->accepts_on_ring());
  std::vector<Fd> clients = connect_burst(r.addr, 50);
  r.run_until(50, 5s);
  EXPECT_EQ(r.got.size(), 50u);
  EXPECT_EQ(sockit::loop::detail::ring_accepts(*r.acc), 0u);
  EXPECT_EQ(r.acc->core().accepted(), 50u);
}

TEST(UringAccept, ClosedWhileConnectionsArriveLeaksNothing) {
  SKIP_WITHOUT_RING_ACCEPT();
  sockit::test::FdLeakCheck leaks;  // descriptors the cancelled accept still brought are closed
  for (int round = 0; round < 3; ++round) {
    RingAcceptRun r;
    ASSERT_TRUE(r.acc);
    std::vector<Fd> first = connect_burst(r.addr, 20);
    r.run_until(20, 5s);
    ASSERT_EQ(r.got.size(), 20u);
    // More arrive while the accept is armed; the acceptor goes before the loop hands them over.
    std::vector<Fd> more = connect_burst(r.addr, 50);
    r.acc.reset();
    for (int i = 0; i < 5; ++i) r.loop->run_once(5ms);  // late completions meet a closed slot
    EXPECT_EQ(r.got.size(), 20u);
  }
}

TEST(UringAccept, OutOfDescriptorsShedsThenTheRingAcceptsAgain) {
  SKIP_WITHOUT_RING_ACCEPT();
  sockit::test::FdLeakCheck leaks;
  RingAcceptRun r;
  ASSERT_TRUE(r.acc);
  ASSERT_TRUE(r.acc->accepts_on_ring());
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  std::vector<Fd> clients = connect_burst(r.addr, 1);
  ASSERT_EQ(clients.size(), 1u);
  std::vector<int> fillers;
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(sockit::test::open_fds().size() + 2);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (;;) {
    int fd = ::dup(0);
    if (fd < 0) break;
    fillers.push_back(fd);
  }
  // The ring's accept fails with EMFILE; the readiness step sheds the connection (spare trick).
  auto give_up = std::chrono::steady_clock::now() + 5s;
  while (r.acc->core().shed() == 0 && std::chrono::steady_clock::now() < give_up) r.loop->run_once(10ms);
  for (int fd : fillers) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_EQ(r.acc->core().shed(), 1u);
  EXPECT_EQ(r.got.size(), 0u);
  EXPECT_TRUE(r.acc->core().has_spare());
  char x;
  EXPECT_LE(::recv(clients[0].get(), &x, 1, 0), 0);  // closed at once (EOF or reset), not left hanging
  // The multishot accept was armed again: the next connects come through the ring.
  std::vector<Fd> later = connect_burst(r.addr, 10);
  r.run_until(10, 5s);
  EXPECT_EQ(r.got.size(), 10u);
  EXPECT_EQ(sockit::loop::detail::ring_accepts(*r.acc), 10u);
}

TEST(AcceptCore, OutOfDescriptorsShedsConnectionAndStopsAtEagain) {
  sockit::test::FdLeakCheck leaks;
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l);
  ASSERT_TRUE(sockit::set_nonblocking(l->fd()));
  Address addr = *l->local_address();
  sockit::loop::AcceptCore core(l->fd());
  ASSERT_TRUE(core.has_spare());
  auto c1 = sockit::TcpStream::connect(addr, Deadline::after(2s));
  ASSERT_TRUE(c1);
  // Exhaust descriptors: lower the soft limit to what is open now (libuv test-emfile).
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  std::vector<int> fillers;
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(sockit::test::open_fds().size() + 3);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (;;) {
    int fd = ::dup(0);
    if (fd < 0) break;
    fillers.push_back(fd);
  }
  auto out = core.accept_one();
  auto again = core.accept_one();
  for (int fd : fillers) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_EQ(out.status, sockit::loop::AcceptCore::Status::shed);
  EXPECT_EQ(core.shed(), 1u);
  EXPECT_EQ(again.status, sockit::loop::AcceptCore::Status::again);  // no spin: the backlog is empty
  EXPECT_TRUE(core.has_spare());
  // The client saw its connection accepted and closed, not left hanging in the backlog.
  char x;
  auto n = c1->read_some(std::as_writable_bytes(std::span(&x, 1)), Deadline::after(2s));
  EXPECT_TRUE(!n || *n == 0);
}

// --- hold_output: a passive receiver's small output waits across turns (one segment for several) ---

class HeldOutput : public ::testing::TestWithParam<sockit::loop::Backend> {
 protected:
  // A fixture whose connection sent nothing for a few turns (so it counts as a passive receiver).
  std::unique_ptr<Fixture> make(std::chrono::milliseconds hold, std::size_t hold_bytes = 2048) {
    ConnectionOptions o;
    o.coalesce_writes = true;
    o.hold_output = hold;
    o.hold_bytes = hold_bytes;
    auto f = std::make_unique<Fixture>(o, GetParam());
    for (int i = 0; i < 3; ++i) f->loop->run_once(1ms);
    return f;
  }
  // Runs the loop until `want` bytes were read from the client or `limit` passed.
  static std::string read_while_running(Fixture& f, std::size_t want, std::chrono::milliseconds limit) {
    std::string got;
    auto give_up = std::chrono::steady_clock::now() + limit;
    while (got.size() < want && std::chrono::steady_clock::now() < give_up) {
      f.loop->run_once(2ms);
      char buf[4096];
      ssize_t n = ::recv(f.client->fd(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
};

TEST_P(HeldOutput, SmallOutputOfSeveralTurnsLeavesOnceTheHoldIsOverInOneWrite) {
  SOCKIT_SKIP_WITHOUT_URING(GetParam() == sockit::loop::Backend::uring);
  sockit::test::FdLeakCheck leaks;
  auto f = make(200ms);
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t writes = f->loop->writes();
  f->loop->post([&] { f->conn->send(std::string_view("one\r\n")); });
  f->loop->run_once(1ms);
  f->loop->post([&] { f->conn->send(std::string_view("two\r\n")); });
  f->loop->run_once(1ms);
  char probe[16];
  EXPECT_LT(::recv(f->client->fd(), probe, sizeof probe, MSG_DONTWAIT), 0) << "written at the turn end: not held";
  EXPECT_EQ(f->conn->queued_bytes(), 10u);
  std::string got = read_while_running(*f, 10, 5s);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(got, "one\r\ntwo\r\n");
  EXPECT_GE(waited, 190ms);  // never early (the loop's timers round up)
  EXPECT_LT(waited, 4s);     // but it does go: the hold timer
  EXPECT_EQ(f->loop->writes() - writes, 1u);
  f->conn->close(CloseReason::protocol);
}

TEST_P(HeldOutput, AReplyToInputIsNotHeld) {
  SOCKIT_SKIP_WITHOUT_URING(GetParam() == sockit::loop::Backend::uring);
  sockit::test::FdLeakCheck leaks;
  auto f = make(10s);
  ASSERT_TRUE(f->client->write_all("ping\n", Deadline::after(1s)));  // echoed in the turn that reads it
  EXPECT_EQ(read_while_running(*f, 5, 3s), "ping\n");
  f->conn->close(CloseReason::protocol);
}

TEST_P(HeldOutput, HeldOutputReachingHoldBytesLeavesAtTheTurnEnd) {
  SOCKIT_SKIP_WITHOUT_URING(GetParam() == sockit::loop::Backend::uring);
  sockit::test::FdLeakCheck leaks;
  auto f = make(10s, 1000);
  const std::string small(100, 's'), more(1000, 'm');
  f->loop->post([&] { f->conn->send(std::string_view(small)); });
  f->loop->run_once(1ms);
  EXPECT_EQ(f->conn->queued_bytes(), small.size());  // held
  f->loop->post([&] { f->conn->send(std::string_view(more)); });
  EXPECT_EQ(read_while_running(*f, small.size() + more.size(), 3s), small + more);
  f->conn->close(CloseReason::protocol);
}

TEST_P(HeldOutput, ShutdownAfterFlushWritesHeldOutputThenTheFin) {
  SOCKIT_SKIP_WITHOUT_URING(GetParam() == sockit::loop::Backend::uring);
  sockit::test::FdLeakCheck leaks;
  auto f = make(10s);
  f->loop->post([&] { f->conn->send(std::string_view("bye\r\n")); });
  f->loop->run_once(1ms);
  EXPECT_EQ(f->conn->queued_bytes(), 5u);  // held
  f->conn->shutdown_after_flush();
  EXPECT_EQ(read_while_running(*f, 5, 3s), "bye\r\n");
  // The FIN follows the held bytes (recv returns 0), long before the 10 s hold.
  bool eof = false;
  auto give_up = std::chrono::steady_clock::now() + 3s;
  while (!eof && std::chrono::steady_clock::now() < give_up) {
    f->loop->run_once(2ms);
    char buf[16];
    eof = ::recv(f->client->fd(), buf, sizeof buf, MSG_DONTWAIT) == 0;
  }
  EXPECT_TRUE(eof);
  f->client->close();
  f->conn->close(CloseReason::protocol);
}

INSTANTIATE_TEST_SUITE_P(Backends, HeldOutput,
                         ::testing::Values(sockit::loop::Backend::epoll, sockit::loop::Backend::uring),
                         [](const auto& p) { return p.param == sockit::loop::Backend::uring ? "uring" : "epoll"; });

TEST(Connector, ConnectsAndReportsRefusalAfterRetries) {
  sockit::test::FdLeakCheck leaks;
  auto loop = std::move(*EventLoop::create());
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  Address good = *l->local_address();
  auto closed_port = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  Address bad = *closed_port->local_address();
  closed_port->close();
  std::optional<bool> good_ok, bad_ok;
  std::error_code bad_err;
  auto c1 = sockit::loop::Connector::start(*loop, good, {}, [&](sockit::Result<Fd> r) { good_ok = r.ok(); });
  sockit::loop::ConnectorOptions ro;
  ro.max_attempts = 3;
  ro.initial_backoff = 10ms;
  auto c2 = sockit::loop::Connector::start(*loop, bad, ro, [&](sockit::Result<Fd> r) {
    bad_ok = r.ok();
    if (!r) bad_err = r.error().code();
  });
  for (int i = 0; i < 200 && (!good_ok || !bad_ok); ++i) loop->run_once(10ms);
  ASSERT_TRUE(good_ok);
  EXPECT_TRUE(*good_ok);
  ASSERT_TRUE(bad_ok);
  EXPECT_FALSE(*bad_ok);
  EXPECT_EQ(bad_err, std::errc::connection_refused);
  EXPECT_EQ(c2->attempts(), 3);
}

}  // namespace
