// A test-only loop::Transport that re-frames the byte stream: it reads the socket in chunks of
// pseudo-random size (fixed seed per connection) into a buffer of its own and hands the caller
// pieces of another random size (merging two socket reads into one piece, or cutting one into
// several: decoded input held inside the transport, pending_input()); and it takes the caller's
// writes into an output buffer of its own (merging writes, and the entries of a writev, into
// one), which it sends in chunks of random size until the socket is full (output held inside the
// transport, pending_output(), wants() write, flush()). Its shutdown_write waits for that output,
// as a TLS close_notify would. So it drives every path of the transport contract that a TLS or
// WebSocket layer will: short reads that do not mean "drained", input ready with the socket
// silent, output the caller no longer holds, and a FIN that has to wait for it.
#pragma once

#include "slice_transport.hpp"

#include "sockit/loop/transport.hpp"
#include "sockit/net/sys.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include <sys/socket.h>

namespace sockit::test {

class ReframeTransport final : public loop::Transport {
 public:
  /// Output held beyond this makes write() say EAGAIN until flush() sent some.
  static constexpr std::size_t kOutputCap = 64 << 10;

  ReframeTransport(std::uint32_t seed, TransportCounters& counters) : rng_(seed), counters_(&counters) {}

  ssize_t read(int fd, std::span<std::byte> buf) noexcept override {
    if (buf.empty()) return 0;
    const std::size_t target = std::min(buf.size(), chunk());
    // Top up to the target piece from the socket (a second read merges two socket chunks).
    for (int i = 0; i < 2 && in_.size() - in_at_ < target && !eof_ && read_error_ == 0; ++i) {
      ssize_t n = recv_chunk(fd);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) read_error_ = errno;  // after what is held
      if (n < 0 && in_.size() == in_at_ && read_error_ == 0) return -1;  // EAGAIN, nothing held
      if (n <= 0) break;
    }
    const std::size_t held = in_.size() - in_at_;
    if (held == 0 && read_error_ != 0) {
      errno = std::exchange(read_error_, 0);
      return -1;
    }
    if (held == 0) return 0;  // eof_ and everything handed out
    const std::size_t k = std::min(target, held);
    std::memcpy(buf.data(), in_.data() + in_at_, k);
    in_at_ += k;
    if (in_at_ == in_.size()) {
      in_.clear();
      in_at_ = 0;
    }
    return static_cast<ssize_t>(k);
  }

  ssize_t write(int fd, std::span<const std::byte> bytes) noexcept override {
    iovec one{const_cast<std::byte*>(bytes.data()), bytes.size()};
    return writev(fd, &one, 1);
  }

  ssize_t writev(int fd, const iovec* iov, int n) noexcept override {
    if (error_ != 0) {
      errno = error_;
      return -1;
    }
    if (pending_output() >= kOutputCap && flush(fd) < 0 && errno != EAGAIN) return -1;
    if (pending_output() >= kOutputCap) {
      errno = EAGAIN;
      return -1;
    }
    // Take a random share of the gather list (across entry boundaries), up to the cap.
    std::size_t total = 0;
    for (int i = 0; i < n; ++i) total += iov[i].iov_len;
    const std::size_t take = std::min({total, kOutputCap - pending_output(), std::max<std::size_t>(chunk(), 1)});
    std::size_t left = take;
    for (int i = 0; i < n && left > 0; ++i) {
      const auto* p = static_cast<const std::byte*>(iov[i].iov_base);
      std::size_t k = std::min(left, iov[i].iov_len);
      out_.insert(out_.end(), p, p + k);
      left -= k;
    }
    if (flush(fd) < 0 && errno != EAGAIN) error_ = errno;  // reported by the next call
    return static_cast<ssize_t>(take);
  }

  ssize_t flush(int fd) noexcept override {
    std::size_t sent = 0;
    while (out_at_ < out_.size()) {
      const std::size_t k = std::min(out_.size() - out_at_, chunk());
      ssize_t n = sys::send(fd, out_.data() + out_at_, k, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return -1;
      }
      out_at_ += static_cast<std::size_t>(n);
      sent += static_cast<std::size_t>(n);
      counters_->bytes_written.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    }
    if (out_at_ == out_.size()) {
      out_.clear();
      out_at_ = 0;
      if (fin_wanted_ && !fin_sent_) {
        fin_sent_ = true;
        counters_->shutdowns.fetch_add(1, std::memory_order_relaxed);
        if (::shutdown(fd, SHUT_WR) < 0) return -1;
      }
    }
    if (sent == 0 && pending_output() > 0) {
      errno = EAGAIN;
      return -1;
    }
    return static_cast<ssize_t>(sent);
  }

  int shutdown_write(int fd) noexcept override {
    fin_wanted_ = true;  // the FIN follows the output still held (flush sends it)
    ssize_t n = flush(fd);
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK ? -1 : 0;
  }

  loop::Want wants() const noexcept override { return pending_output() > 0 ? loop::Want::write : loop::Want::none; }
  std::size_t pending_input() const noexcept override { return in_.size() - in_at_; }
  std::size_t pending_output() const noexcept override { return out_.size() - out_at_; }

  /// A factory for ServerOptions::transport: connection k gets seed `seed + k`.
  static auto factory(std::uint32_t seed, TransportCounters& counters) {
    return [seed, &counters]() -> std::unique_ptr<loop::Transport> {
      auto k = counters.transports.fetch_add(1, std::memory_order_relaxed);
      return std::make_unique<ReframeTransport>(seed + static_cast<std::uint32_t>(k), counters);
    };
  }

 private:
  /// A chunk size, log-uniform in 1..8 KiB (many small pieces, some large ones).
  std::size_t chunk() noexcept {
    std::uint32_t bits = rng_() % 14;
    return 1 + rng_() % (std::uint32_t{1} << bits);
  }

  /// One socket read of a random size appended to the input held: > 0, 0 (EOF), -1 (errno).
  ssize_t recv_chunk(int fd) noexcept {
    const std::size_t k = chunk();
    const std::size_t at = in_.size();
    in_.resize(at + k);
    ssize_t n;
    do {
      n = sys::recv(fd, in_.data() + at, k, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    in_.resize(at + (n > 0 ? static_cast<std::size_t>(n) : 0));
    if (n > 0) counters_->bytes_read.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    if (n == 0) eof_ = true;
    return n;
  }

  std::minstd_rand rng_;
  TransportCounters* counters_;
  std::vector<std::byte> in_;
  std::size_t in_at_ = 0;
  bool eof_ = false;
  int read_error_ = 0;  // a socket error met while input was held: reported once that is read
  std::vector<std::byte> out_;
  std::size_t out_at_ = 0;
  int error_ = 0;
  bool fin_wanted_ = false;
  bool fin_sent_ = false;
};

}  // namespace sockit::test
