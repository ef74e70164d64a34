// NETLINK_SOCK_DIAG transport of `sockit ss`: one request, then recv() until NLMSG_DONE.
#include "netlink.hpp"

#include "sockit/net/fd.hpp"

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

namespace sockit::ss {
namespace {

Error sys_fail(const std::string& what) { return Error(std::error_code(errno, std::system_category()), what); }

class DiagSocket {
 public:
  static Result<DiagSocket> open() {
    int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return sys_fail("socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
    DiagSocket s;
    s.fd_ = Fd(fd);
    return s;
  }

  Result<void> dump(const std::vector<std::uint8_t>& request, Netid inet_netid, const Query& q,
                    const std::function<void(Socket&&)>& on_socket) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ssize_t n = ::sendto(fd_.get(), request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                         sizeof kernel);
    if (n < 0) return sys_fail("sendto(sock_diag)");
    for (;;) {
      pollfd p{fd_.get(), POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(q.timeout.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return sys_fail("poll(sock_diag)");
      if (r == 0) return Error(std::make_error_code(std::errc::timed_out), "sock_diag: no answer from the kernel");
      n = ::recv(fd_.get(), buf_.get(), kBufSize, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_fail("recv(sock_diag)");
      auto data = std::span<const std::uint8_t>(buf_.get(), static_cast<std::size_t>(n));
      if (q.raw_dump) std::fwrite(data.data(), 1, data.size(), q.raw_dump);
      auto st = decode_datagram(data, inet_netid, on_socket);
      if (!st) return std::move(st).error();
      if (*st == DumpStatus::done) return {};
    }
  }

 private:
  Fd fd_;
  // The kernel sends dump replies in skbs of up to 32 KiB (more with large pages); 64 KiB fits.
  // Not zero-filled: only the pages the kernel writes to are ever touched.
  static constexpr std::size_t kBufSize = 64 * 1024;
  std::unique_ptr<std::uint8_t[]> buf_ = std::make_unique_for_overwrite<std::uint8_t[]>(kBufSize);
};

}  // namespace

Result<std::vector<Socket>> query_sockets(const Query& q) {
  std::vector<Socket> out;
  auto r = for_each_socket(q, [&out](Socket&& s) { out.push_back(std::move(s)); });
  if (!r) return std::move(r).error();
  return out;
}

Result<void> for_each_socket(const Query& q, const std::function<void(Socket&&)>& on_socket) {
  auto sock = DiagSocket::open();
  if (!sock) return std::move(sock).error();
  std::uint32_t seq = 1;
  if (q.unix_sockets) {
    auto r = sock->dump(build_unix_request(q.states, q.unix_memory, seq++), Netid::tcp, q, on_socket);
    if (!r) return std::move(r).error();
  }
  struct Table {
    bool on;
    std::uint8_t protocol;
    Netid netid;
  };
  for (Table t : {Table{q.udp, IPPROTO_UDP, Netid::udp}, Table{q.tcp, IPPROTO_TCP, Netid::tcp}}) {
    if (!t.on) continue;
    for (std::uint8_t family : {std::uint8_t{AF_INET}, std::uint8_t{AF_INET6}}) {
      if ((family == AF_INET && !q.ipv4) || (family == AF_INET6 && !q.ipv6)) continue;
      auto r = sock->dump(build_inet_request(family, t.protocol, q.states, q.ext, seq++), t.netid, q, on_socket);
      if (!r) {
        // A kernel without IPv6 (or without udp_diag) answers ENOENT: that table is just empty.
        if (r.error().code() == std::errc::no_such_file_or_directory) continue;
        return std::move(r).error();
      }
    }
  }
  return {};
}

}  // namespace sockit::ss
