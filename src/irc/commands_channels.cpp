// Channel operations: JOIN, PART, KICK, INVITE, TOPIC, NAMES, LIST, and joining one channel
// (its checks, the JOIN broadcast, topic and names) for JOIN.
#include "commands.hpp"

#include "sockit/irc/names.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>

namespace sockit::irc {

namespace {

void cmd_join(S& s, Client& c, Message& m, TimePoint now) {
  if (m.params[0].empty()) return err_need_more_params(s, c, "JOIN");  // Modern IRC, as ngIRCd
  if (m.params[0] == "0") {
    while (!c.channels.empty()) {
      Channel& ch = *c.channels.back();
      std::string line = s.from(c, "PART").p(ch.name).t("Left all channels").str();
      s.record_event(c, ch, line);
      s.cluster_publish(ClusterEvent::Kind::part, c, ch.name, line);
      s.to_channel(ch, std::move(line), nullptr, {}, c.account);
      s.remove_member(ch, c);
    }
    return;
  }
  auto names = split_list(m.params[0]);
  auto keys = m.params.size() > 1 ? split_list(m.params[1]) : std::vector<std::string_view>{};
  if (s.cluster_ != nullptr && s.cluster_->shares_channels()) {  // each JOIN asks Redis, one after the other
    auto list = std::make_shared<S::JoinList>();
    for (std::size_t i = 0; i < names.size(); ++i) {
      list->emplace_back(std::string(names[i]), std::string(i < keys.size() ? keys[i] : std::string_view()));
    }
    s.cluster_join(c, std::move(list), 0, now);
    return;
  }
  for (std::size_t i = 0; i < names.size() && !s.gone(c); ++i) {
    s.join_channel(c, names[i], i < keys.size() ? keys[i] : std::string_view());
  }
}

void cmd_part(S& s, Client& c, Message& m, TimePoint) {
  if (m.params[0].empty()) return err_need_more_params(s, c, "PART");  // Modern IRC, as ngIRCd
  std::string reason = m.params.size() > 1 ? m.params[1] : std::string();
  for (std::string_view name : split_list(m.params[0])) {
    Channel* ch = s.find_channel(name);
    if (ch == nullptr) {
      err_no_such_channel(s, c, name);
      continue;
    }
    if (!ch->find(c.id)) {
      err_not_on_channel(s, c, *ch);
      continue;
    }
    Line l = s.from(c, "PART").p(ch->name);
    if (!reason.empty()) l.t(truncate_utf8(reason, s.cfg_.kick_len));
    s.record_event(c, *ch, l.str());
    s.cluster_publish(ClusterEvent::Kind::part, c, ch->name, l.str());
    s.to_channel(*ch, l.str(), nullptr, {}, c.account);
    s.remove_member(*ch, c);
  }
}

/// RPL_TOPIC and RPL_TOPICWHOTIME for a channel that has a topic.
void send_topic(S& s, Client& c, const Channel& ch) {
  s.send(c, s.rpl(c, RPL_TOPIC).p(ch.name).t(ch.topic));
  s.send(c, s.rpl(c, RPL_TOPICWHOTIME).p(ch.name).p(ch.topic_by).p(std::to_string(ch.topic_time)));
}

void cmd_topic(S& s, Client& c, Message& m, TimePoint) {
  Channel* ch = s.find_channel(m.params[0]);
  if (ch == nullptr) {
    err_no_such_channel(s, c, m.params[0]);
    return;
  }
  Member* me = ch->find(c.id);
  if (m.params.size() < 2) {
    if (!me && ch->secret) {
      err_not_on_channel(s, c, *ch);
      return;
    }
    if (ch->topic.empty()) {
      s.send(c, s.rpl(c, RPL_NOTOPIC).p(ch->name).t("No topic is set"));
    } else {
      send_topic(s, c, *ch);
    }
    return;
  }
  if (!me) {
    err_not_on_channel(s, c, *ch);
    return;
  }
  if (ch->topic_lock && !me->op) {
    err_chanop_needed(s, c, *ch);
    return;
  }
  std::string_view topic = truncate_utf8(m.params[1], s.cfg_.topic_len);
  if (topic == ch->topic) return;  // Modern IRC: TOPIC goes out when the topic is changed or cleared
  using Op = ClusterChannelChange::Op;
  // A cluster: +t and the setter's rank checked in Redis, set when the event comes back.
  if (s.decide_in_cluster(*ch, 't',
                          {{Op::set, "topic", std::string(topic)}, {Op::set, "topic_by", c.nick},
                           {Op::set, "topic_time", std::to_string(s.unix_now())}},
                          ClusterEvent::Kind::topic, c, ch->name, {}, s.from(c, "TOPIC").p(ch->name).t(topic).str())) {
    return;
  }
  ch->topic = std::string(topic);
  ch->topic_by = c.nick;  // Modern IRC RPL_TOPICWHOTIME: "<nick>" (some servers send the mask)
  ch->topic_time = s.unix_now();
  std::string line = s.from(c, "TOPIC").p(ch->name).t(ch->topic).str();
  s.record_event(c, *ch, line);
  s.share_channel(*ch,
                  {{Op::set, "topic", ch->topic}, {Op::set, "topic_by", ch->topic_by},
                   {Op::set, "topic_time", std::to_string(ch->topic_time)}},
                  ClusterEvent::Kind::topic, c, ch->name, {}, line);
  s.to_channel(*ch, std::move(line), nullptr, {}, c.account);
}

void cmd_names(S& s, Client& c, Message& m, TimePoint) {
  if (m.params.empty() || m.params[0].empty()) {
    // As InspIRCd and Ergo do (and Modern IRC says): one 366 with "*"; its text says why.
    s.send(c, s.rpl(c, RPL_ENDOFNAMES).p("*").t("End of /NAMES list (name a channel: NAMES #channel)"));
    return;
  }
  for (std::string_view name : split_list(m.params[0])) {
    Channel* ch = s.find_channel(name);
    if (ch && (ch->find(c.id) || !ch->secret)) {
      s.send_names(c, *ch, true);
    } else {
      s.send(c, s.rpl(c, RPL_ENDOFNAMES).p(name).t("End of /NAMES list"));
    }
  }
}

/// The LIST filters of one request (ISUPPORT ELIST=CMNTU, as InspIRCd and Solanum read them): the
/// comma-separated words of its first parameter. `<n` `>n`: fewer / more than n users; `C<n` `C>n`:
/// created less / more than n minutes ago; `T<n` `T>n`: topic set less / more than n minutes ago
/// (a channel without a topic passes neither); `!mask`: names not matching; any other word: a name
/// or mask, a channel passing when it matches one of them. Every filter given must pass.
struct ListFilter {
  std::vector<std::string_view> masks, not_masks;
  std::optional<std::size_t> min_users, max_users;    // > and <, exclusive
  std::optional<std::int64_t> min_age, max_age;       // seconds since creation, exclusive
  std::optional<std::int64_t> min_topic, max_topic;   // seconds since the topic was set, exclusive

  /// The number after `word`'s first `skip` bytes, when they are all digits.
  static std::optional<std::int64_t> number(std::string_view word, std::size_t skip) {
    std::int64_t n = 0;
    std::string_view digits = word.substr(skip);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() || n < 0) return std::nullopt;
    return n;
  }
  static std::optional<std::int64_t> minutes(std::string_view word) {
    auto n = number(word, 2);
    if (n && *n > std::numeric_limits<std::int64_t>::max() / 60) n = std::numeric_limits<std::int64_t>::max() / 60;
    return n ? std::optional<std::int64_t>(*n * 60) : std::nullopt;
  }

  explicit ListFilter(std::string_view param) {
    for (std::string_view w : split_list(param)) {
      const char c0 = w.empty() ? '\0' : w[0];
      const char c1 = w.size() > 1 ? w[1] : '\0';
      if ((c0 == '<' || c0 == '>') && number(w, 1)) {
        auto n = static_cast<std::size_t>(*number(w, 1));
        (c0 == '<' ? max_users : min_users) = n;
      } else if ((c0 == 'C' || c0 == 'T') && (c1 == '<' || c1 == '>') && minutes(w)) {
        auto& bound = c0 == 'C' ? (c1 == '<' ? max_age : min_age) : (c1 == '<' ? max_topic : min_topic);
        bound = *minutes(w);
      } else if (c0 == '!' && w.size() > 1) {
        not_masks.push_back(w.substr(1));
      } else if (!w.empty()) {
        masks.push_back(w);
      }
    }
  }

  /// One channel name without wildcards and nothing else: LIST looks it up instead of walking all.
  std::optional<std::vector<std::string_view>> names_only() const {
    if (masks.empty() || !not_masks.empty() || min_users || max_users || min_age || max_age || min_topic || max_topic)
      return std::nullopt;
    for (std::string_view m : masks) {
      if (m.find_first_of("*?") != std::string_view::npos) return std::nullopt;
    }
    return masks;
  }

  /// What the filters read of one channel: a local copy, or (in a cluster) the directory's entry
  /// of a channel with members on other nodes only. `users`: its members on every node.
  struct Entry {
    std::string_view name, topic;
    std::size_t users = 0;
    std::int64_t created = 0, topic_time = 0;
  };

  bool pass(const Entry& ch, std::int64_t now, Casemapping cm) const {
    if ((min_users && ch.users <= *min_users) || (max_users && ch.users >= *max_users)) return false;
    const std::int64_t age = now - ch.created;
    if ((min_age && age <= *min_age) || (max_age && age >= *max_age)) return false;
    if (min_topic || max_topic) {
      if (ch.topic.empty()) return false;
      const std::int64_t topic_age = now - ch.topic_time;
      if ((min_topic && topic_age <= *min_topic) || (max_topic && topic_age >= *max_topic)) return false;
    }
    auto matches = [&](std::string_view m) { return mask_match(m, ch.name, cm); };
    if (std::any_of(not_masks.begin(), not_masks.end(), matches)) return false;
    return masks.empty() || std::any_of(masks.begin(), masks.end(), matches);
  }
};

void cmd_list(S& s, Client& c, Message& m, TimePoint) {
  s.send(c, s.rpl(c, RPL_LISTSTART).p("Channel").t("Users  Name"));
  // The channels of the network: this node's copies, then (in a cluster) the directory's channels
  // with no member here (docs/CLUSTER.md, "LIST across nodes"). A secret one is shown to its
  // members only: never one of the directory's (`c` is not in it).
  std::vector<ListFilter::Entry> rows;
  auto local = [&](Channel& ch) {
    ListFilter::Entry e{ch.name, ch.topic, s.member_count(ch), ch.created, ch.topic_time};
    return std::pair{e, !ch.secret || ch.find(c.id) != nullptr};
  };
  auto remote = [&](const std::string& folded, const S::RemoteChannel& rc) {
    ListFilter::Entry e{rc.name, rc.topic, s.remote_member_count(folded), rc.created, rc.topic_time};
    return std::pair{e, !rc.secret};
  };
  const ListFilter filter(m.params.empty() ? std::string_view() : std::string_view(m.params[0]));
  if (auto names = filter.names_only()) {
    for (std::string_view name : *names) {
      std::optional<std::pair<ListFilter::Entry, bool>> row;
      if (Channel* ch = s.find_channel(name)) {
        row = local(*ch);
      } else if (S::RemoteChannel* rc = s.remote_channel(name)) {
        row = remote(fold(name, s.cfg_.casemapping), *rc);
      }
      if (row && row->second) rows.push_back(row->first);
    }
  } else {
    const std::int64_t now = s.unix_now();
    auto add = [&](const std::pair<ListFilter::Entry, bool>& row) {
      if (row.second && filter.pass(row.first, now, s.cfg_.casemapping)) rows.push_back(row.first);
    };
    for (auto& [k, ch] : s.channels_) add(local(*ch));
    for (auto& [k, rc] : s.remote_channels_) {
      if (s.channels_.find(k) == s.channels_.end()) add(remote(k, rc));  // a copy here: listed above
    }
  }
  // Sending may drop `c` (its sendq), and with it channels the rows point into: checked each time.
  for (const ListFilter::Entry& e : rows) {
    if (s.gone(c)) return;
    s.send(c, s.rpl(c, RPL_LIST).p(e.name).p(std::to_string(e.users)).t(e.topic));
  }
  s.send(c, s.rpl(c, RPL_LISTEND).t("End of /LIST"));
}

/// The channel `c` names, when `c` is one of its operators; else the error, and null.
Channel* channel_as_op(S& s, Client& c, std::string_view name) {
  Channel* ch = s.find_channel(name);
  if (ch == nullptr) {
    err_no_such_channel(s, c, name);
    return nullptr;
  }
  Member* me = ch->find(c.id);
  if (!me) {
    err_not_on_channel(s, c, *ch);
    return nullptr;
  }
  if (!me->op) {
    err_chanop_needed(s, c, *ch);
    return nullptr;
  }
  return ch;
}

void cmd_kick(S& s, Client& c, Message& m, TimePoint) {
  // Modern IRC lists 461 among KICK's replies and no 401: an empty <user> is a missing one.
  if (m.params[1].empty()) return err_need_more_params(s, c, "KICK");
  Channel* ch = channel_as_op(s, c, m.params[0]);
  if (ch == nullptr) return;
  std::string reason = m.params.size() > 2 ? m.params[2] : c.nick;  // an empty comment is a comment
  reason = std::string(truncate_utf8(reason, s.cfg_.kick_len));
  auto victims = split_list(m.params[1]);
  if (victims.size() > s.cfg_.max_targets) victims.resize(s.cfg_.max_targets);
  std::string chan_name = ch->name;
  for (std::string_view v : victims) {
    ch = s.find_channel(chan_name);  // the channel disappears when its last member is kicked
    if (ch == nullptr) break;
    Client* t = s.find_nick(v);
    if (t == nullptr && s.shares_channels()) {  // a member on another node: its node removes it
      const std::string folded_chan = fold(ch->name, s.cfg_.casemapping);
      if (S::RemoteUser* u = s.remote_member(v, folded_chan)) {
        std::string kick = s.from(c, "KICK").p(ch->name).p(u->nick).t(reason).str();
        // The kicker's rank checked in Redis; applied on every node when the event comes back.
        if (s.decide_in_cluster(*ch, 'o', {}, ClusterEvent::Kind::kick, c, ch->name, u->mask, kick)) continue;
        s.record_event(c, *ch, kick);
        s.share_channel(*ch, {}, ClusterEvent::Kind::kick, c, ch->name, u->mask, kick);
        s.forget_remote_member(fold(u->nick, s.cfg_.casemapping), folded_chan);
        s.to_channel(*ch, std::move(kick), nullptr, {}, c.account);
        continue;
      }
    }
    if (t == nullptr) {
      err_no_such_nick(s, c, v);
      continue;
    }
    if (!ch->find(t->id)) {
      err_user_not_in_channel(s, c, *t, *ch);
      continue;
    }
    std::string kick = s.from(c, "KICK").p(ch->name).p(t->nick).t(reason).str();
    if (s.decide_in_cluster(*ch, 'o', {}, ClusterEvent::Kind::kick, c, ch->name, t->mask(), kick)) continue;
    s.record_event(c, *ch, kick);
    if (s.shares_channels()) {  // the other nodes: t leaves, they see the KICK
      s.share_channel(*ch, {}, ClusterEvent::Kind::kick, c, ch->name, t->mask(), kick);
    } else {
      s.cluster_publish(ClusterEvent::Kind::part, *t, ch->name, kick);
    }
    s.to_channel(*ch, std::move(kick), nullptr, {}, c.account);
    if (Channel* still = s.find_channel(chan_name); still && still->find(t->id)) s.remove_member(*still, *t);
  }
}

/// Whether the inviter's rank on a +i channel is checked in Redis (the decide script), not here.
bool decided_in_redis(S& s) { return s.shares_channels() && s.cluster_->relaying(); }

/// INVITE to an existing channel: whether `c` may invite `t` there (the error sent if not).
bool may_invite(S& s, Client& c, const Client& t, Channel& ch) {
  Member* me = ch.find(c.id);
  if (!me) {
    err_not_on_channel(s, c, ch);
    return false;
  }
  if (ch.find(t.id)) {
    s.send(c, s.rpl(c, ERR_USERONCHANNEL).p(t.nick).p(ch.name).t("is already on channel"));
    return false;
  }
  if (ch.invite_only && !me->op && !decided_in_redis(s)) {
    err_chanop_needed(s, c, ch);
    return false;
  }
  return true;
}

/// INVITE of a user on another node (a cluster sharing channels): the invitation goes to the
/// channel's shared state and, as an INVITE event, to the invited user's node and to the members
/// with invite-notify on every node.
bool invite_remote(S& s, Client& c, Message& m) {
  const S::RemoteUser* u = s.remote_user(m.params[0]);
  Channel* ch = u != nullptr ? s.find_channel(m.params[1]) : nullptr;
  if (ch == nullptr) return false;
  Member* me = ch->find(c.id);
  if (!me) {
    err_not_on_channel(s, c, *ch);
    return true;
  }
  const std::string folded_chan = fold(ch->name, s.cfg_.casemapping);
  if (std::find(u->channels.begin(), u->channels.end(), folded_chan) != u->channels.end()) {
    s.send(c, s.rpl(c, ERR_USERONCHANNEL).p(u->nick).p(ch->name).t("is already on channel"));
    return true;
  }
  if (ch->invite_only && !me->op && !decided_in_redis(s)) {
    err_chanop_needed(s, c, *ch);
    return true;
  }
  const std::string nick = u->nick, chan = ch->name;
  std::string wire = s.from(c, "INVITE").p(nick).t(chan).str();
  // The inviter's rank on a +i channel checked in Redis (the decide script); 341 and the lines
  // when the event comes back (cluster_decided, apply_channel_event).
  if (s.decide_in_cluster(*ch, 'i', {{ClusterChannelChange::Op::set, "inv " + fold(nick, s.cfg_.casemapping), "1"}},
                          ClusterEvent::Kind::invite, c, nick, {}, wire)) {
    return true;
  }
  s.send(c, s.rpl(c, RPL_INVITING).p(nick).p(chan));
  s.share_channel(*ch, {{ClusterChannelChange::Op::set, "inv " + fold(nick, s.cfg_.casemapping), "1"}},
                  ClusterEvent::Kind::invite, c, nick, {}, wire);
  S::Fanout notify(s, std::move(wire), {}, kCapInviteNotify, c.account);
  for (std::size_t i = 0; i < ch->members.size(); ++i) {
    if (ch->members[i].second.client != &c) notify.to(*ch->members[i].second.client);
  }
  return true;
}

void cmd_invite(S& s, Client& c, Message& m, TimePoint) {
  Client* t = s.find_nick(m.params[0]);
  if (t == nullptr && s.shares_channels() && invite_remote(s, c, m)) return;
  if (t == nullptr || !t->registered) {
    err_no_such_nick(s, c, m.params[0]);
    return;
  }
  Channel* ch = s.find_channel(m.params[1]);
  if (ch == nullptr) return err_no_such_channel(s, c, m.params[1]);  // Modern IRC: SHOULD 403
  if (!may_invite(s, c, *t, *ch)) return;
  std::string chan = ch->name;
  if (s.decide_in_cluster(*ch, 'i', {{ClusterChannelChange::Op::set, "inv " + fold(t->nick, s.cfg_.casemapping), "1"}},
                          ClusterEvent::Kind::invite, c, t->nick, {}, s.from(c, "INVITE").p(t->nick).t(chan).str())) {
    return;  // as a remote invitation: 341 and the INVITE lines when the script lets it through
  }
  ch->invited.insert(t->id);
  s.send(c, s.rpl(c, RPL_INVITING).p(t->nick).p(chan));
  if (!t->away.empty()) s.send(c, s.rpl(c, RPL_AWAY).p(t->nick).t(t->away));
  std::string wire = s.from(c, "INVITE").p(t->nick).t(chan).str();
  // In a cluster: the invitation in the shared state (JOIN's script reads it), the members with
  // invite-notify on the other nodes see it.
  s.share_channel(*ch, {{ClusterChannelChange::Op::set, "inv " + fold(t->nick, s.cfg_.casemapping), "1"}},
                  ClusterEvent::Kind::invite, c, t->nick, {}, wire);
  S::Fanout invited(s, wire, {}, 0, c.account);  // the account tag to an invited user that asked
  invited.to(*t);
  // IRCv3 invite-notify: the channel's members that asked see the invitation too.
  S::Fanout notify(s, std::move(wire), {}, kCapInviteNotify, c.account);
  for (std::size_t i = 0; i < ch->members.size(); ++i) {
    Client* member = ch->members[i].second.client;
    if (member != &c && member != t) notify.to(*member);
  }
}

/// A new channel named `name`, with the configured default modes.
std::unique_ptr<Channel> new_channel(S& s, std::string_view name) {
  auto owned = std::make_unique<Channel>();
  owned->name = std::string(name);
  owned->created = s.unix_now();
  for (char m : s.cfg_.default_channel_modes) {
    switch (m) {
      case 'n': owned->no_external = true; break;
      case 't': owned->topic_lock = true; break;
      case 'i': owned->invite_only = true; break;
      case 'm': owned->moderated = true; break;
      case 's': owned->secret = true; break;
      default: break;
    }
  }
  return owned;
}

/// Whether `c` may join the existing channel `ch` with `key` (+i, +k, +l, +b; an invitation
/// passes them all; a matching +I passes +i, a matching +e passes +b); the error is sent if not.
bool may_join(S& s, Client& c, const Channel& ch, std::string_view key) {
  bool invited = ch.invited.count(c.id) != 0;
  std::string m = c.mask();
  if (ch.invite_only && !invited && !Channel::listed(ch.invexes, m, s.cfg_.casemapping)) {
    s.send(c, s.rpl(c, ERR_INVITEONLYCHAN).p(ch.name).t("Cannot join channel (+i)"));
    return false;
  }
  if (!ch.key.empty() && key != ch.key && !invited) {
    s.send(c, s.rpl(c, ERR_BADCHANNELKEY).p(ch.name).t("Cannot join channel (+k)"));
    return false;
  }
  if (ch.limit && ch.members.size() >= ch.limit && !invited) {
    s.send(c, s.rpl(c, ERR_CHANNELISFULL).p(ch.name).t("Cannot join channel (+l)"));
    return false;
  }
  if (!invited && ch.banned(m, s.cfg_.casemapping)) {
    s.send(c, s.rpl(c, ERR_BANNEDFROMCHAN).p(ch.name).t("Cannot join channel (+b)"));
    return false;
  }
  return true;
}

constexpr CommandSpec kCommands[] = {
    {"INVITE", cmd_invite, State::registered, 2, 2, "<nickname> <channel>",
     "Invites a user to a channel."},
    {"JOIN", cmd_join, State::registered, 1, 2, "<channel>{,<channel>} [<key>{,<key>}]",
     "Joins channels; JOIN 0 leaves them all."},
    {"KICK", cmd_kick, State::registered, 2, 3, "<channel> <user>{,<user>} [<comment>]",
     "Removes users from a channel (channel operators)."},
    {"LIST", cmd_list, State::registered, 0, 2, "[<channel>{,<channel>}] [<elistcond>{,<elistcond>}]",
     "Lists channels with their member counts and topics."},
    {"NAMES", cmd_names, State::registered, 0, 2, "[<channel>{,<channel>}]",
     "Lists the members of channels."},
    {"PART", cmd_part, State::registered, 1, 2, "<channel>{,<channel>} [<reason>]",
     "Leaves channels."},
    {"TOPIC", cmd_topic, State::registered, 1, 2, "<channel> [<topic>]",
     "Shows or sets a channel's topic."},
};

}  // namespace

std::span<const CommandSpec> channel_commands() { return kCommands; }

void ServerImpl::send_names(Client& c, Channel& ch, bool end) {
  bool member = ch.find(c.id) != nullptr;
  bool multi = (c.caps & kCapMultiPrefix) != 0;
  bool uhnames = (c.caps & kCapUserhostInNames) != 0;
  std::string symbol = ch.secret ? "@" : "=";
  // ":server 353 nick = #chan :" plus names; keep each line within 510 bytes.
  std::size_t overhead = cfg_.server_name.size() + c.display_nick().size() + ch.name.size() + 16;
  std::string names;
  std::vector<std::string> lines;
  auto add = [&](const std::string& entry) {
    if (!names.empty() && overhead + names.size() + 1 + entry.size() > kMaxBodyBytes) {
      lines.push_back(std::move(names));
      names.clear();
    }
    if (!names.empty()) names += ' ';
    names += entry;
  };
  for (auto& [id, mem] : ch.members) {
    if (!member && mem.client->invisible && mem.client != &c) continue;
    add(prefixes(mem, multi) + (uhnames ? mem.client->mask() : mem.client->nick));
  }
  if (cluster_ != nullptr) {
    for (const std::string& entry : remote_names(ch, uhnames, multi)) add(entry);  // members on other nodes
  }
  if (!names.empty()) lines.push_back(std::move(names));
  for (const std::string& l : lines) send(c, rpl(c, RPL_NAMREPLY).p(symbol).p(ch.name).t(l));
  if (end) send(c, rpl(c, RPL_ENDOFNAMES).p(ch.name).t("End of /NAMES list"));
}

bool ServerImpl::may_try_join(Client& c, std::string_view name) {
  if (!valid_channel(name, cfg_.channel_len)) {
    err_no_such_channel(*this, c, name);
    return false;
  }
  Channel* ch = find_channel(name);
  if (ch && ch->find(c.id)) return false;
  if (c.channels.size() >= cfg_.max_channels_per_client) {
    send(c, rpl(c, ERR_TOOMANYCHANNELS).p(name).t("You have joined too many channels"));
    return false;
  }
  return true;
}

void ServerImpl::join_channel(Client& c, std::string_view name, std::string_view key) {
  if (!may_try_join(c, name)) return;
  Channel* ch = find_channel(name);
  bool op = false;
  if (ch == nullptr) {
    auto owned = new_channel(*this, name);
    ch = owned.get();
    channels_.emplace(fold(name, cfg_.casemapping), std::move(owned));
    op = true;
  } else {
    if (!may_join(*this, c, *ch, key)) return;
    ch->invited.erase(c.id);
  }
  join_as(c, *ch, op);
}

void ServerImpl::cluster_join(Client& c, std::shared_ptr<JoinList> list, std::size_t i, TimePoint now) {
  while (i < list->size() && !gone(c) && !may_try_join(c, (*list)[i].first)) ++i;
  if (i >= list->size() || gone(c)) return;
  const std::string& name = (*list)[i].first;
  auto check = std::make_shared<AuthCheck>();
  check->kind = AuthCheck::Kind::chan_join;
  if (label_.client == &c) check->label = label_.label;  // dispatch() drops the run: resumed at the verdict
  c.check = check;
  auto verdict = std::make_shared<std::pair<ClusterLink::JoinVerdict, ClusterChannelState>>();
  check->then = [this, list, i, verdict](Client& cl) {
    finish_cluster_join(cl, (*list)[i].first, verdict->first, verdict->second);
    if (!gone(cl) && !cl.check) cluster_join(cl, list, i + 1, serve::Clock::now());
  };
  std::string modes;  // the flag modes a new channel starts with (Config::default_channel_modes)
  for (char m : cfg_.default_channel_modes) {
    if (std::string_view("Cimnst").find(m) != std::string_view::npos) modes += m;
  }
  const std::string folded = fold(name, cfg_.casemapping);
  check->join_chan = folded;
  std::function<void()> wake = c.peer != nullptr ? c.peer->waker() : nullptr;
  // The verdict comes back on the loop thread, on a later turn; a client gone meanwhile gets
  // nothing, and a membership given to it is taken back.
  cluster_->join_channel(folded, fold(c.nick, cfg_.casemapping), c.id, fold(c.mask(), cfg_.casemapping), (*list)[i].second,
                         modes,
                         [weak = std::weak_ptr<AuthCheck>(check), wake = std::move(wake), verdict, link = cluster_,
                          folded, id = c.id](ClusterLink::JoinVerdict v, const ClusterChannelState& st) {
                           auto ch = weak.lock();
                           if (!ch) {
                             if (v == ClusterLink::JoinVerdict::joined || v == ClusterLink::JoinVerdict::first)
                               link->leave_channel(folded, id);
                             return;
                           }
                           *verdict = {v, st};
                           ch->result.store(1, std::memory_order_release);
                           if (wake) wake();
                         });
  poll_check(c, now);
}

void ServerImpl::finish_cluster_join(Client& c, const std::string& name, ClusterLink::JoinVerdict v,
                                     const ClusterChannelState& st) {
  using V = ClusterLink::JoinVerdict;
  const std::string folded = fold(name, cfg_.casemapping);
  Channel* ch = find_channel(name);
  if (v != V::joined && v != V::first) {
    switch (v) {
      case V::invite_only: send(c, rpl(c, ERR_INVITEONLYCHAN).p(name).t("Cannot join channel (+i)")); break;
      case V::bad_key: send(c, rpl(c, ERR_BADCHANNELKEY).p(name).t("Cannot join channel (+k)")); break;
      case V::full: send(c, rpl(c, ERR_CHANNELISFULL).p(name).t("Cannot join channel (+l)")); break;
      case V::banned: send(c, rpl(c, ERR_BANNEDFROMCHAN).p(name).t("Cannot join channel (+b)")); break;
      default:
        send(c, rpl(c, ERR_UNAVAILRESOURCE).p(name).t("Channel is temporarily unavailable: the network is degraded "
                                                       "(its Redis is unreachable), try again"));
    }
    return;
  }
  if (gone(c) || (ch && ch->find(c.id))) return;
  if (ch == nullptr) {  // no member here yet: the local copy starts from the shared state
    auto owned = new_channel(*this, name);
    ch = owned.get();
    if (v == V::joined) {
      ch->no_ctcp = st.modes.find('C') != std::string::npos;
      ch->invite_only = st.modes.find('i') != std::string::npos;
      ch->moderated = st.modes.find('m') != std::string::npos;
      ch->no_external = st.modes.find('n') != std::string::npos;
      ch->secret = st.modes.find('s') != std::string::npos;
      ch->topic_lock = st.modes.find('t') != std::string::npos;
      ch->key = st.key;
      ch->limit = st.limit;
      ch->topic = st.topic;
      ch->topic_by = st.topic_by;
      ch->topic_time = st.topic_time;
      if (st.created != 0) ch->created = st.created;
      for (const auto& e : st.lists) {
        auto& list = e.list == 'e' ? ch->excepts : e.list == 'I' ? ch->invexes : ch->bans;
        list.push_back({e.mask, e.setter, e.when});
      }
    } else if (st.created != 0) {
      ch->created = st.created;
    }
    channels_.emplace(folded, std::move(owned));
  }
  ch->invited.erase(c.id);
  join_as(c, *ch, v == V::first);
}

void ServerImpl::join_as(Client& c, Channel& joined, bool op) {
  Channel* ch = &joined;
  flush_batch();  // a member joining does not get what was said before it joined
  ch->members.emplace(c.id, Member{&c, op, false});
  c.channels.push_back(ch);
  std::string chan_name = ch->name;
  cluster_publish(ClusterEvent::Kind::join, c, chan_name, c.realname, ch->find(c.id));
  std::string wire = from(c, "JOIN").p(chan_name).str();
  const auto& members = ch->members;
  const bool any_ext = std::any_of(members.begin(), members.end(), [](const auto& e) { return e.second.client->caps & kCapExtendedJoin; });
  // IRCv3 extended-join: the account ("*": not logged in) and the real name, to those that asked.
  // History keeps this form; a replay cuts it to the plain JOIN for a client without the cap.
  std::string extended;
  if (any_ext || history_ != nullptr) {
    extended = from(c, "JOIN").p(chan_name).p(c.account.empty() ? std::string("*") : c.account).t(c.realname).str();
  }
  record_event(c, *ch, extended);
  if (any_ext) {
    Fanout plain(*this, std::move(wire), {}, 0, c.account), ext(*this, extended, {}, 0, c.account);
    for (std::size_t i = 0; i < members.size(); ++i) {
      Client& t = *members[i].second.client;
      ((t.caps & kCapExtendedJoin) ? ext : plain).to(t);
    }
  } else {
    to_channel(*ch, std::move(wire), nullptr, {}, c.account);
  }
  if (!c.away.empty() && !gone(c)) {  // IRCv3 away-notify: a member that joins away says so
    Fanout away(*this, from(c, "AWAY").t(c.away).str(), {}, kCapAwayNotify, c.account);
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (members[i].second.client != &c) away.to(*members[i].second.client);
    }
  }
  ch = find_channel(chan_name);
  if (gone(c) || ch == nullptr) return;
  if (!ch->topic.empty()) send_topic(*this, c, *ch);
  if (!gone(c)) send_names(c, *ch, true);
}

}  // namespace sockit::irc
