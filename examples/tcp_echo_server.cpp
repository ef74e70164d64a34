// Step 1 of the socket lifecycle, server side: socket -> bind -> listen -> accept -> read/write
// -> close. A blocking, iterative TCP echo server: it serves one client at a time, to the end.
//
//   ./tcp_echo_server 127.0.0.1:7007        then: sockit nc 127.0.0.1 7007
#include "sockit/net.hpp"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  auto addr = sockit::Address::parse(argc > 1 ? argv[1] : "127.0.0.1:7007");
  if (!addr) {
    std::fprintf(stderr, "%s\n", addr.error().message().c_str());
    return 2;
  }
  // socket() + SO_REUSEADDR + bind() + listen(): one call. Port 0 lets the kernel pick a port.
  auto listener = sockit::TcpListener::bind(*addr);
  if (!listener) {  // e.g. "bind 127.0.0.1:7007: Address already in use"
    std::fprintf(stderr, "%s\n", listener.error().message().c_str());
    return 1;
  }
  std::printf("listening on %s\n", listener->local_address()->to_string().c_str());
  std::fflush(stdout);

  for (;;) {
    sockit::Address peer;
    auto conn = listener->accept(sockit::Deadline::never(), &peer);  // blocks until a client comes
    if (!conn) {
      std::fprintf(stderr, "%s\n", conn.error().message().c_str());
      continue;  // one failed accept (a client that vanished) never stops the server
    }
    std::printf("client %s connected\n", peer.to_string().c_str());
    std::byte buf[4096];
    for (;;) {
      // read_some returns what has arrived (at least 1 byte), or 0 at end of stream.
      auto n = conn->read_some(buf);
      if (!n) {  // e.g. "read: Connection reset by peer"
        std::fprintf(stderr, "%s\n", n.error().message().c_str());
        break;
      }
      if (*n == 0) break;  // the client shut down its side: EOF is not an error
      // write_all loops over partial writes; a peer that resets gives an error, never SIGPIPE.
      if (auto w = conn->write_all({buf, *n}); !w) {
        std::fprintf(stderr, "%s\n", w.error().message().c_str());
        break;
      }
    }
    std::printf("client %s done\n", peer.to_string().c_str());
  }  // conn's destructor closes the socket
}
