// The pub/sub event wire format and IrcLink (include/sockit/cluster/irc_link.hpp, docs/CLUSTER.md).
#include "irc_link_impl.hpp"

#include <array>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <unordered_set>

namespace sockit::cluster {
namespace {

constexpr std::string_view kVersion = "sockit1";
constexpr std::array<std::string_view, 17> kKinds = {"MSG",  "PRIV", "JOIN", "PART", "QUIT", "NICK",
                                                     "SYNC", "HAVE", "MODE", "TOPIC", "KICK", "INVITE",
                                                     "KILL", "AWAY", "OPER", "CHAN", "UMODE"};

void field(std::string& out, std::string_view v) {
  out += ' ';
  if (v.empty()) {
    out += '-';
  } else {
    out += v;
  }
}

/// The user's modes ('i', 'b') and a queued line's time ("@<unix ms>", last) in the flags field.
void user_flags(std::string& flags, const irc::ClusterEvent& e) {
  if (e.invisible) flags += 'i';
  if (e.bot) flags += 'b';
  if (e.said_ms > 0) flags += '@' + std::to_string(e.said_ms);
}

void read_user_flags(std::string_view flags, irc::ClusterEvent& e) {
  const std::size_t at = flags.find('@');
  if (at != std::string_view::npos) {
    const std::string_view ms = flags.substr(at + 1);
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(ms.data(), ms.data() + ms.size(), v);
    if (ec == std::errc() && ptr == ms.data() + ms.size() && v > 0) e.said_ms = v;
    flags = flags.substr(0, at);
  }
  e.invisible = flags.find('i') != std::string_view::npos;
  e.bot = flags.find('b') != std::string_view::npos;
}

}  // namespace

std::string encode_event(const irc::ClusterEvent& e) {
  std::string out(kVersion);
  field(out, kKinds[static_cast<std::size_t>(e.kind)]);
  field(out, e.node);
  field(out, std::to_string(e.sender));
  field(out, e.target);
  field(out, e.mask);
  field(out, e.account);
  field(out, e.msgid);
  field(out, e.tags);
  std::string flags;
  if (e.tagmsg) flags += 't';
  if (e.op) flags += 'o';
  if (e.voice) flags += 'v';
  if (e.decided) flags += 'd';
  if (e.replay) flags += 'r';
  if (e.secret) flags += 's';
  user_flags(flags, e);
  field(out, flags);
  out += ' ';
  out += e.rest;
  return out;
}

std::optional<irc::ClusterEvent> decode_event(std::string_view p) {
  if (p.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
  std::array<std::string_view, 10> f;
  for (auto& v : f) {
    auto sp = p.find(' ');
    if (sp == std::string_view::npos || sp == 0) return std::nullopt;
    v = p.substr(0, sp);
    p.remove_prefix(sp + 1);
  }
  if (f[0] != kVersion) return std::nullopt;
  irc::ClusterEvent e;
  std::size_t k = 0;
  while (k < kKinds.size() && kKinds[k] != f[1]) ++k;
  if (k == kKinds.size()) return std::nullopt;
  e.kind = static_cast<irc::ClusterEvent::Kind>(k);
  auto opt = [](std::string_view v) { return v == "-" ? std::string() : std::string(v); };
  e.node = opt(f[2]);
  auto [ptr, ec] = std::from_chars(f[3].data(), f[3].data() + f[3].size(), e.sender);
  if (ec != std::errc() || ptr != f[3].data() + f[3].size() || e.node.empty()) return std::nullopt;
  e.target = opt(f[4]);
  e.mask = opt(f[5]);
  e.account = opt(f[6]);
  e.msgid = opt(f[7]);
  e.tags = opt(f[8]);
  e.tagmsg = f[9].find('t') != std::string_view::npos;
  e.op = f[9].find('o') != std::string_view::npos;
  e.voice = f[9].find('v') != std::string_view::npos;
  e.decided = f[9].find('d') != std::string_view::npos;
  e.replay = f[9].find('r') != std::string_view::npos;
  e.secret = f[9].find('s') != std::string_view::npos;
  read_user_flags(f[9], e);
  e.rest = std::string(p);
  return e;
}

std::pair<std::string_view, std::uint64_t> SeenLines::split(std::string_view msgid) {
  const std::size_t dash = msgid.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == msgid.size()) return {{}, 0};
  std::uint64_t n = 0;
  const char* first = msgid.data() + dash + 1;
  const char* last = msgid.data() + msgid.size();
  auto [ptr, ec] = std::from_chars(first, last, n, 36);
  if (ec != std::errc() || ptr != last) return {{}, 0};
  return {msgid.substr(0, dash), n};
}

bool SeenLines::first_time(std::string_view msgid) {
  const auto [prefix, n] = split(msgid);
  if (n == 0) return true;
  ++tick_;
  auto it = high_.find(std::string(prefix));  // one lookup per line (a prefix fits the short-string buffer)
  if (it == high_.end()) {
    if (high_.size() >= kMaxSenders) {  // the sender seen least recently is forgotten
      high_.erase(std::min_element(high_.begin(), high_.end(),
                                   [](const auto& a, const auto& b) { return a.second.used < b.second.used; }));
    }
    high_.emplace(std::string(prefix), Entry{n, tick_});
    return true;
  }
  it->second.used = tick_;
  if (n <= it->second.high) return false;
  it->second.high = n;
  return true;
}

namespace {

bool is_line(const irc::ClusterEvent& e) {
  return e.kind == irc::ClusterEvent::Kind::message || e.kind == irc::ClusterEvent::Kind::private_message;
}

/// A line kept for after the resync carries when it was said (the receivers' server-time tag).
void stamp_said(irc::ClusterEvent& e) {
  if (e.said_ms == 0) {
    e.said_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
}

}  // namespace

IrcLink::Impl::Impl(Node& node, DeliverFn deliver) : node_(node), deliver_(std::move(deliver)) {
  if (const char* v = std::getenv("SOCKIT_CLUSTER_OUTBOX"); v != nullptr && std::string_view(v) == "0") outbox_on_ = false;
  if (const char* v = std::getenv("SOCKIT_CLUSTER_REPLAY"); v != nullptr && std::string_view(v) == "0") replay_on_ = false;
  node_.subscriber().set_on_message([this](std::string_view, std::string_view payload) {
    if (!hold(payload)) receive(payload, false);
  });
  // Once subscribed (at start and after every reconnection): the resync (our nicks claimed again),
  // then SYNC, which asks every node, this one included, to publish its users and memberships
  // (HAVE events): a node started late or back from a cut knows who is where, and is known.
  node_.subscriber().set_on_subscribed([this] {
    start_replay();  // what Redis published while the subscription was down, first (replay.cpp)
    send_sync();
  });
  // Degraded mode: either connection lost. A lost command connection also drops the subscriber
  // (a Redis that stopped answering would leave it waiting for messages forever), so that both
  // come back together and the resync runs on the new subscription.
  auto down = [this] {
    requeue_outbox();  // even in a resync (relaying_ not yet true): lines may be in flight then too
    if (!relaying_) return;
    relaying_ = false;
    expected_subscribers_ = nodes_in_view();  // the view before the cut
    if (on_relaying_) on_relaying_(false);
  };
  node_.subscriber().set_on_state([down](bool up, const std::string&) {
    if (!up) down();
  });
  node_.add_state_listener([this, down](bool up, const std::string& why) {
    if (up) return;
    down();
    if (node_.subscriber().ready()) node_.subscriber().drop("the command connection was lost (" + why + ")");
  });
  // Back after being reaped (our heartbeat key had expired, the connections stayed up): resync.
  // A reconnection resyncs through the new subscription, so only a link still relaying does it here.
  node_.set_on_expired([this] {
    if (relaying_) send_sync();
  });
  node_.subscriber().subscribe(kEventChannel);
}

IrcLink::Impl::~Impl() { *alive_ = false; }

void IrcLink::Impl::receive(std::string_view payload, bool from_stream) {
  // A line leads with its replay stream id ("<id> sockit1 MSG ...", replay.cpp).
  std::string_view stream_id;
  if (!payload.empty() && payload[0] >= '0' && payload[0] <= '9') {
    const std::size_t sp = payload.find(' ');
    if (sp == std::string_view::npos) {
      ++stats_.malformed;
      return;
    }
    stream_id = payload.substr(0, sp);
    payload.remove_prefix(sp + 1);
  }
  auto e = decode_event(payload);
  if (!e) {
    ++stats_.malformed;
    return;
  }
  ++stats_.received;
  e->own = e->node == node_.options().name;
  if (!stream_id.empty()) note_stream_id(stream_id);
  if ((outbox_on_ || replay_on_) && is_line(*e)) {
    // Ours, read back from the stream: its outbox gave it to this node's members when the link dropped.
    if (from_stream && e->own && outbox_on_) return;
    // Ours back from Redis: out of the outbox (with any older one, which Redis then never had).
    if (e->own && outbox_on_ && !from_stream) {
      const std::uint64_t n = SeenLines::split(e->msgid).second;
      while (!outbox_.empty() && outbox_.front().n <= n) outbox_.pop_front();
    }
    if (!seen_.first_time(e->msgid)) {  // republished from an outbox, or replayed, after Redis had published it
      ++stats_.duplicates;
      return;
    }
    if (from_stream) ++stats_.stream_replayed;
  }
  if (e->kind == irc::ClusterEvent::Kind::sync && !e->own) {
    recent_syncs_[e->node] = std::chrono::steady_clock::now();
    // Another node resynced and may have taken back a nick one of ours got meanwhile: our nicks
    // are checked (the losers renamed) before the core answers with its HAVEs.
    reclaim([this, ev = *e] {
      if (deliver_) deliver_(ev);
    });
    return;
  }
  if (deliver_) deliver_(*e);
}

std::size_t IrcLink::Impl::nodes_in_view() {
  std::unordered_set<std::string> names;
  for (const NodeInfo& n : node_.nodes()) names.insert(n.name);
  names.insert(node_.options().name);
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(recent_syncs_, [&](const auto& s) { return now - s.second > 2 * node_.options().heartbeat; });
  for (const auto& [name, when] : recent_syncs_) names.insert(name);
  return names.size();
}

void IrcLink::Impl::send_sync() {
  if (!node_.ready()) {
    node_.loop().run_after(std::chrono::milliseconds(100), [this, alive = alive_] {
      if (*alive) send_sync();
    });
    return;
  }
  reclaim([this] {
    irc::ClusterEvent e;
    e.kind = irc::ClusterEvent::Kind::sync;
    publish(e);
    flush_queued(std::chrono::steady_clock::now() + node_.options().ttl + node_.options().heartbeat);
  });
}

void IrcLink::Impl::flush_queued(std::chrono::steady_clock::time_point deadline) {
  auto flush = [this] {
    // What this node's users said and did while it was degraded, in their order, after the SYNC
    // (the other nodes' replicas get the PARTs and QUITs; a replayed line skips this node).
    std::vector<irc::ClusterEvent> queued = std::move(queued_);
    queued_.clear();
    for (const irc::ClusterEvent& q : queued) {
      ++stats_.replayed;
      publish(q);
    }
    if (!relaying_ && relaying()) {
      relaying_ = true;
      if (on_relaying_) on_relaying_(true);
    }
  };
  if (queued_.empty()) {
    flush();
    return;
  }
  // Pub/sub keeps nothing: the queue waits until every node of the view before the cut is
  // subscribed again (one subscriber connection each), or TTL + a heartbeat (a node not back by
  // then is dead for the others too). Meanwhile lines are still queued behind it, in order.
  node_.redis().command({"PUBSUB", "NUMSUB", kEventChannel}, [this, alive = alive_, deadline, flush](const RedisReply& r) {
    if (!*alive) return;
    if (r.type != RedisReply::Type::array) {
      if (!node_.ready()) return;  // away again: the next resync flushes
    } else if (r.elements.size() < 2 ||
               r.elements[1].integer < static_cast<long long>(expected_subscribers_)) {
      if (std::chrono::steady_clock::now() < deadline) {
        node_.loop().run_after(std::chrono::milliseconds(100), [this, alive, deadline] {
          if (*alive) flush_queued(deadline);
        });
        return;
      }
    }
    flush();
  });
}

void IrcLink::Impl::reclaim(std::function<void()> then) {
  if (claims_ == nullptr) {
    then();
    return;
  }
  claims_->reclaim_all([this, alive = alive_, then = std::move(then)](
                           bool ok, const std::vector<std::pair<std::uint64_t, std::string>>& lost) {
    if (!*alive || !ok) return;  // Redis away again: the next subscription resyncs
    for (const auto& [id, folded] : lost) {
      if (on_nick_lost_) on_nick_lost_(id, folded);
    }
    then();
  });
}

std::vector<irc::ClusterNode> IrcLink::Impl::nodes() const {
  std::vector<irc::ClusterNode> out;
  for (const NodeInfo& n : node_.nodes()) out.push_back({n.name, n.server_name, n.users, n.self});
  return out;
}

bool IrcLink::Impl::queue_for_relay(const irc::ClusterEvent& e) {
  if (queued_.size() >= kQueueMax) return false;
  queued_.push_back(e);
  return true;
}

bool IrcLink::Impl::relaying() const {
  // While a queue from a degraded period waits to be published, new lines queue behind it.
  return node_.ready() && node_.subscriber().subscribed() && queued_.empty();
}

void IrcLink::Impl::requeue_outbox() {
  if (outbox_.empty()) return;
  std::vector<irc::ClusterEvent> lines;
  lines.reserve(outbox_.size());
  std::vector<bool> deliver_now;
  for (Sent& s : outbox_) {
    deliver_now.push_back(!s.e.replay && s.e.kind == irc::ClusterEvent::Kind::message);
    s.e.replay = true;  // its node's members get it now: not again on its return
    stamp_said(s.e);
    lines.push_back(std::move(s.e));
  }
  outbox_.clear();
  stats_.requeued += lines.size();
  queued_.insert(queued_.begin(), lines.begin(), lines.end());
  // This node's members were waiting for these lines' return: they get them now, before what
  // is said while degraded (delivered at once), so they keep the sender's order.
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!deliver_now[i] || !deliver_) continue;
    irc::ClusterEvent ev = std::move(lines[i]);
    ev.own = true;
    ev.replay = false;
    deliver_(ev);
  }
}

void IrcLink::Impl::publish(const irc::ClusterEvent& e) {
  irc::ClusterEvent copy = e;
  copy.node = node_.options().name;
  if (outbox_on_ && is_line(copy)) {
    if (!node_.ready() || !node_.subscriber().subscribed()) {
      // Not linked (a connection dropped since the caller looked): queued, published after the
      // next resync, as a line said while degraded (this node delivers it on its return).
      stamp_said(copy);
      queued_.push_back(std::move(copy));
      return;
    }
    if (outbox_.size() >= kOutboxMax) {
      outbox_.pop_front();
      ++stats_.outbox_overflow;
    }
    ++stats_.published;
    std::string payload = encode_event(copy);
    outbox_.push_back({SeenLines::split(copy.msgid).second, std::move(copy)});  // no second copy
    publish_line(std::move(payload));
    return;
  }
  ++stats_.published;
  if (e.kind == irc::ClusterEvent::Kind::quit) {  // its reason, for a node that misses the event (check_replica)
    node_.redis().command({"SET", kQuitPrefix + copy.node + ":" + std::to_string(e.sender), copy.rest, "EX",
                           std::to_string(kKickTraceSeconds)});
  }
  if (is_line(copy)) {
    publish_line(encode_event(copy));
    return;
  }
  node_.redis().command({"PUBLISH", kEventChannel, encode_event(copy)});
}

// IrcLink: the contract (include/sockit/cluster/irc_link.hpp), each call handed to the Impl.
IrcLink::IrcLink(Node& node, DeliverFn deliver) : impl_(std::make_unique<Impl>(node, std::move(deliver))) {}
IrcLink::~IrcLink() = default;
std::vector<irc::ClusterNode> IrcLink::nodes() const { return impl_->nodes(); }
bool IrcLink::relaying() const { return impl_->relaying(); }
void IrcLink::publish(const irc::ClusterEvent& e) { impl_->publish(e); }
void IrcLink::set_nick_claims(NickClaims* claims) { impl_->claims_ = claims; }
void IrcLink::claim_nick(const std::string& folded, std::uint64_t id, const std::string& mask,
                         std::function<void(NickVerdict)> done) {
  impl_->claim_nick(folded, id, mask, std::move(done));
}
void IrcLink::release_nick(const std::string& folded, std::uint64_t id) { impl_->release_nick(folded, id); }
void IrcLink::set_on_relaying(std::function<void(bool relaying)> fn) { impl_->on_relaying_ = std::move(fn); }
void IrcLink::set_on_nick_lost(std::function<void(std::uint64_t id, const std::string& folded)> fn) {
  impl_->on_nick_lost_ = std::move(fn);
}
void IrcLink::publish_quits(const std::vector<ReapedUser>& users, std::string_view reason) {
  impl_->publish_quits(users, reason);
}
void IrcLink::join_channel(const std::string& folded_chan, const std::string& folded_nick, std::uint64_t id,
                           const std::string& folded_mask, const std::string& key, const std::string& default_modes,
                           std::function<void(JoinVerdict, const irc::ClusterChannelState&)> done) {
  impl_->join_channel(folded_chan, folded_nick, id, folded_mask, key, default_modes, std::move(done));
}
void IrcLink::leave_channel(const std::string& folded_chan, std::uint64_t id) { impl_->leave_channel(folded_chan, id); }
void IrcLink::update_channel(const std::string& folded_chan, const std::vector<irc::ClusterChannelChange>& changes,
                             const irc::ClusterEvent* e) {
  impl_->update_channel(folded_chan, changes, e);
}
void IrcLink::note_global_users(std::uint64_t n, std::function<void(std::uint64_t max)> done) {
  impl_->note_global_users(n, std::move(done));
}
void IrcLink::move_invitations(const std::string& old_folded, const std::string& new_folded) {
  impl_->move_invitations(old_folded, new_folded);
}
void IrcLink::decide_channel(const std::string& folded_chan, std::uint64_t actor, char need,
                             const std::vector<irc::ClusterChannelChange>& changes, const irc::ClusterEvent& e,
                             std::function<void(bool ok)> done) {
  impl_->decide_channel(folded_chan, actor, need, changes, e, std::move(done));
}
void IrcLink::restore_channel(const std::string& folded_chan, const std::vector<irc::ClusterChannelChange>& changes,
                              std::function<void(const irc::ClusterChannelState&)> done) {
  impl_->restore_channel(folded_chan, changes, std::move(done));
}
void IrcLink::prune_memberships(std::vector<Membership> members,
                                std::function<void(std::vector<Membership> removed)> done) {
  impl_->prune_memberships(std::move(members), std::move(done));
}
void IrcLink::check_replica(std::vector<ReplicaUser> replica) { impl_->check_replica(std::move(replica)); }
bool IrcLink::queue_for_relay(const irc::ClusterEvent& e) { return impl_->queue_for_relay(e); }

}  // namespace sockit::cluster
