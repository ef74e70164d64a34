// The reactor models (select, poll, epoll): N event loops, one per thread. Loop 0 also runs the
// acceptors and hands connections out round-robin (muduo's TcpServer with setThreadNum).
#include "internal.hpp"

#include "loop/detail.hpp"

#include "sockit/loop/acceptor.hpp"
#include "sockit/loop/connection.hpp"
#include "sockit/loop/event_loop.hpp"

#include <algorithm>
#include <thread>

#include <unistd.h>

namespace sockit::serve {
namespace {

class ReactorImpl;
class ReactorPeer;

/// Runs detail::Tuning::turn_end at the end of a loop turn in which a session was called.
class TurnEndHook final : public loop::IoHandler {
 public:
  explicit TurnEndHook(const std::function<void()>& fn) : fn_(fn) {}
  void on_ready(const loop::Ready&) override {}
  void on_turn_end() override {
    queued = false;
    fn_();
  }
  bool queued = false;

 private:
  const std::function<void()>& fn_;  // in the server's tuning, which outlives the loops
};

struct LoopCtx {
  ReactorImpl* srv = nullptr;
  std::shared_ptr<TurnEndHook> turn_end;  // when detail::Tuning::turn_end is set
  std::unique_ptr<loop::EventLoop> loop;  // its user_data() points back here
  std::vector<std::shared_ptr<ReactorPeer>> conns;  // loop thread only; a peer knows its index
  bool stopping = false;                                                 // loop thread only
  loop::TimerId drain_timer = 0;
  std::thread thread;
};

class ReactorPeer final : public loop::Connection, public Peer {
 public:
  ReactorPeer(LoopCtx& ctx, Fd fd, const Address& remote, std::uint16_t listener, std::uint64_t id);
  ~ReactorPeer() override;

  void open(std::unique_ptr<Session> s);
  void shutdown_session();
  void after_call();
  void queue_turn_end();  // the server's turn-end hook (Tuning::turn_end), once per turn

  // Peer
  void send(std::string_view bytes) override;
  void send_shared(std::shared_ptr<const std::string> owner, std::string_view bytes) override;
  void close_after_flush() override;
  void close_now(std::string_view reason) override;
  void close_refused() override;
  std::function<void()> waker() override;
  std::size_t queued_bytes() const override { return Connection::queued_bytes(); }
  Address remote() const override { return Connection::remote(); }
  const Address& local() const override;
  std::uint64_t id() const override { return id_; }

 protected:
  void on_data(std::span<const std::byte> data) override;
  void on_eof() override;
  void on_drain() override;
  void on_closed(loop::CloseReason reason, std::error_code ec) override;

 private:
  /// Never throws, even from another thread while the last owner lets go.
  std::weak_ptr<Connection> weak() { return weak_from_this(); }
  static std::shared_ptr<ReactorPeer> lock(const std::weak_ptr<Connection>& w) {
    return std::static_pointer_cast<ReactorPeer>(w.lock());
  }
  void sync_timer();
  void on_session_timer();

  // Per-loop state is found through the loop (no pointer per connection: idle memory).
  LoopCtx& ctx() const { return *static_cast<LoopCtx*>(loop().user_data()); }
  ReactorImpl& srv() const { return *ctx().srv; }

  std::uint64_t id_;
  std::unique_ptr<Session> session_;
  loop::TimerId timer_ = 0;
  bool drain_on_ = false;
  std::uint16_t listener_;  // index into the server's local addresses

 public:
  std::uint32_t index_ = 0;  // in ctx().conns (swap-and-pop on close)
};

class ReactorImpl final : public Server::Impl {
 public:
  ReactorImpl(ServerOptions opts, SessionFactory factory) : Impl(std::move(opts), std::move(factory)) {
    conn_opts_.high_water = opts_.high_water;
    conn_opts_.low_water = opts_.low_water;
    conn_opts_.max_output = opts_.send_queue_cap;
    conn_opts_.idle_timeout = opts_.idle_timeout;
    conn_opts_.linger = opts_.linger;
    conn_opts_.coalesce_writes = opts_.coalesce_writes;
    conn_opts_.hold_output = opts_.coalesce_writes ? opts_.output_hold : std::chrono::nanoseconds{0};
    conn_opts_.hold_bytes = opts_.output_hold_bytes;
    if (opts_.max_buffered != 0) {
      budget_ = std::make_unique<loop::BufferBudget>(opts_.max_buffered);
      conn_opts_.budget = budget_.get();
    }
  }

  ~ReactorImpl() override {
    stop_now();
    wait();
    // Connections hold references into the loops: drop them before the loops go.
    for (auto& ctx : ctxs_) ctx->conns.clear();
    acceptors_.clear();
  }

  Result<void> prepare() override {
    loop::Backend backend = backend_of(opts_.model);
    for (int i = 0; i < threads_; ++i) {
      auto l = loop::EventLoop::create(backend);
      if (!l) return std::move(l).error();
      auto ctx = std::make_unique<LoopCtx>();
      ctx->srv = this;
      ctx->loop = std::move(*l);
      ctx->loop->set_user_data(ctx.get());
      if (tuning_.turn_end) ctx->turn_end = std::make_shared<TurnEndHook>(tuning_.turn_end);
      if (tuning_.splice_echo) {
        int pipe_r, pipe_w;  // made now, not at the first large read: a server's descriptors
        (void)loop::detail::splice_pipe(*ctx->loop, pipe_r, pipe_w);  // stay what they were once it is idle
      }
      ctxs_.push_back(std::move(ctx));
    }
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
      const Address* local = &locals_[i];
      auto a = loop::Acceptor::create(
          *ctxs_[0]->loop, std::move(listeners_[i]),
          [this, local](Fd fd, const Address& peer) { on_accept(std::move(fd), peer, local); },
          [this](const Error& e) { log_.log("accept", e.message()); });
      if (!a) return std::move(a).error().with_context("listen " + locals_[i].to_string());
      acceptors_.push_back(std::move(*a));
    }
    listeners_.clear();
    if (opts_.memory_trim_interval > std::chrono::nanoseconds::zero()) {
      ctxs_[0]->loop->run_every(std::chrono::duration_cast<loop::Duration>(opts_.memory_trim_interval),
                                [] { (void)trim_unused_memory(); });
    }
    if (!opts_.signals.empty()) {
      // Now, not in run(): the signalfd is one of the descriptors the server holds when idle.
      // select cannot watch one numbered over FD_SETSIZE: run() then waits for the signals.
      signals_in_loop_ = static_cast<bool>(ctxs_[0]->loop->watch_signals(opts_.signals, [this](int signo) {
        if (opts_.on_signal) opts_.on_signal(signo);
      }));
    }
    return {};
  }

  Result<void> start() override {
    if (started_.exchange(true)) return Error(errc::invalid_argument, "server: already started");
    running_.store(static_cast<int>(ctxs_.size()));
    for (auto& ctx : ctxs_) start_thread(*ctx);
    return {};
  }

  void start_thread(LoopCtx& ctx) {
    LoopCtx* c = &ctx;
    c->thread = std::thread([this, c] {
      c->loop->run();
      running_.fetch_sub(1);
    });
  }

  Result<void> run() override {
    if (!signals_in_loop_ && !opts_.signals.empty()) return Impl::run();  // select, fd over FD_SETSIZE
    if (started_.exchange(true)) return Error(errc::invalid_argument, "server: already started");
    running_.store(static_cast<int>(ctxs_.size()));
    for (std::size_t i = 1; i < ctxs_.size(); ++i) start_thread(*ctxs_[i]);
    ctxs_[0]->loop->run();  // here: no thread of its own
    running_.fetch_sub(1);
    wait();
    return {};
  }

  void stop(std::chrono::nanoseconds drain) override {
    if (ctxs_.empty() || stop_requested_.exchange(true)) return;  // empty: create() failed early
    auto deadline = loop::Clock::now() + std::chrono::duration_cast<loop::Duration>(drain);
    ctxs_[0]->loop->post([this] { close_acceptors(); });
    for (auto& ctx : ctxs_) {
      LoopCtx* c = ctx.get();
      c->loop->post([this, c, deadline] { begin_drain(*c, deadline); });
    }
  }

  void stop_now() override {
    if (ctxs_.empty() || force_requested_.exchange(true)) return;
    stop_requested_.store(true);
    ctxs_[0]->loop->post([this] { close_acceptors(); });
    for (auto& ctx : ctxs_) {
      LoopCtx* c = ctx.get();
      c->loop->post([this, c] {
        c->stopping = true;
        force_close_all(*c);
        check_done(*c);
      });
    }
  }

  void wait() override {
    for (auto& ctx : ctxs_) {
      if (ctx->thread.joinable()) ctx->thread.join();
    }
  }

  bool finished() const override { return started_.load() && running_.load() == 0; }
  // The poller the loops really use: `uring` falls back to epoll where io_uring is refused.
  std::string_view backend_name() const override {
    return ctxs_.empty() ? loop::to_string(backend_of(opts_.model)) : ctxs_[0]->loop->backend_name();
  }
  std::uint64_t bytes_spliced() const override {
    std::uint64_t n = 0;
    for (const auto& ctx : ctxs_) n += ctx->loop->bytes_spliced();
    return n;
  }
  loop::EventLoop* loop_at(int index) const override {
    if (index < 0 || static_cast<std::size_t>(index) >= ctxs_.size()) return nullptr;
    return ctxs_[static_cast<std::size_t>(index)]->loop.get();
  }
  void add_counters(ServerStats& st) const override {
    for (const auto& ctx : ctxs_) {
      st.bytes_in += ctx->loop->bytes_in();
      st.bytes_out += ctx->loop->bytes_out();
    }
    // Out-of-descriptor sheds are added to stats_ when a listener closes; before that, only the
    // loop that owns the acceptors may read their counts (SIGUSR1 and the metrics page run there).
    if (!ctxs_.empty() && ctxs_[0]->loop->is_in_loop_thread()) {
      for (const auto& a : acceptors_) {
        if (a->is_open()) st.shed += a->core().shed();
      }
    }
    if (budget_) {
      st.buffered = budget_->used();
      st.buffered_peak = budget_->peak();
      st.budget_pauses = budget_->pauses();
    }
  }

  // --- loop 0 ---
  void on_accept(Fd fd, const Address& peer, const Address* local) {
    if (stop_requested_.load()) return;  // closing: fd closes here
    if (over_limit()) {
      reject(std::move(fd), peer, "max-conns " + std::to_string(max_conns_) + " reached");
      return;
    }
    stats_->active.fetch_add(1, std::memory_order_relaxed);
    LoopCtx* target = ctxs_[next_loop_++ % ctxs_.size()].get();
    if (target == ctxs_[0].get()) {
      setup(*target, std::move(fd), peer, local);
    } else {
      int raw = fd.release();
      target->loop->post([this, target, raw, peer, local] { setup(*target, Fd(raw), peer, local); });
    }
  }

  void close_acceptors() {
    for (auto& a : acceptors_) {
      stats_->shed.fetch_add(a->core().shed(), std::memory_order_relaxed);
      a->close();
    }
    acceptors_closed_.store(true);
    for (auto& ctx : ctxs_) {
      LoopCtx* c = ctx.get();
      c->loop->post([this, c] { check_done(*c); });
    }
  }

  // --- any loop, in its thread ---
  void setup(LoopCtx& ctx, Fd fd, const Address& peer, const Address* local) {
    if (ctx.stopping) {
      stats_->active.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    set_nodelay(fd.get());
    int raw = fd.get();
    std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
    auto listener = static_cast<std::uint16_t>(local - locals_.data());
    auto p = std::make_shared<ReactorPeer>(ctx, std::move(fd), peer, listener, id);
    if (auto r = p->start(); !r) {
      stats_->active.fetch_sub(1, std::memory_order_relaxed);
      stats_->rejected.fetch_add(1, std::memory_order_relaxed);
      if (r.error() == errc::fd_over_setsize) {
        send_reject_message(raw);  // the client reads why (chat server: "ERROR :Server full"), not a bare reset
        log_.log("setsize", "select: descriptor " + std::to_string(raw) + " is over FD_SETSIZE (" +
                                std::to_string(FD_SETSIZE) + "), refusing " + peer.to_string() +
                                "; use --backend poll or epoll for more connections");
      } else {
        log_.log("watch", "cannot watch connection from " + peer.to_string() + ": " + r.error().message());
      }
      return;  // p's destructor closes the descriptor
    }
    stats_->accepted.fetch_add(1, std::memory_order_relaxed);
    // A transport that needs nothing first ran its handshake inside start(), and a failed one
    // closed the connection there: on_closed has counted it; no session, nothing to keep.
    if (!p->is_open()) return;
    p->index_ = static_cast<std::uint32_t>(ctx.conns.size());
    ctx.conns.push_back(p);
    p->open(factory_(*p));
  }

  void begin_drain(LoopCtx& ctx, loop::TimePoint deadline) {
    ctx.stopping = true;
    std::vector<std::shared_ptr<ReactorPeer>> snapshot;
    snapshot.reserve(ctx.conns.size());
    for (auto& p : ctx.conns) snapshot.push_back(p);
    for (auto& p : snapshot) p->shutdown_session();
    LoopCtx* c = &ctx;
    ctx.drain_timer = ctx.loop->run_at(deadline, [this, c] {
      c->drain_timer = 0;
      force_close_all(*c);
      check_done(*c);
    });
    check_done(ctx);
  }

  void force_close_all(LoopCtx& ctx) {
    std::vector<std::shared_ptr<ReactorPeer>> snapshot(ctx.conns);
    for (auto& p : snapshot) p->close(loop::CloseReason::server_stopping);
  }

  void check_done(LoopCtx& ctx) {
    if (ctx.stopping && ctx.conns.empty() && acceptors_closed_.load()) {
      if (ctx.drain_timer != 0) ctx.loop->cancel(std::exchange(ctx.drain_timer, 0));
      ctx.loop->stop();
    }
  }

  void forget(LoopCtx& ctx, ReactorPeer& p) {
    std::uint32_t i = p.index_;
    if (i >= ctx.conns.size() || ctx.conns[i].get() != &p) return;
    auto keep = std::move(ctx.conns[i]);  // p stays alive until this function returns
    if (i + 1 != ctx.conns.size()) {
      ctx.conns[i] = std::move(ctx.conns.back());
      ctx.conns[i]->index_ = i;
    }
    ctx.conns.pop_back();
    if (ctx.stopping) check_done(ctx);
  }

  std::unique_ptr<loop::BufferBudget> budget_;  // opts_.max_buffered; outlives every connection
  loop::ConnectionOptions conn_opts_;

 private:
  std::vector<std::unique_ptr<LoopCtx>> ctxs_;
  std::vector<std::unique_ptr<loop::Acceptor>> acceptors_;  // loop 0
  std::size_t next_loop_ = 0;                               // loop 0
  std::atomic<bool> started_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> force_requested_{false};
  std::atomic<bool> acceptors_closed_{false};
  std::atomic<int> running_{0};
  bool signals_in_loop_ = false;  // loop 0 watches opts_.signals
};

ReactorPeer::ReactorPeer(LoopCtx& ctx, Fd fd, const Address& remote, std::uint16_t listener, std::uint64_t id)
    : Connection(*ctx.loop, std::move(fd), remote, ctx.srv->conn_opts_,
                 ctx.srv->opts_.transport ? ctx.srv->opts_.transport() : nullptr),
      id_(id), listener_(listener) {}

const Address& ReactorPeer::local() const { return srv().locals_[listener_]; }

ReactorPeer::~ReactorPeer() {
  if (timer_ != 0) loop().cancel(timer_);
}

void ReactorPeer::open(std::unique_ptr<Session> s) {
  session_ = std::move(s);
  if (!session_) {
    close(loop::CloseReason::protocol);
    return;
  }
  session_->on_open(*this, loop().now());
  if (srv().tuning_.splice_echo && dynamic_cast<const detail::PureEcho*>(session_.get()) != nullptr) loop::detail::set_echo_splice(*this, true);
  after_call();
}

void ReactorPeer::shutdown_session() {
  if (!session_ || !is_open()) return;
  session_->on_shutdown(*this, loop().now());
  after_call();
}

void ReactorPeer::queue_turn_end() {
  if (auto& hook = ctx().turn_end; hook && !hook->queued) {
    hook->queued = true;
    loop().at_turn_end(hook);
  }
}

void ReactorPeer::after_call() {
  queue_turn_end();
  if (!session_ || !is_open()) return;
  bool want = session_->wants_drain();
  if (want != drain_on_) {
    drain_on_ = want;
    set_drain_notify(want);
  }
  sync_timer();
}

void ReactorPeer::sync_timer() {
  auto d = session_->next_deadline();
  if (!d) return;  // an armed timer stays; it re-checks next_deadline() when it fires
  if (timer_ != 0) {
    auto at = loop().timer_expiry(timer_);
    if (at && *at <= *d) return;
  }
  if (timer_ != 0) loop().cancel(timer_);
  TimePoint when = *d;
  if (when <= loop().now()) when = loop().now() + std::chrono::milliseconds(1);  // never spin
  timer_ = loop().run_at(when, [w = weak()] {
    if (auto p = lock(w)) p->on_session_timer();
  });
}

void ReactorPeer::on_session_timer() {
  timer_ = 0;
  if (!session_ || !is_open()) return;
  auto now = loop().now();
  auto d = session_->next_deadline();
  if (d && *d <= now) session_->on_tick(*this, now);
  after_call();
}

void ReactorPeer::send(std::string_view bytes) {
  if (loop().is_in_loop_thread()) {
    Connection::send(bytes);
    return;
  }
  loop().post([w = weak(), s = std::string(bytes)]() mutable {
    if (auto p = lock(w)) {
      p->Connection::send(std::move(s));
      p->after_call();
    }
  });
}

void ReactorPeer::send_shared(std::shared_ptr<const std::string> owner, std::string_view bytes) {
  if (loop().is_in_loop_thread()) {
    Connection::send(std::move(owner), bytes);
    return;
  }
  // The owner is immutable once shared, so the loop thread may read it: post the reference.
  loop().post([w = weak(), o = std::move(owner), bytes]() mutable {
    if (auto p = lock(w)) {
      p->Connection::send(std::move(o), bytes);
      p->after_call();
    }
  });
}

void ReactorPeer::close_after_flush() {
  if (loop().is_in_loop_thread()) {
    shutdown_after_flush(ctx().stopping ? loop::CloseReason::server_stopping : loop::CloseReason::peer_closed);
    return;
  }
  loop().post([w = weak()] {
    if (auto p = lock(w)) p->close_after_flush();
  });
}

void ReactorPeer::close_now(std::string_view /*reason*/) {
  if (loop().is_in_loop_thread()) {
    close(loop::CloseReason::protocol);
    return;
  }
  loop().post([w = weak()] {
    if (auto p = lock(w)) p->close(loop::CloseReason::protocol);
  });
}

void ReactorPeer::close_refused() {
  if (loop().is_in_loop_thread()) {
    close_after_one_write(loop::CloseReason::protocol);
    return;
  }
  loop().post([w = weak()] {
    if (auto p = lock(w)) p->close_refused();
  });
}

std::function<void()> ReactorPeer::waker() {
  // The loop outlives every caller that matters: the server's owner stops its workers before
  // the server goes (chat server: PasswordChecker::stop after run()).
  return [w = weak(), l = &loop()] {
    l->post([w] {
      auto p = lock(w);
      if (!p || !p->session_ || !p->is_open()) return;
      p->session_->on_wake(*p, p->loop().now());
      p->after_call();
    });
  };
}

void ReactorPeer::on_data(std::span<const std::byte> data) {
  if (!session_) return;
  session_->on_data(data, *this, loop().now());
  after_call();
}

void ReactorPeer::on_eof() {
  if (!session_) return;
  session_->on_eof(*this, loop().now());
  after_call();
}

void ReactorPeer::on_drain() {
  if (!session_) return;
  session_->on_drain(*this, loop().now());
  after_call();
}

void ReactorPeer::on_closed(loop::CloseReason reason, std::error_code /*ec*/) {
  if (timer_ != 0) loop().cancel(std::exchange(timer_, 0));
  srv().stats_->count_close(to_serve(reason));
  srv().stats_->active.fetch_sub(1, std::memory_order_relaxed);
  if (session_) {
    session_->on_close(to_serve(reason));
    // A close found outside a session call (a reset met by the turn-end write, an error event)
    // is a session call too: what the session held for the turn end (the chat server's QUIT of
    // this client) must go at this turn's end, or the next one's, not wait for another event.
    queue_turn_end();
  }
  srv().forget(ctx(), *this);
}

}  // namespace

std::size_t default_max_buffered() noexcept {
  constexpr std::size_t kMin = std::size_t{32} << 20, kMax = std::size_t{256} << 20;
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return kMin;
  std::size_t eighth = static_cast<std::size_t>(pages) / 8 * static_cast<std::size_t>(page);
  return std::clamp(eighth, kMin, kMax);
}

std::unique_ptr<Server::Impl> make_reactor_impl(ServerOptions opts, SessionFactory factory) {
  return std::make_unique<ReactorImpl>(std::move(opts), std::move(factory));
}

}  // namespace sockit::serve
