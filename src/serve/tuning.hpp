// Private header of sockit::serve (not installed): the seam between the serving layers and the
// reactor's speed machinery. A protocol's contract is session.hpp and server.hpp; what is here
// only makes a known protocol cheaper to serve and is never needed for correctness:
//
//   - Tuning::splice_echo: echo by splice() for sessions marked PureEcho (the RFC 862 service).
//     The echo service's driver (`sockit echo-server`) turns it on; every other server leaves it
//     off and never pays for it (no pipe, no check per read).
//   - Tuning::turn_end: a hook at the end of every reactor loop turn (the chat server fans out
//     the channel lines of all senders of a turn in one pass).
//   - bytes_spliced(): the splice counter, for the metrics page.
//   - prefetch_peer() / prefetch(): cache hints for a loop over many peers (IRC channel fan-out).
//
// Reachable from src/ (every layer's private include path), from the sockit binary and from the
// serve tests, as "serve/tuning.hpp".
#pragma once

#include "sockit/net/result.hpp"
#include "sockit/serve/server.hpp"
#include "sockit/serve/session.hpp"

#include <cstdint>
#include <functional>
#include <memory>

namespace sockit::serve::detail {

/// Reactor-only options a library user never needs; the other models ignore them.
struct Tuning {
  /// Sessions that are PureEcho get reads of 4 KiB or more back to the peer with splice()
  /// through a pipe per loop (two descriptors per loop, made when the server is created),
  /// never copied into user space and never passed to on_data. Needs SIGPIPE ignored.
  bool splice_echo = false;
  /// Called in the loop thread at the end of every loop turn in which a session was called
  /// (data, EOF, timer, wake), before the turn's coalesced writes go out. Costs one check per
  /// session call and one call per such turn.
  std::function<void()> turn_end;
};

/// Server::create with Tuning.
Result<std::unique_ptr<Server>> create_server(ServerOptions opts, SessionFactory factory, Tuning tuning);

/// Of ServerStats::bytes_out, the bytes echoed with splice() (0 without Tuning::splice_echo).
/// Safe from any thread (relaxed counters).
std::uint64_t bytes_spliced(const Server& server);

/// Marks a Session as a pure echo (RFC 862): every byte read goes back unchanged and nothing
/// else is ever sent, so a reactor with Tuning::splice_echo may move large reads back in the
/// kernel instead of calling on_data. Checked once per connection, after on_open.
class PureEcho {
 public:
  virtual ~PureEcho() = default;
};

/// Cache hint for one object about to be read. Reads nothing, cannot fault.
inline void prefetch(const void* p) noexcept { __builtin_prefetch(p); }

/// Cache hints for the connection behind a Peer, for a caller walking many peers a few ahead
/// (an IRC channel's members). It assumes the reactor's layout: the reactor's peer class derives
/// from loop::Connection first and Peer second, so the connection state lies in the two cache
/// lines before the Peer part. Under other models the lines fetched are simply not used. A null
/// peer (a client without a connection) does nothing.
inline void prefetch_peer(const Peer* peer) noexcept {
  if (peer == nullptr) return;
  const auto* p = reinterpret_cast<const char*>(peer);
  __builtin_prefetch(p - 128);
  __builtin_prefetch(p - 64);
  __builtin_prefetch(p);
  __builtin_prefetch(p + 64);
}

}  // namespace sockit::serve::detail
