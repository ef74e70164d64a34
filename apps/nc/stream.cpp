// sockit nc over stream sockets (TCP and Unix-domain): connect, listen for one client, and
// listen -k (many concurrent clients, stdin broadcast to all of them, their data to stdout).
//
// One sockit::loop EventLoop (StreamHub; the poll backend, as stdin may be a regular file) serves
// every case: stdin is a watched descriptor, each peer a loop::Connection, -k's listener a
// loop::Acceptor, -q a loop timer, -i/-w the connections' idle timeout. Per peer it tracks the two
// directions of the conversation separately, which is what the EOF matrix in docs/NC.md is about:
//   to peer:   stdin data -> peer; at stdin EOF (and once the queue is flushed) FIN, unless
//              --no-shutdown / --recv-only.
//   from peer: peer data -> stdout, until the peer's FIN (or forever-discarded with --send-only).
// A conversation is over when both directions are. Without -k that ends the command.
#include "nc/crlf.hpp"
#include "common/exit_codes.hpp"
#include "nc/nc.hpp"

#include <sockit/loop/acceptor.hpp>
#include <sockit/loop/connection.hpp>
#include <sockit/loop/connector.hpp>
#include <sockit/loop/event_loop.hpp>
#include <sockit/net/sys.hpp>
#include <sockit/tls/context.hpp>
#include <sockit/tls/transport.hpp>

#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sockit::nc {
namespace {

constexpr std::size_t kChunk = 64 * 1024;
// A -k client that stops reading is dropped once this much broadcast data waits for it.
constexpr std::size_t kMaxClientBacklog = 8 * 1024 * 1024;
// A connect attempt without -w waits for the kernel's verdict (its SYN retries), not for a timer.
constexpr std::chrono::milliseconds kNoAttemptLimit = std::chrono::hours(24);

// Unlinks a Unix socket path we created, on every exit path.
struct UnlinkGuard {
  std::string path;
  ~UnlinkGuard() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

class StreamHub;

// One conversation: the socket as a loop::Connection. The hub decides what each event means.
class Peer final : public loop::Connection {
 public:
  // `tls_raw`: the TLS transport `owned` is (null: plain), kept to read its failure in words.
  Peer(StreamHub& hub, loop::EventLoop& loop, Fd fd, std::string name, const loop::ConnectionOptions& opts,
       tls::Transport* tls_raw, std::unique_ptr<loop::Transport> owned)
      : Connection(loop, std::move(fd), Address(), opts, std::move(owned)), label(std::move(name)), tls(tls_raw), hub_(&hub) {}

  std::string label;            // "127.0.0.1:54321" or the Unix path
  bool fin_received = false;    // the peer half-closed: nothing more will arrive
  bool fin_sent = false;        // we half-closed (or, with --no-shutdown, decided to send no more)
  bool ended = false;           // closed by the hub (its own on_closed is then ignored)
  std::uint64_t sent = 0, received = 0;
  tls::Transport* tls = nullptr;  // owned by the Connection; null without --ssl

 private:
  void on_data(std::span<const std::byte> data) override;
  void on_eof() override;
  void on_drain() override;
  void on_closed(loop::CloseReason reason, std::error_code ec) override;
  StreamHub* hub_;
};

class StreamHub {
 public:
  // `listener`: with -k, the listening socket (owned), else invalid.
  StreamHub(Context& ctx, Fd listener, bool keep) : ctx_(ctx), o_(ctx.opt), keep_(keep), listener_(std::move(listener)) {
    // poll(): stdin may be a regular file, which epoll refuses.
    auto l = loop::EventLoop::create(loop::Backend::poll);
    if (!l) ctx_.fail(l.error());
    loop_ = std::move(*l);
    opts_.high_water = std::numeric_limits<std::size_t>::max();  // never stop reading the peer
    opts_.max_output = 0;                 // -k drops a client past kMaxClientBacklog itself
    opts_.low_water = keep ? kChunk : 0;  // stdin is read again once a peer's queue is this low
    opts_.edge_triggered = false;
    if (o_.idle) opts_.idle_timeout = *o_.idle;
  }

  loop::EventLoop& event_loop() { return *loop_; }

  /// --ssl: every peer talks TLS with this context (`server_name`: a client's SNI and check).
  void use_tls(tls::Context c, std::string server_name) {
    tls_ = std::move(c);
    server_name_ = std::move(server_name);
  }

  void add_peer(StreamSocket sock, std::string label) {
    if (auto r = set_nonblocking(sock.fd()); !r) ctx_.fail(r.error());
    std::unique_ptr<tls::Transport> t;
    if (tls_) {
      tls::TransportOptions to;
      to.server_name = server_name_;
      // A listener gives a client 10 s to finish the handshake; a client waits as long as -w.
      to.handshake_timeout = tls_->role() == tls::Role::server ? to.handshake_timeout : o_.wait.value_or(Nanos::zero());
      t = std::make_unique<tls::Transport>(*tls_, to);
    }
    tls::Transport* raw = t.get();
    auto p = std::make_shared<Peer>(*this, *loop_, sock.release(), std::move(label), opts_, raw, std::move(t));
    if (auto r = p->start(); !r) ctx_.fail(r.error());
    // A client that arrives after stdin ended gets FIN on the next advance(): nothing will ever
    // be sent to it.
    peers_.push_back(std::move(p));
  }

  // Runs until the (single) conversation is over, or forever with -k. Returns the exit status.
  int run() {
    if (!o_.recv_only) {
      if (auto r = loop_->watch(0, loop::Interest::none, [this](const loop::Ready&) { read_stdin_chunk(); }); !r)
        ctx_.fail(r.error());
      stdin_watched_ = true;
    }
    if (listener_) {
      auto a = loop::Acceptor::create(*loop_, std::move(listener_), [this](Fd fd, const Address& peer) {
        accept_client(std::move(fd), peer);
      });
      if (!a) ctx_.fail(a.error());
      acceptor_ = std::move(*a);
    }
    advance();
    if (!done_) loop_->run();
    return status_;
  }

  void on_data(Peer& p, std::span<const std::byte> data) {
    deliver(p, data);
    advance();
  }
  void on_eof(Peer& p) {
    p.fin_received = true;
    ctx_.log(2, "{} closed its side (FIN received)", p.label);
    advance();
  }
  void on_drain(Peer& p) {
    p.set_drain_notify(false);
    advance();
  }
  void on_closed(Peer& p, loop::CloseReason reason, std::error_code ec) {
    if (p.ended) return;
    if (reason == loop::CloseReason::peer_closed && p.fin_sent && p.fin_received) {
      // half_close() after the peer's FIN: the Connection closed itself once ours was out.
      peer_done(p);
      count_totals(p);
      return advance();
    }
    p.ended = true;
    if (p.tls != nullptr && !p.tls->established() && !p.tls->failure_text().empty()) {
      drop_or_fail(p, p.tls->failure_text());  // "tls: certificate verify failed (CN=x): ..."
    } else if (p.tls != nullptr && !p.tls->established() && reason == loop::CloseReason::idle_timeout) {
      drop_or_fail(p, "tls: handshake timed out");
    } else if (reason == loop::CloseReason::idle_timeout) {
      drop_or_fail(p, fmt::format("idle timeout: no data for {}", format_duration(*o_.idle)));
    } else {
      // After the peer's FIN only our writes can fail; before it, the read sees the trouble.
      drop_or_fail(p, fmt::format("{} {}: {}", p.fin_received ? "send" : "read", p.label,
                                  ec ? ec.message() : std::string(loop::to_string(reason))));
    }
    advance();
  }

 private:
  // Applies the EOF rules: FIN once stdin is over and the queue is empty; ends finished peers;
  // reads stdin only while every peer's queue is short.
  void advance() {
    if (done_) return;
    if (advancing_) {
      again_ = true;  // a close inside the loop below (half_close): one more round after it
      return;
    }
    advancing_ = true;
    do {
      again_ = false;
      advance_peers();
    } while (again_ && !done_);
    advancing_ = false;
    if (done_) return;
    std::erase_if(peers_, [](const std::shared_ptr<Peer>& p) { return !p->is_open(); });
    if (!keep_ && peers_.empty()) return finish();
    update_stdin();
  }

  void advance_peers() {
    for (auto& p : peers_) {
      if (!p->is_open()) continue;
      bool nothing_more = o_.recv_only || (!stdin_open_ && p->queued_bytes() == 0);
      if (nothing_more && !p->fin_sent && !send_fin(*p)) continue;
      bool receive_done = p->fin_received || o_.send_only;
      if (p->fin_sent && receive_done && !p->ended) {
        peer_done(*p);
        close_peer(*p);
      }
    }
  }

  void peer_done(const Peer& p) const {
    ctx_.log(keep_ ? 1 : 2, "connection with {} done ({} bytes sent, {} received)", p.label, p.sent, p.received);
  }

  void count_totals(Peer& p) {
    total_sent_ += p.sent;
    total_received_ += p.received;
    p.ended = true;
  }

  // Half-close through the Connection (Connection::half_close: it keeps reading, output goes on
  // until the peer's FIN). False when the peer is closed now (done, or dropped).
  bool send_fin(Peer& p) {
    p.fin_sent = true;
    if (!o_.no_shutdown && !o_.recv_only) {
      ctx_.log(2, "stdin EOF: sent FIN to {}", p.label);
      p.half_close();  // may close p: at once after the peer's FIN, or with the shutdown's error
    }
    if (!keep_ && !o_.recv_only && o_.quit && quit_timer_ == 0) {
      quit_timer_ = loop_->run_after(*o_.quit, [this] {
        ctx_.log(2, "-q time after stdin EOF passed, exiting");
        finish();
      });
    }
    return p.is_open();
  }

  void update_stdin() {
    if (!stdin_watched_) return;
    bool want = stdin_open_ && !peers_.empty();
    for (auto& p : peers_) {
      if (p->queued_bytes() > opts_.low_water) {
        want = false;
        p->set_drain_notify(true);  // on_drain: read stdin again
      }
    }
    if (want == stdin_reading_) return;
    stdin_reading_ = want;
    if (auto r = loop_->update(0, want ? loop::Interest::read : loop::Interest::none); !r) ctx_.fail(r.error());
  }

  // Closes gracefully: unread input would make close() send RST and could destroy data still in
  // flight to the peer, so drain what is readable first (printing it unless --send-only).
  void close_peer(Peer& p) {
    std::span<std::byte> buf = loop_->scratch();
    for (int i = 0; i < 64 && !p.fin_received; ++i) {
      // Through TLS when it is on: the socket's bytes are records, not the peer's data.
      ssize_t r = p.tls != nullptr ? (p.tls->established() ? p.tls->read(p.fd(), buf) : -1)
                                   : sys::recv(p.fd(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (r <= 0) break;
      deliver(p, buf.first(static_cast<std::size_t>(r)));
    }
    count_totals(p);
    p.close(loop::CloseReason::peer_closed);
  }

  void finish() {
    if (done_) return;
    for (auto& p : peers_) {
      if (p->is_open()) close_peer(*p);
    }
    ctx_.summary(total_sent_, total_received_);
    status_ = cli::kExitOk;
    done_ = true;
    loop_->stop();
  }

  // With -k a broken client is logged and dropped; otherwise the failure ends the command.
  void drop_or_fail(Peer& p, const std::string& why) {
    if (!keep_) {
      total_sent_ += p.sent;
      total_received_ += p.received;
      ctx_.summary(total_sent_, total_received_);
      ctx_.fail_message(why);
    }
    ctx_.log(1, "{}: {}; closing", p.label, why);
    p.ended = true;
    p.close(loop::CloseReason::error);
  }

  void deliver(Peer& p, std::span<const std::byte> data) {
    ctx_.dump.dump(Direction::received, p.label, data, p.received);
    p.received += data.size();
    if (!o_.send_only) ctx_.write_stdout(reinterpret_cast<const char*>(data.data()), data.size());
  }

  void read_stdin_chunk() {
    char buf[kChunk];
    long r = read_stdin(ctx_, buf, sizeof buf);
    if (r < 0) return;
    if (r == 0) {
      stdin_open_ = false;
      ctx_.log(2, "stdin EOF");
      return advance();
    }
    std::string_view in(buf, static_cast<std::size_t>(r));
    std::string converted;
    if (o_.crlf) {
      crlf_.encode(in, converted);
      in = converted;
    }
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(in.data()), in.size());
    for (auto& p : peers_) {
      if (!p->is_open() || p->fin_sent) continue;
      ctx_.dump.dump(Direction::sent, p->label, bytes, p->sent);
      p->sent += in.size();
      p->send(in);
      if (keep_ && p->is_open() && p->queued_bytes() > kMaxClientBacklog) {
        drop_or_fail(*p, fmt::format("not reading ({} bytes queued)", p->queued_bytes()));
      }
    }
    advance();
  }

  void accept_client(Fd fd, const Address& peer) {
    std::string label = peer.is_unix() || peer.family() == Family::unspec ? o_.host : peer.unmapped().to_string();
    ctx_.log(1, "connection from {}", label);
    add_peer(StreamSocket(std::move(fd)), std::move(label));
    advance();
  }

  Context& ctx_;
  const Options& o_;
  bool keep_;
  Fd listener_;
  std::unique_ptr<loop::EventLoop> loop_;
  std::optional<tls::Context> tls_;
  std::string server_name_;
  loop::ConnectionOptions opts_;
  std::unique_ptr<loop::Acceptor> acceptor_;
  std::vector<std::shared_ptr<Peer>> peers_;
  bool stdin_open_ = true, stdin_watched_ = false, stdin_reading_ = false, done_ = false;
  bool advancing_ = false, again_ = false;  // advance() is running / must run once more
  loop::TimerId quit_timer_ = 0;
  int status_ = cli::kExitOk;
  CrlfEncoder crlf_;
  std::uint64_t total_sent_ = 0, total_received_ = 0;
};

void Peer::on_data(std::span<const std::byte> data) { hub_->on_data(*this, data); }
void Peer::on_eof() { hub_->on_eof(*this); }
void Peer::on_drain() { hub_->on_drain(*this); }
void Peer::on_closed(loop::CloseReason reason, std::error_code ec) { hub_->on_closed(*this, reason, ec); }

// One non-blocking connect on the hub's loop (loop::Connector), run until it is over.
Result<Fd> connect_on(loop::EventLoop& loop, const Address& to, loop::ConnectorOptions co) {
  std::optional<Result<Fd>> got;
  auto c = loop::Connector::start(loop, to, std::move(co), [&got](Result<Fd> r) { got.emplace(std::move(r)); });
  while (!got) loop.run_once(std::chrono::milliseconds(-1));
  return std::move(*got);
}

// Tries each address in turn until one connects; -w bounds them all together.
Result<Fd> connect_tcp(Context& ctx, loop::EventLoop& loop, std::string& label) {
  const Options& o = ctx.opt;
  Deadline deadline = o.wait ? Deadline::after(*o.wait) : Deadline::never();
  ResolveOptions ro;
  ro.family = o.family;
  std::optional<Address> source;
  if (!o.source.empty()) {
    auto s = Resolver::resolve(o.source, o.sport ? std::to_string(*o.sport) : "0", ro);
    if (!s) return std::move(s).error();
    source = s->front();
    ro.family = source->family();  // the target must be of the source's family
  }
  auto addrs = Resolver::resolve(o.host, o.port_text, ro);
  if (!addrs) return std::move(addrs).error();
  Result<Fd> last = Error(make_error_code(errc::no_addresses), "connect " + o.host);
  for (const Address& a : *addrs) {
    loop::ConnectorOptions co;
    co.deadline = deadline;
    co.attempt_timeout = kNoAttemptLimit;  // -w's deadline, else the kernel's own SYN retries
    if (source) {
      co.source = source;
    } else if (o.sport) {
      co.source = a.is_v6() ? Address::ipv6_any(*o.sport) : Address::ipv4_any(*o.sport);
    }
    last = connect_on(loop, a, std::move(co));
    if (last) {
      label = a.to_string();
      return last;
    }
    if (addrs->size() > 1) ctx.log(1, "{}", last.error().message());
    if (deadline.expired()) break;
  }
  return last;
}

Result<TcpListener> listen_tcp(Context& ctx) {
  const Options& o = ctx.opt;
  std::vector<Address> addrs;
  if (o.host.empty()) {
    // Deliberately loopback, not the wildcard: listening on every interface must be asked for
    // (-l 0.0.0.0 PORT or -l :: PORT).
    addrs.push_back(o.family == Family::v6 ? Address::ipv6_loopback(o.port) : Address::ipv4_loopback(o.port));
  } else {
    ResolveOptions ro;
    ro.family = o.family;
    ro.passive = true;
    auto r = Resolver::resolve(o.host, std::to_string(o.port), ro);
    if (!r) return std::move(r).error();
    addrs = std::move(*r);
  }
  auto l = TcpListener::bind(addrs.front());
  if (!l && addrs.size() > 1) ctx.log(1, "{}", l.error().message());
  return l;
}

// The TLS context of --ssl: a listener's certificate (or a temporary self-signed one, as ncat
// makes, its fingerprint on stderr), a client's trust and verification (off unless --ssl-verify
// or --ssl-trustfile, as in ncat).
std::optional<tls::Context> make_tls(Context& ctx) {
  const Options& o = ctx.opt;
  if (!o.ssl) return std::nullopt;
  tls::ContextOptions to;
  to.role = o.listen ? tls::Role::server : tls::Role::client;
  to.cert_file = o.ssl_cert;
  to.key_file = o.ssl_key;
  to.ca_file = o.ssl_trustfile;
  to.verify = o.ssl_verify || !o.ssl_trustfile.empty();
  to.ciphers = o.ssl_ciphers;
  for (std::string_view rest = o.ssl_alpn; !rest.empty();) {
    auto comma = rest.find(',');
    to.alpn.emplace_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (!o.listen || !o.ssl_cert.empty()) {
    auto c = tls::Context::create(to);
    if (!c) ctx.fail(c.error());
    return std::move(*c);
  }
  auto c = tls::Context::self_signed(to, "localhost");
  if (!c) ctx.fail(c.error());
  ctx.log_line("generated a temporary self-signed certificate (CN=localhost); use --ssl-cert and --ssl-key for a permanent one");
  ctx.log_line("SHA-256 fingerprint: " + c->fingerprint());
  return std::move(*c);
}

}  // namespace

int run_stream(Context& ctx) {
  const Options& o = ctx.opt;
  StreamSocket sock;
  std::string label;
  UnlinkGuard unlink_guard;
  std::optional<tls::Context> tls_ctx = make_tls(ctx);
  auto with_tls = [&](StreamHub& hub) {
    if (tls_ctx) hub.use_tls(*tls_ctx, o.ssl_servername.empty() ? o.host : o.ssl_servername);
  };

  if (!o.listen) {
    StreamHub hub(ctx, Fd(), false);
    with_tls(hub);
    if (o.unix_socket) {
      auto addr = Address::unix_path(o.host);
      if (!addr) ctx.fail(std::move(addr).error());
      Deadline d = o.wait ? Deadline::after(*o.wait) : Deadline::never();
      auto s = UnixStream::connect(*addr, d);
      if (!s) ctx.fail(std::move(s).error());
      sock = std::move(*s);
      label = o.host;
    } else {
      auto s = connect_tcp(ctx, hub.event_loop(), label);
      if (!s) ctx.fail(std::move(s).error());
      sock = StreamSocket(std::move(*s));
    }
    ctx.log(1, "connected to {}", label);
    hub.add_peer(std::move(sock), label);
    return hub.run();
  }

  // Listening. The listener is closed after the one accept unless -k.
  Fd listen_fd;
  std::string where;
  if (o.unix_socket) {
    auto addr = Address::unix_path(o.host);
    if (!addr) ctx.fail(std::move(addr).error());
    auto l = UnixListener::bind(*addr);
    if (!l) ctx.fail(std::move(l).error());
    if (o.host.empty() || o.host[0] != '@') unlink_guard.path = o.host;
    where = o.host;
    ctx.log(1, "listening on {}", where);
    if (!o.keep) {
      auto s = l->accept();
      if (!s) ctx.fail(std::move(s).error());
      ctx.log(1, "connection from {}", where);
      l->close();
      StreamHub hub(ctx, Fd(), false);
      hub.add_peer(std::move(*s), where);
      return hub.run();
    }
    listen_fd = l->release();
  } else {
    auto l = listen_tcp(ctx);
    if (!l) ctx.fail(std::move(l).error());
    auto local = l->local_address();
    where = local ? local->to_string() : o.host;
    ctx.log(1, "listening on {}", where);
    if (!o.keep) {
      Address peer;
      auto s = l->accept(Deadline::never(), &peer);
      if (!s) ctx.fail(std::move(s).error());
      l->close();
      std::string plabel = peer.unmapped().to_string();
      ctx.log(1, "connection from {}", plabel);
      StreamHub hub(ctx, Fd(), false);
      with_tls(hub);
      hub.add_peer(std::move(*s), plabel);
      return hub.run();
    }
    listen_fd = l->release();
  }
  if (auto r = set_nonblocking(listen_fd.get()); !r) ctx.fail(std::move(r).error());
  StreamHub hub(ctx, std::move(listen_fd), true);
  with_tls(hub);
  return hub.run();
}

}  // namespace sockit::nc
