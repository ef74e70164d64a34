// The backend factory and names.
#include "pollers.hpp"

#include <array>
#include <cstdio>
#include <mutex>
#include <string>

namespace sockit::loop {

std::string_view to_string(Backend b) noexcept {
  switch (b) {
    case Backend::select: return "select";
    case Backend::poll: return "poll";
    case Backend::epoll: return "epoll";
    case Backend::uring: return "uring";
  }
  return "?";
}

Result<Backend> parse_backend(std::string_view name) {
  for (Backend b : all_backends()) {
    if (name == to_string(b)) return b;
  }
  return Error(errc::invalid_argument, "unknown backend '" + std::string(name) + "' (select, poll, epoll, uring)");
}

std::span<const Backend> all_backends() noexcept {
  static constexpr std::array<Backend, 4> kAll{Backend::select, Backend::poll, Backend::epoll, Backend::uring};
  return kAll;
}

Result<std::unique_ptr<Poller>> make_poller(Backend backend) {
  switch (backend) {
    case Backend::select: return detail::make_select_poller();
    case Backend::poll: return detail::make_poll_poller();
    case Backend::epoll: return detail::make_epoll_poller();
    case Backend::uring: {
      auto u = detail::make_uring_poller();
      if (u) return u;
      static std::once_flag said;
      std::call_once(said, [&] {
        std::fprintf(stderr, "sockit: io_uring unavailable (%s); --model/--backend uring falls back to epoll\n",
                     u.error().message().c_str());
      });
      return detail::make_epoll_poller();
    }
  }
  return Error(errc::invalid_argument, "make_poller: unknown backend");
}

Result<void> uring_available() {
  auto u = detail::make_uring_poller();
  if (!u) return u.error();
  return {};
}

}  // namespace sockit::loop
