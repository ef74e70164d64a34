// UDP has no connections: one socket receives datagrams from anyone and answers each sender.
//
//   ./udp_echo_server 127.0.0.1:7007        then: sockit nc -u 127.0.0.1 7007
#include "sockit/net.hpp"

#include <cstdio>

int main(int argc, char** argv) {
  auto addr = sockit::Address::parse(argc > 1 ? argv[1] : "127.0.0.1:7007");
  if (!addr) {
    std::fprintf(stderr, "%s\n", addr.error().message().c_str());
    return 2;
  }
  auto sock = sockit::UdpSocket::bind(*addr);
  if (!sock) {
    std::fprintf(stderr, "%s\n", sock.error().message().c_str());
    return 1;
  }
  std::printf("udp echo on %s\n", sock->local_address()->to_string().c_str());
  std::fflush(stdout);
  std::byte buf[65536];  // the largest datagram IPv4 can carry fits
  for (;;) {
    auto d = sock->recv_from(buf);
    if (!d) {
      std::fprintf(stderr, "%s\n", d.error().message().c_str());
      continue;
    }
    if (d->truncated) std::fprintf(stderr, "datagram from %s truncated\n", d->from.to_string().c_str());
    // Each datagram is answered whole, to whoever sent it.
    if (auto s = sock->send_to({buf, d->size}, d->from); !s)
      std::fprintf(stderr, "%s\n", s.error().message().c_str());
  }
}
