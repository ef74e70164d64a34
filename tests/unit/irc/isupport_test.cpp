// ISUPPORT (005) checked against behaviour, and the nick / channel name rules at their boundaries
// under each casemapping (issue #17 items 3 and 4). Every token the server advertises is read from
// its own 005 lines and checked by doing what the token promises; a token without a check, or a
// check that a lying value passes, fails the suite (IrcIsupport.EachCheckCatchesALie).
// The sans-I/O core with fake peers, as tests/unit/irc/server_test.cpp.
#include "fake_peer.hpp"

#include "sockit/irc/names.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>

using namespace sockit::irc;
using namespace sockit::irc::test;
using H = Harness;

namespace {

using Tokens = std::map<std::string, std::string>;

/// The 005 tokens of a fresh client's welcome burst; `shape` gets the problems of the lines
/// themselves (more than 13 tokens, over 512 bytes, no trailing text, a token twice).
Tokens read_isupport(const Config& cfg, std::string* shape = nullptr) {
  H h(cfg);
  H::Cli& c = h.connect();
  h.register_as(c, "probe", "Probe");
  Tokens out;
  std::string problems;
  for (const std::string& line : H::only(c.take(), "005")) {
    if (line.size() + 2 > 512) problems += "005 line over 512 bytes; ";
    auto r = parse(line);
    if (!r || r.message->params.size() < 3) {
      problems += "unparsable 005: " + line + "; ";
      continue;
    }
    const auto& p = r.message->params;
    if (p.back() != "are supported by this server") problems += "005 without its text; ";
    if (p.size() - 2 > 13) problems += "more than 13 tokens on one 005 line; ";
    for (std::size_t i = 1; i + 1 < p.size(); ++i) {
      std::size_t eq = p[i].find('=');
      std::string key = p[i].substr(0, eq);
      if (out.count(key)) problems += key + " advertised twice; ";
      out[key] = eq == std::string::npos ? std::string() : p[i].substr(eq + 1);
    }
  }
  if (shape) *shape = problems;
  return out;
}

std::size_t number(std::string_view v) {
  std::size_t n = 0;
  for (char ch : v) {
    if (ch < '0' || ch > '9') return 0;
    n = n * 10 + static_cast<std::size_t>(ch - '0');
  }
  return n;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

/// The trailing parameter of a line.
std::string trailing(const std::string& line) {
  auto r = parse(line);
  return r && !r.message->params.empty() ? r.message->params.back() : std::string();
}

/// Whether NICK `nick` on a fresh connection completes registration.
bool nick_accepted(const Config& cfg, const std::string& nick) {
  H h(cfg);
  H::Cli& c = h.connect();
  h.register_as(c, nick, "x");
  return H::has(c.take(), "001");
}

/// The numeric or command a JOIN of `name` by a fresh user answers with ("JOIN" when joined).
std::string join_reply(const Config& cfg, const std::string& name) {
  H h(cfg);
  auto& a = h.user("alice");
  h.send(a, "JOIN " + name);
  auto lines = a.take();
  return lines.empty() ? std::string() : command_of(lines.front());
}

// ---- One check per token: "" when the server does what the value says, else what it does. ----

std::string check_nicklen(const Config& cfg, const std::string& v) {
  std::size_t n = number(v);
  if (n == 0) return "NICKLEN not a number";
  if (!nick_accepted(cfg, std::string(n, 'a'))) return "a nick of NICKLEN chars is refused";
  if (nick_accepted(cfg, std::string(n + 1, 'a'))) return "a nick of NICKLEN+1 chars is accepted";
  return {};
}

std::string check_channellen(const Config& cfg, const std::string& v) {
  std::size_t n = number(v);
  if (n < 2) return "CHANNELLEN not a number >= 2";
  if (join_reply(cfg, "#" + std::string(n - 1, 'c')) != "JOIN") return "a channel of CHANNELLEN chars is refused";
  if (join_reply(cfg, "#" + std::string(n, 'c')) == "JOIN") return "a channel of CHANNELLEN+1 chars is accepted";
  return {};
}

std::string check_chantypes(const Config& cfg, const std::string& v) {
  for (char t : std::string("#&+!")) {
    bool advertised = v.find(t) != std::string::npos;
    bool joins = join_reply(cfg, std::string(1, t) + "chan") == "JOIN";
    if (advertised != joins) return std::string("channel type ") + t + (joins ? " works but is not advertised" : " is refused");
  }
  return {};
}

std::string check_chanlimit(const Config& cfg, const std::string& v) {
  for (const std::string& part : split(v, ',')) {
    std::size_t colon = part.find(':');
    if (colon == std::string::npos) return "CHANLIMIT entry without ':'";
    std::size_t n = number(part.substr(colon + 1));
    for (char t : part.substr(0, colon)) {
      H h(cfg);
      auto& a = h.user("alice");
      for (std::size_t i = 0; i <= n; ++i) h.send(a, "JOIN " + std::string(1, t) + "c" + std::to_string(i));
      auto lines = a.take();
      if (H::only(lines, "JOIN").size() != n) return std::string("CHANLIMIT ") + t + ": joined " + std::to_string(H::only(lines, "JOIN").size());
      if (H::only(lines, "405").size() != 1) return "CHANLIMIT: no 405 past the limit";
    }
  }
  return {};
}

/// The text of a TOPIC / KICK / AWAY reply when `len + 10` bytes are sent.
std::string check_cut(const Config& cfg, const std::string& v, std::string_view what) {
  std::size_t n = number(v);
  if (n == 0) return std::string(what) + " not a number";
  H h(cfg);
  auto [a, b] = h.in_channel("#a", "alice", "bob");
  std::string text(n + 10, 'x');
  std::string got;
  if (what == "TOPICLEN") {
    h.send(a, "TOPIC #a :" + text);
    auto lines = H::only(b.take(), "TOPIC");
    if (!lines.empty()) got = trailing(lines.front());
  } else if (what == "KICKLEN") {
    h.send(a, "KICK #a bob :" + text);
    auto lines = H::only(b.take(), "KICK");
    if (!lines.empty()) got = trailing(lines.front());
  } else {
    h.send(b, "AWAY :" + text);
    h.send(a, "PRIVMSG bob :hi");
    auto lines = H::only(a.take(), "301");
    if (!lines.empty()) got = trailing(lines.front());
  }
  if (got.size() != n) return std::string(what) + ": a longer text is cut to " + std::to_string(got.size());
  return {};
}

/// Channel #a with alice (op) and bob; returns alice's and bob's replies to one MODE line.
struct ModeProbe {
  explicit ModeProbe(const Config& cfg) : h(cfg), a(h.user("alice")), b(h.user("bob")) {
    h.join("#a", {&a, &b});
    H::drain({&a, &b});
  }
  std::vector<std::string> mode(const std::string& args) {
    h.send(a, "MODE #a " + args);
    return a.take();
  }
  H h;
  H::Cli& a;
  H::Cli& b;
};

std::string param_for(char mode, int type) {
  if (type == 0) return "x!y@z";   // list masks
  if (mode == 'l' || type == 2) return "5";
  return "key";
}

std::string check_chanmodes(const Config& cfg, const std::string& v, const Tokens& all) {
  auto types = split(v, ',');
  if (types.size() < 4) return "CHANMODES with fewer than 4 types";
  std::string prefix_modes;
  if (auto p = all.find("PREFIX"); p != all.end()) {
    prefix_modes = p->second.substr(1, p->second.find(')') - 1);
  }
  for (char m = 'A'; m <= 'z'; ++m) {
    if (!std::isalpha(static_cast<unsigned char>(m))) continue;
    if (prefix_modes.find(m) != std::string::npos) continue;
    int type = -1;
    for (int t = 0; t < 4; ++t) {
      if (types[t].find(m) != std::string::npos) type = t;
    }
    ModeProbe p(cfg);
    if (type == 3) p.mode(std::string("-") + m);  // default modes (+nt) are set already: +n again echoes nothing
    std::string args = std::string("+") + m + (type >= 0 && type < 3 ? " " + param_for(m, type) : "");
    auto lines = p.mode(args);
    bool unknown = H::has(lines, "472");
    if (type < 0 && !unknown) return std::string("mode ") + m + " is accepted but not in CHANMODES";
    if (type < 0) continue;
    if (unknown) return std::string("mode ") + m + " is in CHANMODES but answered 472";
    if (!H::has(lines, "MODE")) return std::string("+") + m + " with its parameter was not applied";
    // Type A without a parameter lists; type C is unset without one; type D never takes one.
    if (type == 0 && p.mode(std::string(1, m)).empty()) return std::string("list mode ") + m + " does not list";
    if (type == 2 && !H::has(p.mode(std::string("-") + m), "MODE")) return std::string("-") + m + " needs a parameter";
    if (type == 3) {
      lines = p.mode(std::string("-") + m + " " + param_for(m, 1));
      auto echo = H::only(lines, "MODE");
      if (echo.empty()) return std::string("-") + m + " was not applied";
      if (echo.front().find(param_for(m, 1)) != std::string::npos) return std::string("-") + m + " took a parameter";
    }
  }
  return {};
}

std::string check_prefix(const Config& cfg, const std::string& v) {
  std::size_t close = v.find(')');
  if (v.empty() || v[0] != '(' || close == std::string::npos || v.size() - close - 1 != close - 1) return "malformed PREFIX";
  for (std::size_t i = 1; i < close; ++i) {
    ModeProbe p(cfg);
    p.mode(std::string("+") + v[i] + " bob");
    p.h.send(p.a, "NAMES #a");
    auto names = H::only(p.a.take(), "353");
    if (names.empty() || trailing(names.front()).find(std::string(1, v[close + i]) + "bob") == std::string::npos) {
      return std::string("+") + v[i] + " does not show as " + v[close + i];
    }
  }
  for (char m : std::string("qaohv")) {  // the usual prefix modes: those not advertised do nothing
    if (v.find(m) < close) continue;
    ModeProbe p(cfg);
    if (!H::has(p.mode(std::string("+") + m + " bob"), "472")) return std::string("+") + m + " works but is not in PREFIX";
  }
  return {};
}

std::string check_modes(const Config& cfg, const std::string& v) {
  std::size_t n = number(v);
  if (n == 0) return "MODES not a number";
  ModeProbe p(cfg);
  std::string letters = "+", masks;
  for (std::size_t i = 0; i <= n; ++i) letters += 'b', masks += " m" + std::to_string(i) + "!*@*";
  p.mode(letters + masks);
  if (H::only(p.mode("b"), "367").size() != n) return "MODES: not exactly MODES parameter modes applied";
  return {};
}

std::string check_maxlist(const Config& cfg, const std::string& v) {
  for (const std::string& part : split(v, ',')) {
    std::size_t colon = part.find(':');
    if (colon == std::string::npos) return "MAXLIST entry without ':'";
    std::size_t n = number(part.substr(colon + 1));
    ModeProbe p(cfg);
    std::size_t set = 0;
    for (std::size_t i = 0; i <= n; ++i) {
      // The first list mode of the group carries the shared count (MAXLIST=beI:100 counts them together).
      auto lines = p.mode(std::string("+") + part[i % colon] + " m" + std::to_string(i) + "!*@*");
      if (H::has(lines, "MODE")) ++set;
      if (i == n && !H::has(lines, "478")) return "MAXLIST " + part + ": no 478 past the limit";
    }
    if (set != n) return "MAXLIST " + part + ": " + std::to_string(set) + " entries set";
  }
  return {};
}

/// PRIVMSG/NOTICE to n nicks: how many receive it.
std::size_t reached(const Config& cfg, std::string_view cmd, std::size_t n) {
  H h(cfg);
  auto& a = h.user("alice");
  std::vector<H::Cli*> rcpt;
  std::string list;
  for (std::size_t i = 0; i < n; ++i) {
    rcpt.push_back(&h.user("r" + std::to_string(i)));
    list += (i ? "," : "") + std::string("r") + std::to_string(i);
  }
  h.send(a, std::string(cmd) + " " + list + " :hi");
  return static_cast<std::size_t>(std::count_if(rcpt.begin(), rcpt.end(), [&](H::Cli* r) { return H::has(r->take(), cmd); }));
}

/// How many of `n` targets `cmd` acts on (the others are silently or loudly left out).
std::size_t acted_on(const Config& cfg, const std::string& cmd, std::size_t n) {
  if (cmd == "PRIVMSG" || cmd == "NOTICE") return reached(cfg, cmd, n);
  H h(cfg);
  auto& a = h.user("alice");
  std::string list;
  for (std::size_t i = 0; i < n; ++i) list += (i ? "," : "") + std::string(cmd == "WHOIS" || cmd == "KICK" ? "u" : "#c") + std::to_string(i);
  if (cmd == "JOIN") {
    h.send(a, "JOIN " + list);
    return H::only(a.take(), "JOIN").size();
  }
  if (cmd == "NAMES" || cmd == "LIST") {
    for (std::size_t i = 0; i < n; ++i) h.send(a, "JOIN #c" + std::to_string(i));
    a.take();
    h.send(a, cmd + " " + list);
    return H::only(a.take(), cmd == "NAMES" ? "353" : "322").size();
  }
  std::vector<H::Cli*> users;
  for (std::size_t i = 0; i < n; ++i) users.push_back(&h.user("u" + std::to_string(i)));
  if (cmd == "WHOIS") {
    h.send(a, "WHOIS " + list);
    return H::only(a.take(), "311").size();
  }
  if (cmd == "KICK") {
    h.send(a, "JOIN #k");
    for (H::Cli* u : users) h.send(*u, "JOIN #k");
    a.take();
    h.send(a, "KICK #k " + list);
    return H::only(a.take(), "KICK").size();
  }
  return static_cast<std::size_t>(-1);
}

std::string check_targmax(const Config& cfg, const std::string& v) {
  for (const std::string& part : split(v, ',')) {
    std::size_t colon = part.find(':');
    if (colon == std::string::npos) return "TARGMAX entry without ':'";
    std::string cmd = part.substr(0, colon);
    std::string limit = part.substr(colon + 1);
    if (limit.empty()) {
      // No limit: more targets than any numbered limit all work.
      std::size_t n = cfg.max_targets + 1;  // (JOIN: CHANLIMIT must allow it)
      if (acted_on(cfg, cmd, n) != n) return "TARGMAX " + cmd + ": unlimited but " + std::to_string(acted_on(cfg, cmd, n)) + " of " + std::to_string(n);
      continue;
    }
    std::size_t n = number(limit);
    if (acted_on(cfg, cmd, n) != n) return "TARGMAX " + cmd + ": " + std::to_string(n) + " targets not all served";
    if (acted_on(cfg, cmd, n + 1) > n) return "TARGMAX " + cmd + ": " + std::to_string(n + 1) + " targets all served";
  }
  return {};
}

std::string check_maxtargets(const Config& cfg, const std::string& v) {
  std::size_t n = number(v);
  if (reached(cfg, "PRIVMSG", n) != n || reached(cfg, "PRIVMSG", n + 1) != 0) return "MAXTARGETS not the PRIVMSG limit";
  return {};
}

/// Which of the pairs the casemapping `name` makes equal, seen through JOIN: the second JOIN of the
/// equal-looking name lands in the first channel (bob sees alice's JOIN) or in another one.
std::string check_casemapping(const Config& cfg, const std::string& v) {
  auto cm = parse_casemapping(v);
  if (!cm) return "unknown CASEMAPPING " + v;
  // What each mapping makes equal, written out (not asked of names.cpp, which is under test).
  const bool brackets = *cm != Casemapping::ascii, tilde = *cm == Casemapping::rfc1459;
  const std::tuple<const char*, const char*, bool> pairs[] = {
      {"#AbC", "#abc", true}, {"#x[]\\", "#x{}|", brackets}, {"#y~", "#y^", tilde}};
  for (auto [one, two, equal] : pairs) {
    H h(cfg);
    auto& a = h.user("alice");
    auto& b = h.user("bob");
    h.send(b, std::string("JOIN ") + one);
    b.take();
    h.send(a, std::string("JOIN ") + two);
    bool same = H::has(b.take(), "JOIN");
    if (same != equal) return std::string("CASEMAPPING=") + v + " but " + one + (same ? " is " : " is not ") + two;
  }
  // Nicks too: "n[" and "n{" are one nick unless the mapping is ascii.
  H h(cfg);
  h.user("n[");
  H::Cli& c = h.connect();
  h.register_as(c, "n{", "x");
  bool in_use = H::has(c.take(), "433");
  if (in_use != brackets) return "CASEMAPPING=" + v + " but nick n[ vs n{ disagrees";
  return {};
}

std::string check_network(const Config& cfg, const std::string& v) {
  return v == cfg.network && !v.empty() && v.find(' ') == std::string::npos ? std::string() : "NETWORK is not the configured network";
}

std::string check_userlen(const Config& cfg, const std::string& v) {
  std::size_t n = number(v);
  H h(cfg);
  H::Cli& c = h.connect();
  h.send(c, "NICK u");
  h.send(c, "USER " + std::string(n + 10, 'x') + " 0 * :x");
  h.send(c, "WHOIS u");
  auto lines = H::only(c.take(), "311");
  if (lines.empty()) return "USERLEN: no 311";
  auto r = parse(lines.front());
  if (r.message->params[2].size() != n) return "USERLEN: user field of " + std::to_string(r.message->params[2].size()) + " chars";
  return {};
}

std::string check_hostlen(const Config& cfg, const std::string& v) {
  H h(cfg);
  auto& a = h.user("alice");
  h.send(a, "WHOIS alice");
  auto lines = H::only(a.take(), "311");
  if (lines.empty() || parse(lines.front()).message->params[3].size() > number(v)) return "HOSTLEN shorter than a host shown";
  return {};
}

std::string check_utf8only(const Config& cfg, const std::string&) {
  H h(cfg);
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.send(a, "PRIVMSG bob :caf\xE9");
  if (H::has(b.take(), "PRIVMSG")) return "UTF8ONLY but invalid UTF-8 is relayed";
  return {};
}

/// ELIST letters: each filter does what it names (M masks, N negated masks, U user counts,
/// C creation time, T topic time).
std::string check_elist(const Config& cfg, const std::string& v) {
  for (char f : v) {
    H h(cfg);
    auto& a = h.user("alice");
    auto& b = h.user("bob");
    h.join("#one", {&a});
    h.join("#two", {&a, &b});
    h.send(a, "TOPIC #two :t");
    H::drain({&a, &b});
    std::string query = f == 'M' ? "#o*" : f == 'N' ? "!#o*" : f == 'U' ? ">1" : f == 'C' ? "C<5" : f == 'T' ? "T<5" : "";
    if (query.empty()) return std::string("no check for ELIST ") + f;
    h.send(b, "LIST " + query);
    auto lines = H::only(b.take(), "322");
    std::string want = f == 'M' ? "#one" : f == 'C' ? "#one#two" : "#two";
    std::string got;
    for (auto& l : lines) got += parse(l).message->params[1];
    if (got != want) return std::string("ELIST ") + f + ": LIST " + query + " gave " + got;
  }
  return {};
}

std::string check_statusmsg(const Config& cfg, const std::string& v) {
  H h(cfg);
  auto [a, b, c] = h.in_channel("#a", "alice", "bob", "carol");
  h.send(a, "MODE #a +v bob");
  H::drain({&a, &b, &c});
  for (char p : v) {
    if (p != '@' && p != '+') return std::string("no check for STATUSMSG ") + p;
    h.send(a, std::string("PRIVMSG ") + p + "#a :hi");
    bool to_bob = H::has(b.take(), "PRIVMSG"), to_carol = H::has(c.take(), "PRIVMSG");
    bool bob_should = p == '+';
    if (to_carol || to_bob != bob_should) return std::string("STATUSMSG ") + p + " reaches the wrong members";
  }
  return {};
}

std::string check_list_exception(const Config& cfg, const std::string& v, bool invite) {
  if (v.size() != 1) return "expected one mode letter";
  H h(cfg);
  auto& a = h.user("alice");
  auto& b = h.user("bob");
  h.send(a, "JOIN #a");
  h.send(a, invite ? "MODE #a +i" : "MODE #a +b bob!*@*");
  h.send(a, "MODE #a +" + v + " bob!*@*");
  a.take();
  h.send(b, "JOIN #a");
  if (!H::has(b.take(), "JOIN")) return std::string(invite ? "INVEX" : "EXCEPTS") + "=" + v + " does not let bob in";
  return {};
}

std::string check_whox(const Config& cfg, const std::string&) {
  H h(cfg);
  auto& a = h.user("alice");
  h.send(a, "WHO alice %tn,42");
  auto lines = H::only(a.take(), "354");
  if (lines.size() != 1 || lines[0].find(" 42 alice") == std::string::npos) return "WHOX: no 354 with the token";
  return {};
}

std::string check_monitor(const Config& cfg, const std::string& v) {
  std::size_t n = number(v);
  H h(cfg);
  auto& a = h.user("alice");
  for (std::size_t i = 0; i < n; ++i) h.send(a, "MONITOR + m" + std::to_string(i));
  if (H::has(a.take(), "734")) return "MONITOR: 734 before the limit";
  h.send(a, "MONITOR + over");
  if (!H::has(a.take(), "734")) return "MONITOR: no 734 past the limit";
  return {};
}

std::string check_bot(const Config& cfg, const std::string& v) {
  H h(cfg);
  auto& a = h.user("alice");
  h.send(a, "MODE alice +" + v);
  h.send(a, "WHOIS alice");
  if (!H::has(a.take(), "335")) return "BOT=" + v + ": no 335 in WHOIS";
  return {};
}

std::string check_token(const Config& cfg, const std::string& key, const std::string& v, const Tokens& all) {
  if (key == "NICKLEN") return check_nicklen(cfg, v);
  if (key == "CHANNELLEN") return check_channellen(cfg, v);
  if (key == "CHANTYPES") return check_chantypes(cfg, v);
  if (key == "CHANLIMIT") return check_chanlimit(cfg, v);
  if (key == "TOPICLEN" || key == "KICKLEN" || key == "AWAYLEN") return check_cut(cfg, v, key);
  if (key == "CHANMODES") return check_chanmodes(cfg, v, all);
  if (key == "PREFIX") return check_prefix(cfg, v);
  if (key == "MODES") return check_modes(cfg, v);
  if (key == "MAXLIST") return check_maxlist(cfg, v);
  if (key == "TARGMAX") return check_targmax(cfg, v);
  if (key == "MAXTARGETS") return check_maxtargets(cfg, v);
  if (key == "CASEMAPPING") return check_casemapping(cfg, v);
  if (key == "NETWORK") return check_network(cfg, v);
  if (key == "USERLEN") return check_userlen(cfg, v);
  if (key == "HOSTLEN") return check_hostlen(cfg, v);
  if (key == "UTF8ONLY") return check_utf8only(cfg, v);
  if (key == "ELIST") return check_elist(cfg, v);
  if (key == "STATUSMSG") return check_statusmsg(cfg, v);
  if (key == "EXCEPTS") return check_list_exception(cfg, v, false);
  if (key == "INVEX") return check_list_exception(cfg, v, true);
  if (key == "WHOX") return check_whox(cfg, v);
  if (key == "MONITOR") return check_monitor(cfg, v);
  if (key == "BOT") return check_bot(cfg, v);
  return "no behaviour check for ISUPPORT token " + key + " (add one to tests/unit/irc/isupport_test.cpp)";
}

/// Every advertised token checked; returns the failures.
std::string check_all(const Config& cfg) {
  std::string shape;
  Tokens t = read_isupport(cfg, &shape);
  std::string out = shape;
  for (const auto& [k, v] : t) {
    std::string why = check_token(cfg, k, v, t);
    if (!why.empty()) out += k + ": " + why + "; ";
  }
  return out;
}

Config small() {
  Config cfg = quiet();
  cfg.nick_len = 9;
  cfg.channel_len = 12;
  cfg.topic_len = 20;
  cfg.kick_len = 15;
  cfg.away_len = 10;
  cfg.max_channels_per_client = 3;
  cfg.max_targets = 2;
  cfg.max_bans = 3;
  cfg.max_modes = 2;
  cfg.user_len = 6;
  return cfg;
}

}  // namespace

// Modern IRC RPL_ISUPPORT: each token is true of the server. Default configuration.
TEST(IrcIsupport, EveryAdvertisedTokenHoldsWithTheDefaults) { EXPECT_EQ(check_all(quiet()), ""); }

// The same with every configurable number changed and each casemapping: the tokens follow.
TEST(IrcIsupport, EveryAdvertisedTokenHoldsWithSmallLimitsAndEachCasemapping) {
  for (Casemapping cm : {Casemapping::rfc1459, Casemapping::strict_rfc1459, Casemapping::ascii}) {
    Config cfg = small();
    cfg.casemapping = cm;
    cfg.network = "TestNet";
    EXPECT_EQ(read_isupport(cfg).at("CASEMAPPING"), casemapping_name(cm));
    EXPECT_EQ(check_all(cfg), "") << casemapping_name(cm);
  }
}

// The checks are not vacuous: a token whose value lies by one step fails its check.
TEST(IrcIsupport, EachCheckCatchesALie) {
  Config cfg = small();
  Tokens t = read_isupport(cfg);
  auto bump = [](const std::string& v) { return std::to_string(number(v) + 1); };
  auto lies = std::map<std::string, std::vector<std::string>>{
      {"NICKLEN", {bump(t["NICKLEN"]), std::to_string(number(t["NICKLEN"]) - 1)}},
      {"CHANNELLEN", {bump(t["CHANNELLEN"])}},
      {"TOPICLEN", {bump(t["TOPICLEN"])}},
      {"KICKLEN", {bump(t["KICKLEN"])}},
      {"AWAYLEN", {bump(t["AWAYLEN"])}},
      {"USERLEN", {bump(t["USERLEN"])}},
      {"CHANTYPES", {"#", "#&+"}},
      {"CHANLIMIT", {"#&:" + bump(t["CHANLIMIT"].substr(3))}},
      {"CHANMODES", {t["CHANMODES"] + "z", "b,k,l,imns"}},
      {"PREFIX", {"(ohv)@%+", "(o)@"}},
      {"MODES", {bump(t["MODES"])}},
      {"MAXLIST", {"b:" + bump(t["MAXLIST"].substr(t["MAXLIST"].find(':') + 1))}},
      {"TARGMAX", {"PRIVMSG:3", "JOIN:1", "WHOIS:", "KICK:3"}},
      {"MAXTARGETS", {"3"}},
      {"CASEMAPPING", {"ascii", "rfc1459-strict"}},
      {"NETWORK", {"Other"}},
      {"ELIST", {"CMNTUX"}},
      {"STATUSMSG", {"@+%"}},
      {"EXCEPTS", {"x"}},
      {"INVEX", {"x"}},
      {"MONITOR", {bump(t["MONITOR"])}},
      {"BOT", {"X"}},
  };
  for (const auto& [key, values] : lies) {
    ASSERT_TRUE(t.count(key)) << key << " not advertised";
    for (const std::string& v : values) {
      Tokens lied = t;
      lied[key] = v;
      EXPECT_NE(check_token(cfg, key, v, lied), "") << key << "=" << v << " passed its check";
    }
  }
  EXPECT_NE(check_token(cfg, "FOO", "", t), "");  // a token nobody checks
  Config relaxed = cfg;
  relaxed.enforce_utf8 = false;  // UTF8ONLY advertised by a server that relays anything
  EXPECT_NE(check_token(relaxed, "UTF8ONLY", "", t), "");
}

// ---- Nick and channel names at their boundaries ---------------------------------------------

// Modern IRC "Nicknames": no space, comma, *, ?, !, @; not starting with $, :, a channel type
// or (RFC 2812) a digit or '-'; NICKLEN long at most (longer: 432, as InspIRCd and ngIRCd).
TEST(IrcNameRules, NickAtEachBoundary) {
  Config cfg = small();  // NICKLEN 9
  EXPECT_TRUE(nick_accepted(cfg, "abcdefghi"));
  EXPECT_FALSE(nick_accepted(cfg, "abcdefghij"));
  EXPECT_TRUE(nick_accepted(cfg, "a"));
  for (const char* ok : {"[a]", "\\a", "`a", "_a", "^a", "{a}", "|a", "a-1", "a9"}) EXPECT_TRUE(nick_accepted(cfg, ok)) << ok;
  for (const char* bad : {"1a", "-a", "$a", ":a", "#a", "&a", "a,b", "a*", "a?", "a!", "a@", "a.b", "a~", "a\xC3\xA9"}) {
    H h(cfg);
    H::Cli& c = h.connect();
    h.send(c, std::string("NICK :") + bad);
    auto lines = c.take();
    ASSERT_EQ(lines.size(), 1u) << bad;
    EXPECT_EQ(command_of(lines[0]), "432") << bad;
  }
  H h(cfg);
  H::Cli& c = h.connect();
  h.send(c, "NICK " + std::string(10, 'n'));
  EXPECT_EQ(c.take(), std::vector<std::string>{":irc.sockit.local 432 * nnnnnnnnnn :Erroneous nickname"});
}

// Modern IRC "Channels": a CHANTYPES prefix, no space, ^G or comma; CHANNELLEN at most; a bad name
// is 403 as ngIRCd (InspIRCd 476: expected_differences.txt).
TEST(IrcNameRules, ChannelAtEachBoundary) {
  Config cfg = small();  // CHANNELLEN 12
  EXPECT_EQ(join_reply(cfg, "#abcdefghijk"), "JOIN");
  EXPECT_EQ(join_reply(cfg, "#abcdefghijkl"), "403");
  EXPECT_EQ(join_reply(cfg, "&abcdefghijk"), "JOIN");
  EXPECT_EQ(join_reply(cfg, "#a"), "JOIN");
  EXPECT_EQ(join_reply(cfg, "#"), "403");
  EXPECT_EQ(join_reply(cfg, "a"), "403");
  EXPECT_EQ(join_reply(cfg, "+a"), "403");
  EXPECT_EQ(join_reply(cfg, "!a"), "403");
  EXPECT_EQ(join_reply(cfg, "#a\x07z"), "403");
  EXPECT_EQ(join_reply(cfg, "#[]\\~{}|^"), "JOIN");
  H h(cfg);
  auto& a = h.user("alice");
  h.send(a, "JOIN #a,b");  // the comma separates: #a joins, b is no channel
  auto lines = a.take();
  EXPECT_EQ(H::only(lines, "JOIN").size(), 1u);
  EXPECT_EQ(H::only(lines, "403").size(), 1u);
}

// Casemapping: rfc1459 folds []\~ to {}|^, rfc1459-strict all but ~, ascii none of them; A-Z always.
TEST(IrcNameRules, CasemappingsFoldTheirOwnCharacters) {
  EXPECT_EQ(fold("Nick[]\\~", Casemapping::rfc1459), "nick{}|^");
  EXPECT_EQ(fold("Nick[]\\~", Casemapping::strict_rfc1459), "nick{}|~");
  EXPECT_EQ(fold("Nick[]\\~", Casemapping::ascii), "nick[]\\~");
  EXPECT_TRUE(mask_match("N[*", "n{x", Casemapping::rfc1459));
  EXPECT_FALSE(mask_match("N[*", "n{x", Casemapping::ascii));
  EXPECT_TRUE(mask_match("N[*", "n[x", Casemapping::ascii));
  for (Casemapping cm : {Casemapping::rfc1459, Casemapping::strict_rfc1459, Casemapping::ascii}) {
    EXPECT_EQ(parse_casemapping(casemapping_name(cm)), cm);
  }
  EXPECT_EQ(parse_casemapping("strict-rfc1459"), Casemapping::strict_rfc1459) << "the other spelling";
  EXPECT_FALSE(parse_casemapping("RFC1459"));
  EXPECT_FALSE(parse_casemapping("rfc7613"));
}

// Nick collisions (433), bans and WHO masks follow the configured mapping.
TEST(IrcNameRules, NickBanAndWhoFollowTheCasemapping) {
  for (Casemapping cm : {Casemapping::rfc1459, Casemapping::strict_rfc1459, Casemapping::ascii}) {
    Config cfg = quiet();
    cfg.casemapping = cm;
    bool folds = cm != Casemapping::ascii;
    H h(cfg);
    auto& a = h.user("a[b]");
    H::Cli& c = h.connect();
    h.register_as(c, "A{B}", "x");
    EXPECT_EQ(H::has(c.take(), "433"), folds) << casemapping_name(cm);
    h.send(c, "NICK A[B]");  // A-Z folds under every mapping
    EXPECT_TRUE(H::has(c.take(), "433")) << casemapping_name(cm);
    auto& b = h.user("x|y");
    h.send(a, "JOIN #c");
    h.send(a, "MODE #c +b X\\Y!*@*");
    a.take();
    h.send(b, "JOIN #c");
    EXPECT_EQ(H::has(b.take(), "474"), folds) << casemapping_name(cm);
    h.send(a, "WHO X\\*");
    EXPECT_EQ(H::only(a.take(), "352").size(), folds ? 1u : 0u) << casemapping_name(cm);
    h.check();
  }
}

// A reload keeps the casemapping while clients are connected (the name tables are keyed by it)
// and takes it when nobody is.
TEST(IrcNameRules, ReloadChangesTheCasemappingOnlyWithoutClients) {
  Config cfg = quiet();
  H h(cfg);
  Config ascii = quiet();
  ascii.casemapping = Casemapping::ascii;
  ascii.nick_len = 12;
  auto& a = h.user("n[");
  h.server->reload(ascii);
  EXPECT_EQ(h.server->config().casemapping, Casemapping::rfc1459);
  EXPECT_EQ(h.server->config().nick_len, 12u);  // the rest of the reload applies
  H::Cli& c = h.connect();
  h.register_as(c, "n{", "x");
  EXPECT_TRUE(H::has(c.take(), "433"));
  h.check();
  h.send(a, "QUIT");
  h.send(c, "QUIT");
  h.server->disconnected(*a.id, "gone");
  h.server->disconnected(*c.id, "gone");
  h.server->reload(ascii);
  EXPECT_EQ(h.server->config().casemapping, Casemapping::ascii);
  H::Cli& d = h.connect();
  h.register_as(d, "n{", "x");
  EXPECT_TRUE(H::has(d.take(), "001"));
  auto& e = h.user("n[");
  EXPECT_TRUE(e.take().empty());
  h.send(e, "WHOIS n[");
  EXPECT_TRUE(H::has(e.take(), "311"));
  h.check();
}
