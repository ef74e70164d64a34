// The backend factory and names.
#include "pollers.hpp"

#include <array>
#include <string>

namespace sockit::loop {

std::string_view to_string(Backend b) noexcept {
  switch (b) {
    case Backend::select: return "select";
    case Backend::poll: return "poll";
    case Backend::epoll: return "epoll";
  }
  return "?";
}

Result<Backend> parse_backend(std::string_view name) {
  for (Backend b : all_backends()) {
    if (name == to_string(b)) return b;
  }
  return Error(errc::invalid_argument, "unknown backend '" + std::string(name) + "' (select, poll, epoll)");
}

std::span<const Backend> all_backends() noexcept {
  static constexpr std::array<Backend, 3> kAll{Backend::select, Backend::poll, Backend::epoll};
  return kAll;
}

Result<std::unique_ptr<Poller>> make_poller(Backend backend) {
  switch (backend) {
    case Backend::select: return detail::make_select_poller();
    case Backend::poll: return detail::make_poll_poller();
    case Backend::epoll: return detail::make_epoll_poller();
  }
  return Error(errc::invalid_argument, "make_poller: unknown backend");
}

}  // namespace sockit::loop
