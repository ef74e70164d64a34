// CloseReason names and the Model table.
#include "sockit/serve/model.hpp"
#include "sockit/serve/session.hpp"
#include "sockit/loop/connection.hpp"

#include <array>
#include <string>

namespace sockit::serve {

static_assert(static_cast<int>(loop::CloseReason::error) == static_cast<int>(CloseReason::error) &&
                  static_cast<int>(loop::CloseReason::server_stopping) == static_cast<int>(CloseReason::server_stopping) &&
                  static_cast<int>(loop::CloseReason::idle_timeout) == static_cast<int>(CloseReason::idle_timeout),
              "loop::CloseReason and serve::CloseReason must list the same values in the same order");

std::string_view to_string(CloseReason r) noexcept { return loop::to_string(static_cast<loop::CloseReason>(r)); }

std::string_view to_string(Model m) noexcept {
  switch (m) {
    case Model::iterative: return "iterative";
    case Model::fork: return "fork";
    case Model::thread: return "thread";
    case Model::pool: return "pool";
    case Model::select: return "select";
    case Model::poll: return "poll";
    case Model::epoll: return "epoll";
    case Model::uring: return "uring";
  }
  return "?";
}

std::span<const Model> all_models() noexcept {
  static constexpr std::array<Model, 8> kAll{Model::iterative, Model::fork, Model::thread, Model::pool,
                                             Model::select,    Model::poll, Model::epoll,  Model::uring};
  return kAll;
}

Result<Model> parse_model(std::string_view name, loop::Backend reactor_backend) {
  if (name == "reactor") return reactor_model(reactor_backend);
  for (Model m : all_models()) {
    if (name == to_string(m)) return m;
  }
  return Error(errc::invalid_argument,
               "unknown model '" + std::string(name) + "' (iterative, fork, thread, pool, select, poll, epoll, uring, reactor)");
}

bool is_reactor(Model m) noexcept {
  return m == Model::select || m == Model::poll || m == Model::epoll || m == Model::uring;
}

Model reactor_model(loop::Backend b) noexcept {
  switch (b) {
    case loop::Backend::select: return Model::select;
    case loop::Backend::poll: return Model::poll;
    case loop::Backend::epoll: return Model::epoll;
    case loop::Backend::uring: return Model::uring;
  }
  return Model::epoll;
}

loop::Backend backend_of(Model m) noexcept {
  switch (m) {
    case Model::select: return loop::Backend::select;
    case Model::epoll: return loop::Backend::epoll;
    case Model::uring: return loop::Backend::uring;
    default: return loop::Backend::poll;
  }
}

}  // namespace sockit::serve
