#include "sockit/net/address.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

namespace sockit {
namespace {

const sockaddr_in& as_in(const sockaddr_storage& s) { return *reinterpret_cast<const sockaddr_in*>(&s); }
const sockaddr_in6& as_in6(const sockaddr_storage& s) { return *reinterpret_cast<const sockaddr_in6*>(&s); }
const sockaddr_un& as_un(const sockaddr_storage& s) { return *reinterpret_cast<const sockaddr_un*>(&s); }

// Path bytes of a Unix address (abstract names start with '\0', shown as '@').
std::string_view unix_path_bytes(const sockaddr_storage& s, socklen_t len) {
  const auto& un = as_un(s);
  std::size_t off = offsetof(sockaddr_un, sun_path);
  if (len <= off) return {};
  std::size_t n = len - off;
  std::string_view p(un.sun_path, n);
  if (!p.empty() && p[0] != '\0') {
    auto nul = p.find('\0');  // pathname sockets may count the terminating NUL
    if (nul != std::string_view::npos) p = p.substr(0, nul);
  }
  return p;
}

}  // namespace

Address::Address() noexcept : storage_{}, len_(0) { storage_.ss_family = AF_UNSPEC; }

Address::Address(const sockaddr* sa, socklen_t len) noexcept : storage_{}, len_(0) {
  storage_.ss_family = AF_UNSPEC;
  if (sa == nullptr || len == 0) return;
  len_ = std::min<socklen_t>(len, sizeof(storage_));
  std::memcpy(&storage_, sa, len_);
}

// ---- CompactAddress ----------------------------------------------------------------------------

static_assert(sizeof(sockaddr_in6) <= 32 && sizeof(sockaddr_in) <= 32);

CompactAddress::CompactAddress() noexcept : bytes_{} {
  sa_family_t fam = AF_UNSPEC;
  std::memcpy(bytes_, &fam, sizeof fam);
}

CompactAddress::CompactAddress(const Address& a) : bytes_{} {
  if (a.family() == Family::v4 || a.family() == Family::v6) {
    std::memcpy(bytes_, a.sockaddr_ptr(), std::min<std::size_t>(a.length(), sizeof bytes_));
    return;
  }
  sa_family_t fam = kHeap;
  auto* copy = new Address(a);
  std::memcpy(bytes_, &fam, sizeof fam);
  std::memcpy(bytes_ + 8, &copy, sizeof copy);
}

CompactAddress::CompactAddress(const CompactAddress& o) : CompactAddress(o.get()) {}

CompactAddress& CompactAddress::operator=(const CompactAddress& o) {
  if (this != &o) {
    CompactAddress tmp(o);
    std::swap(bytes_, tmp.bytes_);
  }
  return *this;
}

CompactAddress::~CompactAddress() { delete heap(); }

Address* CompactAddress::heap() const noexcept {
  sa_family_t fam;
  std::memcpy(&fam, bytes_, sizeof fam);
  if (fam != kHeap) return nullptr;
  Address* p;
  std::memcpy(&p, bytes_ + 8, sizeof p);
  return p;
}

Address CompactAddress::get() const {
  if (Address* p = heap()) return *p;
  sa_family_t fam;
  std::memcpy(&fam, bytes_, sizeof fam);
  sockaddr_storage ss{};
  std::memcpy(&ss, bytes_, sizeof bytes_);
  if (fam == AF_INET) return Address(reinterpret_cast<const sockaddr*>(&ss), sizeof(sockaddr_in));
  if (fam == AF_INET6) return Address(reinterpret_cast<const sockaddr*>(&ss), sizeof(sockaddr_in6));
  return Address();
}

Result<std::uint16_t> Address::parse_port(std::string_view text) {
  if (text.empty()) return Error(errc::invalid_port, "empty port");
  // A number is checked here, never handed to getaddrinfo: glibc takes "70000" as 70000 % 65536.
  std::string_view digits = text.front() == '-' ? text.substr(1) : text;
  if (!digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.size() != text.size() || ec != std::errc() || p != digits.data() + digits.size() || value > 65535)
      return Error(errc::invalid_port, "port " + std::string(text) + " out of range 0-65535");
    return static_cast<std::uint16_t>(value);
  }
  std::string name(text);
  servent result{};
  servent* found = nullptr;
  char buf[1024];
  if (::getservbyname_r(name.c_str(), "tcp", &result, buf, sizeof buf, &found) != 0 || found == nullptr) {
    if (::getservbyname_r(name.c_str(), "udp", &result, buf, sizeof buf, &found) != 0 || found == nullptr)
      return Error(errc::invalid_port, "unknown service " + name + " (expected a port 0-65535 or a service name)");
  }
  return static_cast<std::uint16_t>(ntohs(static_cast<std::uint16_t>(found->s_port)));
}

Result<Address> Address::from_ip(std::string_view ip, std::uint16_t port) {
  Address a;
  std::string text(ip);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  sockaddr_in v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    std::memcpy(&a.storage_, &v4, sizeof v4);
    a.len_ = sizeof v4;
    return a;
  }
  sockaddr_in6 v6{};
  std::string host = text;
  std::string zone;
  if (auto pct = text.find('%'); pct != std::string::npos) {
    host = text.substr(0, pct);
    zone = text.substr(pct + 1);
    if (zone.empty()) return Error(errc::invalid_address, "address " + std::string(ip));
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    if (!zone.empty()) {
      unsigned idx = ::if_nametoindex(zone.c_str());
      if (idx == 0) {
        auto [p, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), idx);
        if (ec != std::errc() || p != zone.data() + zone.size())
          return Error(errc::invalid_address, "unknown interface " + zone);
      }
      v6.sin6_scope_id = idx;
    }
    std::memcpy(&a.storage_, &v6, sizeof v6);
    a.len_ = sizeof v6;
    return a;
  }
  return Error(errc::invalid_address, "address " + std::string(ip));
}

Result<Address> Address::unix_path(std::string_view path) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  if (path.empty()) return Error(errc::invalid_address, "empty unix socket path");
  bool abstract = path.front() == '@';
  // A filesystem path cannot hold a NUL (found by the address fuzzer: it made a pathname that
  // read back as an abstract name). Abstract names may: their length is explicit.
  if (!abstract && path.find('\0') != std::string_view::npos)
    return Error(errc::invalid_address, "unix socket path contains a NUL byte");
  if (path.size() >= sizeof(un.sun_path))
    return Error(errc::invalid_address, "unix socket path too long: " + std::string(path));
  std::memcpy(un.sun_path, path.data(), path.size());
  socklen_t len;
  if (abstract) {
    un.sun_path[0] = '\0';
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  } else {
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  }
  return Address(reinterpret_cast<const sockaddr*>(&un), len);
}

Result<Address> Address::parse(std::string_view text) {
  if (text.starts_with("unix:")) return unix_path(text.substr(5));
  if (text.empty()) return Error(errc::invalid_address, "empty address");
  std::string_view host, port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return Error(errc::invalid_address, "address " + std::string(text));
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (rest.size() < 2 || rest.front() != ':')
      return Error(errc::invalid_address, "address " + std::string(text) + " (expected [v6]:port)");
    port = rest.substr(1);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return Error(errc::invalid_address, "address " + std::string(text) + " (expected host:port)");
    if (text.find(':') != colon)
      return Error(errc::invalid_address, "address " + std::string(text) + " (write IPv6 as [addr]:port)");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto p = parse_port(port);
  if (!p) return Error(p.error().code(), p.error().context() + " in " + std::string(text));
  auto a = from_ip(host, *p);
  if (!a) return Error(a.error().code(), "address " + std::string(text));
  return a;
}

namespace {
Address make_v4(in_addr_t host, std::uint16_t port) noexcept {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(port);
  v4.sin_addr.s_addr = htonl(host);
  return Address(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
}
Address make_v6(const in6_addr& host, std::uint16_t port) noexcept {
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(port);
  v6.sin6_addr = host;
  return Address(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
}
}  // namespace

Address Address::ipv4_loopback(std::uint16_t port) noexcept { return make_v4(INADDR_LOOPBACK, port); }
Address Address::ipv6_loopback(std::uint16_t port) noexcept { return make_v6(in6addr_loopback, port); }
Address Address::ipv4_any(std::uint16_t port) noexcept { return make_v4(INADDR_ANY, port); }
Address Address::ipv6_any(std::uint16_t port) noexcept { return make_v6(in6addr_any, port); }

bool Address::is_loopback() const noexcept {
  if (is_v4()) return (ntohl(as_in(storage_).sin_addr.s_addr) >> 24) == 127;
  if (is_v6()) {
    const auto& a = as_in6(storage_).sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&a)) return a.s6_addr[12] == 127;
  }
  return false;
}

bool Address::is_v4_mapped() const noexcept {
  return is_v6() && IN6_IS_ADDR_V4MAPPED(&as_in6(storage_).sin6_addr);
}

Address Address::unmapped() const noexcept {
  if (!is_v4_mapped()) return *this;
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = as_in6(storage_).sin6_port;
  std::memcpy(&v4.sin_addr, &as_in6(storage_).sin6_addr.s6_addr[12], 4);
  return Address(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
}

std::uint16_t Address::port() const noexcept {
  if (is_v4()) return ntohs(as_in(storage_).sin_port);
  if (is_v6()) return ntohs(as_in6(storage_).sin6_port);
  return 0;
}

void Address::set_port(std::uint16_t port) noexcept {
  if (is_v4()) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  else if (is_v6()) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

std::string Address::ip_string() const {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  if (is_v4()) {
    ::inet_ntop(AF_INET, &as_in(storage_).sin_addr, buf, sizeof buf);
    return buf;
  }
  if (is_v6()) {
    ::inet_ntop(AF_INET6, &as_in6(storage_).sin6_addr, buf, sizeof buf);
    std::string s = buf;
    if (auto scope = as_in6(storage_).sin6_scope_id; scope != 0) {
      char name[IF_NAMESIZE] = {};
      s += '%';
      s += ::if_indextoname(scope, name) ? std::string(name) : std::to_string(scope);
    }
    return s;
  }
  if (is_unix()) {
    auto p = unix_path_bytes(storage_, len_);
    if (p.empty()) return "";  // unnamed (socketpair, unbound client)
    if (p[0] == '\0') return "@" + std::string(p.substr(1));
    return std::string(p);
  }
  return "";
}

std::string Address::to_string() const {
  if (is_v4()) return ip_string() + ":" + std::to_string(port());
  if (is_v6()) return "[" + ip_string() + "]:" + std::to_string(port());
  if (is_unix()) return "unix:" + ip_string();
  return "(unspecified)";
}

std::strong_ordering operator<=>(const Address& a, const Address& b) noexcept {
  if (auto c = a.storage_.ss_family <=> b.storage_.ss_family; c != 0) return c;
  auto bytes_cmp = [](const void* x, const void* y, std::size_t n) {
    int r = std::memcmp(x, y, n);
    return r < 0 ? std::strong_ordering::less : r > 0 ? std::strong_ordering::greater : std::strong_ordering::equal;
  };
  if (a.is_v4()) {
    if (auto c = bytes_cmp(&as_in(a.storage_).sin_addr, &as_in(b.storage_).sin_addr, 4); c != 0) return c;
    return a.port() <=> b.port();
  }
  if (a.is_v6()) {
    if (auto c = bytes_cmp(&as_in6(a.storage_).sin6_addr, &as_in6(b.storage_).sin6_addr, 16); c != 0) return c;
    if (auto c = as_in6(a.storage_).sin6_scope_id <=> as_in6(b.storage_).sin6_scope_id; c != 0) return c;
    return a.port() <=> b.port();
  }
  if (a.is_unix()) {
    auto pa = unix_path_bytes(a.storage_, a.len_);
    auto pb = unix_path_bytes(b.storage_, b.len_);
    int r = pa.compare(pb);
    return r < 0 ? std::strong_ordering::less : r > 0 ? std::strong_ordering::greater : std::strong_ordering::equal;
  }
  return std::strong_ordering::equal;
}

std::size_t Address::hash() const noexcept {
  // FNV-1a over the bytes that take part in comparison.
  std::size_t h = 1469598103934665603ull;
  auto mix = [&h](const void* p, std::size_t n) {
    auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  mix(&storage_.ss_family, sizeof storage_.ss_family);
  if (is_v4()) {
    mix(&as_in(storage_).sin_addr, 4);
    mix(&as_in(storage_).sin_port, 2);
  } else if (is_v6()) {
    mix(&as_in6(storage_).sin6_addr, 16);
    mix(&as_in6(storage_).sin6_port, 2);
    mix(&as_in6(storage_).sin6_scope_id, sizeof(std::uint32_t));
  } else if (is_unix()) {
    auto p = unix_path_bytes(storage_, len_);
    mix(p.data(), p.size());
  }
  return h;
}

}  // namespace sockit
