// Internal header of sockit::irc: what the command families (commands_<family>.cpp) share. Each
// family lists its handlers in a CommandSpec array and hands it to the one command table
// (commands.cpp), which merges them sorted by name for find_command().
#pragma once

#include "server_impl.hpp"

#include <span>
#include <string>
#include <string_view>

namespace sockit::irc {

using S = ServerImpl;
inline constexpr std::size_t kUnlimited = static_cast<std::size_t>(-1);

// ---- the families' entries in the command table -------------------------------------------------
std::span<const CommandSpec> registration_commands();  ///< PASS NICK USER CAP PING PONG QUIT
std::span<const CommandSpec> channel_commands();       ///< JOIN PART KICK INVITE TOPIC NAMES LIST
std::span<const CommandSpec> mode_commands();          ///< MODE (user and channel)
std::span<const CommandSpec> message_commands();       ///< PRIVMSG NOTICE AWAY
std::span<const CommandSpec> query_commands();         ///< WHO WHOIS WHOWAS LUSERS MOTD VERSION ...
std::span<const CommandSpec> operator_commands();      ///< OPER KILL WALLOPS REHASH DIE RESTART
std::span<const CommandSpec> help_commands();          ///< HELP HELPOP LINKS STATS
/// The merged table, sorted by name (HELP's index).
std::span<const CommandSpec> all_commands();
std::span<const CommandSpec> monitor_commands();       ///< MONITOR
std::span<const CommandSpec> account_commands();       ///< AUTHENTICATE REGISTER VERIFY (commands_accounts.cpp)
std::span<const CommandSpec> chathistory_commands();   ///< CHATHISTORY (chathistory.cpp)

// ---- helpers several families use (commands.cpp) ---------------------------------------------------
/// Checks an optional <server> parameter at `index`; ERR_NOSUCHSERVER when it is not us.
bool our_server(S& s, Client& c, const Message& m, std::size_t index);
/// `s` with a-z made A-Z (subcommands and mechanism names are matched case-insensitively).
std::string ascii_upper(std::string_view s);
/// A member's prefix in NAMES/WHO/WHOIS: "@", "+", or both with multi-prefix.
std::string prefixes(const Member& m, bool multi);
/// The errors several commands answer with, worded once.
void err_no_such_nick(S& s, Client& c, std::string_view name);        ///< 401
void err_no_such_channel(S& s, Client& c, std::string_view name);     ///< 403
void err_user_not_in_channel(S& s, Client& c, const Client& t, const Channel& ch);  ///< 441
void err_not_on_channel(S& s, Client& c, const Channel& ch);          ///< 442
void err_chanop_needed(S& s, Client& c, const Channel& ch);           ///< 482
void err_not_registered(S& s, Client& c);                             ///< 451
void err_no_privileges(S& s, Client& c);                              ///< 481
void err_need_more_params(S& s, Client& c, std::string_view command);   ///< 461

/// IRCv3 message-tags: the client-only tags of `m` ("+key=value;+key", escaped, ready for the
/// wire without '@' and space); keys with characters outside [A-Za-z0-9-./] are dropped (ircv3.cpp).
std::string client_only_tags(const Message& m);
/// IRCv3 sasl: the mechanisms `c` may use, for CAP LS 302's sasl value and 908
/// (commands_accounts.cpp): EXTERNAL only with a client certificate.
std::string sasl_mechanisms(const Client& c);

/// The "+iw-o" part of a MODE line, built as changes are applied: a sign only where it changes.
class ModeString {
 public:
  void add(bool plus, char mode) {
    const char want = plus ? '+' : '-';
    if (dir_ != want) {
      s_ += want;
      dir_ = want;
    }
    s_ += mode;
  }
  const std::string& str() const noexcept { return s_; }
  bool empty() const noexcept { return s_.empty(); }

 private:
  std::string s_;
  char dir_ = 0;
};

}  // namespace sockit::irc
