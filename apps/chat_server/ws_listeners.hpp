// Internal header of `sockit chat-server`: its WebSocket listeners (docs/WEB.md).
//
// IRC over WebSocket (IRCv3): a listener given with --ws-listen or [[listen]] websocket = true
// (with tls = true: wss://) runs a ws::Transport on each connection, over the TLS listeners'
// transport or the plain socket. As with TLS (tls_listeners.hpp), ServerOptions::transport
// has no listener argument: each connection looks at its socket's local address on its first
// handshake() call and becomes WebSocket there or stays what `base` makes. The IRC core sees
// ordinary lines: WebSocket users are ordinary users.
#pragma once

#include "chat_server/config_file.hpp"

#include "sockit/loop/transport.hpp"
#include "sockit/net/address.hpp"

#include <memory>
#include <vector>

namespace sockit::chat_server {

class WsListeners {
 public:
  explicit WsListeners(const WebSocketSettings& settings);
  /// The listeners' bound addresses (real ports).
  void set_bound(std::vector<Address> bound);
  /// For ServerOptions::transport: WebSocket on the listeners' connections, over `base`'s
  /// transport (the TLS listeners'; empty: the plain socket).
  loop::TransportFactory factory(loop::TransportFactory base) const;

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace sockit::chat_server
