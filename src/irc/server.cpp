// irc::Server: connections, line framing, limits (registration / ping timeouts, fakelag, SendQ,
// RecvQ, per-IP caps) and the deferred unlinking of dead clients. Commands live in commands*.cpp.
#include "commands.hpp"
#include "server_impl.hpp"

#include "serve/tuning.hpp"
#include "sockit/irc/names.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>
#include <ctime>
#include <utility>

namespace sockit::irc {

// ---- Line -------------------------------------------------------------------------------------

namespace {
void append_middle(std::string& s, std::string_view w) {
  if (w.empty()) {
    s.push_back('*');
    return;
  }
  std::size_t start = s.size();
  for (char c : w) s.push_back(c == ' ' || c == '\r' || c == '\n' || c == '\0' ? '_' : c);
  if (s[start] == ':') s[start] = '_';
}
}  // namespace

Line::Line(std::string_view prefix, std::string_view command) {
  s_.reserve(96);
  if (!prefix.empty()) {
    s_.push_back(':');
    append_middle(s_, prefix);
    s_.push_back(' ');
  }
  append_middle(s_, command);
}

Line& Line::p(std::string_view middle) {
  s_.push_back(' ');
  append_middle(s_, middle);
  return *this;
}

Line& Line::t(std::string_view trailing) {
  s_ += " :";
  for (char c : trailing) s_.push_back(c == '\r' || c == '\n' || c == '\0' ? ' ' : c);
  return *this;
}

std::string Line::str() const {
  std::string out(truncate_utf8(s_, kMaxBodyBytes));
  out += "\r\n";
  return out;
}

std::vector<std::string_view> split_list(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t end = s.find(sep, pos);
    if (end == std::string_view::npos) end = s.size();
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::string format_time(SysTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %d %Y -- %H:%M:%S +00:00", &tm);
  return buf;
}

std::string iso8601(SysTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t tt = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

bool Channel::listed(const std::vector<Ban>& list, const std::string& m, Casemapping cm) {
  return std::any_of(list.begin(), list.end(), [&](const Ban& b) { return mask_match(b.mask, m, cm); });
}

std::string Channel::mode_string(bool show_key) const {
  std::string modes = "+";
  std::string args;
  if (no_ctcp) modes += 'C';
  if (invite_only) modes += 'i';
  if (!key.empty()) {
    modes += 'k';
    args += " " + (show_key ? key : std::string("*"));
  }
  if (limit) {
    modes += 'l';
    args += " " + std::to_string(limit);
  }
  if (moderated) modes += 'm';
  if (no_external) modes += 'n';
  if (secret) modes += 's';
  if (topic_lock) modes += 't';
  return modes + args;
}

// ---- ServerImpl -------------------------------------------------------------------------------

struct ServerImpl::Op {
  explicit Op(ServerImpl& s) : s_(s) { ++s_.depth_; }
  ~Op() {
    if (--s_.depth_ == 0) {
      if (!s_.hold_broadcasts_) s_.flush_batch();
      s_.reap();
      // The QUITs of the clients reaped just now are held together in the channel batch (one
      // buffer for all of them). Without the turn-level hold they go now, not at the next entry
      // point; a flush that dooms more members (SendQ) has them reaped in turn.
      while (!s_.hold_broadcasts_ && s_.batch_.ch != nullptr) {
        s_.flush_batch();
        s_.reap();
      }
    }
  }
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;
  ServerImpl& s_;
};

ServerImpl::ServerImpl(Config config, WallClock wall) : cfg_(std::move(config)), wall_(std::move(wall)) {
  if (!wall_) wall_ = [] { return std::chrono::system_clock::now(); };
  created_ = wall_();
}

std::int64_t ServerImpl::unix_now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(wall_().time_since_epoch()).count();
}

Line ServerImpl::rpl(const Client& c, Numeric code) const {
  const char digits[3] = {static_cast<char>('0' + code / 100), static_cast<char>('0' + code / 10 % 10),
                          static_cast<char>('0' + code % 10)};
  Line l(cfg_.server_name, std::string_view(digits, sizeof digits));
  l.p(c.display_nick());
  return l;
}

void ServerImpl::send(Client& c, const std::string& wire) { deliver(c, wire, nullptr); }

void ServerImpl::deliver(Client& c, std::string_view wire, std::string* tagged) {
  if (batch_.ch != nullptr) flush_batch();  // held channel lines go out before anything newer
  deliver_now(c, wire, tagged);
}

void ServerImpl::deliver_now(Client& c, std::string_view wire, std::string* tagged) {
  if (gone(c) || c.peer == nullptr) return;
  if (c.caps & kCapServerTime) {
    if (tagged == nullptr) {
      put(c, with_time_tag(wire));
    } else {
      if (tagged->empty()) *tagged = with_time_tag(wire);
      put(c, *tagged);
    }
  } else {
    put(c, wire);
  }
}

void ServerImpl::charge_sendq(Client& c, std::size_t bytes) {
  c.queued_bound += bytes;
  // The model may have dropped the connection inside send() (disconnected() then cleared peer).
  if (c.queued_bound > cfg_.sendq && !gone(c) && c.peer != nullptr) {
    c.queued_bound = c.peer->queued_bytes();
    if (c.queued_bound > cfg_.sendq) {
      ++counters_.sendq_exceeded;
      c.hard_close = true;
      doom(c, "SendQ exceeded");
    }
  }
}

namespace {
// Appends each line of `wire` to `out` with `tag` ("@key=value ") in front of it, merged into
// the line's own tags when it has some (a msgid).
void append_tagged(std::string& out, std::string_view tag, std::string_view wire) {
  while (!wire.empty()) {
    std::size_t end = wire.find('\n');
    end = end == std::string_view::npos ? wire.size() : end + 1;
    if (wire.front() == '@') {
      out.append(tag.substr(0, tag.size() - 1));
      out += ';';
      out.append(wire.substr(1, end - 1));
    } else {
      out += tag;
      out.append(wire.substr(0, end));
    }
    wire.remove_prefix(end);
  }
}

void append_msgid(std::string& out, std::string_view msgid, std::string_view wire) {
  if (msgid.empty()) {
    out.append(wire);
    return;
  }
  out += "@msgid=";
  out.append(msgid);
  out += ' ';
  out.append(wire);
}
}  // namespace

std::string ServerImpl::with_time_tag(std::string_view wire) const {
  const std::string tag = "@time=" + iso8601(wall_()) + " ";
  std::string tagged;
  tagged.reserve(wire.size() + tag.size());
  append_tagged(tagged, tag, wire);
  return tagged;
}

void ServerImpl::doom(Client& c, std::string_view reason) {
  if (gone(c)) return;
  c.doomed = true;
  c.quit_reason = std::string(reason);
  doomed_.push_back(c.id);
}

void ServerImpl::to_channel(Channel& ch, std::string wire, const Client* skip, std::string_view msgid,
                            std::string_view account) {
  flush_batch();
  batch_.ch = &ch;
  std::uint32_t acc = 0;
  if (!account.empty()) {
    batch_.accounts.emplace_back(account);
    acc = 1;
  }
  batch_.runs.push_back({0, wire.size(), skip, 1, acc});
  if (!msgid.empty()) {
    append_msgid(batch_.mwires, msgid, wire);
    batch_.mruns.push_back({0, batch_.mwires.size(), skip, 1, acc});
    batch_.has_msgid = true;
  }
  batch_.wires = std::move(wire);
  flush_batch();
}

void ServerImpl::to_channel_batched(Channel& ch, std::string_view wire, const Client* skip, std::string_view msgid,
                                    std::string_view account) {
  if (batch_.ch != &ch) {
    flush_batch();
    batch_.ch = &ch;
  }
  // The run's account: the last one held when it is the same sender's (no search per line).
  std::uint32_t acc = 0;
  if (!account.empty()) {
    if (batch_.accounts.empty() || batch_.accounts.back() != account) batch_.accounts.emplace_back(account);
    acc = static_cast<std::uint32_t>(batch_.accounts.size());
  }
  if (batch_.runs.empty() || batch_.runs.back().skip != skip || batch_.runs.back().account != acc) {
    batch_.runs.push_back({batch_.wires.size(), batch_.wires.size(), skip, 0, acc});
    batch_.mruns.push_back({batch_.mwires.size(), batch_.mwires.size(), skip, 0, acc});
  }
  batch_.wires.append(wire);
  batch_.runs.back().end = batch_.wires.size();
  ++batch_.runs.back().lines;
  // The message-ids form, kept beside the plain one (one append per line, not per member).
  append_msgid(batch_.mwires, msgid, wire);
  batch_.mruns.back().end = batch_.mwires.size();
  ++batch_.mruns.back().lines;
  batch_.has_msgid = batch_.has_msgid || !msgid.empty();
  if (batch_.wires.size() >= kMaxBatch) flush_batch();  // bounds what one turn holds back
}

std::string ServerImpl::new_msgid() {
  if (msgid_prefix_.empty()) {
    std::random_device rd;
    const std::uint64_t r = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    char buf[17];
    auto res = std::to_chars(buf, buf + sizeof buf, r, 36);
    msgid_prefix_.assign(buf, res.ptr);
    msgid_prefix_ += '-';
  }
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, ++msgids_, 36);
  std::string id;
  id.reserve(msgid_prefix_.size() + 8);
  id += msgid_prefix_;
  id.append(buf, res.ptr);
  return id;
}

std::string ServerImpl::with_time_tag(std::string_view wires, const std::vector<BatchRun>& runs,
                                      std::vector<BatchRun>& tagged_runs) const {
  const std::string tag = "@time=" + iso8601(wall_()) + " ";  // one timestamp for the whole batch
  std::string tagged;
  tagged_runs.clear();
  for (const BatchRun& run : runs) {
    const std::size_t begin = tagged.size();
    append_tagged(tagged, tag, wires.substr(run.begin, run.end - run.begin));
    tagged_runs.push_back({begin, tagged.size(), run.skip, run.lines, run.account});
  }
  return tagged;
}

std::string ServerImpl::with_account_tags(std::string_view wires, const std::vector<BatchRun>& runs,
                                          const std::vector<std::string>& accounts,
                                          std::vector<BatchRun>& tagged_runs) {
  std::string tagged;
  tagged.reserve(wires.size() + runs.size() * 24);
  tagged_runs.clear();
  std::string tag;
  for (const BatchRun& run : runs) {
    const std::size_t begin = tagged.size();
    const std::string_view lines = wires.substr(run.begin, run.end - run.begin);
    if (run.account == 0) {
      tagged.append(lines);
    } else {
      tag = "@account=" + escape_tag_value(accounts[run.account - 1]) + ' ';
      append_tagged(tagged, tag, lines);
    }
    tagged_runs.push_back({begin, tagged.size(), run.skip, run.lines, run.account});
  }
  return tagged;
}

void ServerImpl::flush_batch() {
  if (batch_.ch == nullptr) return;
  // Nothing here changes the member list: a member whose send fails or overflows its SendQ is only
  // doomed, and unlinked when the entry point ends. Indexing (not iterators) keeps even a change
  // from being undefined behaviour. The bytes are serialized once and every member's queue refers
  // to them; the server-time form is built once, on first use.
  Channel& ch = *batch_.ch;
  const auto plain = std::make_shared<const std::string>(std::move(batch_.wires));
  const std::vector<BatchRun> runs = std::move(batch_.runs);
  const bool has_msgid = batch_.has_msgid;
  const auto mplain = has_msgid ? std::make_shared<const std::string>(std::move(batch_.mwires)) : nullptr;
  const std::vector<BatchRun> mruns = std::move(batch_.mruns);
  const std::vector<std::string> accounts = std::move(batch_.accounts);
  batch_ = Batch{};
  std::size_t all_lines = 0;
  for (const BatchRun& run : runs) all_lines += run.lines;
  // The forms a member may get, by the tags its caps ask for: [server-time | msgid << 1 |
  // account << 2]. The plain and msgid forms are held; each other one is serialized once, from the
  // form without its last tag, when a member first needs it.
  struct Form {
    std::shared_ptr<const std::string> bytes;
    std::vector<BatchRun> own_runs;
    const std::vector<BatchRun>* runs = nullptr;
  };
  Form forms[8];
  forms[0].bytes = plain;
  forms[0].runs = &runs;
  if (has_msgid) {
    forms[2].bytes = mplain;
    forms[2].runs = &mruns;
  }
  const unsigned wanted = (has_msgid ? kCapMessageTags : 0u) | (accounts.empty() ? 0u : kCapAccountTag) | kCapServerTime;
  auto form_for = [&](unsigned caps) -> const Form& {
    const unsigned k = ((caps & kCapServerTime) ? 1u : 0u) | ((caps & kCapMessageTags) ? 2u : 0u) |
                       ((caps & kCapAccountTag) ? 4u : 0u);
    Form& f = forms[k];
    if (f.bytes) return f;
    const unsigned untimed = k & ~1u;
    if ((k & 4u) && !forms[untimed].bytes) {
      const Form& base = forms[untimed & 2u];
      Form& a = forms[untimed];
      a.bytes = std::make_shared<const std::string>(with_account_tags(*base.bytes, *base.runs, accounts, a.own_runs));
      a.runs = &a.own_runs;
    }
    if (k & 1u) {
      const Form& base = forms[untimed];
      f.bytes = std::make_shared<const std::string>(with_time_tag(*base.bytes, *base.runs, f.own_runs));
      f.runs = &f.own_runs;
    }
    return f;
  };
  const std::size_t n = ch.members.size();
  for (std::size_t i = 0; i < n; ++i) {
    // A thousand members are a thousand cold clients and connections: fetch member i+4's client
    // and member i+2's connection ahead, so the misses overlap instead of following each other.
    if (i + 4 < n) serve::detail::prefetch(ch.members[i + 4].second.client);
    if (i + 2 < n) serve::detail::prefetch_peer(ch.members[i + 2].second.client->peer);
    Client& t = *ch.members[i].second.client;
    if (gone(t) || t.peer == nullptr) continue;
    const Form& form = form_for(t.caps & wanted);
    const std::shared_ptr<const std::string>* bytes = &form.bytes;
    const std::vector<BatchRun>* parts = form.runs;
    // What `t` did not send itself, in as few slices as possible (one for a member that sent none).
    std::size_t queued = 0, lines = all_lines;
    auto send = [&](std::size_t begin, std::size_t end) {
      if (t.peer == nullptr) return;  // the model dropped the connection inside an earlier send
      if (&t == label_.client) {      // an echo-message reply to a labeled PRIVMSG: held
        label_.held.append(std::string_view(**bytes).substr(begin, end - begin));
        return;
      }
      t.peer->send_shared(*bytes, std::string_view(**bytes).substr(begin, end - begin));
      queued += end - begin;
    };
    std::size_t start = 0;
    bool open = false;
    for (const BatchRun& run : *parts) {
      if (run.skip == &t) {
        lines -= run.lines;
        if (open) send(start, run.begin);
        open = false;
      } else if (!open) {
        start = run.begin;
        open = true;
      }
    }
    if (open) send(start, parts->back().end);
    counters_.deliveries += lines;
    if (queued != 0) charge_sendq(t, queued);
  }
}

void ServerImpl::flush_broadcasts() {
  // The end of the loop turn: nothing may stay held. A flush that dooms members (SendQ) has them
  // reaped by the Op, and their QUITs, held together, go in the next pass.
  do {
    Op op(*this);
    flush_batch();
  } while (batch_.ch != nullptr);
}

void ServerImpl::set_hold_broadcasts(bool on) {
  hold_broadcasts_ = on;
  if (!on) flush_batch();
}

void ServerImpl::to_neighbours(Client& c, const std::string& wire, bool include_self, unsigned need_caps) {
  // Each neighbour once: a walk stamp per client, not a hash set per line (a NICK or QUIT of a
  // client in big channels walked thousands of members into a fresh set).
  std::vector<Client*> targets = take_scratch();
  const std::uint64_t walk = start_walk();
  c.walk_mark = walk;
  if (include_self) targets.push_back(&c);
  add_members(walk, c.channels, targets, need_caps);  // an away-notify line: only those who asked
  // IRCv3 account-tag: a logged-in sender's line carries its account to receivers that asked.
  // Each form (plain, server-time, account, both) is serialized once, on first use, and every
  // receiver's queue refers to the same bytes.
  Fanout out(*this, wire, {}, need_caps, c.account);
  const std::size_t n = targets.size();
  for (std::size_t i = 0; i < n; ++i) {
    // Cold clients and connections: fetched ahead, as flush_batch() does.
    if (i + 4 < n) serve::detail::prefetch(targets[i + 4]);
    if (i + 2 < n) serve::detail::prefetch_peer(targets[i + 2]->peer);
    out.to(*targets[i]);
  }
  give_scratch(std::move(targets));
}

Client* ServerImpl::find_nick(std::string_view nick) {
  auto it = nicks_.find(fold(nick, cfg_.casemapping));
  return it == nicks_.end() ? nullptr : it->second;
}

Channel* ServerImpl::find_channel(std::string_view name) {
  auto it = channels_.find(fold(name, cfg_.casemapping));
  return it == channels_.end() ? nullptr : it->second.get();
}

bool ServerImpl::shares_channel(const Client& a, const Client& b) const {
  const Client& small = a.channels.size() <= b.channels.size() ? a : b;
  const Client& other = &small == &a ? b : a;
  for (Channel* ch : small.channels) {
    if (ch->members.count(other.id)) return true;
  }
  return false;
}

bool ServerImpl::is_visible_to(const Client& target, const Client& viewer) const {
  return !target.invisible || &target == &viewer || viewer.oper || shares_channel(target, viewer);
}

void ServerImpl::remember_whowas(const Client& c) {
  if (c.nick.empty() || !c.registered || cfg_.whowas_len == 0) return;
  whowas_.push_front({c.nick, c.user, c.host, c.realname, unix_now()});
  while (whowas_.size() > cfg_.whowas_len) whowas_.pop_back();
}

void ServerImpl::remove_member(Channel& ch, Client& c) {
  // A member leaving still gets what was said before it left; a quitting one is already dead
  // (nothing more reaches it), so the held lines stay held and the next QUIT joins them.
  if (!c.dead) flush_batch();
  if (ch.members.erase(c.id) != 0 && cluster_ != nullptr && cluster_->shares_channels()) {
    cluster_->leave_channel(fold(ch.name, cfg_.casemapping), c.id);
  }
  ch.invited.erase(c.id);
  auto& list = c.channels;
  list.erase(std::remove(list.begin(), list.end(), &ch), list.end());
  if (ch.members.empty()) {
    if (batch_.ch == &ch) flush_batch();  // goes to nobody, but must not outlive the channel
    if (cluster_ != nullptr) keep_in_directory(ch);  // members left on other nodes: LIST still shows it
    channels_.erase(fold(ch.name, cfg_.casemapping));
  }
}

void ServerImpl::quit(Client& c, std::string_view reason, bool send_error, bool peer_left) {
  if (c.dead) return;
  std::string why(reason);  // `reason` may point into c.quit_reason
  if (send_error) {
    const std::string error = Line("", "ERROR").t("Closing Link: " + c.host + " (" + why + ")").str();
    // A client that closed its end reads no more: its ERROR does not first flush the channel lines
    // held this turn (deliver() would). When 10,000 members of one channel leave at once, each QUIT
    // would otherwise flush the one before it: a queue entry per member per QUIT, 1.9 GB
    // (docs/BENCHMARKS.md, "the clients' departure").
    // The same for a ping timeout (passed as peer_left: it answers nothing), and for a client
    // that is not in the held channel (nothing held is for it: a KILL of a user elsewhere).
    if (peer_left || batch_.ch == nullptr || batch_.ch->find(c.id) == nullptr)
      deliver_now(c, error, nullptr);
    else
      send(c, error);
  }
  if (label_.client == &c) end_label();  // a labeled QUIT: its replies go out before the close
  c.dead = true;
  count_registered(c, false);
  c.quit_reason = why;
  reason = c.quit_reason;
  event(Event::Kind::quit, c, reason);
  if (c.registered) {
    std::string wire = from(c, "QUIT").t(reason).str();
    for (const Channel* ch : c.channels) record_event(c, *ch, wire);
    cluster_publish(ClusterEvent::Kind::quit, c, {}, wire);  // users in no channel leave the replicas too
    // A client in one channel (most clients): its QUIT is held with the turn's other lines to it,
    // so the QUITs of a turn (closed connections, SendQ overflows, lost peers, ping timeouts, KILLs)
    // share one buffer and each member gets one slice of it, not one line per QUIT. They go at the
    // turn end, or at the end of this entry point without the turn-level hold (Op: a reaped
    // client's QUIT does not wait for the next entry point).
    if (c.channels.size() == 1)
      to_channel_batched(*c.channels.front(), wire, &c, {}, c.account);
    else
      to_neighbours(c, wire, false);
    remember_whowas(c);
    monitor_notify(c, false);
  }
  monitor_clear(c);  // the watcher's own list: freed with it
  while (!c.channels.empty()) remove_member(*c.channels.back(), c);
  if (!c.nick.empty()) {
    auto it = nicks_.find(fold(c.nick, cfg_.casemapping));
    if (it != nicks_.end() && it->second == &c) nicks_.erase(it);
  }
  if (!c.claimed.empty() && cluster_ != nullptr) cluster_->release_nick(c.claimed, c.id);
  c.claimed.clear();
  if (c.per_ip_counted) {
    auto it = per_ip_.find(c.ip);
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
    c.per_ip_counted = false;
  }
  c.delayed.clear();
  c.check.reset();
  dead_.push_back(c.id);
}

void ServerImpl::refuse(Client& c, std::string_view reason) {
  c.refuse_close = true;
  quit(c, reason);
}

void ServerImpl::reap() {
  if (reaping_) return;
  reaping_ = true;
  while (!dead_.empty() || !doomed_.empty()) {
    while (!doomed_.empty()) {
      ClientId id = doomed_.back();
      doomed_.pop_back();
      auto it = clients_.find(id);
      if (it == clients_.end() || it->second->dead) continue;
      Client& c = *it->second;
      std::string reason = c.quit_reason;
      quit(c, reason, false);  // may doom more clients (their SendQ): the loop goes on
    }
    if (dead_.empty()) break;
    ClientId id = dead_.back();
    dead_.pop_back();
    auto it = clients_.find(id);
    if (it == clients_.end()) continue;
    std::unique_ptr<Client> owned = std::move(it->second);
    clients_.erase(it);
    if (owned->peer != nullptr) {
      serve::Peer* p = owned->peer;
      owned->peer = nullptr;
      // May call back into disconnected(id): the id is gone already, so that is a no-op.
      if (owned->hard_close) {
        p->close_now(owned->quit_reason);
      } else if (owned->refuse_close) {
        p->close_refused();
      } else {
        p->close_after_flush();
      }
    }
  }
  reaping_ = false;
}

std::optional<ClientId> ServerImpl::connect(serve::Peer& peer, TimePoint now) {
  Op op(*this);
  Address remote = peer.remote().unmapped();
  std::string ip = remote.is_ip() ? remote.ip_string() : std::string("localhost");
  bool loopback = !remote.is_ip() || remote.is_loopback();
  auto refuse = [&](std::string_view why) -> std::optional<ClientId> {
    ++counters_.rejected_connections;
    if (event_log_) event_log_(Event{Event::Kind::refused, 0, {}, ip, why});
    peer.send(Line("", "ERROR").t(why).str());
    peer.close_refused();  // one write attempt and close: a refusal holds no descriptor
    return std::nullopt;
  };
  if (shutting_down_) return refuse("Server shutting down");
  if (clients_.size() >= cfg_.max_clients) return refuse("Server full");
  bool count_ip = !(loopback && cfg_.exempt_loopback);
  if (count_ip && cfg_.max_per_ip > 0) {
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && it->second >= cfg_.max_per_ip) return refuse("Too many connections from your IP");
  }
  auto c = std::make_unique<Client>();
  c->id = next_id_++;
  c->peer = &peer;
  c->ip = ip;
  c->host = ip;
  if (!c->host.empty() && c->host.front() == ':') c->host.insert(0, "0");
  c->connected = c->last_seen = c->last_message = c->refill = now;
  c->tokens = static_cast<double>(cfg_.flood_burst);
  c->signon = wall_();
  if (count_ip) {
    ++per_ip_[ip];
    c->per_ip_counted = true;
  }
  ClientId id = c->id;
  event(Event::Kind::connected, *c);
  clients_.emplace(id, std::move(c));
  return id;
}

void ServerImpl::receive(ClientId id, std::string_view data, TimePoint now) {
  Op op(*this);
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  if (gone(c) || data.empty()) return;
  c.last_seen = now;
  c.ping_sent.reset();
  if (!c.security_known) {  // bytes came: a TLS handshake is over, its client certificate known
    c.security_known = true;
    if (security_ && c.peer != nullptr) {
      ConnectionSecurity sec = security_(*c.peer);
      c.tls = sec.tls;
      c.certfp = normalize_certfp(sec.certfp);
    }
  }
  // Without a check pending, every complete line has been run: only the new bytes can end one.
  std::size_t old = c.inbuf.size();
  c.inbuf.append(data);
  process_input(c, c.check ? c.inbuf.size() : old, now);
}

void ServerImpl::process_input(Client& c, std::size_t scan, TimePoint now) {
  // Split on CR or LF (bare LF and bare CR are accepted; an empty line between them is ignored).
  std::string& buf = c.inbuf;
  std::size_t start = 0;
  while (!gone(c) && !c.check) {
    std::size_t eol = buf.find_first_of("\r\n", scan);
    if (eol == std::string::npos) break;
    std::string line = buf.substr(start, eol - start);
    start = scan = eol + 1;
    if (!line.empty()) on_line(c, line, now);
  }
  if (gone(c)) return;
  // Held by a check: drop the line ends right after the last line run, so what is left starts
  // with a line and, once every complete line is run, holds no line end (receive's scan).
  while (start < buf.size() && (buf[start] == '\r' || buf[start] == '\n')) ++start;
  buf.erase(0, start);
  if (buf.size() > cfg_.recvq) {
    buf.clear();
    refuse(c, "RecvQ exceeded");
  }
}

bool ServerImpl::flood_limited(const Client& c) const {
  return c.registered && cfg_.flood_rate > 0 && !(c.oper && cfg_.flood_exempt_opers);
}

void ServerImpl::refill(Client& c, TimePoint now) {
  if (now > c.refill) {
    double dt = std::chrono::duration<double>(now - c.refill).count();
    c.tokens = std::min(static_cast<double>(cfg_.flood_burst), c.tokens + dt * cfg_.flood_rate);
    c.refill = now;
  }
}

namespace {
bool looks_like_http(std::string_view line) {
  for (std::string_view verb : {"GET ", "POST ", "PUT ", "HEAD ", "OPTIONS ", "DELETE ", "PATCH "}) {
    if (line.substr(0, verb.size()) == verb) return true;
  }
  return false;
}
}  // namespace

void ServerImpl::on_line(Client& c, std::string_view raw, TimePoint now) {
  ++counters_.lines_in;
  if (!c.registered) {
    if (c.unregistered_lines == 0 && looks_like_http(raw)) {
      refuse(c, "This is not an HTTP server");
      return;
    }
    if (++c.unregistered_lines > cfg_.max_unregistered_lines) {
      refuse(c, "Too many commands before registration");
      return;
    }
  }
  ParseResult pr = parse(raw);
  if (!pr) {
    switch (pr.error) {
      case ParseError::too_long:
      case ParseError::tags_too_long:
        send(c, rpl(c, ERR_INPUTTOOLONG).t("Input line was too long"));
        break;
      case ParseError::bad_command:
        // "JOIN\t#a": words are separated by spaces only (Modern IRC), so the whole run is the
        // command; answer as for any unknown command (InspIRCd and Ergo do the same), with a hint.
        if (!c.registered) {
          err_not_registered(*this, c);
        } else if (pr.bad_command.find('\t') != std::string::npos) {
          send(c, rpl(c, ERR_UNKNOWNCOMMAND).p(pr.bad_command).t("Unknown command (separate words with spaces, not tabs)"));
        } else {
          send(c, rpl(c, ERR_UNKNOWNCOMMAND).p(pr.bad_command).t("Unknown command"));
        }
        break;
      default:
        break;  // NUL, malformed: the line is dropped without a reply (docs/CHAT-SERVER.md)
    }
    return;
  }
  if (raw.front() == '@' && raw.find(' ') - 1 > kMaxClientTagData) {  // IRCv3 message-tags: a client's limit
    send(c, rpl(c, ERR_INPUTTOOLONG).t("Input line was too long"));
    return;
  }
  Message& m = *pr.message;
  for (char& ch : m.command) {
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  if (cfg_.enforce_utf8 && !is_valid_utf8(raw)) {
    if (m.command == "NICK" && !m.params.empty()) {
      send(c, rpl(c, ERR_ERRONEUSNICKNAME).p("*").t("Erroneous nickname"));
    } else {
      send(c, from_server("FAIL").p(m.command).p("INVALID_UTF8").t("Message rejected: not UTF-8"));
    }
    return;
  }
  const CommandSpec* spec = find_command(m.command);
  if (spec != nullptr) {  // STATS m: counted as received
    const std::span<const CommandSpec> table = all_commands();
    if (command_usage_.size() != table.size()) command_usage_.resize(table.size());
    CommandUsage& u = command_usage_[static_cast<std::size_t>(spec - table.data())];
    ++u.count;
    u.bytes += raw.size();
  }
  if (!flood_limited(c)) {
    dispatch(c, m, now, spec);
    return;
  }
  refill(c, now);
  if (c.delayed.empty() && c.tokens >= 1.0) {
    c.tokens -= 1.0;
    dispatch(c, m, now);
    return;
  }
  if (c.delayed.size() >= cfg_.flood_max_queued) {
    ++counters_.excess_flood;
    quit(c, "Excess Flood");
    return;
  }
  ++counters_.flood_delayed;
  c.delayed.push_back(std::move(m));
}

void ServerImpl::run_delayed(Client& c, TimePoint now) {
  if (c.delayed.empty()) return;
  if (!flood_limited(c)) {
    // Became exempt (OPER) or flood control was switched off by a reload: run everything.
    while (!c.delayed.empty() && !gone(c) && !c.check) {
      Message m = std::move(c.delayed.front());
      c.delayed.pop_front();
      dispatch(c, m, now);
    }
    return;
  }
  refill(c, now);
  while (!gone(c) && !c.check && !c.delayed.empty() && c.tokens >= 1.0) {  // a check holds the rest
    c.tokens -= 1.0;
    Message m = std::move(c.delayed.front());
    c.delayed.pop_front();
    dispatch(c, m, now);
  }
}

void ServerImpl::eof(ClientId id, TimePoint /*now*/) {
  Op op(*this);
  auto it = clients_.find(id);
  if (it == clients_.end() || gone(*it->second)) return;
  quit(*it->second, "Connection closed", true, true);
}

void ServerImpl::tick(ClientId id, TimePoint now) {
  Op op(*this);
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  if (gone(c)) return;
  if (c.check) {
    poll_check(c, now);
    if (!c.check && !gone(c)) process_input(c, 0, now);  // the lines held for the verdict
  }
  if (gone(c)) return;
  if (!c.registered) {
    if (now >= c.connected + cfg_.registration_timeout) {
      ++counters_.registration_timeouts;
      quit(c, "Registration timed out");
    }
    return;
  }
  run_delayed(c, now);
  if (gone(c)) return;
  if (c.nick_deadline && now >= *c.nick_deadline) {
    if (c.check) {
      // A check in flight (a SASL login begun within the grace: argon2id takes its time) decides
      // first: its success clears the deadline, anything else meets it again here.
      c.nick_deadline = now + std::chrono::milliseconds(250);
    } else {
      c.nick_deadline.reset();
      if (cfg_.enforce_nicks) rename_to_guest(c, "This nickname is registered to another account", now);
    }
  }
  if (c.ping_sent) {
    if (now >= *c.ping_sent + cfg_.ping_timeout) {
      ++counters_.ping_timeouts;
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - c.last_seen).count();
      // Treated as a peer that left: it has answered nothing for ping_timeout, so its ERROR
      // does not first flush the lines held this turn, and the QUITs of several timeouts stay
      // held together.
      quit(c, "Ping timeout: " + std::to_string(secs) + " seconds", true, true);
    }
  } else if (now >= c.last_seen + cfg_.ping_interval) {
    c.ping_sent = now;
    send(c, Line("", "PING").t(cfg_.server_name));
  }
}

std::optional<TimePoint> ServerImpl::next_deadline(ClientId id) const {
  auto it = clients_.find(id);
  if (it == clients_.end() || it->second->dead) return std::nullopt;
  const Client& c = *it->second;
  // When a pending check's reply is due (TimePoint::max(): none is).
  const TimePoint verdict = c.check && c.check->release ? *c.check->release : TimePoint::max();
  if (!c.registered) return std::min(c.connected + cfg_.registration_timeout, verdict);
  TimePoint due = c.ping_sent ? *c.ping_sent + cfg_.ping_timeout : c.last_seen + cfg_.ping_interval;
  due = std::min(due, verdict);
  if (c.nick_deadline) due = std::min(due, *c.nick_deadline);
  if (!c.delayed.empty() && !c.check) {  // a pending check holds the delayed lines too
    if (!flood_limited(c) || c.tokens >= 1.0) return c.refill;
    double wait = (1.0 - c.tokens) / cfg_.flood_rate;
    auto d = std::chrono::duration_cast<TimePoint::duration>(std::chrono::duration<double>(wait));
    due = std::min(due, c.refill + d + TimePoint::duration(1));
  }
  return due;
}

void ServerImpl::wake(ClientId id, TimePoint now) {
  Op op(*this);
  auto it = clients_.find(id);
  if (it == clients_.end() || gone(*it->second) || !it->second->check) return;
  Client& c = *it->second;
  poll_check(c, now);
  if (!c.check && !gone(c)) process_input(c, 0, now);  // the lines held for the verdict
}

void ServerImpl::cluster_relaying(bool relaying) {
  Op op(*this);
  notify_cluster_state(relaying);
  flush_batch();
}

void ServerImpl::cluster_nick_lost(ClientId id, const std::string& folded) {
  Op op(*this);
  give_up_nick(id, folded);
  flush_batch();
}

void ServerImpl::cluster_lines_missing() {
  Op op(*this);
  notify_lines_missing();
  flush_batch();
}

void ServerImpl::cluster_decided(ClientId id, const std::string& chan, const std::string& line, bool ok,
                                 ClusterEvent::Kind kind) {
  Op op(*this);
  auto it = clients_.find(id);
  if (it != clients_.end() && !gone(*it->second)) {
    Client& c = *it->second;
    std::string_view bare = line;  // without its CR LF
    while (!bare.empty() && (bare.back() == '\n' || bare.back() == '\r')) bare.remove_suffix(1);
    ParseResult parsed = kind == ClusterEvent::Kind::invite ? parse(bare) : ParseResult{};
    if (!ok) {
      send(c, rpl(c, ERR_CHANOPRIVSNEEDED).p(chan).t("You're not channel operator"));
    } else if (parsed.message && !parsed.message->params.empty()) {  // ":inviter INVITE nick :#chan"
      send(c, rpl(c, RPL_INVITING).p(parsed.message->params[0]).p(chan));
    } else if (Channel* ch = find_channel(chan)) {
      record_event(c, *ch, line);
    }
  }
  flush_batch();
}

void ServerImpl::cluster_resynced(const std::string& folded_chan, const ClusterChannelState& st) {
  Op op(*this);
  if (Channel* ch = find_channel(folded_chan)) adopt_cluster_state(*ch, st);
  flush_batch();
}

void ServerImpl::deliver_from_cluster(const ClusterEvent& e) {
  Op op(*this);
  apply_cluster_event(e);
  // The held channel lines go now: the serve layer's turn-end flush (hold_broadcasts_) runs after
  // its own peers' events, not after Redis's descriptor, so they would wait for the next one.
  flush_batch();
}

void ServerImpl::disconnected(ClientId id, std::string_view reason) {
  Op op(*this);
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  c.peer = nullptr;
  doom(c, reason);  // unlinked when this (or the enclosing) entry point ends
}

void ServerImpl::reload(Config config) {
  Op op(*this);
  // The nick and channel tables are keyed by the folded names: another casemapping would need them
  // rebuilt and could merge two names into one, so it waits until nobody is connected (InspIRCd
  // refuses the change on rehash too). The app logs the refusal (Server::config() shows the kept one).
  if (!clients_.empty()) config.casemapping = cfg_.casemapping;
  std::vector<std::pair<Client*, std::string>> offered;  // IRCv3 cap-notify: what each was offered
  for (auto& [id, c] : clients_) {
    if ((c->caps & kCapCapNotify) && !gone(*c)) offered.emplace_back(c.get(), cap_ls(*c));
  }
  cfg_ = std::move(config);
  for (auto& [c, before] : offered) notify_cap_changes(*c, before);
}

void ServerImpl::shutdown(std::string_view reason) {
  Op op(*this);
  shutting_down_ = true;
  std::vector<Client*> all;
  for (auto& [id, c] : clients_) all.push_back(c.get());
  for (Client* c : all) {
    if (gone(*c)) continue;
    // No QUIT storm: everyone is leaving. Only the ERROR line, then flush and close.
    send(*c, Line("", "ERROR").t("Closing Link: " + c->host + " (" + std::string(reason) + ")"));
    c->registered = false;
    count_registered(*c, false);
    quit(*c, reason, false);
  }
}

void ServerImpl::shutdown_client(ClientId id, std::string_view reason) {
  Op op(*this);
  shutting_down_ = true;
  auto it = clients_.find(id);
  if (it == clients_.end() || gone(*it->second)) return;
  Client& c = *it->second;
  send(c, Line("", "ERROR").t("Closing Link: " + c.host + " (" + std::string(reason) + ")"));
  c.registered = false;  // no QUIT storm while everyone leaves
  count_registered(c, false);
  quit(c, reason, false);
}

void ServerImpl::count_registered(Client& c, bool on) {
  if (c.counted == on) return;
  c.counted = on;
  const auto step = [on](std::size_t& n) { on ? ++n : --n; };
  step(registered_now_);
  if (c.invisible) step(invisible_now_);
  if (c.oper) step(opers_now_);
}

void ServerImpl::set_user_flag(Client& c, bool Client::*flag, bool on) {
  if (c.*flag == on) return;
  const bool was = c.counted;
  count_registered(c, false);
  c.*flag = on;
  count_registered(c, was);
}

ServerStats ServerImpl::stats() const {
  ServerStats s = counters_;
  s.connections = clients_.size();
  s.registered = registered_now_;
  s.invisible = invisible_now_;
  s.operators = opers_now_;
  s.channels = channels_.size();
  return s;
}

std::string ServerImpl::check_invariants() const {
  std::size_t registered = 0, invisible = 0, opers = 0;
  for (auto& [id, c] : clients_) {
    if (c->counted != (c->registered && !c->dead)) return "registration count flag wrong: " + c->nick;
    if (!c->counted) continue;
    ++registered;
    invisible += c->invisible ? 1 : 0;
    opers += c->oper ? 1 : 0;
  }
  if (registered != registered_now_ || invisible != invisible_now_ || opers != opers_now_)
    return "LUSERS counts drifted from the clients";
  for (auto& [key, c] : nicks_) {
    if (c->dead) return "dead client in nick table: " + c->nick;
    if (fold(c->nick, cfg_.casemapping) != key) return "nick key mismatch: " + key;
    if (!clients_.count(c->id)) return "nick of unknown client: " + key;
  }
  for (auto& [id, c] : clients_) {
    if (c->dead) continue;
    if (!c->nick.empty()) {
      auto it = nicks_.find(fold(c->nick, cfg_.casemapping));
      if (it == nicks_.end() || it->second != c.get()) return "client nick not in table: " + c->nick;
    }
    for (Channel* ch : c->channels) {
      auto it = channels_.find(fold(ch->name, cfg_.casemapping));
      if (it == channels_.end() || it->second.get() != ch) return "client in unknown channel";
      if (!ch->members.count(id)) return "client lists channel that lacks it: " + ch->name;
    }
    if (c->peer && c->peer->queued_bytes() > cfg_.sendq) return "sendq over cap: " + c->nick;
    for (auto& [key, given] : c->monitoring) {
      auto w = watchers_.find(key);
      if (w == watchers_.end() || std::count(w->second.begin(), w->second.end(), c.get()) != 1)
        return "monitor entry not indexed: " + key;
    }
  }
  for (auto& [key, list] : watchers_) {
    if (list.empty()) return "empty monitor entry kept: " + key;
    for (const Client* w : list) {
      if (w->dead || !w->monitoring.count(key)) return "stale monitor watcher of " + key;
    }
  }
  for (auto& [key, ch] : channels_) {
    if (ch->members.empty()) return "empty channel kept: " + ch->name;
    for (auto& [id, m] : ch->members) {
      auto it = clients_.find(id);
      if (it == clients_.end() || it->second.get() != m.client || m.client->dead) return "stale member in " + ch->name;
      auto& list = m.client->channels;
      if (std::find(list.begin(), list.end(), ch.get()) == list.end()) return "member lacks channel " + ch->name;
    }
  }
  return {};
}

// ---- Server facade ----------------------------------------------------------------------------

Server::Server(Config config, WallClock wall) : impl_(std::make_unique<ServerImpl>(std::move(config), std::move(wall))) {}
Server::~Server() = default;
std::optional<ClientId> Server::connect(serve::Peer& peer, TimePoint now) { return impl_->connect(peer, now); }
void Server::receive(ClientId id, std::span<const std::byte> data, TimePoint now) {
  impl_->receive(id, std::string_view(reinterpret_cast<const char*>(data.data()), data.size()), now);
}
void Server::receive(ClientId id, std::string_view data, TimePoint now) { impl_->receive(id, data, now); }
void Server::eof(ClientId id, TimePoint now) { impl_->eof(id, now); }
void Server::tick(ClientId id, TimePoint now) { impl_->tick(id, now); }
void Server::wake(ClientId id, TimePoint now) { impl_->wake(id, now); }
void Server::set_password_checker(PasswordChecker* checker) { impl_->set_password_checker(checker); }
void Server::set_history(store::History* history) { impl_->history_ = history; }
void Server::set_cluster(ClusterLink* link) { impl_->cluster_ = link; }
void Server::deliver_from_cluster(const ClusterEvent& event) { impl_->deliver_from_cluster(event); }
void Server::cluster_relaying(bool relaying) { impl_->cluster_relaying(relaying); }
void Server::cluster_nick_lost(std::uint64_t id, const std::string& folded) { impl_->cluster_nick_lost(id, folded); }
void Server::cluster_lines_missing() { impl_->cluster_lines_missing(); }
void Server::set_event_log(EventLog log) { impl_->set_event_log(std::move(log)); }
void Server::set_account_store(store::AccountStore* store) { impl_->accounts_ = store; }
void Server::set_admin_hooks(AdminHooks hooks) { impl_->admin_ = std::move(hooks); }
void Server::set_security_lookup(SecurityLookup lookup) { impl_->security_ = std::move(lookup); }
std::optional<TimePoint> Server::next_deadline(ClientId id) const { return impl_->next_deadline(id); }
void Server::disconnected(ClientId id, std::string_view reason) { impl_->disconnected(id, reason); }
void Server::reload(Config config) { impl_->reload(std::move(config)); }
const Config& Server::config() const noexcept { return impl_->cfg_; }
void Server::shutdown(std::string_view reason) { impl_->shutdown(reason); }
void Server::set_hold_broadcasts(bool on) { impl_->set_hold_broadcasts(on); }
void Server::flush_broadcasts() { impl_->flush_broadcasts(); }
void Server::shutdown_client(ClientId id, std::string_view reason) { impl_->shutdown_client(id, reason); }
ServerStats Server::stats() const { return impl_->stats(); }
std::string Server::check_invariants() const { return impl_->check_invariants(); }

// ---- Session adapter --------------------------------------------------------------------------

namespace {

std::string_view close_text(serve::CloseReason why) {
  switch (why) {
    case serve::CloseReason::peer_closed: return "Connection closed";
    case serve::CloseReason::reset: return "Connection reset by peer";
    case serve::CloseReason::idle_timeout: return "Ping timeout";
    case serve::CloseReason::send_queue_full: return "SendQ exceeded";
    case serve::CloseReason::protocol: return "Protocol error";
    case serve::CloseReason::server_stopping: return "Server shutting down";
    case serve::CloseReason::error: return "Read error";
  }
  return "Connection closed";
}

class IrcSession final : public serve::Session {
 public:
  explicit IrcSession(Server& s) : server_(s) {}
  void on_open(serve::Peer& peer, TimePoint now) override { id_ = server_.connect(peer, now); }
  void on_data(std::span<const std::byte> data, serve::Peer&, TimePoint now) override {
    if (id_) server_.receive(*id_, data, now);
  }
  void on_eof(serve::Peer& peer, TimePoint now) override {
    if (id_) {
      server_.eof(*id_, now);
    } else {
      peer.close_after_flush();
    }
  }
  void on_tick(serve::Peer&, TimePoint now) override {
    if (id_) server_.tick(*id_, now);
  }
  void on_wake(serve::Peer&, TimePoint now) override {
    if (id_) server_.wake(*id_, now);
  }
  std::optional<TimePoint> next_deadline() const override {
    return id_ ? server_.next_deadline(*id_) : std::nullopt;
  }
  void on_shutdown(serve::Peer& peer, TimePoint) override {
    if (id_) {
      server_.shutdown_client(*id_, "Server shutting down");
    } else {
      peer.close_after_flush();
    }
  }
  void on_close(serve::CloseReason why) override {
    if (id_) server_.disconnected(*id_, close_text(why));
    id_.reset();
  }

 private:
  Server& server_;
  std::optional<ClientId> id_;
};

}  // namespace

std::unique_ptr<serve::Session> make_session(Server& server) { return std::make_unique<IrcSession>(server); }

serve::SessionFactory session_factory(Server& server) {
  return [&server](serve::Peer&) { return make_session(server); };
}

}  // namespace sockit::irc
