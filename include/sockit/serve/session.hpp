// Public header. The seam between protocols and concurrency models.
//
// A protocol is a Session: it sees bytes in and queues bytes out through its Peer, and never does
// I/O or reads a clock itself (sans-I/O). Every model in sockit::serve (iterative, fork, thread,
// pool, select/poll/epoll reactors) drives the same Session code:
//   - on_open once, then on_data for each chunk read, on_eof when the peer half-closes,
//   - on_tick(now) whenever next_deadline() has passed (idle and ping timeouts live here),
//   - on_close once, whatever ended the connection.
// Sessions are created by a SessionFactory, one per connection.
//
// Threading: a model calls one Session from one thread at a time. Peer::send, close_after_flush
// and close_now are safe from any thread in every threaded model (the reactor posts to the owning
// loop; the thread and pool models lock and wake the connection's thread), as long as the Peer is
// still alive, i.e. until its Session's on_close has returned. The other Peer calls belong to the
// thread running the Session.
//
// Costs: a Session call is one virtual call per event; on_data's bytes live in the driver's buffer
// only for the call (no copy before it; keep what you need). Peer::send writes at once when
// nothing is queued and copies only what the socket does not take (reactors with
// ServerOptions::coalesce_writes: one write per connection per loop turn instead); a reactor's
// Peer::send from another thread copies the bytes and posts them to the loop. send_shared queues a
// reference, not a copy, in the reactors.
#pragma once

#include "sockit/net/address.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sockit::serve {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

/// The transport side of one connection, implemented by each model.
class Peer {
 public:
  virtual ~Peer() = default;
  /// Queues bytes for the peer. Bounded: a peer whose queue passes the model's cap is closed
  /// (slow reader) and later sends are dropped. Never blocks the caller for long.
  virtual void send(std::string_view bytes) = 0;
  /// The same, for bytes serialized once and sent to many peers (a channel line to every
  /// member): `bytes` lies inside `*owner`, and a model may queue a reference to it instead of a
  /// copy (the reference keeps `owner` alive). The default copies.
  virtual void send_shared(std::shared_ptr<const std::string> owner, std::string_view bytes) {
    (void)owner;
    send(bytes);
  }
  /// Flushes what is queued, then half-closes (FIN) and closes (Redis CLOSE_AFTER_REPLY).
  virtual void close_after_flush() = 0;
  /// Closes at once, dropping queued output; `reason` is for logs and counters.
  virtual void close_now(std::string_view reason) = 0;
  /// For a refused or misbehaving client (limits, garbage): writes what is queued with one
  /// non-blocking send (best effort), discards unread input and closes at once, without the
  /// lingering read of close_after_flush(), so a refusal never holds its descriptor waiting for
  /// the client. The default (models without a lingering close) is close_after_flush().
  virtual void close_refused() { close_after_flush(); }
  /// A callable that any thread may invoke (any number of times, also after the connection is
  /// gone, when it does nothing) to have the model call Session::on_wake on the thread driving
  /// this connection: how work done on another thread (a password check) comes back. Empty when
  /// the model has no way to do that (callers then do the work inline).
  virtual std::function<void()> waker() { return {}; }
  /// Bytes queued and not yet written (for SendQ accounting).
  virtual std::size_t queued_bytes() const = 0;
  virtual Address remote() const = 0;
  virtual const Address& local() const = 0;
  /// A small id unique among live connections of this server.
  virtual std::uint64_t id() const = 0;
};

/// Why a connection ended, passed to Session::on_close.
enum class CloseReason { peer_closed, reset, idle_timeout, send_queue_full, protocol, server_stopping, error };
std::string_view to_string(CloseReason r) noexcept;

class Session {
 public:
  virtual ~Session() = default;
  virtual void on_open(Peer&, TimePoint /*now*/) {}
  /// Bytes just read. `now` is the time they arrived.
  virtual void on_data(std::span<const std::byte> data, Peer& peer, TimePoint now) = 0;
  /// The peer half-closed. The default flushes and closes (echo semantics).
  virtual void on_eof(Peer& peer, TimePoint /*now*/) { peer.close_after_flush(); }
  /// Called once next_deadline() has passed.
  virtual void on_tick(Peer&, TimePoint /*now*/) {}
  /// Peer::waker() was invoked (next_deadline() and wants_drain() are re-checked afterwards).
  virtual void on_wake(Peer&, TimePoint /*now*/) {}
  /// When on_tick is next due; nullopt = no timer.
  virtual std::optional<TimePoint> next_deadline() const { return std::nullopt; }
  /// The server is stopping gracefully (SIGTERM): say goodbye if the protocol has a way
  /// ("ERROR :Server shutting down"), then close. The default flushes and closes. Connections
  /// still open at the drain deadline are closed with CloseReason::server_stopping.
  virtual void on_shutdown(Peer& peer, TimePoint /*now*/) { peer.close_after_flush(); }
  /// Producers (chargen) return true to be called in on_drain() whenever the connection can take
  /// more output (at most the low-water mark queued). Checked after every callback.
  virtual bool wants_drain() const { return false; }
  /// Room to write: queue the next piece (see wants_drain()).
  virtual void on_drain(Peer&, TimePoint /*now*/) {}
  /// The connection is gone (the Peer must not be used after this returns).
  virtual void on_close(CloseReason /*why*/) {}
};

/// Makes one Session per accepted connection. Called on the thread that will drive it.
using SessionFactory = std::function<std::unique_ptr<Session>(Peer&)>;

}  // namespace sockit::serve
