// Internal header of `sockit chat-server`: its TLS listeners (docs/CHAT-SERVER.md, "TLS").
//
// One serve::Server carries the plaintext and the TLS listeners (one event loop owns the IRC
// state). ServerOptions::transport has no listener argument, so each connection gets a
// ListenerTransport that looks at its own socket's local address on its first handshake() call:
// a TLS listener's connection then runs a tls::Transport with that listener's current
// certificate, any other stays the plain socket. Client certificates are requested (never
// required) and any is accepted: only its SHA-256 fingerprint is kept (CertFP: WHOIS 276,
// [[operator]] certfp). reload() reads the certificates again (SIGHUP, REHASH); connections made
// since use the new ones, open ones keep theirs; a file that fails keeps all the old ones.
#pragma once

#include "chat_server/config_file.hpp"

#include "sockit/irc/server.hpp"
#include "sockit/loop/transport.hpp"
#include "sockit/net/address.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sockit::chat_server {

class TlsListeners {
 public:
  TlsListeners();
  ~TlsListeners();
  TlsListeners(const TlsListeners&) = delete;
  TlsListeners& operator=(const TlsListeners&) = delete;

  /// Reads every listener's certificate and key; false with the reason in words
  /// ("tls: certificate /x.pem: No such file or directory").
  bool load(const std::vector<TlsListen>& specs, std::string& error);
  bool empty() const;
  /// The listeners' bound addresses (real ports), in the order of load()'s specs.
  void set_bound(const std::vector<Address>& bound);
  /// The certificates read again; on any failure every old one stays. "" or why.
  std::string reload();
  /// For ServerOptions::transport (one ListenerTransport per connection).
  loop::TransportFactory factory() const;
  /// For irc::Server::set_security_lookup: a TLS listener's connection, its client certificate.
  irc::ConnectionSecurity lookup(serve::Peer& peer) const;
  /// --tls-handshake-timeout (10 s by default): connections made from now on get this limit.
  void set_handshake_timeout(std::chrono::nanoseconds limit);
  /// sockit_tls_handshakes_total{result}: handshakes that finished, failed, timed out.
  struct Counts {
    std::uint64_t ok = 0, failed = 0, timed_out = 0;
  };
  Counts counts() const;

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace sockit::chat_server
