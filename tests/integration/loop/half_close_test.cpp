// Connection::half_close() and ConnectorOptions::source over loopback sockets: the half-close
// that keeps reading (what nc and proxy forward), in both orders, byte-exact; and a Connector
// that binds its source address, with its errors as Result.
#include "sockit/loop/connection.hpp"
#include "sockit/loop/connector.hpp"
#include "sockit/net/socket.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::Fd;
using sockit::loop::CloseReason;
using sockit::loop::Connection;
using sockit::loop::ConnectionOptions;
using sockit::loop::ConnState;
using sockit::loop::EventLoop;

namespace {

// Records what arrives and in which order the end comes (eof, closed).
class Recorder final : public Connection {
 public:
  using Connection::Connection;
  std::string got;
  std::vector<std::string> events;
  std::optional<CloseReason> closed;

 private:
  void on_data(std::span<const std::byte> d) override { got.append(reinterpret_cast<const char*>(d.data()), d.size()); }
  void on_eof() override { events.emplace_back("eof"); }
  void on_closed(CloseReason r, std::error_code) override {
    events.emplace_back("closed");
    closed = r;
  }
};

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + i / 251) & 0xff);
  return s;
}

// Reads `s` until EOF (or the deadline).
std::string read_to_eof(sockit::TcpStream& s, Deadline deadline) {
  std::string out;
  std::vector<std::byte> buf(65536);
  for (;;) {
    auto n = s.read_some(buf, deadline);
    if (!n || *n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

struct Pair {
  std::unique_ptr<EventLoop> loop = std::move(*EventLoop::create());
  std::optional<sockit::TcpStream> client;
  std::shared_ptr<Recorder> conn;
  ConnectionOptions opts;

  Pair() {
    auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
    auto c = sockit::TcpStream::connect(*l->local_address(), Deadline::after(2s));
    client.emplace(std::move(*c));
    Address peer;
    auto s = l->accept(Deadline::after(2s), &peer);
    conn = std::make_shared<Recorder>(*loop, s->release(), peer, opts);
    EXPECT_TRUE(conn->start());
  }
  // Runs the loop until `done` or 10 s.
  template <class F>
  void run_until(F done) {
    const Deadline d = Deadline::after(10s);
    while (!done() && !d.expired()) loop->run_once(10ms);
  }
};

TEST(HalfClose, OursFirstKeepsDeliveringUntilThePeersFin) {
  sockit::test::FdLeakCheck leaks;
  Pair p;
  p.conn->send(std::string_view("before our FIN"));
  p.conn->half_close();
  EXPECT_EQ(p.conn->state(), ConnState::write_closed);
  p.conn->send(std::string_view("dropped"));  // nothing after the half-close
  EXPECT_EQ(read_to_eof(*p.client, Deadline::after(5s)), "before our FIN") << "then our FIN";
  // The other direction goes on: 1 MiB after our FIN reaches on_data, byte for byte.
  const std::string data = pattern(1 << 20, 1);
  std::thread writer([&] {
    EXPECT_TRUE(p.client->write_all(data, Deadline::after(10s)));
    EXPECT_TRUE(p.client->shutdown_write());
  });
  p.run_until([&] { return p.conn->closed.has_value(); });
  writer.join();
  EXPECT_TRUE(p.conn->got == data) << "got " << p.conn->got.size() << " of " << data.size() << " bytes";
  EXPECT_EQ(p.conn->events, (std::vector<std::string>{"eof", "closed"})) << "on_eof, then the close it brings";
  ASSERT_TRUE(p.conn->closed);
  EXPECT_EQ(*p.conn->closed, CloseReason::peer_closed);
  EXPECT_EQ(p.loop->watcher_count(), 0u);
}

TEST(HalfClose, PeersFirstThenOursClosesOnceTheQueueIsOut) {
  sockit::test::FdLeakCheck leaks;
  Pair p;
  ASSERT_TRUE(p.client->write_all("abc", Deadline::after(2s)));
  ASSERT_TRUE(p.client->shutdown_write());
  p.run_until([&] { return !p.conn->events.empty(); });
  EXPECT_EQ(p.conn->got, "abc");
  EXPECT_EQ(p.conn->state(), ConnState::read_closed);
  // More than the socket takes at once: the FIN waits for the queue.
  const std::string data = pattern(4 << 20, 2);
  p.conn->send(std::string_view(data));
  p.conn->half_close(CloseReason::protocol);
  EXPECT_TRUE(p.conn->is_open()) << "queued output first";
  EXPECT_EQ(p.conn->state(), ConnState::read_closed_draining);
  std::string back;
  std::thread reader([&] { back = read_to_eof(*p.client, Deadline::after(10s)); });
  p.run_until([&] { return p.conn->closed.has_value(); });
  reader.join();
  EXPECT_TRUE(back == data) << "got " << back.size() << " of " << data.size() << " bytes, then EOF";
  EXPECT_EQ(p.conn->events, (std::vector<std::string>{"eof", "closed"}));
  ASSERT_TRUE(p.conn->closed);
  EXPECT_EQ(*p.conn->closed, CloseReason::protocol) << "the reason half_close() was given";
}

// A transport that keeps what the socket does not take (as TLS keeps a record it could not write
// whole) and takes nothing more until that is out: EAGAIN, waiting for writability.
class HoldingTransport final : public sockit::loop::Transport {
 public:
  ssize_t read(int fd, std::span<std::byte> buf) noexcept override { return ::read(fd, buf.data(), buf.size()); }
  ssize_t write(int fd, std::span<const std::byte> bytes) noexcept override {
    if (pending_output() > 0) {
      errno = EAGAIN;
      return -1;
    }
    held_.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    off_ = 0;
    (void)flush(fd);
    return static_cast<ssize_t>(bytes.size());
  }
  ssize_t writev(int fd, const iovec* iov, int n) noexcept override {
    return n > 0 ? write(fd, std::span(static_cast<const std::byte*>(iov[0].iov_base), iov[0].iov_len)) : 0;
  }
  int shutdown_write(int fd) noexcept override {
    shut_with_pending_ = pending_output();
    return ::shutdown(fd, SHUT_WR);
  }
  sockit::loop::Want wants() const noexcept override {
    return pending_output() > 0 ? sockit::loop::Want::write : sockit::loop::Want::none;
  }
  std::size_t pending_output() const noexcept override { return held_.size() - off_; }
  ssize_t flush(int fd) noexcept override {
    ssize_t total = 0;
    while (off_ < held_.size()) {
      ssize_t n = ::write(fd, held_.data() + off_, held_.size() - off_);
      if (n <= 0) return total > 0 ? total : n;
      off_ += static_cast<std::size_t>(n);
      total += n;
    }
    return total;
  }
  std::size_t shut_with_pending_ = 0;  // pending_output() when our FIN went

 private:
  std::string held_;
  std::size_t off_ = 0;
};

TEST(HalfClose, OurFinWaitsForBytesTheTransportStillHolds) {
  sockit::test::FdLeakCheck leaks;
  auto loop = std::move(*EventLoop::create());
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  auto c = sockit::TcpStream::connect(*l->local_address(), Deadline::after(2s));
  ASSERT_TRUE(c);
  Address peer;
  auto s = l->accept(Deadline::after(2s), &peer);
  ASSERT_TRUE(s);
  ConnectionOptions opts;
  opts.max_output = 0;  // 16 MiB queued on purpose
  auto holding = std::make_unique<HoldingTransport>();
  HoldingTransport* t = holding.get();
  auto conn = std::make_shared<Recorder>(*loop, s->release(), peer, opts, std::move(holding));
  ASSERT_TRUE(conn->start());
  // The peer's FIN first: our FIN will then close the connection.
  ASSERT_TRUE(c->write_all("abc", Deadline::after(2s)));
  ASSERT_TRUE(c->shutdown_write());
  const Deadline d = Deadline::after(20s);
  while (conn->events.empty() && !d.expired()) loop->run_once(10ms);
  ASSERT_EQ(conn->got, "abc");
  // The first block fills the socket and the rest stays in the transport; the second waits in
  // the connection's queue, and moves into the transport (held again) once the client reads.
  const std::string first = pattern(4 << 20, 3), second = pattern(16 << 20, 4);
  conn->send(std::string_view(first));
  ASSERT_GT(t->pending_output(), 0u) << "the socket took 4 MiB at once";
  conn->send(std::string_view(second));
  ASSERT_GT(conn->queued_bytes(), 0u) << "the transport refused the second block";
  conn->half_close();
  std::string back;
  std::thread reader([&] { back = read_to_eof(*c, Deadline::after(20s)); });
  while (!conn->closed && !d.expired()) loop->run_once(10ms);
  reader.join();
  EXPECT_EQ(t->shut_with_pending_, 0u) << "our FIN went while the transport still held bytes";
  EXPECT_TRUE(back == first + second) << "got " << back.size() << " of " << first.size() + second.size()
                                      << " bytes, then EOF";
}

// --- Connector: source address ---

struct Outcome {
  std::optional<sockit::Result<Fd>> r;
};

Outcome connect_from(EventLoop& loop, const Address& to, std::optional<Address> source) {
  Outcome o;
  sockit::loop::ConnectorOptions co;
  co.source = std::move(source);
  auto c = sockit::loop::Connector::start(loop, to, co, [&](sockit::Result<Fd> r) { o.r.emplace(std::move(r)); });
  const Deadline d = Deadline::after(5s);
  while (!o.r && !d.expired()) loop.run_once(10ms);
  return o;
}

TEST(ConnectorSource, BindsTheSourceAddressAndPort) {
  sockit::test::FdLeakCheck leaks;
  auto loop = std::move(*EventLoop::create());
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l);
  // A port the kernel just handed out and that nothing holds now.
  std::uint16_t port = 0;
  {
    auto probe = sockit::TcpListener::bind(Address::ipv4_loopback(0));
    ASSERT_TRUE(probe);
    port = probe->local_address()->port();
  }
  auto o = connect_from(*loop, *l->local_address(), Address::ipv4_loopback(port));
  ASSERT_TRUE(o.r);
  ASSERT_TRUE(*o.r) << o.r->error().message();
  Address peer;
  auto s = l->accept(Deadline::after(2s), &peer);
  ASSERT_TRUE(s);
  EXPECT_EQ(peer.to_string(), Address::ipv4_loopback(port).to_string()) << "the server sees our source";
}

TEST(ConnectorSource, ErrorsAreResults) {
  sockit::test::FdLeakCheck leaks;
  auto loop = std::move(*EventLoop::create());
  auto l = sockit::TcpListener::bind(Address::ipv4_loopback(0));
  ASSERT_TRUE(l);
  const Address to = *l->local_address();
  // Another family than the target's.
  auto o = connect_from(*loop, to, Address::ipv6_loopback(0));
  ASSERT_TRUE(o.r);
  ASSERT_FALSE(*o.r);
  EXPECT_EQ(o.r->error().code(), sockit::make_error_code(sockit::errc::invalid_address));
  EXPECT_NE(o.r->error().message().find("differ in family"), std::string::npos) << o.r->error().message();
  // A source port a listener holds: bind() fails, named in the message.
  o = connect_from(*loop, to, to);
  ASSERT_TRUE(o.r);
  ASSERT_FALSE(*o.r);
  EXPECT_EQ(o.r->error().code(), std::errc::address_in_use) << o.r->error().message();
  EXPECT_NE(o.r->error().message().find("bind " + to.to_string()), std::string::npos) << o.r->error().message();
}

}  // namespace
