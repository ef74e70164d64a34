// Public header. The concurrency models of sockit::serve, selectable at run time (`--model`).
//
//   iterative  one connection at a time, in the accepting thread (UNP serv00)
//   fork       one process per connection (serv01)
//   thread     one thread per connection (serv06)
//   pool       N worker threads fed by a bounded queue; full queue = connection refused
//   select, poll, epoll   the reactor on that backend, with N event loops (muduo)
//   uring      the reactor on io_uring readiness (multishot poll); epoll where io_uring is refused
//
// See docs/MODELS.md for how each works, what it costs and when to choose it.
#pragma once

#include "sockit/loop/poller.hpp"
#include "sockit/net/result.hpp"

#include <span>
#include <string_view>

namespace sockit::serve {

enum class Model { iterative, fork, thread, pool, select, poll, epoll, uring };

/// "iterative", "fork", "thread", "pool", "select", "poll", "epoll", "uring".
std::string_view to_string(Model m) noexcept;
/// Parses a model name; "reactor" means the reactor on `reactor_backend`. errc::invalid_argument
/// with the valid names in the message otherwise.
Result<Model> parse_model(std::string_view name, loop::Backend reactor_backend = loop::kDefaultBackend);
/// Every model, in the order above.
std::span<const Model> all_models() noexcept;
/// select, poll, epoll and uring are event-loop models; the others block a thread or process per client.
bool is_reactor(Model m) noexcept;
/// The reactor model of a backend (Backend::poll -> Model::poll).
Model reactor_model(loop::Backend b) noexcept;
/// The backend of a reactor model; for the blocking models, the one their per-connection waits use
/// (poll, which has no FD_SETSIZE limit).
loop::Backend backend_of(Model m) noexcept;

}  // namespace sockit::serve
