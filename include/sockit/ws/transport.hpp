// Public header. ws::Transport: a WebSocket server (RFC 6455) on a connection of the event loop
// or of any server model, through the loop::Transport seam (ServerOptions::transport =
// ws::transport_factory(opts)). It layers over another transport (TLS: wss://) or the plain
// socket, and carries a line protocol (IRC, per the IRCv3 WebSocket extension): one line per
// message, both ways, so the server above sees and writes ordinary CRLF-terminated lines.
//
//   handshake(): the inner transport's handshake first, then the HTTP/1.1 upgrade request
//     (ws/handshake.hpp: bounded, 431/400/403/405/426 answered and the connection failed once
//     the answer is out), then 101. The whole opening exchange is bounded by handshake_timeout
//     (slowloris: the driver closes the connection when it passes).
//   read(): frames through libwslay (server side: client frames must be masked, else close
//     1002); a whole message (continuation frames joined, at most max_message bytes, else close
//     1009; text frames valid UTF-8, else close 1007) becomes one line: trailing CR/LF stripped,
//     anything after an inner CR or LF dropped, CRLF appended. Ping is answered with pong; a
//     close frame is answered with the same status and read() then returns 0 (end of stream).
//   write()/writev(): each CRLF-terminated line becomes one message (text frames, invalid UTF-8
//     replaced by U+FFFD, or binary frames with binary.ircv3.net); a partial line waits for its
//     end. EAGAIN while more than 64 KiB of frames wait for the socket (the caller's queue and
//     its limits hold the rest).
//   shutdown_write(): a close frame (1000) then the inner transport's shutdown.
#pragma once

#include "sockit/loop/transport.hpp"
#include "sockit/ws/handshake.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

struct wslay_event_context;

namespace sockit::ws {

inline constexpr std::string_view kTextIrc = "text.ircv3.net";
inline constexpr std::string_view kBinaryIrc = "binary.ircv3.net";

struct Options {
  Policy policy{{}, {std::string(kTextIrc), std::string(kBinaryIrc)}};
  std::size_t max_request = 8192;   ///< HTTP request head limit (-> 431)
  std::size_t max_message = 16384;  ///< one received message (-> close 1009)
  std::chrono::nanoseconds handshake_timeout = std::chrono::seconds(10);
};

class Transport final : public loop::Transport {
 public:
  /// `inner`: the transport under the WebSocket framing (TLS), or nullptr for the plain socket.
  explicit Transport(Options opts, std::unique_ptr<loop::Transport> inner = nullptr);
  ~Transport() override;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  ssize_t read(int fd, std::span<std::byte> buf) noexcept override;
  ssize_t write(int fd, std::span<const std::byte> bytes) noexcept override;
  ssize_t writev(int fd, const iovec* iov, int n) noexcept override;
  int shutdown_write(int fd) noexcept override;
  bool handshake(int fd) noexcept override;
  int failure() const noexcept override;
  std::chrono::nanoseconds handshake_timeout() const noexcept override { return opts_.handshake_timeout; }
  /// Passed to the inner transport (wss: TLS counts an unfinished handshake).
  void handshake_expired() noexcept override {
    if (inner_) inner_->handshake_expired();
  }
  loop::Want wants() const noexcept override;
  std::size_t pending_input() const noexcept override;
  std::size_t pending_output() const noexcept override;
  ssize_t flush(int fd) noexcept override;
  bool drains_on_short_io() const noexcept override { return false; }

  /// The subprotocol agreed ("" = none: text frames).
  const std::string& subprotocol() const noexcept { return subprotocol_; }
  /// The HTTP status answered (0 while the request is not in yet).
  int http_status() const noexcept { return status_; }
  /// Why the handshake failed, in words ("" if it did not).
  const std::string& failure_text() const noexcept { return failure_text_; }
  /// The close status sent (0: none yet).
  std::uint16_t close_sent() const noexcept;
  /// The inner transport (TLS), or nullptr.
  loop::Transport* inner() const noexcept { return inner_.get(); }

  // libwslay's callbacks (internal).
  ssize_t on_recv(std::uint8_t* buf, std::size_t len) noexcept;
  ssize_t on_send(const std::uint8_t* data, std::size_t len) noexcept;
  void on_message(int opcode, const std::uint8_t* msg, std::size_t len) noexcept;

 private:
  enum class Phase : std::uint8_t { inner, request, answering, open, failed };
  ssize_t inner_read(int fd, std::span<std::byte> buf) noexcept;
  ssize_t inner_write(int fd, std::span<const std::byte> bytes) noexcept;
  bool start_framing() noexcept;
  void close_with(std::uint16_t code, std::string_view reason) noexcept;
  ssize_t pump_send() noexcept;
  ssize_t drain_out() noexcept;
  ssize_t queue_bytes(std::span<const std::byte> bytes) noexcept;
  void queue_line(std::string_view line) noexcept;
  bool ready(int fd) noexcept;

  Options opts_;
  std::unique_ptr<loop::Transport> inner_;
  wslay_event_context* ctx_ = nullptr;
  Phase phase_ = Phase::inner;
  int fd_ = -1;
  int failure_ = 0;
  int status_ = 0;
  bool binary_ = false;
  bool eof_ = false;          ///< the peer's end (close frame or FIN) seen
  bool shut_pending_ = false; ///< shutdown_write() asked: inner shutdown once frames are out
  int send_errno_ = 0;
  int recv_errno_ = 0;
  std::string subprotocol_;
  std::string failure_text_;
  std::string request_;   ///< the request head as read; after it, the peer's first frame bytes
  std::size_t early_ = 0; ///< offset in request_ of bytes not yet given to libwslay
  std::string answer_;    ///< the HTTP answer not yet written
  std::string in_;        ///< decoded lines not yet read
  std::size_t in_pos_ = 0;
  std::string partial_;   ///< a written line without its end yet
  std::string out_;       ///< frames libwslay produced, written in one call (header and payload together)
  std::size_t out_pos_ = 0;
};

/// For ServerOptions::transport: one ws::Transport per connection over `inner` (TLS) or the
/// plain socket when `inner` is empty or makes nullptr.
loop::TransportFactory transport_factory(Options opts, loop::TransportFactory inner = {});

/// `line` as valid UTF-8: every byte that starts no valid sequence becomes U+FFFD.
std::string to_valid_utf8(std::string_view line);

}  // namespace sockit::ws
