// Application hints (not in tcpdump): what an echo or IRC payload says, in a few words.
#include "packet_decoder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace sockit::dump {

namespace {

constexpr std::array<std::string_view, 40> kIrcCommands = {
    "ADMIN", "AWAY",  "CAP",     "CONNECT", "DIE",    "ERROR",   "INFO",    "INVITE", "ISON",    "JOIN",
    "KICK",  "KILL",  "LINKS",   "LIST",    "LUSERS", "MODE",    "MOTD",    "NAMES",  "NICK",    "NOTICE",
    "OPER",  "PART",  "PASS",    "PING",    "PONG",   "PRIVMSG", "QUIT",    "REHASH", "RESTART", "SERVICE",
    "SQUIT", "STATS", "SUMMON",  "TIME",    "TOPIC",  "USER",    "USERHOST", "VERSION", "WHO",   "WHOIS"};

bool is_irc_command(std::string_view cmd) {
  if (cmd.size() == 3 && std::all_of(cmd.begin(), cmd.end(), [](char c) { return c >= '0' && c <= '9'; })) return true;
  return std::find(kIrcCommands.begin(), kIrcCommands.end(), cmd) != kIrcCommands.end() || cmd == "WHOWAS" ||
         cmd == "WALLOPS" || cmd == "AUTHENTICATE" || cmd == "TAGMSG" || cmd == "KNOCK";
}

// "COMMAND firstparam" of one IRC line (tags and prefix skipped), or "" when it is not IRC.
std::string irc_line_summary(std::string_view line) {
  auto skip_word = [&] {
    auto sp = line.find(' ');
    line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  };
  if (!line.empty() && line.front() == '@') skip_word();
  bool prefixed = false;
  if (!line.empty() && line.front() == ':') {
    skip_word();
    prefixed = true;
  }
  auto sp = line.find(' ');
  std::string cmd(line.substr(0, sp));
  if (cmd.empty() || cmd.size() > 16) return {};
  for (char& c : cmd) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return {};
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (!is_irc_command(cmd)) return {};
  if (std::isdigit(static_cast<unsigned char>(cmd[0])) && !prefixed) return {};
  if (sp == std::string_view::npos) return cmd;
  std::string_view rest = line.substr(sp + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return cmd;
  std::string_view param = rest.front() == ':' ? rest.substr(1) : rest.substr(0, rest.find(' '));
  if (param.size() > 40) param = param.substr(0, 40);
  std::string p;
  for (char c : param) p += std::isprint(static_cast<unsigned char>(c)) ? c : '.';
  return p.empty() ? cmd : cmd + " " + p;
}

bool irc_port(std::uint16_t p) { return (p >= 6660 && p <= 6669) || p == 194 || p == 7000; }

}  // namespace

std::string application_hint(bool tcp, std::uint16_t sport, std::uint16_t dport, std::span<const std::uint8_t> payload) {
  if (payload.empty()) return {};
  if (sport == 7 || dport == 7 || sport == 7007 || dport == 7007) {
    std::string s;
    std::size_t n = std::min<std::size_t>(payload.size(), 32);
    for (std::size_t i = 0; i < n; ++i) {
      auto c = payload[i];
      if (c == '\n') s += "\\n";
      else if (c == '\r') s += "\\r";
      else if (c == '"' || c == '\\') { s += '\\'; s += static_cast<char>(c); }
      else if (c >= 0x20 && c < 0x7f) s += static_cast<char>(c);
      else s += fmt::format("\\x{:02x}", c);
    }
    return fmt::format("echo {} \"{}\"{}", (dport == 7 || dport == 7007) ? "request" : "reply", s,
                       payload.size() > n ? "..." : "");
  }
  if (!tcp) return {};
  // IRC: every complete line must parse as an IRC message (any port), or the port is an IRC port.
  std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    bool complete = nl != std::string_view::npos;
    std::string_view line = text.substr(pos, complete ? nl - pos : std::string_view::npos);
    pos = complete ? nl + 1 : text.size();
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    std::string s = irc_line_summary(line);
    if (s.empty()) {
      if (complete || parts.empty()) return {};
      break;  // a partial last line: ignore it
    }
    if (!complete && !irc_port(sport) && !irc_port(dport) && parts.empty()) return {};
    parts.push_back(std::move(s));
    if (parts.size() >= 8) break;
  }
  if (parts.empty()) return {};
  std::string out = "IRC: ";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += " | ";
    out += parts[i];
  }
  return out;
}

}  // namespace sockit::dump
