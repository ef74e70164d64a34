// sockit nc over stream sockets (TCP and Unix-domain): connect, listen for one client, and
// listen -k (many concurrent clients, stdin broadcast to all of them, their data to stdout).
//
// One single-threaded poll() loop (StreamHub) serves every case. Per peer it tracks the two
// directions of the conversation separately, which is what the EOF matrix in docs/NC.md is about:
//   to peer:   stdin data -> peer; at stdin EOF (and once the queue is flushed) FIN, unless
//              --no-shutdown / --recv-only.
//   from peer: peer data -> stdout, until the peer's FIN (or forever-discarded with --send-only).
// A conversation is over when both directions are. Without -k that ends the command.
#include "nc/crlf.hpp"
#include "common/command.hpp"
#include "nc/nc.hpp"

#include <sockit/net/sys.hpp>

#include <cerrno>
#include <cstring>
#include <list>
#include <memory>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sockit::nc {
namespace {

constexpr std::size_t kChunk = 64 * 1024;
// A -k client that stops reading is dropped once this much broadcast data waits for it.
constexpr std::size_t kMaxClientBacklog = 8 * 1024 * 1024;

struct Peer {
  StreamSocket sock;
  std::string label;            // "127.0.0.1:54321" or the Unix path
  std::string out;              // broadcast bytes not yet sent
  std::size_t out_off = 0;
  bool fin_received = false;    // the peer half-closed: nothing more will arrive
  bool fin_sent = false;        // we half-closed (or, with --no-shutdown, decided to send no more)
  bool hung_up = false;         // POLLHUP seen while not reading: the socket is dead
  std::uint64_t sent = 0, received = 0;
  Deadline idle = Deadline::never();

  std::size_t pending() const { return out.size() - out_off; }
};

// Unlinks a Unix socket path we created, on every exit path.
struct UnlinkGuard {
  std::string path;
  ~UnlinkGuard() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

class StreamHub {
 public:
  StreamHub(Context& ctx, int listen_fd, bool keep) : ctx_(ctx), o_(ctx.opt), listen_fd_(listen_fd), keep_(keep) {}

  void add_peer(StreamSocket sock, std::string label) {
    auto p = std::make_unique<Peer>();
    p->sock = std::move(sock);
    p->label = std::move(label);
    p->idle = idle_deadline();
    // A client that arrives after stdin ended gets FIN on the next advance(): nothing will ever
    // be sent to it.
    peers_.push_back(std::move(p));
  }

  // Runs until the (single) conversation is over, or forever with -k. Returns the exit status.
  int run() {
    std::vector<pollfd> fds;
    std::vector<Peer*> fd_peer;
    for (;;) {
      advance();
      if (!keep_ && peers_.empty()) return finish();
      if (!keep_ && quit_at_ && quit_at_->expired()) {
        ctx_.log(2, "-q time after stdin EOF passed, exiting");
        return finish();
      }

      fds.clear();
      fd_peer.clear();
      bool want_stdin = stdin_open_ && !o_.recv_only && !peers_.empty();
      for (auto& p : peers_) {
        if (p->pending() > (keep_ ? kChunk : 0)) want_stdin = false;
      }
      int stdin_idx = -1, listen_idx = -1;
      if (want_stdin) {
        stdin_idx = static_cast<int>(fds.size());
        fds.push_back({0, POLLIN, 0});
      }
      if (listen_fd_ >= 0 && accept_paused_until_.expired()) {
        listen_idx = static_cast<int>(fds.size());
        fds.push_back({listen_fd_, POLLIN, 0});
      }
      std::size_t peer_base = fds.size();
      for (auto& p : peers_) {
        short ev = 0;
        if (!p->fin_received) ev |= POLLIN;
        if (p->pending() > 0) ev |= POLLOUT;
        // A hung-up socket with nothing to send would report POLLHUP forever: leave it out.
        int fd = (ev == 0 && p->hung_up) ? -1 : p->sock.fd();
        fds.push_back({fd, ev, 0});
        fd_peer.push_back(p.get());
      }

      Deadline next = quit_at_.value_or(Deadline::never());
      if (listen_fd_ >= 0 && !accept_paused_until_.expired()) next = Deadline::earliest(next, accept_paused_until_);
      for (auto& p : peers_) next = Deadline::earliest(next, p->idle);
      int n = sys::poll(fds.data(), fds.size(), next.poll_timeout_ms());
      if (n < 0) {
        if (errno == EINTR) continue;
        ctx_.fail("poll", errno);
      }

      auto now = Deadline::Clock::now();
      for (std::size_t i = 0; i < fd_peer.size(); ++i) {
        Peer* p = fd_peer[i];
        short re = fds[peer_base + i].revents;
        if (re != 0) service_peer(*p, re);
        if (!p->sock.is_open()) continue;
        if (p->idle.expired(now)) {
          drop_or_fail(*p, fmt::format("idle timeout: no data for {}", format_duration(*o_.idle)));
        }
      }
      if (stdin_idx >= 0 && fds[static_cast<std::size_t>(stdin_idx)].revents != 0) read_stdin_chunk();
      if (listen_idx >= 0 && fds[static_cast<std::size_t>(listen_idx)].revents != 0) accept_client();
      std::erase_if(peers_, [](const std::unique_ptr<Peer>& p) { return !p->sock.is_open(); });
    }
  }

 private:
  Deadline idle_deadline() const { return o_.idle ? Deadline::after(*o_.idle) : Deadline::never(); }

  // Applies the EOF rules: FIN once stdin is over and the queue is empty; ends finished peers.
  void advance() {
    for (auto& p : peers_) {
      if (!p->sock.is_open()) continue;
      bool nothing_more = o_.recv_only || (!stdin_open_ && p->pending() == 0);
      if (nothing_more && !p->fin_sent) {
        p->fin_sent = true;
        if (!o_.no_shutdown && !o_.recv_only) {
          if (auto r = p->sock.shutdown_write(); !r && !p->hung_up) {
            drop_or_fail(*p, fmt::format("shutdown {}: {}", p->label, r.error().code().message()));
            continue;
          }
          ctx_.log(2, "stdin EOF: sent FIN to {}", p->label);
        }
        if (!keep_ && !o_.recv_only && o_.quit && !quit_at_) quit_at_ = Deadline::after(*o_.quit);
      }
      bool receive_done = p->fin_received || o_.send_only;
      if (p->fin_sent && receive_done) {
        ctx_.log(keep_ ? 1 : 2, "connection with {} done ({} bytes sent, {} received)", p->label, p->sent,
                 p->received);
        close_peer(*p);
      }
    }
    std::erase_if(peers_, [](const std::unique_ptr<Peer>& p) { return !p->sock.is_open(); });
  }

  // Closes gracefully: unread input would make close() send RST and could destroy data still in
  // flight to the peer, so drain what is readable first (printing it unless --send-only).
  void close_peer(Peer& p) {
    char buf[kChunk];
    for (int i = 0; i < 64 && !p.fin_received; ++i) {
      ssize_t r = sys::recv(p.sock.fd(), buf, sizeof buf, MSG_DONTWAIT);
      if (r <= 0) break;
      deliver(p, buf, static_cast<std::size_t>(r));
    }
    total_sent_ += p.sent;
    total_received_ += p.received;
    p.sock.close();
  }

  int finish() {
    for (auto& p : peers_) {
      if (p->sock.is_open()) close_peer(*p);
    }
    ctx_.summary(total_sent_, total_received_);
    return cli::kExitOk;
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
    p.sock.close();
  }

  void deliver(Peer& p, const char* data, std::size_t n) {
    ctx_.dump.dump(Direction::received, p.label, {reinterpret_cast<const std::byte*>(data), n}, p.received);
    p.received += n;
    if (!o_.send_only) ctx_.write_stdout(data, n);
  }

  void service_peer(Peer& p, short re) {
    if ((re & (POLLIN | POLLHUP | POLLERR)) && !p.fin_received) {
      char buf[kChunk];
      ssize_t r = sys::recv(p.sock.fd(), buf, sizeof buf, 0);
      if (r > 0) {
        p.idle = idle_deadline();
        deliver(p, buf, static_cast<std::size_t>(r));
      } else if (r == 0) {
        p.fin_received = true;
        ctx_.log(2, "{} closed its side (FIN received)", p.label);
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        drop_or_fail(p, fmt::format("read {}: {}", p.label, std::strerror(errno)));
        return;
      }
    } else if ((re & (POLLHUP | POLLERR)) && !(re & POLLOUT)) {
      // Not reading (FIN already seen): the socket went away under us. Report a pending error
      // now; otherwise remember it, the next send reports EPIPE.
      std::error_code ec = p.sock.pending_error();
      if (ec) {
        drop_or_fail(p, fmt::format("send {}: {}", p.label, ec.message()));
        return;
      }
      p.hung_up = true;
    }
    if ((re & (POLLOUT | POLLERR | POLLHUP)) && p.pending() > 0) flush_peer(p);
  }

  void flush_peer(Peer& p) {
    while (p.pending() > 0) {
      const char* data = p.out.data() + p.out_off;
      ssize_t w = sys::send(p.sock.fd(), data, p.pending(), 0);
      if (w > 0) {
        auto n = static_cast<std::size_t>(w);
        ctx_.dump.dump(Direction::sent, p.label, {reinterpret_cast<const std::byte*>(data), n}, p.sent);
        p.sent += n;
        p.out_off += n;
        p.idle = idle_deadline();
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      drop_or_fail(p, fmt::format("send {}: {}", p.label, std::strerror(w < 0 ? errno : EIO)));
      return;
    }
    if (p.pending() == 0) {
      p.out.clear();
      p.out_off = 0;
    }
  }

  void read_stdin_chunk() {
    char buf[kChunk];
    long r = read_stdin(ctx_, buf, sizeof buf);
    if (r < 0) return;
    if (r == 0) {
      stdin_open_ = false;
      ctx_.log(2, "stdin EOF");
      return;
    }
    std::string_view in(buf, static_cast<std::size_t>(r));
    std::string converted;
    if (o_.crlf) {
      crlf_.encode(in, converted);
      in = converted;
    }
    for (auto& p : peers_) {
      if (!p->sock.is_open() || p->fin_sent) continue;
      p->out.append(in);
      flush_peer(*p);
      if (keep_ && p->sock.is_open() && p->pending() > kMaxClientBacklog) {
        drop_or_fail(*p, fmt::format("not reading ({} bytes queued)", p->pending()));
      }
    }
  }

  void accept_client() {
    Address peer;
    socklen_t len = Address::capacity();
    int fd = sys::accept4(listen_fd_, peer.sockaddr_ptr(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        ctx_.log(1, "accept: {}; pausing accepts for 100ms", std::strerror(errno));
        accept_paused_until_ = Deadline::after(std::chrono::milliseconds(100));
      }
      return;  // EAGAIN, ECONNABORTED, ...: nothing to do
    }
    peer.set_length(len);
    std::string label = peer.is_unix() || peer.family() == Family::unspec ? o_.host : peer.unmapped().to_string();
    ctx_.log(1, "connection from {}", label);
    add_peer(StreamSocket(Fd(fd)), std::move(label));
  }

  Context& ctx_;
  const Options& o_;
  int listen_fd_;
  bool keep_;
  std::list<std::unique_ptr<Peer>> peers_;
  bool stdin_open_ = true;
  std::optional<Deadline> quit_at_;
  Deadline accept_paused_until_ = Deadline::after(std::chrono::nanoseconds(0));
  CrlfEncoder crlf_;
  std::uint64_t total_sent_ = 0, total_received_ = 0;
};

Result<TcpStream> connect_tcp(Context& ctx, std::string& label) {
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
  Result<TcpStream> last = Error(make_error_code(errc::no_addresses), "connect " + o.host);
  for (const Address& a : *addrs) {
    ConnectOptions co;
    if (source) {
      co.source = source;
    } else if (o.sport) {
      co.source = a.is_v6() ? Address::ipv6_any(*o.sport) : Address::ipv4_any(*o.sport);
    }
    last = TcpStream::connect(a, deadline, co);
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

}  // namespace

int run_stream(Context& ctx) {
  const Options& o = ctx.opt;
  StreamSocket sock;
  std::string label;
  UnlinkGuard unlink_guard;

  if (!o.listen) {
    if (o.unix_socket) {
      auto addr = Address::unix_path(o.host);
      if (!addr) ctx.fail(std::move(addr).error());
      Deadline d = o.wait ? Deadline::after(*o.wait) : Deadline::never();
      auto s = UnixStream::connect(*addr, d);
      if (!s) ctx.fail(std::move(s).error());
      sock = std::move(*s);
      label = o.host;
    } else {
      auto s = connect_tcp(ctx, label);
      if (!s) ctx.fail(std::move(s).error());
      sock = std::move(*s);
    }
    ctx.log(1, "connected to {}", label);
    StreamHub hub(ctx, -1, false);
    hub.add_peer(std::move(sock), label);
    return hub.run();
  }

  // Listening. The listener is closed after the one accept unless -k.
  Fd listen_fd;
  std::string where;
  UnixListener unix_listener;
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
      StreamHub hub(ctx, -1, false);
      hub.add_peer(std::move(*s), where);
      return hub.run();
    }
    unix_listener = std::move(*l);
    if (auto r = set_nonblocking(unix_listener.fd()); !r) ctx.fail(std::move(r).error());
    StreamHub hub(ctx, unix_listener.fd(), true);
    return hub.run();
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
      StreamHub hub(ctx, -1, false);
      hub.add_peer(std::move(*s), plabel);
      return hub.run();
    }
    listen_fd = l->release();
  }
  if (auto r = set_nonblocking(listen_fd.get()); !r) ctx.fail(std::move(r).error());
  StreamHub hub(ctx, listen_fd.get(), true);
  return hub.run();
}

}  // namespace sockit::nc
