// sockit nc -u: UDP, on one sockit::loop EventLoop (the socket and stdin watched, -i and -q as
// loop timers). There is no end-of-stream in UDP, so the EOF rules differ (docs/NC.md):
// each stdin read is sent as one datagram; stdin EOF sends nothing; with -q TIME the command
// exits TIME after stdin EOF, otherwise it keeps printing datagrams until interrupted or idle.
//   client:    the socket is connect()ed, so an ICMP "port unreachable" is reported
//              ("recv 127.0.0.1:9: Connection refused", exit 1), as ncat does.
//   -l:        the first sender becomes the peer; datagrams from others are ignored (-v notes it).
//   -l -k:     datagrams from anyone are printed; stdin goes to the most recent sender (ncat).
#include "nc/crlf.hpp"
#include "common/exit_codes.hpp"
#include "nc/nc.hpp"

#include <sockit/loop/event_loop.hpp>
#include <sockit/net/sys.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>

#include <sys/socket.h>

namespace sockit::nc {
namespace {

// Largest stdin read sent as one datagram (ncat uses 8 KiB too); larger reads are split.
constexpr std::size_t kDatagram = 8 * 1024;
constexpr std::size_t kRecvBuf = 64 * 1024;

class UdpSession {
 public:
  UdpSession(Context& ctx, UdpSocket sock, std::optional<Address> peer, bool connected)
      : ctx_(ctx), o_(ctx.opt), sock_(std::move(sock)), peer_(std::move(peer)), connected_(connected) {
    if (peer_) label_ = peer_->to_string();
  }

  int run() {
    // poll(): stdin may be a regular file, which epoll refuses.
    auto l = loop::EventLoop::create(loop::Backend::poll);
    if (!l) ctx_.fail(l.error());
    loop_ = std::move(*l);
    auto on_sock = [this](const loop::Ready& r) {
      if (r.readable && receive()) touch();  // an error is reported as readable: recv reports it
      if (r.writable && !pending_.empty() && send_pending()) touch();
      update();
    };
    if (auto r = loop_->watch(sock_.fd(), loop::Interest::read, on_sock); !r) ctx_.fail(r.error());
    if (!o_.recv_only) {
      if (auto r = loop_->watch(0, loop::Interest::none, [this](const loop::Ready&) { on_stdin(); }); !r)
        ctx_.fail(r.error());
      stdin_watched_ = true;
    }
    last_ = loop::Clock::now();
    arm_idle();
    update();
    if (!done_) loop_->run();
    ctx_.summary(sent_, received_);
    return cli::kExitOk;
  }

 private:
  void touch() { last_ = loop_->now(); }

  void on_stdin() {
    read_stdin_chunk();
    if (!pending_.empty() && send_pending()) touch();
    update();
  }

  // The end rules, then what to wait for: the socket's output while datagrams are queued, stdin
  // only when there is a peer and nothing queued.
  void update() {
    if (done_) return;
    if (!stdin_open_ && pending_.empty() && (o_.send_only || (o_.quit && o_.quit->count() == 0))) return stop();
    const auto sock_interest = pending_.empty() ? loop::Interest::read : loop::Interest::read_write;
    if (sock_interest != sock_interest_) {
      if (auto r = loop_->update(sock_.fd(), sock_interest); !r) ctx_.fail(r.error());
      sock_interest_ = sock_interest;
    }
    const bool want_stdin = stdin_watched_ && stdin_open_ && peer_ && pending_.empty();
    if (want_stdin != stdin_reading_) {
      if (auto r = loop_->update(0, want_stdin ? loop::Interest::read : loop::Interest::none); !r) ctx_.fail(r.error());
      stdin_reading_ = want_stdin;
    }
  }

  void stop() {
    done_ = true;
    loop_->stop();
  }

  // -i/-w: lazy (re-armed from the last datagram when it fires, not on every datagram).
  void arm_idle() {
    if (!o_.idle) return;
    loop_->run_at(last_ + std::chrono::duration_cast<loop::Duration>(*o_.idle), [this] {
      if (loop::Clock::now() - last_ < *o_.idle) return arm_idle();
      ctx_.summary(sent_, received_);
      ctx_.fail_message(fmt::format("idle timeout: no data for {}", format_duration(*o_.idle)));
    });
  }

  // Returns true when a datagram was received.
  bool receive() {
    char buf[kRecvBuf];
    Address from;
    socklen_t len = Address::capacity();
    ssize_t r = sys::recvfrom(sock_.fd(), buf, sizeof buf, MSG_DONTWAIT, from.sockaddr_ptr(), &len);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return false;
      fail_io("recv", errno);
    }
    from.set_length(len);
    if (connected_) {
      from = *peer_;
    } else {
      from = from.unmapped();
      if (!peer_) {
        peer_ = from;
        label_ = from.to_string();
        ctx_.log(1, "datagram from {}", label_);
      } else if (from != *peer_) {
        if (!o_.keep) {
          if (ignored_.insert(from).second) ctx_.log(1, "ignoring datagram from {} (peer is {})", from.to_string(), label_);
          return false;
        }
        peer_ = from;
        label_ = from.to_string();
        if (seen_.insert(from).second) ctx_.log(1, "datagram from {}", label_);
      }
      seen_.insert(from);
    }
    auto n = static_cast<std::size_t>(r);
    ctx_.dump.dump(Direction::received, label_, {reinterpret_cast<const std::byte*>(buf), n}, received_);
    received_ += n;
    if (!o_.send_only) ctx_.write_stdout(buf, n);
    return true;
  }

  void read_stdin_chunk() {
    char buf[kDatagram];
    long r = read_stdin(ctx_, buf, sizeof buf);
    if (r < 0) return;
    if (r == 0) {
      stdin_open_ = false;
      ctx_.log(2, "stdin EOF (UDP: nothing is sent)");
      if (o_.quit && o_.quit->count() > 0) {
        loop_->run_after(*o_.quit, [this] {
          ctx_.log(2, "-q time after stdin EOF passed, exiting");
          stop();
        });
      }
      return;
    }
    std::string_view in(buf, static_cast<std::size_t>(r));
    if (o_.crlf) {
      std::string converted;
      crlf_.encode(in, converted);
      pending_.push_back(std::move(converted));
    } else {
      pending_.emplace_back(in);
    }
  }

  // Sends queued datagrams; returns true when at least one went out.
  bool send_pending() {
    bool any = false;
    while (!pending_.empty()) {
      std::string_view d = pending_.front();
      if (d.size() > kDatagram) d = d.substr(0, kDatagram);  // -C may have grown it
      ssize_t w = connected_ ? sys::send(sock_.fd(), d.data(), d.size(), MSG_DONTWAIT)
                             : sys::sendto(sock_.fd(), d.data(), d.size(), MSG_DONTWAIT, peer_->sockaddr_ptr(),
                                           peer_->length());
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) break;
        fail_io("send", errno);
      }
      ctx_.dump.dump(Direction::sent, label_, {reinterpret_cast<const std::byte*>(d.data()), d.size()}, sent_);
      sent_ += d.size();
      any = true;
      if (d.size() < pending_.front().size()) {
        pending_.front().erase(0, d.size());
      } else {
        pending_.erase(pending_.begin());
      }
    }
    return any;
  }

  [[noreturn]] void fail_io(std::string_view what, int err) {
    ctx_.summary(sent_, received_);
    ctx_.fail(fmt::format("{} {}", what, label_.empty() ? std::string("(udp)") : label_), err);
  }

  Context& ctx_;
  const Options& o_;
  UdpSocket sock_;
  std::optional<Address> peer_;
  bool connected_;
  std::string label_;
  std::vector<std::string> pending_;
  std::set<Address> seen_, ignored_;
  bool stdin_open_ = true, stdin_watched_ = false, stdin_reading_ = false, done_ = false;
  loop::Interest sock_interest_ = loop::Interest::read;
  loop::TimePoint last_{};  // the last datagram either way (-i)
  CrlfEncoder crlf_;
  std::uint64_t sent_ = 0, received_ = 0;
  std::unique_ptr<loop::EventLoop> loop_;  // first to go: it watches sock_ and stdin
};

}  // namespace

int run_udp(Context& ctx) {
  const Options& o = ctx.opt;
  ResolveOptions ro;
  ro.family = o.family;
  ro.type = SocketType::datagram;

  if (o.listen) {
    Address local;
    if (o.host.empty()) {
      local = o.family == Family::v6 ? Address::ipv6_loopback(o.port) : Address::ipv4_loopback(o.port);
    } else {
      ro.passive = true;
      auto r = Resolver::resolve(o.host, std::to_string(o.port), ro);
      if (!r) ctx.fail(std::move(r).error());
      local = r->front();
    }
    auto s = UdpSocket::bind(local);
    if (!s) ctx.fail(std::move(s).error());
    auto bound = s->local_address();
    ctx.log(1, "listening on {} (udp)", bound ? bound->to_string() : local.to_string());
    UdpSession session(ctx, std::move(*s), std::nullopt, false);
    return session.run();
  }

  std::optional<Address> source;
  if (!o.source.empty()) {
    auto s = Resolver::resolve(o.source, o.sport ? std::to_string(*o.sport) : "0", ro);
    if (!s) ctx.fail(std::move(s).error());
    source = s->front();
    ro.family = source->family();
  }
  auto addrs = Resolver::resolve(o.host, o.port_text, ro);
  if (!addrs) ctx.fail(std::move(addrs).error());
  const Address& peer = addrs->front();
  if (!source && o.sport) source = peer.is_v6() ? Address::ipv6_any(*o.sport) : Address::ipv4_any(*o.sport);
  auto s = source ? UdpSocket::bind(*source) : UdpSocket::open(peer.family());
  if (!s) ctx.fail(std::move(s).error());
  if (auto r = s->connect(peer); !r) ctx.fail(std::move(r).error());
  ctx.log(1, "sending to {} (udp)", peer.to_string());
  UdpSession session(ctx, std::move(*s), peer, true);
  return session.run();
}

}  // namespace sockit::nc
