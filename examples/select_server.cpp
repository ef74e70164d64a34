// Step: one thread, many clients, with select(2). An echo server that keeps every client in an
// fd_set and sleeps in select() until one of them (or the listener) is readable.
//
//   ./select_server 7007        then: sockit nc 127.0.0.1 7007
//
// What to notice:
//   - The sets are rebuilt before every call: select() overwrites them with the result.
//   - An fd_set is a fixed bitmap of FD_SETSIZE (1024) bits. A descriptor >= FD_SETSIZE cannot
//     be watched at all (FD_SET would write past the end), so this server refuses such clients.
//     sockit's select backend does the same with errc::fd_over_setsize.
//   - Each call costs O(highest fd), whether 1 or 1000 clients are active.
//   - Writes here block if a client does not read: a real reactor (sockit::loop::Connection)
//     queues output and watches for writability instead. See docs/MODELS.md.
#include "sockit/net.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>

#include <sys/select.h>

int main(int argc, char** argv) {
  auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7007);
  auto listener = sockit::TcpListener::bind(sockit::Address::ipv4_loopback(port));
  if (!listener) {
    std::fprintf(stderr, "%s\n", listener.error().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "select_server on %s\n", listener->local_address()->to_string().c_str());
  std::map<int, sockit::TcpStream> clients;  // fd -> connection
  for (;;) {
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(listener->fd(), &readable);
    int max_fd = listener->fd();
    for (auto& [fd, c] : clients) {
      FD_SET(fd, &readable);
      if (fd > max_fd) max_fd = fd;
    }
    if (::select(max_fd + 1, &readable, nullptr, nullptr, nullptr) < 0) continue;  // EINTR
    if (FD_ISSET(listener->fd(), &readable)) {
      auto c = listener->accept(sockit::Deadline::after(std::chrono::seconds(0)));
      if (c && c->fd() >= FD_SETSIZE) {
        std::fprintf(stderr, "descriptor %d is over FD_SETSIZE: refusing the client\n", c->fd());
      } else if (c) {
        int fd = c->fd();
        clients.emplace(fd, std::move(*c));
      }
    }
    for (auto it = clients.begin(); it != clients.end();) {
      if (!FD_ISSET(it->first, &readable)) {
        ++it;
        continue;
      }
      std::byte buf[4096];
      auto n = it->second.read_some(buf, sockit::Deadline::after(std::chrono::seconds(0)));
      if (!n || *n == 0 || !it->second.write_all(std::span(buf, *n), sockit::Deadline::after(std::chrono::seconds(5)))) {
        it = clients.erase(it);  // EOF or error: the destructor closes the socket
      } else {
        ++it;
      }
    }
  }
}
