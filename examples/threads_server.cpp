// Step: a thread per connection, the simplest concurrent server (UNP's serv06). Each client gets
// its own thread running plain blocking code; the kernel's scheduler does the multiplexing.
//
//   ./threads_server 7007      then: sockit nc 127.0.0.1 7007
//
// What to notice: the code is straight-line and easy to read, but every client costs a thread
// (a stack of virtual memory, a scheduler entry, a context switch per wake-up). Threads are
// detached here for brevity, so there is no graceful stop and no cap on their number;
// sockit::serve's `thread` and `pool` models add both. See docs/MODELS.md.
#include "sockit/net.hpp"

#include <cstdio>
#include <cstdlib>
#include <thread>

int main(int argc, char** argv) {
  auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7007);
  auto listener = sockit::TcpListener::bind(sockit::Address::ipv4_loopback(port));
  if (!listener) {
    std::fprintf(stderr, "%s\n", listener.error().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "threads_server on %s\n", listener->local_address()->to_string().c_str());
  for (;;) {
    auto conn = listener->accept();
    if (!conn) continue;  // transient errors (ECONNABORTED...) are retried inside accept()
    std::thread([c = std::move(*conn)]() mutable {
      std::byte buf[4096];
      for (;;) {
        // An idle client is dropped after 2 minutes instead of pinning its thread forever.
        auto n = c.read_some(buf, sockit::Deadline::after(std::chrono::minutes(2)));
        if (!n || *n == 0) break;
        if (!c.write_all(std::span(buf, *n), sockit::Deadline::after(std::chrono::seconds(30)))) break;
      }
    }).detach();
  }
}
