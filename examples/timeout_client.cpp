// Deadlines: a client that gives up on connect after 2 s and on a silent server after 5 s.
// A Deadline is an absolute time, so one budget can cover several calls.
//
//   ./timeout_client 127.0.0.1 7007
#include "sockit/net.hpp"

#include <cstdio>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
    return 2;
  }
  // Without a deadline, connect to a host that drops SYNs waits ~2 minutes (tcp_syn_retries).
  auto conn = sockit::TcpStream::connect(argv[1], argv[2], sockit::Deadline::after(2s));
  if (!conn) {
    // The three failures people mix up, told apart by their error codes:
    if (conn.error() == std::errc::timed_out) std::fprintf(stderr, "nobody answered in time\n");
    else if (conn.error() == std::errc::connection_refused) std::fprintf(stderr, "nothing listens there\n");
    else if (conn.error() == std::errc::network_unreachable) std::fprintf(stderr, "no route\n");
    std::fprintf(stderr, "%s\n", conn.error().message().c_str());
    return 1;
  }
  (void)conn->write_all("hello\n", sockit::Deadline::after(5s));
  std::byte buf[1024];
  // Wait at most 5 s for the first byte of the answer.
  auto n = conn->read_some(buf, sockit::Deadline::after(5s));
  if (!n) {
    std::fprintf(stderr, "%s\n", n.error().message().c_str());  // "read: Connection timed out"
    return 1;
  }
  std::printf("%.*s", static_cast<int>(*n), reinterpret_cast<const char*>(buf));
  return 0;
}
