// Internal header of sockit::irc: the data model behind irc::Server and the helpers the command
// handlers (commands_<family>.cpp) share. Single-threaded; see server.hpp for the contract.
#pragma once

#include "sockit/irc/cluster.hpp"
#include "sockit/irc/config.hpp"
#include "sockit/irc/message.hpp"
#include "sockit/irc/numerics.hpp"
#include "sockit/irc/password.hpp"
#include "sockit/irc/scram.hpp"
#include "sockit/irc/server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sockit::store {
class History;
}

namespace sockit::store {
class AccountStore;
}

namespace sockit::irc {

using SysTime = std::chrono::system_clock::time_point;

inline constexpr std::string_view kVersion = "sockit-0.1.0";

enum CapBit : unsigned {
  kCapEchoMessage = 1u << 0,
  kCapMultiPrefix = 1u << 1,
  kCapServerTime = 1u << 2,
  kCapUserhostInNames = 1u << 3,
  kCapMessageTags = 1u << 4,      ///< client-only tags relayed, TAGMSG
  kCapBatch = 1u << 5,
  kCapLabeledResponse = 1u << 6,  ///< with kCapBatch: replies carry the command's label
  kCapCapNotify = 1u << 7,        ///< CAP NEW/DEL (on with CAP LS 302)
  kCapExtendedJoin = 1u << 8,
  kCapAwayNotify = 1u << 9,
  kCapInviteNotify = 1u << 10,
  kCapChghost = 1u << 11,
  kCapSetname = 1u << 12,
  kCapStandardReplies = 1u << 13,
  kCapSasl = 1u << 16,                 ///< offered only with an account store (commands_accounts.cpp)
  kCapAccountNotify = 1u << 17,
  kCapAccountTag = 1u << 18,
  kCapAccountRegistration = 1u << 19,  ///< draft/account-registration
  kCapChathistory = 1u << 24,     ///< draft/chathistory (offered only with a history store)
  kCapEventPlayback = 1u << 25,   ///< draft/event-playback (the same): events in CHATHISTORY replies
};

/// IRCv3 message-tags: a client's tag data (without '@' and the space) may be at most this long.
inline constexpr std::size_t kMaxClientTagData = 4094;
/// IRCv3 labeled-response: a label is at most this long (longer ones are not echoed).
inline constexpr std::size_t kMaxLabelBytes = 64;
/// IRCv3 setname: SETNAME refuses a longer real name (FAIL SETNAME INVALID_REALNAME).
inline constexpr std::size_t kMaxRealname = 128;

struct Channel;
struct Client;
struct CommandSpec;

/// A password check (PASS at registration or OPER) in flight, then its verdict while the
/// failure throttle holds it back. Shared with the checker's worker thread, which only writes
/// `result`. While a client has one, its input is held (read but not parsed) until the verdict.
struct AuthCheck {
  enum class Kind { server_password, oper, sasl, register_account, scram_lookup, nick_owner, history, nick_claim, chan_join } kind = Kind::server_password;
  bool counts = true;              ///< false: unknown operator name or host: fails regardless
  std::atomic<int> result{-1};     ///< -1 running, 0 no match, 1 match
  std::optional<TimePoint> release;  ///< the verdict goes out at this time (throttle)
  bool ok = false;                 ///< the verdict, once `release` is set
  /// sasl / register_account: the account name (success) or the failure's code, written by the
  /// worker before `result`.
  std::string out;
  /// history (a CHATHISTORY read on the store's reader thread): sends the reply once the result
  /// is in (finish_check), with the command's labeled-response `label` ("" = none).
  std::function<void(Client&)> then;
  std::string label;
  /// chan_join: the folded channel whose JOIN script is in flight (the resync's prune keeps it).
  std::string join_chan;
};

/// A SASL SCRAM-SHA-256 exchange in progress (commands_accounts.cpp): after the client-first
/// message, the credentials looked up (or fake ones for an unknown name), the server-first sent,
/// and once the proof matched, the server-final waiting for the client's empty response.
struct ScramExchange {
  ScramClientFirst first;
  std::string nonce;         ///< the client's and the server's
  std::string server_first;
  ScramCredentials cred;
  bool known = false;        ///< the account exists and has SCRAM credentials
  std::string account;       ///< its name as registered
  bool proved = false;       ///< server-final sent: the next "+" logs in
};

/// A client's fakelag queue, allocated on its first delayed line and freed once it empties:
/// libstdc++'s std::deque allocates its map and a first node (~600 bytes) when constructed, and
/// most clients never have a line delayed (issue #21: RSS per client).
class DelayedLines {
 public:
  bool empty() const noexcept { return q_ == nullptr || q_->empty(); }
  std::size_t size() const noexcept { return q_ == nullptr ? 0 : q_->size(); }
  void push_back(Message m) {
    if (q_ == nullptr) q_ = std::make_unique<std::deque<Message>>();
    q_->push_back(std::move(m));
  }
  Message& front() { return q_->front(); }
  void pop_front() {
    q_->pop_front();
    if (q_->empty()) q_.reset();
  }
  void clear() noexcept { q_.reset(); }

 private:
  std::unique_ptr<std::deque<Message>> q_;
};

struct Client {
  // Hot: read for every line delivered to this client (ServerImpl::send); kept in one cache line.
  ClientId id = 0;
  serve::Peer* peer = nullptr;  ///< null once the connection is gone
  unsigned caps = 0;
  /// At least peer->queued_bytes(): the last value read plus every byte sent since. Output only
  /// drains, so send() asks the Peer (a virtual call into the model) only once this passes SendQ.
  std::size_t queued_bound = 0;
  bool dead = false;    ///< unlinked from every table; erased when the entry point ends
  bool doomed = false;  ///< to be quit (SendQ, connection lost) when the entry point ends
  bool hard_close = false;
  bool refuse_close = false;  ///< refused (limits, garbage): one write attempt and close, no linger
  bool registered = false;
  bool invisible = false;
  bool counted = false;  ///< in ServerImpl::registered_now_ (registered, not yet quit)
  /// ServerImpl::add_members(): the walk that last listed this client (each is listed once).
  std::uint64_t walk_mark = 0;
  // Cold.
  std::string nick;             ///< empty until NICK
  std::string user;             ///< "~name" after USER
  std::string host;             ///< numeric address (no DNS)
  std::string ip;               ///< key of the per-IP table
  std::string realname;
  std::string pass;
  bool got_user = false;
  bool cap_negotiating = false;
  unsigned cap_version = 0;  ///< 302 after CAP LS 302
  bool oper = false;
  bool wallops = false;
  bool bot = false;  ///< user mode +B (ISUPPORT BOT=B)
  bool security_known = false;  ///< tls and certfp asked of the application (first bytes in)
  bool tls = false;             ///< user mode +Z: connected through a TLS listener
  std::string certfp;           ///< its client certificate's SHA-256 (276 RPL_WHOISCERTFP), "" = none
  bool per_ip_counted = false;
  std::string away;
  std::vector<Channel*> channels;  ///< in join order
  TimePoint connected{};
  TimePoint last_seen{};           ///< any byte received
  TimePoint last_message{};        ///< last PRIVMSG/NOTICE (WHOIS idle)
  std::optional<TimePoint> ping_sent;
  SysTime signon{};
  std::string inbuf;               ///< bytes after the last line end
  DelayedLines delayed;            ///< fakelag queue
  double tokens = 0;
  TimePoint refill{};
  std::size_t unregistered_lines = 0;
  std::string quit_reason;
  std::shared_ptr<AuthCheck> check;  ///< a password check pending: input is held (auth.cpp)
  std::string claimed;  ///< in a cluster: the folded nick this client holds network-wide ("" = none)
  std::string oper_name;             ///< the configured operator the pending OPER names, if any
  unsigned auth_failures = 0;
  std::map<std::string, std::string> monitoring;  ///< MONITOR list: folded nick -> nick as given
  std::string account;     ///< logged in to this account (SASL, REGISTER); "" = none
  std::string sasl_mech;   ///< an AUTHENTICATE exchange in progress ("PLAIN", "EXTERNAL"); "" = none
  std::string sasl_buf;    ///< its base64 chunks so far
  std::unique_ptr<ScramExchange> scram;  ///< SCRAM-SHA-256's state between AUTHENTICATE steps
  std::optional<TimePoint> nick_deadline;  ///< nick ownership: renamed to a guest nick then
  unsigned registrations = 0;  ///< REGISTER successes of this connection

  std::string display_nick() const { return nick.empty() ? std::string("*") : nick; }
  std::string mask() const { return nick + "!" + user + "@" + host; }
};

struct Member {
  Client* client = nullptr;
  bool op = false;
  bool voice = false;
};

struct Ban {
  std::string mask;
  std::string setter;
  std::int64_t when = 0;
};

/// A channel's members sorted by client id (connection order): a flat vector, so a broadcast walks
/// contiguous memory instead of chasing tree nodes. Insert and erase are O(n) moves of 24-byte
/// entries (cheap next to what a JOIN or PART sends). Pointers from find() and iterators are
/// valid until the next emplace() or erase().
class MemberList {
 public:
  using value_type = std::pair<ClientId, Member>;
  using iterator = std::vector<value_type>::iterator;
  using const_iterator = std::vector<value_type>::const_iterator;

  Member* find(ClientId id) {
    auto it = lower(id);
    return it != v_.end() && it->first == id ? &it->second : nullptr;
  }
  const Member* find(ClientId id) const { return const_cast<MemberList*>(this)->find(id); }
  std::size_t count(ClientId id) const { return find(id) ? 1 : 0; }
  /// Adds `m` unless `id` is a member already; returns whether it was added.
  bool emplace(ClientId id, Member m) {
    auto it = lower(id);
    if (it != v_.end() && it->first == id) return false;
    v_.insert(it, value_type(id, m));
    return true;
  }
  std::size_t erase(ClientId id) {
    auto it = lower(id);
    if (it == v_.end() || it->first != id) return 0;
    v_.erase(it);
    return 1;
  }
  std::size_t size() const noexcept { return v_.size(); }
  bool empty() const noexcept { return v_.empty(); }
  iterator begin() noexcept { return v_.begin(); }
  iterator end() noexcept { return v_.end(); }
  const_iterator begin() const noexcept { return v_.begin(); }
  const_iterator end() const noexcept { return v_.end(); }
  const value_type& operator[](std::size_t i) const { return v_[i]; }

 private:
  iterator lower(ClientId id) {
    return std::lower_bound(v_.begin(), v_.end(), id, [](const value_type& e, ClientId k) { return e.first < k; });
  }
  std::vector<value_type> v_;
};

struct Channel {
  std::string name;
  MemberList members;  ///< ordered by connection id
  std::string topic;
  std::string topic_by;
  std::int64_t topic_time = 0;
  std::int64_t created = 0;
  bool no_external = false;  // n
  bool topic_lock = false;   // t
  bool invite_only = false;  // i
  bool moderated = false;    // m
  bool secret = false;       // s
  bool no_ctcp = false;      // C (CTCP other than ACTION refused, as InspIRCd's noctcp)
  std::string key;           // k
  std::size_t limit = 0;     // l (0 = none)
  std::vector<Ban> bans;     // b
  std::vector<Ban> excepts;  // e: ban exceptions (EXCEPTS)
  std::vector<Ban> invexes;  // I: invite exceptions (INVEX)
  std::set<ClientId> invited;

  Member* find(ClientId id) { return members.find(id); }
  std::string mode_string(bool show_key) const;
  /// Whether a mask of `list` (bans, excepts or invexes) matches the client mask `m`.
  static bool listed(const std::vector<Ban>& list, const std::string& m, Casemapping cm);
  /// Banned: a ban matches `m` and no ban exception does (+b overridden by +e).
  bool banned(const std::string& m, Casemapping cm) const { return listed(bans, m, cm) && !listed(excepts, m, cm); }
};

struct WhowasEntry {
  std::string nick, user, host, realname;
  std::int64_t when = 0;
};

/// Builds one outgoing line. Nothing a client sent can break out of a field: middle parameters lose
/// spaces, CR, LF and NUL (replaced by '_') and a leading ':'; the trailing one loses CR, LF, NUL.
class Line {
 public:
  Line(std::string_view prefix, std::string_view command);
  Line& p(std::string_view middle);
  Line& t(std::string_view trailing);
  /// The wire form, body cut to 510 bytes on a UTF-8 boundary, with CR LF.
  std::string str() const;

 private:
  std::string s_;
};

/// Bytes [begin, end) of a held channel batch, sent by `skip` (which does not get its own lines
/// back). A sender that has quit since is never matched: leaving or joining a channel sends held
/// lines first, so no new member can be at its address meanwhile.
struct BatchRun {
  std::size_t begin = 0;
  std::size_t end = 0;
  const Client* skip = nullptr;
  std::size_t lines = 0;  // in begin..end (for ServerStats::deliveries)
  /// IRCv3 account-tag: 1 + the index in the batch's accounts of the account of the run's sender
  /// (its lines get "@account=NAME" for receivers that asked); 0: the sender is not logged in.
  std::uint32_t account = 0;
};

class ServerImpl {
 public:
  ServerImpl(Config config, WallClock wall);

  // Entry points (server.hpp).
  std::optional<ClientId> connect(serve::Peer& peer, TimePoint now);
  void receive(ClientId id, std::string_view data, TimePoint now);
  void eof(ClientId id, TimePoint now);
  void tick(ClientId id, TimePoint now);
  std::optional<TimePoint> next_deadline(ClientId id) const;
  void disconnected(ClientId id, std::string_view reason);
  void reload(Config config);
  void shutdown(std::string_view reason);
  void shutdown_client(ClientId id, std::string_view reason);
  ServerStats stats() const;
  std::string check_invariants() const;

  Config cfg_;

  // ---- used by the handlers -----------------------------------------------------------------
  /// Queues one line (CR LF included) for `c`, with a server-time tag if `c` asked for them, then
  /// enforces the SendQ. A no-op for a client that is gone.
  void send(Client& c, const std::string& wire);
  /// send() for a broadcast: `tagged` (empty at first) caches the tagged line for the next receiver.
  void deliver(Client& c, std::string_view wire, std::string* tagged);
  void send(Client& c, const Line& l) { send(c, l.str()); }
  /// A numeric to `c`: ":server 001 nick ..." (sockit/irc/numerics.hpp names them).
  Line rpl(const Client& c, Numeric code) const;
  Line from_server(std::string_view command) const { return Line(cfg_.server_name, command); }
  Line from(const Client& c, std::string_view command) const { return Line(c.mask(), command); }
  /// Sends to every member of `ch` except `skip` (may be null). `wire` may hold several lines; it
  /// is serialized once and every member's queue refers to the same bytes (Peer::send_shared).
  /// `msgid` (IRCv3 message-ids; "" = none): members with message-tags get it as a tag.
  /// `account` (IRCv3 account-tag; "" = the sender is not logged in): members with account-tag
  /// get it as an account tag. Each form (tags a receiver's caps ask for) is serialized once.
  void to_channel(Channel& ch, std::string wire, const Client* skip, std::string_view msgid = {},
                  std::string_view account = {});
  /// to_channel() held back and merged with the next lines for the same channel (from one sender
  /// or several): the lines are serialized into one buffer and each member gets a reference to
  /// the parts it should see (all of it, unless it sent some of them) instead of a copy per line.
  /// Any other output, any membership change and the end of the entry point (or, with
  /// hold_broadcasts_, Server::flush_broadcasts) send the held lines first, so every client sees
  /// the same bytes in the same order.
  void to_channel_batched(Channel& ch, std::string_view wire, const Client* skip, std::string_view msgid = {},
                          std::string_view account = {});
  /// IRCv3 message-ids: a new msgid, unique across restarts (a random prefix per process and a
  /// counter): generated once per message, not per receiver.
  std::string new_msgid();
  /// The history store (Server::set_history); null: no history, no draft/chathistory.
  store::History* history_ = nullptr;
  /// The cluster (Server::set_cluster); null: a single server.
  ClusterLink* cluster_ = nullptr;
  /// cluster_relay.cpp (docs/CLUSTER.md, "Events between nodes"). A user on another node, as its
  /// registration (HAVE without a channel), JOIN and HAVE events said (the replica: nick, mask,
  /// node, account, real name, folded channels).
  struct RemoteUser {
    std::string nick, mask, node, account, realname;
    std::uint64_t id = 0;  ///< its connection id on its node (the SENDER of its HAVE/JOIN)
    std::vector<std::string> channels;
    std::vector<std::string> ops, voices;  ///< the folded channels where it has +o, +v
    std::string away;                      ///< its AWAY text ("" = here), from AWAY events
    bool oper = false;                     ///< an IRC operator, from OPER events
    bool invisible = false, bot = false;   ///< +i, +B, from its JOIN/HAVE and UMODE events
    std::int64_t signon = 0;               ///< unix seconds, from its HAVE (0: not said)
    std::int64_t last_message = 0;         ///< unix seconds of its last PRIVMSG seen here (0: none)
  };
  std::unordered_map<std::string, RemoteUser> remote_users_;                  ///< by folded nick
  std::unordered_map<std::string, std::vector<std::string>> remote_members_;  ///< folded channel -> folded nicks
  /// The directory of channels with members on other nodes (docs/CLUSTER.md, "LIST across
  /// nodes"): what LIST shows of a channel this node has no copy of. One entry per key of
  /// remote_members_, kept from JOIN/HAVE (name, +s), TOPIC, MODE and the SYNC answers' CHAN,
  /// dropped with the channel's last remote member.
  struct RemoteChannel {
    std::string name, topic;
    std::int64_t created = 0, topic_time = 0;  ///< unix seconds
    bool secret = false;
  };
  std::unordered_map<std::string, RemoteChannel> remote_channels_;  ///< by folded channel
  /// Publishes a CHAN event for local channel `ch` (a SYNC answer): its name, +s, times and topic.
  void cluster_publish_channel(const Channel& ch);
  /// Applies another node's CHAN event to remote_channels_ (a channel it has members in).
  void apply_channel_entry(const ClusterEvent& e);
  /// The directory entry of channel `name` (null: no member on another node).
  RemoteChannel* remote_channel(std::string_view name);
  /// The members of folded channel `folded` on other nodes, as the replica knows them.
  std::size_t remote_member_count(const std::string& folded) const;
  /// Local channel `ch` loses its last local member: its directory entry (if it has remote
  /// members) takes this node's view of its name, +s, times and topic.
  void keep_in_directory(const Channel& ch);
  /// Publishes a JOIN (rest: the real name), PART or QUIT (rest: the line) of local user `c`.
  void cluster_publish(ClusterEvent::Kind kind, const Client& c, std::string_view target, std::string rest,
                       const Member* m = nullptr);
  /// Publishes local user `c` to the other nodes' replicas: HAVE without a channel (its signon
  /// time), then AWAY and OPER when it is away or an operator (registration, SYNC answers).
  void cluster_publish_user(const Client& c);
  /// Publishes `c`'s away state (AWAY, REST the away-notify line) or operator state (OPER).
  void cluster_publish_state(const Client& c, ClusterEvent::Kind kind);
  /// The members of `ch` on every node: the local ones plus the replica's remote ones.
  std::size_t member_count(const Channel& ch) const;
  /// The remote member `nick` of the channel `folded_chan` (null: none, or not in it).
  RemoteUser* remote_member(std::string_view nick, const std::string& folded_chan);
  /// Sets (or clears) a remote member's +o or +v in the replica.
  static void set_remote_prefix(RemoteUser& u, const std::string& folded_chan, char letter, bool on);
  /// In a cluster sharing channels: `changes` to `ch`'s shared state, and the event of `kind`
  /// (caused by `c`, about `target`, the line `line`) published in the same atomic step.
  void share_channel(const Channel& ch, std::vector<ClusterChannelChange> changes, ClusterEvent::Kind kind, const Client& c,
                     std::string_view target, std::string_view mask, const std::string& line);
  bool shares_channels() const { return cluster_ != nullptr && cluster_->shares_channels(); }
  /// MODE, TOPIC, KICK in a relaying cluster sharing channels (docs/CLUSTER.md, "Channels"): the
  /// script checks `c`'s rank in Redis (`need`: 'o' operator; 't' operator if +t), applies
  /// `changes` and publishes the event (applied here too when it comes back); refused: 482 to `c`
  /// (cluster_refused). Returns false when not in such a cluster: the caller applies it itself.
  bool decide_in_cluster(const Channel& ch, char need, std::vector<ClusterChannelChange> changes, ClusterEvent::Kind kind,
                         const Client& c, std::string_view target, std::string_view mask, const std::string& line);
  /// The script's verdict on a command of client `id` (an entry point, server.cpp): recorded in
  /// the history when applied (an INVITE: 341 to `id`), 482 for `chan` when refused.
  void cluster_decided(ClientId id, const std::string& chan, const std::string& line, bool ok, ClusterEvent::Kind kind);
  /// The resync's answer for local channel `folded_chan` (an entry point, server.cpp): its shared
  /// state as Redis holds it, adopted by adopt_cluster_state.
  void cluster_resynced(const std::string& folded_chan, const ClusterChannelState& st);
  /// Makes this node's copy of `ch` what Redis holds (modes, key, limit, lists, topic: what changed
  /// while this node was cut off) and shows the differences to its local members as a MODE and a
  /// TOPIC from the server, as a server shows a netjoin's.
  void adopt_cluster_state(Channel& ch, const ClusterChannelState& st);
  std::shared_ptr<char> decide_alive_ = std::make_shared<char>(0);  ///< expires with the server
  /// LUSERS 266's maximum of the whole network (sockit:maxusers, as last read; 0: not known).
  std::uint64_t cluster_max_users_ = 0;
  /// In a cluster: the network's maximum raised to this node's count of every node's users (at a
  /// local registration, and when a remote user is first known), read back into cluster_max_users_.
  void note_global_users();
  /// A MODE line from another node, or a decided one of this node back from Redis
  /// (commands_modes.cpp): applied to the local copy `ch` (may be null) and to the replica's
  /// prefixes of remote members; `record`: the prefixes of local members are written to Redis
  /// from here (a decided MODE's script wrote them already).
  void apply_remote_modes(Channel* ch, const std::string& folded_chan, const Message& m, const std::string& setter,
                          bool record);
  /// In a relaying cluster: publishes a channel message (delivered here when it comes back) and
  /// returns true; otherwise false (deliver locally now).
  /// `status` ('@' or '+', STATUSMSG): to the members of that rank only (the target is "@#chan").
  bool relay_channel_message(const Client& c, const Channel& ch, const std::string& wire, std::string_view tags,
                             bool tagmsg, const std::string& msgid, char status = 0);
  /// In a relaying cluster, an operator's `$mask` message: publishes it (every other node whose
  /// server name the mask matches delivers it to its users) and returns true.
  bool relay_server_mask(const Client& c, std::string_view target, const std::string& wire, std::string_view tags,
                         bool tagmsg, const std::string& msgid);
  /// The local users a `$mask` message reaches: every registered one ($*) or none when `mask` does
  /// not match this server's name; `skip` (the sender) only with echo-message.
  std::vector<Client*> server_mask_receivers(std::string_view mask, const Client* skip);
  /// In a relaying cluster, to a nick held on another node: publishes it and returns true.
  bool relay_private_message(const Client& c, std::string_view nick, const std::string& wire, std::string_view tags,
                             bool tagmsg, const std::string& msgid);
  /// The nick as sent by its node, when another node holds it; null otherwise.
  const std::string* remote_nick(std::string_view nick) const;
  /// The replica's record of a nick held on another node; null otherwise.
  const RemoteUser* remote_user(std::string_view nick) const;
  /// The IRC server name of node `node` as its last heartbeat said; the node name when unknown.
  std::string node_server_name(const std::string& node) const;
  /// NAMES entries of the remote members of `ch` (nick, or nick!user@host with userhost-in-names).
  std::vector<std::string> remote_names(const Channel& ch, bool uhnames, bool multi) const;
  /// Drops remote user `folded_nick` from `folded_chan` in the replica; false: it was not a member there.
  bool forget_remote_member(const std::string& folded_nick, const std::string& folded_chan);
  /// Server::deliver_from_cluster (an entry point: server.cpp) runs apply_cluster_event.
  void deliver_from_cluster(const ClusterEvent& e);
  /// Degraded mode (Server::cluster_relaying, Server::cluster_nick_lost: entry points).
  bool cluster_degraded_ = false;
  std::set<ClientId> degraded_told_;  ///< senders told their channel lines are queued (this degraded period)
  void cluster_relaying(bool relaying);
  void cluster_nick_lost(ClientId id, const std::string& folded);
  /// Server::cluster_lines_missing (an entry point): one server NOTICE per channel with local members.
  void cluster_lines_missing();
  /// cluster_relay.cpp: the NOTICE to every local user on a change; a lost nick for a guest nick.
  void notify_cluster_state(bool relaying);
  /// cluster_relay.cpp: the replay after a subscription outage did not cover it: a NOTICE to each channel.
  void notify_lines_missing();
  void give_up_nick(ClientId id, const std::string& folded);
  void apply_cluster_event(const ClusterEvent& e);
  /// AWAY and OPER events: the replica's away text (away-notify to the local members who share a
  /// channel with the user, when it changed) and operator flag.
  void apply_user_state(const ClusterEvent& e);
  /// +i and +B of remote user `u` as event `e` (JOIN, HAVE, UMODE) carries them.
  void apply_user_modes(RemoteUser& u, const ClusterEvent& e);
  /// A remote user's PRIVMSG seen here (MSG or PRIV event): its idle time starts again.
  void note_remote_message(const ClusterEvent& e);
  /// MODE, TOPIC, KICK and INVITE events (docs/CLUSTER.md, "Channels"): applied to the local copy.
  void apply_channel_event(const ClusterEvent& e);
  std::uint64_t history_batches_ = 0;  ///< chathistory batch references handed out
  /// Hands a relayed PRIVMSG/NOTICE to the history store (a no-op without one): `key` is the
  /// store's target key (history_key), `target` the target as sent.
  void record(const Client& from, std::string_view cmd, std::string_view key, std::string_view target,
              std::string_view text, std::string_view client_tags, const std::string& msgid, SysTime when);
  /// draft/event-playback: keeps `wire` (a JOIN, PART, QUIT, KICK, TOPIC or MODE line from `from`,
  /// CR LF included) in `ch`'s history with a new msgid; replayed only to clients with the cap.
  void record_event(const Client& from, const Channel& ch, std::string_view wire);
  /// The history key of a channel (its folded name) or of a private conversation between two
  /// nicks (both folded, sorted, joined by a space).
  std::string history_key_channel(std::string_view name) const;
  /// Both logged in: "@account1 @account2" (a nick change, or someone else taking the nick, changes
  /// nothing); otherwise the two nicks (guests stay keyed by nick).
  std::string history_key_private(const Client& a, const Client& b) const;
  /// `c`'s conversation with `target`: the client of that nick if there is one, else (c logged in)
  /// the account of that name, else the nick.
  std::string history_key_private(const Client& c, std::string_view target);
  /// What `c` is in private keys: its folded nick, and "@account" when logged in.
  std::vector<std::string> history_selves(const Client& c) const;
  /// Sends the lines held by to_channel_batched() now: one pass over the channel's members.
  void flush_batch();
  void set_hold_broadcasts(bool on);
  void flush_broadcasts();
  /// A held batch is sent once it reaches this size, even before the turn ends.
  static constexpr std::size_t kMaxBatch = 64 * 1024;
  /// IRCv3: one line (`wire`, one CR LF) for many receivers, each sent the form its caps ask for:
  /// a server-time tag, and the sender's client-only tags (`client_tags`, "+a=b;+c" escaped; empty:
  /// none) to receivers with message-tags. Each form is serialized once per fan-out, on first use,
  /// and every receiver's queue refers to the same bytes (ircv3.cpp).
  class Fanout {
   public:
    /// `client_tags` may start with "msgid=..." (message-ids: the same tags go to message-tags receivers).
    /// `account` (IRCv3 account-tag; "" = the sender is not logged in): receivers with account-tag
    /// get it as an account tag.
    Fanout(ServerImpl& s, std::string wire, std::string_view client_tags, unsigned need_caps = 0,
           std::string_view account = {})
        : s_(s), wire_(std::move(wire)), client_tags_(client_tags), need_(need_caps),
          account_tag_(account.empty() ? std::string() : "account=" + escape_tag_value(account)) {}
    /// Sends the form `c` asks for; nothing when `c` lacks one of the needed caps (TAGMSG).
    void to(Client& c);
    /// The server-time tag says `t`, not now (a line said while its node was degraded).
    void said_at(SysTime t) { said_at_ = t; }

   private:
    ServerImpl& s_;
    std::optional<SysTime> said_at_;
    std::string wire_;
    std::string_view client_tags_;  ///< outlives the fan-out (the caller's)
    unsigned need_;
    std::string account_tag_;  ///< "account=NAME" or ""
    std::shared_ptr<const std::string> forms_[8];  // [server-time | tags << 1 | account << 2]
  };
  /// Queues `bytes` (whole lines) for `c` as they are, a reference to `*shared` when given; counts
  /// the delivery and enforces the SendQ. The replies of a labeled command are held (ircv3.cpp).
  void put(Client& c, std::string_view bytes, const std::shared_ptr<const std::string>* shared = nullptr);
  /// labeled-response: the replies `c` gets until end_label() are held, then sent with `m`'s label
  /// (one line), in a labeled-response batch (several) or as a labeled ACK (none). A no-op unless
  /// `c` negotiated labeled-response and batch, is registered and `m` has a label.
  void begin_label(Client& c, const Message& m);
  void end_label();
  /// What CAP LS offers `c` ("name" or "name=value" tokens; sts only to CAP LS 302 clients).
  std::string cap_ls(const Client& c) const;
  /// The caps this server offers now (the account caps need an account store; registration needs
  /// Config::account_registration).
  unsigned offered_caps() const;
  /// IRCv3 cap-notify: CAP DEL / CAP NEW to `c` for what differs between `before` (an earlier
  /// cap_ls(c)) and cap_ls(c) now (a REHASH that adds or drops the TLS listener changes sts).
  void notify_cap_changes(Client& c, const std::string& before);
  /// Sends once to `c` and to everyone sharing a channel with `c`.
  /// Only to those with every cap of `need_caps` (away-notify, setname...) when given.
  void to_neighbours(Client& c, const std::string& wire, bool include_self, unsigned need_caps = 0);
  /// Every member of `chans` (channels, or nullptr for one not here) with every cap of `need`,
  /// each once, in order of appearance, appended to `out`, skipping clients already marked by
  /// this walk (mark one with the walk start_walk() returned to leave it out). A stamp per
  /// client instead of a hash set per line.
  std::uint64_t start_walk() { return ++walk_; }
  template <typename Channels>
  void add_members(std::uint64_t walk, const Channels& chans, std::vector<Client*>& out, unsigned need = 0) {
    for (Channel* ch : chans) {
      if (ch == nullptr) continue;
      for (auto& entry : ch->members) {
        Client* m = entry.second.client;
        if (m->walk_mark == walk) continue;
        m->walk_mark = walk;
        if ((m->caps & need) == need) out.push_back(m);
      }
    }
  }
  /// A recipient list whose storage is reused from line to line (taken, so a fan-out nested in
  /// another one gets a list of its own).
  std::vector<Client*> take_scratch() {
    std::vector<Client*> v = std::move(scratch_);
    scratch_ = {};
    v.clear();
    return v;
  }
  void give_scratch(std::vector<Client*>&& v) {
    if (v.capacity() > scratch_.capacity()) scratch_ = std::move(v);
  }
  std::uint64_t walk_ = 0;
  std::vector<Client*> scratch_;
  /// Ends a client now: ERROR line (when send_error), QUIT to neighbours, unlinks it from every
  /// table. The Peer is closed at the end of the current entry point. Handlers call it only where
  /// no channel or member list is being iterated. `peer_left`: the client closed its end (EOF);
  /// its ERROR then goes without first sending it the channel lines held this turn.
  void quit(Client& c, std::string_view reason, bool send_error = true, bool peer_left = false);
  /// Marks a client to be quit with `reason` when the current entry point ends (safe anywhere,
  /// e.g. inside a send loop); nothing more is sent to it.
  void doom(Client& c, std::string_view reason);
  bool gone(const Client& c) const { return c.dead || c.doomed; }

  Client* find_nick(std::string_view nick);
  Channel* find_channel(std::string_view name);
  SysTime wall_now() const { return wall_(); }
  std::int64_t unix_now() const;
  bool is_visible_to(const Client& target, const Client& viewer) const;
  bool shares_channel(const Client& a, const Client& b) const;

  void try_register(Client& c, TimePoint now);
  void send_welcome(Client& c);
  void send_isupport(Client& c);
  void send_lusers(Client& c);
  void send_motd(Client& c);
  void send_names(Client& c, Channel& ch, bool end);
  void join_channel(Client& c, std::string_view name, std::string_view key);
  /// A channel name `c` may try to join (valid, not a member, under the channel limit); else the error.
  bool may_try_join(Client& c, std::string_view name);
  /// Adds `c` to `ch` (as operator if `op`): the JOIN to the members and the cluster, topic, names.
  void join_as(Client& c, Channel& ch, bool op);
  /// In a cluster sharing channels: the JOINs of list[i..] one after the other, each asking
  /// ClusterLink::join_channel (c's input held until its verdict; finish_cluster_join).
  using JoinList = std::vector<std::pair<std::string, std::string>>;  ///< channel, key
  void cluster_join(Client& c, std::shared_ptr<JoinList> list, std::size_t i, TimePoint now);
  void finish_cluster_join(Client& c, const std::string& name, ClusterLink::JoinVerdict v, const ClusterChannelState& st);
  void remove_member(Channel& ch, Client& c);  ///< deletes the channel when it empties
  void rename(Client& c, std::string_view new_nick);
  void remember_whowas(const Client& c);
  void dispatch(Client& c, Message& m, TimePoint now);
  /// Same, with the command already looked up (null: not in the table).
  void dispatch(Client& c, Message& m, TimePoint now, const CommandSpec* spec);
  /// Quits `c` as a refusal (limits, garbage): its ERROR line gets one write attempt and the
  /// connection closes at once (Peer::close_refused), never lingering.
  void refuse(Client& c, std::string_view reason);

  // ---- password checks (auth.cpp) ----------------------------------------------------------
  /// Checks `password` against `encoded` off the loop thread (PasswordChecker) or inline when
  /// there is none; `counts` false makes it fail whatever the result (unknown operator: the same
  /// work and the same reply as a wrong password). `c`'s input is held until finish_check().
  void start_check(Client& c, AuthCheck::Kind kind, std::string password, std::string encoded, bool counts,
                   TimePoint now);
  /// A verdict arrived (wake) or its throttle time passed (tick): sends it when due.
  void poll_check(Client& c, TimePoint now);
  /// Entry point: the checker's worker woke the connection (Server::wake).
  void wake(ClientId id, TimePoint now);
  void set_password_checker(PasswordChecker* checker) { checker_ = checker; }
  /// Runs `work` on the password checker's thread (inline without one): it returns 1 or 0 and may
  /// fill `out`; c's input is held until the verdict, which finish_check() handles by `kind`.
  /// A 0 from a sasl check is throttled like a wrong password (fail_delay).
  void start_task(Client& c, AuthCheck::Kind kind, std::function<int(std::string& out)> work, TimePoint now);
  /// In a cluster: claims `nick` network-wide (ClusterLink::claim_nick); c's input is held until
  /// the verdict, which finish_claim() turns into the registration's next step or the rename
  /// (ok), 433 (taken) or 437 (unavailable: Redis away, the network is degraded).
  void start_claim(Client& c, const std::string& nick, TimePoint now);
  void finish_claim(Client& c, AuthCheck& ch, TimePoint now);
  /// A CHATHISTORY read (chathistory.cpp): `submit` starts it with a function to call once its
  /// result is stored (on any thread); `reply` sends the result from the loop. c's input is held
  /// meanwhile, so its later commands are answered after the reply; without a Peer::waker the
  /// loop waits for the result.
  void start_history(Client& c, std::function<void(std::function<void()> ready)> submit,
                     std::function<void(Client&)> reply, TimePoint now);
  /// The reply of a history check whose result is in (finish_check).
  void finish_history(Client& c, AuthCheck& ch);
  /// Accounts (commands_accounts.cpp): null without a store (Server::set_account_store).
  store::AccountStore* accounts_ = nullptr;
  /// The verdict of a sasl or register_account task.
  void finish_account_task(Client& c, AuthCheck& ch);
  /// Logs `c` in to `account`: 900, and ACCOUNT to neighbours with account-notify.
  void log_in(Client& c, const std::string& account);
  /// Nick ownership (Config::enforce_nicks): after a registered client takes a nick, asks the store
  /// (on the checker's thread) whether an account owns it; finish_check then warns and sets
  /// c.nick_deadline, and tick() renames the client to a guest nick when it passes.
  void check_nick_owner(Client& c, TimePoint now);
  /// Renames `c` to a free GuestNNNNN nick (free here and in the cluster's replica) with a NOTICE
  /// "<why>: you are now GuestNNNNN"; in a cluster the guest nick is then claimed.
  void rename_to_guest(Client& c, std::string_view why, TimePoint now);
  /// Ends an AUTHENTICATE exchange in progress with 906 (CAP END, a second mechanism...).
  void abort_sasl(Client& c);
  /// REGISTER successes per address in the current window (spam limit).
  struct RegisterCount {
    std::size_t count = 0;
    TimePoint since{};
  };
  std::unordered_map<std::string, RegisterCount> register_counts_;
  void set_event_log(EventLog log) { event_log_ = std::move(log); }
  void event(Event::Kind kind, const Client& c, std::string_view detail = {}) {
    if (event_log_) event_log_(Event{kind, c.id, c.nick, c.ip, detail, c.registered});
  }
  /// Registration once NICK/USER/CAP END and the server password (if any) are done.
  void complete_registration(Client& c, TimePoint now);

  std::unordered_map<ClientId, std::unique_ptr<Client>> clients_;
  std::unordered_map<std::string, Client*> nicks_;              ///< folded nick -> client
  std::map<std::string, std::unique_ptr<Channel>> channels_;    ///< folded name -> channel
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::deque<WhowasEntry> whowas_;
  /// MONITOR's reverse index: folded nick -> the clients watching it (commands_monitor.cpp), so
  /// a registration, nick change or quit costs O(watchers of that nick), not O(clients).
  std::unordered_map<std::string, std::vector<Client*>> watchers_;
  /// MONITOR: tells the watchers of `c.nick` that it came online (730) or went offline (731).
  void monitor_notify(const Client& c, bool online);
  /// MONITOR: drops every entry of `c`'s list from the reverse index (QUIT, MONITOR C).
  void monitor_clear(Client& c);
  ServerStats counters_;
  /// LUSERS' counts, kept as they change: stats() used to walk every client, and LUSERS is part of
  /// every welcome, so a registration storm paid O(n) per registration. registered_now_ counts the
  /// clients with `counted` set (registered, not yet quit); the other two those of them with +i / +o.
  std::size_t registered_now_ = 0;
  std::size_t invisible_now_ = 0;
  std::size_t opers_now_ = 0;
  /// Puts `c` into the counts above or takes it out (its +i and +o with it); a no-op when it is
  /// already in (out).
  void count_registered(Client& c, bool on);
  /// Sets a user mode flag of `c` (+i, +o, +w, +B) and keeps the counts above.
  void set_user_flag(Client& c, bool Client::*flag, bool on);
  SysTime created_;
  /// STATS m: lines received per command of the table (indexed as all_commands(), which is
  /// sorted by name), and their bytes. An index, not a map: it is counted for every line.
  struct CommandUsage {
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
  };
  std::vector<CommandUsage> command_usage_;
  AdminHooks admin_;  ///< REHASH, DIE, RESTART (Server::set_admin_hooks)
  SecurityLookup security_;  ///< TLS or not, and the client certificate (Server::set_security_lookup)
  /// The IRCv3 sts capability's value for `c` ("port=6697,duration=86400" on plaintext,
  /// "duration=86400" on TLS); "" when no TLS listener is configured.
  std::string sts_value(const Client& c) const;
  /// OPER succeeded (a password verdict or a client certificate): 381, MODE +o, the event.
  void grant_oper(Client& c);

 private:
  struct Op;  // entry-point guard: reaps dead clients when the outermost call returns
  /// Parses and runs the complete lines in c.inbuf from `scan` on, until none is left or a
  /// password check holds the rest; enforces the RecvQ on what remains.
  void process_input(Client& c, std::size_t scan, TimePoint now);
  void finish_check(Client& c, TimePoint now);
  /// The delay before a failure's reply: grows with the failures of `c` and of its address.
  std::chrono::milliseconds fail_delay(Client& c, TimePoint now);
  void on_line(Client& c, std::string_view raw, TimePoint now);
  void run_delayed(Client& c, TimePoint now);
  void refill(Client& c, TimePoint now);
  bool flood_limited(const Client& c) const;
  /// `wire` (one or more lines) with a server-time tag in front of each line.
  std::string with_time_tag(std::string_view wire) const;
  /// The same for a batch: `tagged_runs` gets the runs' ranges in the tagged bytes.
  std::string with_time_tag(std::string_view wires, const std::vector<BatchRun>& runs,
                            std::vector<BatchRun>& tagged_runs) const;
  /// A batch with each run's account tag (BatchRun::account, from `accounts`) in front of its lines.
  static std::string with_account_tags(std::string_view wires, const std::vector<BatchRun>& runs,
                                       const std::vector<std::string>& accounts, std::vector<BatchRun>& tagged_runs);
  /// deliver() without sending held lines first (to_channel has done that).
  void deliver_now(Client& c, std::string_view wire, std::string* tagged);
  /// After `bytes` more were queued for `c`: enforces the SendQ (an upper bound first, the
  /// model's exact count only when the bound passes the limit).
  void charge_sendq(Client& c, std::size_t bytes);
  void reap();

  WallClock wall_;
  ClientId next_id_ = 1;
  int depth_ = 0;
  bool reaping_ = false;
  bool shutting_down_ = false;
  std::vector<ClientId> dead_;
  std::vector<ClientId> doomed_;
  struct Batch {
    Channel* ch = nullptr;       ///< null: nothing held
    std::string wires;           ///< the held lines, serialized once
    std::vector<BatchRun> runs;  ///< consecutive ranges of `wires`, each from one sender
    /// The same lines with their msgid tags (message-tags members), when one has a msgid.
    std::string mwires;
    std::vector<BatchRun> mruns;
    bool has_msgid = false;
    /// The held lines' senders' accounts (BatchRun::account), as logged in (not escaped).
    std::vector<std::string> accounts;
  };
  Batch batch_;
  struct LabelRun {
    Client* client = nullptr;  ///< whose labeled command is running (null: none)
    std::string label;
    std::string held;          ///< its replies so far: whole lines
  };
  LabelRun label_;
  std::uint64_t batches_ = 0;  ///< batch references handed out
  std::string msgid_prefix_;   ///< new_msgid(): random per process
  std::uint64_t msgids_ = 0;
  bool hold_broadcasts_ = false;
  PasswordChecker* checker_ = nullptr;
  EventLog event_log_;
  struct AddressFailures {
    unsigned count = 0;
    TimePoint last{};
  };
  std::unordered_map<std::string, AddressFailures> auth_failures_;  ///< by address, bounded
};

/// One handler per command; `m.params` already checked against the table's min/max.
using Handler = void (*)(ServerImpl&, Client&, Message&, TimePoint);

enum class State { unregistered, registered, any };

struct CommandSpec {
  std::string_view name;
  Handler handler;
  State state;
  std::size_t min_params;
  std::size_t max_params;  ///< SIZE_MAX = unlimited
  /// HELP's text (commands_help.cpp): the parameters after the name ("<target> <text>", "" for
  /// none) and one sentence. Every command has both (IrcHelp.EveryCommandHasHelp).
  std::string_view usage = {};
  std::string_view help = {};
};

/// The command table (commands.cpp, merged from commands_<family>.cpp); nullptr for an unknown command (upper-case name).
const CommandSpec* find_command(std::string_view upper_name);

std::vector<std::string_view> split_list(std::string_view s, char sep = ',');
std::string format_time(SysTime t);        ///< "Wed Nov 25 2026 -- 13:00:00 +00:00"
std::string iso8601(SysTime t);            ///< "2026-11-25T13:00:00.000Z"

}  // namespace sockit::irc
