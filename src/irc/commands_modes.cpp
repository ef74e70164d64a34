// MODE: user modes (+B, +i, +w, -o) and channel modes. A channel mode string is parsed into
// (sign, letter, parameter) changes first, then each change goes to the applier of its class
// (ISUPPORT CHANMODES=beI,k,l,Cimnst and PREFIX=(ov)), and one MODE line tells the channel what
// was applied.
#include "commands.hpp"

#include "sockit/irc/names.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace sockit::irc {

namespace {

// ---- user modes -------------------------------------------------------------------------------

std::string user_modes(const Client& c) {
  std::string r = "+";
  if (c.bot) r += 'B';
  if (c.invisible) r += 'i';
  if (c.oper) r += 'o';
  if (c.wallops) r += 'w';
  if (c.tls) r += 'Z';  // TLS: from the connection; MODE +Z/-Z is refused like an unknown letter (501)
  return r;
}

void user_mode(S& s, Client& c, Message& m) {
  Client* t = s.find_nick(m.params[0]);
  if (t == nullptr) {
    err_no_such_nick(s, c, m.params[0]);
    return;
  }
  if (t != &c) {
    s.send(c, s.rpl(c, ERR_USERSDONTMATCH).t("Can't change mode for other users"));
    return;
  }
  if (m.params.size() < 2) {
    s.send(c, s.rpl(c, RPL_UMODEIS).p(user_modes(c)));
    return;
  }
  bool add = true;
  bool unknown = false;
  ModeString applied;
  for (char ch : m.params[1]) {
    if (ch == '+' || ch == '-') {
      add = ch == '+';
      continue;
    }
    bool Client::*flag = nullptr;
    switch (ch) {
      case 'B': flag = &Client::bot; break;  // bot mode (ISUPPORT BOT=B), set by the client itself
      case 'i': flag = &Client::invisible; break;
      case 'w': flag = &Client::wallops; break;
      case 'o':
        if (add) continue;  // +o only through OPER
        flag = &Client::oper;
        break;
      default: unknown = true; continue;
    }
    if (c.*flag == add) continue;
    s.set_user_flag(c, flag, add);
    applied.add(add, ch);
  }
  if (unknown) s.send(c, s.rpl(c, ERR_UMODEUNKNOWNFLAG).t("Unknown MODE flag"));
  if (!applied.empty()) s.send(c, Line(c.nick, "MODE").p(c.nick).t(applied.str()));
  if (!c.oper && applied.str().find('o') != std::string::npos) s.cluster_publish_state(c, ClusterEvent::Kind::oper);
  if (applied.str().find_first_of("iB") != std::string::npos) s.cluster_publish_state(c, ClusterEvent::Kind::umode);
}

// ---- channel modes: parsing -------------------------------------------------------------------

/// One letter of a channel mode string with its sign and, if its class takes one, its parameter
/// (missing when the parameters ran out).
struct ModeChange {
  bool add = true;
  char letter = 0;
  std::optional<std::string> arg;
};

/// Whether `letter` takes a parameter when set (`add`) or unset: list (b, e, I) and prefix (o, v)
/// modes and the key (k) always, the limit (l) only when set, flags (Cimnst) and unknown letters never.
bool takes_arg(char letter, bool add) {
  switch (letter) {
    case 'b':
    case 'e':
    case 'I':
    case 'o':
    case 'v':
    case 'k': return true;
    case 'l': return add;
    default: return false;
  }
}

/// "+o-v alice bob" from MODE's parameters (`params[first]` on are the mode parameters).
std::vector<ModeChange> parse_mode_changes(std::string_view modes, const std::vector<std::string>& params,
                                           std::size_t first) {
  std::vector<ModeChange> out;
  std::size_t next = first;
  bool add = true;
  for (char letter : modes) {
    if (letter == '+' || letter == '-') {
      add = letter == '+';
      continue;
    }
    ModeChange change{add, letter, std::nullopt};
    if (takes_arg(letter, add) && next < params.size()) change.arg = params[next++];
    out.push_back(std::move(change));
  }
  return out;
}

// ---- channel modes: applying ------------------------------------------------------------------

/// One MODE command on a channel as it is applied: who asks, what was applied, what was refused.
struct ModeRun {
  ModeRun(S& server, Client& client, Channel& channel, Member* member) : s(server), c(client), ch(channel), me(member) {}
  S& s;
  Client& c;
  Channel& ch;
  Member* me;
  std::size_t param_modes = 0;  ///< changes with a parameter so far (ISUPPORT MODES)
  std::string listed;           ///< the list modes whose list was sent once already
  bool denied = false;          ///< ERR_CHANOPRIVSNEEDED was sent once already
  bool deferred = false;        ///< a cluster decides it: `ch` is a scratch copy, the replica is left alone
  ModeString modes;
  std::vector<std::string> args;

  std::vector<ModeChange> done;  ///< what was applied, for the cluster's shared state

  void applied(bool plus, char letter, std::string arg = {}) {
    modes.add(plus, letter);
    done.push_back({plus, letter, arg.empty() ? std::nullopt : std::optional<std::string>(arg)});
    if (!arg.empty()) args.push_back(std::move(arg));
  }
  bool need_op() {
    if (me && me->op) return true;
    if (!denied) err_chanop_needed(s, c, ch);
    denied = true;
    return false;
  }
  /// Counts one more change with a parameter; false past the MODES limit.
  bool count_param() { return ++param_modes <= s.cfg_.max_modes; }
  void missing_param(char letter, std::string_view what) {
    s.send(c, s.rpl(c, ERR_INVALIDMODEPARAM).p(ch.name).p(std::string(1, letter)).p("*")
                  .t("You must specify a parameter for the " + std::string(what) + " mode"));
  }
};

/// A list mode (ISUPPORT CHANMODES class A): its list in the channel and its replies.
struct ListMode {
  std::vector<Ban> Channel::*list;
  Numeric item;
  Numeric end;
  std::string_view end_text;
};

/// b: bans (367/368); e: ban exceptions, EXCEPTS (348/349); I: invite exceptions, INVEX (346/347).
ListMode list_mode(char letter) {
  switch (letter) {
    case 'e': return {&Channel::excepts, RPL_EXCEPTLIST, RPL_ENDOFEXCEPTLIST, "End of channel exception list"};
    case 'I': return {&Channel::invexes, RPL_INVITELIST, RPL_ENDOFINVITELIST, "End of channel invite exception list"};
    default: return {&Channel::bans, RPL_BANLIST, RPL_ENDOFBANLIST, "End of channel ban list"};
  }
}

void send_list(ModeRun& r, char letter, const ListMode& lm) {
  if (r.listed.find(letter) != std::string::npos) return;
  r.listed += letter;
  if (r.ch.secret && !r.me) return;
  for (const Ban& b : r.ch.*lm.list) {
    r.s.send(r.c, r.s.rpl(r.c, lm.item).p(r.ch.name).p(b.mask).p(b.setter).p(std::to_string(b.when)));
  }
  r.s.send(r.c, r.s.rpl(r.c, lm.end).p(r.ch.name).t(lm.end_text));
}

/// Class A (b, e, I): without a parameter the list, else one mask added or removed. MAXLIST=beI:N
/// bounds the three lists together; past it RFC 2812's 478 "<channel> <char> :Channel list is full".
void apply_list_mode(ModeRun& r, const ModeChange& mc) {
  ListMode lm = list_mode(mc.letter);
  if (!mc.arg) return send_list(r, mc.letter, lm);
  if (!r.count_param() || !r.need_op()) return;
  std::string mask = normalize_mask(*mc.arg);
  auto& list = r.ch.*lm.list;
  auto it = std::find_if(list.begin(), list.end(), [&](const Ban& b) { return equal_folded(b.mask, mask, r.s.cfg_.casemapping); });
  if (mc.add && it == list.end()) {
    if (r.ch.bans.size() + r.ch.excepts.size() + r.ch.invexes.size() >= r.s.cfg_.max_bans) {
      r.s.send(r.c, r.s.rpl(r.c, ERR_BANLISTFULL).p(r.ch.name).p(std::string(1, mc.letter)).t("Channel list is full"));
      return;
    }
    list.push_back({mask, r.c.nick, r.s.unix_now()});
    r.applied(true, mc.letter, mask);
  } else if (!mc.add && it != list.end()) {
    r.applied(false, mc.letter, it->mask);
    list.erase(it);
  }
}

/// Prefix modes (o, v): a member's status.
void apply_prefix_mode(ModeRun& r, const ModeChange& mc) {
  if (!mc.arg || !r.count_param() || !r.need_op()) return;
  Client* t = r.s.find_nick(*mc.arg);
  if (t == nullptr && r.s.shares_channels()) {  // a member on another node: the replica's prefix
    const std::string chan = fold(r.ch.name, r.s.cfg_.casemapping);
    if (S::RemoteUser* u = r.s.remote_member(*mc.arg, chan)) {
      auto& list = mc.letter == 'o' ? u->ops : u->voices;
      if ((std::find(list.begin(), list.end(), chan) != list.end()) == mc.add) return;
      if (!r.deferred) S::set_remote_prefix(*u, chan, mc.letter, mc.add);
      return r.applied(mc.add, mc.letter, u->nick);
    }
  }
  if (t == nullptr) return err_no_such_nick(r.s, r.c, *mc.arg);
  Member* tm = r.ch.find(t->id);
  if (!tm) return err_user_not_in_channel(r.s, r.c, *t, r.ch);
  bool& flag = mc.letter == 'o' ? tm->op : tm->voice;
  if (flag == mc.add) return;
  flag = mc.add;
  r.applied(mc.add, mc.letter, t->nick);
}

/// Class B (k): the key, a parameter both ways.
void apply_key_mode(ModeRun& r, const ModeChange& mc) {
  if (mc.add && (!mc.arg || mc.arg->empty())) return r.missing_param('k', "key");
  if (!r.count_param() || !r.need_op()) return;
  if (!mc.add) {
    if (r.ch.key.empty()) return;
    r.ch.key.clear();
    return r.applied(false, 'k', "*");
  }
  const std::string& arg = *mc.arg;
  if (arg.front() == ':' || arg.find_first_of(" ,") != std::string::npos) {
    // A key with a space, a comma or a leading ':' cannot be given back in JOIN (nor shown in
    // 324 as one word): refused, as Modern IRC allows (525 ERR_INVALIDKEY).
    r.s.send(r.c, r.s.rpl(r.c, ERR_INVALIDKEY).p(r.ch.name).t("Key is not well-formed"));
    return;
  }
  std::string key = arg.substr(0, 23);
  if (key == r.ch.key) return;
  r.ch.key = key;
  r.applied(true, 'k', key);
}

/// Class C (l): the limit, a parameter only when set.
void apply_limit_mode(ModeRun& r, const ModeChange& mc) {
  if (!mc.add) {
    if (!r.need_op() || r.ch.limit == 0) return;
    r.ch.limit = 0;
    return r.applied(false, 'l');
  }
  if (!mc.arg) return r.missing_param('l', "limit");
  if (!r.count_param() || !r.need_op()) return;
  const std::string& arg = *mc.arg;
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), n);
  if (ec != std::errc() || p != arg.data() + arg.size() || n == 0) {
    r.s.send(r.c, r.s.rpl(r.c, ERR_INVALIDMODEPARAM).p(r.ch.name).p("l").p(arg).t("Invalid limit"));
    return;
  }
  if (n == r.ch.limit) return;
  r.ch.limit = n;
  r.applied(true, 'l', std::to_string(n));
}

/// Class D (C, i, m, n, s, t): flags, no parameter.
void apply_flag_mode(ModeRun& r, const ModeChange& mc) {
  if (!r.need_op()) return;
  Channel& ch = r.ch;
  bool& flag = mc.letter == 'C'   ? ch.no_ctcp
               : mc.letter == 'i' ? ch.invite_only
               : mc.letter == 'm' ? ch.moderated
               : mc.letter == 'n' ? ch.no_external
               : mc.letter == 's' ? ch.secret
                                  : ch.topic_lock;
  if (flag == mc.add) return;
  flag = mc.add;
  r.applied(mc.add, mc.letter);
}

void apply_mode(ModeRun& r, const ModeChange& mc) {
  switch (mc.letter) {
    case 'b':
    case 'e':
    case 'I': return apply_list_mode(r, mc);
    case 'o':
    case 'v': return apply_prefix_mode(r, mc);
    case 'k': return apply_key_mode(r, mc);
    case 'l': return apply_limit_mode(r, mc);
    case 'C':
    case 'i':
    case 'm':
    case 'n':
    case 's':
    case 't': return apply_flag_mode(r, mc);
    default:
      r.s.send(r.c, r.s.rpl(r.c, ERR_UNKNOWNMODE).p(std::string(1, mc.letter))
                        .t("is unknown mode char to me for " + r.ch.name));
  }
}

// ---- channel modes: replies -------------------------------------------------------------------

/// MODE #chan without changes: RPL_CHANNELMODEIS (the key only to members) and RPL_CREATIONTIME.
void send_channel_modes(S& s, Client& c, const Channel& ch, bool member) {
  Line l = s.rpl(c, RPL_CHANNELMODEIS).p(ch.name);
  std::string modes = ch.mode_string(member);
  for (std::string_view part : split_list(modes, ' ')) l.p(part);
  s.send(c, l);
  s.send(c, s.rpl(c, RPL_CREATIONTIME).p(ch.name).p(std::to_string(ch.created)));
}

void share_modes(ModeRun& r, const std::string& line);

/// The MODE line telling the channel what was applied (nothing when nothing was).
void send_applied_modes(ModeRun& r) {
  if (r.modes.empty() || r.s.gone(r.c)) return;
  Line l = r.s.from(r.c, "MODE").p(r.ch.name);
  if (r.args.empty()) {
    l.t(r.modes.str());
  } else {
    l.p(r.modes.str());
    for (std::size_t i = 0; i + 1 < r.args.size(); ++i) l.p(r.args[i]);
    l.t(r.args.back());
  }
  if (r.deferred) return share_modes(r, l.str());  // applied here when Redis hands it back
  r.s.record_event(r.c, r.ch, l.str());
  share_modes(r, l.str());
  r.s.to_channel(r.ch, l.str(), nullptr, {}, r.c.account);
}

/// In a cluster sharing channels: what `r` applied goes to the channel's shared state (the flags,
/// key and limit whole, list entries and member prefixes one by one), with the MODE line
/// published in the same step as a MODE event that every other node applies to its copy.
void share_modes(ModeRun& r, const std::string& line) {
  S& s = r.s;
  if (r.done.empty() || s.cluster_ == nullptr || !s.cluster_->shares_channels()) return;
  using Op = ClusterChannelChange::Op;
  const Channel& ch = r.ch;
  std::string flags;
  const std::pair<bool, char> set[] = {{ch.no_ctcp, 'C'},     {ch.invite_only, 'i'}, {ch.moderated, 'm'},
                                       {ch.no_external, 'n'}, {ch.secret, 's'},      {ch.topic_lock, 't'}};
  for (auto [on, letter] : set) {
    if (on) flags += letter;
  }
  std::vector<ClusterChannelChange> changes{{Op::set, "modes", flags}};
  changes.push_back(ch.key.empty() ? ClusterChannelChange{Op::del, "key", {}} : ClusterChannelChange{Op::set, "key", ch.key});
  changes.push_back(ch.limit == 0 ? ClusterChannelChange{Op::del, "limit", {}}
                                  : ClusterChannelChange{Op::set, "limit", std::to_string(ch.limit)});
  const Casemapping cm = s.cfg_.casemapping;
  for (const ModeChange& mc : r.done) {
    if ((mc.letter == 'b' || mc.letter == 'e' || mc.letter == 'I') && mc.arg) {
      const std::string field = std::string(1, mc.letter) + " " + *mc.arg;
      if (!mc.add) {
        changes.push_back({Op::del, field, {}});
        continue;
      }
      const auto& list = mc.letter == 'b' ? ch.bans : mc.letter == 'e' ? ch.excepts : ch.invexes;
      auto it = std::find_if(list.begin(), list.end(), [&](const Ban& b) { return b.mask == *mc.arg; });
      if (it != list.end()) changes.push_back({Op::set, field, it->setter + " " + std::to_string(it->when) + " " + fold(it->mask, cm)});
    } else if ((mc.letter == 'o' || mc.letter == 'v') && mc.arg && r.deferred) {  // any node's member, by nick
      changes.push_back({Op::prefix, fold(*mc.arg, cm), std::string(mc.add ? "+" : "-") + mc.letter});
    } else if ((mc.letter == 'o' || mc.letter == 'v') && mc.arg) {
      Client* t = s.find_nick(*mc.arg);
      const Member* tm = t != nullptr ? r.ch.find(t->id) : nullptr;
      if (tm == nullptr) continue;  // a member on another node: its own node records it
      std::string prefix = std::string(tm->op ? "@" : "") + (tm->voice ? "+" : "");
      changes.push_back({Op::member, std::to_string(t->id), prefix.empty() ? "-" : prefix});
    }
  }
  if (r.deferred) {
    s.decide_in_cluster(ch, 'o', std::move(changes), ClusterEvent::Kind::mode, r.c, ch.name, {}, line);
    return;
  }
  s.share_channel(ch, std::move(changes), ClusterEvent::Kind::mode, r.c, ch.name, {}, line);
}

}  // namespace

void ServerImpl::apply_remote_modes(Channel* ch, const std::string& folded_chan, const Message& m, const std::string& setter,
                                    bool record) {
  const std::int64_t now = unix_now();
  std::vector<ClusterChannelChange> mine;  // prefixes of this node's members: recorded in Redis from here
  for (const ModeChange& mc : parse_mode_changes(m.params[1], m.params, 2)) {
    if ((mc.letter == 'o' || mc.letter == 'v') && mc.arg) {
      Client* t = find_nick(*mc.arg);
      Member* tm = ch != nullptr && t != nullptr ? ch->find(t->id) : nullptr;
      if (tm != nullptr) {
        (mc.letter == 'o' ? tm->op : tm->voice) = mc.add;
        std::string prefix = std::string(tm->op ? "@" : "") + (tm->voice ? "+" : "");
        mine.push_back({ClusterChannelChange::Op::member, std::to_string(t->id), prefix.empty() ? "-" : prefix});
      } else if (RemoteUser* u = remote_member(*mc.arg, folded_chan)) {
        set_remote_prefix(*u, folded_chan, mc.letter, mc.add);
      }
      continue;
    }
    if (ch == nullptr) continue;  // no member here: nothing else to keep
    switch (mc.letter) {
      case 'b':
      case 'e':
      case 'I': {
        if (!mc.arg) break;
        auto& list = ch->*list_mode(mc.letter).list;
        std::erase_if(list, [&](const Ban& b) { return equal_folded(b.mask, *mc.arg, cfg_.casemapping); });
        if (mc.add) list.push_back({*mc.arg, setter, now});
        break;
      }
      case 'k': ch->key = mc.add && mc.arg ? *mc.arg : std::string(); break;
      case 'l': {
        std::size_t n = 0;
        if (mc.add && mc.arg) std::from_chars(mc.arg->data(), mc.arg->data() + mc.arg->size(), n);
        ch->limit = n;
        break;
      }
      case 'C': ch->no_ctcp = mc.add; break;
      case 'i': ch->invite_only = mc.add; break;
      case 'm': ch->moderated = mc.add; break;
      case 'n': ch->no_external = mc.add; break;
      case 's': ch->secret = mc.add; break;
      case 't': ch->topic_lock = mc.add; break;
      default: break;
    }
  }
  if (record && !mine.empty()) cluster_->update_channel(folded_chan, mine, nullptr);
}

namespace {

void channel_mode(S& s, Client& c, Message& m) {
  Channel* ch = s.find_channel(m.params[0]);
  if (ch == nullptr) return err_no_such_channel(s, c, m.params[0]);
  Member* me = ch->find(c.id);
  if (m.params.size() < 2) return send_channel_modes(s, c, *ch, me != nullptr);
  // In a relaying cluster sharing channels the changes are worked out on a copy and decided by a
  // script against Redis (the setter's rank there); every node applies them when the event comes back.
  const bool deferred = s.shares_channels() && s.cluster_->relaying();
  std::optional<Channel> scratch;
  if (deferred) scratch.emplace(*ch);
  Channel& target = deferred ? *scratch : *ch;
  ModeRun run(s, c, target, target.find(c.id));
  run.deferred = deferred;
  for (const ModeChange& mc : parse_mode_changes(m.params[1], m.params, 2)) {
    if (s.gone(c)) return;
    apply_mode(run, mc);
  }
  send_applied_modes(run);
}

void cmd_mode(S& s, Client& c, Message& m, TimePoint) {
  if (is_channel_name(m.params[0])) {
    channel_mode(s, c, m);
  } else {
    user_mode(s, c, m);
  }
}

constexpr CommandSpec kCommands[] = {
    {"MODE", cmd_mode, State::registered, 1, kUnlimited, "<target> [<modestring> [<mode arguments>...]]",
     "Shows or changes a user's or a channel's modes."},
};

}  // namespace

std::span<const CommandSpec> mode_commands() { return kCommands; }

}  // namespace sockit::irc
