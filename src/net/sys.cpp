// The system-call seam and its fault injector (see include/sockit/net/sys.hpp).
#include "sockit/net/sys.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string_view>

#include <unistd.h>

namespace sockit::sys {
namespace {

struct FaultConfig {
  bool enabled = false;
  double eintr = 0;  // probability that a call fails with EINTR before doing anything
  double short_io = 0;  // probability that a read/write is cut to a random shorter length
  unsigned seed = 1;
};

FaultConfig parse_faults() {
  FaultConfig cfg;
  const char* env = std::getenv("SOCKIT_FAULTS");
  if (env == nullptr || *env == '\0') return cfg;
  std::string_view spec(env);
  while (!spec.empty()) {
    auto comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(item.substr(0, eq));
    std::string value(item.substr(eq + 1));
    double v = std::strtod(value.c_str(), nullptr);
    if (key == "eintr") cfg.eintr = v;
    else if (key == "short") cfg.short_io = v;
    else if (key == "seed") cfg.seed = static_cast<unsigned>(v);
  }
  cfg.enabled = cfg.eintr > 0 || cfg.short_io > 0;
  return cfg;
}

const FaultConfig& config() {
  static const FaultConfig cfg = parse_faults();
  return cfg;
}

// One generator for the process, behind a mutex: fault runs are for tests, not for speed.
double uniform() {
  static std::mutex mu;
  static std::mt19937 gen(config().seed);
  std::lock_guard lock(mu);
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

bool inject_eintr() {
  if (!config().enabled || config().eintr <= 0) return false;
  if (uniform() >= config().eintr) return false;
  errno = EINTR;
  return true;
}

std::size_t maybe_shorten(std::size_t len) {
  if (!config().enabled || len < 2 || config().short_io <= 0) return len;
  if (uniform() >= config().short_io) return len;
  return 1 + static_cast<std::size_t>(uniform() * static_cast<double>(len - 1));
}

}  // namespace

bool faults_enabled() noexcept { return config().enabled; }

#define SOCKIT_FAULT_EINTR()                    \
  do {                                          \
    if (config().enabled && inject_eintr()) return -1; \
  } while (0)

ssize_t read(int fd, void* buf, std::size_t len) noexcept {
  SOCKIT_FAULT_EINTR();
  return ::read(fd, buf, maybe_shorten(len));
}
ssize_t write(int fd, const void* buf, std::size_t len) noexcept {
  SOCKIT_FAULT_EINTR();
  return ::write(fd, buf, maybe_shorten(len));
}
ssize_t readv(int fd, const iovec* iov, int iovcnt) noexcept {
  SOCKIT_FAULT_EINTR();
  if (config().enabled && iovcnt > 0) {
    std::size_t first = maybe_shorten(iov[0].iov_len);
    if (first < iov[0].iov_len) return ::read(fd, iov[0].iov_base, first);
  }
  return ::readv(fd, iov, iovcnt);
}
ssize_t writev(int fd, const iovec* iov, int iovcnt) noexcept {
  SOCKIT_FAULT_EINTR();
  if (config().enabled && iovcnt > 0) {
    std::size_t first = maybe_shorten(iov[0].iov_len);
    if (first < iov[0].iov_len) return ::send(fd, iov[0].iov_base, first, MSG_NOSIGNAL);
  }
  return ::writev(fd, iov, iovcnt);
}
ssize_t send(int fd, const void* buf, std::size_t len, int flags) noexcept {
  SOCKIT_FAULT_EINTR();
  return ::send(fd, buf, maybe_shorten(len), flags | MSG_NOSIGNAL);
}
ssize_t recv(int fd, void* buf, std::size_t len, int flags) noexcept {
  SOCKIT_FAULT_EINTR();
  return ::recv(fd, buf, maybe_shorten(len), flags);
}
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  SOCKIT_FAULT_EINTR();
  return ::sendmsg(fd, msg, flags | MSG_NOSIGNAL);
}
ssize_t recvmsg(int fd, msghdr* msg, int flags) noexcept {
  SOCKIT_FAULT_EINTR();
  return ::recvmsg(fd, msg, flags);
}
ssize_t sendto(int fd, const void* buf, std::size_t len, int flags, const sockaddr* to, socklen_t tolen) noexcept {
  SOCKIT_FAULT_EINTR();  // datagrams are never shortened: that would change the message
  return ::sendto(fd, buf, len, flags | MSG_NOSIGNAL, to, tolen);
}
ssize_t recvfrom(int fd, void* buf, std::size_t len, int flags, sockaddr* from, socklen_t* fromlen) noexcept {
  SOCKIT_FAULT_EINTR();
  return ::recvfrom(fd, buf, len, flags, from, fromlen);
}
int recvmmsg(int fd, mmsghdr* vec, unsigned vlen, int flags) noexcept {
  SOCKIT_FAULT_EINTR();
  return ::recvmmsg(fd, vec, vlen, flags, nullptr);
}
int sendmmsg(int fd, mmsghdr* vec, unsigned vlen, int flags) noexcept {
  SOCKIT_FAULT_EINTR();
  return ::sendmmsg(fd, vec, vlen, flags | MSG_NOSIGNAL);
}
int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept {
  SOCKIT_FAULT_EINTR();
  return ::accept4(fd, addr, len, flags);
}
int connect(int fd, const sockaddr* addr, socklen_t len) noexcept {
  // No injected EINTR here: an interrupted connect continues asynchronously, a retry would see
  // EALREADY; callers handle that path through poll().
  return ::connect(fd, addr, len);
}
int poll(pollfd* fds, nfds_t n, int timeout_ms) noexcept {
  SOCKIT_FAULT_EINTR();
  return ::poll(fds, n, timeout_ms);
}

}  // namespace sockit::sys
