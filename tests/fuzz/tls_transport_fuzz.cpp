// tls::Transport's state machine (handshake, read, write, close_notify) as a TLS server on one
// end of a socket pair, fed the fuzzer's bytes as its peer's. The first byte picks the peer: odd,
// a real OpenSSL client over memory BIOs sends its ClientHello first and answers the server's
// flights (the fuzzer's bytes then land mid-handshake or after it, as records); even, the
// fuzzer's bytes alone (garbage and truncated ClientHellos, plaintext). Its upper bits pick how
// the bytes are cut (1..64 per write). Every path must end in failure() or a clean state.
#include "sockit/tls/context.hpp"
#include "sockit/tls/transport.hpp"

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include <sys/socket.h>
#include <unistd.h>

namespace {

namespace tls = sockit::tls;

const tls::Context& server_context() {
  static const tls::Context ctx = [] {
    auto c = tls::Context::self_signed({}, "localhost");
    if (!c) __builtin_trap();
    return std::move(*c);
  }();
  return ctx;
}

SSL_CTX* client_context() {
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    return c;
  }();
  return ctx;
}

void write_all(int fd, const void* p, std::size_t n) {
  const auto* b = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, b, n);
    if (w <= 0) return;  // the pair's buffer is larger than any input: never blocks
    b += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Moves what the memory-BIO client wrote to the socket.
void pump_client(SSL* client, int fd) {
  std::array<char, 4096> buf;
  int n;
  while ((n = BIO_read(SSL_get_wbio(client), buf.data(), static_cast<int>(buf.size()))) > 0) {
    write_all(fd, buf.data(), static_cast<std::size_t>(n));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  ++data;
  --size;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return 0;
  {
    tls::Transport server(server_context());
    SSL* client = nullptr;
    if ((mode & 1) != 0) {
      client = SSL_new(client_context());
      SSL_set_bio(client, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
      SSL_set_connect_state(client);
      (void)SSL_do_handshake(client);
      pump_client(client, sv[1]);
    }
    const std::size_t chunk = 1 + static_cast<std::size_t>(mode >> 1) % 64;
    std::array<std::byte, 4096> buf;
    std::array<char, 16384> wire;
    std::size_t off = 0;
    for (int round = 0; round < 4096 && server.failure() == 0; ++round) {
      std::size_t k = std::min(chunk, size - off);
      write_all(sv[1], data + off, k);
      off += k;
      for (int i = 0; i < 4 && server.failure() == 0; ++i) {
        if (!server.handshake(sv[0])) continue;
        while (server.read(sv[0], buf) > 0) {
        }
        (void)server.write(sv[0], std::as_bytes(std::span("pong", 4)));
      }
      ssize_t n;
      while ((n = ::read(sv[1], wire.data(), wire.size())) > 0) {  // the server's answers
        if (client == nullptr) continue;
        BIO_write(SSL_get_rbio(client), wire.data(), static_cast<int>(n));
        if (SSL_do_handshake(client) == 1) {
          std::array<char, 256> app;
          while (SSL_read(client, app.data(), static_cast<int>(app.size())) > 0) {
          }
          (void)SSL_write(client, "ping", 4);
        }
        pump_client(client, sv[1]);
      }
      if (off == size && k == 0) break;
    }
    (void)server.shutdown_write(sv[0]);
    (void)server.flush(sv[0]);
    SSL_free(client);
  }
  ::close(sv[0]);
  ::close(sv[1]);
  return 0;
}
