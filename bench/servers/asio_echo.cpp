// Reference TCP+UDP echo server on Boost.Asio, for bench/run.sh (not part of sockit).
// One io_context per thread, each with its own SO_REUSEPORT acceptor (and UDP socket), so N
// threads share nothing. The session is the idiomatic Asio echo: async_read_some into a buffer
// owned by the session, async_write of what was read, repeat.
//   bench_asio_echo --listen 127.0.0.1:7000 [--udp 127.0.0.1:7001] [--threads N]
#include <utility>  // before Boost 1.74 Asio: awaitable.hpp uses std::exchange without it (g++ 12, C++20)

#include "asio_common.hpp"

#include <boost/asio.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using bench_asio::reuse_port;
using bench_asio::split;

namespace {

constexpr std::size_t kBuffer = 16 * 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket s) : socket_(std::move(s)) {}
  void start() { read(); }

 private:
  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(data_), [this, self](boost::system::error_code ec, std::size_t n) {
      if (!ec) write(n);
    });
  }
  void write(std::size_t n) {
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(data_, n), [this, self](boost::system::error_code ec, std::size_t) {
      if (!ec) read();
    });
  }
  tcp::socket socket_;
  std::array<char, kBuffer> data_;
};

void accept(tcp::acceptor& a) {
  a.async_accept([&a](boost::system::error_code ec, tcp::socket s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(s))->start();
    }
    accept(a);
  });
}

struct UdpEcho {
  explicit UdpEcho(asio::io_context& io, const udp::endpoint& ep) : sock(io) {
    sock.open(ep.protocol());
    sock.set_option(reuse_port(true));
    sock.bind(ep);
    receive();
  }
  void receive() {
    sock.async_receive_from(asio::buffer(buf), peer, [this](boost::system::error_code ec, std::size_t n) {
      if (!ec) {
        boost::system::error_code ignored;
        sock.send_to(asio::buffer(buf, n), peer, 0, ignored);
      }
      receive();
    });
  }
  udp::socket sock;
  udp::endpoint peer;
  std::array<char, 65536> buf;
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:7000", udp_addr;
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--listen" && i + 1 < argc) listen = argv[++i];
    else if (a == "--udp" && i + 1 < argc) udp_addr = argv[++i];
    else if (a == "--threads" && i + 1 < argc) threads = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s [--listen HOST:PORT] [--udp HOST:PORT] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  std::string host;
  unsigned short port = 0;
  if (!split(listen, host, port)) return 2;
  tcp::endpoint ep(asio::ip::make_address(host), port);
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<std::unique_ptr<UdpEcho>> udps;
  for (int t = 0; t < threads; ++t) {
    ios.push_back(std::make_unique<asio::io_context>(1));
    auto a = bench_asio::listen_on(*ios.back(), ep);
    accept(*a);
    acceptors.push_back(std::move(a));
    if (!udp_addr.empty()) {
      std::string uh;
      unsigned short up = 0;
      if (!split(udp_addr, uh, up)) return 2;
      udps.push_back(std::make_unique<UdpEcho>(*ios.back(), udp::endpoint(asio::ip::make_address(uh), up)));
    }
  }
  std::fprintf(stderr, "asio echo: listening on %s%s%s, %d thread(s)\n", listen.c_str(),
               udp_addr.empty() ? "" : ", udp ", udp_addr.c_str(), threads);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back([&ios, t] { ios[static_cast<std::size_t>(t)]->run(); });
  ios[0]->run();
  for (auto& th : pool) th.join();
}
