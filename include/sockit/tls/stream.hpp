// Public header. TlsStream: a blocking TLS connection over a TcpStream, with the same absolute
// Deadlines and Result<T> errors as TcpStream (the descriptor stays non-blocking; waits use
// poll()). read_some() returns 0 at the end of the stream (the peer's close_notify, or its FIN:
// a peer that closes without close_notify is taken as done, as ncat and most clients close).
// shutdown_write() sends close_notify, then FIN; reading stays possible.
//
// Thread safety: one thread at a time (OpenSSL's SSL object is not shared between threads).
#pragma once

#include "sockit/net/socket.hpp"
#include "sockit/tls/context.hpp"

#include <memory>
#include <string>
#include <string_view>

typedef struct ssl_st SSL;

namespace sockit::tls {

struct ClientOptions {
  /// Name sent as SNI and checked against the certificate; empty: the host connected to (an IP
  /// literal is checked as an address and sent no SNI).
  std::string server_name;
};

class Stream {
 public:
  Stream() = default;
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;
  ~Stream();

  /// Resolves, connects and handshakes, all within `deadline`.
  static Result<Stream> connect(const Context& ctx, std::string_view host, std::string_view service,
                                Deadline deadline = Deadline::never(), const ClientOptions& copts = {},
                                const ConnectOptions& opts = {}, Family family = Family::unspec);
  /// Client handshake over a connected stream; `host` is what is checked when no server_name.
  static Result<Stream> client(const Context& ctx, TcpStream tcp, std::string_view host, Deadline deadline,
                               const ClientOptions& copts = {});
  /// Server handshake over an accepted stream.
  static Result<Stream> accept(const Context& ctx, TcpStream tcp, Deadline deadline);

  Result<std::size_t> read_some(Bytes buf, Deadline deadline = Deadline::never());
  Result<std::size_t> write_some(ConstBytes buf, Deadline deadline = Deadline::never());
  Result<void> write_all(ConstBytes buf, Deadline deadline = Deadline::never());
  Result<void> write_all(std::string_view s, Deadline deadline = Deadline::never()) { return write_all(as_bytes(s), deadline); }
  /// close_notify, then FIN. Reading stays possible.
  Result<void> shutdown_write(Deadline deadline = Deadline::never());

  /// The negotiated protocol ("TLSv1.3"), ALPN protocol (empty: none) and peer certificate
  /// subject ("CN=localhost", empty: none).
  std::string version() const;
  std::string alpn() const;
  std::string peer_subject() const;

  TcpStream& tcp() noexcept { return tcp_; }
  int fd() const noexcept { return tcp_.fd(); }
  bool is_open() const noexcept { return tcp_.is_open(); }

 private:
  struct SslFree {
    void operator()(SSL* s) const noexcept;
  };
  static Result<Stream> handshake(const Context& ctx, TcpStream tcp, std::string_view host, Deadline deadline,
                                  const ClientOptions* copts);
  TcpStream tcp_;
  std::unique_ptr<SSL, SslFree> ssl_;
  bool write_shut_ = false;
};

}  // namespace sockit::tls
