#include "sockit/net/error.hpp"
#include "sockit/net/result.hpp"

#include <cerrno>
#include <netdb.h>

namespace sockit {
namespace {

class SockitCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sockit"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "Success";
      case errc::fd_over_setsize: return "Descriptor too large for select() (>= FD_SETSIZE)";
      case errc::unexpected_eof: return "Connection closed by peer before all data arrived";
      case errc::message_truncated: return "Datagram larger than the receive buffer (truncated)";
      case errc::invalid_address: return "Invalid address";
      case errc::invalid_port: return "Invalid port";
      case errc::no_addresses: return "No addresses to try";
      case errc::line_too_long: return "Line too long";
      case errc::queue_full: return "Queue full";
      case errc::not_supported: return "Operation not supported";
      case errc::invalid_argument: return "Invalid argument";
    }
    return "Unknown sockit error " + std::to_string(ev);
  }
};

class GaiCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int ev) const override { return ::gai_strerror(ev); }
  std::error_condition default_error_condition(int ev) const noexcept override {
    switch (ev) {
      case EAI_AGAIN: return std::errc::resource_unavailable_try_again;
      case EAI_MEMORY: return std::errc::not_enough_memory;
      case EAI_FAMILY: return std::errc::address_family_not_supported;
      default: return {ev, *this};
    }
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const SockitCategory c;
  return c;
}

const std::error_category& gai_category() noexcept {
  static const GaiCategory c;
  return c;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

std::error_code gai_error(int eai, int saved_errno) noexcept {
  if (eai == EAI_SYSTEM) return sys_error(saved_errno != 0 ? saved_errno : EIO);
  return {eai, gai_category()};
}

std::string Error::message() const {
  std::string reason = code_ ? code_.message() : std::string("Success");
  if (context_.empty()) return reason;
  return context_ + ": " + reason;
}

Error Error::with_context(std::string_view outer) const {
  if (context_.empty()) return Error(code_, std::string(outer));
  return Error(code_, std::string(outer) + ": " + context_);
}

Error fail_errno(int err, std::string context) { return Error(sys_error(err), std::move(context)); }

}  // namespace sockit
