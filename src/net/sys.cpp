// The system-call seam and its fault injector (see include/sockit/net/sys.hpp).
#include "sockit/net/sys.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace sockit::sys {
namespace {

struct FaultConfig {
  bool enabled = false;
  double eintr = 0;     // probability that a call fails with EINTR before doing anything
  double short_io = 0;  // probability that a stream read/write is cut to a random shorter length
  double eagain = 0;    // probability of a spurious EAGAIN on a non-blocking call
  double reset = 0;     // probability that a stream read/write fails with ECONNRESET
  double emfile = 0;    // probability that accept4 fails with EMFILE
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
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::string key(item.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1));
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    bool number = !value.empty() && end != nullptr && *end == '\0';
    double* rate = key == "eintr"    ? &cfg.eintr
                   : key == "short"  ? &cfg.short_io
                   : key == "eagain" ? &cfg.eagain
                   : key == "reset"  ? &cfg.reset
                   : key == "emfile" ? &cfg.emfile
                                     : nullptr;
    if (key == "seed" && number && v >= 0) {
      cfg.seed = static_cast<unsigned>(v);
    } else if (rate != nullptr && number && v >= 0 && v <= 1) {
      *rate = v;
    } else {
      std::fprintf(stderr, "sockit: SOCKIT_FAULTS: '%.*s' ignored (want eintr|short|eagain|reset|emfile=0..1 or seed=N)\n",
                   static_cast<int>(item.size()), item.data());
    }
  }
  cfg.enabled = cfg.eintr > 0 || cfg.short_io > 0 || cfg.eagain > 0 || cfg.reset > 0 || cfg.emfile > 0;
  return cfg;
}

const FaultConfig& config() {
  static const FaultConfig cfg = parse_faults();
  return cfg;
}

// Read at load time, so that the fault-free path is one branch on a plain global. A call made
// from another library's static initializer before this one runs sees no faults.
const bool g_faults = config().enabled;

// One generator for the process, behind a mutex: fault runs are for tests, not for speed.
std::mutex g_mu;

double uniform() {
  static std::mt19937 gen(config().seed);
  std::lock_guard lock(g_mu);
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

bool roll(double rate) { return rate > 0 && uniform() < rate; }

// Edge-triggered registrations, so that a descriptor given a spurious EAGAIN or a short
// transfer can be re-armed (EPOLL_CTL_MOD re-reports readiness that is still there).
struct EdgeBook {
  std::mutex mu;
  std::unordered_map<int, std::vector<std::pair<int, epoll_event>>> regs;  // fd -> (epfd, event)
  std::vector<int> owed;
};

EdgeBook& edges() {
  static EdgeBook* book = new EdgeBook;  // never destroyed: used until the last call
  return *book;
}

void owe_wakeup(int fd) {
  EdgeBook& b = edges();
  std::lock_guard lock(b.mu);
  if (b.regs.count(fd) != 0) b.owed.push_back(fd);
}

void note_epoll_ctl(int epfd, int op, int fd, const epoll_event* ev) {
  EdgeBook& b = edges();
  std::lock_guard lock(b.mu);
  auto& list = b.regs[fd];
  std::erase_if(list, [epfd](const auto& r) { return r.first == epfd; });
  if (op != EPOLL_CTL_DEL && ev != nullptr && (ev->events & EPOLLET) != 0) list.emplace_back(epfd, *ev);
  if (list.empty()) b.regs.erase(fd);
}

void forget_fd(int fd) {
  EdgeBook& b = edges();
  std::lock_guard lock(b.mu);
  b.regs.erase(fd);
  std::erase(b.owed, fd);
}

void rearm_owed(int epfd) {
  EdgeBook& b = edges();
  std::lock_guard lock(b.mu);
  std::erase_if(b.owed, [&](int fd) {
    auto it = b.regs.find(fd);
    if (it == b.regs.end()) return true;
    bool mine = false;
    for (auto& [ep, ev] : it->second) {
      if (ep != epfd) continue;
      mine = true;
      epoll_event copy = ev;
      (void)::epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &copy);
    }
    return mine;
  });
}

// SOCK_STREAM, SOCK_DGRAM, ... or -1 when fd is no socket (a pipe, an eventfd, a file).
int socket_type(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ? type : -1;
}

bool stream_socket(int fd) { return socket_type(fd) == SOCK_STREAM; }

// A non-blocking socket: where a spurious EAGAIN is injected (not on pipes, eventfds or files,
// whose callers may rely on data they know is there).
bool nonblocking_socket(int fd, int msg_flags) {
  if (socket_type(fd) < 0) return false;
  if ((msg_flags & MSG_DONTWAIT) != 0) return true;
  int fl = ::fcntl(fd, F_GETFL);
  return fl >= 0 && (fl & O_NONBLOCK) != 0;
}

enum Kind : unsigned { kIntr = 1, kAgain = 2, kReset = 4, kEmfile = 8 };
constexpr unsigned kStreamIo = kIntr | kAgain | kReset;  // reset applies to stream sockets only
constexpr unsigned kDatagramIn = kIntr | kAgain;
// No spurious EAGAIN on a datagram send: a full buffer drops the datagram by design (UDP), so it
// would change what a correct server outputs.
constexpr unsigned kDatagramOut = kIntr;

// Decides whether the call on `fd` fails before doing anything; sets errno when it does.
bool fail_now(unsigned kinds, int fd, int msg_flags = 0) {
  const FaultConfig& c = config();
  if ((kinds & kIntr) != 0 && roll(c.eintr)) {
    errno = EINTR;
    return true;
  }
  if ((kinds & kEmfile) != 0 && roll(c.emfile)) {
    errno = EMFILE;
    return true;
  }
  if ((kinds & kAgain) != 0 && roll(c.eagain) && nonblocking_socket(fd, msg_flags)) {
    owe_wakeup(fd);
    errno = EAGAIN;
    return true;
  }
  if ((kinds & kReset) != 0 && roll(c.reset) && stream_socket(fd)) {
    (void)::shutdown(fd, SHUT_RDWR);
    errno = ECONNRESET;
    return true;
  }
  return false;
}

std::size_t maybe_shorten(int fd, std::size_t len) {
  if (len < 2 || !roll(config().short_io)) return len;
  owe_wakeup(fd);
  return 1 + static_cast<std::size_t>(uniform() * static_cast<double>(len - 1));
}

}  // namespace

bool faults_enabled() noexcept { return g_faults; }

void note_edge_watch(int key, int fd, bool watching) noexcept {
  if (!g_faults) return;
  epoll_event ev{};
  ev.events = EPOLLET;
  note_epoll_ctl(key, watching ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}

void take_owed(int key, std::vector<int>& out) {
  out.clear();
  if (!g_faults) return;
  EdgeBook& b = edges();
  std::lock_guard lock(b.mu);
  std::erase_if(b.owed, [&](int fd) {
    auto it = b.regs.find(fd);
    if (it == b.regs.end()) return true;
    for (auto& reg : it->second) {
      if (reg.first != key) continue;
      out.push_back(fd);
      return true;
    }
    return false;
  });
}

// The fault path of a call: fail it (return -1, errno set) or let it go on.
#define SOCKIT_FAULT(kinds, fd, flags)                                     \
  do {                                                                     \
    if (g_faults) [[unlikely]] {                                           \
      if (fail_now((kinds), (fd), (flags))) return -1;                     \
    }                                                                      \
  } while (0)
// The same for a stream read or write, whose length may also be cut short.
#define SOCKIT_FAULT_STREAM(fd, len, flags)                                \
  do {                                                                     \
    if (g_faults) [[unlikely]] {                                           \
      if (fail_now(kStreamIo, (fd), (flags))) return -1;                   \
      (len) = maybe_shorten((fd), (len));                                  \
    }                                                                      \
  } while (0)

ssize_t read(int fd, void* buf, std::size_t len) noexcept {
  SOCKIT_FAULT_STREAM(fd, len, 0);
  return ::read(fd, buf, len);
}
ssize_t write(int fd, const void* buf, std::size_t len) noexcept {
  SOCKIT_FAULT_STREAM(fd, len, 0);
  return ::write(fd, buf, len);
}
ssize_t readv(int fd, const iovec* iov, int iovcnt) noexcept {
  if (g_faults && iovcnt > 0) [[unlikely]] {
    if (fail_now(kStreamIo, fd)) return -1;
    std::size_t first = maybe_shorten(fd, iov[0].iov_len);
    if (first < iov[0].iov_len) return ::read(fd, iov[0].iov_base, first);
  }
  return ::readv(fd, iov, iovcnt);
}
ssize_t writev(int fd, const iovec* iov, int iovcnt) noexcept {
  if (g_faults && iovcnt > 0) [[unlikely]] {
    if (fail_now(kStreamIo, fd)) return -1;
    std::size_t first = maybe_shorten(fd, iov[0].iov_len);
    if (first < iov[0].iov_len) return ::write(fd, iov[0].iov_base, first);
  }
  return ::writev(fd, iov, iovcnt);
}
ssize_t send(int fd, const void* buf, std::size_t len, int flags) noexcept {
  SOCKIT_FAULT_STREAM(fd, len, flags);
  return ::send(fd, buf, len, flags | MSG_NOSIGNAL);
}
ssize_t recv(int fd, void* buf, std::size_t len, int flags) noexcept {
  SOCKIT_FAULT_STREAM(fd, len, flags);
  return ::recv(fd, buf, len, flags);
}
ssize_t sendmsg(int fd, const msghdr* msg, int flags) noexcept {
  if (g_faults) [[unlikely]] {
    if (fail_now(kStreamIo, fd, flags)) return -1;
    // A stream's first chunk may go alone and short; a datagram (msg_name or not) is never cut.
    if (msg->msg_iovlen > 0 && msg->msg_name == nullptr && stream_socket(fd)) {
      std::size_t first = maybe_shorten(fd, msg->msg_iov[0].iov_len);
      if (first < msg->msg_iov[0].iov_len) return ::send(fd, msg->msg_iov[0].iov_base, first, flags | MSG_NOSIGNAL);
    }
  }
  return ::sendmsg(fd, msg, flags | MSG_NOSIGNAL);
}
ssize_t recvmsg(int fd, msghdr* msg, int flags) noexcept {
  SOCKIT_FAULT(kStreamIo, fd, flags);
  return ::recvmsg(fd, msg, flags);
}
ssize_t sendto(int fd, const void* buf, std::size_t len, int flags, const sockaddr* to, socklen_t tolen) noexcept {
  SOCKIT_FAULT(kDatagramOut, fd, flags);  // datagrams are never shortened: that would change the message
  return ::sendto(fd, buf, len, flags | MSG_NOSIGNAL, to, tolen);
}
ssize_t recvfrom(int fd, void* buf, std::size_t len, int flags, sockaddr* from, socklen_t* fromlen) noexcept {
  SOCKIT_FAULT(kDatagramIn, fd, flags);
  return ::recvfrom(fd, buf, len, flags, from, fromlen);
}
int recvmmsg(int fd, mmsghdr* vec, unsigned vlen, int flags) noexcept {
  SOCKIT_FAULT(kDatagramIn, fd, flags);
  return ::recvmmsg(fd, vec, vlen, flags, nullptr);
}
int sendmmsg(int fd, mmsghdr* vec, unsigned vlen, int flags) noexcept {
  SOCKIT_FAULT(kDatagramOut, fd, flags);
  return ::sendmmsg(fd, vec, vlen, flags | MSG_NOSIGNAL);
}
int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept {
  SOCKIT_FAULT(kIntr | kEmfile | kAgain, fd, 0);
  return ::accept4(fd, addr, len, flags);
}
int connect(int fd, const sockaddr* addr, socklen_t len) noexcept {
  // No injected EINTR here: an interrupted connect continues asynchronously, a retry would see
  // EALREADY; callers handle that path through poll().
  return ::connect(fd, addr, len);
}
int poll(pollfd* fds, nfds_t n, int timeout_ms) noexcept {
  if (g_faults && fail_now(kIntr, -1)) [[unlikely]] {
    for (nfds_t i = 0; i < n; ++i) fds[i].revents = 0;  // as the kernel leaves them on EINTR
    return -1;
  }
  return ::poll(fds, n, timeout_ms);
}
int epoll_wait(int epfd, epoll_event* events, int max_events, int timeout_ms) noexcept {
  if (g_faults) [[unlikely]] {
    rearm_owed(epfd);
    if (fail_now(kIntr, -1)) return -1;
  }
  return ::epoll_wait(epfd, events, max_events, timeout_ms);
}
int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* timeout) noexcept {
  SOCKIT_FAULT(kIntr, -1, 0);
  return ::select(nfds, readfds, writefds, exceptfds, timeout);
}
ssize_t splice(int fd_in, int fd_out, std::size_t len, unsigned flags) noexcept {
  if (g_faults) [[unlikely]] {
    int sock = stream_socket(fd_in) ? fd_in : fd_out;  // the other end is the pipe
    if (fail_now(kStreamIo, sock)) return -1;
    len = maybe_shorten(sock, len);
  }
  return ::splice(fd_in, nullptr, fd_out, nullptr, len, flags);
}
ssize_t read_record(int fd, void* buf, std::size_t len) noexcept { return ::read(fd, buf, len); }
ssize_t write_record(int fd, const void* buf, std::size_t len) noexcept { return ::write(fd, buf, len); }

int socket(int domain, int type, int protocol) noexcept { return ::socket(domain, type, protocol); }
int socketpair(int domain, int type, int protocol, int sv[2]) noexcept {
  return ::socketpair(domain, type, protocol, sv);
}
int bind(int fd, const sockaddr* addr, socklen_t len) noexcept { return ::bind(fd, addr, len); }
int listen(int fd, int backlog) noexcept { return ::listen(fd, backlog); }
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) noexcept {
  return ::setsockopt(fd, level, name, value, len);
}
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) noexcept {
  return ::getsockopt(fd, level, name, value, len);
}
int getsockname(int fd, sockaddr* addr, socklen_t* len) noexcept { return ::getsockname(fd, addr, len); }
int getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept { return ::getpeername(fd, addr, len); }
int shutdown(int fd, int how) noexcept { return ::shutdown(fd, how); }
int close(int fd) noexcept {
  if (g_faults) [[unlikely]] forget_fd(fd);
  return ::close(fd);
}
int fcntl(int fd, int cmd, int arg) noexcept { return ::fcntl(fd, cmd, arg); }
int epoll_create1(int flags) noexcept { return ::epoll_create1(flags); }
int epoll_ctl(int epfd, int op, int fd, epoll_event* event) noexcept {
  if (g_faults) [[unlikely]] note_epoll_ctl(epfd, op, fd, event);
  return ::epoll_ctl(epfd, op, fd, event);
}
int eventfd(unsigned initval, int flags) noexcept { return ::eventfd(initval, flags); }
int signalfd(int fd, const sigset_t* mask, int flags) noexcept { return ::signalfd(fd, mask, flags); }
int pipe2(int fds[2], int flags) noexcept { return ::pipe2(fds, flags); }
pid_t fork() noexcept {
  if (!g_faults) return ::fork();
  // The child must not inherit a fault lock that another thread holds: it would wait forever.
  std::scoped_lock lock(g_mu, edges().mu);
  return ::fork();
}

}  // namespace sockit::sys
