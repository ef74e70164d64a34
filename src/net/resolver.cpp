#include "sockit/net/resolver.hpp"

#include <algorithm>
#include <cerrno>
#include <string>

#include <netdb.h>

namespace sockit {

Result<std::pair<std::string, std::string>> split_host_port(std::string_view text) {
  if (text.empty()) return Error(errc::invalid_address, "empty address");
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 2 > text.size() || text[close + 1] != ':')
      return Error(errc::invalid_address, "address " + std::string(text) + " (expected [v6]:port)");
    return std::pair{std::string(text.substr(1, close - 1)), std::string(text.substr(close + 2))};
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size())
    return Error(errc::invalid_address, "address " + std::string(text) + " (expected host:port)");
  if (text.find(':') != colon)
    return Error(errc::invalid_address, "address " + std::string(text) + " (write IPv6 as [addr]:port)");
  return std::pair{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

Result<std::vector<Address>> Resolver::resolve(std::string_view host, std::string_view service,
                                               const ResolveOptions& opts) {
  std::string h(host), s(service);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string what = "resolve " + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + s;
  if (s.empty()) return Error(errc::invalid_port, what);
  // getaddrinfo takes any number as a port and wraps it (70000 -> 4464): numbers go through the
  // one port parser first; names still go to getaddrinfo (/etc/services).
  if (s.front() == '-' || (s.front() >= '0' && s.front() <= '9')) {
    auto port = Address::parse_port(s);
    if (!port) return Error(port.error().code(), what + ": " + port.error().context());
  }
  addrinfo hints{};
  hints.ai_family = static_cast<int>(opts.family);
  hints.ai_socktype = static_cast<int>(opts.type);
  hints.ai_flags = AI_ADDRCONFIG;
  if (opts.passive) hints.ai_flags |= AI_PASSIVE;
  if (opts.numeric_host) hints.ai_flags |= AI_NUMERICHOST;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(h.empty() ? nullptr : h.c_str(), s.c_str(), &hints, &res);
  if (rc == EAI_ADDRFAMILY || (rc == EAI_NONAME && (h == "::1" || h == "localhost"))) {
    // AI_ADDRCONFIG hides ::1 on hosts whose only v6 address is loopback; retry without it.
    hints.ai_flags &= ~AI_ADDRCONFIG;
    rc = ::getaddrinfo(h.empty() ? nullptr : h.c_str(), s.c_str(), &hints, &res);
  }
  if (rc != 0) {
    if (rc == EAI_SERVICE) return Error(errc::invalid_port, what);
    return Error(gai_error(rc, errno), what);
  }
  std::vector<Address> out;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Address a(ai->ai_addr, ai->ai_addrlen);
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  ::freeaddrinfo(res);
  if (out.empty()) return Error(errc::no_addresses, what);
  return out;
}

Result<std::vector<Address>> Resolver::resolve(std::string_view host_port, const ResolveOptions& opts) {
  auto parts = split_host_port(host_port);
  if (!parts) return std::move(parts).error();
  return resolve(parts->first, parts->second, opts);
}

std::string Resolver::reverse(const Address& addr) {
  if (!addr.is_ip()) return addr.ip_string();
  char host[NI_MAXHOST];
  if (::getnameinfo(addr.sockaddr_ptr(), addr.length(), host, sizeof host, nullptr, 0, NI_NAMEREQD) == 0)
    return host;
  return addr.ip_string();
}

}  // namespace sockit
