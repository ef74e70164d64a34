// Sending messages: PRIVMSG and NOTICE (to channels and nicks), and AWAY, whose text PRIVMSG
// answers with RPL_AWAY. The PRIVMSG to a channel is the server's hot path: one line held in the
// channel batch (ServerImpl::to_channel_batched), no copy per member.
#include "commands.hpp"

#include "sockit/irc/names.hpp"

#include <algorithm>
#include <unordered_set>

namespace sockit::irc {

namespace {

/// Whether `c` may send to `ch` (+n, +m, bans; voice or op passes +m and bans, a matching ban
/// exception +e passes bans, as InspIRCd and Solanum).
bool may_send(const Client& c, Channel& ch, Casemapping cm) {
  Member* me = ch.find(c.id);
  bool privileged = me && (me->op || me->voice);
  // The mask is built only when there is a list to match it against (a string per message).
  bool banned = !privileged && !ch.bans.empty() && ch.banned(c.mask(), cm);
  return !((ch.no_external && !me) || (ch.moderated && !privileged) || banned);
}

/// A CTCP other than ACTION ("\1VERSION\1"), which +C refuses (InspIRCd's noctcp).
bool is_ctcp_not_action(std::string_view text) {
  if (text.empty() || text[0] != '\1') return false;
  std::string_view verb = text.substr(1, text.find_first_of(" \1", 1) - 1);
  return verb != "ACTION";
}

/// Whether `c` may send `text` to `ch` (may_send, and +C against CTCP); if not, 404 with the
/// reason (a NOTICE gets nothing back).
bool may_send_text(S& s, Client& c, Channel& ch, std::string_view text, bool notice) {
  std::string_view why;
  if (!may_send(c, ch, s.cfg_.casemapping)) {
    why = "Cannot send to channel";
  } else if (ch.no_ctcp && is_ctcp_not_action(text)) {
    why = "Cannot send CTCP to channel (+C)";
  } else {
    return true;
  }
  if (!notice) s.send(c, s.rpl(c, ERR_CANNOTSENDTOCHAN).p(ch.name).t(why));
  return false;
}

/// What one PRIVMSG, NOTICE or TAGMSG sends: the command, its text (TAGMSG: none), the sender's
/// client-only tags (message-tags) and whether errors are answered (not for NOTICE).
struct Said {
  std::string_view cmd;
  const std::string& text;
  std::string_view tags;
  bool notice;
  bool tagmsg() const { return cmd == "TAGMSG"; }
  /// The line from `c` to `target`.
  std::string wire(S& s, const Client& c, std::string_view target) const {
    Line l = s.from(c, cmd).p(target);
    if (!tagmsg()) l.t(text);
    return l.str();
  }
  /// Receivers need message-tags for a TAGMSG.
  unsigned need() const { return tagmsg() ? kCapMessageTags : 0u; }
  /// The tags message-tags receivers get: the msgid (IRCv3 message-ids), then the client-only ones.
  std::string tags_with(std::string_view msgid) const {
    std::string out;
    out.reserve(7 + msgid.size() + 1 + tags.size());
    out += "msgid=";
    out += msgid;
    if (!tags.empty()) {
      out += ';';
      out += tags;
    }
    return out;
  }
  /// Keeps the message in the history store (PRIVMSG and NOTICE; not TAGMSG).
  void record(S& s, const Client& c, std::string_view key, std::string_view target, const std::string& msgid) const {
    if (s.history_ != nullptr && !tagmsg()) s.record(c, cmd, key, target, text, tags, msgid, s.wall_now());
  }
};

void to_channel_target(S& s, Client& c, const Said& say, std::string_view target) {
  const bool notice = say.notice;
  Channel* ch = s.find_channel(target);
  if (ch == nullptr) {
    if (!notice) err_no_such_nick(s, c, target);
    return;
  }
  if (!may_send_text(s, c, *ch, say.text, notice)) return;
  std::string wire = say.wire(s, c, ch->name);
  const std::string msgid = s.new_msgid();
  say.record(s, c, s.history_key_channel(ch->name), ch->name, msgid);
  // A cluster: one PUBLISH; every node (this one too) delivers it to its members in Redis's order.
  if (s.relay_channel_message(c, *ch, wire, say.tags, say.tagmsg(), msgid)) return;
  if (!say.tags.empty() || say.tagmsg()) {
    // Client-only tags: each member gets the form its caps ask for, each form built once.
    const std::string tags = say.tags_with(msgid);
    S::Fanout out(s, std::move(wire), tags, say.need(), c.account);
    for (std::size_t i = 0; i < ch->members.size(); ++i) {
      Client& t = *ch->members[i].second.client;
      if (&t != &c || (c.caps & kCapEchoMessage)) out.to(t);
    }
  } else if (c.caps & kCapEchoMessage) {
    s.to_channel(*ch, wire, nullptr, msgid, c.account);  // the sender is a receiver: its SendQ may end the run
  } else {
    // A logged-in sender's account tag is one more form of the batch (serialized once per flush).
    s.to_channel_batched(*ch, wire, &c, msgid, c.account);
  }
}

/// STATUSMSG (`PRIVMSG @#chan`, `+#chan`): to the members with that status or higher ('@' the
/// operators, '+' the voiced and the operators), the prefix kept in the target as InspIRCd and
/// Solanum send it; the sender must be allowed to send to the channel.
void to_status_target(S& s, Client& c, const Said& say, std::string_view target) {
  const bool notice = say.notice;
  const char status = target[0];
  Channel* ch = s.find_channel(target.substr(1));
  if (ch == nullptr) {
    if (!notice) err_no_such_nick(s, c, target);
    return;
  }
  if (!may_send_text(s, c, *ch, say.text, notice)) return;
  std::string wire = say.wire(s, c, std::string(1, status) + ch->name);
  // A cluster: one PUBLISH; every node (this one too) delivers it to its members of that rank.
  if (s.relay_channel_message(c, *ch, wire, say.tags, say.tagmsg(), s.new_msgid(), status)) return;
  std::vector<Client*> to;
  for (auto& [id, mem] : ch->members) {
    bool ranked = status == '@' ? mem.op : (mem.op || mem.voice);
    if (mem.client == &c ? (c.caps & kCapEchoMessage) != 0 : ranked) to.push_back(mem.client);
  }
  const std::string tags = say.tags_with(s.new_msgid());
  S::Fanout out(s, std::move(wire), tags, say.need(), c.account);
  for (Client* t : to) out.to(*t);
}

/// `$mask` (RFC 2812: operators only): `$*` or a mask of this server's name reaches every local
/// user; 481 for others, 413 without a top-level domain, 414 with a wildcard in it.
void to_server_mask(S& s, Client& c, const Said& say, std::string_view target) {
  const bool notice = say.notice;
  if (!c.oper) {
    if (!notice) err_no_privileges(s, c);
    return;
  }
  std::string_view mask = target.substr(1);
  if (mask != "*") {
    std::size_t dot = mask.rfind('.');
    if (dot == std::string_view::npos) {
      if (!notice) s.send(c, s.rpl(c, ERR_NOTOPLEVEL).p(target).t("No toplevel domain specified"));
      return;
    }
    if (mask.find_first_of("*?", dot) != std::string_view::npos) {
      if (!notice) s.send(c, s.rpl(c, ERR_WILDTOPLEVEL).p(target).t("Wildcard in toplevel domain"));
      return;
    }
  }
  std::string wire = say.wire(s, c, target);
  const std::string msgid = s.new_msgid();
  // A cluster: the other nodes whose server name the mask matches deliver it to their users.
  s.relay_server_mask(c, target, wire, say.tags, say.tagmsg(), msgid);
  std::vector<Client*> to = s.server_mask_receivers(mask, &c);
  const std::string tags = say.tags_with(msgid);
  S::Fanout out(s, std::move(wire), tags, say.need(), c.account);
  for (Client* t : to) out.to(*t);
}

void to_nick_target(S& s, Client& c, const Said& say, std::string_view target) {
  const bool notice = say.notice;
  Client* t = s.find_nick(target);
  if (t == nullptr && s.cluster_ != nullptr) {
    if (const std::string* nick = s.remote_nick(target)) {  // on another node
      std::string wire = say.wire(s, c, *nick);
      const std::string msgid = s.new_msgid();
      say.record(s, c, s.history_key_private(c, *nick), *nick, msgid);  // by the sender's node only
      if (s.relay_private_message(c, *nick, wire, say.tags, say.tagmsg(), msgid)) {
        if (c.caps & kCapEchoMessage) S::Fanout(s, std::move(wire), say.tags_with(msgid), say.need(), c.account).to(c);
        return;
      }
    }
  }
  if (t == nullptr || !t->registered) {
    if (!notice) err_no_such_nick(s, c, target);
    return;
  }
  std::string wire = say.wire(s, c, t->nick);
  const std::string msgid = s.new_msgid();
  say.record(s, c, s.history_key_private(c, *t), t->nick, msgid);
  const std::string tags = say.tags_with(msgid);
  S::Fanout out(s, std::move(wire), tags, say.need(), c.account);
  out.to(*t);
  if ((c.caps & kCapEchoMessage) && t != &c) out.to(c);
  if (!notice && !say.tagmsg() && !t->away.empty()) s.send(c, s.rpl(c, RPL_AWAY).p(t->nick).t(t->away));
}

/// PRIVMSG, NOTICE and TAGMSG; a NOTICE never gets an error back.
void message(S& s, Client& c, Message& m, TimePoint now, std::string_view cmd) {
  const bool notice = cmd == "NOTICE";
  const bool tagmsg = cmd == "TAGMSG";
  if (m.params.empty() || m.params[0].empty()) {
    if (!notice) s.send(c, s.rpl(c, ERR_NORECIPIENT).t("No recipient given (" + std::string(cmd) + ")"));
    return;
  }
  if (!tagmsg && (m.params.size() < 2 || m.params[1].empty())) {
    if (!notice) s.send(c, s.rpl(c, ERR_NOTEXTTOSEND).t("No text to send"));
    return;
  }
  static const std::string kNoText;
  const std::string tags = m.tags.empty() ? std::string() : client_only_tags(m);
  const Said say{cmd, tagmsg ? kNoText : m.params[1], tags, notice};
  auto targets = split_list(m.params[0]);
  if (targets.size() > s.cfg_.max_targets) {
    if (!notice) s.send(c, s.rpl(c, ERR_TOOMANYTARGETS).p(m.params[0]).t("Too many recipients"));
    return;
  }
  if (!notice && !tagmsg) c.last_message = now;
  std::unordered_set<std::string> done;  // a target named twice gets the line once
  for (std::string_view target : targets) {
    if (s.gone(c)) return;
    // One target (nearly every line) needs no set: no folded copy, no node, no buckets.
    if (targets.size() > 1 && !done.insert(fold(target, s.cfg_.casemapping)).second) continue;
    if (target[0] == '$') {
      to_server_mask(s, c, say, target);
    } else if ((target[0] == '@' || target[0] == '+') && is_channel_name(target.substr(1))) {
      to_status_target(s, c, say, target);
    } else if (is_channel_name(target)) {
      to_channel_target(s, c, say, target);
    } else {
      to_nick_target(s, c, say, target);
    }
  }
}

void cmd_privmsg(S& s, Client& c, Message& m, TimePoint now) { message(s, c, m, now, "PRIVMSG"); }
void cmd_notice(S& s, Client& c, Message& m, TimePoint now) { message(s, c, m, now, "NOTICE"); }
void cmd_tagmsg(S& s, Client& c, Message& m, TimePoint now) { message(s, c, m, now, "TAGMSG"); }

void cmd_away(S& s, Client& c, Message& m, TimePoint) {
  if (m.params.empty() || m.params[0].empty()) {
    c.away.clear();
    s.send(c, s.rpl(c, RPL_UNAWAY).t("You are no longer marked as being away"));
    s.to_neighbours(c, s.from(c, "AWAY").str(), false, kCapAwayNotify);  // IRCv3 away-notify
  } else {
    c.away = std::string(truncate_utf8(m.params[0], s.cfg_.away_len));
    s.send(c, s.rpl(c, RPL_NOWAWAY).t("You have been marked as being away"));
    s.to_neighbours(c, s.from(c, "AWAY").t(c.away).str(), false, kCapAwayNotify);
  }
  s.cluster_publish_state(c, ClusterEvent::Kind::away);  // the other nodes: WHO G, WHOIS 301, away-notify
}

/// IRCv3 setname: a new real name, announced to the neighbours (and the client) that negotiated
/// setname; silently for a client that did not (as the specification asks). Errors are FAIL.
void cmd_setname(S& s, Client& c, Message& m, TimePoint) {
  const std::string& name = m.params[0];
  if (name.empty() || name.size() > kMaxRealname) {
    s.send(c, s.from_server("FAIL").p("SETNAME").p("INVALID_REALNAME").t("Realname is not valid"));
    return;
  }
  c.realname = name;
  s.to_neighbours(c, s.from(c, "SETNAME").t(name).str(), true, kCapSetname);
}

constexpr CommandSpec kCommands[] = {
    {"AWAY", cmd_away, State::registered, 0, 1, "[<text>]",
     "Marks you away with a message, or back without one."},
    {"NOTICE", cmd_notice, State::registered, 0, 2, "<target>{,<target>} <text>",
     "Sends a notice: a message never answered automatically."},
    {"PRIVMSG", cmd_privmsg, State::registered, 0, 2, "<target>{,<target>} <text>",
     "Sends a message to users or channels."},
    {"SETNAME", cmd_setname, State::registered, 1, 1, "<realname>",
     "Changes your real name (IRCv3 setname)."},
    {"TAGMSG", cmd_tagmsg, State::registered, 0, 1, "<target>{,<target>}",
     "Sends only message tags (IRCv3 message-tags), to receivers that negotiated them."},
};

}  // namespace

std::span<const CommandSpec> message_commands() { return kCommands; }

}  // namespace sockit::irc
