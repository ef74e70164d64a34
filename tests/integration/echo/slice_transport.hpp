// A test-only loop::Transport: every read and every write moves at most `slice` bytes (1 by
// default), through the sockit::sys seam. It proves that a model reads and writes only through
// its transport and copes with a transport that cuts I/O on its own boundaries (short reads that
// do not mean "drained", short writes that do not mean "full"), as TLS records and WebSocket
// frames will. Counts its calls so a test can check the bytes really went through it.
#pragma once

#include "sockit/loop/transport.hpp"
#include "sockit/net/sys.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>

#include <sys/socket.h>

namespace sockit::test {

/// What a test transport saw (shared by every connection of one server).
struct TransportCounters {
  std::atomic<std::uint64_t> transports{0};  // made by the factory
  std::atomic<std::uint64_t> bytes_read{0};
  std::atomic<std::uint64_t> bytes_written{0};
  std::atomic<std::uint64_t> shutdowns{0};
};

class SliceTransport final : public loop::Transport {
 public:
  SliceTransport(std::size_t slice, TransportCounters& counters) : slice_(slice), counters_(&counters) {}

  ssize_t read(int fd, std::span<std::byte> buf) noexcept override {
    ssize_t n;
    do {
      n = sys::recv(fd, buf.data(), std::min(buf.size(), slice_), 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) counters_->bytes_read.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    return n;
  }
  ssize_t write(int fd, std::span<const std::byte> bytes) noexcept override {
    ssize_t n;
    do {
      n = sys::send(fd, bytes.data(), std::min(bytes.size(), slice_), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) counters_->bytes_written.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    return n;
  }
  ssize_t writev(int fd, const iovec* iov, int n) noexcept override {
    for (int i = 0; i < n; ++i) {  // the first non-empty entry, one slice of it
      if (iov[i].iov_len != 0) return write(fd, std::span(static_cast<const std::byte*>(iov[i].iov_base), iov[i].iov_len));
    }
    return 0;
  }
  int shutdown_write(int fd) noexcept override {
    counters_->shutdowns.fetch_add(1, std::memory_order_relaxed);
    return ::shutdown(fd, SHUT_WR);
  }

  /// A factory for ServerOptions::transport.
  static auto factory(std::size_t slice, TransportCounters& counters) {
    return [slice, &counters]() -> std::unique_ptr<loop::Transport> {
      counters.transports.fetch_add(1, std::memory_order_relaxed);
      return std::make_unique<SliceTransport>(slice, counters);
    };
  }

 private:
  std::size_t slice_;
  TransportCounters* counters_;
};

}  // namespace sockit::test
