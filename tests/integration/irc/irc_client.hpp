// Test helpers (integ_irc): a `sockit chat-server` child on 127.0.0.1:0 and a raw IRC client
// over a real loopback socket.
#pragma once

#include "support/support.hpp"

#include "sockit/irc/message.hpp"
#include "sockit/net/socket.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sockit::irc::itest {

using namespace std::chrono_literals;

class ChatServer {
 public:
  /// Starts the server with `args` after `chat-server -l 127.0.0.1:0 -q`; fails the test if no
  /// "listening on" line comes within 10 s.
  explicit ChatServer(std::vector<std::string> args = {}) : child_(start(args)) {
    banner_ = child_.read_stderr_until("\n", 10s);
    auto pos = banner_.find("listening on 127.0.0.1:");
    if (pos == std::string::npos) {
      ADD_FAILURE() << "no banner: " << banner_;
      return;
    }
    port_ = static_cast<std::uint16_t>(std::stoi(banner_.substr(pos + 23)));
  }
  std::uint16_t port() const { return port_; }
  Address address() const { return Address::ipv4_loopback(port_); }
  test::Child& child() { return child_; }
  const std::string& banner() const { return banner_; }

 private:
  static test::Child start(const std::vector<std::string>& args) {
    std::vector<std::string> argv{test::sockit_bin(), "chat-server", "-l", "127.0.0.1:0", "-q"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::Child::spawn(argv);
  }
  test::Child child_;
  std::string banner_;
  std::uint16_t port_ = 0;
};

class Client {
 public:
  explicit Client(const Address& server, std::optional<Address> source = std::nullopt) {
    ConnectOptions co;
    co.source = source;
    auto s = TcpStream::connect(server, Deadline::after(5s), co);
    if (!s) {
      ADD_FAILURE() << s.error().message();
      return;
    }
    stream_ = std::move(*s);
  }
  bool connected() const { return stream_.is_open(); }
  TcpStream& stream() { return stream_; }

  void raw(std::string_view bytes) {
    auto r = stream_.write_all(bytes, Deadline::after(5s));
    if (!r) ADD_FAILURE() << "write: " << r.error().message();
  }
  void send(std::string_view line) { raw(std::string(line) + "\r\n"); }

  /// Next line (without CR LF), or nullopt at EOF / timeout.
  std::optional<std::string> line(std::chrono::milliseconds timeout = 5s) {
    Deadline dl = Deadline::after(timeout);
    while (true) {
      auto eol = buf_.find("\r\n");
      if (eol != std::string::npos) {
        std::string l = buf_.substr(0, eol);
        buf_.erase(0, eol + 2);
        return l;
      }
      if (eof_) return std::nullopt;
      char tmp[8192];
      auto n = stream_.read_some(std::as_writable_bytes(std::span(tmp)), dl);
      if (!n || *n == 0) {
        eof_ = n.ok();
        if (!n) return std::nullopt;
        continue;
      }
      buf_.append(tmp, *n);
    }
  }
  /// Reads lines until one whose command (or numeric) is `cmd`; returns it or "" on timeout.
  std::string expect(std::string_view cmd, std::chrono::milliseconds timeout = 5s) {
    return expect_any({cmd}, timeout);
  }
  std::string expect_any(std::initializer_list<std::string_view> cmds, std::chrono::milliseconds timeout = 5s) {
    Deadline dl = Deadline::after(timeout);
    while (!dl.expired()) {
      auto l = line(std::chrono::duration_cast<std::chrono::milliseconds>(dl.remaining()) + 1ms);
      if (!l) break;
      seen_.push_back(*l);
      auto p = parse(*l);
      for (auto cmd : cmds) {
        if (p && p.message->command == cmd) return *l;
      }
    }
    ADD_FAILURE() << "no " << *cmds.begin() << " within timeout; saw:\n" << dump();
    return "";
  }
  /// True when the server closes the connection within `timeout` (lines before EOF are kept).
  bool closed_within(std::chrono::milliseconds timeout) {
    Deadline dl = Deadline::after(timeout);
    while (!dl.expired()) {
      auto l = line(std::chrono::duration_cast<std::chrono::milliseconds>(dl.remaining()) + 1ms);
      if (!l) return eof_;
      seen_.push_back(*l);
    }
    return false;
  }
  void register_as(std::string_view nick) {
    send("NICK " + std::string(nick));
    send("USER " + std::string(nick) + " 0 * :Test " + std::string(nick));
    expect_any({"376", "422"});  // end of the welcome burst (MOTD or no MOTD)
  }
  std::string dump() const {
    std::string s;
    for (auto& l : seen_) s += "  " + l + "\n";
    return s;
  }
  const std::vector<std::string>& seen() const { return seen_; }

 private:
  TcpStream stream_;
  std::string buf_;
  bool eof_ = false;
  std::vector<std::string> seen_;
};

}  // namespace sockit::irc::itest
