// sockit chat: a terminal IRC client. One poll() loop multiplexes the terminal, the server socket
// and a signal self-pipe; the protocol state lives in the sans-I/O core (src/tools/chat).
#include "common/command.hpp"

#include "chat/ui.hpp"

#include "sockit/net/address.hpp"
#include "sockit/net/fd.hpp"
#include "sockit/net/parse.hpp"
#include "sockit/irc/names.hpp"
#include "sockit/net/resolver.hpp"
#include "sockit_version.hpp"
#include "tools/chat/client.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace sockit::chat;
using namespace std::chrono_literals;
using sockit::cli::kExitFailure;
using sockit::cli::kExitOk;

constexpr std::size_t kMaxSendQueue = 256 * 1024;  // bytes waiting for the server
constexpr std::size_t kMaxInboundLine = 16 * 1024;  // tags (8191) + body (512) with room to spare

struct Options {
  std::string target;
  std::string port;
  std::string nick;
  std::vector<std::string> join;
  std::string user, realname, password;
  bool plain = false;
  bool plain_mode = false;  // --plain, or stdin/stdout not a terminal
  bool no_reconnect = false;
  bool timestamps = false;
  bool no_colour = false;
  std::string reconnect_min = "1s", reconnect_max = "60s";
  std::string lag_interval = "30s", connect_timeout = "10s";
};

// ---- signals: a self-pipe for the loop, a crash handler that restores the terminal ----------
int g_signal_pipe[2] = {-1, -1};

void on_signal(int sig) {
  const int saved = errno;
  const auto b = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe[1], &b, 1);
  errno = saved;
}

void on_crash(int sig) {
  curses_emergency_restore();
  std::signal(sig, SIG_DFL);  // SA_RESETHAND did it already; be explicit
  ::raise(sig);
}

void install_signals() {
  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) ::sigaction(s, &sa, nullptr);
  struct sigaction crash {};
  crash.sa_handler = on_crash;
  sigemptyset(&crash.sa_mask);
  crash.sa_flags = SA_RESETHAND | SA_NODEFER;
  for (int s : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) ::sigaction(s, &crash, nullptr);
}

void restore_signals() {
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) std::signal(s, SIG_DFL);
  for (int& fd : g_signal_pipe) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

std::string seconds(std::chrono::milliseconds d) { return fmt::format("{:.1f}s", static_cast<double>(d.count()) / 1000.0); }

// ---- the session: connection, queues, reconnects ----------------------------------------------
class Session {
 public:
  Session(const Options& o, Target target, Client& client, Ui& ui)
      : opts_(o), target_(std::move(target)), client_(client), ui_(ui),
        backoff_(to_ms(o.reconnect_min), to_ms(o.reconnect_max), std::random_device{}()),
        connect_timeout_(to_ms(o.connect_timeout)) {}

  int run();

 private:
  static std::chrono::milliseconds to_ms(const std::string& s) {
    auto d = sockit::parse_duration(s);
    return d ? std::chrono::duration_cast<std::chrono::milliseconds>(*d) : 1000ms;
  }
  void start_connect(SteadyClock::time_point now);
  bool try_next_address(SteadyClock::time_point now);
  void finish_connect(SteadyClock::time_point now);
  void lost(std::string reason, SteadyClock::time_point now);
  bool stranded() const;
  void give_up();
  void read_socket(SteadyClock::time_point now);
  void write_socket(SteadyClock::time_point now);
  void flush_client(SteadyClock::time_point now);
  void render(SteadyClock::time_point now) { ui_.show(client_, client_.take_events(), now); }

  const Options& opts_;
  Target target_;
  Client& client_;
  Ui& ui_;
  Backoff backoff_;
  std::chrono::milliseconds connect_timeout_;

  sockit::Fd sock_;
  bool connecting_ = false;
  std::vector<sockit::Address> addrs_;
  std::size_t next_addr_ = 0;
  std::string last_error_;
  SteadyClock::time_point connect_deadline_{};
  std::optional<SteadyClock::time_point> reconnect_at_;
  std::optional<SteadyClock::time_point> quit_deadline_;
  std::string inbuf_, outq_;
  bool ever_registered_ = false;
  bool quit_when_registered_ = false;
  int exit_code_ = -1;
};

void Session::start_connect(SteadyClock::time_point now) {
  reconnect_at_.reset();
  client_.note(LineKind::info, fmt::format("Connecting to {} port {}...", target_.host, target_.port));
  render(now);  // name resolution may take a moment: show what we are doing first
  auto addrs = sockit::Resolver::resolve(target_.host, std::to_string(target_.port));
  if (!addrs) {
    last_error_ = addrs.error().message();
    lost(last_error_, now);
    return;
  }
  addrs_ = std::move(*addrs);
  next_addr_ = 0;
  if (!try_next_address(now)) lost(last_error_, now);
}

// Starts a non-blocking connect to the next address; false when none is left.
bool Session::try_next_address(SteadyClock::time_point now) {
  while (next_addr_ < addrs_.size()) {
    const sockit::Address& a = addrs_[next_addr_++];
    sockit::Fd fd(::socket(a.sockaddr_ptr()->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      last_error_ = fmt::format("socket: {}", std::strerror(errno));
      continue;
    }
    if (::connect(fd.get(), a.sockaddr_ptr(), a.length()) == 0 || errno == EINPROGRESS) {
      sock_ = std::move(fd);
      connecting_ = true;
      connect_deadline_ = now + connect_timeout_;
      last_error_ = fmt::format("connect {}", a.to_string());
      return true;
    }
    last_error_ = fmt::format("connect {}: {}", a.to_string(), std::strerror(errno));
  }
  return false;
}

void Session::finish_connect(SteadyClock::time_point now) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(sock_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    last_error_ += fmt::format(": {}", std::strerror(err));
    sock_.reset();
    connecting_ = false;
    if (!try_next_address(now)) lost(last_error_, now);
    return;
  }
  connecting_ = false;
  inbuf_.clear();
  outq_.clear();
  client_.connected(now);
}

void Session::lost(std::string reason, SteadyClock::time_point now) {
  const bool was_up = sock_.valid() && !connecting_;
  sock_.reset();
  connecting_ = false;
  inbuf_.clear();
  outq_.clear();
  if (was_up) {
    client_.disconnected(reason);
  } else {
    client_.note(LineKind::error, reason);
  }
  if (client_.quit_requested()) {
    exit_code_ = kExitOk;
    return;
  }
  if (opts_.no_reconnect) {
    exit_code_ = kExitFailure;
    return;
  }
  if (stranded()) {
    give_up();
    return;
  }
  const auto delay = backoff_.next();
  reconnect_at_ = now + delay;
  client_.note(LineKind::info, fmt::format("Reconnecting in {} (attempt {})", seconds(delay), backoff_.attempt()));
}

// Line mode (`printf 'hi\n' | sockit chat HOST PORT`) whose input has ended and that never got
// through to the server: nobody is there to wait for a retry.
bool Session::stranded() const { return opts_.plain_mode && ui_.eof() && !ever_registered_; }

void Session::give_up() {
  client_.note(LineKind::error, fmt::format("cannot reach {} port {} and standard input has ended: giving up",
                                            target_.host, target_.port));
  reconnect_at_.reset();
  exit_code_ = kExitFailure;
}

void Session::read_socket(SteadyClock::time_point now) {
  char buf[16384];
  const ssize_t n = ::recv(sock_.get(), buf, sizeof buf, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    lost(fmt::format("read: {}", std::strerror(errno)), now);
    return;
  }
  if (n == 0) {
    lost("the server closed the connection", now);
    return;
  }
  inbuf_.append(buf, static_cast<std::size_t>(n));
  std::size_t start = 0;
  for (std::size_t nl = inbuf_.find('\n'); nl != std::string::npos; nl = inbuf_.find('\n', start)) {
    const auto before = client_.state();
    client_.receive_line(std::string_view(inbuf_).substr(start, nl - start), now);
    start = nl + 1;
    if (before != State::registered && client_.state() == State::registered) {
      ever_registered_ = true;
      backoff_.reset();
      if (quit_when_registered_) client_.quit("Leaving");
    }
  }
  inbuf_.erase(0, start);
  if (inbuf_.size() > kMaxInboundLine) lost("the server sent a line over 16 KiB", now);
}

void Session::write_socket(SteadyClock::time_point now) {
  while (!outq_.empty()) {
    const ssize_t n = ::send(sock_.get(), outq_.data(), outq_.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      lost(fmt::format("write: {}", std::strerror(errno)), now);
      return;
    }
    outq_.erase(0, static_cast<std::size_t>(n));
  }
}

void Session::flush_client(SteadyClock::time_point now) {
  auto out = client_.take_output();
  if (!sock_.valid() || connecting_) return;  // nothing to send to: dropped (the core re-registers)
  for (auto& line : out) {
    if (outq_.size() + line.size() > kMaxSendQueue) {
      lost(fmt::format("send queue full ({} KiB): the server is not reading", kMaxSendQueue / 1024), now);
      return;
    }
    outq_ += line;
  }
  if (!outq_.empty()) write_socket(now);  // try at once; POLLOUT takes the rest
}

int Session::run() {
  start_connect(SteadyClock::now());
  if (exit_code_ >= 0) {
    render(SteadyClock::now());
    return exit_code_;
  }
  bool sigint_seen = false;
  while (true) {
    auto now = SteadyClock::now();
    if (auto why = client_.take_disconnect_request(); why && sock_.valid()) lost(*why, now);
    flush_client(now);
    if (client_.quit_requested()) {
      if (!sock_.valid() || connecting_ || client_.state() != State::quitting) exit_code_ = kExitOk;
      else if (!quit_deadline_) quit_deadline_ = now + 2s;  // wait for the server's ERROR + close
      else if (now >= *quit_deadline_) exit_code_ = kExitOk;
    }
    if (exit_code_ < 0 && reconnect_at_ && stranded()) give_up();
    render(now);
    if (exit_code_ >= 0) return exit_code_;
    if (reconnect_at_ && now >= *reconnect_at_) {
      start_connect(now);
      continue;
    }

    // poll: signals, stdin, the socket. The timeout wakes us for timers (lag, reconnect, quit).
    pollfd fds[3];
    nfds_t nfds = 0;
    fds[nfds++] = {g_signal_pipe[0], POLLIN, 0};
    const bool want_stdin = !ui_.eof();
    const nfds_t stdin_slot = nfds;
    if (want_stdin) fds[nfds++] = {STDIN_FILENO, POLLIN, 0};
    const nfds_t sock_slot = nfds;
    if (sock_.valid()) {
      short ev = connecting_ ? POLLOUT : static_cast<short>(POLLIN | (outq_.empty() ? 0 : POLLOUT));
      fds[nfds++] = {sock_.get(), ev, 0};
    }
    auto wake = now + 1s;
    if (reconnect_at_) wake = std::min(wake, *reconnect_at_);
    if (quit_deadline_) wake = std::min(wake, *quit_deadline_);
    if (connecting_) wake = std::min(wake, connect_deadline_);
    const auto timeout = std::max<long long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count() + 1);
    const int rc = ::poll(fds, nfds, static_cast<int>(timeout));
    now = SteadyClock::now();
    if (rc < 0 && errno != EINTR) {
      client_.note(LineKind::error, fmt::format("poll: {}", std::strerror(errno)));
      render(now);
      return kExitFailure;
    }
    if (rc > 0 && (fds[0].revents & POLLIN)) {
      unsigned char sigs[32];
      const ssize_t n = ::read(g_signal_pipe[0], sigs, sizeof sigs);
      for (ssize_t i = 0; i < n; ++i) {
        if (sigs[i] == SIGWINCH) {
          ui_.resize();
        } else if (sigs[i] == SIGINT && sigint_seen) {
          return kExitOk;  // a second Ctrl-C: do not wait for the server
        } else {
          sigint_seen = true;
          client_.quit(sigs[i] == SIGINT ? "Leaving" : "Terminated");
        }
      }
    }
    if (rc > 0 && want_stdin && (fds[stdin_slot].revents & (POLLIN | POLLHUP | POLLERR))) {
      ui_.on_readable(client_, now);
      if (ui_.eof() && !client_.quit_requested()) {
        // A script's stdin may end before we are even registered: run what it typed first.
        if (opts_.plain_mode && !ever_registered_) quit_when_registered_ = true;
        else client_.quit("Leaving");
      }
    }
    if (sock_.valid() && rc > 0 && nfds > sock_slot) {
      const short re = fds[sock_slot].revents;
      if (connecting_) {
        if (re & (POLLOUT | POLLERR | POLLHUP)) finish_connect(now);
      } else {
        if (re & (POLLIN | POLLHUP | POLLERR)) read_socket(now);
        if (sock_.valid() && !connecting_ && (re & POLLOUT)) write_socket(now);
      }
    }
    if (connecting_ && now >= connect_deadline_) {
      last_error_ += ": timed out";
      sock_.reset();
      connecting_ = false;
      if (!try_next_address(now)) lost(last_error_, now);
    }
    client_.tick(now);
  }
}

std::string default_nick() {
  const char* u = std::getenv("USER");
  std::string n = u ? u : "";
  if (n.empty() || !std::isalpha(static_cast<unsigned char>(n[0]))) n = "sockit";
  return n.substr(0, 9);
}

int run(Options& o) {
  if (o.target.find("ircs://") == 0) throw sockit::cli::UsageError("TLS (ircs://) is not supported yet");
  auto target = parse_target(o.target);
  if (!target) throw sockit::cli::UsageError(fmt::format("bad server address '{}' (want [irc://]HOST[:PORT])", o.target));
  if (!o.port.empty()) {
    auto port = sockit::Address::parse_port(o.port);
    if (!port || *port == 0) throw sockit::cli::UsageError(fmt::format("bad port '{}'", o.port));
    target->port = *port;
  }
  if (o.nick.empty()) o.nick = default_nick();
  if (!sockit::irc::valid_nick(o.nick, 64)) throw sockit::cli::UsageError(fmt::format("not a valid nick: '{}'", o.nick));
  for (const auto& d : {o.reconnect_min, o.reconnect_max, o.lag_interval, o.connect_timeout}) {
    if (!sockit::parse_duration(d)) throw sockit::cli::UsageError(fmt::format("bad duration '{}'", d));
  }

  Config cfg;
  cfg.nick = o.nick;
  cfg.user = o.user;
  cfg.realname = o.realname;
  cfg.password = o.password;
  cfg.version = "sockit chat " SOCKIT_VERSION;
  cfg.lag_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*sockit::parse_duration(o.lag_interval));
  for (const auto& j : o.join) {
    std::string_view list = j;
    while (!list.empty()) {
      const auto comma = list.find(',');
      std::string chan(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      if (chan.empty()) continue;
      if (chan.front() != '#' && chan.front() != '&') chan.insert(chan.begin(), '#');
      if (!sockit::irc::valid_channel(chan, 200)) throw sockit::cli::UsageError(fmt::format("not a valid channel: '{}'", chan));
      cfg.autojoin.push_back(chan);
    }
  }
  for (auto& c : target->channels) cfg.autojoin.push_back(c);

  UiOptions uo;
  uo.timestamps = o.timestamps;
  uo.colours = !o.no_colour;
  uo.target = fmt::format("{}:{}", target->host, target->port);
  const bool tty = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  o.plain_mode = o.plain || !tty;
  std::unique_ptr<Ui> ui = o.plain_mode ? make_plain_ui(uo) : make_curses_ui(uo);
  if (!ui->start()) return kExitFailure;

  Client client(cfg);
  install_signals();
  int rc = kExitFailure;
  try {
    Session session(o, *target, client, *ui);
    rc = session.run();
  } catch (...) {
    ui->stop();
    restore_signals();
    throw;
  }
  ui->stop();
  restore_signals();
  return rc;
}

}  // namespace

SOCKIT_COMMAND(chat, "chat", "a terminal IRC client (full screen, or --plain lines)",
               [](CLI::App& app) -> sockit::cli::Runner {
  auto o = std::make_shared<Options>();
  app.add_option("server", o->target, "[irc://]HOST[:PORT][/#chan], port 6667 by default")->required();
  app.add_option("port", o->port, "the port, as a second word (irssi -c HOST -p PORT style)");
  app.add_option("-n,--nick", o->nick, "nick name (default: $USER); taken -> nick_, nick__ ...");
  app.add_option("-j,--join", o->join, "channel(s) to join once registered (repeat or comma-separate)");
  app.add_flag("--plain", o->plain, "line mode on stdin/stdout for scripts (also when not a terminal)");
  app.add_option("--user", o->user, "USER name (default: the nick)");
  app.add_option("--realname", o->realname, "real name (default: \"sockit chat\")");
  app.add_option("--password", o->password, "server password (PASS)");
  app.add_flag("--no-reconnect", o->no_reconnect, "exit 1 instead of reconnecting when the server goes away");
  app.add_option("--reconnect-min", o->reconnect_min, "first reconnect delay (doubles, with jitter)")->capture_default_str();
  app.add_option("--reconnect-max", o->reconnect_max, "longest reconnect delay")->capture_default_str();
  app.add_option("--lag-interval", o->lag_interval, "how often a PING measures the lag")->capture_default_str();
  app.add_option("--connect-timeout", o->connect_timeout, "per-address connect timeout")->capture_default_str();
  app.add_flag("--timestamps", o->timestamps, "--plain: put HH:MM:SS before each line");
  app.add_flag("--no-color,--no-colour", o->no_colour, "full screen: strip mIRC colours instead of showing them");
  app.footer(
      "Commands: /join /part /msg /query /me /nick /topic /names /list /whois /away /raw /win N /quit /help.\n"
      "Exit status: 0 after /quit, Ctrl-D or Ctrl-C; 1 when the server cannot be reached or goes away\n"
      "with --no-reconnect; 2 for usage errors. See docs/CHAT.md.");
  return [o] { return run(*o); };
});
