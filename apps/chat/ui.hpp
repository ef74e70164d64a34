// Internal header of sockit chat: the two front ends (full-screen ncurses and --plain lines).
// Both run on the main thread, called from chat.cpp's sockit::loop::EventLoop when stdin is readable;
// neither blocks.
#pragma once

#include "tools/chat/client.hpp"

#include <memory>
#include <string>
#include <vector>

namespace sockit::chat {

struct UiOptions {
  bool timestamps = false;  ///< --plain: "HH:MM:SS " before each line
  bool colours = true;      ///< full screen: render mIRC colours (else strip them)
  std::string target;       ///< "host:port" for the status line
};

class Ui {
 public:
  virtual ~Ui() = default;
  /// Takes over the terminal. False (with a message on stderr) when it cannot.
  virtual bool start() = 0;
  /// Gives the terminal back; idempotent.
  virtual void stop() = 0;
  /// stdin is readable: reads once (never blocks) and feeds the client (input lines, keys).
  virtual void on_readable(Client& client, SteadyClock::time_point now) = 0;
  /// New lines and/or changed state: print them (plain) or redraw (full screen).
  virtual void show(Client& client, std::vector<Event> events, SteadyClock::time_point now) = 0;
  /// The terminal was resized (SIGWINCH).
  virtual void resize() {}
  /// stdin reached end of file (Ctrl-D in plain mode, or the pipe closed).
  bool eof() const noexcept { return eof_; }

 protected:
  bool eof_ = false;
};

std::unique_ptr<Ui> make_plain_ui(const UiOptions& options);
std::unique_ptr<Ui> make_curses_ui(const UiOptions& options);
/// For the crash-signal handler: ends curses mode if it is active (async-signal use, best effort).
void curses_emergency_restore() noexcept;

}  // namespace sockit::chat
