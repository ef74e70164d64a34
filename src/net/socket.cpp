#include "sockit/net/socket.hpp"

#include "sockit/net/io.hpp"
#include "sockit/net/resolver.hpp"
#include "sockit/net/sys.hpp"

#include <cerrno>
#include <cstring>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace sockit {
namespace {

std::error_code timed_out() { return std::make_error_code(std::errc::timed_out); }

Result<Fd> open_socket(int family, int type) {
  int fd = sys::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, "socket");
  return Fd(fd);
}

template <class T>
Result<void> set_opt(int fd, int level, int name, T value, const char* what) {
  if (sys::setsockopt(fd, level, name, &value, sizeof value) < 0) return fail_errno(errno, what);
  return {};
}

template <class T>
Result<T> get_opt(int fd, int level, int name, const char* what) {
  T value{};
  socklen_t len = sizeof value;
  if (sys::getsockopt(fd, level, name, &value, &len) < 0) return fail_errno(errno, what);
  return value;
}

Result<Address> sock_name(int fd, bool peer) {
  Address a;
  socklen_t len = Address::capacity();
  int rc = peer ? sys::getpeername(fd, a.sockaddr_ptr(), &len) : sys::getsockname(fd, a.sockaddr_ptr(), &len);
  if (rc < 0) return fail_errno(errno, peer ? "getpeername" : "getsockname");
  a.set_length(len);
  return a;
}

// Non-blocking connect of an already created socket, waiting until `deadline`.
Result<void> connect_fd(int fd, const Address& addr, Deadline deadline) {
  std::string what = "connect " + addr.to_string();
  int rc = sys::connect(fd, addr.sockaddr_ptr(), addr.length());
  if (rc == 0) return {};
  if (errno != EINPROGRESS && errno != EINTR && errno != EAGAIN) return fail_errno(errno, what);
  if (auto w = wait_for(fd, Wait::writable, deadline); !w) {
    if (w.error() == std::errc::timed_out) return Error(timed_out(), what);
    return w.error().with_context(what);
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (sys::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return fail_errno(errno, what);
  if (err != 0) return fail_errno(err, what);
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// StreamSocket

StreamSocket::StreamSocket(Fd fd) : fd_(std::move(fd)) {
  if (fd_.valid()) (void)set_nonblocking(fd_.get(), true);
}

Result<std::size_t> StreamSocket::read_some(Bytes buf, Deadline deadline) {
  if (buf.empty()) return std::size_t{0};
  for (;;) {
    ssize_t n = sys::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno(errno, "read");
    if (auto w = wait_for(fd_.get(), Wait::readable, deadline); !w) return w.error().with_context("read");
  }
}

Result<void> StreamSocket::read_exact(Bytes buf, Deadline deadline) {
  std::size_t done = 0;
  while (done < buf.size()) {
    auto n = read_some(buf.subspan(done), deadline);
    if (!n) return std::move(n).error();
    if (*n == 0)
      return Error(errc::unexpected_eof,
                   "read: got " + std::to_string(done) + " of " + std::to_string(buf.size()) + " bytes");
    done += *n;
  }
  return {};
}

Result<std::size_t> StreamSocket::write_some(ConstBytes buf, Deadline deadline) {
  if (buf.empty()) return std::size_t{0};
  for (;;) {
    ssize_t n = sys::send(fd_.get(), buf.data(), buf.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno(errno, "write");
    if (auto w = wait_for(fd_.get(), Wait::writable, deadline); !w) return w.error().with_context("write");
  }
}

Result<void> StreamSocket::write_all(ConstBytes buf, Deadline deadline) {
  std::size_t done = 0;
  while (done < buf.size()) {
    auto n = write_some(buf.subspan(done), deadline);
    if (!n) return std::move(n).error();
    done += *n;
  }
  return {};
}

Result<void> StreamSocket::shutdown_write() {
  if (sys::shutdown(fd_.get(), SHUT_WR) < 0) return fail_errno(errno, "shutdown");
  return {};
}

Result<void> StreamSocket::shutdown_read() {
  if (sys::shutdown(fd_.get(), SHUT_RD) < 0) return fail_errno(errno, "shutdown");
  return {};
}

Result<Address> StreamSocket::local_address() const { return sock_name(fd_.get(), false); }
Result<Address> StreamSocket::peer_address() const { return sock_name(fd_.get(), true); }

std::error_code StreamSocket::pending_error() const {
  auto e = get_opt<int>(fd_.get(), SOL_SOCKET, SO_ERROR, "getsockopt(SO_ERROR)");
  if (!e) return e.error().code();
  return *e ? sys_error(*e) : std::error_code{};
}

Result<void> StreamSocket::set_send_buffer(int bytes) {
  return set_opt(fd_.get(), SOL_SOCKET, SO_SNDBUF, bytes, "setsockopt(SO_SNDBUF)");
}
Result<void> StreamSocket::set_recv_buffer(int bytes) {
  return set_opt(fd_.get(), SOL_SOCKET, SO_RCVBUF, bytes, "setsockopt(SO_RCVBUF)");
}
Result<int> StreamSocket::send_buffer() const {
  return get_opt<int>(fd_.get(), SOL_SOCKET, SO_SNDBUF, "getsockopt(SO_SNDBUF)");
}
Result<int> StreamSocket::recv_buffer() const {
  return get_opt<int>(fd_.get(), SOL_SOCKET, SO_RCVBUF, "getsockopt(SO_RCVBUF)");
}

// ---------------------------------------------------------------------------------------------
// TcpStream

Result<void> bind_source(int fd, const Address& source, const Address& to) {
  if (source.family() != to.family())
    return Error(errc::invalid_address, "source " + source.to_string() + " and " + to.to_string() + " differ in family");
  int one = 1;
  sys::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (sys::bind(fd, source.sockaddr_ptr(), source.length()) < 0) return fail_errno(errno, "bind " + source.to_string());
  return {};
}

Result<TcpStream> TcpStream::connect(const Address& addr, Deadline deadline, const ConnectOptions& opts) {
  if (!addr.is_ip()) return Error(errc::invalid_address, "connect " + addr.to_string() + " (not an IP address)");
  auto fd = open_socket(addr.sockaddr_ptr()->sa_family, SOCK_STREAM);
  if (!fd) return std::move(fd).error();
  if (opts.source) {
    if (auto b = bind_source(fd->get(), *opts.source, addr); !b) return std::move(b).error();
  }
  if (auto c = connect_fd(fd->get(), addr, deadline); !c) return std::move(c).error();
  return TcpStream(std::move(*fd));
}

Result<TcpStream> TcpStream::connect(std::span<const Address> addrs, Deadline deadline, const ConnectOptions& opts) {
  if (addrs.empty()) return Error(errc::no_addresses, "connect");
  Error last;
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    if (opts.source && opts.source->family() != addrs[i].family()) continue;
    Deadline attempt = deadline;
    if (opts.per_attempt && i + 1 < addrs.size()) attempt = Deadline::earliest(deadline, Deadline::after(*opts.per_attempt));
    auto s = connect(addrs[i], attempt, opts);
    if (s) return s;
    last = std::move(s).error();
    if (deadline.expired()) break;
  }
  if (!last.code()) return Error(errc::no_addresses, "connect (no address of the source's family)");
  return last;
}

Result<TcpStream> TcpStream::connect(std::string_view host, std::string_view service, Deadline deadline,
                                     Family family, const ConnectOptions& opts) {
  ResolveOptions ro;
  ro.family = family;
  auto addrs = Resolver::resolve(host, service, ro);
  if (!addrs) return std::move(addrs).error();
  return connect(std::span<const Address>(*addrs), deadline, opts);
}

Result<void> TcpStream::set_nodelay(bool on) {
  return set_opt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "setsockopt(TCP_NODELAY)");
}

Result<bool> TcpStream::nodelay() const {
  auto v = get_opt<int>(fd_.get(), IPPROTO_TCP, TCP_NODELAY, "getsockopt(TCP_NODELAY)");
  if (!v) return std::move(v).error();
  return *v != 0;
}

Result<void> TcpStream::set_keepalive(std::optional<KeepAlive> ka) {
  if (auto r = set_opt(fd_.get(), SOL_SOCKET, SO_KEEPALIVE, ka ? 1 : 0, "setsockopt(SO_KEEPALIVE)"); !r) return r;
  if (!ka) return {};
  if (auto r = set_opt(fd_.get(), IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(ka->idle.count()), "setsockopt(TCP_KEEPIDLE)"); !r)
    return r;
  if (auto r = set_opt(fd_.get(), IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(ka->interval.count()), "setsockopt(TCP_KEEPINTVL)"); !r)
    return r;
  return set_opt(fd_.get(), IPPROTO_TCP, TCP_KEEPCNT, ka->count, "setsockopt(TCP_KEEPCNT)");
}

Result<void> TcpStream::set_linger(std::optional<std::chrono::seconds> linger) {
  ::linger l{};
  l.l_onoff = linger ? 1 : 0;
  l.l_linger = linger ? static_cast<int>(linger->count()) : 0;
  return set_opt(fd_.get(), SOL_SOCKET, SO_LINGER, l, "setsockopt(SO_LINGER)");
}

void TcpStream::reset() noexcept {
  if (!fd_.valid()) return;
  (void)set_linger(std::chrono::seconds(0));
  fd_.reset();
}

// ---------------------------------------------------------------------------------------------
// TcpListener

Result<TcpListener> TcpListener::bind(const Address& addr, const ListenOptions& opts) {
  std::string what = "listen " + addr.to_string();
  if (!addr.is_ip()) return Error(errc::invalid_address, what + " (not an IP address)");
  auto fd = open_socket(addr.sockaddr_ptr()->sa_family, SOCK_STREAM);
  if (!fd) return std::move(fd).error();
  int one = 1;
  if (opts.reuse_addr && sys::setsockopt(fd->get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    return fail_errno(errno, what + ": SO_REUSEADDR");
  if (opts.reuse_port && sys::setsockopt(fd->get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    return fail_errno(errno, what + ": SO_REUSEPORT");
  if (addr.is_v6() && opts.v6_only) {
    int v = *opts.v6_only ? 1 : 0;
    if (sys::setsockopt(fd->get(), IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v) < 0)
      return fail_errno(errno, what + ": IPV6_V6ONLY");
  }
  if (sys::bind(fd->get(), addr.sockaddr_ptr(), addr.length()) < 0) return fail_errno(errno, "bind " + addr.to_string());
  if (sys::listen(fd->get(), opts.backlog) < 0) return fail_errno(errno, what);
  return TcpListener(std::move(*fd));
}

namespace {
// accept4() with a deadline, for both listener kinds: non-blocking, close-on-exec descriptors.
Result<Fd> accept_fd(int listen_fd, Deadline deadline, Address* peer) {
  for (;;) {
    Address a;
    socklen_t len = Address::capacity();
    int fd = sys::accept4(listen_fd, a.sockaddr_ptr(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      a.set_length(len);
      if (peer) *peer = a;
      return Fd(fd);
    }
    // The connection died between SYN and accept(): not this listener's failure.
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno(errno, "accept");
    if (auto w = wait_for(listen_fd, Wait::readable, deadline); !w) return w.error().with_context("accept");
  }
}
}  // namespace

Result<TcpStream> TcpListener::accept(Deadline deadline, Address* peer) {
  auto fd = accept_fd(fd_.get(), deadline, peer);
  if (!fd) return std::move(fd).error();
  return TcpStream(std::move(*fd));
}

Result<Address> TcpListener::local_address() const { return sock_name(fd_.get(), false); }

// ---------------------------------------------------------------------------------------------
// Unix-domain streams

Result<UnixStream> UnixStream::connect(const Address& addr, Deadline deadline) {
  if (!addr.is_unix()) return Error(errc::invalid_address, "connect " + addr.to_string() + " (not a unix address)");
  auto fd = open_socket(AF_UNIX, SOCK_STREAM);
  if (!fd) return std::move(fd).error();
  if (auto c = connect_fd(fd->get(), addr, deadline); !c) return std::move(c).error();
  return UnixStream(std::move(*fd));
}

Result<std::pair<UnixStream, UnixStream>> UnixStream::pair() {
  int sv[2];
  if (sys::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) return fail_errno(errno, "socketpair");
  return std::pair{UnixStream(Fd(sv[0])), UnixStream(Fd(sv[1]))};
}

Result<UnixListener> UnixListener::bind(const Address& addr, int backlog, bool unlink_stale) {
  std::string what = "listen " + addr.to_string();
  if (!addr.is_unix()) return Error(errc::invalid_address, what + " (not a unix address)");
  auto fd = open_socket(AF_UNIX, SOCK_STREAM);
  if (!fd) return std::move(fd).error();
  if (sys::bind(fd->get(), addr.sockaddr_ptr(), addr.length()) < 0) {
    int err = errno;
    std::string path = addr.ip_string();
    struct stat st{};
    // A socket file nobody answers on is what a crashed server leaves behind: replace it.
    if (err == EADDRINUSE && unlink_stale && !path.empty() && path[0] != '@' && ::stat(path.c_str(), &st) == 0 &&
        S_ISSOCK(st.st_mode) && !UnixStream::connect(addr, Deadline::after(std::chrono::milliseconds(100)))) {
      ::unlink(path.c_str());
      if (sys::bind(fd->get(), addr.sockaddr_ptr(), addr.length()) == 0) err = 0;
      else err = errno;
    }
    if (err != 0) return fail_errno(err, "bind " + addr.to_string());
  }
  if (sys::listen(fd->get(), backlog) < 0) return fail_errno(errno, what);
  return UnixListener(std::move(*fd));
}

Result<UnixStream> UnixListener::accept(Deadline deadline, Address* peer) {
  auto fd = accept_fd(fd_.get(), deadline, peer);
  if (!fd) return std::move(fd).error();
  return UnixStream(std::move(*fd));
}

Result<Address> UnixListener::local_address() const { return sock_name(fd_.get(), false); }

}  // namespace sockit
