// Public header. Server: a TCP server that drives one Session per connection (session.hpp) with
// the chosen concurrency model. The protocol is the same for every model; only the driver
// changes.
//
//   serve::ServerOptions opts;
//   opts.model = serve::Model::epoll;                       // or iterative, fork, thread, pool, ...
//   opts.listen = {Address::ipv4_loopback(0)};              // port 0: read the port back
//   opts.threads = 4;                                       // reactor loops / pool workers
//   auto server = serve::Server::create(opts, [](serve::Peer&) {
//     return std::make_unique<MySession>();
//   });
//   if (!server) { ... server.error().message() ... }
//   (*server)->start();                                     // serves on background threads
//   uint16_t port = (*server)->local_addresses()[0].port();
//   ...
//   (*server)->stop(std::chrono::seconds(5));               // graceful: drain up to 5 s
//   (*server)->wait();
//
// Stopping: stop(drain) closes the listeners at once (new connects are refused), calls
// Session::on_shutdown on every connection (default: flush and close), and closes what is still
// open when the drain deadline passes (CloseReason::server_stopping). stop_now() closes everything
// at once. Both are safe from any thread (not from a signal handler: use sigwait/signalfd) and
// may be called before start(), several times, or after the server finished.
//
// Limits: a connection whose queued output passes send_queue_cap is closed (send_queue_full);
// reading from it pauses at high_water and resumes at low_water, so a client that never reads
// costs at most about high_water bytes; max_buffered caps what all of them
// together can make the process hold. Connections over max_conns are accepted and closed at once
// (after reject_message, if any), and so are connections the pool cannot queue.
//
// Thread affinity: create/start/wait from one thread; stop, stop_now and stats from any.
#pragma once

#include "sockit/serve/model.hpp"
#include "sockit/serve/session.hpp"
#include "sockit/net/address.hpp"
#include "sockit/net/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::loop {
class EventLoop;
class Transport;
}  // namespace sockit::loop

namespace sockit::serve::detail {
struct ServerAccess;  // the library's private seam (not part of the API)
}  // namespace sockit::serve::detail

namespace sockit::serve {

/// A server-wide buffer budget sized to the machine: 1/8 of physical memory, at most 256 MiB and
/// at least 32 MiB.
std::size_t default_max_buffered() noexcept;

struct ServerOptions {
  Model model = Model::epoll;
  /// TCP addresses to listen on (at least one, or listen_fds). Port 0 picks a free port: see
  /// local_addresses().
  std::vector<Address> listen;
  /// Listening stream sockets already bound by someone else (systemd socket activation,
  /// LISTEN_FDS): adopted as they are, after the `listen` ones. create() checks each is a
  /// listening SOCK_STREAM socket (IPv4, IPv6 or Unix), makes it non-blocking and close-on-exec,
  /// and owns it from then on (closes it on failure too). Their connections are served like any.
  std::vector<int> listen_fds;
  /// Reactor: event loops (threads), connections spread round-robin; pool: worker threads.
  /// 0 = the model's default (reactor 1, pool 4). Ignored by iterative, fork and thread.
  int threads = 0;
  /// Connections served at once; more are accepted and closed. 0 = RLIMIT_NOFILE - 32 (Redis's
  /// maxclients rule, so the cap is reached before the process runs out of descriptors).
  std::size_t max_conns = 0;
  /// Close a connection after this long with no byte in either direction. 0 = never.
  std::chrono::nanoseconds idle_timeout{0};
  /// Output queued for one connection beyond this closes it (slow reader). 0 = no cap.
  std::size_t send_queue_cap = 4 << 20;
  /// Reading from a connection pauses at this much queued output and resumes at low_water.
  std::size_t high_water = 1 << 20;
  std::size_t low_water = 256 << 10;
  /// Reactor, thread and pool models: output bytes queued by all connections together. Once half of it is in use
  /// the connections holding the most stop reading, and at the limit every connection holding
  /// output does, each until its own queue drains (loop::BufferBudget). After a wave the freed
  /// memory goes back to the system (malloc_trim). 0 = no cap (`sockit echo-server` uses
  /// default_max_buffered(); --max-buffered). fork and iterative ignore it.
  std::size_t max_buffered = 0;
  /// Reactor models: every interval, the first loop compares the process's resident memory with
  /// what malloc has handed out and, when more than max(16 MiB, a quarter of it) is resident but
  /// unused (freed after a burst: a join storm, a wave of slow readers), gives it back to the
  /// system (malloc_trim), so RSS follows the load down. 0 = never. Other models ignore it.
  std::chrono::nanoseconds memory_trim_interval{0};
  /// Reactor models: Peer::send only queues and each connection is written once per event-loop
  /// turn (one sendmsg of everything sent to it in that turn). For servers that send many small
  /// messages to many peers (IRC fan-out); an echo server gains nothing. Other models ignore it.
  bool coalesce_writes = false;
  /// Reactor models with coalesce_writes: a connection that sent nothing in the last two turns
  /// (a passive receiver of fan-out) and has less than output_hold_bytes queued is written up to
  /// this much later, with what later turns add (loop::ConnectionOptions::hold_output): fewer,
  /// fuller TCP segments for some latency. 0 = off.
  std::chrono::nanoseconds output_hold{0};
  std::size_t output_hold_bytes = 2048;
  /// Every model: makes the loop::Transport each new connection's bytes go through (TLS,
  /// WebSocket framing, a test transport), in the thread that will drive it. Unset or returning
  /// null: the plain socket. A transport turns echo by splice off for its connection.
  std::function<std::unique_ptr<loop::Transport>()> transport;
  /// pool: connections accepted but waiting for a worker; more are refused.
  std::size_t pool_queue = 64;
  int backlog = 511;
  /// After our FIN, read and discard for at most this long waiting for the peer's FIN.
  std::chrono::nanoseconds linger{std::chrono::seconds(2)};
  /// Written (best effort) to connections refused for max_conns or a full pool queue.
  std::string reject_message;
  /// Signals for on_signal (SIGTERM, SIGINT, SIGUSR1...), which the caller blocks in every
  /// thread before create() (loop::block_signals). The reactors take them through their first
  /// loop's signalfd and call on_signal in that loop's thread (from create() on, whether started
  /// with start() or run()); the other models wait for them in Server::run only. on_signal
  /// typically calls stop() or prints stats().
  std::vector<int> signals;
  std::function<void(int signo)> on_signal;
  /// Operator messages (out of descriptors, connection refused by limits, select over
  /// FD_SETSIZE), one line each, at most one per kind per second. Called from server threads.
  std::function<void(std::string_view line)> log;
};

/// Counters, summed over all threads (and child processes for the fork model).
struct ServerStats {
  std::uint64_t accepted = 0;     ///< connections accepted and handed to a Session
  std::uint64_t active = 0;       ///< connections open now
  std::uint64_t closed = 0;       ///< connections finished
  std::uint64_t rejected = 0;     ///< refused: over max_conns, pool queue full, select FD_SETSIZE
  std::uint64_t shed = 0;         ///< closed at once because the process was out of descriptors
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t timeouts = 0;     ///< closed for idle_timeout
  std::uint64_t overflows = 0;    ///< closed for send_queue_full
  std::uint64_t resets = 0;       ///< closed by a peer reset
  std::uint64_t errors = 0;       ///< accept and socket errors
  std::uint64_t buffered = 0;       ///< output bytes queued now (with max_buffered)
  std::uint64_t buffered_peak = 0;  ///< the most ever queued at once (with max_buffered)
  std::uint64_t budget_pauses = 0;  ///< times a connection stopped reading for max_buffered
};

class Server {
 public:
  /// Binds every listen address (so errors like EADDRINUSE come back here, before start) and
  /// prepares the model's threads. `factory` runs on the thread that will drive the Session.
  static Result<std::unique_ptr<Server>> create(ServerOptions opts, SessionFactory factory);
  /// stop_now() and wait().
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Starts serving on background threads and returns.
  Result<void> start();
  /// Graceful stop with a drain deadline (see the header comment). Returns at once.
  void stop(std::chrono::nanoseconds drain = std::chrono::seconds(5));
  /// Immediate stop: every connection is closed (server_stopping). Returns at once.
  void stop_now();
  /// Blocks until every thread (and child process) of the server has finished after a stop.
  void wait();
  /// start() and wait() in one call, for a program whose main thread has nothing else to do:
  /// blocks until the server has finished after a stop, handing ServerOptions::signals to
  /// on_signal meanwhile. The reactors run their first event loop in the calling thread, so
  /// `--threads 1` is one thread in all: the kernel then looks up descriptors without the
  /// reference counting a shared descriptor table needs, and glibc skips its cancellation
  /// bookkeeping around recv/send (less CPU per message than start() plus a waiting thread).
  Result<void> run();
  /// True once the server has finished (all threads done) after a stop.
  bool finished() const;

  /// The bound addresses, in the order of ServerOptions::listen, with real ports.
  const std::vector<Address>& local_addresses() const;
  Model model() const;
  /// The poller behind the model ("epoll", "poll", "select").
  std::string_view backend_name() const;
  /// Effective threads (reactor loops or pool workers; 1 for iterative; 0 for thread/fork).
  int threads() const;
  /// Effective max_conns after the RLIMIT_NOFILE default.
  std::size_t max_conns() const;
  ServerStats stats() const;
  /// Reactor models: the first event loop (it runs the acceptors and the signals), so a caller can
  /// serve something of its own on the same thread, like the metrics endpoint: add it after
  /// create() (before run/start, or in that loop's thread) and destroy it after wait(). Its
  /// handlers see the sessions' state without locks. Null for the other models.
  /// `index` 1..threads()-1: the reactor's other loops (null past the last), e.g. to observe
  /// their turns (EventLoop::set_turn_observer) before run/start.
  loop::EventLoop* event_loop(int index = 0) const;

  class Impl;

 private:
  friend struct detail::ServerAccess;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockit::serve
