// UdpServer: recvmmsg/sendmmsg batches, or a plain recvfrom/sendto loop (batch 1), on an EventLoop
// thread.
#include "sockit/serve/udp_server.hpp"

#include "sockit/loop/event_loop.hpp"
#include "sockit/net/io.hpp"
#include "sockit/net/udp.hpp"
#include "sockit/net/sys.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

namespace sockit::serve {
namespace {

// Counters of one readiness event, published to the shared atomics once at its end.
struct Tally {
  std::uint64_t received = 0, sent = 0, dropped = 0, truncated = 0, bytes_in = 0, bytes_out = 0, errors = 0,
                recv_calls = 0, send_calls = 0, coalesced = 0, refused = 0, limited = 0;
};

constexpr std::array<std::uint16_t, 17> kReflectorPorts{7,   9,   13,  17,   19,   37,   53,   123,  137,
                                                        161, 389, 514, 1900, 3702, 5353, 5683, 11211};

// Per-source reply budgets: a token bucket per source address in a fixed, direct-mapped table.
// A source that hashes onto a slot held by another one takes it over if that one's bucket is full
// again (idle long enough), and shares its budget otherwise: spoofing many sources can neither
// grow the table nor refill a flooder's bucket.
class SourceBudgets {
 public:
  static constexpr std::size_t kSlots = 4096;
  SourceBudgets(double rate, double burst, bool loopback)
      : rate_(rate), burst_(burst > 0 ? burst : rate), loopback_(loopback), slots_(kSlots) {}

  // True when `from` may get one more reply at `now_ns` (and takes the token).
  bool admit(const sockaddr_storage& from, std::int64_t now_ns) {
    Key k{};
    if (from.ss_family == AF_INET) {
      const auto& a = reinterpret_cast<const sockaddr_in&>(from);
      std::memcpy(k.bytes.data(), &a.sin_addr, 4);
      k.family = AF_INET;
      if (!loopback_ && k.bytes[0] == 127) return true;
    } else if (from.ss_family == AF_INET6) {
      const auto& a = reinterpret_cast<const sockaddr_in6&>(from);
      std::memcpy(k.bytes.data(), &a.sin6_addr, 16);
      k.family = AF_INET6;
      if (!loopback_ && (IN6_IS_ADDR_LOOPBACK(&a.sin6_addr) || (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr) && k.bytes[12] == 127))) {
        return true;
      }
    } else {
      return true;
    }
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (std::uint8_t b : k.bytes) h = (h ^ b) * 1099511628211ULL;
    Slot& s = slots_[(h ^ (h >> 32)) % kSlots];
    refill(s, now_ns);
    if (!s.used || (!(s.key == k) && s.tokens >= burst_)) {
      s.used = true;
      s.key = k;
      s.tokens = burst_;
      s.last_ns = now_ns;
    }
    if (s.tokens < 1) return false;
    s.tokens -= 1;
    return true;
  }

 private:
  struct Key {
    std::array<std::uint8_t, 16> bytes{};
    int family = 0;
    bool operator==(const Key&) const = default;
  };
  struct Slot {
    Key key;
    bool used = false;
    double tokens = 0;
    std::int64_t last_ns = 0;
  };
  void refill(Slot& s, std::int64_t now_ns) const {
    if (!s.used || now_ns <= s.last_ns) return;
    s.tokens = std::min(burst_, s.tokens + rate_ * static_cast<double>(now_ns - s.last_ns) * 1e-9);
    s.last_ns = now_ns;
  }
  double rate_, burst_;
  bool loopback_;
  std::vector<Slot> slots_;
};

std::uint16_t source_port(const sockaddr_storage& from) {
  if (from.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(from).sin_port);
  if (from.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(from).sin6_port);
  return 1024;  // not an IP source (cannot be forged into a reflection)
}

// A receive error that only means "nothing (more) to read now".
bool benign_recv_error(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNREFUSED; }
// A send error that means "the socket buffer is full": the reply is dropped, as UDP does.
bool buffer_full(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS; }

}  // namespace

std::span<const std::uint16_t> udp_reflector_ports() noexcept { return kReflectorPorts; }

bool udp_source_port_refused(std::uint16_t port, bool allow_low_ports) noexcept {
  if (port == 0 || (port < 1024 && !allow_low_ports)) return true;
  return std::find(kReflectorPorts.begin(), kReflectorPorts.end(), port) != kReflectorPorts.end();
}

std::optional<std::string> udp_exposure_warning(const Address& bind) {
  if (!bind.is_ip() || bind.is_loopback()) return std::nullopt;
  return "warning: UDP on " + bind.to_string() +
         " is reachable from the network; a UDP service answers forged sources, so it can be used to reflect "
         "traffic at a third party (replies are limited per source; see docs/RELIABILITY.md)";
}

class UdpServer::Impl {
 public:
  static constexpr std::size_t kMaxDatagram = 65536;

  // The buffers are left uninitialised: each slot reserves 64 KiB of address space, but only the
  // pages the kernel or the handler write are ever touched.
  Impl(Fd fd, Address local, DatagramHandler handler, std::unique_ptr<loop::EventLoop> loop,
       const UdpServerOptions& opts)
      : fd_(std::move(fd)), local_(local), handler_(std::move(handler)), loop_(std::move(loop)), batch_(opts.batch),
        in_(std::make_unique_for_overwrite<std::byte[]>(batch_ * kMaxDatagram)),
        out_(std::make_unique_for_overwrite<std::byte[]>(batch_ * kMaxDatagram)), gso_(opts.gso && batch_ > 1),
        allow_low_ports_(opts.allow_low_ports) {
    if (opts.rate > 0) budgets_ = std::make_unique<SourceBudgets>(opts.rate, opts.burst, opts.rate_loopback);
    if (batch_ > 1) {
      msgs_.resize(batch_);
      iov_.resize(batch_);
      from_.resize(batch_);
      replies_.resize(batch_);
      out_iov_.resize(batch_);
      gso_msgs_.resize(batch_);
      gso_iov_.resize(batch_);
      ctrl_.resize(batch_);
      segs_.resize(batch_);
      taken_.resize(batch_);
      single_.resize(batch_);
      seg_size_.resize(batch_);
      for (std::size_t i = 0; i < batch_; ++i) {
        iov_[i] = iovec{in_.get() + i * kMaxDatagram, kMaxDatagram};
        msgs_[i].msg_hdr.msg_iov = &iov_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
        msgs_[i].msg_hdr.msg_name = &from_[i];
        msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        replies_[i].msg_hdr.msg_iov = &out_iov_[i];
        replies_[i].msg_hdr.msg_iovlen = 1;
      }
    }
  }

  ~Impl() {
    stop();
    wait();
    loop_->unwatch(fd_.get());
  }

  Result<void> start() {
    if (started_.exchange(true)) return Error(errc::invalid_argument, "udp server: already started");
    if (auto r = loop_->watch(fd_.get(), loop::Interest::read, [this](const loop::Ready&) { on_readable(); }); !r) {
      return r;
    }
    thread_ = std::thread([this] { loop_->run(); });
    return {};
  }
  void stop() { loop_->stop(); }
  void wait() {
    if (thread_.joinable()) thread_.join();
  }

  // Whether the datagram from `from` gets a reply: not from a refused source port, and within
  // its source's budget.
  bool admit(const sockaddr_storage& from, Tally& t) {
    if (udp_source_port_refused(source_port(from), allow_low_ports_)) {
      ++t.refused;
      return false;
    }
    if (budgets_) {
      if (now_ns_ == 0) {
        now_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
      }
      if (!budgets_->admit(from, now_ns_)) {
        ++t.limited;
        return false;
      }
    }
    return true;
  }

  void on_readable() {
    Tally t;
    now_ns_ = 0;  // read once per readiness event, when a budget first needs it
    if (batch_ == 1) {
      serve_plain(t);
    } else {
      serve_batched(t);
    }
    wakeups_.fetch_add(1, std::memory_order_relaxed);
    received_.fetch_add(t.received, std::memory_order_relaxed);
    sent_.fetch_add(t.sent, std::memory_order_relaxed);
    dropped_.fetch_add(t.dropped, std::memory_order_relaxed);
    truncated_.fetch_add(t.truncated, std::memory_order_relaxed);
    bytes_in_.fetch_add(t.bytes_in, std::memory_order_relaxed);
    bytes_out_.fetch_add(t.bytes_out, std::memory_order_relaxed);
    errors_.fetch_add(t.errors, std::memory_order_relaxed);
    recv_calls_.fetch_add(t.recv_calls, std::memory_order_relaxed);
    send_calls_.fetch_add(t.send_calls, std::memory_order_relaxed);
    coalesced_.fetch_add(t.coalesced, std::memory_order_relaxed);
    refused_.fetch_add(t.refused, std::memory_order_relaxed);
    limited_.fetch_add(t.limited, std::memory_order_relaxed);
  }

  // The plain loop: one recvfrom() per datagram until EAGAIN (or the budget), one sendto() per
  // reply; a reply the kernel refuses is dropped and counted, and reading goes on.
  void serve_plain(Tally& t) {
    std::byte* in = in_.get();
    std::byte* out = out_.get();
    for (std::size_t done = 0; done < kReadBudget;) {
      sockaddr_storage from;
      socklen_t from_len = sizeof from;
      ++t.recv_calls;
      // MSG_TRUNC: the return value is the datagram's real length, so a cut one is counted.
      ssize_t n = sys::recvfrom(fd_.get(), in, kMaxDatagram, MSG_DONTWAIT | MSG_TRUNC, reinterpret_cast<sockaddr*>(&from),
                             &from_len);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (!benign_recv_error(errno)) ++t.errors;
        return;
      }
      ++done;
      auto real = static_cast<std::size_t>(n);
      std::size_t len = std::min(real, kMaxDatagram);
      ++t.received;
      t.bytes_in += len;
      if (real > kMaxDatagram) ++t.truncated;
      if (!admit(from, t)) continue;
      Address peer(reinterpret_cast<const sockaddr*>(&from), from_len);
      auto size = handler_(std::span<const std::byte>(in, len), peer, std::span<std::byte>(out, kMaxDatagram));
      if (!size) continue;
      for (;;) {
        ++t.send_calls;
        ssize_t k = sys::sendto(fd_.get(), out, *size, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&from), from_len);
        if (k >= 0) {
          ++t.sent;
          t.bytes_out += static_cast<std::size_t>(k);
          break;
        }
        if (errno == EINTR) continue;
        // Full buffer: dropped. Anything else (EMSGSIZE, unreachable...): dropped and an error.
        ++t.dropped;
        if (!buffer_full(errno)) ++t.errors;
        break;
      }
    }
  }

  // Batches: recvmmsg of up to batch_ datagrams (whatever is queued: MSG_DONTWAIT), then every
  // reply of that batch in sendmmsg calls; again until a short batch (drained) or the budget.
  void serve_batched(Tally& t) {
    const std::size_t rounds = std::max<std::size_t>(1, kReadBudget / batch_);
    for (std::size_t round = 0; round < rounds; ++round) {
      // The kernel rewrote msg_namelen of the slots it filled last time.
      for (std::size_t i = 0; i < last_n_; ++i) msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      last_n_ = 0;
      ++t.recv_calls;
      int n = sys::recvmmsg(fd_.get(), msgs_.data(), static_cast<unsigned>(batch_), MSG_DONTWAIT);
      if (n < 0) {
        if (!benign_recv_error(errno)) ++t.errors;
        return;
      }
      last_n_ = static_cast<std::size_t>(n);
      std::size_t m = 0;
      for (std::size_t i = 0; i < last_n_; ++i) {
        std::size_t len = msgs_[i].msg_len;
        ++t.received;
        t.bytes_in += len;
        if ((msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) ++t.truncated;
        if (!admit(from_[i], t)) continue;
        Address peer(reinterpret_cast<const sockaddr*>(&from_[i]), msgs_[i].msg_hdr.msg_namelen);
        std::span<const std::byte> req(in_.get() + i * kMaxDatagram, len);
        std::span<std::byte> rep(out_.get() + m * kMaxDatagram, kMaxDatagram);
        auto size = handler_(req, peer, rep);
        if (!size) continue;
        out_iov_[m] = iovec{rep.data(), *size};
        replies_[m].msg_hdr.msg_name = &from_[i];
        replies_[m].msg_hdr.msg_namelen = msgs_[i].msg_hdr.msg_namelen;
        ++m;
      }
      if (gso_.load(std::memory_order_relaxed)) {
        send_coalesced(t, m);
        if (last_n_ < batch_) return;
        continue;
      }
      std::size_t sent = 0;
      while (sent < m) {
        ++t.send_calls;
        int k = sys::sendmmsg(fd_.get(), replies_.data() + sent, static_cast<unsigned>(m - sent), MSG_DONTWAIT);
        if (k < 0) {
          if (errno == EINTR) continue;
          if (buffer_full(errno)) {
            t.dropped += m - sent;
            break;
          }
          // This datagram cannot be sent (EMSGSIZE, unreachable...): count it and go on.
          ++t.errors;
          ++t.dropped;
          ++sent;
          continue;
        }
        for (std::size_t j = 0; j < static_cast<std::size_t>(k); ++j) {
          ++t.sent;
          t.bytes_out += replies_[sent + j].msg_len;
        }
        sent += static_cast<std::size_t>(k);
      }
      if (last_n_ < batch_) return;
    }
  }

  bool same_peer(std::size_t a, std::size_t b) const {
    const msghdr& x = replies_[a].msg_hdr;
    const msghdr& y = replies_[b].msg_hdr;
    return x.msg_namelen == y.msg_namelen && std::memcmp(x.msg_name, y.msg_name, x.msg_namelen) == 0;
  }

  // UDP GSO: replies to one peer, in their order, of one size (the last may be shorter) go out as
  // one message with UDP_SEGMENT; the kernel routes and builds it once and cuts it into ordinary
  // datagrams. A peer's replies keep their order: a reply that cannot join its peer's group ends
  // the group. Cost: up to m*m/2 address comparisons per batch (m <= batch_).
  void send_coalesced(Tally& t, std::size_t m) {
    static constexpr std::size_t kMaxSegments = 64;  // UDP_MAX_SEGMENTS is 64 on older kernels
    static constexpr std::size_t kMaxTotal = 65000;  // under the 64 KiB datagram limit, v4 and v6
    std::fill(taken_.begin(), taken_.begin() + static_cast<std::ptrdiff_t>(m), char{0});
    std::size_t g = 0, iv = 0;
    for (std::size_t j = 0; j < m; ++j) {
      if (taken_[j] != 0) continue;
      taken_[j] = 1;
      msghdr& h = gso_msgs_[g].msg_hdr;
      h.msg_name = replies_[j].msg_hdr.msg_name;
      h.msg_namelen = replies_[j].msg_hdr.msg_namelen;
      h.msg_iov = &gso_iov_[iv];
      gso_iov_[iv++] = out_iov_[j];
      std::size_t seg = out_iov_[j].iov_len, segs = 1, total = seg;
      if (seg > 0 && seg <= gso_max_seg_) {
        for (std::size_t k = j + 1; k < m && segs < kMaxSegments; ++k) {
          if (taken_[k] != 0 || !same_peer(j, k)) continue;
          std::size_t len = out_iov_[k].iov_len;
          if (len == 0 || len > seg || total + len > kMaxTotal) break;  // keeps this peer's order
          taken_[k] = 1;
          gso_iov_[iv++] = out_iov_[k];
          ++segs;
          total += len;
          if (len < seg) break;  // only the last segment may be shorter
        }
      }
      h.msg_iovlen = segs;
      if (segs > 1) {
        h.msg_control = ctrl_[g].data();
        h.msg_controllen = CMSG_SPACE(sizeof(std::uint16_t));
        cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
        auto gs = static_cast<std::uint16_t>(seg);
        std::memcpy(CMSG_DATA(c), &gs, sizeof gs);
      } else {
        h.msg_control = nullptr;
        h.msg_controllen = 0;
      }
      segs_[g] = segs;
      seg_size_[g] = seg;
      ++g;
    }
    std::size_t sent = 0;
    while (sent < g) {
      ++t.send_calls;
      int k = sys::sendmmsg(fd_.get(), gso_msgs_.data() + sent, static_cast<unsigned>(g - sent), MSG_DONTWAIT);
      if (k < 0) {
        if (errno == EINTR) continue;
        if (buffer_full(errno)) {
          for (std::size_t x = sent; x < g; ++x) t.dropped += segs_[x];
          break;
        }
        if (segs_[sent] > 1 && gso_refused(errno)) {
          // The route or the kernel refuses GSO (gso size over the path MTU: EINVAL; no checksum
          // offload: EIO; no UDP GSO at all: ENOPROTOOPT...): these datagrams go one by one, and
          // unless it was about this message's size, GSO is off for this socket.
          // Sizes from this one up are not coalesced any more (one failed call, not one per batch).
          if (errno != EINVAL && errno != EMSGSIZE) {
            gso_.store(false, std::memory_order_relaxed);
          } else {
            gso_max_seg_ = std::min(gso_max_seg_, seg_size_[sent] - 1);
          }
          send_one_by_one(t, gso_msgs_[sent].msg_hdr);
          ++sent;
          continue;
        }
        ++t.errors;
        t.dropped += segs_[sent];
        ++sent;
        continue;
      }
      for (std::size_t x = sent; x < sent + static_cast<std::size_t>(k); ++x) {
        t.sent += segs_[x];
        if (segs_[x] > 1) t.coalesced += segs_[x];
        t.bytes_out += gso_msgs_[x].msg_len;
      }
      sent += static_cast<std::size_t>(k);
    }
  }

  static bool gso_refused(int e) {
    return e == EINVAL || e == EMSGSIZE || e == EIO || e == EOPNOTSUPP || e == ENOPROTOOPT;
  }

  // Sends the segments of a refused GSO message as separate datagrams (sendmmsg, no control data).
  void send_one_by_one(Tally& t, const msghdr& h) {
    std::size_t n = h.msg_iovlen, done = 0;
    for (std::size_t i = 0; i < n; ++i) {
      msghdr& one = single_[i].msg_hdr;
      one = msghdr{};
      one.msg_name = h.msg_name;
      one.msg_namelen = h.msg_namelen;
      one.msg_iov = &h.msg_iov[i];
      one.msg_iovlen = 1;
    }
    while (done < n) {
      ++t.send_calls;
      int k = sys::sendmmsg(fd_.get(), single_.data() + done, static_cast<unsigned>(n - done), MSG_DONTWAIT);
      if (k < 0) {
        if (errno == EINTR) continue;
        if (buffer_full(errno)) {
          t.dropped += n - done;
          return;
        }
        ++t.errors;
        ++t.dropped;
        ++done;
        continue;
      }
      for (std::size_t x = done; x < done + static_cast<std::size_t>(k); ++x) {
        ++t.sent;
        t.bytes_out += single_[x].msg_len;
      }
      done += static_cast<std::size_t>(k);
    }
  }

  UdpStats stats() const {
    UdpStats s;
    s.received = received_.load();
    s.sent = sent_.load();
    s.dropped = dropped_.load();
    s.truncated = truncated_.load();
    s.bytes_in = bytes_in_.load();
    s.bytes_out = bytes_out_.load();
    s.errors = errors_.load();
    s.wakeups = wakeups_.load();
    s.recv_calls = recv_calls_.load();
    s.send_calls = send_calls_.load();
    s.coalesced = coalesced_.load();
    s.refused = refused_.load();
    s.limited = limited_.load();
    return s;
  }

  Fd fd_;
  Address local_;
  DatagramHandler handler_;
  std::unique_ptr<loop::EventLoop> loop_;
  const std::size_t batch_;
  std::unique_ptr<std::byte[]> in_;   // batch_ slots of kMaxDatagram
  std::unique_ptr<std::byte[]> out_;  // batch_ slots of kMaxDatagram
  // Batched path only (batch_ > 1): headers built once; replies_ point into from_ and out_.
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_storage> from_;
  std::vector<mmsghdr> replies_;
  std::vector<iovec> out_iov_;
  std::size_t last_n_ = 0;  // slots filled by the last recvmmsg
  std::atomic<bool> gso_;  // written by the loop thread only (off after a refusal); read by gso()
  std::vector<mmsghdr> gso_msgs_;
  std::vector<mmsghdr> single_;  // send_one_by_one()
  std::vector<std::size_t> seg_size_;
  std::size_t gso_max_seg_ = kMaxDatagram;  // lowered when a route refuses a GSO size
  std::vector<iovec> gso_iov_;
  std::vector<std::array<char, CMSG_SPACE(sizeof(std::uint16_t))>> ctrl_;
  std::vector<std::size_t> segs_;
  std::vector<char> taken_;
  const bool allow_low_ports_;
  std::unique_ptr<SourceBudgets> budgets_;  // only with a rate
  std::int64_t now_ns_ = 0;                 // steady clock of this readiness event (0: not read yet)
  std::thread thread_;
  std::atomic<bool> started_{false};
  std::atomic<std::uint64_t> received_{0}, sent_{0}, dropped_{0}, truncated_{0}, bytes_in_{0}, bytes_out_{0},
      errors_{0}, wakeups_{0}, recv_calls_{0}, send_calls_{0}, coalesced_{0}, refused_{0}, limited_{0};
};

Result<std::unique_ptr<UdpServer>> UdpServer::create(const Address& bind, DatagramHandler handler,
                                                     loop::Backend backend, UdpServerOptions options) {
  if (!handler) return Error(errc::invalid_argument, "udp server: no handler");
  if (options.rate < 0 || options.burst < 0) return Error(errc::invalid_argument, "udp server: negative rate or burst");
  if (options.batch < 1 || options.batch > kMaxBatch) {
    return Error(errc::invalid_argument, "udp server: batch must be between 1 and " + std::to_string(kMaxBatch));
  }
  auto sock = UdpSocket::bind(bind);
  if (!sock) return std::move(sock).error();
  auto local = sock->local_address();
  if (!local) return std::move(local).error();
  Fd fd = sock->release();
  if (auto r = set_nonblocking(fd.get()); !r) return std::move(r).error();
  int big = 4 << 20;  // absorb bursts; the kernel caps it at rmem_max
  (void)sys::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  (void)sys::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  auto loop = loop::EventLoop::create(backend);
  if (!loop) return std::move(loop).error();
  return std::unique_ptr<UdpServer>(
      new UdpServer(std::make_unique<Impl>(std::move(fd), *local, std::move(handler), std::move(*loop), options)));
}

UdpServer::UdpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UdpServer::~UdpServer() = default;
Result<void> UdpServer::start() { return impl_->start(); }
void UdpServer::stop() { impl_->stop(); }
void UdpServer::wait() { impl_->wait(); }
const Address& UdpServer::local_address() const { return impl_->local_; }
UdpStats UdpServer::stats() const { return impl_->stats(); }
std::size_t UdpServer::batch() const { return impl_->batch_; }
bool UdpServer::gso() const { return impl_->gso_.load(std::memory_order_relaxed); }

}  // namespace sockit::serve
