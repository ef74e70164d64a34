// The IRC core's side of a cluster (docs/CLUSTER.md, "Events between nodes"): the events this
// server publishes (channel messages, messages to a nick on another node, JOIN, PART, QUIT) and
// Server::deliver_from_cluster, which hands every node's events to the local members they concern
// and keeps the replica of remote users and members (NAMES, the nick target of PRIVMSG).
#include "server_impl.hpp"

#include "sockit/irc/cluster.hpp"

#include <algorithm>
#include <unordered_set>

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
  return e;
}

}  // namespace

void ServerImpl::cluster_publish(ClusterEvent::Kind kind, const Client& c, std::string_view target, std::string rest) {
  if (cluster_ == nullptr) return;
  ClusterEvent e = event_of(kind, c, target);
  e.rest = without_crlf(std::move(rest));
  cluster_->publish(e);
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
                                       bool tagmsg, const std::string& msgid) {
  if (cluster_ == nullptr || !cluster_->relaying()) return false;
  // Delivered here too, when the subscription hands it back: every node in Redis's one order.
  cluster_->publish(message_event(ClusterEvent::Kind::message, c, ch.name, wire, tags, tagmsg, msgid));
  return true;
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

std::vector<std::string> ServerImpl::remote_names(const Channel& ch, bool uhnames) const {
  std::vector<std::string> out;
  auto it = remote_members_.find(fold(ch.name, cfg_.casemapping));
  if (it == remote_members_.end()) return out;
  for (const std::string& folded : it->second) {
    auto u = remote_users_.find(folded);
    if (u != remote_users_.end()) out.push_back(uhnames ? u->second.mask : u->second.nick);
  }
  return out;
}

void ServerImpl::forget_remote_member(const std::string& folded_nick, const std::string& folded_chan) {
  auto m = remote_members_.find(folded_chan);
  if (m != remote_members_.end()) {
    std::erase(m->second, folded_nick);
    if (m->second.empty()) remote_members_.erase(m);
  }
  auto u = remote_users_.find(folded_nick);
  if (u != remote_users_.end()) std::erase(u->second.channels, folded_chan);
}

void ServerImpl::apply_cluster_event(const ClusterEvent& e) {
  const Casemapping cm = cfg_.casemapping;
  switch (e.kind) {
    case ClusterEvent::Kind::message: {
      Channel* ch = find_channel(e.target);
      if (ch == nullptr) return;  // no member here
      Client* sender = nullptr;
      if (e.own) {
        auto it = clients_.find(e.sender);
        if (it != clients_.end()) sender = it->second.get();
      }
      const bool echo = sender != nullptr && (sender->caps & kCapEchoMessage);
      std::string wire = e.rest + "\r\n";
      if (!e.tags.empty() || e.tagmsg) {
        const std::string tags = tags_with(e.msgid, e.tags);
        Fanout out(*this, std::move(wire), tags, e.tagmsg ? kCapMessageTags : 0u, e.account);
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
      Client* t = find_nick(e.target);
      if (t == nullptr || !t->registered || gone(*t)) return;
      const std::string tags = tags_with(e.msgid, e.tags);
      Fanout out(*this, e.rest + "\r\n", tags, e.tagmsg ? kCapMessageTags : 0u, e.account);
      out.to(*t);
      return;
    }
    case ClusterEvent::Kind::sync: {  // a node (re)subscribed: tell it who is where here
      if (e.own || cluster_ == nullptr) return;
      for (auto& [id, c] : clients_) {
        if (!c->registered || gone(*c)) continue;
        cluster_publish(ClusterEvent::Kind::have, *c, {}, c->realname);  // the user, in a channel or not
        for (Channel* ch : c->channels) cluster_publish(ClusterEvent::Kind::have, *c, ch->name, c->realname);
      }
      return;
    }
    case ClusterEvent::Kind::join:
    case ClusterEvent::Kind::have: {
      if (e.own) return;
      const std::string nick = nick_of(e.mask);
      const std::string folded = fold(nick, cm), chan = fold(e.target, cm);
      RemoteUser& u = remote_users_[folded];
      u.nick = nick;
      u.mask = e.mask;
      u.node = e.node;
      u.account = e.account;
      u.realname = e.rest;
      if (e.target.empty()) return;  // HAVE without a channel: a user known, in no channel (yet)
      if (std::find(u.channels.begin(), u.channels.end(), chan) == u.channels.end()) u.channels.push_back(chan);
      auto& members = remote_members_[chan];
      if (std::find(members.begin(), members.end(), folded) == members.end()) members.push_back(folded);
      Channel* ch = find_channel(e.target);
      if (ch == nullptr || e.kind == ClusterEvent::Kind::have) return;  // HAVE: the replica only, no line
      flush_batch();
      const std::string name = ch->name;
      Fanout plain(*this, Line(e.mask, "JOIN").p(name).str(), {}, 0, e.account);
      Fanout ext(*this, Line(e.mask, "JOIN").p(name).p(e.account.empty() ? std::string("*") : e.account).t(e.rest).str(), {}, 0,
                 e.account);
      for (std::size_t i = 0; i < ch->members.size(); ++i) {
        Client& t = *ch->members[i].second.client;
        ((t.caps & kCapExtendedJoin) ? ext : plain).to(t);
      }
      return;
    }
    case ClusterEvent::Kind::part: {
      if (e.own) return;
      forget_remote_member(fold(nick_of(e.mask), cm), fold(e.target, cm));
      Channel* ch = find_channel(e.target);
      if (ch != nullptr) to_channel(*ch, e.rest + "\r\n", nullptr, {}, e.account);
      return;
    }
    case ClusterEvent::Kind::quit:
    case ClusterEvent::Kind::nick: {
      if (e.own) return;
      auto u = remote_users_.find(fold(nick_of(e.mask), cm));
      if (u == remote_users_.end()) return;
      const std::vector<std::string> chans = u->second.channels;
      const std::string folded = u->first;
      // The local members of the user's channels, each once, in connection order.
      std::unordered_set<ClientId> seen;
      std::vector<Client*> to;
      for (const std::string& chan : chans) {
        if (Channel* ch = find_channel(chan)) {
          for (auto& [id, m] : ch->members) {
            if (seen.insert(id).second) to.push_back(m.client);
          }
        }
      }
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
      std::sort(to.begin(), to.end(), [](const Client* a, const Client* b) { return a->id < b->id; });
      Fanout out(*this, e.rest + "\r\n", {}, 0, e.account);
      for (Client* t : to) out.to(*t);
      return;
    }
  }
}

}  // namespace sockit::irc
