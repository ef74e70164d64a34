// Public header. irc::Config: everything the chat server can be told, with the defaults of
// docs/CHAT-SERVER.md (derived from ngIRCd, Ergo and InspIRCd; see RELIABILITY-PLAN "defaults").
// A plain value type; Server::reload() swaps it atomically between two commands.
#pragma once

#include "sockit/irc/names.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::irc {

struct Operator {
  std::string name;
  /// "pbkdf2-sha256$ITER$SALT_HEX$HASH_HEX" (see password.hpp); never a plain password.
  std::string password_hash;
  /// Host mask the operator must match (nick!user@host form or "*"); "*" = anywhere.
  std::string host_mask = "*";
};

/// "AB:CD:..." or "abcd..." -> "abcd..." (lower case, no colons); "" when it is not 64 hex digits.
std::string normalize_certfp(std::string_view text);

struct Config {
  std::string server_name = "irc.sockit.local";
  std::string network = "sockit";
  std::string description = "sockit chat server";
  std::vector<std::string> motd;                 ///< lines; empty -> 422 ERR_NOMOTD
  std::vector<std::string> admin{"sockit chat server", "local", "admin@localhost"};
  std::string password_hash;                     ///< server password (PASS); empty = none
  std::vector<Operator> operators;
  /// Operator name -> SHA-256 fingerprint of the TLS client certificate that operator must
  /// present (lower-case hex, no colons: normalize_certfp). With one, the operator's password_hash
  /// may be empty: OPER then succeeds by the certificate alone (Ergo's certfp); with both, both
  /// must match.
  std::map<std::string, std::string> operator_certfp;
  /// Operator name -> account name (SASL or REGISTER): OPER <name> succeeds for a client logged
  /// in to that account, without a password (the operator's password_hash may then be empty).
  std::map<std::string, std::string> operator_account;
  std::string default_channel_modes = "nt";

  // Names.
  /// CASEMAPPING: how nicks, channels and masks compare. A reload keeps the old one while any
  /// client is connected (the name tables are keyed by it).
  Casemapping casemapping = Casemapping::rfc1459;
  std::size_t nick_len = 30;
  std::size_t channel_len = 50;
  std::size_t topic_len = 390;
  std::size_t kick_len = 255;
  std::size_t away_len = 200;
  std::size_t user_len = 10;
  std::size_t max_channels_per_client = 50;      ///< CHANLIMIT; over -> 405
  std::size_t max_targets = 4;                   ///< TARGMAX for PRIVMSG/NOTICE/JOIN...; over -> 407
  std::size_t max_bans = 100;                    ///< MAXLIST beI (b, e, I together); over -> 478
  std::size_t max_modes = 4;                     ///< MODES: parameter modes per MODE command
  std::size_t whowas_len = 100;                  ///< WHOWAS history entries
  std::size_t monitor_limit = 100;               ///< MONITOR list entries per client; over -> 734

  // Timeouts.
  std::chrono::milliseconds registration_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds ping_interval{std::chrono::seconds(90)};   ///< idle -> PING
  std::chrono::milliseconds ping_timeout{std::chrono::seconds(60)};    ///< after PING -> drop

  // Flood control (Ergo fakelag, solanum Excess Flood). rate 0 = off.
  std::size_t flood_burst = 5;        ///< lines accepted at once
  double flood_rate = 2.0;            ///< lines per second after the burst
  std::size_t flood_max_queued = 20;  ///< delayed lines before "Excess Flood"
  bool flood_exempt_opers = true;

  // Buffers.
  std::size_t sendq = 256 * 1024;     ///< queued output over this -> "SendQ exceeded"
  std::size_t recvq = 8192 + 512;     ///< bytes without a line end -> "RecvQ exceeded"

  // Connections.
  std::size_t max_clients = 10000;
  std::size_t max_per_ip = 10;        ///< concurrent connections from one address; 0 = no cap
  bool exempt_loopback = true;        ///< loopback clients skip the per-IP cap
  std::size_t max_unregistered_lines = 1024;

  // Password checks (PASS at registration, OPER). A failed check's reply waits
  // auth_fail_delay * 2^(n-1), at most auth_fail_delay_max, where n counts the failures of the
  // connection or of its address (whichever is more; an address is forgotten after
  // auth_fail_forget without failures). The client's later lines wait for the verdict.
  std::chrono::milliseconds auth_fail_delay{std::chrono::seconds(1)};
  std::chrono::milliseconds auth_fail_delay_max{std::chrono::seconds(30)};
  std::chrono::milliseconds auth_fail_forget{std::chrono::minutes(10)};

  // Text.
  bool enforce_utf8 = true;           ///< invalid UTF-8 -> FAIL ... INVALID_UTF8, not relayed

  // Operator commands that stop the process (docs/CHAT-SERVER.md, "Server information and operator
  // commands"): off by default; an operator's DIE / RESTART then gets 723 ERR_NOPRIVS.
  bool allow_die = false;
  bool allow_restart = false;

  // IRCv3 sts (Strict Transport Security): with a TLS listener, CAP LS 302 advertises
  // "sts=port=<sts_port>,duration=<s>" on plaintext connections and "sts=duration=<s>" on TLS
  // ones. 0 = not advertised (no TLS listener). The application sets the port.
  std::uint16_t sts_port = 0;
  std::chrono::seconds sts_duration{std::chrono::hours(24)};

  // Accounts (IRCv3 sasl, draft/account-registration): in effect only with an account store
  // (Server::set_account_store). REGISTER is refused unless account_registration is on; at most
  // register_per_ip accounts are registered from one address per register_window.
  bool account_registration = false;
  std::size_t register_per_ip = 3;
  std::chrono::milliseconds register_window{std::chrono::hours(1)};
  /// Nick ownership (with an account store): a registered client whose nick is a registered
  /// account's name, without being logged in to it, gets a NOTICE and, after nick_grace, a guest
  /// nick (GuestNNNNN, a NICK change everybody sees); logging in to it meanwhile cancels that.
  bool enforce_nicks = false;
  std::chrono::milliseconds nick_grace{std::chrono::seconds(30)};
};

}  // namespace sockit::irc
