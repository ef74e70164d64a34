// Reference TLS echo server on Boost.Asio (asio::ssl), for bench/tls-compare.sh (not part of sockit).
// The same shape as asio_echo.cpp (one io_context per thread, each with its own SO_REUSEPORT
// acceptor) with an ssl::stream per session: async_handshake, then async_read_some into a 16 KiB
// buffer owned by the session and async_write of what was read, repeat; at the peer's end
// (close_notify or FIN) async_shutdown (our close_notify) and close.
// TLS settings are sockit's server context's (src/tls/context.cpp): TLS 1.2 minimum, OpenSSL's
// default groups and ciphers, the server's cipher preference, renegotiation and compression off,
// an EOF without close_notify taken as the end, SSL_MODE_RELEASE_BUFFERS (Asio's engine sets it
// on every SSL too). `openssl s_client` negotiates the same with both (docs/TLS.md, "Bench").
//   bench_asio_tls_echo --listen 127.0.0.1:7000 --cert cert.pem --key key.pem [--threads N]
#include <utility>  // before Boost 1.74 Asio: awaitable.hpp uses std::exchange without it (g++ 12, C++20)

#include "asio_common.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using bench_asio::split;

namespace {

constexpr std::size_t kBuffer = 16 * 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket s, ssl::context& ctx) : stream_(std::move(s), ctx) {}
  void start() {
    auto self = shared_from_this();
    stream_.async_handshake(ssl::stream_base::server, [this, self](boost::system::error_code ec) {
      if (!ec) read();
    });
  }

 private:
  void read() {
    auto self = shared_from_this();
    stream_.async_read_some(asio::buffer(data_), [this, self](boost::system::error_code ec, std::size_t n) {
      if (!ec) {
        write(n);
      } else if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
        stream_.async_shutdown([self](boost::system::error_code) {});  // close_notify; closed with the session
      }
    });
  }
  void write(std::size_t n) {
    auto self = shared_from_this();
    asio::async_write(stream_, asio::buffer(data_, n), [this, self](boost::system::error_code ec, std::size_t) {
      if (!ec) read();
    });
  }
  ssl::stream<tcp::socket> stream_;
  std::array<char, kBuffer> data_;
};

void accept(tcp::acceptor& a, ssl::context& ctx) {
  a.async_accept([&a, &ctx](boost::system::error_code ec, tcp::socket s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(s), ctx)->start();
    }
    accept(a, ctx);
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:7000", cert, key;
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--listen" && i + 1 < argc) listen = argv[++i];
    else if (a == "--cert" && i + 1 < argc) cert = argv[++i];
    else if (a == "--key" && i + 1 < argc) key = argv[++i];
    else if (a == "--threads" && i + 1 < argc) threads = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s --cert FILE --key FILE [--listen HOST:PORT] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  if (cert.empty() || key.empty()) {
    std::fprintf(stderr, "%s: --cert and --key are required\n", argv[0]);
    return 2;
  }
  std::string host;
  unsigned short port = 0;
  if (!split(listen, host, port)) return 2;
  ssl::context ctx(ssl::context::tls_server);
  SSL_CTX* raw = ctx.native_handle();
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert, ec);
  if (!ec) ctx.use_private_key_file(key, ssl::context::pem, ec);
  if (ec) {
    std::fprintf(stderr, "asio tls echo: %s / %s: %s\n", cert.c_str(), key.c_str(), ec.message().c_str());
    return 1;
  }
  tcp::endpoint ep(asio::ip::make_address(host), port);
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  for (int t = 0; t < threads; ++t) {
    ios.push_back(std::make_unique<asio::io_context>(1));
    auto a = bench_asio::listen_on(*ios.back(), ep);
    accept(*a, ctx);
    acceptors.push_back(std::move(a));
  }
  std::fprintf(stderr, "asio tls echo: listening on %s (TLS), %d thread(s)\n", listen.c_str(), threads);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back([&ios, t] { ios[static_cast<std::size_t>(t)]->run(); });
  ios[0]->run();
  for (auto& th : pool) th.join();
}
