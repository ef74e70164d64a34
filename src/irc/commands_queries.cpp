// Queries: WHO, WHOIS, WHOWAS, LUSERS, MOTD, VERSION, TIME, ADMIN, INFO, ISON, USERHOST, and the
// LUSERS and MOTD replies the welcome burst sends too.
#include "commands.hpp"

#include "sockit/irc/names.hpp"

#include <algorithm>
#include <charconv>

namespace sockit::irc {

namespace {

/// A WHO request: `WHO <mask> [o][%<fields>[,<token>]]` (WHOX, as ircu, Solanum and InspIRCd).
struct WhoQuery {
  bool opers_only = false;  ///< the `o` flag (before any '%')
  bool whox = false;        ///< a '%' with at least one known field letter: 354 instead of 352
  std::string fields;       ///< the known field letters asked for
  std::string token = "0";  ///< the `t` field: the client's token (at most 3 characters, else "0")
  TimePoint now{};
  bool has(char f) const { return fields.find(f) != std::string::npos; }
};

WhoQuery parse_who(const Message& m, TimePoint now) {
  WhoQuery q;
  q.now = now;
  if (m.params.size() < 2) return q;
  std::string_view arg = m.params[1];
  std::size_t pct = arg.find('%');
  q.opers_only = arg.substr(0, pct).find('o') != std::string_view::npos;
  if (pct == std::string_view::npos) return q;
  std::string_view spec = arg.substr(pct + 1);
  std::size_t comma = spec.find(',');
  if (comma != std::string_view::npos) {
    std::string_view tok = spec.substr(comma + 1);
    if (!tok.empty() && tok.size() <= 3) q.token = std::string(tok);
    spec = spec.substr(0, comma);
  }
  for (char f : spec) {  // unknown letters are ignored
    if (std::string_view("tcuihsnfdlaor").find(f) != std::string_view::npos && !q.has(f)) q.fields += f;
  }
  q.whox = !q.fields.empty();  // "%" alone: the classic 352, as Solanum and UnrealIRCd
  return q;
}

/// The flags of a WHO line: H (here) or G (gone), * (operator), the channel prefixes, B (bot).
std::string who_flags(const Client& c, const Client& t, const Member* mem) {
  std::string flags = t.away.empty() ? "H" : "G";
  if (t.oper) flags += '*';
  if (mem) flags += prefixes(*mem, (c.caps & kCapMultiPrefix) != 0);
  if (t.bot) flags += 'B';
  return flags;
}

/// The user and host of a `nick!user@host` mask ("*" for a part that is missing).
struct UserHost {
  std::string_view user = "*", host = "*";
};
UserHost user_host(std::string_view mask) {
  UserHost out;
  const std::size_t bang = mask.find('!'), at = mask.find('@');
  if (at == std::string_view::npos) return out;
  if (bang < at) out.user = mask.substr(bang + 1, at - bang - 1);
  out.host = mask.substr(at + 1);
  return out;
}

/// One line of WHO: a local user, or a user on another node from the cluster's replica.
struct WhoRow {
  std::string_view nick, user, host, server, realname, account, flags;
  long long idle = 0;
  bool op = false;
};

void who_send(S& s, Client& c, const WhoRow& t, std::string_view chan, const WhoQuery& q) {
  if (!q.whox) {
    s.send(c, s.rpl(c, RPL_WHOREPLY).p(chan).p(t.user).p(t.host).p(t.server).p(t.nick).p(t.flags)
                  .t("0 " + std::string(t.realname)));
    return;
  }
  // RPL_WHOSPCRPL: the fields asked for, always in this order: t c u i h s n f d l a o r.
  Line l = s.rpl(c, RPL_WHOSPCRPL);
  if (q.has('t')) l.p(q.token);
  if (q.has('c')) l.p(chan);
  if (q.has('u')) l.p(t.user);
  if (q.has('i')) l.p(t.host);  // the host is the numeric address already (no DNS)
  if (q.has('h')) l.p(t.host);
  if (q.has('s')) l.p(t.server);
  if (q.has('n')) l.p(t.nick);
  if (q.has('f')) l.p(t.flags);
  if (q.has('d')) l.p("0");
  if (q.has('l')) l.p(std::to_string(t.idle));
  if (q.has('a')) l.p(t.account.empty() ? std::string_view("0") : t.account);  // "0": not logged in (Solanum)
  if (q.has('o')) l.p(t.op ? "999" : "n/a");
  if (q.has('r')) l.t(t.realname);
  s.send(c, l);
}

void who_reply(S& s, Client& c, const Client& t, std::string_view chan, const Member* mem, const WhoQuery& q) {
  const std::string flags = who_flags(c, t, mem);
  WhoRow row{t.nick, t.user, t.host, s.cfg_.server_name, t.realname, t.account, flags};
  row.idle = std::max<long long>(0, std::chrono::duration_cast<std::chrono::seconds>(q.now - t.last_message).count());
  row.op = mem && mem->op;
  who_send(s, c, row, chan, q);
}

/// The seconds since remote user `u` last sent a PRIVMSG seen here (else since its signon, else 0).
long long remote_idle(S& s, const S::RemoteUser& u) {
  const std::int64_t since = u.last_message != 0 ? u.last_message : u.signon;
  return since == 0 ? 0 : std::max<long long>(0, s.unix_now() - since);
}

/// A user on another node, from the replica: away (G/H) and operator (*) from its AWAY and OPER
/// events, its status in `chan` (when listed as a member of it) from JOIN/HAVE/MODE events.
void who_remote(S& s, Client& c, const S::RemoteUser& u, std::string_view chan, const WhoQuery& q) {
  const UserHost uh = user_host(u.mask);
  const std::string server = s.node_server_name(u.node);
  std::string flags = u.away.empty() ? "H" : "G";
  if (u.oper) flags += '*';
  Member mem;
  if (chan != "*") {
    const std::string folded = fold(chan, s.cfg_.casemapping);
    auto has = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), folded) != v.end(); };
    mem.op = has(u.ops);
    mem.voice = has(u.voices);
    flags += prefixes(mem, (c.caps & kCapMultiPrefix) != 0);
  }
  if (u.bot) flags += 'B';
  WhoRow row{u.nick, uh.user, uh.host, server, u.realname, u.account, flags};
  row.idle = remote_idle(s, u);
  row.op = mem.op;
  who_send(s, c, row, chan, q);
}

/// Whether remote user `u` is listed to `c` by a WHO that does not name it: not +i, or `c` is an
/// operator or a member of one of its channels (as is_visible_to for a local user).
bool remote_visible_to(S& s, const S::RemoteUser& u, const Client& c) {
  if (!u.invisible || c.oper) return true;
  return std::any_of(u.channels.begin(), u.channels.end(), [&](const std::string& folded) {
    Channel* ch = s.find_channel(folded);
    return ch != nullptr && ch->find(c.id) != nullptr;
  });
}

/// The members of channel `mask` on other nodes, from the cluster's replica (none without a cluster);
/// the invisible ones only to a member (`member`), as the local ones.
void who_remote_members(S& s, Client& c, std::string_view name, std::string_view mask, const WhoQuery& q, bool member) {
  auto it = s.remote_members_.find(fold(mask, s.cfg_.casemapping));
  if (it == s.remote_members_.end()) return;
  const std::vector<std::string> folded = it->second;  // a copy: sending never edits the replica, but be safe
  for (const std::string& f : folded) {
    if (s.gone(c)) return;
    auto u = s.remote_users_.find(f);
    if (u != s.remote_users_.end() && (member || !u->second.invisible)) who_remote(s, c, u->second, name, q);
  }
}

/// WHO #channel: its members (the invisible ones only to members).
void who_channel(S& s, Client& c, std::string_view mask, const WhoQuery& q) {
  Channel* ch = s.find_channel(mask);
  if (ch == nullptr || (!ch->find(c.id) && ch->secret)) {
    if (ch == nullptr && !q.opers_only) who_remote_members(s, c, mask, mask, q, false);  // members on other nodes only
    return;
  }
  bool member = ch->find(c.id) != nullptr;
  std::vector<std::pair<Client*, Member>> list;
  for (auto& [id, mem] : ch->members) list.emplace_back(mem.client, mem);
  for (auto& [t, mem] : list) {
    if (s.gone(c)) return;
    if (q.opers_only && !t->oper) continue;
    if (!member && t->invisible && t != &c) continue;
    who_reply(s, c, *t, ch->name, &mem, q);
  }
  if (!q.opers_only) who_remote_members(s, c, ch->name, mask, q, member);
}

/// WHO mask: the users whose nick, host, user or realname match, in connection order.
void who_mask(S& s, Client& c, const std::string& mask, const WhoQuery& q) {
  bool all = mask == "0" || mask == "*";
  const Casemapping cm = s.cfg_.casemapping;
  std::vector<Client*> list;
  for (auto& [id, t] : s.clients_) {
    if (!t->registered || t->dead) continue;
    if (q.opers_only && !t->oper) continue;
    if (all) {
      if (!s.is_visible_to(*t, c)) continue;
    } else if (!mask_match(mask, t->nick, cm) && !mask_match(mask, t->host, cm) && !mask_match(mask, t->user, cm) &&
               !mask_match(mask, t->realname, cm)) {
      continue;
    } else if (t->invisible && !equal_folded(mask, t->nick, cm) && !s.is_visible_to(*t, c)) {
      continue;
    }
    list.push_back(t.get());
  }
  std::sort(list.begin(), list.end(), [](Client* a, Client* b) { return a->id < b->id; });
  for (Client* t : list) {
    if (s.gone(c)) return;
    who_reply(s, c, *t, "*", nullptr, q);
  }
  // Users on other nodes, from the replica, in nick order: the invisible ones as the local ones.
  if (q.opers_only) return;
  std::vector<const S::RemoteUser*> remote;
  for (const auto& [folded, u] : s.remote_users_) {
    const UserHost uh = user_host(u.mask);
    if (all) {
      if (!remote_visible_to(s, u, c)) continue;
    } else if (!mask_match(mask, u.nick, cm) && !mask_match(mask, uh.host, cm) && !mask_match(mask, uh.user, cm) &&
               !mask_match(mask, u.realname, cm)) {
      continue;
    } else if (u.invisible && !equal_folded(mask, u.nick, cm) && !remote_visible_to(s, u, c)) {
      continue;
    }
    remote.push_back(&u);
  }
  std::sort(remote.begin(), remote.end(), [](const S::RemoteUser* a, const S::RemoteUser* b) { return a->nick < b->nick; });
  for (const S::RemoteUser* u : remote) {
    if (s.gone(c)) return;
    who_remote(s, c, *u, "*", q);
  }
}

void cmd_who(S& s, Client& c, Message& m, TimePoint now) {
  std::string mask = m.params.empty() ? std::string("*") : m.params[0];
  WhoQuery q = parse_who(m, now);
  if (is_channel_name(mask)) {
    who_channel(s, c, mask, q);
  } else {
    who_mask(s, c, mask, q);
  }
  if (s.gone(c)) return;
  s.send(c, s.rpl(c, RPL_ENDOFWHO).p(mask).t("End of WHO list"));
}

/// RPL_WHOISCHANNELS lines of about 400 bytes listing `entries`.
void send_whois_channels(S& s, Client& c, std::string_view nick, const std::vector<std::string>& entries) {
  std::string chans;
  for (const std::string& entry : entries) {
    if (chans.size() + entry.size() > 400) {
      s.send(c, s.rpl(c, RPL_WHOISCHANNELS).p(nick).t(chans));
      chans.clear();
    }
    if (!chans.empty()) chans += ' ';
    chans += entry;
  }
  if (!chans.empty()) s.send(c, s.rpl(c, RPL_WHOISCHANNELS).p(nick).t(chans));
}

/// RPL_WHOISCHANNELS: the channels of `t` that `c` may see.
void whois_channels(S& s, Client& c, const Client& t) {
  std::vector<std::string> entries;
  for (Channel* ch : t.channels) {
    if (ch->secret && !ch->find(c.id)) continue;
    entries.push_back(prefixes(*ch->find(t.id), false) + ch->name);
  }
  send_whois_channels(s, c, t.nick, entries);
}

void whois_one(S& s, Client& c, const Client& t, TimePoint now) {
  s.send(c, s.rpl(c, RPL_WHOISUSER).p(t.nick).p(t.user).p(t.host).p("*").t(t.realname));
  whois_channels(s, c, t);
  s.send(c, s.rpl(c, RPL_WHOISSERVER).p(t.nick).p(s.cfg_.server_name).t(s.cfg_.description));
  if (t.oper) s.send(c, s.rpl(c, RPL_WHOISOPERATOR).p(t.nick).t("is an IRC operator"));
  if (t.bot) s.send(c, s.rpl(c, RPL_WHOISBOT).p(t.nick).t("is a bot on " + s.cfg_.network));
  if (!t.account.empty()) s.send(c, s.rpl(c, RPL_WHOISACCOUNT).p(t.nick).p(t.account).t("is logged in as"));
  if (t.tls) s.send(c, s.rpl(c, RPL_WHOISSECURE).p(t.nick).t("is using a secure connection"));
  // The fingerprint to the user themself and to operators only (InspIRCd, Ergo).
  if (!t.certfp.empty() && (&t == &c || c.oper)) {
    s.send(c, s.rpl(c, RPL_WHOISCERTFP).p(t.nick).t("has client certificate fingerprint " + t.certfp));
  }
  if (!t.away.empty()) s.send(c, s.rpl(c, RPL_AWAY).p(t.nick).t(t.away));
  auto idle = std::chrono::duration_cast<std::chrono::seconds>(now - t.last_message).count();
  auto signon = std::chrono::duration_cast<std::chrono::seconds>(t.signon.time_since_epoch()).count();
  s.send(c, s.rpl(c, RPL_WHOISIDLE).p(t.nick).p(std::to_string(std::max<long long>(0, idle))).p(std::to_string(signon))
                .t("seconds idle, signon time"));
}

/// WHOIS of a user on another node, from the cluster's replica: 311, 319 (the channels known
/// here, with the status the replica knows), 312 (its node's server name), 313, 330, 301, 317
/// (idle since its last PRIVMSG seen by this node, signon time from its HAVE).
void whois_remote(S& s, Client& c, const S::RemoteUser& u) {
  const UserHost uh = user_host(u.mask);
  s.send(c, s.rpl(c, RPL_WHOISUSER).p(u.nick).p(uh.user).p(uh.host).p("*").t(u.realname));
  std::vector<std::string> entries;
  auto has = [](const std::vector<std::string>& v, const std::string& f) { return std::find(v.begin(), v.end(), f) != v.end(); };
  for (const std::string& folded : u.channels) {
    Channel* ch = s.find_channel(folded);
    if (ch != nullptr && ch->secret && !ch->find(c.id)) continue;
    Member mem;
    mem.op = has(u.ops, folded);
    mem.voice = has(u.voices, folded);
    entries.push_back(prefixes(mem, false) + (ch != nullptr ? ch->name : folded));
  }
  send_whois_channels(s, c, u.nick, entries);
  s.send(c, s.rpl(c, RPL_WHOISSERVER).p(u.nick).p(s.node_server_name(u.node)).t("node " + u.node));
  if (u.oper) s.send(c, s.rpl(c, RPL_WHOISOPERATOR).p(u.nick).t("is an IRC operator"));
  if (u.bot) s.send(c, s.rpl(c, RPL_WHOISBOT).p(u.nick).t("is a bot on " + s.cfg_.network));
  if (!u.account.empty()) s.send(c, s.rpl(c, RPL_WHOISACCOUNT).p(u.nick).p(u.account).t("is logged in as"));
  if (!u.away.empty()) s.send(c, s.rpl(c, RPL_AWAY).p(u.nick).t(u.away));
  if (u.signon != 0) {
    s.send(c, s.rpl(c, RPL_WHOISIDLE).p(u.nick).p(std::to_string(remote_idle(s, u))).p(std::to_string(u.signon))
                  .t("seconds idle, signon time"));
  }
}

void cmd_whois(S& s, Client& c, Message& m, TimePoint now) {
  std::string_view nicks = m.params.size() > 1 ? m.params[1] : m.params[0];
  auto list = split_list(nicks);
  if (list.empty()) {
    s.send(c, s.rpl(c, ERR_NONICKNAMEGIVEN).t("No nickname given"));
    return;
  }
  if (list.size() > s.cfg_.max_targets) list.resize(s.cfg_.max_targets);
  for (std::string_view n : list) {
    Client* t = s.find_nick(n);
    if (t == nullptr && s.cluster_ != nullptr) {
      if (const S::RemoteUser* u = s.remote_user(n)) {
        whois_remote(s, c, *u);
        continue;
      }
    }
    if (t == nullptr || !t->registered) {
      err_no_such_nick(s, c, n);
      continue;
    }
    whois_one(s, c, *t, now);
  }
  s.send(c, s.rpl(c, RPL_ENDOFWHOIS).p(nicks).t("End of /WHOIS list"));
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
      if (!equal_folded(e.nick, n, s.cfg_.casemapping)) continue;
      ++found;
      s.send(c, s.rpl(c, RPL_WHOWASUSER).p(e.nick).p(e.user).p(e.host).p("*").t(e.realname));
      s.send(c, s.rpl(c, RPL_WHOISSERVER).p(e.nick).p(s.cfg_.server_name)
                    .t(format_time(SysTime(std::chrono::seconds(e.when)))));
    }
    if (found == 0) s.send(c, s.rpl(c, ERR_WASNOSUCHNICK).p(n).t("There was no such nickname"));
  }
  s.send(c, s.rpl(c, RPL_ENDOFWHOWAS).p(m.params[0]).t("End of WHOWAS"));
}

void cmd_motd(S& s, Client& c, Message& m, TimePoint) {
  if (our_server(s, c, m, 0)) s.send_motd(c);
}

void cmd_lusers(S& s, Client& c, Message& m, TimePoint) {
  if (our_server(s, c, m, 1)) s.send_lusers(c);
}

void cmd_version(S& s, Client& c, Message& m, TimePoint) {
  if (!our_server(s, c, m, 0)) return;
  s.send(c, s.rpl(c, RPL_VERSION).p(std::string(kVersion) + ".").p(s.cfg_.server_name).t(s.cfg_.description));
  s.send_isupport(c);
}

void cmd_time(S& s, Client& c, Message& m, TimePoint) {
  if (!our_server(s, c, m, 0)) return;
  s.send(c, s.rpl(c, RPL_TIME).p(s.cfg_.server_name).t(format_time(s.wall_now())));
}

void cmd_admin(S& s, Client& c, Message& m, TimePoint) {
  if (!our_server(s, c, m, 0)) return;
  const auto& a = s.cfg_.admin;
  s.send(c, s.rpl(c, RPL_ADMINME).p(s.cfg_.server_name).t("Administrative info"));
  s.send(c, s.rpl(c, RPL_ADMINLOC1).t(a.size() > 0 ? a[0] : ""));
  s.send(c, s.rpl(c, RPL_ADMINLOC2).t(a.size() > 1 ? a[1] : ""));
  s.send(c, s.rpl(c, RPL_ADMINEMAIL).t(a.size() > 2 ? a[2] : ""));
}

void cmd_info(S& s, Client& c, Message& m, TimePoint) {
  if (!our_server(s, c, m, 0)) return;
  s.send(c, s.rpl(c, RPL_INFO).t(std::string(kVersion) + ": the IRC server of the sockit toolkit"));
  s.send(c, s.rpl(c, RPL_INFO).t("Sans-I/O core driven by the sockit event loop (select/poll/epoll)"));
  s.send(c, s.rpl(c, RPL_INFO).t("Started " + format_time(s.created_)));
  s.send(c, s.rpl(c, RPL_ENDOFINFO).t("End of /INFO list"));
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
  s.send(c, s.rpl(c, RPL_ISON).t(out));
}

void cmd_userhost(S& s, Client& c, Message& m, TimePoint) {
  std::string out;
  for (std::size_t i = 0; i < m.params.size() && i < 5; ++i) {
    Client* t = s.find_nick(m.params[i]);
    if (!t || !t->registered) continue;
    if (!out.empty()) out += ' ';
    out += t->nick + (t->oper ? "*" : "") + "=" + (t->away.empty() ? "+" : "-") + t->user + "@" + t->host;
  }
  s.send(c, s.rpl(c, RPL_USERHOST).t(out));
}

constexpr CommandSpec kCommands[] = {
    {"ADMIN", cmd_admin, State::registered, 0, 1, "[<server>]",
     "Shows the server's administrative contacts."},
    {"INFO", cmd_info, State::registered, 0, 1, "[<server>]",
     "Shows what the server software is."},
    {"ISON", cmd_ison, State::registered, 1, kUnlimited, "<nickname>{ <nickname>}",
     "Tells which of the nicknames are online."},
    {"LUSERS", cmd_lusers, State::registered, 0, 2, "",
     "Counts users, operators and channels."},
    {"MOTD", cmd_motd, State::registered, 0, 1, "[<server>]",
     "Shows the message of the day."},
    {"TIME", cmd_time, State::registered, 0, 1, "[<server>]",
     "Shows the server's local time."},
    {"USERHOST", cmd_userhost, State::registered, 1, kUnlimited, "<nickname>{ <nickname>}",
     "Shows the user@host of up to five nicknames."},  // answers the first 5
    {"VERSION", cmd_version, State::registered, 0, 1, "[<server>]",
     "Shows the server's version and its features (005)."},
    {"WHO", cmd_who, State::registered, 0, 2, "<mask> [o][%<fields>[,<token>]]",
     "Lists the users matching a mask or in a channel."},
    {"WHOIS", cmd_whois, State::registered, 1, 2, "[<server>] <nickname>",
     "Shows information about a user."},
    {"WHOWAS", cmd_whowas, State::registered, 1, 3, "<nickname> [<count>]",
     "Shows information about a nickname that has left."},
};

}  // namespace

std::span<const CommandSpec> query_commands() { return kCommands; }

// In a cluster the network is every live node: 251 and 266 count the users of the other nodes too
// (from the replica of remote users, not the heartbeats: one Redis round trip old), 255 names the
// other nodes as servers; 265 stays this node's. MAP lists the users per node.
void ServerImpl::send_lusers(Client& c) {
  ServerStats st = stats();
  std::size_t unknown = st.connections - st.registered;
  const std::size_t servers = cluster_ != nullptr ? std::max<std::size_t>(1, cluster_->nodes().size()) : 1;
  const std::size_t remote = cluster_ != nullptr ? remote_users_.size() : 0;
  const std::size_t remote_invisible = static_cast<std::size_t>(
      std::count_if(remote_users_.begin(), remote_users_.end(), [](const auto& u) { return u.second.invisible; }));
  send(c, rpl(c, RPL_LUSERCLIENT).t("There are " + std::to_string(st.registered - st.invisible + remote - remote_invisible) +
                                    " users and " + std::to_string(st.invisible + remote_invisible) + " invisible on " +
                                    std::to_string(servers) + " servers"));
  send(c, rpl(c, RPL_LUSEROP).p(std::to_string(st.operators)).t("operator(s) online"));
  if (unknown) send(c, rpl(c, RPL_LUSERUNKNOWN).p(std::to_string(unknown)).t("unknown connection(s)"));
  send(c, rpl(c, RPL_LUSERCHANNELS).p(std::to_string(st.channels)).t("channels formed"));
  send(c, rpl(c, RPL_LUSERME).t("I have " + std::to_string(st.registered) + " clients and " + std::to_string(servers - 1) + " servers"));
  std::string cur = std::to_string(st.registered), max = std::to_string(st.max_registered);
  send(c, rpl(c, RPL_LOCALUSERS).p(cur).p(max).t("Current local users " + cur + ", max " + max));
  const std::string all = std::to_string(st.registered + remote);
  // The network's maximum (sockit:maxusers, raised by every node at registrations), never below
  // what this node sees now.
  const std::string all_max = std::to_string(
      std::max<std::size_t>({st.max_registered, st.registered + remote, static_cast<std::size_t>(cluster_max_users_)}));
  send(c, rpl(c, RPL_GLOBALUSERS).p(all).p(all_max).t("Current global users " + all + ", max " + all_max));
}

void ServerImpl::send_motd(Client& c) {
  if (cfg_.motd.empty()) {
    send(c, rpl(c, ERR_NOMOTD).t("MOTD File is missing"));
    return;
  }
  send(c, rpl(c, RPL_MOTDSTART).t("- " + cfg_.server_name + " Message of the day - "));
  for (const std::string& line : cfg_.motd) send(c, rpl(c, RPL_MOTD).t("- " + line));
  send(c, rpl(c, RPL_ENDOFMOTD).t("End of /MOTD command."));
}

}  // namespace sockit::irc
