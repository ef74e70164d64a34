// sockit::serve::Server driven in-process: every model serves the same Session; stop, drain,
// limits and counters behave the same.
#include "sockit/proto/services.hpp"
#include "sockit/serve/server.hpp"
#include "sockit/net/socket.hpp"
#include "support/support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::TcpStream;
namespace serve = sockit::serve;

namespace {

std::string model_name(const testing::TestParamInfo<serve::Model>& info) {
  return std::string(serve::to_string(info.param));
}

std::unique_ptr<serve::Server> start_server(serve::ServerOptions opts, serve::SessionFactory f) {
  if (opts.listen.empty()) opts.listen = {Address::ipv4_loopback(0)};
  auto s = serve::Server::create(std::move(opts), std::move(f));
  EXPECT_TRUE(s) << (s ? "" : s.error().message());
  if (!s) return nullptr;
  auto r = (*s)->start();
  EXPECT_TRUE(r);
  return std::move(*s);
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

class ServerModel : public testing::TestWithParam<serve::Model> {};

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

INSTANTIATE_TEST_SUITE_P(AllModels, ServerModel, testing::ValuesIn(serve::all_models().begin(), serve::all_models().end()),
                         model_name);

}  // namespace
