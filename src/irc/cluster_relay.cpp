// The IRC core's side of a cluster (docs/CLUSTER.md, "Events between nodes"): the events this
// server publishes (channel messages, messages to a nick on another node, JOIN, PART, QUIT) and
// Server::deliver_from_cluster, which hands every node's events to the local members they concern
// and keeps the replica of remote users and members (NAMES, the nick target of PRIVMSG).
#include "commands.hpp"
#include "server_impl.hpp"

#include "sockit/irc/cluster.hpp"
#include "sockit/irc/names.hpp"

#include <algorithm>
#include <charconv>

namespace sockit::irc {

namespace {

std::string without_crlf(std::string line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

std::string nick_of(std::string_view mask) { return std::string(mask.substr(0, mask.find('!'))); }

/// "msgid=ID;client-tags" as message-tags receivers get them (Fanout's `client_tags`).
std::string tags_with(std::string_view msgid, std::string_view tags) {
  std::string out;
  if (!msgid.empty()) out = "msgid=" + std::string(msgid);
  if (!tags.empty()) {
    if (!out.empty()) out += ';';
    out += tags;
  }
  return out;
}

}  // namespace

namespace {

/// An event of `kind` caused by `c` about `target`: who, as which mask and account.
ClusterEvent event_of(ClusterEvent::Kind kind, const Client& c, std::string_view target) {
  ClusterEvent e;
  e.kind = kind;
  e.sender = c.id;
  e.target = std::string(target);
  e.mask = c.mask();
  e.account = c.account;
  e.invisible = c.invisible;  // +i, +B: what the other nodes' WHO, WHOIS and LUSERS show
  e.bot = c.bot;
  return e;
}

}  // namespace

void ServerImpl::cluster_publish(ClusterEvent::Kind kind, const Client& c, std::string_view target, std::string rest,
                                 const Member* m) {
  if (cluster_ == nullptr) return;
  ClusterEvent e = event_of(kind, c, target);
  e.rest = without_crlf(std::move(rest));
  if (m != nullptr) {
    e.op = m->op;
    e.voice = m->voice;
  }
  if ((kind == ClusterEvent::Kind::join || kind == ClusterEvent::Kind::have) && !target.empty()) {
    if (const Channel* ch = find_channel(target)) e.secret = ch->secret;  // the others' LIST hides it
  }
  // Degraded: a PART or QUIT is kept and published once the link is back (after the resync).
  if ((kind == ClusterEvent::Kind::part || kind == ClusterEvent::Kind::quit) && !cluster_->relaying()) {
    cluster_->queue_for_relay(e);
    return;
  }
  cluster_->publish(e);
}

void ServerImpl::cluster_publish_user(const Client& c) {
  if (cluster_ == nullptr) return;
  ClusterEvent e = event_of(ClusterEvent::Kind::have, c, {});
  e.rest = c.realname;
  e.msgid = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(c.signon.time_since_epoch()).count());
  cluster_->publish(e);
  if (!c.away.empty()) cluster_publish_state(c, ClusterEvent::Kind::away);
  if (c.oper) cluster_publish_state(c, ClusterEvent::Kind::oper);
}

void ServerImpl::cluster_publish_state(const Client& c, ClusterEvent::Kind kind) {
  if (cluster_ == nullptr) return;
  ClusterEvent e = event_of(kind, c, {});
  if (kind == ClusterEvent::Kind::oper) {
    e.op = c.oper;
  } else if (kind != ClusterEvent::Kind::umode) {  // UMODE: +i and +B, in every event of the user (event_of)
    e.rest = without_crlf(c.away.empty() ? from(c, "AWAY").str() : from(c, "AWAY").t(c.away).str());
  }
  cluster_->publish(e);
}

void ServerImpl::note_global_users() {
  if (cluster_ == nullptr || !cluster_->relaying()) return;
  cluster_->note_global_users(registered_now_ + remote_users_.size(),
                              [this, alive = std::weak_ptr<char>(decide_alive_)](std::uint64_t max) {
                                if (!alive.expired()) cluster_max_users_ = std::max(cluster_max_users_, max);
                              });
}

std::size_t ServerImpl::member_count(const Channel& ch) const {
  if (cluster_ == nullptr) return ch.members.size();
  return ch.members.size() + remote_member_count(fold(ch.name, cfg_.casemapping));
}

std::size_t ServerImpl::remote_member_count(const std::string& folded) const {
  auto it = remote_members_.find(folded);
  return it == remote_members_.end() ? 0 : it->second.size();
}

ServerImpl::RemoteChannel* ServerImpl::remote_channel(std::string_view name) {
  auto it = remote_channels_.find(fold(name, cfg_.casemapping));
  return it == remote_channels_.end() ? nullptr : &it->second;
}

void ServerImpl::keep_in_directory(const Channel& ch) {
  RemoteChannel* rc = remote_channel(ch.name);
  if (rc == nullptr) return;
  rc->name = ch.name;
  rc->topic = ch.topic;
  rc->topic_time = ch.topic_time;
  rc->created = ch.created;
  rc->secret = ch.secret;
}

void ServerImpl::cluster_publish_channel(const Channel& ch) {
  if (cluster_ == nullptr) return;
  ClusterEvent e;
  e.kind = ClusterEvent::Kind::chan;
  e.target = ch.name;
  e.msgid = std::to_string(ch.created);
  e.secret = ch.secret;
  e.rest = std::to_string(ch.topic_time) + " " + ch.topic;
  cluster_->publish(e);
}

void ServerImpl::apply_channel_entry(const ClusterEvent& e) {
  RemoteChannel* rc = remote_channel(e.target);
  if (rc == nullptr) return;  // no member on another node known (its HAVEs come before its CHAN)
  auto number = [](std::string_view v) {
    std::int64_t n = 0;
    std::from_chars(v.data(), v.data() + v.size(), n);
    return n;
  };
  const std::string_view rest = e.rest;
  const std::size_t sp = rest.find(' ');
  rc->name = e.target;
  rc->secret = e.secret;
  if (const std::int64_t created = number(e.msgid); created > 0) rc->created = created;
  rc->topic_time = number(rest.substr(0, sp));
  rc->topic = sp == std::string_view::npos ? std::string() : std::string(rest.substr(sp + 1));
}

void ServerImpl::share_channel(const Channel& ch, std::vector<ClusterChannelChange> changes, ClusterEvent::Kind kind,
                               const Client& c, std::string_view target, std::string_view mask, const std::string& line) {
  if (!shares_channels()) return;
  ClusterEvent e = event_of(kind, c, target);
  if (!mask.empty()) e.mask = std::string(mask);
  e.rest = without_crlf(line);
  cluster_->update_channel(fold(ch.name, cfg_.casemapping), changes, &e);
}

bool ServerImpl::decide_in_cluster(const Channel& ch, char need, std::vector<ClusterChannelChange> changes,
                                   ClusterEvent::Kind kind, const Client& c, std::string_view target, std::string_view mask,
                                   const std::string& line) {
  if (!shares_channels() || !cluster_->relaying()) return false;
  ClusterEvent e = event_of(kind, c, target);
  if (!mask.empty()) e.mask = std::string(mask);
  e.rest = without_crlf(line);
  // A KICK leaves its line in Redis a while: a node that misses the event shows it as a KICK.
  if (kind == ClusterEvent::Kind::kick) {
    changes.push_back({ClusterChannelChange::Op::kicked, fold(nick_of(e.mask), cfg_.casemapping), e.rest});
  }
  cluster_->decide_channel(fold(ch.name, cfg_.casemapping), c.id, need, changes, e,
                           [this, alive = std::weak_ptr<char>(decide_alive_), id = c.id, chan = ch.name, line, kind](bool ok) {
                             if (!alive.expired()) cluster_decided(id, chan, line, ok, kind);
                           });
  return true;
}

ServerImpl::RemoteUser* ServerImpl::remote_member(std::string_view nick, const std::string& folded_chan) {
  auto it = remote_users_.find(fold(nick, cfg_.casemapping));
  if (it == remote_users_.end()) return nullptr;
  const auto& chans = it->second.channels;
  return std::find(chans.begin(), chans.end(), folded_chan) == chans.end() ? nullptr : &it->second;
}

void ServerImpl::set_remote_prefix(RemoteUser& u, const std::string& folded_chan, char letter, bool on) {
  auto& list = letter == 'o' ? u.ops : u.voices;
  std::erase(list, folded_chan);
  if (on) list.push_back(folded_chan);
}

namespace {

/// The event of a PRIVMSG/NOTICE/TAGMSG from `c`: the line as receivers get it, without tags.
ClusterEvent message_event(ClusterEvent::Kind kind, const Client& c, std::string_view target, const std::string& wire,
                           std::string_view tags, bool tagmsg, const std::string& msgid) {
  ClusterEvent e = event_of(kind, c, target);
  e.msgid = msgid;
  e.tags = std::string(tags);
  e.tagmsg = tagmsg;
  e.rest = without_crlf(wire);
  return e;
}

}  // namespace

bool ServerImpl::relay_channel_message(const Client& c, const Channel& ch, const std::string& wire, std::string_view tags,
                                       bool tagmsg, const std::string& msgid, char status) {
  if (cluster_ == nullptr) return false;
  const std::string target = status != 0 ? std::string(1, status) + ch.name : ch.name;
  ClusterEvent e = message_event(ClusterEvent::Kind::message, c, target, wire, tags, tagmsg, msgid);
  if (cluster_->relaying()) {
    // Delivered here too, when the subscription hands it back: every node in Redis's one order.
    cluster_->publish(e);
    return true;
  }
  // Degraded: this node's members get it now (the caller delivers it); the other nodes' members
  // when the link is back, after the resync. The sender is told, once per degraded period, or
  // every time the queue is full (then the line does not reach them at all).
  e.replay = true;
  e.said_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wall_now().time_since_epoch()).count();
  auto sender = clients_.find(c.id);  // the same client, not const
  if (sender == clients_.end()) return false;
  Client& to = *sender->second;
  if (!cluster_->queue_for_relay(e)) {
    send(to, from_server("NOTICE").p(c.nick).t("*** The network is degraded and this server's queue is full: your line to " +
                                             ch.name + " reached this server's users only and will not reach the others"));
  } else if (degraded_told_.insert(c.id).second) {
    send(to, from_server("NOTICE").p(c.nick).t("*** The network is degraded: your lines to " + ch.name +
                                             " reach this server's users now and the other servers' users when it is "
                                             "back (queued, in order)"));
  }
  return false;
}

bool ServerImpl::relay_server_mask(const Client& c, std::string_view target, const std::string& wire, std::string_view tags,
                                   bool tagmsg, const std::string& msgid) {
  if (cluster_ == nullptr || !cluster_->relaying()) return false;
  cluster_->publish(message_event(ClusterEvent::Kind::private_message, c, target, wire, tags, tagmsg, msgid));
  return true;
}

std::vector<Client*> ServerImpl::server_mask_receivers(std::string_view mask, const Client* skip) {
  std::vector<Client*> to;
  if (mask != "*" && !mask_match(mask, cfg_.server_name, cfg_.casemapping)) return to;  // another server's users
  for (auto& [id, t] : clients_) {
    if (t->registered && !gone(*t) && (t.get() != skip || (skip->caps & kCapEchoMessage))) to.push_back(t.get());
  }
  std::sort(to.begin(), to.end(), [](const Client* a, const Client* b) { return a->id < b->id; });
  return to;
}

const ServerImpl::RemoteUser* ServerImpl::remote_user(std::string_view nick) const {
  auto it = remote_users_.find(fold(nick, cfg_.casemapping));
  return it == remote_users_.end() ? nullptr : &it->second;
}

const std::string* ServerImpl::remote_nick(std::string_view nick) const {
  const RemoteUser* u = remote_user(nick);
  return u == nullptr ? nullptr : &u->nick;
}

std::string ServerImpl::node_server_name(const std::string& node) const {
  if (cluster_ != nullptr) {
    for (const ClusterNode& n : cluster_->nodes()) {
      if (n.name == node && !n.server_name.empty()) return n.server_name;
    }
  }
  return node;
}

bool ServerImpl::relay_private_message(const Client& c, std::string_view nick, const std::string& wire, std::string_view tags,
                                       bool tagmsg, const std::string& msgid) {
  if (cluster_ == nullptr || !cluster_->relaying() || remote_nick(nick) == nullptr) return false;
  cluster_->publish(message_event(ClusterEvent::Kind::private_message, c, nick, wire, tags, tagmsg, msgid));
  return true;
}

std::vector<std::string> ServerImpl::remote_names(const Channel& ch, bool uhnames, bool multi) const {
  std::vector<std::string> out;
  const std::string chan = fold(ch.name, cfg_.casemapping);
  auto it = remote_members_.find(chan);
  if (it == remote_members_.end()) return out;
  auto has = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), chan) != v.end(); };
  for (const std::string& folded : it->second) {
    auto u = remote_users_.find(folded);
    if (u == remote_users_.end()) continue;
    Member m;  // its prefixes as the replica knows them
    m.op = has(u->second.ops);
    m.voice = has(u->second.voices);
    out.push_back(prefixes(m, multi) + (uhnames ? u->second.mask : u->second.nick));
  }
  return out;
}

bool ServerImpl::forget_remote_member(const std::string& folded_nick, const std::string& folded_chan) {
  bool was = false;
  auto m = remote_members_.find(folded_chan);
  if (m != remote_members_.end()) {
    was = std::erase(m->second, folded_nick) != 0;
    if (m->second.empty()) {  // its last member on another node: out of the LIST directory too
      remote_members_.erase(m);
      remote_channels_.erase(folded_chan);
    }
  }
  auto u = remote_users_.find(folded_nick);
  if (u != remote_users_.end()) {
    std::erase(u->second.channels, folded_chan);
    std::erase(u->second.ops, folded_chan);
    std::erase(u->second.voices, folded_chan);
  }
  return was;
}

void ServerImpl::apply_channel_event(const ClusterEvent& e) {
  if (e.own && !e.decided) return;  // applied here when it was made (a decided one: now, in Redis's order)
  ParseResult parsed = parse(e.rest);
  if (!parsed.message) return;
  const Message& m = *parsed.message;
  const Casemapping cm = cfg_.casemapping;
  const std::string line = e.rest + "\r\n";
  switch (e.kind) {
    case ClusterEvent::Kind::mode: {  // ":setter MODE #chan +o-k nick *"
      if (m.params.size() < 2) return;
      Channel* ch = find_channel(e.target);
      if (RemoteChannel* rc = remote_channel(e.target)) {  // +s / -s for LIST (modes without an argument)
        bool add = true;
        for (char letter : m.params[1]) {
          if (letter == '+' || letter == '-') add = letter == '+';
          if (letter == 's') rc->secret = add;
        }
      }
      apply_remote_modes(ch, fold(e.target, cm), m, nick_of(e.mask), !e.decided);
      if ((ch = find_channel(e.target)) != nullptr) to_channel(*ch, line, nullptr, {}, e.account);
      return;
    }
    case ClusterEvent::Kind::topic: {  // ":setter TOPIC #chan :text"
      Channel* ch = find_channel(e.target);
      RemoteChannel* rc = remote_channel(e.target);
      if (rc != nullptr && m.params.size() >= 2) {
        rc->topic = m.params[1];
        rc->topic_time = unix_now();
      }
      if (ch == nullptr || m.params.size() < 2) return;
      ch->topic = m.params[1];
      ch->topic_by = nick_of(e.mask);
      ch->topic_time = unix_now();
      to_channel(*ch, line, nullptr, {}, e.account);
      return;
    }
    case ClusterEvent::Kind::kick: {  // ":kicker KICK #chan victim :reason"; MASK: the victim's
      const std::string victim = nick_of(e.mask);
      Channel* ch = find_channel(e.target);
      Client* t = find_nick(victim);
      if (ch != nullptr) to_channel(*ch, line, nullptr, {}, e.account);
      if (ch != nullptr && t != nullptr && ch->find(t->id)) {
        remove_member(*ch, *t);  // the kicked user is ours: its membership leaves Redis from here
      } else {
        forget_remote_member(fold(victim, cm), fold(e.target, cm));
      }
      return;
    }
    case ClusterEvent::Kind::invite: {  // ":inviter INVITE nick :#chan"
      if (m.params.size() < 2) return;
      Client* t = find_nick(e.target);
      if (t != nullptr && t->registered && !gone(*t)) {
        Fanout invited(*this, line, {}, 0, e.account);
        invited.to(*t);
      }
      if (Channel* ch = find_channel(m.params[1])) {  // IRCv3 invite-notify for the members here
        Fanout notify(*this, line, {}, kCapInviteNotify, e.account);
        for (std::size_t i = 0; i < ch->members.size(); ++i) {
          const bool inviter = e.own && ch->members[i].first == e.sender;  // a decided one of ours
          if (ch->members[i].second.client != t && !inviter) notify.to(*ch->members[i].second.client);
        }
      }
      return;
    }
    default: return;
  }
}

namespace {

/// The local members of remote user `u`'s channels, each once, in connection order.
std::vector<Client*> local_neighbours(ServerImpl& s, const ServerImpl::RemoteUser& u) {
  std::vector<Channel*> chans;
  chans.reserve(u.channels.size());
  for (const std::string& chan : u.channels) chans.push_back(s.find_channel(chan));
  std::vector<Client*> to;
  s.add_members(s.start_walk(), chans, to);
  std::sort(to.begin(), to.end(), [](const Client* a, const Client* b) { return a->id < b->id; });
  return to;
}

/// When a line queued while its node was degraded was said (its event's time), if plausible: not
/// ahead of `now` by more than a clock skew between nodes. Else none: the server-time tag says now.
std::optional<SysTime> said_time(const ClusterEvent& e, SysTime now) {
  if (e.said_ms <= 0) return std::nullopt;
  const SysTime said{std::chrono::duration_cast<SysTime::duration>(std::chrono::milliseconds(e.said_ms))};
  if (said > now + std::chrono::seconds(2)) return std::nullopt;
  return said;
}

/// Whether a relayed line (":mask PRIVMSG target ...") is a PRIVMSG: what counts for idle time.
bool is_privmsg(std::string_view line) {
  const std::size_t sp = line.find(' ');
  return sp != std::string_view::npos && line.substr(sp + 1).starts_with("PRIVMSG ");
}

}  // namespace

void ServerImpl::apply_user_state(const ClusterEvent& e) {
  if (e.own) return;
  auto u = remote_users_.find(fold(nick_of(e.mask), cfg_.casemapping));
  if (u == remote_users_.end() || u->second.node != e.node) return;
  if (e.kind == ClusterEvent::Kind::oper) {
    u->second.oper = e.op;
    return;
  }
  if (e.kind == ClusterEvent::Kind::umode) {
    apply_user_modes(u->second, e);
    return;
  }
  ParseResult parsed = parse(e.rest);
  if (!parsed.message) return;
  std::string away = parsed.message->params.empty() ? std::string() : parsed.message->params[0];
  if (away == u->second.away) return;  // a SYNC answer repeating what is known: no line
  u->second.away = std::move(away);
  Fanout out(*this, e.rest + "\r\n", {}, kCapAwayNotify, e.account);  // IRCv3 away-notify
  for (Client* t : local_neighbours(*this, u->second)) out.to(*t);
}

void ServerImpl::apply_user_modes(RemoteUser& u, const ClusterEvent& e) {
  u.invisible = e.invisible;
  u.bot = e.bot;
}

void ServerImpl::note_remote_message(const ClusterEvent& e) {
  if (e.own || !is_privmsg(e.rest)) return;
  auto u = remote_users_.find(fold(nick_of(e.mask), cfg_.casemapping));
  if (u != remote_users_.end()) u->second.last_message = unix_now();
}

namespace {

/// Channel `ch` as the cluster's state changes: its flags, key, limit, topic, creation time and
/// lists, and the prefix of each local member (what Redis must hold again after losing it).
std::vector<ClusterChannelChange> channel_snapshot(const Channel& ch, Casemapping cm) {
  using Op = ClusterChannelChange::Op;
  std::string flags;
  const std::pair<bool, char> set[] = {{ch.no_ctcp, 'C'},     {ch.invite_only, 'i'}, {ch.moderated, 'm'},
                                       {ch.no_external, 'n'}, {ch.secret, 's'},      {ch.topic_lock, 't'}};
  for (auto [on, letter] : set) {
    if (on) flags += letter;
  }
  std::vector<ClusterChannelChange> out{{Op::set, "modes", flags}, {Op::set, "created", std::to_string(ch.created)}};
  if (!ch.key.empty()) out.push_back({Op::set, "key", ch.key});
  if (ch.limit != 0) out.push_back({Op::set, "limit", std::to_string(ch.limit)});
  if (!ch.topic.empty()) {
    out.push_back({Op::set, "topic", ch.topic});
    out.push_back({Op::set, "topic_by", ch.topic_by});
    out.push_back({Op::set, "topic_time", std::to_string(ch.topic_time)});
  }
  for (auto [letter, list] : {std::pair{'b', &ch.bans}, std::pair{'e', &ch.excepts}, std::pair{'I', &ch.invexes}}) {
    for (const Ban& b : *list) {
      out.push_back({Op::set, std::string(1, letter) + " " + b.mask, b.setter + " " + std::to_string(b.when) + " " + fold(b.mask, cm)});
    }
  }
  for (std::size_t i = 0; i < ch.members.size(); ++i) {
    const auto& [id, m] = ch.members[i];
    const std::string prefix = std::string(m.op ? "@" : "") + (m.voice ? "+" : "");
    out.push_back({Op::member, std::to_string(id), prefix.empty() ? "-" : prefix});
  }
  return out;
}

/// Resync, after the restores: the memberships Redis holds for this node by mistake (a PART or
/// QUIT whose removal was lost while Redis was away) are removed by the prune script, and each
/// removed one of a user still here is published as that user's PART (no reason), as a PART
/// typed then would have been: the other nodes drop the member at once.
void prune_after_resync(ServerImpl& s) {
  std::vector<ClusterLink::Membership> members;
  for (const auto& [folded, ch] : s.channels_) {
    for (const auto& [id, m] : ch->members) members.emplace_back(folded, id);
  }
  // A JOIN whose script is in flight: sent before the prune on the same connection, Redis runs it
  // first and the member it adds is not in the channel's local copy yet (the client's input is
  // held until the verdict). It counts as a true membership, so that it is not pruned: a refused
  // JOIN wrote nothing, and an admitted one whose client left meanwhile is taken out by the verdict
  // callback's leave_channel. (Skipping that channel instead would leave its stale entries for the
  // next resync; a JOIN sent after the prune runs after it and is untouched.) A JOIN whose reply
  // the cut lost has had its verdict (unavailable) by now: not pending, its entry is pruned.
  for (const auto& [id, c] : s.clients_) {
    if (c->check && c->check->kind == AuthCheck::Kind::chan_join && !c->check->join_chan.empty()) {
      members.emplace_back(c->check->join_chan, id);
    }
  }
  s.cluster_->prune_memberships(std::move(members), [&s, alive = std::weak_ptr<char>(s.decide_alive_)](
                                                        std::vector<ClusterLink::Membership> removed) {
    if (alive.expired()) return;
    for (const auto& [folded, id] : removed) {
      auto it = s.clients_.find(id);
      if (it == s.clients_.end() || !it->second->registered || s.gone(*it->second)) continue;
      Client& c = *it->second;
      Channel* ch = s.find_channel(folded);
      if (ch != nullptr && ch->find(c.id)) continue;  // joined again since (its JOIN ran after the prune)
      const ServerImpl::RemoteChannel* rc = s.remote_channel(folded);
      const std::string name = ch != nullptr ? ch->name : rc != nullptr && !rc->name.empty() ? rc->name : folded;
      // Through the path of a PART: queued behind what the node kept while degraded, if any.
      s.cluster_publish(ClusterEvent::Kind::part, c, name, s.from(c, "PART").p(name).str());
    }
  });
}

void restore_after_resync(ServerImpl& s) {
  // This node's own SYNC came back: its nicks are claimed again. Its members go back into every
  // shared channel (a Redis restarted empty, or a reap, removed them; the state too if Redis has
  // none), and the replica is checked against Redis once the others had time to resync.
  if (!s.shares_channels()) return;
  const Casemapping cm = s.cfg_.casemapping;
  for (const auto& [folded, ch] : s.channels_) {
    if (ch->members.empty()) continue;
    s.cluster_->restore_channel(folded, channel_snapshot(*ch, cm),
                                [&s, alive = std::weak_ptr<char>(s.decide_alive_), folded = folded](const ClusterChannelState& st) {
                                  if (!alive.expired()) s.cluster_resynced(folded, st);
                                });
  }
  prune_after_resync(s);
  std::vector<ClusterLink::ReplicaUser> replica;
  for (const auto& [folded, u] : s.remote_users_) {
    ClusterLink::ReplicaUser r{u.node, folded, u.mask, u.id, {}};
    for (const std::string& chan : u.channels) {  // as named here, for a PART line if Redis no longer has it
      const Channel* ch = s.find_channel(chan);
      const ServerImpl::RemoteChannel* rc = s.remote_channel(chan);
      r.channels.emplace_back(chan, ch != nullptr ? ch->name : rc != nullptr && !rc->name.empty() ? rc->name : chan);
    }
    replica.push_back(std::move(r));
  }
  s.cluster_->check_replica(std::move(replica));
}

}  // namespace

void ServerImpl::adopt_cluster_state(Channel& ch, const ClusterChannelState& st) {
  if (st.created == 0) return;  // no state in Redis (the channel emptied meanwhile): keep ours
  std::vector<std::pair<std::string, std::string>> changes;  // "+i", "-k" ... and the argument ("" none)
  const std::pair<bool*, char> flags[] = {{&ch.no_ctcp, 'C'},     {&ch.invite_only, 'i'}, {&ch.moderated, 'm'},
                                          {&ch.no_external, 'n'}, {&ch.secret, 's'},      {&ch.topic_lock, 't'}};
  for (auto [flag, letter] : flags) {
    const bool shared = st.modes.find(letter) != std::string::npos;
    if (*flag != shared) changes.push_back({std::string(shared ? "+" : "-") + letter, {}});
    *flag = shared;
  }
  if (ch.key != st.key) changes.emplace_back(st.key.empty() ? "-k" : "+k", st.key.empty() ? "*" : st.key);
  ch.key = st.key;
  if (ch.limit != st.limit) changes.emplace_back(st.limit == 0 ? "-l" : "+l", st.limit == 0 ? "" : std::to_string(st.limit));
  ch.limit = st.limit;
  for (auto [letter, list] : {std::pair{'b', &ch.bans}, std::pair{'e', &ch.excepts}, std::pair{'I', &ch.invexes}}) {
    std::vector<Ban> shared;
    for (const ClusterChannelState::Entry& e : st.lists) {
      if (e.list == letter) shared.push_back({e.mask, e.setter, e.when});
    }
    auto in = [&](const std::vector<Ban>& v, const Ban& b) {
      return std::any_of(v.begin(), v.end(), [&](const Ban& x) { return equal_folded(x.mask, b.mask, cfg_.casemapping); });
    };
    for (const Ban& b : *list) {
      if (!in(shared, b)) changes.push_back({std::string("-") + letter, b.mask});
    }
    for (const Ban& b : shared) {
      if (!in(*list, b)) changes.push_back({std::string("+") + letter, b.mask});
    }
    *list = std::move(shared);
  }
  // This node's members' prefixes (restore only): a +o/-o/+v/-v given while the node was cut off.
  // The HAVE this node published at its SYNC (before this answer) carried the old prefix: a HAVE
  // with the new one puts the other nodes' replicas right again (a known member: no line there).
  for (const auto& [id, prefix] : st.prefixes) {
    Member* m = ch.find(id);
    if (m == nullptr) continue;  // left since the restore was sent
    const std::size_t before = changes.size();
    for (auto [flag, letter] : {std::pair{&m->op, 'o'}, std::pair{&m->voice, 'v'}}) {
      const bool shared = prefix.find(letter == 'o' ? '@' : '+') != std::string::npos;
      if (*flag != shared) changes.push_back({std::string(shared ? "+" : "-") + letter, m->client->nick});
      *flag = shared;
    }
    if (changes.size() != before) cluster_publish(ClusterEvent::Kind::have, *m->client, ch.name, m->client->realname, m);
  }
  ch.created = st.created;
  // The MODE lines: at most MODES (ISUPPORT) changes each, '+' and '-' written when the sign changes.
  const std::size_t per_line = std::max<std::size_t>(1, cfg_.max_modes);
  for (std::size_t at = 0; at < changes.size(); at += per_line) {
    std::string modes;
    std::vector<std::string> args;
    char sign = 0;
    for (std::size_t i = at; i < std::min(changes.size(), at + per_line); ++i) {
      if (changes[i].first[0] != sign) {
        sign = changes[i].first[0];
        modes += sign;
      }
      modes += changes[i].first[1];
      if (!changes[i].second.empty()) args.push_back(changes[i].second);
    }
    Line line = from_server("MODE").p(ch.name).p(modes);
    for (const std::string& a : args) line.p(a);
    to_channel(ch, line.str(), nullptr);
  }
  if (ch.topic != st.topic) {
    ch.topic = st.topic;
    ch.topic_by = st.topic_by;
    ch.topic_time = st.topic_time;
    to_channel(ch, from_server("TOPIC").p(ch.name).t(st.topic).str(), nullptr);
  }
  keep_in_directory(ch);
}

void ServerImpl::apply_cluster_event(const ClusterEvent& e) {
  const Casemapping cm = cfg_.casemapping;
  switch (e.kind) {
    case ClusterEvent::Kind::away:
    case ClusterEvent::Kind::oper:
    case ClusterEvent::Kind::umode:
      apply_user_state(e);
      return;
    case ClusterEvent::Kind::message: {
      note_remote_message(e);
      const char status = !e.target.empty() && (e.target[0] == '@' || e.target[0] == '+') ? e.target[0] : 0;
      Channel* ch = find_channel(status != 0 ? std::string_view(e.target).substr(1) : std::string_view(e.target));
      if (ch == nullptr || (e.own && e.replay)) return;  // no member here; or said while degraded: delivered then
      Client* sender = nullptr;
      if (e.own) {
        auto it = clients_.find(e.sender);
        if (it != clients_.end()) sender = it->second.get();
      }
      const bool echo = sender != nullptr && (sender->caps & kCapEchoMessage);
      std::string wire = e.rest + "\r\n";
      const std::optional<SysTime> said = said_time(e, wall_now());  // said while its node was degraded
      if (status != 0) {  // STATUSMSG: this node's members of that rank ('+': voiced or operators)
        Fanout out(*this, std::move(wire), tags_with(e.msgid, e.tags), e.tagmsg ? kCapMessageTags : 0u, e.account);
        if (said) out.said_at(*said);
        for (std::size_t i = 0; i < ch->members.size(); ++i) {
          const Member& m = ch->members[i].second;
          if (m.client == sender ? echo : (status == '@' ? m.op : (m.op || m.voice))) out.to(*m.client);
        }
        return;
      }
      if (!e.tags.empty() || e.tagmsg || said) {
        const std::string tags = tags_with(e.msgid, e.tags);
        Fanout out(*this, std::move(wire), tags, e.tagmsg ? kCapMessageTags : 0u, e.account);
        if (said) out.said_at(*said);
        for (std::size_t i = 0; i < ch->members.size(); ++i) {
          Client& t = *ch->members[i].second.client;
          if (&t != sender || echo) out.to(t);
        }
      } else if (echo) {
        to_channel(*ch, std::move(wire), nullptr, e.msgid, e.account);
      } else {
        to_channel_batched(*ch, wire, sender, e.msgid, e.account);
      }
      return;
    }
    case ClusterEvent::Kind::private_message: {
      if (e.own) return;
      note_remote_message(e);
      if (!e.target.empty() && e.target[0] == '$') {  // an operator's $mask: the users here, if it names us
        Fanout out(*this, e.rest + "\r\n", tags_with(e.msgid, e.tags), e.tagmsg ? kCapMessageTags : 0u, e.account);
        for (Client* t : server_mask_receivers(std::string_view(e.target).substr(1), nullptr)) out.to(*t);
        return;
      }
      Client* t = find_nick(e.target);
      if (t == nullptr || !t->registered || gone(*t)) return;
      const std::string tags = tags_with(e.msgid, e.tags);
      Fanout out(*this, e.rest + "\r\n", tags, e.tagmsg ? kCapMessageTags : 0u, e.account);
      out.to(*t);
      return;
    }
    case ClusterEvent::Kind::sync: {  // a node (re)subscribed: tell it who is where here
      // Our own SYNC too: after a cut (or a Redis restart) the other nodes learn our users again.
      if (cluster_ == nullptr) return;
      for (auto& [id, c] : clients_) {
        if (!c->registered || gone(*c)) continue;
        cluster_publish_user(*c);  // the user, in a channel or not, with its away and operator state
        for (Channel* ch : c->channels) cluster_publish(ClusterEvent::Kind::have, *c, ch->name, c->realname, ch->find(c->id));
      }
      // After the HAVEs: each local channel's name, +s, times and topic, for the LIST of a node
      // that has no member in it (one CHAN per channel and answering node).
      for (const auto& [folded, ch] : channels_) cluster_publish_channel(*ch);
      if (e.own) restore_after_resync(*this);
      return;
    }
    case ClusterEvent::Kind::join:
    case ClusterEvent::Kind::have: {
      if (e.own) return;
      const std::string nick = nick_of(e.mask);
      const std::string folded = fold(nick, cm), chan = fold(e.target, cm);
      const bool first_seen = remote_users_.find(folded) == remote_users_.end();
      RemoteUser& u = remote_users_[folded];
      if (first_seen) note_global_users();
      u.nick = nick;
      u.mask = e.mask;
      u.node = e.node;
      u.id = e.sender;
      u.account = e.account;
      u.realname = e.rest;
      apply_user_modes(u, e);
      if (e.target.empty()) {  // HAVE without a channel: a user known, in no channel (yet)
        std::int64_t signon = 0;
        std::from_chars(e.msgid.data(), e.msgid.data() + e.msgid.size(), signon);
        if (signon > 0) u.signon = signon;
        return;
      }
      if (std::find(u.channels.begin(), u.channels.end(), chan) == u.channels.end()) u.channels.push_back(chan);
      auto& members = remote_members_[chan];
      const bool known = std::find(members.begin(), members.end(), folded) != members.end();
      if (!known) members.push_back(folded);
      RemoteChannel& listed = remote_channels_[chan];  // LIST's directory: the name, +s as its node sees it
      if (listed.name.empty()) {
        listed.name = e.target;
        listed.created = unix_now();
      }
      listed.secret = e.secret;
      set_remote_prefix(u, chan, 'o', e.op);
      set_remote_prefix(u, chan, 'v', e.voice);
      Channel* ch = find_channel(e.target);
      // HAVE of a member already known: the replica only, no line. A HAVE that adds one (its node
      // back from a cut, a JOIN made while it was degraded) shows it to the local members as a JOIN.
      if (ch == nullptr || (e.kind == ClusterEvent::Kind::have && known)) return;
      flush_batch();
      const std::string name = ch->name;
      Fanout plain(*this, Line(e.mask, "JOIN").p(name).str(), {}, 0, e.account);
      Fanout ext(*this, Line(e.mask, "JOIN").p(name).p(e.account.empty() ? std::string("*") : e.account).t(e.rest).str(), {}, 0,
                 e.account);
      for (std::size_t i = 0; i < ch->members.size(); ++i) {
        Client& t = *ch->members[i].second.client;
        ((t.caps & kCapExtendedJoin) ? ext : plain).to(t);
      }
      if (!u.away.empty()) {  // IRCv3 away-notify: a member that joins away says so (as a local JOIN)
        Fanout away(*this, Line(e.mask, "AWAY").t(u.away).str(), {}, kCapAwayNotify, e.account);
        for (std::size_t i = 0; i < ch->members.size(); ++i) away.to(*ch->members[i].second.client);
      }
      return;
    }
    case ClusterEvent::Kind::part: {
      if (e.own) return;
      // A member this node no longer knows there (the replica check's PART came first, or the
      // user's own after it): no second line.
      auto u = remote_users_.find(fold(nick_of(e.mask), cm));
      if (u != remote_users_.end() && u->second.node != e.node) return;  // a resync collision: not that user
      if (!forget_remote_member(fold(nick_of(e.mask), cm), fold(e.target, cm))) return;
      Channel* ch = find_channel(e.target);
      if (ch != nullptr) to_channel(*ch, e.rest + "\r\n", nullptr, {}, e.account);
      return;
    }
    case ClusterEvent::Kind::mode:
    case ClusterEvent::Kind::topic:
    case ClusterEvent::Kind::kick:
    case ClusterEvent::Kind::invite:
      apply_channel_event(e);
      return;
    case ClusterEvent::Kind::chan:
      if (!e.own) apply_channel_entry(e);
      return;
    case ClusterEvent::Kind::kill: {  // an operator elsewhere: ":killer!u@h KILL victim :reason"
      if (e.own) return;
      Client* t = find_nick(e.target);
      ParseResult parsed = parse(e.rest);
      if (t == nullptr || !t->registered || gone(*t) || !parsed.message || parsed.message->params.size() < 2) return;
      const std::string& reason = parsed.message->params[1];
      // Its QUIT goes to the other nodes as any QUIT does: everyone sees it once.
      event(Event::Kind::killed, *t, "by " + e.mask + " on node " + e.node + ": " + reason);
      send(*t, e.rest + "\r\n");
      quit(*t, "Killed (" + nick_of(e.mask) + " (" + reason + "))");
      return;
    }
    case ClusterEvent::Kind::quit:
    case ClusterEvent::Kind::nick: {
      if (e.own) return;
      auto u = remote_users_.find(fold(nick_of(e.mask), cm));
      // Another node's user with that nick (a resync collision): not the one this event is about.
      if (u == remote_users_.end() || u->second.node != e.node) return;
      const std::vector<std::string> chans = u->second.channels;
      const std::string folded = u->first;
      const std::vector<Client*> to = local_neighbours(*this, u->second);
      if (e.kind == ClusterEvent::Kind::quit) {
        for (const std::string& chan : chans) forget_remote_member(folded, chan);
        remote_users_.erase(folded);
      } else {  // NICK: the replica under the new nick
        RemoteUser moved = std::move(u->second);
        remote_users_.erase(u);
        const std::string renamed = fold(e.target, cm);
        moved.mask = e.target + moved.mask.substr(moved.mask.find('!') == std::string::npos ? moved.mask.size() : moved.mask.find('!'));
        moved.nick = e.target;
        for (const std::string& chan : chans) std::replace(remote_members_[chan].begin(), remote_members_[chan].end(), folded, renamed);
        remote_users_[renamed] = std::move(moved);
      }
      Fanout out(*this, e.rest + "\r\n", {}, 0, e.account);
      for (Client* t : to) out.to(*t);
      return;
    }
  }
}

void ServerImpl::notify_cluster_state(bool relaying) {
  if (relaying != cluster_degraded_) return;  // no change
  cluster_degraded_ = !relaying;
  degraded_told_.clear();
  const std::string text =
      relaying ? "*** The network is back: this server is linked to the other servers again"
               : "*** The network is degraded: this server lost its link to the other servers (Redis unreachable). You "
                 "still reach the users of this server; new nicks and nick changes are refused (437) until it is back";
  for (auto& [id, c] : clients_) {
    if (c->registered && !gone(*c)) send(*c, from_server("NOTICE").p(c->nick).t(text));
  }
}

void ServerImpl::notify_lines_missing() {
  for (auto& [folded, ch] : channels_) {
    const std::string text = "*** This server's link to the other servers was down for a while: lines said in " + ch->name +
                             " meanwhile may be missing here (the oldest were no longer kept)";
    for (std::size_t i = 0; i < ch->members.size(); ++i) {
      Client& c = *ch->members[i].second.client;
      if (c.registered && !gone(c)) send(c, from_server("NOTICE").p(ch->name).t(text));
    }
  }
}

void ServerImpl::give_up_nick(ClientId id, const std::string& folded) {
  auto it = clients_.find(id);
  if (it == clients_.end() || gone(*it->second) || !it->second->registered || it->second->claimed != folded) return;
  Client& c = *it->second;
  c.claimed.clear();  // the older registration elsewhere holds it now
  rename_to_guest(c, "Your nickname " + c.nick + " was registered earlier by a user of another server (found when the "
                                                  "servers resynchronised)",
                  serve::Clock::now());
}

}  // namespace sockit::irc
