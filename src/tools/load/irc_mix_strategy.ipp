// irc-mix: a realistic chat network (docs/LOAD.md), included by strategies.cpp inside its
// anonymous namespace so that it drives its clients through the same IrcClient as the irc modes
// (registration, line reading, PING, the WebSocket option). The network is make_mix_plan()'s.
//
// Clients connect --ramp at a time, register and JOIN their k channels; once all have joined,
// each client runs its own Poisson process of events at (rate + churn + nick + away) / N per second:
// a PRIVMSG (to one of its channels, or with probability --private to one other client's nick),
// a PART of one of its channels and a JOIN of another (Zipf-drawn), a nick change, an AWAY toggle.
// Every PRIVMSG carries "ID INTENDED": its id and its intended (scheduled) send time, from which its
// deliveries' latency counts (coordinated omission corrected). The generator knows each channel's
// membership as the server must see it, so each message has the exact set of clients it must reach:
// the members whose JOIN was complete (366 received) before it was sent. A member that PARTs that
// channel (or, for a private message, changes nick) while the message is still on its way is taken
// out of the set (`excluded`): only deliveries to members present for the whole lifetime of the
// message are expected, so lost = expected - received is the server's loss, not the churn's.
// One thread only (finalize() insists): the membership is one table on the worker's loop.
class IrcMix final : public IrcClient {
 public:
  explicit IrcMix(Worker& w)
      : IrcClient(w), plan_(make_mix_plan(w.o)), rng_(w.o.seed ^ 0x9e3779b97f4a7c15ULL),
        clients_(w.conns.size()), members_(plan_.sizes.size()), group_live_(plan_.sizes.size() + w.conns.size()),
        total_rate_(o_.rate + o_.mix_churn + o_.mix_nick + o_.mix_away) {}

  void start(std::int64_t now) override { open_more(now); }
  void on_timer(std::size_t k, std::int64_t now) override;
  void on_failed(std::size_t k, FailedConn /*was*/, std::int64_t now) override;
  void tick(std::int64_t now) override;
  void sweep(std::int64_t now) override;
  bool finished(std::int64_t now) const override;

  bool measures_from_start() const noexcept override { return false; }
  std::int64_t control(Shared& sh, RunResult& res, const RunClock& at) override;
  std::string settling_text(const Shared& sh) const override {
    if (sh.phase.load() != 0) return {};
    return fmt::format("joined {}/{} clients", sh.settled.load(), o_.connections);
  }
  std::string_view unit_name() const noexcept override { return "deliveries"; }

 private:
  struct Client {
    std::vector<std::uint32_t> chans;    // channels whose JOIN completed (and no PART sent)
    std::deque<std::uint32_t> joining;   // JOINs sent, in order, waiting for their 366
    std::string next_nick;               // a NICK sent, not yet confirmed
    std::uint32_t gen = 0;               // nick changes so far
    bool settled = false, away = false, dead = false;
  };
  struct Msg {
    std::uint32_t group = 0;  // channel index, or channels + target client for a private message
    std::int64_t intended = 0, sent = 0;
    std::uint32_t pending = 0;
    bool counted = false;     // intended in the measured interval
    std::vector<std::uint64_t> due;  // bit per client: a delivery still expected
  };

  std::string nick_for(std::size_t k) override {
    std::string id = base36(k), g = base36(clients_[k].gen % 1296);
    return "m" + run_tag() + std::string(3 - std::min<std::size_t>(3, id.size()), '0') + id +
           std::string(2 - g.size(), '0') + g;
  }
  std::string channel(std::uint32_t c) const { return "#" + run_tag() + "m" + base36(c); }
  void on_welcome(std::size_t k, std::int64_t now) override;
  void on_names_end(std::size_t k) override;
  void on_reply(std::size_t k, std::string_view cmd, std::string_view line, std::int64_t now) override;
  void on_privmsg(std::size_t k, std::string_view text, std::size_t len, std::int64_t now) override;

  void open_more(std::int64_t now);
  void settle(std::size_t k, bool ok, std::int64_t now);
  void event(std::size_t k, std::int64_t at, std::int64_t now);
  void message(std::size_t k, std::int64_t at, std::int64_t now);
  void churn(std::size_t k, std::int64_t now);
  /// Client k leaves `group` (PART, or a nick change for its private messages): the messages to
  /// that group still on their way no longer count on reaching k.
  void leave(std::size_t k, std::uint32_t group);
  void drop(std::unordered_map<std::uint64_t, Msg>::iterator it) {
    if (it->second.counted) --live_counted_;
    live_.erase(it);
  }
  std::uint32_t channels() const noexcept { return static_cast<std::uint32_t>(plan_.sizes.size()); }

  MixPlan plan_;
  std::mt19937_64 rng_;
  std::vector<Client> clients_;
  std::vector<std::vector<std::uint32_t>> members_;       // per channel: clients with a complete JOIN
  std::unordered_map<std::uint64_t, Msg> live_;            // messages with deliveries still due
  std::vector<std::vector<std::uint64_t>> group_live_;     // per group: ids sent to it (some finished)
  std::deque<std::uint64_t> order_;                        // ids in send order, for the timeout sweep
  std::uint64_t next_id_ = 1, live_counted_ = 0;
  std::size_t next_open_ = 0, settled_ = 0;
  bool events_started_ = false;
  const double total_rate_;
};

void IrcMix::open_more(std::int64_t now) {
  while (next_open_ < w_.conns.size() && next_open_ - settled_ < o_.mix_ramp) open_client(next_open_++, now);
}

void IrcMix::settle(std::size_t k, bool ok, std::int64_t now) {
  Client& cl = clients_[k];
  if (cl.settled) return;
  cl.settled = true;
  ++settled_;
  if (ok) ++w_.stats.mix.clients_joined;
  w_.sh.settled.fetch_add(1);
  open_more(now);
}

void IrcMix::on_welcome(std::size_t k, std::int64_t now) {
  Client& cl = clients_[k];
  std::string list;
  for (const auto c : plan_.channels_of[k]) {
    if (!list.empty()) list += ',';
    list += channel(c);
    cl.joining.push_back(c);
    ++w_.stats.mix.joins;
  }
  if (list.empty()) return settle(k, true, now);
  send(k, fmt::format("JOIN {}\r\n", list), now);
}

void IrcMix::on_names_end(std::size_t k) {
  Client& cl = clients_[k];
  if (cl.joining.empty()) return;  // a NAMES we did not ask for
  const std::uint32_t c = cl.joining.front();
  cl.joining.pop_front();
  cl.chans.push_back(c);
  members_[c].push_back(static_cast<std::uint32_t>(k));
  if (cl.joining.empty() && !cl.settled) settle(k, true, now_ns());
}

void IrcMix::on_reply(std::size_t k, std::string_view cmd, std::string_view line, std::int64_t now) {
  Client& cl = clients_[k];
  if (cmd == "NICK") {  // ":old!user@host NICK :new": ours when `old` is our nick
    const std::string_view from = line.substr(1, line.find_first_of("! ") - 1);
    if (!cl.next_nick.empty() && from == w_.conns[k].nick) {
      w_.conns[k].nick = std::move(cl.next_nick);
      cl.next_nick.clear();
    }
  } else if (cmd == "403" || cmd == "405" || cmd == "471" || cmd == "473" || cmd == "474" || cmd == "475" ||
             cmd == "476" || cmd == "477" || cmd == "489") {  // a JOIN refused
    w_.count_error(ErrorKind::other);
    if (!cl.joining.empty()) cl.joining.pop_front();
    if (cl.joining.empty() && !cl.settled) settle(k, false, now);
  }
}

void IrcMix::on_failed(std::size_t k, FailedConn /*was*/, std::int64_t now) {
  Client& cl = clients_[k];
  cl.dead = true;
  for (const auto c : cl.chans) {
    auto& m = members_[c];
    m.erase(std::find(m.begin(), m.end(), static_cast<std::uint32_t>(k)));
    leave(k, c);
  }
  cl.chans.clear();
  leave(k, channels() + static_cast<std::uint32_t>(k));
  settle(k, false, now);  // no reconnect: the network is the plan's
}

void IrcMix::tick(std::int64_t now) {
  if (events_started_ || w_.sh.phase.load(std::memory_order_acquire) != 1 || total_rate_ <= 0) return;
  events_started_ = true;
  const double per_client = total_rate_ / static_cast<double>(w_.conns.size());
  for (std::size_t k = 0; k < w_.conns.size(); ++k) {
    if (w_.conns[k].st != Conn::open) continue;
    w_.conns[k].t_next = now + poisson_gap_ns(per_client, rng_);
    w_.schedule(k, w_.conns[k].t_next);
  }
}

void IrcMix::on_timer(std::size_t k, std::int64_t now) {
  Conn& c = w_.conns[k];
  const double per_client = total_rate_ / static_cast<double>(w_.conns.size());
  while (c.st == Conn::open && c.t_next <= now && c.t_next < w_.t_end) {
    event(k, c.t_next, now);
    c.t_next += poisson_gap_ns(per_client, rng_);
  }
  if (c.st == Conn::open && c.t_next < w_.t_end) w_.schedule(k, c.t_next);
}

void IrcMix::event(std::size_t k, std::int64_t at, std::int64_t now) {
  Client& cl = clients_[k];
  double u = unit_draw(rng_) * total_rate_;
  if ((u -= o_.rate) < 0) return message(k, at, now);
  if ((u -= o_.mix_churn) < 0) return churn(k, now);
  if ((u -= o_.mix_nick) < 0) {
    if (!cl.next_nick.empty()) return;  // the last change is not confirmed yet
    ++cl.gen;
    cl.next_nick = nick_for(k);
    leave(k, channels() + static_cast<std::uint32_t>(k));  // private messages to the old nick
    ++w_.stats.mix.nicks;
    return send(k, fmt::format("NICK {}\r\n", cl.next_nick), now);
  }
  cl.away = !cl.away;
  ++w_.stats.mix.aways;
  send(k, cl.away ? "AWAY :sockit load irc-mix\r\n" : "AWAY\r\n", now);
}

void IrcMix::message(std::size_t k, std::int64_t at, std::int64_t now) {
  const Client& cl = clients_[k];
  Msg m;
  std::string target;
  const auto n = static_cast<std::uint32_t>(w_.conns.size());
  m.due.assign((n + 63) / 64, 0);
  if (unit_draw(rng_) < o_.mix_private || cl.chans.empty()) {
    auto t = static_cast<std::uint32_t>(rng_() % (n - 1));
    if (t >= k) ++t;
    const Client& to = clients_[t];
    if (to.dead || !to.settled || !to.next_nick.empty() || w_.conns[t].st != Conn::open) {
      if (cl.chans.empty()) return;  // nobody to talk to now
    } else {
      target = w_.conns[t].nick;
      m.group = channels() + t;
      m.due[t / 64] |= std::uint64_t{1} << (t % 64);
      m.pending = 1;
    }
  }
  if (target.empty()) {
    m.group = cl.chans[rng_() % cl.chans.size()];
    target = channel(m.group);
    for (const auto r : members_[m.group])
      if (r != k) {
        m.due[r / 64] |= std::uint64_t{1} << (r % 64);
        ++m.pending;
      }
  }
  const std::uint64_t id = next_id_++;
  m.intended = at;
  m.sent = now;
  m.counted = at >= w_.t_measure && at < w_.t_end;
  std::string line = fmt::format("PRIVMSG {} :{} {} ", target, id, at);
  const std::size_t head = line.size() - (9 + target.size());
  if (head < o_.size) line.append(o_.size - head, 'x');
  line += "\r\n";
  if (m.counted) {
    ++w_.stats.sent;
    ++(m.group < channels() ? w_.stats.mix.channel_msgs : w_.stats.mix.private_msgs);
    w_.stats.mix.expected += m.pending;
    w_.stats.bytes_out += line.size();
  }
  ++w_.stats.sent_all;
  if (m.pending) {
    if (m.counted) ++live_counted_;
    group_live_[m.group].push_back(id);
    order_.push_back(id);
    live_.emplace(id, std::move(m));
  }
  send(k, line, now);
}

void IrcMix::churn(std::size_t k, std::int64_t now) {
  Client& cl = clients_[k];
  if (!cl.joining.empty()) return;  // a JOIN is still on its way
  std::uint32_t parted = UINT32_MAX;
  if (!cl.chans.empty()) {
    const std::size_t i = rng_() % cl.chans.size();
    parted = cl.chans[i];
    cl.chans.erase(cl.chans.begin() + static_cast<std::ptrdiff_t>(i));
    auto& m = members_[parted];
    m.erase(std::find(m.begin(), m.end(), static_cast<std::uint32_t>(k)));
    leave(k, parted);
    ++w_.stats.mix.parts;
    send(k, fmt::format("PART {}\r\n", channel(parted)), now);
  }
  std::uint32_t c = zipf_pick(plan_.cdf, rng_);
  for (int tries = 0; tries < 16 && (c == parted || std::find(cl.chans.begin(), cl.chans.end(), c) != cl.chans.end()); ++tries)
    c = zipf_pick(plan_.cdf, rng_);
  if (c == parted || std::find(cl.chans.begin(), cl.chans.end(), c) != cl.chans.end()) c = parted;
  if (c == UINT32_MAX) return;
  cl.joining.push_back(c);
  ++w_.stats.mix.joins;
  send(k, fmt::format("JOIN {}\r\n", channel(c)), now);
}

void IrcMix::leave(std::size_t k, std::uint32_t group) {
  auto& ids = group_live_[group];
  const std::uint64_t bit = std::uint64_t{1} << (k % 64);
  std::size_t keep = 0;
  for (const auto id : ids) {
    auto it = live_.find(id);
    if (it == live_.end()) continue;
    Msg& m = it->second;
    if (m.due[k / 64] & bit) {
      m.due[k / 64] &= ~bit;
      --m.pending;
      if (m.counted) {
        --w_.stats.mix.expected;
        ++w_.stats.mix.excluded;
      }
      if (m.pending == 0) {
        drop(it);
        continue;
      }
    }
    ids[keep++] = id;
  }
  ids.resize(keep);
}

void IrcMix::on_privmsg(std::size_t k, std::string_view text, std::size_t len, std::int64_t now) {
  std::uint64_t id = 0;
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') id = id * 10 + static_cast<std::uint64_t>(text[i++] - '0');
  auto it = live_.find(id);
  const std::uint64_t bit = std::uint64_t{1} << (k % 64);
  if (it == live_.end() || !(it->second.due[k / 64] & bit)) {
    ++w_.stats.mix.unexpected;  // not ours, finished, timed out, or to a member it was not due to
    return;
  }
  Msg& m = it->second;
  m.due[k / 64] &= ~bit;
  ++w_.stats.delivered_all;
  if (m.counted) {
    w_.stats.latency.record(now - m.intended);
    w_.stats.latency_raw.record(now - m.sent);
    w_.record_units(1, len);
  }
  if (--m.pending == 0) drop(it);
}

void IrcMix::sweep(std::int64_t now) {
  IrcClient::sweep(now);
  // A message whose deliveries have not all come within --timeout: the rest are lost.
  while (!order_.empty()) {
    auto it = live_.find(order_.front());
    if (it != live_.end()) {
      if (now - it->second.sent <= o_.timeout.count()) break;
      drop(it);
    }
    order_.pop_front();
  }
}

bool IrcMix::finished(std::int64_t now) const {
  if (w_.sh.stop.load(std::memory_order_relaxed)) return true;
  if (now < w_.t_end) return false;
  // The measured messages' deliveries may still be on their way: wait for them, up to --timeout.
  return live_counted_ == 0 || now >= w_.t_end + o_.timeout.count();
}

std::int64_t IrcMix::control(Shared& sh, RunResult& res, const RunClock& at) {
  // Joining takes longer than one channel's: every JOIN is broadcast to the channel's members, so a
  // channel of m members costs m^2/2 lines (large's biggest, 3,273 members: 5 million). 10 ms per
  // client on top of the usual limit.
  const std::int64_t deadline = at.settle_deadline + static_cast<std::int64_t>(o_.connections) * 10 * kNsPerMs;
  if (sh.phase.load() != 0 || (sh.settled.load() < o_.connections && at.now <= deadline)) return kNever;
  if (sh.settled.load() < o_.connections)
    res.note = fmt::format("only {} of {} clients settled; measured anyway", sh.settled.load(), o_.connections);
  sh.t_measure.store(at.now + o_.warmup.count());
  sh.t_end.store(o_.timed() ? at.now + o_.warmup.count() + o_.duration.count() : kNever);
  sh.phase.store(1, std::memory_order_release);
  return kNever;
}
