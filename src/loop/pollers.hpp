// Internal header of sockit::loop: constructors of the Poller backends.
#pragma once

#include "sockit/loop/poller.hpp"

namespace sockit::loop::detail {

std::unique_ptr<Poller> make_select_poller();
std::unique_ptr<Poller> make_poll_poller();
Result<std::unique_ptr<Poller>> make_epoll_poller();
/// io_uring (poller_uring.cpp); errc from the kernel's refusal, or ENOSYS when built without liburing.
Result<std::unique_ptr<Poller>> make_uring_poller();

}  // namespace sockit::loop::detail
