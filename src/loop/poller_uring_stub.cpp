// Backend::uring in a build without liburing: always refused, so make_poller falls back to epoll.
#include "pollers.hpp"

#include <cerrno>

namespace sockit::loop::detail {

Result<std::unique_ptr<Poller>> make_uring_poller() {
  return Error(sys_error(ENOSYS), "sockit was built without liburing");
}

}  // namespace sockit::loop::detail
