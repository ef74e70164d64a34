// The command table and every command handler of irc::Server (RFC 1459 / RFC 2812 / modern
// ircdocs numerics). Arity and registration state are checked by dispatch() from the table.
#include "server_impl.hpp"

#include "sockit/irc/names.hpp"
#include "sockit/irc/password.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>

namespace sockit::irc {

namespace {

using S = ServerImpl;
constexpr std::size_t kUnlimited = static_cast<std::size_t>(-1);

struct CapInfo {
  std::string_view name;
  unsigned bit;
};
constexpr CapInfo kCaps[] = {
    {"echo-message", kCapEchoMessage},
    {"multi-prefix", kCapMultiPrefix},
    {"server-time", kCapServerTime},
    {"userhost-in-names", kCapUserhostInNames},
};

std::string caps_string(unsigned bits) {
  std::string out;
  for (auto& ci : kCaps) {
    if (bits & ci.bit) {
      if (!out.empty()) out += ' ';
      out += ci.name;
    }
  }
  return out;
}

std::string all_caps() { return caps_string(~0u); }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

/// Checks an optional <server> parameter; 402 when it is not us.
bool our_server(S& s, Client& c, const Message& m, std::size_t index) {
  if (m.params.size() <= index || m.params[index].empty()) return true;
  if (mask_match(m.params[index], s.cfg_.server_name)) return true;
  s.send(c, s.rpl(c, "402").p(m.params[index]).t("No such server"));
  return false;
}

std::string prefixes(const Member& m, bool multi) {
  std::string p;
  if (m.op) p += '@';
  if (m.voice && (multi || p.empty())) p += '+';
  return p;
}

// ---- registration -----------------------------------------------------------------------------

void cmd_pass(S&, Client& c, Message& m, TimePoint) { c.pass = m.params[0]; }

void cmd_nick(S& s, Client& c, Message& m, TimePoint now) {
  if (m.params.empty() || m.params[0].empty()) {
    s.send(c, s.rpl(c, "431").t("No nickname given"));
    return;
  }
  const std::string& nick = m.params[0];
  if (!valid_nick(nick, s.cfg_.nick_len)) {
    s.send(c, s.rpl(c, "432").p(nick).t("Erroneous nickname"));
    return;
  }
  Client* other = s.find_nick(nick);
  if (other != nullptr && other != &c) {
    s.send(c, s.rpl(c, "433").p(nick).t("Nickname is already in use"));
    return;
  }
  if (nick == c.nick) return;
  if (c.registered) {
    s.rename(c, nick);
  } else {
    if (!c.nick.empty()) s.nicks_.erase(fold(c.nick));
    c.nick = nick;
    s.nicks_[fold(nick)] = &c;
    s.try_register(c, now);
  }
}

void cmd_user(S& s, Client& c, Message& m, TimePoint now) {
  if (c.got_user) {
    s.send(c, s.rpl(c, "462").t("You may not reregister"));
    return;
  }
  std::string user = clean_username(m.params[0], s.cfg_.user_len);
  if (user.empty()) user = "user";
  c.user = "~" + user;
  c.realname = m.params[3];
  c.got_user = true;
  s.try_register(c, now);
}

void cmd_cap(S& s, Client& c, Message& m, TimePoint now) {
  std::string sub = upper(m.params[0]);
  std::string target = c.display_nick();
  if (sub == "LS") {
    if (!c.registered) c.cap_negotiating = true;
    s.send(c, s.from_server("CAP").p(target).p("LS").t(all_caps()));
  } else if (sub == "LIST") {
    s.send(c, s.from_server("CAP").p(target).p("LIST").t(caps_string(c.caps)));
  } else if (sub == "REQ") {
    if (!c.registered) c.cap_negotiating = true;
    std::string_view req = m.params.size() > 1 ? std::string_view(m.params[1]) : std::string_view();
    unsigned add = 0, remove = 0;
    bool ok = true;
    for (std::string_view word : split_list(req, ' ')) {
      bool neg = word.front() == '-';
      if (neg) word.remove_prefix(1);
      auto it = std::find_if(std::begin(kCaps), std::end(kCaps), [&](const CapInfo& ci) { return ci.name == word; });
      if (it == std::end(kCaps)) {
        ok = false;
        break;
      }
      (neg ? remove : add) |= it->bit;
    }
    if (ok && !req.empty()) {
      c.caps = (c.caps | add) & ~remove;
      s.send(c, s.from_server("CAP").p(target).p("ACK").t(req));
    } else {
      s.send(c, s.from_server("CAP").p(target).p("NAK").t(req));
    }
  } else if (sub == "END") {
    if (!c.registered && c.cap_negotiating) {
      c.cap_negotiating = false;
      s.try_register(c, now);
    }
  } else {
    s.send(c, s.rpl(c, "410").p(m.params[0]).t("Invalid CAP command"));
  }
}

void cmd_ping(S& s, Client& c, Message& m, TimePoint) {
  if (m.params.empty() || m.params[0].empty()) {
    s.send(c, s.rpl(c, "409").t("No origin specified"));
    return;
  }
  s.send(c, s.from_server("PONG").p(s.cfg_.server_name).t(m.params[0]));
}

void cmd_pong(S&, Client& c, Message&, TimePoint) { c.ping_sent.reset(); }

void cmd_quit(S& s, Client& c, Message& m, TimePoint) {
  std::string reason = m.params.empty() || m.params[0].empty() ? std::string("Client Quit") : "Quit: " + m.params[0];
  s.quit(c, truncate_utf8(reason, s.cfg_.kick_len));
}

// ---- channels ---------------------------------------------------------------------------------

void cmd_join(S& s, Client& c, Message& m, TimePoint) {
  if (m.params[0] == "0") {
    while (!c.channels.empty()) {
      Channel& ch = *c.channels.back();
      s.to_channel(ch, s.from(c, "PART").p(ch.name).t("Left all channels").str(), nullptr);
      s.remove_member(ch, c);
    }
    return;
  }
  auto names = split_list(m.params[0]);
  auto keys = m.params.size() > 1 ? split_list(m.params[1]) : std::vector<std::string_view>{};
  for (std::size_t i = 0; i < names.size() && !s.gone(c); ++i) {
    s.join_channel(c, names[i], i < keys.size() ? keys[i] : std::string_view());
  }
}

void cmd_part(S& s, Client& c, Message& m, TimePoint) {
  std::string reason = m.params.size() > 1 ? m.params[1] : std::string();
  for (std::string_view name : split_list(m.params[0])) {
    Channel* ch = s.find_channel(name);
    if (ch == nullptr) {
      s.send(c, s.rpl(c, "403").p(name).t("No such channel"));
      continue;
    }
    if (!ch->find(c.id)) {
      s.send(c, s.rpl(c, "442").p(ch->name).t("You're not on that channel"));
      continue;
    }
    Line l = s.from(c, "PART").p(ch->name);
    if (!reason.empty()) l.t(truncate_utf8(reason, s.cfg_.kick_len));
    s.to_channel(*ch, l.str(), nullptr);
    s.remove_member(*ch, c);
  }
}

void cmd_topic(S& s, Client& c, Message& m, TimePoint) {
  Channel* ch = s.find_channel(m.params[0]);
  if (ch == nullptr) {
    s.send(c, s.rpl(c, "403").p(m.params[0]).t("No such channel"));
    return;
  }
  Member* me = ch->find(c.id);
  if (m.params.size() < 2) {
    if (!me && ch->secret) {
      s.send(c, s.rpl(c, "442").p(ch->name).t("You're not on that channel"));
      return;
    }
    if (ch->topic.empty()) {
      s.send(c, s.rpl(c, "331").p(ch->name).t("No topic is set"));
    } else {
      s.send(c, s.rpl(c, "332").p(ch->name).t(ch->topic));
      s.send(c, s.rpl(c, "333").p(ch->name).p(ch->topic_by).p(std::to_string(ch->topic_time)));
    }
    return;
  }
  if (!me) {
    s.send(c, s.rpl(c, "442").p(ch->name).t("You're not on that channel"));
    return;
  }
  if (ch->topic_lock && !me->op) {
    s.send(c, s.rpl(c, "482").p(ch->name).t("You're not channel operator"));
    return;
  }
  ch->topic = std::string(truncate_utf8(m.params[1], s.cfg_.topic_len));
  ch->topic_by = c.mask();
  ch->topic_time = s.unix_now();
  s.to_channel(*ch, s.from(c, "TOPIC").p(ch->name).t(ch->topic).str(), nullptr);
}

void cmd_names(S& s, Client& c, Message& m, TimePoint) {
  if (m.params.empty() || m.params[0].empty()) {
    // As InspIRCd and Ergo do (and Modern IRC says): one 366 with "*"; its text says why.
    s.send(c, s.rpl(c, "366").p("*").t("End of /NAMES list (name a channel: NAMES #channel)"));
    return;
  }
  for (std::string_view name : split_list(m.params[0])) {
    Channel* ch = s.find_channel(name);
    if (ch && (ch->find(c.id) || !ch->secret)) {
      s.send_names(c, *ch, true);
    } else {
      s.send(c, s.rpl(c, "366").p(name).t("End of /NAMES list"));
    }
  }
}

void cmd_list(S& s, Client& c, Message& m, TimePoint) {
  s.send(c, s.rpl(c, "321").p("Channel").t("Users  Name"));
  auto show = [&](Channel& ch) {
    if (ch.secret && !ch.find(c.id)) return;
    s.send(c, s.rpl(c, "322").p(ch.name).p(std::to_string(ch.members.size())).t(ch.topic));
  };
  if (!m.params.empty() && !m.params[0].empty()) {
    for (std::string_view name : split_list(m.params[0])) {
      if (Channel* ch = s.find_channel(name)) show(*ch);
    }
  } else {
    std::vector<Channel*> all;
    for (auto& [k, ch] : s.channels_) all.push_back(ch.get());
    for (Channel* ch : all) {
      if (s.gone(c)) return;
      show(*ch);
    }
  }
  s.send(c, s.rpl(c, "323").t("End of /LIST"));
}

void cmd_kick(S& s, Client& c, Message& m, TimePoint) {
  Channel* ch = s.find_channel(m.params[0]);
  if (ch == nullptr) {
    s.send(c, s.rpl(c, "403").p(m.params[0]).t("No such channel"));
    return;
  }
  Member* me = ch->find(c.id);
  if (!me) {
    s.send(c, s.rpl(c, "442").p(ch->name).t("You're not on that channel"));
    return;
  }
  if (!me->op) {
    s.send(c, s.rpl(c, "482").p(ch->name).t("You're not channel operator"));
    return;
  }
  std::string reason = m.params.size() > 2 && !m.params[2].empty() ? m.params[2] : c.nick;
  reason = std::string(truncate_utf8(reason, s.cfg_.kick_len));
  auto victims = split_list(m.params[1]);
  if (victims.size() > s.cfg_.max_targets) victims.resize(s.cfg_.max_targets);
  std::string chan_name = ch->name;
  for (std::string_view v : victims) {
    ch = s.find_channel(chan_name);  // the channel disappears when its last member is kicked
    if (ch == nullptr) break;
    Client* t = s.find_nick(v);
    if (t == nullptr) {
      s.send(c, s.rpl(c, "401").p(v).t("No such nick/channel"));
      continue;
    }
    if (!ch->find(t->id)) {
      s.send(c, s.rpl(c, "441").p(t->nick).p(ch->name).t("They aren't on that channel"));
      continue;
    }
    s.to_channel(*ch, s.from(c, "KICK").p(ch->name).p(t->nick).t(reason).str(), nullptr);
    if (Channel* still = s.find_channel(chan_name); still && still->find(t->id)) s.remove_member(*still, *t);
  }
}

void cmd_invite(S& s, Client& c, Message& m, TimePoint) {
  Client* t = s.find_nick(m.params[0]);
  if (t == nullptr || !t->registered) {
    s.send(c, s.rpl(c, "401").p(m.params[0]).t("No such nick/channel"));
    return;
  }
  Channel* ch = s.find_channel(m.params[1]);
  std::string chan = ch ? ch->name : m.params[1];
  if (ch) {
    Member* me = ch->find(c.id);
    if (!me) {
      s.send(c, s.rpl(c, "442").p(ch->name).t("You're not on that channel"));
      return;
    }
    if (ch->find(t->id)) {
      s.send(c, s.rpl(c, "443").p(t->nick).p(ch->name).t("is already on channel"));
      return;
    }
    if (ch->invite_only && !me->op) {
      s.send(c, s.rpl(c, "482").p(ch->name).t("You're not channel operator"));
      return;
    }
    ch->invited.insert(t->id);
  } else if (!valid_channel(chan, s.cfg_.channel_len)) {
    s.send(c, s.rpl(c, "403").p(chan).t("No such channel"));
    return;
  }
  s.send(c, s.rpl(c, "341").p(t->nick).p(chan));
  if (!t->away.empty()) s.send(c, s.rpl(c, "301").p(t->nick).t(t->away));
  s.send(*t, s.from(c, "INVITE").p(t->nick).t(chan));
}

// ---- messages ---------------------------------------------------------------------------------

void message(S& s, Client& c, Message& m, TimePoint now, bool notice) {
  std::string_view cmd = notice ? "NOTICE" : "PRIVMSG";
  if (m.params.empty() || m.params[0].empty()) {
    if (!notice) s.send(c, s.rpl(c, "411").t("No recipient given (" + std::string(cmd) + ")"));
    return;
  }
  if (m.params.size() < 2 || m.params[1].empty()) {
    if (!notice) s.send(c, s.rpl(c, "412").t("No text to send"));
    return;
  }
  const std::string& text = m.params[1];
  auto targets = split_list(m.params[0]);
  if (targets.size() > s.cfg_.max_targets) {
    if (!notice) s.send(c, s.rpl(c, "407").p(m.params[0]).t("Too many recipients"));
    return;
  }
  if (!notice) c.last_message = now;
  std::unordered_set<std::string> done;
  for (std::string_view target : targets) {
    if (s.gone(c)) return;
    if (!done.insert(fold(target)).second) continue;
    if (is_channel_name(target)) {
      Channel* ch = s.find_channel(target);
      if (ch == nullptr) {
        if (!notice) s.send(c, s.rpl(c, "401").p(target).t("No such nick/channel"));
        continue;
      }
      Member* me = ch->find(c.id);
      bool privileged = me && (me->op || me->voice);
      bool banned = !privileged && std::any_of(ch->bans.begin(), ch->bans.end(),
                                               [&](const Ban& b) { return mask_match(b.mask, c.mask()); });
      if ((ch->no_external && !me) || (ch->moderated && !privileged) || banned) {
        if (!notice) s.send(c, s.rpl(c, "404").p(ch->name).t("Cannot send to channel"));
        continue;
      }
      std::string wire = s.from(c, cmd).p(ch->name).t(text).str();
      if (c.caps & kCapEchoMessage) {
        s.to_channel(*ch, wire, nullptr);  // the sender is a receiver: its SendQ may end the run
      } else {
        s.to_channel_batched(*ch, wire, &c);
      }
    } else {
      Client* t = s.find_nick(target);
      if (t == nullptr || !t->registered) {
        if (!notice) s.send(c, s.rpl(c, "401").p(target).t("No such nick/channel"));
        continue;
      }
      std::string wire = s.from(c, cmd).p(t->nick).t(text).str();
      s.send(*t, wire);
      if ((c.caps & kCapEchoMessage) && t != &c) s.send(c, wire);
      if (!notice && !t->away.empty()) s.send(c, s.rpl(c, "301").p(t->nick).t(t->away));
    }
  }
}

void cmd_privmsg(S& s, Client& c, Message& m, TimePoint now) { message(s, c, m, now, false); }
void cmd_notice(S& s, Client& c, Message& m, TimePoint now) { message(s, c, m, now, true); }

// ---- modes ------------------------------------------------------------------------------------

void user_mode(S& s, Client& c, Message& m) {
  Client* t = s.find_nick(m.params[0]);
  if (t == nullptr) {
    s.send(c, s.rpl(c, "401").p(m.params[0]).t("No such nick/channel"));
    return;
  }
  if (t != &c) {
    s.send(c, s.rpl(c, "502").t("Can't change mode for other users"));
    return;
  }
  auto current = [&] {
    std::string r = "+";
    if (c.invisible) r += 'i';
    if (c.oper) r += 'o';
    if (c.wallops) r += 'w';
    return r;
  };
  if (m.params.size() < 2) {
    s.send(c, s.rpl(c, "221").p(current()));
    return;
  }
  bool add = true;
  bool unknown = false;
  std::string applied;
  char dir = 0;
  for (char ch : m.params[1]) {
    if (ch == '+' || ch == '-') {
      add = ch == '+';
      continue;
    }
    bool* flag = nullptr;
    switch (ch) {
      case 'i': flag = &c.invisible; break;
      case 'w': flag = &c.wallops; break;
      case 'o':
        if (add) continue;  // +o only through OPER
        flag = &c.oper;
        break;
      default: unknown = true; continue;
    }
    if (*flag == add) continue;
    *flag = add;
    char want = add ? '+' : '-';
    if (dir != want) {
      applied += want;
      dir = want;
    }
    applied += ch;
  }
  if (unknown) s.send(c, s.rpl(c, "501").t("Unknown MODE flag"));
  if (!applied.empty()) s.send(c, Line(c.nick, "MODE").p(c.nick).t(applied));
}

void channel_mode(S& s, Client& c, Message& m) {
  Channel* ch = s.find_channel(m.params[0]);
  if (ch == nullptr) {
    s.send(c, s.rpl(c, "403").p(m.params[0]).t("No such channel"));
    return;
  }
  Member* me = ch->find(c.id);
  if (m.params.size() < 2) {
    Line l = s.rpl(c, "324").p(ch->name);
    std::string modes = ch->mode_string(me != nullptr);
    for (std::string_view part : split_list(modes, ' ')) l.p(part);
    s.send(c, l);
    s.send(c, s.rpl(c, "329").p(ch->name).p(std::to_string(ch->created)));
    return;
  }
  bool add = true;
  std::size_t next_arg = 2;
  std::size_t param_modes = 0;
  std::string applied_modes;
  std::vector<std::string> applied_args;
  char dir = 0;
  bool listed = false;
  bool denied = false;
  auto applied = [&](bool plus, char mode, std::string arg = {}) {
    char want = plus ? '+' : '-';
    if (dir != want) {
      applied_modes += want;
      dir = want;
    }
    applied_modes += mode;
    if (!arg.empty()) applied_args.push_back(std::move(arg));
  };
  auto need_op = [&]() {
    if (me && me->op) return true;
    if (!denied) s.send(c, s.rpl(c, "482").p(ch->name).t("You're not channel operator"));
    denied = true;
    return false;
  };
  auto take_arg = [&]() -> std::optional<std::string> {
    if (next_arg >= m.params.size()) return std::nullopt;
    return m.params[next_arg++];
  };
  for (char mode : m.params[1]) {
    if (s.gone(c)) return;
    if (mode == '+' || mode == '-') {
      add = mode == '+';
      continue;
    }
    switch (mode) {
      case 'b': {
        auto arg = take_arg();
        if (!arg) {
          if (listed) break;
          listed = true;
          if (ch->secret && !me) break;
          for (const Ban& b : ch->bans) {
            s.send(c, s.rpl(c, "367").p(ch->name).p(b.mask).p(b.setter).p(std::to_string(b.when)));
          }
          s.send(c, s.rpl(c, "368").p(ch->name).t("End of channel ban list"));
          break;
        }
        if (++param_modes > s.cfg_.max_modes || !need_op()) break;
        std::string mask = normalize_mask(*arg);
        auto it = std::find_if(ch->bans.begin(), ch->bans.end(),
                               [&](const Ban& b) { return equal_folded(b.mask, mask); });
        if (add && it == ch->bans.end()) {
          if (ch->bans.size() >= s.cfg_.max_bans) {
            s.send(c, s.rpl(c, "478").p(ch->name).p(mask).t("Channel ban list is full"));
            break;
          }
          ch->bans.push_back({mask, c.nick, s.unix_now()});
          applied(true, 'b', mask);
        } else if (!add && it != ch->bans.end()) {
          applied(false, 'b', it->mask);
          ch->bans.erase(it);
        }
        break;
      }
      case 'o':
      case 'v': {
        auto arg = take_arg();
        if (!arg || ++param_modes > s.cfg_.max_modes || !need_op()) break;
        Client* t = s.find_nick(*arg);
        if (t == nullptr) {
          s.send(c, s.rpl(c, "401").p(*arg).t("No such nick/channel"));
          break;
        }
        Member* tm = ch->find(t->id);
        if (!tm) {
          s.send(c, s.rpl(c, "441").p(t->nick).p(ch->name).t("They aren't on that channel"));
          break;
        }
        bool& flag = mode == 'o' ? tm->op : tm->voice;
        if (flag == add) break;
        flag = add;
        applied(add, mode, t->nick);
        break;
      }
      case 'k': {
        std::optional<std::string> arg = take_arg();
        if (add && (!arg || arg->empty())) {
          s.send(c, s.rpl(c, "696").p(ch->name).p("k").p("*").t("You must specify a parameter for the key mode"));
          break;
        }
        if (++param_modes > s.cfg_.max_modes || !need_op()) break;
        if (add && (arg->front() == ':' || arg->find_first_of(" ,") != std::string::npos)) {
          // A key with a space, a comma or a leading ':' cannot be given back in JOIN (nor shown
          // in 324 as one word): refused, as Modern IRC allows (525 ERR_INVALIDKEY).
          s.send(c, s.rpl(c, "525").p(ch->name).t("Key is not well-formed"));
          break;
        }
        if (add) {
          std::string key = arg->substr(0, 23);
          if (key == ch->key) break;
          ch->key = key;
          applied(true, 'k', key);
        } else if (!ch->key.empty()) {
          ch->key.clear();
          applied(false, 'k', "*");
        }
        break;
      }
      case 'l': {
        if (add) {
          auto arg = take_arg();
          if (!arg) {
            s.send(c, s.rpl(c, "696").p(ch->name).p("l").p("*").t("You must specify a parameter for the limit mode"));
            break;
          }
          if (++param_modes > s.cfg_.max_modes || !need_op()) break;
          std::size_t n = 0;
          auto [p, ec] = std::from_chars(arg->data(), arg->data() + arg->size(), n);
          if (ec != std::errc() || p != arg->data() + arg->size() || n == 0) {
            s.send(c, s.rpl(c, "696").p(ch->name).p("l").p(*arg).t("Invalid limit"));
            break;
          }
          if (n == ch->limit) break;
          ch->limit = n;
          applied(true, 'l', std::to_string(n));
        } else {
          if (!need_op() || ch->limit == 0) break;
          ch->limit = 0;
          applied(false, 'l');
        }
        break;
      }
      case 'i':
      case 'm':
      case 'n':
      case 's':
      case 't': {
        if (!need_op()) break;
        bool& flag = mode == 'i'   ? ch->invite_only
                     : mode == 'm' ? ch->moderated
                     : mode == 'n' ? ch->no_external
                     : mode == 's' ? ch->secret
                                   : ch->topic_lock;
        if (flag == add) break;
        flag = add;
        applied(add, mode);
        break;
      }
      default:
        s.send(c, s.rpl(c, "472").p(std::string(1, mode)).t("is unknown mode char to me for " + ch->name));
        break;
    }
  }
  if (applied_modes.empty() || s.gone(c)) return;
  Line l = s.from(c, "MODE").p(ch->name);
  if (applied_args.empty()) {
    l.t(applied_modes);
  } else {
    l.p(applied_modes);
    for (std::size_t i = 0; i + 1 < applied_args.size(); ++i) l.p(applied_args[i]);
    l.t(applied_args.back());
  }
  s.to_channel(*ch, l.str(), nullptr);
}

void cmd_mode(S& s, Client& c, Message& m, TimePoint) {
  if (is_channel_name(m.params[0])) {
    channel_mode(s, c, m);
  } else {
    user_mode(s, c, m);
  }
}

// ---- queries ----------------------------------------------------------------------------------

void who_reply(S& s, Client& c, const Client& t, std::string_view chan, const Member* mem) {
  std::string flags = t.away.empty() ? "H" : "G";
  if (t.oper) flags += '*';
  if (mem) flags += prefixes(*mem, (c.caps & kCapMultiPrefix) != 0);
  s.send(c, s.rpl(c, "352").p(chan).p(t.user).p(t.host).p(s.cfg_.server_name).p(t.nick).p(flags).t("0 " + t.realname));
}

void cmd_who(S& s, Client& c, Message& m, TimePoint) {
  std::string mask = m.params.empty() ? std::string("*") : m.params[0];
  bool opers_only = m.params.size() > 1 && m.params[1].find('o') != std::string::npos;
  if (is_channel_name(mask)) {
    Channel* ch = s.find_channel(mask);
    if (ch && (ch->find(c.id) || !ch->secret)) {
      bool member = ch->find(c.id) != nullptr;
      std::vector<std::pair<Client*, Member>> list;
      for (auto& [id, mem] : ch->members) list.emplace_back(mem.client, mem);
      for (auto& [t, mem] : list) {
        if (s.gone(c)) return;
        if (opers_only && !t->oper) continue;
        if (!member && t->invisible && t != &c) continue;
        who_reply(s, c, *t, ch->name, &mem);
      }
    }
  } else {
    bool all = mask == "0" || mask == "*";
    std::vector<Client*> list;
    for (auto& [id, t] : s.clients_) {
      if (!t->registered || t->dead) continue;
      if (opers_only && !t->oper) continue;
      if (all) {
        if (!s.is_visible_to(*t, c)) continue;
      } else if (!mask_match(mask, t->nick) && !mask_match(mask, t->host) && !mask_match(mask, t->user) &&
                 !mask_match(mask, t->realname)) {
        continue;
      } else if (t->invisible && !equal_folded(mask, t->nick) && !s.is_visible_to(*t, c)) {
        continue;
      }
      list.push_back(t.get());
    }
    std::sort(list.begin(), list.end(), [](Client* a, Client* b) { return a->id < b->id; });
    for (Client* t : list) {
      if (s.gone(c)) return;
      who_reply(s, c, *t, "*", nullptr);
    }
  }
  s.send(c, s.rpl(c, "315").p(mask).t("End of WHO list"));
}

void cmd_whois(S& s, Client& c, Message& m, TimePoint now) {
  std::string_view nicks = m.params.size() > 1 ? m.params[1] : m.params[0];
  auto list = split_list(nicks);
  if (list.empty()) {
    s.send(c, s.rpl(c, "431").t("No nickname given"));
    return;
  }
  if (list.size() > s.cfg_.max_targets) list.resize(s.cfg_.max_targets);
  for (std::string_view n : list) {
    Client* t = s.find_nick(n);
    if (t == nullptr || !t->registered) {
      s.send(c, s.rpl(c, "401").p(n).t("No such nick/channel"));
      continue;
    }
    s.send(c, s.rpl(c, "311").p(t->nick).p(t->user).p(t->host).p("*").t(t->realname));
    std::string chans;
    for (Channel* ch : t->channels) {
      if (ch->secret && !ch->find(c.id)) continue;
      std::string entry = prefixes(*ch->find(t->id), false) + ch->name;
      if (chans.size() + entry.size() > 400) {
        s.send(c, s.rpl(c, "319").p(t->nick).t(chans));
        chans.clear();
      }
      if (!chans.empty()) chans += ' ';
      chans += entry;
    }
    if (!chans.empty()) s.send(c, s.rpl(c, "319").p(t->nick).t(chans));
    s.send(c, s.rpl(c, "312").p(t->nick).p(s.cfg_.server_name).t(s.cfg_.description));
    if (t->oper) s.send(c, s.rpl(c, "313").p(t->nick).t("is an IRC operator"));
    if (!t->away.empty()) s.send(c, s.rpl(c, "301").p(t->nick).t(t->away));
    auto idle = std::chrono::duration_cast<std::chrono::seconds>(now - t->last_message).count();
    auto signon = std::chrono::duration_cast<std::chrono::seconds>(t->signon.time_since_epoch()).count();
    s.send(c, s.rpl(c, "317").p(t->nick).p(std::to_string(std::max<long long>(0, idle))).p(std::to_string(signon))
                  .t("seconds idle, signon time"));
  }
  s.send(c, s.rpl(c, "318").p(nicks).t("End of /WHOIS list"));
}

void cmd_whowas(S& s, Client& c, Message& m, TimePoint) {
  std::size_t max = kUnlimited;
  if (m.params.size() > 1) {
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(m.params[1].data(), m.params[1].data() + m.params[1].size(), n);
    if (ec == std::errc() && n > 0) max = n;
  }
  auto list = split_list(m.params[0]);
  if (list.size() > s.cfg_.max_targets) list.resize(s.cfg_.max_targets);
  for (std::string_view n : list) {
    std::size_t found = 0;
    for (const WhowasEntry& e : s.whowas_) {
      if (found >= max) break;
      if (!equal_folded(e.nick, n)) continue;
      ++found;
      s.send(c, s.rpl(c, "314").p(e.nick).p(e.user).p(e.host).p("*").t(e.realname));
      s.send(c, s.rpl(c, "312").p(e.nick).p(s.cfg_.server_name)
                    .t(format_time(SysTime(std::chrono::seconds(e.when)))));
    }
    if (found == 0) s.send(c, s.rpl(c, "406").p(n).t("There was no such nickname"));
  }
  s.send(c, s.rpl(c, "369").p(m.params[0]).t("End of WHOWAS"));
}

void cmd_away(S& s, Client& c, Message& m, TimePoint) {
  if (m.params.empty() || m.params[0].empty()) {
    c.away.clear();
    s.send(c, s.rpl(c, "305").t("You are no longer marked as being away"));
  } else {
    c.away = std::string(truncate_utf8(m.params[0], s.cfg_.away_len));
    s.send(c, s.rpl(c, "306").t("You have been marked as being away"));
  }
}

void cmd_motd(S& s, Client& c, Message& m, TimePoint) {
  if (our_server(s, c, m, 0)) s.send_motd(c);
}

void cmd_lusers(S& s, Client& c, Message& m, TimePoint) {
  if (our_server(s, c, m, 1)) s.send_lusers(c);
}

void cmd_version(S& s, Client& c, Message& m, TimePoint) {
  if (!our_server(s, c, m, 0)) return;
  s.send(c, s.rpl(c, "351").p(std::string(kVersion) + ".").p(s.cfg_.server_name).t(s.cfg_.description));
  s.send_isupport(c);
}

void cmd_time(S& s, Client& c, Message& m, TimePoint) {
  if (!our_server(s, c, m, 0)) return;
  s.send(c, s.rpl(c, "391").p(s.cfg_.server_name).t(format_time(s.wall_now())));
}

void cmd_admin(S& s, Client& c, Message& m, TimePoint) {
  if (!our_server(s, c, m, 0)) return;
  const auto& a = s.cfg_.admin;
  s.send(c, s.rpl(c, "256").p(s.cfg_.server_name).t("Administrative info"));
  s.send(c, s.rpl(c, "257").t(a.size() > 0 ? a[0] : ""));
  s.send(c, s.rpl(c, "258").t(a.size() > 1 ? a[1] : ""));
  s.send(c, s.rpl(c, "259").t(a.size() > 2 ? a[2] : ""));
}

void cmd_info(S& s, Client& c, Message& m, TimePoint) {
  if (!our_server(s, c, m, 0)) return;
  s.send(c, s.rpl(c, "371").t(std::string(kVersion) + ": the IRC server of the sockit toolkit"));
  s.send(c, s.rpl(c, "371").t("Sans-I/O core driven by the sockit event loop (select/poll/epoll)"));
  s.send(c, s.rpl(c, "371").t("Started " + format_time(s.created_)));
  s.send(c, s.rpl(c, "374").t("End of /INFO list"));
}

void cmd_ison(S& s, Client& c, Message& m, TimePoint) {
  std::string out;
  std::size_t count = 0;
  for (const std::string& p : m.params) {
    for (std::string_view n : split_list(p, ' ')) {
      if (++count > 64) break;
      Client* t = s.find_nick(n);
      if (t && t->registered) {
        if (!out.empty()) out += ' ';
        out += t->nick;
      }
    }
  }
  s.send(c, s.rpl(c, "303").t(out));
}

void cmd_userhost(S& s, Client& c, Message& m, TimePoint) {
  std::string out;
  for (std::size_t i = 0; i < m.params.size() && i < 5; ++i) {
    Client* t = s.find_nick(m.params[i]);
    if (!t || !t->registered) continue;
    if (!out.empty()) out += ' ';
    out += t->nick + (t->oper ? "*" : "") + "=" + (t->away.empty() ? "+" : "-") + t->user + "@" + t->host;
  }
  s.send(c, s.rpl(c, "302").t(out));
}

void cmd_oper(S& s, Client& c, Message& m, TimePoint now) {
  const Operator* op = nullptr;
  for (const Operator& o : s.cfg_.operators) {
    if (o.name == m.params[0]) op = &o;
  }
  bool allowed = op != nullptr && (op->host_mask == "*" || mask_match(normalize_mask(op->host_mask), c.mask()));
  // An unknown name or host is checked against some operator's hash anyway and fails: the same
  // work, delay and reply (491) as a wrong password, so replies do not tell which names exist.
  std::string hash = op != nullptr ? op->password_hash
                                   : (s.cfg_.operators.empty() ? std::string() : s.cfg_.operators.front().password_hash);
  // Only a configured name is logged: a stray parameter could be someone's password.
  c.oper_name = op != nullptr ? op->name : std::string();
  s.start_check(c, AuthCheck::Kind::oper, m.params[1], std::move(hash), allowed, now);
}

void cmd_kill(S& s, Client& c, Message& m, TimePoint) {
  if (!c.oper) {
    s.send(c, s.rpl(c, "481").t("Permission Denied- You're not an IRC operator"));
    return;
  }
  Client* t = s.find_nick(m.params[0]);
  if (t == nullptr) {
    if (equal_folded(m.params[0], s.cfg_.server_name)) {
      s.send(c, s.rpl(c, "483").t("You can't kill a server!"));
    } else {
      s.send(c, s.rpl(c, "401").p(m.params[0]).t("No such nick/channel"));
    }
    return;
  }
  std::string reason = m.params.size() > 1 && !m.params[1].empty() ? m.params[1] : c.nick;
  reason = std::string(truncate_utf8(reason, s.cfg_.kick_len));
  s.event(Event::Kind::killed, *t, "by " + c.nick + ": " + reason);
  s.send(*t, s.from(c, "KILL").p(t->nick).t(reason));
  s.quit(*t, "Killed (" + c.nick + " (" + reason + "))");
}

void cmd_wallops(S& s, Client& c, Message& m, TimePoint) {
  if (!c.oper) {
    s.send(c, s.rpl(c, "481").t("Permission Denied- You're not an IRC operator"));
    return;
  }
  std::string wire = s.from(c, "WALLOPS").t(m.params[0]).str();
  std::vector<Client*> targets;
  for (auto& [id, t] : s.clients_) {
    if (t->registered && (t->wallops || t->oper)) targets.push_back(t.get());
  }
  for (Client* t : targets) s.send(*t, wire);
}

// ngIRCd's _CMD table: name, handler, allowed states, min and max parameters.
constexpr CommandSpec kCommands[] = {
    {"ADMIN", cmd_admin, State::registered, 0, 1},
    {"AWAY", cmd_away, State::registered, 0, 1},
    {"CAP", cmd_cap, State::any, 1, 3},
    {"INFO", cmd_info, State::registered, 0, 1},
    {"INVITE", cmd_invite, State::registered, 2, 2},
    {"ISON", cmd_ison, State::registered, 1, kUnlimited},
    {"JOIN", cmd_join, State::registered, 1, 2},
    {"KICK", cmd_kick, State::registered, 2, 3},
    {"KILL", cmd_kill, State::registered, 1, 2},
    {"LIST", cmd_list, State::registered, 0, 2},
    {"LUSERS", cmd_lusers, State::registered, 0, 2},
    {"MODE", cmd_mode, State::registered, 1, kUnlimited},
    {"MOTD", cmd_motd, State::registered, 0, 1},
    {"NAMES", cmd_names, State::registered, 0, 2},
    {"NICK", cmd_nick, State::any, 0, 2},
    {"NOTICE", cmd_notice, State::registered, 0, 2},
    {"OPER", cmd_oper, State::registered, 2, 2},
    {"PART", cmd_part, State::registered, 1, 2},
    {"PASS", cmd_pass, State::unregistered, 1, 3},
    {"PING", cmd_ping, State::any, 0, 2},
    {"PONG", cmd_pong, State::any, 0, 2},
    {"PRIVMSG", cmd_privmsg, State::registered, 0, 2},
    {"QUIT", cmd_quit, State::any, 0, 1},
    {"TIME", cmd_time, State::registered, 0, 1},
    {"TOPIC", cmd_topic, State::registered, 1, 2},
    {"USER", cmd_user, State::unregistered, 4, 4},
    {"USERHOST", cmd_userhost, State::registered, 1, 5},
    {"VERSION", cmd_version, State::registered, 0, 1},
    {"WALLOPS", cmd_wallops, State::registered, 1, 1},
    {"WHO", cmd_who, State::registered, 0, 2},
    {"WHOIS", cmd_whois, State::registered, 1, 2},
    {"WHOWAS", cmd_whowas, State::registered, 1, 3},
};

}  // namespace

const CommandSpec* find_command(std::string_view name) {
  auto it = std::lower_bound(std::begin(kCommands), std::end(kCommands), name,
                             [](const CommandSpec& spec, std::string_view n) { return spec.name < n; });
  return it != std::end(kCommands) && it->name == name ? &*it : nullptr;
}

void ServerImpl::dispatch(Client& c, Message& m, TimePoint now) {
  if (gone(c)) return;
  const CommandSpec* spec = find_command(m.command);
  if (spec == nullptr) {
    if (c.registered) {
      send(c, rpl(c, "421").p(m.command).t("Unknown command"));
    } else {
      send(c, rpl(c, "451").t("You have not registered"));
    }
    return;
  }
  if (spec->state == State::registered && !c.registered) {
    // irssi sends "JOIN :" while negotiating CAP; answering 451 would print an error in its
    // status window, and nothing is lost by ignoring an empty JOIN.
    if (spec->name == "JOIN" && (m.params.empty() || m.params[0].empty())) return;
    send(c, rpl(c, "451").t("You have not registered"));
    return;
  }
  if (spec->state == State::unregistered && c.registered) {
    send(c, rpl(c, "462").t("You may not reregister"));
    return;
  }
  if (m.params.size() > spec->max_params && spec->max_params > 0) {
    // Extra words join the last parameter, as InspIRCd does: "QUIT a b c" quits with "a b c",
    // "PRIVMSG bob hi there" says "hi there" (only too few parameters are an error).
    std::string& last = m.params[spec->max_params - 1];
    for (std::size_t i = spec->max_params; i < m.params.size(); ++i) (last += ' ') += m.params[i];
    m.params.resize(spec->max_params);
  }
  if (m.params.size() < spec->min_params) {
    send(c, rpl(c, "461").p(spec->name).t("Not enough parameters"));
    return;
  }
  spec->handler(*this, c, m, now);
}

// ---- registration and the welcome burst ---------------------------------------------------------

void ServerImpl::try_register(Client& c, TimePoint now) {
  if (c.registered || gone(c) || c.check || c.nick.empty() || !c.got_user || c.cap_negotiating) return;
  if (!cfg_.password_hash.empty()) {  // the verdict calls complete_registration (auth.cpp)
    start_check(c, AuthCheck::Kind::server_password, c.pass, cfg_.password_hash, true, now);
    return;
  }
  complete_registration(c, now);
}

void ServerImpl::complete_registration(Client& c, TimePoint now) {
  c.registered = true;
  c.last_seen = c.last_message = c.refill = now;
  c.tokens = static_cast<double>(cfg_.flood_burst);
  counters_.max_registered = std::max(counters_.max_registered, stats().registered);
  event(Event::Kind::registered, c);
  ++counters_.registrations;
  send_welcome(c);
}

void ServerImpl::send_welcome(Client& c) {
  send(c, rpl(c, "001").t("Welcome to the " + cfg_.network + " IRC Network " + c.mask()));
  send(c, rpl(c, "002").t("Your host is " + cfg_.server_name + ", running version " + std::string(kVersion)));
  send(c, rpl(c, "003").t("This server was created " + format_time(created_)));
  send(c, rpl(c, "004").p(cfg_.server_name).p(kVersion).p("iow").p("biklmnopstv").p("bklov"));
  send_isupport(c);
  send_lusers(c);
  send_motd(c);
}

void ServerImpl::send_isupport(Client& c) {
  std::vector<std::string> tokens = {
      "AWAYLEN=" + std::to_string(cfg_.away_len),
      "CASEMAPPING=rfc1459",
      "CHANLIMIT=#&:" + std::to_string(cfg_.max_channels_per_client),
      "CHANMODES=b,k,l,imnst",
      "CHANNELLEN=" + std::to_string(cfg_.channel_len),
      "CHANTYPES=#&",
      "ELIST=",
      "HOSTLEN=64",
      "KICKLEN=" + std::to_string(cfg_.kick_len),
      "MAXLIST=b:" + std::to_string(cfg_.max_bans),
      "MAXTARGETS=" + std::to_string(cfg_.max_targets),
      "MODES=" + std::to_string(cfg_.max_modes),
      "NETWORK=" + cfg_.network,
      "NICKLEN=" + std::to_string(cfg_.nick_len),
      "PREFIX=(ov)@+",
      "TARGMAX=JOIN:,KICK:" + std::to_string(cfg_.max_targets) + ",NAMES:,LIST:,NOTICE:" +
          std::to_string(cfg_.max_targets) + ",PRIVMSG:" + std::to_string(cfg_.max_targets) +
          ",WHOIS:" + std::to_string(cfg_.max_targets),
      "TOPICLEN=" + std::to_string(cfg_.topic_len),
      "USERLEN=" + std::to_string(cfg_.user_len + 1),
  };
  if (cfg_.enforce_utf8) tokens.push_back("UTF8ONLY");
  for (std::size_t i = 0; i < tokens.size(); i += 12) {
    Line l = rpl(c, "005");
    for (std::size_t k = i; k < tokens.size() && k < i + 12; ++k) l.p(tokens[k]);
    l.t("are supported by this server");
    send(c, l);
  }
}

void ServerImpl::send_lusers(Client& c) {
  ServerStats st = stats();
  std::size_t unknown = st.connections - st.registered;
  send(c, rpl(c, "251").t("There are " + std::to_string(st.registered - st.invisible) + " users and " +
                          std::to_string(st.invisible) + " invisible on 1 servers"));
  send(c, rpl(c, "252").p(std::to_string(st.operators)).t("operator(s) online"));
  if (unknown) send(c, rpl(c, "253").p(std::to_string(unknown)).t("unknown connection(s)"));
  send(c, rpl(c, "254").p(std::to_string(st.channels)).t("channels formed"));
  send(c, rpl(c, "255").t("I have " + std::to_string(st.registered) + " clients and 0 servers"));
  std::string cur = std::to_string(st.registered), max = std::to_string(st.max_registered);
  send(c, rpl(c, "265").p(cur).p(max).t("Current local users " + cur + ", max " + max));
  send(c, rpl(c, "266").p(cur).p(max).t("Current global users " + cur + ", max " + max));
}

void ServerImpl::send_motd(Client& c) {
  if (cfg_.motd.empty()) {
    send(c, rpl(c, "422").t("MOTD File is missing"));
    return;
  }
  send(c, rpl(c, "375").t("- " + cfg_.server_name + " Message of the day - "));
  for (const std::string& line : cfg_.motd) send(c, rpl(c, "372").t("- " + line));
  send(c, rpl(c, "376").t("End of /MOTD command."));
}

void ServerImpl::send_names(Client& c, Channel& ch, bool end) {
  bool member = ch.find(c.id) != nullptr;
  bool multi = (c.caps & kCapMultiPrefix) != 0;
  bool uhnames = (c.caps & kCapUserhostInNames) != 0;
  std::string symbol = ch.secret ? "@" : "=";
  // ":server 353 nick = #chan :" plus names; keep each line within 510 bytes.
  std::size_t overhead = cfg_.server_name.size() + c.display_nick().size() + ch.name.size() + 16;
  std::string names;
  std::vector<std::string> lines;
  for (auto& [id, mem] : ch.members) {
    if (!member && mem.client->invisible && mem.client != &c) continue;
    std::string entry = prefixes(mem, multi) + (uhnames ? mem.client->mask() : mem.client->nick);
    if (!names.empty() && overhead + names.size() + 1 + entry.size() > kMaxBodyBytes) {
      lines.push_back(std::move(names));
      names.clear();
    }
    if (!names.empty()) names += ' ';
    names += entry;
  }
  if (!names.empty()) lines.push_back(std::move(names));
  for (const std::string& l : lines) send(c, rpl(c, "353").p(symbol).p(ch.name).t(l));
  if (end) send(c, rpl(c, "366").p(ch.name).t("End of /NAMES list"));
}

void ServerImpl::join_channel(Client& c, std::string_view name, std::string_view key) {
  if (!valid_channel(name, cfg_.channel_len)) {
    send(c, rpl(c, "403").p(name).t("No such channel"));
    return;
  }
  Channel* ch = find_channel(name);
  if (ch && ch->find(c.id)) return;
  if (c.channels.size() >= cfg_.max_channels_per_client) {
    send(c, rpl(c, "405").p(name).t("You have joined too many channels"));
    return;
  }
  bool op = false;
  if (ch == nullptr) {
    auto owned = std::make_unique<Channel>();
    owned->name = std::string(name);
    owned->created = unix_now();
    for (char m : cfg_.default_channel_modes) {
      switch (m) {
        case 'n': owned->no_external = true; break;
        case 't': owned->topic_lock = true; break;
        case 'i': owned->invite_only = true; break;
        case 'm': owned->moderated = true; break;
        case 's': owned->secret = true; break;
        default: break;
      }
    }
    ch = owned.get();
    channels_.emplace(fold(name), std::move(owned));
    op = true;
  } else {
    bool invited = ch->invited.count(c.id) != 0;
    if (ch->invite_only && !invited) {
      send(c, rpl(c, "473").p(ch->name).t("Cannot join channel (+i)"));
      return;
    }
    if (!ch->key.empty() && key != ch->key && !invited) {
      send(c, rpl(c, "475").p(ch->name).t("Cannot join channel (+k)"));
      return;
    }
    if (ch->limit && ch->members.size() >= ch->limit && !invited) {
      send(c, rpl(c, "471").p(ch->name).t("Cannot join channel (+l)"));
      return;
    }
    std::string m = c.mask();
    if (!invited && std::any_of(ch->bans.begin(), ch->bans.end(), [&](const Ban& b) { return mask_match(b.mask, m); })) {
      send(c, rpl(c, "474").p(ch->name).t("Cannot join channel (+b)"));
      return;
    }
    ch->invited.erase(c.id);
  }
  flush_batch();  // a member joining does not get what was said before it joined
  ch->members.emplace(c.id, Member{&c, op, false});
  c.channels.push_back(ch);
  std::string chan_name = ch->name;
  to_channel(*ch, from(c, "JOIN").p(chan_name).str(), nullptr);
  ch = find_channel(chan_name);
  if (gone(c) || ch == nullptr) return;
  if (!ch->topic.empty()) {
    send(c, rpl(c, "332").p(ch->name).t(ch->topic));
    send(c, rpl(c, "333").p(ch->name).p(ch->topic_by).p(std::to_string(ch->topic_time)));
  }
  if (!gone(c)) send_names(c, *ch, true);
}

void ServerImpl::rename(Client& c, std::string_view new_nick) {
  std::string wire = from(c, "NICK").t(new_nick).str();
  remember_whowas(c);
  nicks_.erase(fold(c.nick));
  c.nick = std::string(new_nick);
  nicks_[fold(c.nick)] = &c;
  to_neighbours(c, wire, true);
}

}  // namespace sockit::irc
