// Public header. Lifecycle: the sans-I/O state machine of one stream connection and its output
// policy, driven both by the reactor's Connection and by the blocking models' driver
// (serve/blocking.cpp), so the two cannot disagree on when to pause, FIN, linger or close.
// It performs no I/O and reads no clock: callers report what happened and act on the answers.
//
// States and the only legal transitions (every change goes through one member function):
//
//   connecting --opened()--> open
//   open ------------peer_fin()---------> read_closed
//   open ------------request_shutdown()-> draining
//   read_closed -----request_shutdown()-> read_closed_draining
//   open ------------request_half_close()-> draining            (keeps reading)
//   read_closed -----request_half_close()-> read_closed_draining
//   draining --------peer_fin()---------> read_closed_draining
//   draining --------fin_sent()---------> write_closed       (linger: read and discard;
//                                                             half-close: read and deliver)
//   read_closed_draining --fin_sent()---> closed
//   write_closed ----peer_fin()---------> closed
//   any -------------closed()-----------> closed              (error, timeout, close())
//
//   connecting   created, not started yet, or the transport's handshake is running
//   open         both directions flow
//   read_closed  the peer's FIN came; we may still send
//   draining     a shutdown was asked: queued output goes out, then our FIN; new output is dropped
//   read_closed_draining  both of the above
//   write_closed our FIN is out: input is read and discarded until the peer's FIN or the linger
//                deadline, so the close is a FIN, never an RST over unread data (RFC 1122
//                4.2.2.13; nginx's lingering close). After request_half_close() instead, input
//                is still delivered until the peer's FIN (a proxy's or nc's half-close: the other
//                direction goes on as long as the peer sends)
//   closed       the descriptor is gone
//
// Output policy beside it: reading pauses at high_water queued bytes and resumes at low_water;
// past max_output (if nonzero) the connection must close (send_queue_full); a shared
// BufferBudget may pause reading too; the user may pause it. Size: two bytes.
// Thread affinity: none (plain data; its owner serializes the calls).
#pragma once

#include "sockit/loop/timer_queue.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sockit::loop {

class BufferBudget;

enum class ConnState : std::uint8_t { connecting, open, read_closed, draining, read_closed_draining, write_closed, closed };
std::string_view to_string(ConnState s) noexcept;

/// The output limits of the policy (ConnectionOptions and serve::ServerOptions carry them).
struct WaterMarks {
  std::size_t high_water;
  std::size_t low_water;
  std::size_t max_output;  ///< 0 = no cap
};

class Lifecycle {
 public:
  ConnState state() const noexcept { return state_; }

  // --- transitions ---
  /// connecting -> open (started, handshake done).
  void opened() noexcept {
    if (state_ == ConnState::connecting) state_ = ConnState::open;
  }
  /// The peer's FIN. True when the connection is finished by it (our FIN was already out).
  bool peer_fin() noexcept {
    switch (state_) {
      case ConnState::open: state_ = ConnState::read_closed; return false;
      case ConnState::draining: state_ = ConnState::read_closed_draining; return false;
      case ConnState::write_closed: state_ = ConnState::closed; return true;
      default: return false;
    }
  }
  /// Asks for a half-close once the output is out. False when already shutting down or closed.
  bool request_shutdown() noexcept {
    if (state_ == ConnState::open || state_ == ConnState::connecting) {
      keep_reading_ = false;
      state_ = ConnState::draining;
    } else if (state_ == ConnState::read_closed) {
      keep_reading_ = false;
      state_ = ConnState::read_closed_draining;
    } else {
      return false;
    }
    return true;
  }
  /// Asks for a half-close that keeps delivering input: the same transitions as
  /// request_shutdown(), but once our FIN is out (write_closed) input is not lingered over and
  /// discarded; it is delivered until the peer's FIN, which then finishes the connection. False
  /// when already shutting down or closed (a pending request_shutdown() stays a linger).
  bool request_half_close() noexcept {
    if (!request_shutdown()) return false;
    keep_reading_ = true;
    return true;
  }
  /// Our FIN went out (the output had drained). True when the connection is now finished (the
  /// peer's FIN had come); false: linger (write_closed).
  bool fin_sent() noexcept {
    if (state_ == ConnState::read_closed_draining) {
      state_ = ConnState::closed;
      return true;
    }
    if (state_ == ConnState::draining) state_ = ConnState::write_closed;
    return false;
  }
  void closed() noexcept { state_ = ConnState::closed; }

  // --- queries ---
  bool started() const noexcept { return state_ != ConnState::connecting; }
  /// send() is taken (not yet shutting down, not closed).
  bool accepts_output() const noexcept {
    return state_ == ConnState::open || state_ == ConnState::read_closed || state_ == ConnState::connecting;
  }
  /// A shutdown was asked (draining, or our FIN is out).
  bool shutting_down() const noexcept {
    return state_ == ConnState::draining || state_ == ConnState::read_closed_draining || state_ == ConnState::write_closed;
  }
  /// Draining: the FIN goes out as soon as the output is empty.
  bool fin_pending() const noexcept { return state_ == ConnState::draining || state_ == ConnState::read_closed_draining; }
  bool write_shut() const noexcept { return state_ == ConnState::write_closed; }
  bool input_ended() const noexcept { return state_ == ConnState::read_closed || state_ == ConnState::read_closed_draining; }
  /// Our FIN is out and the peer's not yet: read and discard (not after request_half_close()).
  bool lingering() const noexcept { return state_ == ConnState::write_closed && !keep_reading_; }
  /// The shutdown asked is a half-close that keeps delivering input (request_half_close()).
  bool half_closing() const noexcept { return keep_reading_ && state_ != ConnState::closed; }

  // --- output policy ---
  /// Reading delivers input to the user now (not ended, not paused by anyone).
  bool wants_input() const noexcept {
    return !input_ended() && state_ != ConnState::closed && !lingering() && !user_paused_ && !backpressured_ &&
           !budget_paused_;
  }
  /// The descriptor should be read: wants_input(), or lingering (discard).
  bool reads() const noexcept { return wants_input() || lingering(); }
  bool backpressured() const noexcept { return backpressured_; }
  bool budget_paused() const noexcept { return budget_paused_; }
  bool user_paused() const noexcept { return user_paused_; }
  /// Returns whether reading was paused by the user before.
  bool set_user_paused(bool on) noexcept {
    bool was = user_paused_;
    user_paused_ = on;
    return was;
  }
  static bool over_cap(std::size_t queued, const WaterMarks& w) noexcept {
    return w.max_output != 0 && queued > w.max_output;
  }
  /// Applies the water marks to `queued` bytes: pause at high_water, resume at low_water. True
  /// when reading just resumed (edge-triggered callers must read again: no new edge comes).
  bool water_marks(std::size_t queued, const WaterMarks& w) noexcept {
    if (backpressured_ && queued <= w.low_water) {
      backpressured_ = false;
      return true;
    }
    if (queued >= w.high_water) backpressured_ = true;
    return false;
  }
  /// Reports `held` queued bytes to `budget` (`reported` is what was reported last) and pauses
  /// or resumes reading by it (never pauses once closed: `may_pause` false). True when reading
  /// just resumed.
  bool sync_budget(BufferBudget& budget, std::size_t& reported, std::size_t held, bool may_pause) noexcept;

  /// The idle rule: nothing in either direction for `timeout` (0 = never).
  static bool idle_expired(TimePoint last, TimePoint now, std::chrono::nanoseconds timeout) noexcept {
    return timeout > std::chrono::nanoseconds::zero() && now - last >= timeout;
  }
  static TimePoint idle_deadline(TimePoint last, std::chrono::nanoseconds timeout) noexcept {
    return last + std::chrono::duration_cast<Duration>(timeout);
  }

 private:
  ConnState state_ = ConnState::connecting;
  bool user_paused_ : 1 = false;
  bool backpressured_ : 1 = false;
  bool budget_paused_ : 1 = false;
  bool keep_reading_ : 1 = false;  // request_half_close(): write_closed delivers input
};

}  // namespace sockit::loop
