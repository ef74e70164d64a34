// Internal header of sockit chat: the sans-I/O IRC client core.
//
// The Client holds the whole state of one IRC connection as the user sees it: registration
// (PASS/NICK/USER, 433 -> nick_ retry), buffers (status, one per channel, one per query) with their
// scrollback, nick lists and topics, our nick, away state and lag. It never touches a socket or a
// terminal: the caller feeds it transport events (connected, a received line, disconnected), user
// input lines and clock ticks, then drains the wire lines to send (take_output) and the new
// display lines (take_events). Not thread-safe; one instance per connection target, kept across
// reconnects (it rejoins the channels it was in).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::irc {
struct Message;
}

namespace sockit::chat {

using SteadyClock = std::chrono::steady_clock;
using WallClock = std::chrono::system_clock;

inline constexpr std::size_t kMaxNickLen = 64;       ///< longest nick accepted from the user
inline constexpr std::size_t kMaxChannelLen = 200;   ///< longest channel name (RFC 2812)

struct Config {
  std::string nick;
  std::string user;       ///< USER name; the nick when empty
  std::string realname;   ///< defaults to "sockit chat"
  std::string password;   ///< PASS, sent only when non-empty
  /// IRCv3 SASL PLAIN at registration (CAP REQ sasl, AUTHENTICATE) when sasl_user is set; a
  /// failure is shown and registration goes on without an account.
  std::string sasl_user;
  std::string sasl_pass;
  std::vector<std::string> autojoin;  ///< channels joined after registration ("#a" or "#a key")
  std::string version = "sockit chat";  ///< CTCP VERSION reply
  std::chrono::milliseconds lag_interval{30'000};  ///< how often PING measures the lag
  std::chrono::milliseconds ping_timeout{180'000}; ///< unanswered lag PING -> connection dead
  std::size_t scrollback = 2000;  ///< lines kept per buffer
};

enum class LineKind {
  message,    ///< <nick> text
  action,     ///< * nick text
  notice,     ///< -nick- text
  event,      ///< joins, parts, nick changes, topics ... ("* bob has joined #chan")
  info,       ///< numerics and replies from the server
  error,      ///< errors (stderr in --plain)
};

struct Line {
  WallClock::time_point time;
  LineKind kind = LineKind::info;
  std::string nick;  ///< the speaker for message/action/notice
  std::string text;  ///< UTF-8; may hold mIRC formatting codes
  bool own = false;        ///< written by us
  bool highlight = false;  ///< mentions our nick
  bool history = false;    ///< replayed from the server's history (CHATHISTORY), `time` is its own
  std::string msgid;       ///< the IRCv3 msgid tag, when the server sent one (duplicates are dropped)
};

enum class BufferType { status, channel, query };

struct Buffer {
  std::string name;  ///< "status", "#chan" or the other nick
  BufferType type = BufferType::status;
  std::deque<Line> lines;
  std::vector<std::string> nicks;  ///< channel members, without mode prefixes
  std::string topic;
  std::string key;      ///< channel key used to join, kept for the rejoin
  bool joined = false;  ///< channel: we are in it now
  bool activity = false;   ///< new lines since last viewed
  bool highlighted = false;
};

/// One new display line, as produced since the last take_events().
struct Event {
  std::string buffer;  ///< buffer name ("status" for the status window)
  Line line;
};

enum class State { disconnected, registering, registered, quitting };

/// Exponential backoff with jitter for reconnects: attempt n waits a random time in
/// [d/2, d] where d = min(cap, base * 2^n) ("equal jitter").
class Backoff {
 public:
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, std::uint64_t seed)
      : base_(base), cap_(cap), rng_(seed) {}
  std::chrono::milliseconds next();
  void reset() noexcept { attempt_ = 0; }
  unsigned attempt() const noexcept { return attempt_; }

 private:
  std::chrono::milliseconds base_, cap_;
  std::mt19937_64 rng_;
  unsigned attempt_ = 0;
};

/// "irc://host:port", "ircs://host", "host:port", "host", "[::1]:6697" -> host and port
/// (default 6667; ircs:// is TLS, default 6697). Returns nullopt for an empty host, a bad port
/// or another URL scheme.
struct Target {
  std::string host;
  std::uint16_t port = 6667;
  std::vector<std::string> channels;  ///< from an irc://host/#chan,#other URL path
  bool tls = false;         ///< an ircs:// URL
  bool port_given = false;  ///< the text named the port (else the scheme's default)
};
inline constexpr std::uint16_t kTlsPort = 6697;  ///< IRC over TLS (ircs://, --tls)
std::optional<Target> parse_target(std::string_view text);

/// A line as text without timestamp or buffer: "<alice> hi", "* alice waves", "-alice- hi", or
/// the event text. Formatting codes are kept (strip_formatting() for --plain).
std::string render(const Line& line);

class Client {
 public:
  explicit Client(Config config);

  // ---- transport events ----
  /// The TCP connection is up: sends PASS/NICK/USER. With `tls_handshake` they wait for the
  /// TLS handshake (the link holds them) and tls_handshaking() is true until tls_established().
  void connected(SteadyClock::time_point now, bool tls_handshake = false);
  /// The TLS handshake has finished (`version`: "TLSv1.3"): registration goes on.
  void tls_established(std::string_view version);
  /// One line from the server (CR LF removed; a bare LF is fine too).
  void receive_line(std::string_view line, SteadyClock::time_point now);
  /// The connection is gone: channels are kept for the rejoin, members are cleared.
  void disconnected(std::string_view reason);
  /// Timers: the lag PING, the ping timeout. Call at least once a second.
  void tick(SteadyClock::time_point now);

  // ---- user ----
  /// One line typed by the user: a /command or text for the current buffer. Lines typed while
  /// not registered are kept and run after registration (scripts can pipe commands in at once),
  /// except /quit, /raw, /nick, /help and /win which run at once.
  void input(std::string_view line, SteadyClock::time_point now);
  /// A line from the application (connection progress, socket errors) in the status window.
  void note(LineKind kind, std::string text) { status(kind, std::move(text)); }
  /// Ends the session: QUIT with `reason` when registered (the state becomes quitting).
  void quit(std::string_view reason);

  // ---- outputs ----
  std::vector<std::string> take_output();  ///< wire lines, each with CR LF
  std::vector<Event> take_events();        ///< display lines since the last call
  /// Set when the core wants the connection dropped (ping timeout, server ERROR).
  std::optional<std::string> take_disconnect_request();

  // ---- view state ----
  State state() const noexcept { return state_; }
  /// Connected over TLS and the handshake has not finished yet (the status line says so).
  bool tls_handshaking() const noexcept { return tls_handshaking_; }
  bool quit_requested() const noexcept { return quit_requested_; }
  const std::string& nick() const noexcept { return nick_; }
  const std::string& server_name() const noexcept { return server_name_; }
  bool away() const noexcept { return away_; }
  std::optional<std::chrono::milliseconds> lag() const noexcept { return lag_; }
  /// When a lag PING is unanswered: since when (the UI shows a growing lag).
  std::optional<SteadyClock::time_point> lag_pending_since() const noexcept { return lag_sent_; }
  const std::vector<Buffer>& buffers() const noexcept { return buffers_; }
  std::size_t current() const noexcept { return current_; }
  const Buffer& current_buffer() const noexcept { return buffers_[current_]; }
  /// Switches to window `index` (0 = status). False when there is no such window.
  bool select(std::size_t index);
  /// Nicks for Tab completion in the current buffer (members, or the query peer), plus channels.
  std::vector<std::string> completions() const;
  /// Channels to join after (re)registration: the ones we are in plus --join ones.
  std::vector<std::pair<std::string, std::string>> channels_to_join() const;

 private:
  using Msg = irc::Message;

  void send(std::string_view command, std::vector<std::string> params);
  void send_raw(std::string_view line);
  void add(std::string_view buffer, LineKind kind, std::string text, std::string nick = {}, bool own = false);
  void status(LineKind kind, std::string text) { add("status", kind, std::move(text)); }
  void error(std::string text) { status(LineKind::error, std::move(text)); }
  Buffer& buffer(std::string_view name, BufferType type_if_new, bool* created = nullptr);
  Buffer* find(std::string_view name);
  void remove_nick(Buffer& b, std::string_view nick);
  void add_nick(Buffer& b, std::string_view nick);
  bool is_me(std::string_view nick) const;
  bool is_channel(std::string_view name) const;
  void reply(LineKind kind, std::string text);  // to the current window
  void join_channel(std::string_view channel, std::string_view key, bool quiet);
  void close_current();
  void help();
  bool mentions_me(std::string_view text) const;
  std::string next_nick();

  bool has_nick(const Buffer& b, std::string_view nick) const;
  void left_channel(Buffer& b, std::string_view nick, std::string line);
  const std::string& window_for(const std::string& name);

  // Incoming messages: a table from command to msg_* handler (client.cpp, MessageSpec).
  struct MessageSpec;
  void on_message(const Msg& m, SteadyClock::time_point now);
  void msg_ping(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_pong(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_error(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_privmsg(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_notice(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_nick(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_join(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_part(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_quit(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_kick(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_topic(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_mode(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_invite(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_cap(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_authenticate(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_batch(const Msg& m, const std::string& from, SteadyClock::time_point now);
  void msg_fail(const Msg& m, const std::string& from, SteadyClock::time_point now);
  // History on join (IRCv3 draft/chathistory, when the server offers it with batch): after our
  // own JOIN (or /query NICK) CHATHISTORY LATEST NAME * 50; the window's other lines wait until
  // the batch has ended, so the history comes first.
  bool has_cap(std::string_view cap) const;
  void request_history(std::string_view target);
  void history_done(std::string_view target);  ///< "" : every window that waits
  void push_line(Buffer& b, Line l);
  void cap_ls_done();
  // Numerics: a table from code to one num_* handler per family (NumericSpec).
  struct NumericSpec;
  void on_numeric(int code, const Msg& m);
  void num_isupport(int code, const Msg& m);
  void num_away(int code, const Msg& m);
  void num_whois(int code, const Msg& m);
  void num_list(int code, const Msg& m);
  void num_channel(int code, const Msg& m);
  void num_names(int code, const Msg& m);
  void num_nomotd(int code, const Msg& m);
  void num_nick_refused(int code, const Msg& m);
  void num_sasl(int code, const Msg& m);  ///< 900-908: logged in, or the login failed
  void end_cap();                         ///< CAP END, once, while registering (and no REQ unanswered)
  void on_privmsg(const Msg& m, bool notice);
  void on_ctcp(std::string_view from, std::string_view target, std::string_view body, bool reply);
  void registered(const Msg& m, SteadyClock::time_point now);

  // User commands: the table (client.cpp, CommandSpec) maps "/name" to a cmd_* handler.
  struct CommandArgs {
    std::string name;   ///< lower case, without the slash
    std::string rest;   ///< everything after the name, trimmed
    std::string arg1;   ///< the first word of rest
    std::string tail;   ///< rest after arg1, trimmed
    std::string_view usage;
    SteadyClock::time_point now;
  };
  struct CommandSpec;
  static const CommandSpec* find_command(std::string_view name);
  void run_command(std::string_view line, SteadyClock::time_point now);
  void usage(const CommandArgs& a);
  void cmd_join(const CommandArgs& a);
  void cmd_part(const CommandArgs& a);
  void cmd_msg(const CommandArgs& a);
  void cmd_notice(const CommandArgs& a);
  void cmd_ctcp(const CommandArgs& a);
  void cmd_query(const CommandArgs& a);
  void cmd_me(const CommandArgs& a);
  void cmd_nick(const CommandArgs& a);
  void cmd_topic(const CommandArgs& a);
  void cmd_names(const CommandArgs& a);
  void cmd_list(const CommandArgs& a);
  void cmd_whois(const CommandArgs& a);
  void cmd_away(const CommandArgs& a);
  void cmd_quit(const CommandArgs& a);
  void cmd_raw(const CommandArgs& a);
  void cmd_win(const CommandArgs& a);
  void cmd_close(const CommandArgs& a);
  void cmd_clear(const CommandArgs& a);
  void cmd_help(const CommandArgs& a);
  void defer(std::string line);
  void say(std::string_view target, std::string_view text, bool action);
  void send_split(std::string_view command, std::string_view target, std::string_view text,
                  std::string_view ctcp = {});

  Config config_;
  State state_ = State::disconnected;
  bool tls_handshaking_ = false;
  bool cap_open_ = false;     // CAP LS 302 sent, CAP END not yet
  std::string cap_ls_;        // the server's capabilities (" a b=c d "), gathered over LS lines
  std::vector<std::string> caps_;  // acknowledged capabilities
  int cap_reqs_ = 0;          // CAP REQs unanswered
  bool sasl_running_ = false; // AUTHENTICATE sent, 903/904 not yet
  // The line being handled: its server-time, msgid, and whether it is in a chathistory batch.
  std::optional<WallClock::time_point> msg_time_;
  std::string msg_msgid_;
  bool msg_history_ = false;
  std::vector<std::pair<std::string, std::string>> history_batches_;  // open batch ref, folded target
  std::size_t history_lines_ = 0;        // lines of the open history batches shown so far
  std::vector<std::string> history_wait_;  // folded windows waiting for their history
  std::vector<std::pair<std::string, Line>> held_;  // their lines meanwhile (window name, line)
  bool quit_requested_ = false;
  bool quit_noted_ = false;   // "* Left the server" shown for this quit (from the server's ERROR)
  std::string nick_;          // current (or being registered)
  unsigned nick_attempt_ = 0; // 433 retries during registration
  std::size_t nick_len_ = 30; // NICKLEN from 005 (guess until then)
  std::string server_name_;
  std::string chantypes_ = "#&";
  std::string prefix_chars_ = "~&@%+";
  bool away_ = false;
  std::optional<std::chrono::milliseconds> lag_;
  std::optional<SteadyClock::time_point> lag_sent_;
  std::string lag_token_;
  SteadyClock::time_point last_lag_ping_{};
  SteadyClock::time_point last_ctcp_reply_{};
  std::vector<Buffer> buffers_;
  std::size_t current_ = 0;
  bool first_registration_ = true;
  std::vector<std::pair<std::string, std::string>> rejoin_;  // channel, key
  std::vector<std::string> quiet_joins_;  // folded names rejoined without switching windows
  std::vector<std::pair<std::string, std::vector<std::string>>> names_;  // 353 replies being gathered  // channels we were in when the connection dropped
  std::vector<std::string> deferred_;  // input typed before registration
  std::vector<std::string> out_;
  std::vector<Event> events_;
  std::optional<std::string> disconnect_request_;
};

}  // namespace sockit::chat
