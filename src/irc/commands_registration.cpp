// Connection registration: PASS, NICK, USER, CAP, PING, PONG, QUIT, and the welcome burst
// (001-005, then LUSERS and MOTD) that completes it.
#include "commands.hpp"

#include "sockit/irc/names.hpp"
#include "sockit/store/history.hpp"

#include <algorithm>
#include <cstdlib>

namespace sockit::irc {

namespace {

struct CapInfo {
  std::string_view name;
  unsigned bit;
};
constexpr CapInfo kCaps[] = {
    {"account-notify", kCapAccountNotify},  // the account caps: only with an account store
    {"account-tag", kCapAccountTag},
    {"away-notify", kCapAwayNotify},
    {"batch", kCapBatch},
    {"cap-notify", kCapCapNotify},
    {"chghost", kCapChghost},  // accepted; user and host never change here, so never sent
    {"draft/account-registration", kCapAccountRegistration},  // and [accounts] registration on
    {"draft/chathistory", kCapChathistory},  // only with a history store (cap_ls, cap_req)
    {"draft/event-playback", kCapEventPlayback},  // the same (offered_caps)
    {"echo-message", kCapEchoMessage},
    {"extended-join", kCapExtendedJoin},
    {"invite-notify", kCapInviteNotify},
    {"labeled-response", kCapLabeledResponse},
    {"message-tags", kCapMessageTags},
    {"multi-prefix", kCapMultiPrefix},
    {"sasl", kCapSasl},
    {"server-time", kCapServerTime},
    {"setname", kCapSetname},
    {"standard-replies", kCapStandardReplies},
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

void cmd_pass(S&, Client& c, Message& m, TimePoint) { c.pass = m.params[0]; }

void cmd_nick(S& s, Client& c, Message& m, TimePoint now) {
  if (m.params.empty() || m.params[0].empty()) {
    s.send(c, s.rpl(c, ERR_NONICKNAMEGIVEN).t("No nickname given"));
    return;
  }
  const std::string& nick = m.params[0];
  if (!valid_nick(nick, s.cfg_.nick_len)) {
    s.send(c, s.rpl(c, ERR_ERRONEUSNICKNAME).p(nick).t("Erroneous nickname"));
    return;
  }
  Client* other = s.find_nick(nick);
  if (other != nullptr && other != &c) {
    s.send(c, s.rpl(c, ERR_NICKNAMEINUSE).p(nick).t("Nickname is already in use"));
    return;
  }
  if (nick == c.nick) return;
  if (c.registered && s.cluster_ != nullptr && !equal_folded(nick, c.nick, s.cfg_.casemapping)) {
    s.start_claim(c, nick, now);  // the rename waits for the network's verdict (finish_claim)
    return;
  }
  if (c.registered) {
    s.rename(c, nick);
    s.check_nick_owner(c, now);
  } else {
    if (!c.nick.empty()) s.nicks_.erase(fold(c.nick, s.cfg_.casemapping));
    c.nick = nick;
    s.nicks_[fold(nick, s.cfg_.casemapping)] = &c;
    s.try_register(c, now);
  }
}

void cmd_user(S& s, Client& c, Message& m, TimePoint now) {
  if (c.got_user) {
    s.send(c, s.rpl(c, ERR_ALREADYREGISTERED).t("You may not reregister"));
    return;
  }
  std::string user = clean_username(m.params[0], s.cfg_.user_len);
  if (user.empty()) user = "user";
  c.user = "~" + user;
  c.realname = m.params[3];
  c.got_user = true;
  s.try_register(c, now);
}

/// CAP REQ: all of the request is acknowledged, or none of it.
void cap_req(S& s, Client& c, const Message& m, const std::string& target) {
  if (!c.registered) c.cap_negotiating = true;
  std::string_view req = m.params.size() > 1 ? std::string_view(m.params[1]) : std::string_view();
  unsigned add = 0, remove = 0;
  bool ok = true;
  for (std::string_view word : split_list(req, ' ')) {
    bool neg = word.front() == '-';
    if (neg) word.remove_prefix(1);
    auto it = std::find_if(std::begin(kCaps), std::end(kCaps), [&](const CapInfo& ci) { return ci.name == word; });
    if (it == std::end(kCaps) || (it->bit == kCapChathistory && s.history_ == nullptr) || !(it->bit & s.offered_caps())) {
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
}

void cmd_cap(S& s, Client& c, Message& m, TimePoint now) {
  std::string sub = ascii_upper(m.params[0]);
  std::string target = c.display_nick();
  if (sub == "LS") {
    if (!c.registered) c.cap_negotiating = true;
    if (m.params.size() > 1 && std::atoi(m.params[1].c_str()) >= 302) {
      c.cap_version = 302;
      c.caps |= kCapCapNotify;  // implied by CAP LS 302 (IRCv3 capability negotiation)
    }
    s.send(c, s.from_server("CAP").p(target).p("LS").t(s.cap_ls(c)));
  } else if (sub == "LIST") {
    s.send(c, s.from_server("CAP").p(target).p("LIST").t(caps_string(c.caps)));
  } else if (sub == "REQ") {
    cap_req(s, c, m, target);
  } else if (sub == "END") {
    s.abort_sasl(c);  // sasl-3.1: registration ends an exchange (906)
    if (!c.registered && c.cap_negotiating) {
      c.cap_negotiating = false;
      s.try_register(c, now);
    }
  } else {
    s.send(c, s.rpl(c, ERR_INVALIDCAPCMD).p(m.params[0]).t("Invalid CAP command"));
  }
}

void cmd_ping(S& s, Client& c, Message& m, TimePoint) {
  if (m.params.empty() || m.params[0].empty()) {
    s.send(c, s.rpl(c, ERR_NOORIGIN).t("No origin specified"));
    return;
  }
  s.send(c, s.from_server("PONG").p(s.cfg_.server_name).t(m.params[0]));
}

void cmd_pong(S&, Client& c, Message&, TimePoint) { c.ping_sent.reset(); }

void cmd_quit(S& s, Client& c, Message& m, TimePoint) {
  // Modern IRC: "Quit: " even when the reason is empty.
  std::string reason = "Quit: " + (m.params.empty() ? std::string() : m.params[0]);
  s.quit(c, truncate_utf8(reason, s.cfg_.kick_len));
}

constexpr CommandSpec kCommands[] = {
    {"CAP", cmd_cap, State::any, 1, 3, "<subcommand> [:<capabilities>]",
     "Negotiates IRCv3 capabilities: LS, LIST, REQ, END."},
    {"NICK", cmd_nick, State::any, 0, 2, "<nickname>",
     "Sets or changes your nickname."},
    {"PASS", cmd_pass, State::unregistered, 1, 3, "<password>",
     "Gives the server password, before NICK and USER."},
    {"PING", cmd_ping, State::any, 0, 2, "<token>",
     "Asks the server to answer PONG <token>."},
    {"PONG", cmd_pong, State::any, 0, 2, "[<server>] <token>",
     "Answers the server's PING."},
    {"QUIT", cmd_quit, State::any, 0, 1, "[<reason>]",
     "Leaves the server."},
    {"USER", cmd_user, State::unregistered, 4, 4, "<username> 0 * <realname>",
     "Gives your user name and real name at registration."},
};

/// The name of a CAP LS token ("sts=port=6697,..." -> "sts").
std::string_view cap_name(std::string_view token) { return token.substr(0, token.find('=')); }

}  // namespace

std::span<const CommandSpec> registration_commands() { return kCommands; }

std::string ServerImpl::cap_ls(const Client& c) const {
  std::string ls = caps_string(offered_caps() & (history_ != nullptr ? ~0u : ~unsigned{kCapChathistory}));
  if (c.cap_version >= 302) {  // values (CAP LS 302 only): the SASL mechanisms, registration before 001
    auto with_value = [&ls](std::string_view name, const std::string& value) {
      for (std::size_t at = 0; (at = ls.find(name, at)) != std::string::npos; at += name.size()) {
        std::size_t end = at + name.size();
        if ((at == 0 || ls[at - 1] == ' ') && (end == ls.size() || ls[end] == ' ')) {
          ls.insert(end, "=" + value);
          return;
        }
      }
    };
    with_value("sasl", sasl_mechanisms(c));
    with_value("draft/account-registration", "before-connect");
  }
  // IRCv3 sts: a value, so only to CAP LS 302 clients; never requestable (CAP REQ sts: NAK).
  if (std::string sts = sts_value(c); !sts.empty() && c.cap_version >= 302) ls += " sts=" + sts;
  return ls;
}

unsigned ServerImpl::offered_caps() const {
  unsigned offered = ~0u;
  if (accounts_ == nullptr) offered &= ~unsigned{kCapSasl | kCapAccountNotify | kCapAccountTag | kCapAccountRegistration};
  if (!cfg_.account_registration) offered &= ~unsigned{kCapAccountRegistration};
  if (history_ == nullptr) offered &= ~unsigned{kCapChathistory | kCapEventPlayback};
  return offered;
}

void ServerImpl::notify_cap_changes(Client& c, const std::string& before) {
  const std::string after = cap_ls(c);
  if (after == before) return;
  const auto old_tokens = split_list(before, ' ');
  const auto new_tokens = split_list(after, ' ');
  std::string gone_caps, new_caps;
  for (std::string_view t : old_tokens) {
    bool kept = std::any_of(new_tokens.begin(), new_tokens.end(), [&](std::string_view n) { return cap_name(n) == cap_name(t); });
    if (!kept) (gone_caps.empty() ? gone_caps : gone_caps += ' ') += cap_name(t);
  }
  for (std::string_view t : new_tokens) {  // new, or its value changed
    if (std::find(old_tokens.begin(), old_tokens.end(), t) == old_tokens.end()) (new_caps.empty() ? new_caps : new_caps += ' ') += t;
  }
  if (!gone_caps.empty()) send(c, from_server("CAP").p(c.display_nick()).p("DEL").t(gone_caps));
  if (!new_caps.empty()) send(c, from_server("CAP").p(c.display_nick()).p("NEW").t(new_caps));
}

// ---- registration and the welcome burst ---------------------------------------------------------

void ServerImpl::try_register(Client& c, TimePoint now) {
  if (c.registered || gone(c) || c.check || c.nick.empty() || !c.got_user || c.cap_negotiating) return;
  if (cluster_ != nullptr && c.claimed != fold(c.nick, cfg_.casemapping)) {
    start_claim(c, c.nick, now);  // finish_claim calls try_register again once the nick is ours
    return;
  }
  if (!cfg_.password_hash.empty()) {  // the verdict calls complete_registration (auth.cpp)
    start_check(c, AuthCheck::Kind::server_password, c.pass, cfg_.password_hash, true, now);
    return;
  }
  complete_registration(c, now);
}

void ServerImpl::start_claim(Client& c, const std::string& nick, TimePoint now) {
  std::function<void()> wake = c.peer != nullptr ? c.peer->waker() : nullptr;
  auto check = std::make_shared<AuthCheck>();
  check->kind = AuthCheck::Kind::nick_claim;
  check->out = nick;
  c.check = check;
  // The verdict comes back on the loop thread; the waker re-enters through Server::wake, like a
  // password checker's. The callback holds the check weakly: a client gone meanwhile gets nothing,
  // and a nick claimed for it is given back.
  std::string folded = fold(nick, cfg_.casemapping);
  cluster_->claim_nick(folded, c.id, nick + "!" + c.user + "@" + c.host,
                       [weak = std::weak_ptr<AuthCheck>(check), wake = std::move(wake), link = cluster_, folded,
                        id = c.id](ClusterLink::NickVerdict v) {
                         auto ch = weak.lock();
                         if (!ch) {
                           if (v == ClusterLink::NickVerdict::ok) link->release_nick(folded, id);
                           return;
                         }
                         ch->result.store(v == ClusterLink::NickVerdict::ok      ? 1
                                          : v == ClusterLink::NickVerdict::taken ? 0
                                                                                 : 2);
                         if (wake) wake();
                       });
  poll_check(c, now);  // a verdict given at once (no claims behind the link)
}

void ServerImpl::finish_claim(Client& c, AuthCheck& ch, TimePoint now) {
  const std::string& nick = ch.out;
  const std::string folded = fold(nick, cfg_.casemapping);
  const int verdict = ch.result.load();
  Client* other = find_nick(nick);
  if (verdict == 1 && other != nullptr && other != &c) {
    // An unregistered local client took it while the claim was in flight: it keeps it locally.
    cluster_->release_nick(folded, c.id);
  } else if (verdict == 1) {
    const std::string old = c.claimed;
    c.claimed = folded;
    if (!old.empty() && old != folded) cluster_->release_nick(old, c.id);
    if (!c.registered) {
      try_register(c, now);
    } else if (nick != c.nick) {
      rename(c, nick);
      check_nick_owner(c, now);
    }
    return;
  }
  if (!c.registered) {  // the nick is not ours: the client must send another NICK
    if (!c.nick.empty()) {
      auto it = nicks_.find(fold(c.nick, cfg_.casemapping));
      if (it != nicks_.end() && it->second == &c) nicks_.erase(it);
    }
    c.nick.clear();
  }
  if (verdict == 2) {
    send(c, rpl(c, ERR_UNAVAILRESOURCE).p(nick).t("Nickname is temporarily unavailable: the network is degraded "
                                                    "(its Redis is unreachable), try again"));
  } else {
    send(c, rpl(c, ERR_NICKNAMEINUSE).p(nick).t("Nickname is already in use"));
  }
}

void ServerImpl::complete_registration(Client& c, TimePoint now) {
  c.registered = true;
  c.last_seen = c.last_message = c.refill = now;
  c.tokens = static_cast<double>(cfg_.flood_burst);
  count_registered(c, true);  // LUSERS below reads the counts: no walk of every client per registration
  counters_.max_registered = std::max(counters_.max_registered, registered_now_);
  event(Event::Kind::registered, c);
  ++counters_.registrations;
  cluster_publish_user(c);  // the other nodes' replicas: a user in no channel
  note_global_users();       // LUSERS 266: the network's maximum
  send_welcome(c);
  monitor_notify(c, true);
  check_nick_owner(c, now);
}

void ServerImpl::send_welcome(Client& c) {
  send(c, rpl(c, RPL_WELCOME).t("Welcome to the " + cfg_.network + " IRC Network " + c.mask()));
  send(c, rpl(c, RPL_YOURHOST).t("Your host is " + cfg_.server_name + ", running version " + std::string(kVersion)));
  send(c, rpl(c, RPL_CREATED).t("This server was created " + format_time(created_)));
  send(c, rpl(c, RPL_MYINFO).p(cfg_.server_name).p(kVersion).p("BZiow").p("CIbeiklmnopstv").p("Ibeklov"));
  send_isupport(c);
  send_lusers(c);
  send_motd(c);
  if (c.tls) send(c, Line(c.nick, "MODE").p(c.nick).t("+Z"));  // a TLS connection (InspIRCd's sslmodes)
}

void ServerImpl::send_isupport(Client& c) {
  std::vector<std::string> tokens = {
      "AWAYLEN=" + std::to_string(cfg_.away_len),
      "BOT=B",
      "CASEMAPPING=" + std::string(casemapping_name(cfg_.casemapping)),
      "CHANLIMIT=#&:" + std::to_string(cfg_.max_channels_per_client),
      "CHANMODES=beI,k,l,Cimnst",
      "CHANNELLEN=" + std::to_string(cfg_.channel_len),
      "CHANTYPES=#&",
      "ELIST=CMNTU",
      "EXCEPTS=e",
      "HOSTLEN=64",
      "INVEX=I",
      "KICKLEN=" + std::to_string(cfg_.kick_len),
      "MAXLIST=beI:" + std::to_string(cfg_.max_bans),
      "MAXTARGETS=" + std::to_string(cfg_.max_targets),
      "MODES=" + std::to_string(cfg_.max_modes),
      "MONITOR=" + std::to_string(cfg_.monitor_limit),
      "NETWORK=" + cfg_.network,
      "NICKLEN=" + std::to_string(cfg_.nick_len),
      "PREFIX=(ov)@+",
      "STATUSMSG=@+",
      "TARGMAX=JOIN:,KICK:" + std::to_string(cfg_.max_targets) + ",NAMES:,LIST:,NOTICE:" +
          std::to_string(cfg_.max_targets) + ",PRIVMSG:" + std::to_string(cfg_.max_targets) +
          ",WHOIS:" + std::to_string(cfg_.max_targets),
      "TOPICLEN=" + std::to_string(cfg_.topic_len),
      "USERLEN=" + std::to_string(cfg_.user_len + 1),
      "WHOX",
  };
  if (cfg_.enforce_utf8) tokens.push_back("UTF8ONLY");
  if (history_ != nullptr) {  // IRCv3 draft/chathistory
    tokens.push_back("CHATHISTORY=" + std::to_string(history_->options().query_limit));
    tokens.push_back("MSGREFTYPES=msgid,timestamp");
  }
  for (std::size_t i = 0; i < tokens.size(); i += 12) {
    Line l = rpl(c, RPL_ISUPPORT);
    for (std::size_t k = i; k < tokens.size() && k < i + 12; ++k) l.p(tokens[k]);
    l.t("are supported by this server");
    send(c, l);
  }
}

void ServerImpl::rename(Client& c, std::string_view new_nick) {
  std::string wire = from(c, "NICK").t(new_nick).str();
  cluster_publish(ClusterEvent::Kind::nick, c, new_nick, wire);  // the other nodes' replicas (users in no channel too)
  remember_whowas(c);
  bool same_key = equal_folded(c.nick, new_nick, cfg_.casemapping);  // a change of case: still online
  if (!same_key) monitor_notify(c, false);
  if (!same_key && shares_channels()) cluster_->move_invitations(fold(c.nick, cfg_.casemapping), fold(new_nick, cfg_.casemapping));
  for (const Channel* ch : c.channels) record_event(c, *ch, wire);  // draft/event-playback, under the old mask
  nicks_.erase(fold(c.nick, cfg_.casemapping));
  c.nick = std::string(new_nick);
  nicks_[fold(c.nick, cfg_.casemapping)] = &c;
  to_neighbours(c, wire, true);
  if (!same_key) monitor_notify(c, true);
}

}  // namespace sockit::irc
