// Public header. Fd: move-only owner of a file descriptor; closes it in its destructor.
#pragma once

#include <utility>

namespace sockit {

class Fd {
 public:
  Fd() noexcept = default;
  /// Takes ownership of `fd` (-1 means empty).
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  /// Gives up ownership without closing; returns the descriptor.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the current descriptor (if any) and owns `fd` instead. close() is not retried on
  /// EINTR: on Linux the descriptor is released whatever close() returns.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace sockit
