// Public header. tls::Transport: TLS on a connection of the event loop or of any server model,
// through the loop::Transport seam (ServerOptions::transport = tls::transport_factory(ctx)).
// Non-blocking over the connection's descriptor: handshake() is driven by readiness and asks
// for what OpenSSL wants (a server reading the ClientHello wants read; a blocked flight wants
// write), read()/write() carry application bytes (records are cut by TLS, so the caller reads
// to EAGAIN and checks pending_input()), shutdown_write() sends close_notify then FIN.
// A failed handshake (a plaintext client, TLS 1.0/1.1 offers, a bad certificate) sets failure()
// and the driver closes the connection; servers give the handshake 10 s by default.
#pragma once

#include "sockit/loop/transport.hpp"
#include "sockit/tls/context.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;

namespace sockit::tls {

/// Outcomes of server handshakes, shared by the transports of one server (metrics:
/// sockit_tls_handshakes_total{result}). The caller owns it (it may live in a MAP_SHARED page so
/// fork children count too) and keeps it alive as long as any transport given it.
struct HandshakeCounts {
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> failed{0};     ///< failure() set: an alert, no TLS, a reset
  std::atomic<std::uint64_t> timed_out{0};  ///< closed unfinished after handshake_timeout
};

struct TransportOptions {
  /// The limit on the handshake (zero: none); the driver closes the connection when it passes.
  std::chrono::nanoseconds handshake_timeout = std::chrono::seconds(10);
  /// Where handshake outcomes are counted (null: nowhere). A transport destroyed with its
  /// handshake unfinished and no failure, at least 7/8 of handshake_timeout after it was made
  /// (the driver's clock is read once per loop turn), counts as timed out.
  HandshakeCounts* counts = nullptr;
  /// Called once, from handshake(), when the handshake has finished (a client's status line:
  /// "TLS handshake" until then). Must not throw out (an exception is dropped).
  std::function<void()> on_established;
  std::string server_name;  ///< clients: SNI and the name checked (required when verifying)
  /// Clients: a session of an earlier connection to the same server (Transport::session()),
  /// offered for resumption; null: a full handshake.
  std::shared_ptr<SSL_SESSION> session;
};

class Transport final : public loop::Transport {
 public:
  Transport(const Context& ctx, const TransportOptions& opts = {});
  ~Transport() override;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  ssize_t read(int fd, std::span<std::byte> buf) noexcept override;
  ssize_t write(int fd, std::span<const std::byte> bytes) noexcept override;
  ssize_t writev(int fd, const iovec* iov, int n) noexcept override;
  int shutdown_write(int fd) noexcept override;
  bool handshake(int fd) noexcept override;
  loop::Want wants() const noexcept override { return want_; }
  std::size_t pending_input() const noexcept override;
  std::size_t pending_output() const noexcept override { return close_pending_ ? 1 : 0; }
  ssize_t flush(int fd) noexcept override;
  int failure() const noexcept override { return failure_; }
  std::chrono::nanoseconds handshake_timeout() const noexcept override { return handshake_timeout_; }
  /// Counts the handshake as timed out (HandshakeCounts::timed_out) unless it finished or failed.
  void handshake_expired() noexcept override;

  /// Why the handshake failed, in words ("tls: handshake: wrong version number"); empty if not.
  const std::string& failure_text() const noexcept { return failure_text_; }
  bool established() const noexcept { return established_; }
  /// The protocol once established ("TLSv1.3"), else "".
  std::string version() const;
  /// Clients: this connection's session, to resume on a later one (TransportOptions::session);
  /// null before the handshake or when the server gave nothing resumable. With TLS 1.3 the
  /// tickets come after the handshake: ask once some application data was read (or the end).
  std::shared_ptr<SSL_SESSION> session() const;
  /// True when the handshake resumed an earlier session (SSL_session_reused).
  bool resumed() const noexcept;

 private:
  ssize_t io_result(int rc, bool reading) noexcept;
  bool start(int fd) noexcept;
  void fail(int err) noexcept;  ///< failure_ set, counted
  ssize_t send_close_notify(int fd) noexcept;
  bool ready(int fd) noexcept;

  Context ctx_;
  SSL* ssl_ = nullptr;
  std::string server_name_;
  std::shared_ptr<SSL_SESSION> resume_;
  std::chrono::nanoseconds handshake_timeout_;
  HandshakeCounts* counts_;
  std::function<void()> on_established_;
  std::string failure_text_;
  loop::Want want_ = loop::Want::read;
  int failure_ = 0;
  bool established_ = false;
  bool expired_ = false;  // handshake_expired() counted once
  bool close_pending_ = false;  ///< close_notify not fully written yet
  bool shut_requested_ = false; ///< shutdown_write() came during the handshake
  bool broken_ = false;         ///< a fatal error: no close_notify may be sent
};

/// A factory for ServerOptions::transport: one server-side Transport per accepted connection.
loop::TransportFactory transport_factory(Context ctx, TransportOptions opts = {});

}  // namespace sockit::tls
