// A UDP request/response with a timeout: datagrams can be lost, so never wait forever.
//
//   ./udp_echo_client 127.0.0.1 7007 hello
#include "sockit/net.hpp"

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s HOST PORT MESSAGE\n", argv[0]);
    return 2;
  }
  sockit::ResolveOptions opts;
  opts.type = sockit::SocketType::datagram;
  auto addrs = sockit::Resolver::resolve(argv[1], argv[2], opts);
  if (!addrs) {
    std::fprintf(stderr, "%s\n", addrs.error().message().c_str());
    return 1;
  }
  const sockit::Address& server = addrs->front();
  auto sock = sockit::UdpSocket::open(server.family());
  if (!sock) return 1;
  // connect() on UDP only fixes the peer: now an ICMP "port unreachable" comes back to us as
  // "Connection refused" instead of being silently lost.
  if (auto c = sock->connect(server); !c) return 1;
  std::string msg = argv[3];
  for (int attempt = 1; attempt <= 3; ++attempt) {  // retry: the request or reply may be lost
    if (auto s = sock->send(sockit::as_bytes(msg)); !s) {
      std::fprintf(stderr, "%s\n", s.error().message().c_str());
      return 1;
    }
    std::byte buf[65536];
    auto d = sock->recv(buf, sockit::Deadline::after(1s));
    if (d) {
      std::printf("%.*s\n", static_cast<int>(d->size), reinterpret_cast<const char*>(buf));
      return 0;
    }
    std::fprintf(stderr, "attempt %d: %s\n", attempt, d.error().message().c_str());
    if (d.error() != std::errc::timed_out) return 1;  // refused: retrying will not help
  }
  return 1;
}
