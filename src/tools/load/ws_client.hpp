// Internal header of sockit::loadgen: the client side of RFC 6455 for `sockit load irc
// --websocket`, sans-I/O. The opening handshake (a GET with a random Sec-WebSocket-Key, then the
// server's 101 checked: Upgrade, Sec-WebSocket-Accept from ws::accept_key, the subprotocol asked
// for) and the frames: masked frames out, unmasked frames in (a masked server frame, reserved
// bits, an unknown opcode or a fragmented or long control frame is a protocol error).
//
// Written here rather than through libwslay's client mode: the generator only ever writes whole
// small messages and reads whole frames from its own buffer, so encoding is one header and a
// masked copy, and decoding one bounded header parse over the bytes just read -- no callbacks,
// no per-message queue or copy inside wslay, which would sit on the generator's core, the one
// that saturates first (docs/LOAD.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sockit::load::wsc {

inline constexpr std::uint8_t kContinuation = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9,
                              kPong = 0xA;
/// The largest server answer head (status line and headers) the client reads.
inline constexpr std::size_t kMaxAnswer = 8192;

/// 16 random bytes in base64 (OpenSSL's RAND_bytes).
std::string make_key();
/// The upgrade request for `host` (the Host header), `path`, `key`, and `subprotocol` ("" none).
std::string upgrade_request(std::string_view host, std::string_view path, std::string_view key,
                            std::string_view subprotocol);

enum class Status { incomplete, ok, bad };

/// Checks the server's answer in `data` (the bytes received so far): ok once its head is in and
/// is a 101 with Upgrade: websocket, Connection: upgrade, the Sec-WebSocket-Accept of `key`, and
/// `subprotocol` (or none when ""); `consumed` is then the head's length (frames may follow).
/// bad with `why` in words: another status (its status line), a missing or wrong header, a head
/// over kMaxAnswer.
Status check_answer(std::string_view data, std::string_view key, std::string_view subprotocol, std::size_t& consumed,
                    std::string& why);

/// The masking keys of one worker's frames: xorshift64 seeded from RAND_bytes. RFC 6455 wants
/// them unpredictable to the page's script (cache poisoning through a proxy); a load generator has
/// no script, so a fast generator seeded once is enough.
class Masks {
 public:
  Masks();
  std::uint32_t next() noexcept {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return static_cast<std::uint32_t>(s_ >> 16);
  }

 private:
  std::uint64_t s_ = 0;
};

/// Appends one final frame of `opcode` carrying `payload`, masked with `mask`.
void append_frame(std::string& out, std::uint8_t opcode, std::string_view payload, std::uint32_t mask);

struct Frame {
  bool fin = false;
  std::uint8_t opcode = 0;
  std::string_view payload;  ///< points into the data parsed
};

/// Parses one server frame at the start of `data`: ok with `consumed` its length; incomplete;
/// bad with `why` (masked, reserved bits, unknown opcode, a control frame fragmented or over 125
/// bytes, a payload over `max_payload`).
Status parse_frame(std::string_view data, std::size_t max_payload, Frame& f, std::size_t& consumed, std::string& why);

}  // namespace sockit::load::wsc
