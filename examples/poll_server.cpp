// Step: the same one-thread echo server as select_server, with poll(2). A pollfd array replaces
// the bitmaps: no FD_SETSIZE limit, and the kernel reports per descriptor in revents. Still
// O(number of descriptors) per call, because the whole array is passed in each time.
//
//   ./poll_server 7007        then: sockit nc 127.0.0.1 7007
#include "sockit/net.hpp"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include <poll.h>

int main(int argc, char** argv) {
  auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7007);
  auto listener = sockit::TcpListener::bind(sockit::Address::ipv4_loopback(port));
  if (!listener) {
    std::fprintf(stderr, "%s\n", listener.error().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "poll_server on %s\n", listener->local_address()->to_string().c_str());
  // Slot 0 is the listener; slot i > 0 is clients[i - 1].
  std::vector<pollfd> fds{{listener->fd(), POLLIN, 0}};
  std::vector<sockit::TcpStream> clients;
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
    if (fds[0].revents & POLLIN) {
      if (auto c = listener->accept(sockit::Deadline::after(std::chrono::seconds(0)))) {
        fds.push_back({c->fd(), POLLIN, 0});
        clients.push_back(std::move(*c));
      }
    }
    for (std::size_t i = fds.size() - 1; i >= 1; --i) {
      if (fds[i].revents == 0) continue;  // POLLHUP/POLLERR also land here: read() reports them
      std::byte buf[4096];
      auto& c = clients[i - 1];
      auto n = c.read_some(buf, sockit::Deadline::after(std::chrono::seconds(0)));
      if (!n || *n == 0 || !c.write_all(std::span(buf, *n), sockit::Deadline::after(std::chrono::seconds(5)))) {
        // Remove by swapping with the last entry (order does not matter to poll).
        fds[i] = fds.back();
        fds.pop_back();
        clients[i - 1] = std::move(clients.back());
        clients.pop_back();
      }
    }
  }
}
