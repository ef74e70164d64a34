// Test helpers (integ_irc): a `sockit chat-server` child on 127.0.0.1:0 and a raw IRC client
// over a real loopback socket.
#pragma once

#include "support/support.hpp"

#include "sockit/irc/message.hpp"
#include "sockit/net/socket.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sockit::irc::itest {

using namespace std::chrono_literals;

class ChatServer {
 public:
  /// Starts the server with `args` after `chat-server -l 127.0.0.1:0 -q`; fails the test if no
  /// "listening on" line comes within 10 s. A thread drains the server's stderr for its whole life
  /// (the server logs per connection: an undrained pipe fills at 64 KiB and the server stalls on
  /// write(2)); the last kLogKeep bytes are kept for wait_log() and failure messages.
  explicit ChatServer(std::vector<std::string> args = {}) : child_(start(args)) {
    if (::pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
    drain_ = std::thread([this] { drain(); });
    // The banner, after the line saying why io_uring is not used where the kernel lacks it.
    banner_ = wait_log(" listening on ", 10s);
    auto pos = banner_.find("listening on 127.0.0.1:");
    if (pos == std::string::npos) {
      ADD_FAILURE() << "no banner: " << banner_;
      return;
    }
    port_ = static_cast<std::uint16_t>(std::stoi(banner_.substr(pos + 23)));
  }
  ChatServer(const ChatServer&) = delete;
  ChatServer& operator=(const ChatServer&) = delete;
  ~ChatServer() {
    if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
    if (drain_.joinable()) drain_.join();
    for (int fd : wake_) {
      if (fd >= 0) ::close(fd);
    }
  }
  std::uint16_t port() const { return port_; }
  Address address() const { return Address::ipv4_loopback(port_); }
  /// For pid(), signal() and wait(); stderr is this object's (use wait_log / log, not read_stderr).
  test::Child& child() { return child_; }
  const std::string& banner() const { return banner_; }

  static constexpr std::size_t kLogKeep = 256 * 1024;

  /// Waits until `needle` appears in what the server wrote after the previous wait_log (or the
  /// stderr pipe closes, or `timeout`); returns that new text, up to what has arrived by then
  /// (like Child::read_stderr_until, but the pipe keeps being drained in between). An empty
  /// needle waits for EOF.
  std::string wait_log(const std::string& needle, std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    auto found = [&] {
      std::size_t from = cursor_ > dropped_ ? cursor_ - dropped_ : 0;
      return !needle.empty() && log_.find(needle, from) != std::string::npos;
    };
    cv_.wait_for(lk, timeout, [&] { return eof_ || found(); });
    std::size_t from = cursor_ > dropped_ ? cursor_ - dropped_ : 0;
    std::string out = log_.substr(from);
    cursor_ = dropped_ + log_.size();
    return out;
  }
  /// The last kLogKeep bytes of stderr (for failure messages).
  std::string log() const {
    std::lock_guard lk(mu_);
    return log_;
  }
  /// Bytes read from the server's stderr so far (all of them, not just the kept tail).
  std::size_t log_bytes() const {
    std::lock_guard lk(mu_);
    return dropped_ + log_.size();
  }

 private:
  static test::Child start(const std::vector<std::string>& args) {
    std::vector<std::string> argv{test::sockit_bin(), "chat-server", "-l", "127.0.0.1:0", "-q"};
    // SOCKIT_TEST_CHAT_BACKEND=uring (the ctest instances uring.integ_irc.*) runs every server of
    // the suite on that poller, unless the test picks its own backend.
    const char* backend = std::getenv("SOCKIT_TEST_CHAT_BACKEND");
    if (backend != nullptr && *backend != '\0' &&
        std::find(args.begin(), args.end(), "--backend") == args.end()) {
      argv.insert(argv.end(), {"--backend", backend});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return test::Child::spawn(argv);
  }
  void drain() {
    const int fd = child_.stderr_fd();
    char buf[16384];
    for (;;) {
      pollfd p[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (p[1].revents != 0) return;  // the destructor
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      std::lock_guard lk(mu_);
      if (n <= 0) {
        eof_ = true;
        cv_.notify_all();
        return;
      }
      log_.append(buf, static_cast<std::size_t>(n));
      if (log_.size() > kLogKeep) {
        const std::size_t cut = log_.size() - kLogKeep;
        log_.erase(0, cut);
        dropped_ += cut;
      }
      cv_.notify_all();
    }
  }

  test::Child child_;
  int wake_[2] = {-1, -1};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string log_;          // the kept tail
  std::size_t dropped_ = 0;  // bytes cut from the front of log_
  std::size_t cursor_ = 0;   // absolute offset wait_log has returned up to
  bool eof_ = false;
  std::thread drain_;  // last: started after everything it uses exists
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

/// The SASL PLAIN token (RFC 4616: authzid = authcid = `user`), base64 for AUTHENTICATE.
inline std::string plain(std::string_view user, std::string_view pass) {
  std::string in = std::string(user) + '\0' + std::string(user) + '\0' + std::string(pass);
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace sockit::irc::itest
