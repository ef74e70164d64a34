// Internal header of sockit::loop: constructors of the three Poller backends.
#pragma once

#include "sockit/loop/poller.hpp"

namespace sockit::loop::detail {

std::unique_ptr<Poller> make_select_poller();
std::unique_ptr<Poller> make_poll_poller();
Result<std::unique_ptr<Poller>> make_epoll_poller();

}  // namespace sockit::loop::detail
