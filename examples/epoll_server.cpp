// Step: the reactor, as a library. sockit::serve::Server runs N event loops (epoll here; select
// and poll are one word away) and drives a Session per connection. The Session never touches a
// socket: it gets bytes and queues bytes. Backpressure, half-close, idle timeouts, EMFILE and
// graceful stop are the server's job. This is what `sockit echo-server --model epoll` runs.
//
//   ./epoll_server 7007 4      (port, event loops)   then: sockit nc 127.0.0.1 7007
#include "sockit/serve.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace {

// Echo, upper-cased: the whole protocol.
class ShoutSession : public sockit::serve::Session {
 public:
  void on_data(std::span<const std::byte> data, sockit::serve::Peer& peer, sockit::serve::TimePoint) override {
    std::string s(reinterpret_cast<const char*>(data.data()), data.size());
    for (char& ch : s) {
      if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    }
    peer.send(s);
  }
};

}  // namespace

int main(int argc, char** argv) {
  sockit::serve::ServerOptions opts;
  opts.model = sockit::serve::Model::epoll;
  opts.listen = {sockit::Address::ipv4_loopback(static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7007))};
  opts.threads = argc > 2 ? std::atoi(argv[2]) : 1;
  opts.idle_timeout = std::chrono::minutes(2);

  // Signals are taken by sigwait() below: block them before the server starts its threads.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto server = sockit::serve::Server::create(opts, [](sockit::serve::Peer&) { return std::make_unique<ShoutSession>(); });
  if (!server || !(*server)->start()) {
    std::fprintf(stderr, "%s\n", server ? "start failed" : server.error().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "epoll_server on %s with %d loop(s); Ctrl-C to stop\n",
               (*server)->local_addresses()[0].to_string().c_str(), (*server)->threads());
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->stop(std::chrono::seconds(5));  // stop accepting, flush, close (graceful)
  (*server)->wait();
  auto st = (*server)->stats();
  std::fprintf(stderr, "served %llu connections, %llu bytes in\n", static_cast<unsigned long long>(st.accepted),
               static_cast<unsigned long long>(st.bytes_in));
  return 0;
}
