// Public header. Address: a value type over sockaddr_storage for IPv4, IPv6 and Unix-domain
// socket addresses. Parsing is numeric (no DNS): use Resolver for host names.
//
//   Address::parse("127.0.0.1:7007"), Address::parse("[::1]:6667"), Address::parse("[fe80::1%lo]:80")
//   Address::parse("127.0.0.1:http")   // service names through getservbyname
//   Address::parse("unix:/run/x.sock"), Address::parse("unix:@abstract")
//   to_string() gives the same forms back ("127.0.0.1:7007", "[::1]:6667").
#pragma once

#include "sockit/net/result.hpp"

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace sockit {

enum class Family { unspec = AF_UNSPEC, v4 = AF_INET, v6 = AF_INET6, unix_domain = AF_UNIX };

class Address {
 public:
  /// An empty address (family unspec); mostly a placeholder to be filled by a system call.
  Address() noexcept;
  /// Copies `len` bytes of a sockaddr filled by the kernel (accept, getsockname, recvfrom).
  Address(const sockaddr* sa, socklen_t len) noexcept;

  /// Parses "ip:port", "[ipv6]:port", "[ipv6%zone]:port", "ip:service" and "unix:/path" /
  /// "unix:@abstract". Fails with errc::invalid_address or errc::invalid_port.
  static Result<Address> parse(std::string_view text);
  /// Parses a numeric IP (v4 or v6, optional %zone) and pairs it with a port.
  static Result<Address> from_ip(std::string_view ip, std::uint16_t port);
  /// Resolves a port number or service name ("80", "http") for TCP; errc::invalid_port on failure.
  static Result<std::uint16_t> parse_port(std::string_view text);
  static Address ipv4_loopback(std::uint16_t port = 0) noexcept;
  static Address ipv6_loopback(std::uint16_t port = 0) noexcept;
  static Address ipv4_any(std::uint16_t port = 0) noexcept;
  static Address ipv6_any(std::uint16_t port = 0) noexcept;
  /// A Unix-domain address; a leading '@' selects the Linux abstract namespace.
  static Result<Address> unix_path(std::string_view path);

  Family family() const noexcept { return static_cast<Family>(storage_.ss_family); }
  bool is_v4() const noexcept { return family() == Family::v4; }
  bool is_v6() const noexcept { return family() == Family::v6; }
  bool is_ip() const noexcept { return is_v4() || is_v6(); }
  bool is_unix() const noexcept { return family() == Family::unix_domain; }
  bool is_loopback() const noexcept;
  /// True for a v4-mapped IPv6 address (::ffff:a.b.c.d), as a dual-stack listener reports v4 peers.
  bool is_v4_mapped() const noexcept;
  /// Unwraps ::ffff:a.b.c.d to a.b.c.d; other addresses are returned unchanged.
  Address unmapped() const noexcept;

  /// Port in host order (0 for Unix addresses).
  std::uint16_t port() const noexcept;
  void set_port(std::uint16_t port) noexcept;
  /// "127.0.0.1", "::1", "fe80::1%lo"; the path for Unix addresses ("@name" for abstract ones).
  std::string ip_string() const;
  /// "127.0.0.1:80", "[::1]:80", "unix:/path", "unix:@name".
  std::string to_string() const;

  const sockaddr* sockaddr_ptr() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* sockaddr_ptr() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t length() const noexcept { return len_; }
  /// Capacity for system calls that fill an address in; pair with set_length().
  static constexpr socklen_t capacity() noexcept { return sizeof(sockaddr_storage); }
  void set_length(socklen_t len) noexcept { len_ = len; }

  /// Ordered by family, then address bytes, then port (and path for Unix addresses).
  friend std::strong_ordering operator<=>(const Address& a, const Address& b) noexcept;
  friend bool operator==(const Address& a, const Address& b) noexcept { return (a <=> b) == 0; }
  std::size_t hash() const noexcept;

 private:
  sockaddr_storage storage_;
  socklen_t len_;
};

/// An Address kept in 32 bytes instead of 136: IPv4 and IPv6 inline, anything else (a Unix
/// path) in a heap copy. For per-connection state (loop::Connection stores its peer in one), where
/// sockaddr_storage would be most of an idle connection's memory. get() rebuilds the Address.
class CompactAddress {
 public:
  CompactAddress() noexcept;
  explicit CompactAddress(const Address& a);
  CompactAddress(const CompactAddress& o);
  CompactAddress& operator=(const CompactAddress& o);
  ~CompactAddress();

  Address get() const;

 private:
  static constexpr sa_family_t kHeap = 0xffff;  // family marker: an Address* at bytes_ + 8
  Address* heap() const noexcept;
  alignas(8) unsigned char bytes_[32];
};

}  // namespace sockit

template <>
struct std::hash<sockit::Address> {
  std::size_t operator()(const sockit::Address& a) const noexcept { return a.hash(); }
};
