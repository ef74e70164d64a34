// `sockit chat-server`'s WebSocket listeners: see ws_listeners.hpp.
#include "chat_server/ws_listeners.hpp"

#include "sockit/ws/transport.hpp"

#include <algorithm>
#include <mutex>

#include <sys/socket.h>

namespace sockit::chat_server {

struct WsListeners::Shared {
  ws::Options opts;
  mutable std::mutex mu;
  std::vector<Address> bound;

  bool serves(int fd) const noexcept {
    Address local;
    socklen_t len = Address::capacity();
    if (::getsockname(fd, local.sockaddr_ptr(), &len) != 0) return false;
    local.set_length(len);
    std::lock_guard g(mu);
    return std::any_of(bound.begin(), bound.end(), [&](const Address& b) {
      return b.port() == local.port() &&
             (b.ip_string() == "0.0.0.0" || b.ip_string() == "::" || b.ip_string() == local.ip_string());
    });
  }
};

namespace {

// What `base` made (or the plain socket), wrapped in a ws::Transport on the first handshake()
// when the connection came through a WebSocket listener.
class SelectTransport final : public loop::Transport {
 public:
  SelectTransport(std::shared_ptr<const WsListeners::Shared> s, std::unique_ptr<loop::Transport> base)
      : shared_(std::move(s)), base_(std::move(base)) {}

  ssize_t read(int fd, std::span<std::byte> buf) noexcept override {
    return t() ? t()->read(fd, buf) : loop::PlainTransport::do_read(fd, buf);
  }
  ssize_t write(int fd, std::span<const std::byte> bytes) noexcept override {
    return t() ? t()->write(fd, bytes) : loop::PlainTransport::do_write(fd, bytes);
  }
  ssize_t writev(int fd, const iovec* iov, int n) noexcept override {
    return t() ? t()->writev(fd, iov, n) : loop::PlainTransport::do_writev(fd, iov, n);
  }
  int shutdown_write(int fd) noexcept override {
    return t() ? t()->shutdown_write(fd) : loop::PlainTransport::do_shutdown_write(fd);
  }
  bool handshake(int fd) noexcept override {
    if (!decided_) {
      // The first call comes from Connection::start(): a WebSocket connection only says what it
      // waits for (the request), its handshake runs from the first readiness event on (failing
      // inside start() would close the connection before its owner holds it).
      decided_ = true;
      if (shared_->serves(fd)) {
        // The base's own first call (a TLS listener's: it decides and waits for the ClientHello)
        // is made here, from start(), as without WebSocket: made later, from a readiness event,
        // it would use up that event (edge-triggered) without reading.
        if (base_) (void)base_->handshake(fd);
        try {
          ws_ = std::make_unique<ws::Transport>(shared_->opts, std::move(base_));
        } catch (...) {
          failed_ = ENOMEM;
        }
        return false;
      }
    }
    if (failed_ != 0) return false;
    return t() ? t()->handshake(fd) : true;
  }
  int failure() const noexcept override { return failed_ != 0 ? failed_ : t() ? t()->failure() : 0; }
  std::chrono::nanoseconds handshake_timeout() const noexcept override {
    if (!decided_) {
      // Not known yet: the shorter limit. The driver asks again when its timer fires and waits
      // on with the limit of what the connection turned out to be.
      auto b = base_ ? base_->handshake_timeout() : std::chrono::nanoseconds::zero();
      return b > std::chrono::nanoseconds::zero() ? std::min(b, shared_->opts.handshake_timeout) : shared_->opts.handshake_timeout;
    }
    return t() ? t()->handshake_timeout() : std::chrono::nanoseconds::zero();
  }
  void handshake_expired() noexcept override {
    if (t() != nullptr) t()->handshake_expired();
  }
  loop::Want wants() const noexcept override { return t() ? t()->wants() : loop::Want::none; }
  std::size_t pending_input() const noexcept override { return t() ? t()->pending_input() : 0; }
  std::size_t pending_output() const noexcept override { return t() ? t()->pending_output() : 0; }
  ssize_t flush(int fd) noexcept override { return t() ? t()->flush(fd) : 0; }
  bool drains_on_short_io() const noexcept override { return t() ? t()->drains_on_short_io() : true; }

 private:
  loop::Transport* t() const noexcept { return ws_ ? static_cast<loop::Transport*>(ws_.get()) : base_.get(); }

  std::shared_ptr<const WsListeners::Shared> shared_;
  std::unique_ptr<loop::Transport> base_;
  std::unique_ptr<ws::Transport> ws_;
  bool decided_ = false;
  int failed_ = 0;
};

}  // namespace

WsListeners::WsListeners(const WebSocketSettings& settings) : shared_(std::make_shared<Shared>()) {
  shared_->opts.policy.allowed_origins = settings.origins;
  shared_->opts.handshake_timeout = settings.handshake_timeout;
  shared_->opts.max_message = settings.max_message;
}

void WsListeners::set_bound(std::vector<Address> bound) {
  std::lock_guard g(shared_->mu);
  shared_->bound = std::move(bound);
}

loop::TransportFactory WsListeners::factory(loop::TransportFactory base) const {
  return [s = std::shared_ptr<const Shared>(shared_), base = std::move(base)]() -> std::unique_ptr<loop::Transport> {
    return std::make_unique<SelectTransport>(s, base ? base() : nullptr);
  };
}

}  // namespace sockit::chat_server
