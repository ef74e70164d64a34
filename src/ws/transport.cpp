// ws::Transport: WebSocket framing (libwslay) over the plain socket or another transport; see
// sockit/ws/transport.hpp.
#include "sockit/ws/transport.hpp"

#include "sockit/irc/message.hpp"

#include <wslay/wslay.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace sockit::ws {

namespace {

constexpr std::size_t kSendHigh = 64 * 1024;  // queued frames above this: write() says EAGAIN
constexpr std::size_t kInputHigh = 64 * 1024; // decoded lines above this: stop reading the socket

Transport* self(void* user) { return static_cast<Transport*>(user); }

ssize_t recv_cb(wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, int, void* user) {
  return self(user)->on_recv(buf, len);
}
ssize_t send_cb(wslay_event_context_ptr, const std::uint8_t* data, std::size_t len, int, void* user) {
  return self(user)->on_send(data, len);
}
void msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
  self(user)->on_message(arg->opcode, arg->msg, arg->msg_length);
}

constexpr wslay_event_callbacks kCallbacks{recv_cb, send_cb, nullptr, nullptr, nullptr, nullptr, msg_cb};

}  // namespace

std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += s[i++];
      continue;
    }
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (len > 1 && i + len <= s.size() && irc::is_valid_utf8(s.substr(i, len))) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

Transport::Transport(Options opts, std::unique_ptr<loop::Transport> inner)
    : opts_(std::move(opts)), inner_(std::move(inner)) {}

Transport::~Transport() {
  if (ctx_ != nullptr) wslay_event_context_free(ctx_);
}

ssize_t Transport::inner_read(int fd, std::span<std::byte> buf) noexcept {
  return inner_ ? inner_->read(fd, buf) : loop::PlainTransport::do_read(fd, buf);
}

ssize_t Transport::inner_write(int fd, std::span<const std::byte> bytes) noexcept {
  return inner_ ? inner_->write(fd, bytes) : loop::PlainTransport::do_write(fd, bytes);
}

int Transport::failure() const noexcept {
  if (failure_ != 0) return failure_;
  return inner_ ? inner_->failure() : 0;
}

bool Transport::handshake(int fd) noexcept {
  fd_ = fd;
  if (phase_ == Phase::open) return true;
  if (phase_ == Phase::failed) return false;
  if (phase_ == Phase::inner) {
    if (inner_ && !inner_->handshake(fd)) {
      if (inner_->failure() != 0) phase_ = Phase::failed;
      return false;
    }
    phase_ = Phase::request;
  }
  if (phase_ == Phase::request) {
    std::array<std::byte, 2048> buf;
    Request req;
    ParseStatus st = ParseStatus::incomplete;
    std::size_t consumed = 0;
    while (st == ParseStatus::incomplete) {
      std::size_t room = opts_.max_request + 1 - std::min(request_.size(), opts_.max_request + 1);
      if (room == 0) {
        st = ParseStatus::too_large;
        break;
      }
      ssize_t n = inner_read(fd, std::span(buf.data(), std::min(room, buf.size())));
      if (n > 0) {
        try {
          request_.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
          st = parse_request(request_, opts_.max_request, req, consumed);
        } catch (...) {
          n = -1;
          errno = ENOMEM;
        }
        if (n > 0) continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      failure_ = n == 0 ? ECONNRESET : errno;
      failure_text_ = n == 0 ? "websocket: the peer closed before its request was complete" : "websocket: read failed";
      phase_ = Phase::failed;
      return false;
    }
    try {
      Answer a = st == ParseStatus::done       ? answer(req, opts_.policy)
                 : st == ParseStatus::too_large ? error_answer(431, "request head over " + std::to_string(opts_.max_request) + " bytes")
                                                : error_answer(400, "malformed HTTP request");
      status_ = a.status;
      subprotocol_ = std::move(a.subprotocol);
      answer_ = std::move(a.response);
      if (a.status >= 400) failure_text_ = "websocket: " + std::to_string(a.status) + " " + a.reason;
    } catch (...) {
      failure_ = ENOMEM;
      phase_ = Phase::failed;
      return false;
    }
    early_ = st == ParseStatus::done ? consumed : request_.size();
    binary_ = subprotocol_ == kBinaryIrc;
    phase_ = Phase::answering;
  }
  // Answering: the HTTP response goes out whole before frames flow (or the connection fails).
  while (!answer_.empty()) {
    ssize_t n = inner_write(fd, std::as_bytes(std::span(answer_.data(), answer_.size())));
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      failure_ = errno;
      phase_ = Phase::failed;
      return false;
    }
    answer_.erase(0, static_cast<std::size_t>(n));
  }
  if (status_ != 101 || !start_framing()) {
    failure_ = status_ != 101 ? EPROTO : ENOMEM;
    phase_ = Phase::failed;
    return false;
  }
  phase_ = Phase::open;
  return true;
}

bool Transport::start_framing() noexcept {
  if (wslay_event_context_server_init(&ctx_, &kCallbacks, this) != 0) return false;
  wslay_event_config_set_max_recv_msg_length(ctx_, opts_.max_message);
  return true;
}

bool Transport::ready(int fd) noexcept {
  if (phase_ == Phase::open || handshake(fd)) return true;
  errno = failure() != 0 ? failure() : EAGAIN;
  return false;
}

ssize_t Transport::on_recv(std::uint8_t* buf, std::size_t len) noexcept {
  if (in_.size() - in_pos_ >= kInputHigh) {  // the reader catches up first (pending_input())
    wslay_event_set_error(ctx_, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  if (early_ < request_.size()) {  // frames that came in with the request
    std::size_t n = std::min(len, request_.size() - early_);
    std::memcpy(buf, request_.data() + early_, n);
    early_ += n;
    if (early_ == request_.size()) {
      request_.clear();
      early_ = 0;
    }
    return static_cast<ssize_t>(n);
  }
  ssize_t n = inner_read(fd_, std::as_writable_bytes(std::span(buf, len)));
  if (n > 0) return n;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    wslay_event_set_error(ctx_, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  eof_ = true;  // the peer's end (FIN, mid-frame or not) or a reset
  recv_errno_ = n == 0 ? 0 : errno;
  wslay_event_set_error(ctx_, WSLAY_ERR_CALLBACK_FAILURE);
  return -1;
}

// libwslay hands a frame's header and its payload separately: they are gathered in out_ (up to
// kSendHigh) and written by drain_out() in one call, so a turn's frames for one connection go out
// in one send as plain TCP's coalesced writes do (it was two sends per line).
ssize_t Transport::on_send(const std::uint8_t* data, std::size_t len) noexcept {
  const std::size_t held = out_.size() - out_pos_;
  if (held >= kSendHigh) {
    wslay_event_set_error(ctx_, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  const std::size_t take = std::min(len, kSendHigh - held);
  try {
    out_.append(reinterpret_cast<const char*>(data), take);
  } catch (...) {
    send_errno_ = ENOMEM;
    wslay_event_set_error(ctx_, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return static_cast<ssize_t>(take);
}

ssize_t Transport::drain_out() noexcept {
  while (out_pos_ < out_.size()) {
    ssize_t n = inner_write(fd_, std::as_bytes(std::span(out_.data() + out_pos_, out_.size() - out_pos_)));
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) send_errno_ = errno;
      return -1;
    }
    out_pos_ += static_cast<std::size_t>(n);
  }
  out_.clear();
  out_pos_ = 0;
  return 0;
}

void Transport::close_with(std::uint16_t code, std::string_view reason) noexcept {
  (void)wslay_event_queue_close(ctx_, code, reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size());
  wslay_event_shutdown_read(ctx_);
}

void Transport::on_message(int opcode, const std::uint8_t* msg, std::size_t len) noexcept {
  if (opcode == WSLAY_CONNECTION_CLOSE) {
    eof_ = true;  // libwslay answers the close frame itself
    return;
  }
  if (opcode != WSLAY_TEXT_FRAME && opcode != WSLAY_BINARY_FRAME) return;  // ping (answered), pong
  std::string_view m(reinterpret_cast<const char*>(msg), len);
  if (opcode == WSLAY_TEXT_FRAME && !irc::is_valid_utf8(m)) {
    close_with(WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA, "invalid UTF-8 in a text message");
    return;
  }
  // One IRC line per message: its own line end is optional, a second line is not accepted.
  while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.remove_suffix(1);
  m = m.substr(0, m.find_first_of("\r\n"));
  if (m.empty()) return;
  try {
    if (in_pos_ == in_.size()) {
      in_.clear();
      in_pos_ = 0;
    }
    in_.append(m);
    in_ += "\r\n";
  } catch (...) {
    close_with(WSLAY_CODE_INTERNAL_SERVER_ERROR, "out of memory");
  }
}

ssize_t Transport::pump_send() noexcept {
  if (ctx_ == nullptr) return 0;
  for (;;) {
    if (drain_out() < 0) {  // EAGAIN: flush() goes on; else the error
      if (send_errno_ != 0) errno = send_errno_;
      return -1;
    }
    if (wslay_event_want_write(ctx_) == 0) return 0;
    if (wslay_event_send(ctx_) != 0) {  // fills out_ (a full out_ is a would-block for it, not an error)
      errno = send_errno_ != 0 ? send_errno_ : EPIPE;
      return -1;
    }
    if (out_.empty()) {
      if (wslay_event_want_write(ctx_) == 0) return 0;
      errno = EAGAIN;
      return -1;
    }
  }
}

ssize_t Transport::read(int fd, std::span<std::byte> buf) noexcept {
  if (!ready(fd)) return -1;
  fd_ = fd;
  if (in_pos_ == in_.size() && !eof_ && wslay_event_get_read_enabled(ctx_) != 0) {
    int rc = wslay_event_recv(ctx_);
    (void)pump_send();  // a pong or a close frame goes out at once (the reader may close next)
    if (rc != 0 && recv_errno_ != 0 && in_pos_ == in_.size()) {
      errno = recv_errno_;
      return -1;
    }
  }
  if (in_pos_ < in_.size()) {
    std::size_t n = std::min(buf.size(), in_.size() - in_pos_);
    std::memcpy(buf.data(), in_.data() + in_pos_, n);
    in_pos_ += n;
    return static_cast<ssize_t>(n);
  }
  if (eof_ || wslay_event_get_read_enabled(ctx_) == 0) return 0;
  errno = EAGAIN;
  return -1;
}

void Transport::queue_line(std::string_view line) noexcept {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return;
  try {
    std::string fixed;
    if (!binary_ && !irc::is_valid_utf8(line)) {
      fixed = to_valid_utf8(line);
      line = fixed;
    }
    wslay_event_msg m{static_cast<std::uint8_t>(binary_ ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME),
                      reinterpret_cast<const std::uint8_t*>(line.data()), line.size()};
    (void)wslay_event_queue_msg(ctx_, &m);  // copies the bytes; refused after our close frame
  } catch (...) {
  }
}

ssize_t Transport::write(int fd, std::span<const std::byte> bytes) noexcept {
  if (!ready(fd)) return -1;
  fd_ = fd;
  if (bytes.empty()) return 0;
  ssize_t n = queue_bytes(bytes);
  if (n < 0) return -1;
  if (pump_send() < 0 && errno != EAGAIN) return -1;
  return n;
}

// write()'s first half: the lines framed and queued in libwslay, nothing sent yet.
ssize_t Transport::queue_bytes(std::span<const std::byte> bytes) noexcept {
  if (wslay_event_get_write_enabled(ctx_) == 0 || wslay_event_get_close_sent(ctx_) != 0 || send_errno_ != 0) {
    errno = send_errno_ != 0 ? send_errno_ : EPIPE;
    return -1;
  }
  if (wslay_event_get_queued_msg_length(ctx_) > kSendHigh && pump_send() < 0) return -1;
  std::string_view data(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  try {
    for (std::size_t nl; (nl = data.find('\n')) != std::string_view::npos;) {
      if (partial_.empty()) {
        queue_line(data.substr(0, nl));
      } else {
        partial_.append(data.substr(0, nl));
        queue_line(partial_);
        partial_.clear();
      }
      data.remove_prefix(nl + 1);
    }
    partial_.append(data);
    if (partial_.size() > opts_.max_message) {  // no line end in sight: it goes as it is
      queue_line(partial_);
      partial_.clear();
    }
  } catch (...) {
    errno = ENOMEM;
    return -1;
  }
  return static_cast<ssize_t>(bytes.size());
}

ssize_t Transport::writev(int fd, const iovec* iov, int n) noexcept {
  // Every entry framed and queued first, then one pump: the frames of the whole gather list
  // leave in one send (up to kSendHigh), not one per entry.
  if (!ready(fd)) return -1;
  fd_ = fd;
  ssize_t total = 0;
  for (int i = 0; i < n; ++i) {
    if (iov[i].iov_len == 0) continue;
    ssize_t w = queue_bytes(std::span(static_cast<const std::byte*>(iov[i].iov_base), iov[i].iov_len));
    if (w < 0) {
      if (total == 0) return -1;
      break;
    }
    total += w;
  }
  if (pump_send() < 0 && errno != EAGAIN && total == 0) return -1;
  return total;
}

int Transport::shutdown_write(int fd) noexcept {
  fd_ = fd;
  if (phase_ == Phase::open && wslay_event_get_close_sent(ctx_) == 0 && send_errno_ == 0) {
    if (wslay_event_get_write_enabled(ctx_) != 0) {
      (void)wslay_event_queue_close(ctx_, WSLAY_CODE_NORMAL_CLOSURE, nullptr, 0);
    }
  }
  if (phase_ == Phase::open && pump_send() < 0 && errno == EAGAIN) {
    shut_pending_ = true;  // flush() sends the rest, then the inner shutdown
    return 0;
  }
  shut_pending_ = false;
  return inner_ ? inner_->shutdown_write(fd) : loop::PlainTransport::do_shutdown_write(fd);
}

ssize_t Transport::flush(int fd) noexcept {
  fd_ = fd;
  if (inner_ && inner_->pending_output() > 0 && inner_->flush(fd) < 0) return -1;
  if (pump_send() < 0) return -1;
  if (shut_pending_) {
    shut_pending_ = false;
    int rc = inner_ ? inner_->shutdown_write(fd) : loop::PlainTransport::do_shutdown_write(fd);
    if (rc < 0 && errno != ENOTCONN) return -1;
  }
  return 1;
}

loop::Want Transport::wants() const noexcept {
  loop::Want in = inner_ ? inner_->wants() : loop::Want::none;
  switch (phase_) {
    case Phase::inner: return in == loop::Want::none ? loop::Want::read : in;
    case Phase::request: return in | loop::Want::read;
    case Phase::answering: return in | loop::Want::write;
    case Phase::open:
      return wslay_event_want_write(ctx_) != 0 || out_pos_ < out_.size() || shut_pending_ ? in | loop::Want::write : in;
    case Phase::failed: break;
  }
  return loop::Want::none;
}

std::size_t Transport::pending_input() const noexcept {
  std::size_t n = in_.size() - in_pos_;
  if (phase_ == Phase::open) n += request_.size() - early_;
  return n + (inner_ ? inner_->pending_input() : 0);
}

std::size_t Transport::pending_output() const noexcept {
  std::size_t n = inner_ ? inner_->pending_output() : 0;
  if (phase_ != Phase::open) return n;
  if (wslay_event_want_write(ctx_) != 0) n += std::max<std::size_t>(1, wslay_event_get_queued_msg_length(ctx_));
  return n + (out_.size() - out_pos_) + (shut_pending_ ? 1 : 0);
}

std::uint16_t Transport::close_sent() const noexcept {
  return ctx_ != nullptr && wslay_event_get_close_sent(ctx_) != 0 ? wslay_event_get_status_code_sent(ctx_) : 0;
}

loop::TransportFactory transport_factory(Options opts, loop::TransportFactory inner) {
  return [opts = std::move(opts), inner = std::move(inner)]() -> std::unique_ptr<loop::Transport> {
    return std::make_unique<Transport>(opts, inner ? inner() : nullptr);
  };
}

}  // namespace sockit::ws
