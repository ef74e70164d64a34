// ws::Transport through the loop::Transport seam under every serving model but fork (which
// forks this multi-threaded process; the echo suite's ForkHost covers the seam there): a
// serve::Server with the echo service in this process and ServerOptions::transport =
// ws::transport_factory(), real clients on 127.0.0.1 that frame by hand (masked frames written,
// the server's unmasked frames parsed). Each line comes back as one text message; a fragmented
// message is one line; a close frame is answered with its status and the connection ends; a
// refused upgrade is answered and closed; nothing stays open.
#include "sockit/net/socket.hpp"
#include "sockit/proto/services.hpp"
#include "sockit/serve/server.hpp"
#include "sockit/ws/transport.hpp"

#include "support/support.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

using namespace std::chrono_literals;
using sockit::Address;
using sockit::Deadline;
using sockit::TcpStream;
namespace serve = sockit::serve;
namespace proto = sockit::proto;
namespace ws = sockit::ws;

namespace {

std::string frame(int opcode, const std::string& payload, bool fin = true) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | opcode);
  f += static_cast<char>(0x80 | payload.size());  // payloads under 126 bytes here
  const char key[4] = {0x0a, 0x1b, 0x2c, 0x3d};
  f.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ key[i % 4]);
  return f;
}

struct Frame {
  int opcode = 0;
  std::string payload;
};

class Client {
 public:
  explicit Client(std::uint16_t port) {
    auto s = TcpStream::connect(Address::ipv4_loopback(port), Deadline::after(5s));
    if (s) s_.emplace(std::move(*s));
  }
  bool ok() const { return s_.has_value(); }
  void send(const std::string& bytes) { ASSERT_TRUE(s_->write_all(bytes, Deadline::after(5s))); }
  /// The HTTP answer's head (up to the blank line), or "" at the end of the stream.
  std::string head() {
    while (buf_.find("\r\n\r\n") == std::string::npos) {
      if (!fill()) return {};
    }
    auto end = buf_.find("\r\n\r\n") + 4;
    std::string h = buf_.substr(0, end);
    buf_.erase(0, end);
    return h;
  }
  std::optional<Frame> next() {
    while (true) {
      if (buf_.size() >= 2) {
        std::size_t len = static_cast<unsigned char>(buf_[1]) & 0x7f;
        std::size_t off = 2;
        if (len == 126 && buf_.size() >= 4) {
          len = (static_cast<std::size_t>(static_cast<unsigned char>(buf_[2])) << 8) | static_cast<unsigned char>(buf_[3]);
          off = 4;
        }
        if (len < 126 && buf_.size() >= off + len) {
          Frame f{static_cast<unsigned char>(buf_[0]) & 0x0f, buf_.substr(off, len)};
          EXPECT_EQ(static_cast<unsigned char>(buf_[1]) & 0x80, 0) << "server frames are not masked";
          buf_.erase(0, off + len);
          return f;
        }
      }
      if (!fill()) return std::nullopt;
    }
  }
  /// True once the server ended the stream (nothing more after what was read).
  bool ends() { return !fill() && buf_.empty(); }

 private:
  bool fill() {
    char tmp[4096];
    auto n = s_->read_some(std::as_writable_bytes(std::span(tmp)), Deadline::after(10s));
    if (!n || *n == 0) return false;
    buf_.append(tmp, *n);
    return true;
  }
  std::optional<TcpStream> s_;
  std::string buf_;
};

const std::string kUpgrade =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

class WsTransport : public testing::TestWithParam<serve::Model> {
 protected:
  void SetUp() override {
    if (GetParam() == serve::Model::fork) GTEST_SKIP() << "fork: forks this multi-threaded process (see the header)";
    serve::ServerOptions opts;
    opts.model = GetParam();
    opts.listen = {Address::ipv4_loopback(0)};
    ws::Options wo;
    wo.handshake_timeout = 2s;
    opts.transport = ws::transport_factory(wo);
    auto s = serve::Server::create(std::move(opts), proto::make_session_factory(proto::Service::echo));
    ASSERT_TRUE(s) << s.error().message();
    ASSERT_TRUE((*s)->start());
    server_ = std::move(*s);
    port_ = server_->local_addresses()[0].port();
  }
  void TearDown() override {
    if (!server_) return;
    EXPECT_TRUE(sockit::test::wait_until([&] { return server_->stats().active == 0; }, 5s))
        << server_->stats().active << " connections still open";
    server_->stop(5s);
    server_->wait();
    server_.reset();
    leaks_.expect_no_leak();
  }

  std::unique_ptr<serve::Server> server_;
  std::uint16_t port_ = 0;
  sockit::test::FdLeakCheck leaks_;
};

TEST_P(WsTransport, EachLineComesBackAsOneTextMessage) {
  Client c(port_);
  ASSERT_TRUE(c.ok());
  c.send(kUpgrade + "Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n" + frame(1, "hello"));  // a frame right behind
  std::string h = c.head();
  EXPECT_TRUE(h.starts_with("HTTP/1.1 101 ")) << h;
  EXPECT_NE(h.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos) << h;
  EXPECT_NE(h.find("Sec-WebSocket-Protocol: text.ircv3.net\r\n"), std::string::npos) << h;
  auto f = c.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 1);
  EXPECT_EQ(f->payload, "hello");
  c.send(frame(1, "frag", false) + frame(9, "p") + frame(0, "mented\r\n", true) + frame(1, "two"));
  f = c.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 10);  // the pong first: it was sent before the message was whole
  EXPECT_EQ(f->payload, "p");
  f = c.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "fragmented");
  f = c.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "two");
  c.send(frame(8, std::string("\x03\xe9", 2) + "bye"));  // 1001
  f = c.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 8);
  EXPECT_EQ(f->payload.substr(0, 2), std::string("\x03\xe9", 2)) << "the close status comes back";
  EXPECT_TRUE(c.ends());
}

TEST_P(WsTransport, RefusedUpgradeIsAnsweredAndClosed) {
  Client c(port_);
  ASSERT_TRUE(c.ok());
  c.send("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 7\r\n\r\n");
  std::string h = c.head();
  EXPECT_TRUE(h.starts_with("HTTP/1.1 426 ")) << h;
  EXPECT_NE(h.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos) << h;
}

TEST_P(WsTransport, ServerStopSendsCloseFrames) {
  Client c(port_);
  ASSERT_TRUE(c.ok());
  c.send(kUpgrade + "\r\n" + frame(1, "hi"));
  ASSERT_TRUE(c.head().starts_with("HTTP/1.1 101 "));
  auto f = c.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->payload, "hi");
  server_->stop(2s);
  f = c.next();
  ASSERT_TRUE(f) << "no close frame before the end";
  EXPECT_EQ(f->opcode, 8);
  EXPECT_EQ(f->payload.substr(0, 2), std::string("\x03\xe8", 2));  // 1000
}

std::string model_name(const testing::TestParamInfo<serve::Model>& info) {
  return std::string(serve::to_string(info.param));
}

INSTANTIATE_TEST_SUITE_P(Models, WsTransport, testing::ValuesIn(serve::all_models()), model_name);

}  // namespace
