// ws::Transport's framing (libwslay under it: masking, fragmentation, control frames, close
// codes, the message limit, UTF-8 of text messages, the line cut) as a WebSocket server on one
// end of a socket pair: a valid upgrade request first, then the fuzzer's bytes as the client's
// frames. The first byte picks how the bytes are cut (1..64 per write) and the subprotocol
// (text or binary). Every path must end in a clean state: lines read, the connection's end or a
// close frame sent, never a crash, a leak or a hang.
#include "sockit/ws/transport.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include <sys/socket.h>
#include <unistd.h>

namespace {

void write_all(int fd, const void* p, std::size_t n) {
  const auto* b = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, b, n);
    if (w <= 0) return;
    b += w;
    n -= static_cast<std::size_t>(w);
  }
}

void drain(int fd) {
  std::array<char, 16384> sink;
  while (::read(fd, sink.data(), sink.size()) > 0) {
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
    sockit::ws::Options opts;
    opts.max_message = 1024;  // small, so the fuzzer reaches close 1009
    sockit::ws::Transport server(opts);
    std::string req =
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    req += (mode & 1) != 0 ? "Sec-WebSocket-Protocol: binary.ircv3.net\r\n\r\n" : "\r\n";
    write_all(sv[1], req.data(), req.size());
    const std::size_t chunk = 1 + static_cast<std::size_t>(mode >> 1) % 64;
    std::array<std::byte, 512> buf;
    std::size_t off = 0;
    bool ended = false;
    for (int round = 0; round < 8192 && !ended && server.failure() == 0; ++round) {
      std::size_t k = std::min(chunk, size - off);
      write_all(sv[1], data + off, k);
      off += k;
      if (server.handshake(sv[0])) {
        for (;;) {
          ssize_t n = server.read(sv[0], buf);
          if (n > 0) {
            (void)server.write(sv[0], std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
            continue;
          }
          ended = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
          break;
        }
        if (server.pending_output() > 0) (void)server.flush(sv[0]);
      }
      drain(sv[1]);
      if (off == size && k == 0) break;
    }
    (void)server.shutdown_write(sv[0]);
    (void)server.flush(sv[0]);
  }
  ::close(sv[0]);
  ::close(sv[1]);
  return 0;
}
