// sockit::serve::Server driven in-process over loopback sockets: every model serves the same
// Session; stop, drain, limits and counters behave the same. (Moved from tests/unit/serve: unit
// tests open no sockets.)
#include "sockit/loop/event_loop.hpp"
#include "sockit/proto/services.hpp"
#include "sockit/serve/server.hpp"
#include "serve/tuning.hpp"
#include "sockit/net/socket.hpp"
#include "support/support.hpp"
#include "support/uring.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <csignal>

#include <pthread.h>
#include <unistd.h>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::TcpStream;
namespace serve = sockit::serve;

namespace {

std::string model_name(const testing::TestParamInfo<serve::Model>& info) {
  return std::string(serve::to_string(info.param));
}

std::unique_ptr<serve::Server> start_server_later(serve::ServerOptions opts, serve::SessionFactory f,
                                                  serve::detail::Tuning tuning = {}) {
  if (opts.listen.empty()) opts.listen = {Address::ipv4_loopback(0)};
  auto s = serve::detail::create_server(std::move(opts), std::move(f), std::move(tuning));
  EXPECT_TRUE(s) << (s ? "" : s.error().message());
  if (!s) return nullptr;
  return std::move(*s);
}

std::unique_ptr<serve::Server> start_server(serve::ServerOptions opts, serve::SessionFactory f,
                                            serve::detail::Tuning tuning = {}) {
  auto s = start_server_later(std::move(opts), std::move(f), std::move(tuning));
  if (s) {
    EXPECT_TRUE(s->start());
  }
  return s;
}

std::string read_all(TcpStream& c, Deadline dl) {
  std::string out;
  char buf[65536];
  for (;;) {
    auto n = c.read_some(std::as_writable_bytes(std::span(buf)), dl);
    if (!n || *n == 0) break;
    out.append(buf, *n);
  }
  return out;
}

class ServerModel : public testing::TestWithParam<serve::Model> {
 protected:
  void SetUp() override { SOCKIT_SKIP_WITHOUT_URING(GetParam() == serve::Model::uring); }
};

TEST_P(ServerModel, EchoesAndCountsBytes) {
  sockit::test::FdLeakCheck leaks;
  serve::ServerOptions opts;
  opts.model = GetParam();
  auto server = start_server(opts, sockit::proto::make_session_factory(sockit::proto::Service::echo));
  ASSERT_TRUE(server);
  auto c = TcpStream::connect(server->local_addresses()[0], Deadline::after(5s));
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_TRUE(c->write_all("hello, world", Deadline::after(5s)));
  ASSERT_TRUE(c->shutdown_write());
  EXPECT_EQ(read_all(*c, Deadline::after(5s)), "hello, world");
  c->close();
  server->stop(1s);
  server->wait();
  EXPECT_TRUE(server->finished());
  auto st = server->stats();
  EXPECT_EQ(st.accepted, 1u);
  EXPECT_EQ(st.closed, 1u);
  EXPECT_EQ(st.active, 0u);
  EXPECT_EQ(st.bytes_in, 12u);
  EXPECT_EQ(st.bytes_out, 12u);
}

// A large echo is byte-exact in every model; the reactors move it with splice() (the echo
// service is a detail::PureEcho), the other models through on_data.
TEST_P(ServerModel, EchoesLargeTransfersExactlyAndReactorsSpliceThem) {
  sockit::test::FdLeakCheck leaks;
  auto old = std::signal(SIGPIPE, SIG_IGN);  // as sockit's main does: splice needs it
  serve::ServerOptions opts;
  opts.model = GetParam();
  serve::detail::Tuning tuning;
  tuning.splice_echo = true;  // as sockit echo-server sets it
  auto server = start_server(opts, sockit::proto::make_session_factory(sockit::proto::Service::echo), tuning);
  ASSERT_TRUE(server);
  auto c = TcpStream::connect(server->local_addresses()[0], Deadline::after(5s));
  ASSERT_TRUE(c) << c.error().message();
  std::string payload;
  for (int i = 0; payload.size() < (2 << 20); ++i) payload += std::to_string(i) + ";";
  std::thread writer([&] {
    EXPECT_TRUE(c->write_all(payload, Deadline::after(20s)));
    EXPECT_TRUE(c->shutdown_write());
  });
  std::string got = read_all(*c, Deadline::after(20s));
  writer.join();
  EXPECT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
  c->close();
  server->stop(1s);
  server->wait();
  auto st = server->stats();
  EXPECT_EQ(st.bytes_out, payload.size());
  if (serve::is_reactor(GetParam())) {
    EXPECT_GT(serve::detail::bytes_spliced(*server), payload.size() / 2);
  } else {
    EXPECT_EQ(serve::detail::bytes_spliced(*server), 0u);
  }
  std::signal(SIGPIPE, old);
}

// Server::run serves until a signal's handler stops it; a reactor with one loop runs it (and
// the handler) in the calling thread.
TEST_P(ServerModel, RunServesUntilASignalHandlerStopsIt) {
  sockit::test::FdLeakCheck leaks;
  const int sigs[] = {SIGUSR2};
  sigset_t old_mask;
  ASSERT_TRUE(sockit::loop::block_signals(sigs, &old_mask));  // before any thread starts
  std::vector<int> seen;
  std::thread::id handler_thread;
  serve::Server* running = nullptr;
  serve::ServerOptions opts;
  opts.model = GetParam();
  opts.threads = 1;
  opts.signals = {SIGUSR2};
  opts.on_signal = [&](int signo) {
    seen.push_back(signo);
    handler_thread = std::this_thread::get_id();
    running->stop(1s);
  };
  auto server = start_server_later(opts, sockit::proto::make_session_factory(sockit::proto::Service::echo));
  ASSERT_TRUE(server);
  running = server.get();
  std::string echoed;
  std::thread client([&] {
    auto c = TcpStream::connect(server->local_addresses()[0], Deadline::after(5s));
    if (c && c->write_all("ping", Deadline::after(5s)) && c->shutdown_write()) echoed = read_all(*c, Deadline::after(5s));
    ::kill(::getpid(), SIGUSR2);
  });
  auto r = server->run();
  client.join();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(echoed, "ping");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], SIGUSR2);
  EXPECT_TRUE(server->finished());
  EXPECT_EQ(handler_thread, std::this_thread::get_id());  // a reactor's loop 0, or the wait here
  ASSERT_EQ(::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr), 0);
}

TEST_P(ServerModel, StopRefusesNewConnectionsAndClosesIdleOnes) {
  sockit::test::FdLeakCheck leaks;
  serve::ServerOptions opts;
  opts.model = GetParam();
  auto server = start_server(opts, sockit::proto::make_session_factory(sockit::proto::Service::echo));
  ASSERT_TRUE(server);
  Address addr = server->local_addresses()[0];
  auto c = TcpStream::connect(addr, Deadline::after(5s));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->write_all("x", Deadline::after(5s)));
  char b;
  ASSERT_TRUE(c->read_exact(std::as_writable_bytes(std::span(&b, 1)), Deadline::after(5s)));
  server->stop(2s);
  // The idle client is told goodbye (FIN) within the drain time.
  EXPECT_EQ(read_all(*c, Deadline::after(5s)), "");
  c->close();  // our FIN ends the server's lingering read at once
  server->wait();
  auto again = TcpStream::connect(addr, Deadline::after(2s));
  EXPECT_FALSE(again);
}

TEST_P(ServerModel, SessionSeesOpenDataAndClose) {
  sockit::test::FdLeakCheck leaks;
  struct Log {
    std::atomic<int> opened{0}, closed{0};
    std::atomic<serve::CloseReason> reason{serve::CloseReason::error};
  };
  auto log = std::make_shared<Log>();
  class Probe : public serve::Session {
   public:
    explicit Probe(std::shared_ptr<Log> l) : log_(std::move(l)) {}
    void on_open(serve::Peer& p, serve::TimePoint) override {
      log_->opened++;
      p.send("hi ");
    }
    void on_data(std::span<const std::byte> d, serve::Peer& p, serve::TimePoint) override {
      std::string s(reinterpret_cast<const char*>(d.data()), d.size());
      if (s.find("quit") != std::string::npos) {
        p.send("bye\n");
        p.close_after_flush();
      }
    }
    void on_close(serve::CloseReason r) override {
      log_->reason = r;
      log_->closed++;
    }

   private:
    std::shared_ptr<Log> log_;
  };
  serve::ServerOptions opts;
  opts.model = GetParam();
  auto server = start_server(opts, [log](serve::Peer&) { return std::make_unique<Probe>(log); });
  ASSERT_TRUE(server);
  auto c = TcpStream::connect(server->local_addresses()[0], Deadline::after(5s));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->write_all("quit\n", Deadline::after(5s)));
  EXPECT_EQ(read_all(*c, Deadline::after(5s)), "hi bye\n");
  c->close();
  server->stop(1s);
  server->wait();
  if (GetParam() != serve::Model::fork) {  // the fork model runs sessions in the child
    EXPECT_EQ(log->opened.load(), 1);
    EXPECT_EQ(log->closed.load(), 1);
    EXPECT_EQ(log->reason.load(), serve::CloseReason::peer_closed);
  }
}

// A chat-like session: every line is delivered to every connected peer, from whatever thread
// the sender's session runs on (the cross-thread Peer::send contract of session.hpp).
struct Room {
  std::mutex mu;
  std::condition_variable changed;  // notified when a member joins
  std::set<serve::Peer*> members;
};
class RoomSession : public serve::Session {
 public:
  RoomSession(std::shared_ptr<Room> room, serve::Peer& self) : room_(std::move(room)), self_(&self) {
    {
      std::lock_guard lock(room_->mu);
      room_->members.insert(self_);
    }
    room_->changed.notify_all();
  }
  void on_data(std::span<const std::byte> d, serve::Peer&, serve::TimePoint) override {
    std::string s(reinterpret_cast<const char*>(d.data()), d.size());
    std::lock_guard lock(room_->mu);
    for (serve::Peer* p : room_->members) p->send(s);
  }
  void on_close(serve::CloseReason) override {
    std::lock_guard lock(room_->mu);
    room_->members.erase(self_);
  }

 private:
  std::shared_ptr<Room> room_;
  serve::Peer* self_;
};

class ThreadedModel : public testing::TestWithParam<std::pair<serve::Model, int>> {};

TEST_P(ThreadedModel, PeerSendFromOtherThreadsIsDelivered) {
  sockit::test::FdLeakCheck leaks;
  auto room = std::make_shared<Room>();
  serve::ServerOptions opts;
  opts.model = GetParam().first;
  opts.threads = GetParam().second;
  auto server = start_server(opts, [room](serve::Peer& p) { return std::make_unique<RoomSession>(room, p); });
  ASSERT_TRUE(server);
  constexpr int kClients = 4;
  std::vector<TcpStream> cs;
  for (int i = 0; i < kClients; ++i) {
    auto c = TcpStream::connect(server->local_addresses()[0], Deadline::after(5s));
    ASSERT_TRUE(c);
    cs.push_back(std::move(*c));
  }
  // Wait until everyone joined.
  {
    std::unique_lock lock(room->mu);
    ASSERT_TRUE(room->changed.wait_for(lock, 5s, [&] { return room->members.size() == kClients; }))
        << room->members.size() << " of " << kClients << " joined";
  }
  std::vector<std::thread> talkers;
  for (int i = 0; i < kClients; ++i) {
    talkers.emplace_back([&cs, i] {
      for (int k = 0; k < 50; ++k) (void)cs[static_cast<std::size_t>(i)].write_all("0123456789\n", Deadline::after(5s));
    });
  }
  for (auto& t : talkers) t.join();
  // Every client receives every line of every client: 4 * 50 * 11 bytes.
  for (auto& c : cs) {
    std::string got;
    char buf[4096];
    while (got.size() < kClients * 50 * 11) {
      auto n = c.read_some(std::as_writable_bytes(std::span(buf)), Deadline::after(5s));
      ASSERT_TRUE(n && *n > 0);
      got.append(buf, *n);
    }
    EXPECT_EQ(got.size(), static_cast<std::size_t>(kClients * 50 * 11));
  }
  for (auto& c : cs) c.close();
  server->stop(2s);
  server->wait();
  EXPECT_TRUE(room->members.empty());
}

INSTANTIATE_TEST_SUITE_P(Threaded, ThreadedModel,
                         testing::Values(std::make_pair(serve::Model::thread, 0), std::make_pair(serve::Model::pool, 4),
                                         std::make_pair(serve::Model::epoll, 3), std::make_pair(serve::Model::poll, 2),
                                         std::make_pair(serve::Model::select, 2)),
                         [](const auto& i) {
                           return std::string(serve::to_string(i.param.first)) + "_x" + std::to_string(i.param.second);
                         });

TEST(ServerLimits, MaxConnsRefusesExtraConnections) {
  sockit::test::FdLeakCheck leaks;
  serve::ServerOptions opts;
  opts.model = serve::Model::epoll;
  opts.max_conns = 2;
  auto server = start_server(opts, sockit::proto::make_session_factory(sockit::proto::Service::echo));
  ASSERT_TRUE(server);
  EXPECT_EQ(server->max_conns(), 2u);
  std::vector<TcpStream> cs;
  for (int i = 0; i < 2; ++i) {
    cs.push_back(std::move(*TcpStream::connect(server->local_addresses()[0], Deadline::after(5s))));
    ASSERT_TRUE(cs.back().write_all("x", Deadline::after(5s)));
    char b;
    ASSERT_TRUE(cs.back().read_exact(std::as_writable_bytes(std::span(&b, 1)), Deadline::after(5s)));
  }
  auto third = TcpStream::connect(server->local_addresses()[0], Deadline::after(5s));
  ASSERT_TRUE(third);
  EXPECT_EQ(read_all(*third, Deadline::after(5s)), "");
  EXPECT_EQ(server->stats().rejected, 1u);
  third->close();
  for (auto& c : cs) c.close();
  server->stop(1s);
  server->wait();
}

TEST(ServerLimits, IdleTimeoutClosesQuietConnections) {
  sockit::test::FdLeakCheck leaks;
  for (serve::Model m : {serve::Model::epoll, serve::Model::thread}) {
    serve::ServerOptions opts;
    opts.model = m;
    opts.idle_timeout = 100ms;
    auto server = start_server(opts, sockit::proto::make_session_factory(sockit::proto::Service::echo));
    ASSERT_TRUE(server);
    auto c = TcpStream::connect(server->local_addresses()[0], Deadline::after(5s));
    ASSERT_TRUE(c);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(read_all(*c, Deadline::after(5s)), "");
    EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
    c->close();
    server->stop(1s);
    server->wait();
    EXPECT_EQ(server->stats().timeouts, 1u) << serve::to_string(m);
  }
}

TEST(Services, ChargenIsPacedByTheReaderAndDaytimeCloses) {
  sockit::test::FdLeakCheck leaks;
  for (serve::Model m : {serve::Model::epoll, serve::Model::thread}) {
    serve::ServerOptions opts;
    opts.model = m;
    auto server = start_server(opts, sockit::proto::make_session_factory(sockit::proto::Service::chargen));
    ASSERT_TRUE(server);
    auto c = TcpStream::connect(server->local_addresses()[0], Deadline::after(5s));
    ASSERT_TRUE(c);
    std::string got;
    char buf[65536];
    while (got.size() < 500'000) {
      auto n = c->read_some(std::as_writable_bytes(std::span(buf)), Deadline::after(5s));
      ASSERT_TRUE(n && *n > 0);
      got.append(buf, *n);
    }
    EXPECT_EQ(got.substr(0, 74 * 3), sockit::proto::chargen_lines(0, 3));
    c->close();
    server->stop(1s);
    server->wait();
  }
  auto fixed = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1764075900)); };
  serve::ServerOptions opts;
  auto server = start_server(opts, sockit::proto::make_session_factory(sockit::proto::Service::daytime, fixed));
  ASSERT_TRUE(server);
  auto c = TcpStream::connect(server->local_addresses()[0], Deadline::after(5s));
  ASSERT_TRUE(c);
  EXPECT_EQ(read_all(*c, Deadline::after(5s)), "Tuesday, November 25, 2025 13:05:00-UTC\r\n");
  c->close();
  server->stop(1s);
  server->wait();
}

// detail::Tuning::turn_end: sessions hold output back and the hook sends it at the end of the
// loop turn, as references into one shared buffer (Peer::send_shared), in the loop thread.
class ReactorModel : public testing::TestWithParam<serve::Model> {
 protected:
  void SetUp() override { SOCKIT_SKIP_WITHOUT_URING(GetParam() == serve::Model::uring); }
};

TEST_P(ReactorModel, TurnEndHookSendsWhatSessionsHeldBack) {
  sockit::test::FdLeakCheck leaks;
  struct Held {
    std::vector<std::pair<serve::Peer*, std::string>> lines;  // loop thread only
    std::atomic<int> calls{0};
    std::atomic<bool> off_loop{false};
    std::thread::id test_thread = std::this_thread::get_id();
  };
  auto held = std::make_shared<Held>();
  class HoldSession : public serve::Session {
   public:
    explicit HoldSession(std::shared_ptr<Held> h) : held_(std::move(h)) {}
    void on_data(std::span<const std::byte> d, serve::Peer& p, serve::TimePoint) override {
      held_->lines.emplace_back(&p, std::string(reinterpret_cast<const char*>(d.data()), d.size()));
    }

   private:
    std::shared_ptr<Held> held_;
  };
  serve::ServerOptions opts;
  opts.model = GetParam();
  opts.coalesce_writes = true;
  serve::detail::Tuning tuning;
  tuning.turn_end = [held] {
    held->calls++;
    if (std::this_thread::get_id() == held->test_thread) held->off_loop = true;
    std::string all;
    for (auto& [peer, text] : held->lines) all += text;
    auto owner = std::make_shared<const std::string>(all);
    std::size_t at = 0;
    for (auto& [peer, text] : held->lines) {
      peer->send_shared(owner, std::string_view(*owner).substr(at, text.size()));
      at += text.size();
    }
    held->lines.clear();
  };
  auto server = start_server(opts, [held](serve::Peer&) { return std::make_unique<HoldSession>(held); }, tuning);
  ASSERT_TRUE(server);
  auto c = TcpStream::connect(server->local_addresses()[0], Deadline::after(5s));
  ASSERT_TRUE(c);
  for (std::string word : {"first ", "second", "third "}) {
    ASSERT_TRUE(c->write_all(word, Deadline::after(5s)));
    std::string got(word.size(), '\0');
    ASSERT_TRUE(c->read_exact(std::as_writable_bytes(std::span(got)), Deadline::after(5s))) << word;
    EXPECT_EQ(got, word);
  }
  c->close();
  server->stop(1s);
  server->wait();
  EXPECT_GE(held->calls.load(), 3);
  EXPECT_FALSE(held->off_loop.load());
}

TEST_P(ReactorModel, SpliceEchoOffCopiesThroughTheSession) {
  sockit::test::FdLeakCheck leaks;
  auto old = std::signal(SIGPIPE, SIG_IGN);
  serve::ServerOptions opts;
  opts.model = GetParam();
  auto server = start_server(opts, sockit::proto::make_session_factory(sockit::proto::Service::echo));  // no Tuning
  ASSERT_TRUE(server);
  auto c = TcpStream::connect(server->local_addresses()[0], Deadline::after(5s));
  ASSERT_TRUE(c);
  std::string payload(256 << 10, 'e');
  std::thread writer([&] {
    EXPECT_TRUE(c->write_all(payload, Deadline::after(20s)));
    EXPECT_TRUE(c->shutdown_write());
  });
  EXPECT_EQ(read_all(*c, Deadline::after(20s)).size(), payload.size());
  writer.join();
  c->close();
  server->stop(1s);
  server->wait();
  EXPECT_EQ(server->stats().bytes_out, payload.size());
  EXPECT_EQ(serve::detail::bytes_spliced(*server), 0u);
  std::signal(SIGPIPE, old);
}

INSTANTIATE_TEST_SUITE_P(Reactors, ReactorModel,
                         testing::Values(serve::Model::select, serve::Model::poll, serve::Model::epoll, serve::Model::uring), model_name);

INSTANTIATE_TEST_SUITE_P(AllModels, ServerModel, testing::ValuesIn(serve::all_models().begin(), serve::all_models().end()),
                         model_name);

}  // namespace
