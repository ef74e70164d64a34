// Step 1 of the socket lifecycle, client side: getaddrinfo -> socket -> connect -> write ->
// shutdown(SHUT_WR) -> read until EOF -> close.
//
//   ./tcp_echo_client 127.0.0.1 7007 "hello"
#include "sockit/net.hpp"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s HOST PORT MESSAGE\n", argv[0]);
    return 2;
  }
  // Resolves HOST (a name or a numeric address) and tries each address in turn.
  auto conn = sockit::TcpStream::connect(argv[1], argv[2]);
  if (!conn) {  // "connect 127.0.0.1:7007: Connection refused" or a resolver error
    std::fprintf(stderr, "%s\n", conn.error().message().c_str());
    return 1;
  }
  std::string msg = argv[3];
  if (auto w = conn->write_all(msg); !w) {
    std::fprintf(stderr, "%s\n", w.error().message().c_str());
    return 1;
  }
  // Half-close: "I have nothing more to send". The server sees EOF after our bytes, and we can
  // still read its answer.
  (void)conn->shutdown_write();
  std::string reply;
  std::byte buf[4096];
  for (;;) {
    auto n = conn->read_some(buf);
    if (!n) {
      std::fprintf(stderr, "%s\n", n.error().message().c_str());
      return 1;
    }
    if (*n == 0) break;
    reply.append(reinterpret_cast<const char*>(buf), *n);
  }
  std::printf("%s\n", reply.c_str());
  return reply == msg ? 0 : 1;
}
