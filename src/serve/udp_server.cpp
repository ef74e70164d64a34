// UdpServer: recvmmsg/sendmmsg batches on an EventLoop thread.
#include "sockit/serve/udp_server.hpp"

#include "sockit/loop/event_loop.hpp"
#include "sockit/net/io.hpp"
#include "sockit/net/udp.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include <sys/socket.h>

namespace sockit::serve {

class UdpServer::Impl {
 public:
  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kMaxDatagram = 65536;

  Impl(Fd fd, Address local, DatagramHandler handler, std::unique_ptr<loop::EventLoop> loop)
      : fd_(std::move(fd)), local_(local), handler_(std::move(handler)), loop_(std::move(loop)),
        in_(kBatch * kMaxDatagram), out_(kBatch * kMaxDatagram) {}

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

  void on_readable() {
    for (int round = 0; round < 8; ++round) {
      std::array<mmsghdr, kBatch> msgs{};
      std::array<iovec, kBatch> iov{};
      std::array<sockaddr_storage, kBatch> from{};
      for (std::size_t i = 0; i < kBatch; ++i) {
        iov[i] = iovec{in_.data() + i * kMaxDatagram, kMaxDatagram};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      }
      int n = ::recvmmsg(fd_.get(), msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED) ++errors_;
        return;
      }
      std::array<mmsghdr, kBatch> replies{};
      std::array<iovec, kBatch> out_iov{};
      std::size_t m = 0;
      for (int i = 0; i < n; ++i) {
        auto idx = static_cast<std::size_t>(i);
        std::size_t len = msgs[idx].msg_len;
        received_.fetch_add(1, std::memory_order_relaxed);
        bytes_in_.fetch_add(len, std::memory_order_relaxed);
        if ((msgs[idx].msg_hdr.msg_flags & MSG_TRUNC) != 0) truncated_.fetch_add(1, std::memory_order_relaxed);
        Address peer(reinterpret_cast<const sockaddr*>(&from[idx]), msgs[idx].msg_hdr.msg_namelen);
        std::span<const std::byte> req(in_.data() + idx * kMaxDatagram, len);
        std::span<std::byte> rep(out_.data() + m * kMaxDatagram, kMaxDatagram);
        auto size = handler_(req, peer, rep);
        if (!size) continue;
        out_iov[m] = iovec{rep.data(), *size};
        replies[m].msg_hdr.msg_iov = &out_iov[m];
        replies[m].msg_hdr.msg_iovlen = 1;
        replies[m].msg_hdr.msg_name = &from[idx];
        replies[m].msg_hdr.msg_namelen = msgs[idx].msg_hdr.msg_namelen;
        ++m;
      }
      std::size_t sent = 0;
      while (sent < m) {
        int k = ::sendmmsg(fd_.get(), replies.data() + sent, static_cast<unsigned>(m - sent), MSG_DONTWAIT);
        if (k < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
            dropped_.fetch_add(m - sent, std::memory_order_relaxed);
            break;
          }
          // This datagram cannot be sent (EMSGSIZE, unreachable...): count it and go on.
          ++errors_;
          dropped_.fetch_add(1, std::memory_order_relaxed);
          ++sent;
          continue;
        }
        for (int j = 0; j < k; ++j) {
          sent_.fetch_add(1, std::memory_order_relaxed);
          bytes_out_.fetch_add(replies[sent + static_cast<std::size_t>(j)].msg_len, std::memory_order_relaxed);
        }
        sent += static_cast<std::size_t>(k);
      }
      if (static_cast<std::size_t>(n) < kBatch) return;
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
    return s;
  }

  Fd fd_;
  Address local_;
  DatagramHandler handler_;
  std::unique_ptr<loop::EventLoop> loop_;
  std::vector<std::byte> in_;
  std::vector<std::byte> out_;
  std::thread thread_;
  std::atomic<bool> started_{false};
  std::atomic<std::uint64_t> received_{0}, sent_{0}, dropped_{0}, truncated_{0}, bytes_in_{0}, bytes_out_{0},
      errors_{0};
};

Result<std::unique_ptr<UdpServer>> UdpServer::create(const Address& bind, DatagramHandler handler,
                                                     loop::Backend backend) {
  if (!handler) return Error(errc::invalid_argument, "udp server: no handler");
  auto sock = UdpSocket::bind(bind);
  if (!sock) return std::move(sock).error();
  auto local = sock->local_address();
  if (!local) return std::move(local).error();
  Fd fd = sock->release();
  if (auto r = set_nonblocking(fd.get()); !r) return std::move(r).error();
  int big = 4 << 20;  // absorb bursts; the kernel caps it at rmem_max
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  auto loop = loop::EventLoop::create(backend);
  if (!loop) return std::move(loop).error();
  return std::unique_ptr<UdpServer>(
      new UdpServer(std::make_unique<Impl>(std::move(fd), *local, std::move(handler), std::move(*loop))));
}

UdpServer::UdpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UdpServer::~UdpServer() = default;
Result<void> UdpServer::start() { return impl_->start(); }
void UdpServer::stop() { impl_->stop(); }
void UdpServer::wait() { impl_->wait(); }
const Address& UdpServer::local_address() const { return impl_->local_; }
UdpStats UdpServer::stats() const { return impl_->stats(); }

}  // namespace sockit::serve
