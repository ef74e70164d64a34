#include "sockit/net/udp.hpp"

#include "sockit/net/io.hpp"
#include "sockit/net/sys.hpp"

#include <cerrno>

#include <netinet/in.h>
#include <sys/socket.h>

namespace sockit {

Result<UdpSocket> UdpSocket::open(Family family) {
  int fd = sys::socket(static_cast<int>(family), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno(errno, "socket");
  return UdpSocket(Fd(fd));
}

Result<UdpSocket> UdpSocket::bind(const Address& addr, const UdpOptions& opts) {
  std::string what = "bind " + addr.to_string();
  if (!addr.is_ip()) return Error(errc::invalid_address, what + " (not an IP address)");
  auto s = open(addr.family());
  if (!s) return s;
  int one = 1;
  int fd = s->fd();
  if (opts.reuse_addr && sys::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    return fail_errno(errno, what + ": SO_REUSEADDR");
  if (opts.reuse_port && sys::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    return fail_errno(errno, what + ": SO_REUSEPORT");
  if (addr.is_v6() && opts.v6_only) {
    int v = *opts.v6_only ? 1 : 0;
    if (sys::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v) < 0) return fail_errno(errno, what + ": IPV6_V6ONLY");
  }
  if (sys::bind(fd, addr.sockaddr_ptr(), addr.length()) < 0) return fail_errno(errno, what);
  return s;
}

Result<void> UdpSocket::connect(const Address& peer) {
  if (sys::connect(fd_.get(), peer.sockaddr_ptr(), peer.length()) < 0) return fail_errno(errno, "connect " + peer.to_string());
  return {};
}

Result<std::size_t> UdpSocket::send_to(ConstBytes data, const Address& to, Deadline deadline) {
  for (;;) {
    ssize_t n = sys::sendto(fd_.get(), data.data(), data.size(), 0, to.sockaddr_ptr(), to.length());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno(errno, "send to " + to.to_string());
    if (auto w = wait_for(fd_.get(), Wait::writable, deadline); !w) return w.error().with_context("send to " + to.to_string());
  }
}

Result<std::size_t> UdpSocket::send(ConstBytes data, Deadline deadline) {
  for (;;) {
    // sendto with no address (connected mode): the fault seam never shortens a datagram there.
    ssize_t n = sys::sendto(fd_.get(), data.data(), data.size(), 0, nullptr, 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno(errno, "send");
    if (auto w = wait_for(fd_.get(), Wait::writable, deadline); !w) return w.error().with_context("send");
  }
}

Result<Datagram> UdpSocket::recv_from(Bytes buf, Deadline deadline) {
  for (;;) {
    Datagram d;
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_name = d.from.sockaddr_ptr();
    msg.msg_namelen = Address::capacity();
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    // MSG_TRUNC makes recvmsg return the datagram's real length, so truncation is visible.
    ssize_t n = sys::recvmsg(fd_.get(), &msg, MSG_TRUNC);
    if (n >= 0) {
      d.from.set_length(msg.msg_namelen);
      d.wire_size = static_cast<std::size_t>(n);
      d.truncated = (msg.msg_flags & MSG_TRUNC) != 0 || d.wire_size > buf.size();
      d.size = d.truncated ? buf.size() : d.wire_size;
      return d;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno(errno, "recv");
    if (auto w = wait_for(fd_.get(), Wait::readable, deadline); !w) return w.error().with_context("recv");
  }
}

Result<Datagram> UdpSocket::recv(Bytes buf, Deadline deadline) { return recv_from(buf, deadline); }

Result<Address> UdpSocket::local_address() const {
  Address a;
  socklen_t len = Address::capacity();
  if (sys::getsockname(fd_.get(), a.sockaddr_ptr(), &len) < 0) return fail_errno(errno, "getsockname");
  a.set_length(len);
  return a;
}

Result<void> UdpSocket::set_send_buffer(int bytes) {
  if (sys::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) < 0) return fail_errno(errno, "setsockopt(SO_SNDBUF)");
  return {};
}
Result<void> UdpSocket::set_recv_buffer(int bytes) {
  if (sys::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) < 0) return fail_errno(errno, "setsockopt(SO_RCVBUF)");
  return {};
}

}  // namespace sockit
