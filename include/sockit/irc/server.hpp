// Public header. irc::Server: the whole state of an IRC server (clients, nicks, channels,
// memberships, modes, bans) and its command handlers, without any I/O (sans-I/O, STYLE §2.4).
//
// A driver feeds it bytes and times through the per-connection entry points below and it answers
// through each client's serve::Peer (send / close_after_flush / close_now). It never reads a clock:
// monotonic time comes with every call (`now`), wall-clock time (TIME, 003, WHOIS signon, topic
// times, server-time tags) from the WallClock given at construction.
//
// Commands are dispatched from one table (ngIRCd's _CMD): name, handler, allowed registration
// states, min/max parameters. 451 (not registered), 462 (already registered) and 461 (not enough
// parameters) come from the table, before a handler runs; anything not in it gets 421.
//
// Threading: not thread-safe. One thread (one event loop) calls every entry point; a multi-threaded
// driver must serialize calls (see docs/CHAT-SERVER.md). Peer::send is only called from inside
// entry points. A client closed while delivering to others is unlinked once the current entry
// point ends (never while iterating a channel), so close_now() may call back into disconnected().
#pragma once

#include "sockit/irc/config.hpp"
#include "sockit/serve/session.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sockit::store {
class History;
}

namespace sockit::irc {

class ClusterLink;  // sockit/irc/cluster.hpp
struct ClusterEvent;
using ClientId = std::uint64_t;
using TimePoint = serve::TimePoint;
using WallClock = std::function<std::chrono::system_clock::time_point()>;

/// Counters for LUSERS, tests and the app's status line.
struct ServerStats {
  std::size_t connections = 0;   ///< open connections (registered or not)
  std::size_t registered = 0;
  std::size_t invisible = 0;
  std::size_t operators = 0;
  std::size_t channels = 0;
  std::size_t max_registered = 0;
  std::uint64_t lines_in = 0;
  std::uint64_t excess_flood = 0;
  std::uint64_t sendq_exceeded = 0;
  std::uint64_t rejected_connections = 0;
  std::uint64_t registrations = 0;          ///< clients that completed registration (001 sent)
  std::uint64_t deliveries = 0;             ///< lines queued to clients (a channel line once per receiver)
  std::uint64_t flood_delayed = 0;          ///< lines held back by flood control (fakelag)
  std::uint64_t registration_timeouts = 0;  ///< clients closed for not registering in time
  std::uint64_t ping_timeouts = 0;          ///< clients closed for not answering PING
};

/// One line of the operator log (Server::set_event_log): connections, registrations, quits,
/// operators and kills. Names, addresses and reasons only: never a password or a message's text.
struct Event {
  enum class Kind {
    connected,        ///< a connection was accepted (before NICK/USER)
    refused,          ///< a connection was refused (detail: why)
    registered,       ///< NICK/USER (and PASS) done, 001 sent
    password_failed,  ///< PASS did not match the server password (the client is closed)
    oper,             ///< OPER succeeded (detail: the operator name)
    oper_failed,      ///< OPER refused (detail: the operator name if it is a configured one)
    killed,           ///< KILLed by an operator (detail: "by NICK: reason")
    logged_in,        ///< SASL or REGISTER logged the client in (detail: the account name)
    login_failed,     ///< SASL failed (detail: the mechanism and the account name given)
    account_registered,  ///< REGISTER created an account (detail: its name)
    quit,             ///< the client left or was closed (detail: the quit reason)
  };
  Kind kind = Kind::connected;
  ClientId id = 0;
  std::string_view nick;    ///< empty before NICK
  std::string_view ip;
  std::string_view detail;
  bool registered = false;  ///< the client had completed registration
};
using EventLog = std::function<void(const Event&)>;

/// What the sans-I/O core asks of the application for the operator commands that act on the
/// process (REHASH, DIE, RESTART). Called on the thread of the entry point, inside it: a hook may
/// call Server::reload() but no other entry point. An unset hook makes its command unavailable.
struct AdminHooks {
  /// REHASH: read the configuration again as on SIGHUP and, when it is valid, hand it to
  /// Server::reload(); returns "" on success or why it failed (the old configuration stays).
  std::function<std::string()> rehash;
  /// The file 382 RPL_REHASHING names ("<config file> :Rehashing").
  std::string config_name;
  /// DIE (Config::allow_die): every client has been sent ERROR and is closing; stop the process
  /// cleanly (exit status 0). `reason` names the operator.
  std::function<void(std::string_view reason)> die;
  /// RESTART (Config::allow_restart): the same, then run the program again with the same arguments.
  std::function<void(std::string_view reason)> restart;
};

/// A connection's transport as the application knows it (Server::set_security_lookup).
struct ConnectionSecurity {
  bool tls = false;    ///< a TLS listener's connection: user mode +Z, 671 in WHOIS
  std::string certfp;  ///< SHA-256 of the client certificate (normalize_certfp form); "" = none
};
/// Asked once per client, when its first bytes arrive (the TLS handshake is over by then).
using SecurityLookup = std::function<ConnectionSecurity(serve::Peer&)>;

class ServerImpl;
class PasswordChecker;
}  // namespace sockit::irc
namespace sockit::store {
class AccountStore;
}  // namespace sockit::store
namespace sockit::irc {

class Server {
 public:
  /// `wall` gives the wall-clock time (tests pass a fixed clock); null -> std::chrono::system_clock.
  explicit Server(Config config, WallClock wall = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// A new connection. Returns its id, or nullopt when refused (max clients, per-IP cap, shutting
  /// down): the ERROR line was then sent and close_after_flush() called; do not call the other
  /// entry points for it. `peer` must outlive the client, until disconnected() or close_now().
  std::optional<ClientId> connect(serve::Peer& peer, TimePoint now);
  /// Bytes read from the client's socket, in order.
  void receive(ClientId id, std::span<const std::byte> data, TimePoint now);
  void receive(ClientId id, std::string_view data, TimePoint now);
  /// The client half-closed: handled as QUIT ("Connection closed").
  void eof(ClientId id, TimePoint now);
  /// Timers: registration timeout, idle PING, ping timeout, delayed (fakelag) lines.
  void tick(ClientId id, TimePoint now);
  /// The connection's Peer::waker() was invoked: a password check's verdict may have arrived.
  void wake(ClientId id, TimePoint now);
  /// When tick() is next due for this client (nullopt: nothing pending).
  std::optional<TimePoint> next_deadline(ClientId id) const;
  /// The connection is gone (peer reset, model closed it): the client quits with `reason`,
  /// its Peer is no longer used. Idempotent; unknown ids are ignored.
  void disconnected(ClientId id, std::string_view reason);

  /// Replaces the configuration (SIGHUP): MOTD, limits, operators, timeouts. Names already in use
  /// stay valid even if the new limits are smaller.
  void reload(Config config);
  const Config& config() const noexcept;
  /// Sends "ERROR :Closing Link: ... (reason)" to every client and close_after_flush()es them;
  /// later connect() calls are refused.
  void shutdown(std::string_view reason);
  /// The same for one client (the reactor calls Session::on_shutdown per connection); also makes
  /// later connect() calls fail.
  void shutdown_client(ClientId id, std::string_view reason);

  /// Channel lines from several senders in a row are fanned out together (each member gets one
  /// reference to one buffer instead of one copy per sender). By default the held lines go out
  /// when each entry point returns; with hold on they wait for flush_broadcasts(), which the
  /// model must then call at the end of every loop turn (the reactor's turn-end hook, serve::detail::Tuning::turn_end): one
  /// pass over the channel per turn, not one per sender. Any other output, membership change or
  /// shutdown still sends held lines first, so every client sees the same order either way.
  void set_hold_broadcasts(bool on);
  /// Sends the held channel lines now.
  void flush_broadcasts();

  /// Password checks (PASS, OPER) run on `checker`'s threads; their verdicts come back through
  /// each client's Peer::waker() (a Peer without one is checked inline). Null: every check runs
  /// inline, on the caller's thread. `checker` must outlive the server or be unset first.
  void set_password_checker(PasswordChecker* checker);
  /// IRCv3 draft/chathistory: PRIVMSG and NOTICE to channels and nicks are kept in `history`
  /// (with their msgid) and CHATHISTORY replays them; null (the default): no history, the cap is
  /// not offered. `history` must outlive the server or be unset first.
  void set_history(store::History* history);
  /// A network of nodes through Redis (docs/CLUSTER.md): LINKS lists its live nodes. Null (the
  /// default): a single server. `link` must outlive the server or be unset first.
  void set_cluster(ClusterLink* link);
  /// An event from the cluster's subscription (an entry point, loop thread): delivered to the
  /// local members it concerns, the replica of remote users updated (docs/CLUSTER.md).
  void deliver_from_cluster(const ClusterEvent& event);
  /// The cluster's degraded mode (an entry point, loop thread): false when the link to Redis is
  /// lost, true when it is back and resynced. Each change sends every registered local user one
  /// NOTICE (docs/CLUSTER.md, "Failures"); repeats of the same state send nothing.
  void cluster_relaying(bool relaying);
  /// A resync found local client `id`'s nick (folded: `folded`) registered earlier by a user of
  /// another node (an entry point, loop thread): the client gets a NOTICE and a guest nick.
  void cluster_nick_lost(std::uint64_t id, const std::string& folded);
  /// The cluster's subscription was down and the lines read back after it do not cover the whole
  /// outage (an entry point, loop thread): each channel's local members get one server NOTICE that
  /// lines said meanwhile may be missing (docs/CLUSTER.md, "Failures": the replay).
  void cluster_lines_missing();
  /// Called with each Event on the thread of the entry point that caused it; null (the default):
  /// no events. Must not call back into the server.
  void set_event_log(EventLog log);
  /// Accounts for SASL (PLAIN, EXTERNAL), REGISTER and WHOIS 330; null (the default): no sasl
  /// capability. `store` must outlive the server. Its slow calls (argon2id) run on the password
  /// checker's threads when there is one.
  void set_account_store(store::AccountStore* store);
  /// REHASH, DIE and RESTART's actions (see AdminHooks); unset by default.
  void set_admin_hooks(AdminHooks hooks);
  /// How to tell a TLS connection and its client certificate (unset: every client is plaintext).
  void set_security_lookup(SecurityLookup lookup);

  ServerStats stats() const;
  /// Checks internal invariants (nick table <-> clients, channel members <-> client channel lists);
  /// returns a description of the first violation, or "" (fuzzing and tests).
  std::string check_invariants() const;

 private:
  std::unique_ptr<ServerImpl> impl_;
};

/// A serve::Session per connection driving `server` (which must outlive every session).
/// Call from the thread that owns `server`.
std::unique_ptr<serve::Session> make_session(Server& server);
serve::SessionFactory session_factory(Server& server);

}  // namespace sockit::irc
