// sockit chat: a terminal IRC client on one sockit::loop::EventLoop (poll backend): the terminal,
// the server connection (Connector, then a loop::Connection), signals through the loop's signalfd
// and loop timers (tick, reconnect backoff, quit deadline); the protocol state lives in the
// sans-I/O core (src/tools/chat).
#include "common/blocked_signals.hpp"
#include "common/command.hpp"

#include "chat/ui.hpp"

#include "sockit/loop/connection.hpp"
#include "sockit/loop/connector.hpp"
#include "sockit/loop/event_loop.hpp"
#include "sockit/net/address.hpp"
#include "sockit/net/fd.hpp"
#include "sockit/net/parse.hpp"
#include "sockit/irc/names.hpp"
#include "sockit/net/resolver.hpp"
#include "sockit/tls/context.hpp"
#include "sockit/tls/transport.hpp"
#include "sockit_version.hpp"
#include "tools/chat/client.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
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
constexpr auto kQuitWait = 2s;  // after /quit, for the server's ERROR and close
constexpr auto kTick = 1s;      // Client::tick: lag PING and ping timeout

struct Options {
  std::string target;
  std::string port;
  std::string nick;
  std::vector<std::string> join;
  std::string user, realname, password;
  std::string sasl_user, sasl_pass_file;  // --sasl-user, --sasl-pass-file (or $SOCKIT_SASL_PASS)
  bool plain = false;
  bool plain_mode = false;  // --plain, or stdin/stdout not a terminal
  bool no_reconnect = false;
  bool timestamps = false;
  bool no_colour = false;
  std::string reconnect_min = "1s", reconnect_max = "60s";
  std::string lag_interval = "30s", connect_timeout = "10s";
  bool tls = false;           // --tls, or an ircs:// URL
  bool tls_insecure = false;  // do not check the server's certificate
  std::string tls_ca, tls_cert, tls_key;
};

// ---- signals: SIGINT, SIGTERM, SIGHUP and SIGWINCH reach the loop through its signalfd; a crash
// handler restores the terminal ---------------------------------------------------------------
constexpr int kLoopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};

void on_crash(int sig) {
  curses_emergency_restore();
  std::signal(sig, SIG_DFL);  // SA_RESETHAND did it already; be explicit
  ::raise(sig);
}

void install_crash_handlers() {
  struct sigaction crash {};
  crash.sa_handler = on_crash;
  sigemptyset(&crash.sa_mask);
  crash.sa_flags = static_cast<int>(SA_RESETHAND | SA_NODEFER);
  for (int s : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) ::sigaction(s, &crash, nullptr);
}

std::string seconds(std::chrono::milliseconds d) { return fmt::format("{:.1f}s", static_cast<double>(d.count()) / 1000.0); }

// ---- the session: connection, queues, reconnects, all on one sockit::loop::EventLoop ----------
//
// Event sources: the signalfd, stdin (the Ui reads it), the Connector while connecting, the
// ServerLink (a loop::Connection) once connected, and timers: the core's tick every second, the
// reconnect backoff, the quit deadline. After each event pump() hands the core's output to the
// link, acts on its requests (disconnect, quit) and redraws.
class Session;

// The server socket once connected: complete lines go to the Session, the end of the stream and
// errors too. detach() before the Session goes (or closes it itself): no call back after that.
// With --tls the bytes go through `tls_raw` (the tls::Transport `owned` is, which the Connection
// owns; null: plaintext), kept to tell a failed handshake in words.
class ServerLink final : public sockit::loop::Connection {
 public:
  ServerLink(sockit::loop::EventLoop& loop, sockit::Fd fd, const sockit::Address& to,
             const sockit::loop::ConnectionOptions& opts, Session* session, sockit::tls::Transport* tls_raw,
             std::unique_ptr<sockit::loop::Transport> owned)
      : Connection(loop, std::move(fd), to, opts, std::move(owned)), session_(session), tls_(tls_raw) {}
  void detach() noexcept { session_ = nullptr; }

 protected:
  void on_data(std::span<const std::byte> data) override;
  void on_eof() override;
  void on_closed(sockit::loop::CloseReason reason, std::error_code ec) override;

 private:
  Session* session_;
  sockit::tls::Transport* tls_;
};

class Session {
 public:
  Session(const Options& o, Target target, std::optional<sockit::tls::Context> tls, Client& client, Ui& ui,
          sockit::loop::EventLoop& loop)
      : opts_(o), target_(std::move(target)), tls_(std::move(tls)), client_(client), ui_(ui), loop_(loop),
        backoff_(to_ms(o.reconnect_min), to_ms(o.reconnect_max), std::random_device{}()),
        connect_timeout_(to_ms(o.connect_timeout)) {
    link_opts_.max_output = 0;  // flush_client() bounds the queue itself (kMaxSendQueue)
  }
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  int run();

  // From the ServerLink.
  void on_bytes(std::string_view bytes);
  void on_link_closed(std::string reason);
  /// The TLS handshake failed: `reason` in words. A certificate refused (or a server that speaks
  /// no TLS) ends the run with status 1: retrying cannot change the answer.
  void on_tls_failed(std::string reason);
  void on_tls_established(std::uint64_t gen);

 private:
  static std::chrono::milliseconds to_ms(const std::string& s) {
    auto d = sockit::parse_duration(s);
    return d ? std::chrono::duration_cast<std::chrono::milliseconds>(*d) : 1000ms;
  }
  void start_connect();
  void try_next_address();
  void on_connect_result(const sockit::Address& to, sockit::Result<sockit::Fd> r);
  void drop_link();
  void lost(std::string reason);
  bool stranded() const;
  void give_up();
  void flush_client();
  void on_stdin();
  void on_signal(int sig);
  void arm_quit_deadline();
  void pump();
  void render() { ui_.show(client_, client_.take_events(), SteadyClock::now()); }

  const Options& opts_;
  Target target_;
  std::optional<sockit::tls::Context> tls_;  // --tls: the client context (trust, our certificate)
  Client& client_;
  Ui& ui_;
  sockit::loop::EventLoop& loop_;
  Backoff backoff_;
  std::chrono::milliseconds connect_timeout_;
  sockit::loop::ConnectionOptions link_opts_;

  std::shared_ptr<sockit::loop::Connector> connector_;  // while connecting
  std::uint64_t connect_gen_ = 0;                        // tells a stale connect result
  std::shared_ptr<ServerLink> link_;                     // while connected
  sockit::tls::Transport* link_tls_ = nullptr;           // link_'s TLS transport (null: plaintext)
  std::vector<sockit::Address> addrs_;
  std::size_t next_addr_ = 0;
  std::string last_error_;
  sockit::loop::TimerId reconnect_timer_ = 0, quit_timer_ = 0, tick_timer_ = 0;
  bool stdin_watched_ = false;
  std::string inbuf_;
  bool ever_registered_ = false;
  bool quit_when_registered_ = false;
  bool sigint_seen_ = false;
  int exit_code_ = -1;
};

void ServerLink::on_data(std::span<const std::byte> data) {
  if (session_) session_->on_bytes(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

void ServerLink::on_eof() {
  if (session_) session_->on_link_closed("the server closed the connection");
}

void ServerLink::on_closed(sockit::loop::CloseReason reason, std::error_code ec) {
  if (!session_) return;
  if (tls_ != nullptr && !tls_->established() && !tls_->failure_text().empty()) {
    session_->on_tls_failed(tls_->failure_text());  // "tls: certificate verify failed (CN=x): ..."
  } else if (tls_ != nullptr && !tls_->established() && reason == sockit::loop::CloseReason::idle_timeout) {
    session_->on_link_closed("tls: handshake timed out");
  } else if (reason == sockit::loop::CloseReason::send_queue_full) {
    session_->on_link_closed(fmt::format("send queue full ({} KiB): the server is not reading", kMaxSendQueue / 1024));
  } else {
    session_->on_link_closed(ec ? fmt::format("connection lost: {}", ec.message()) : std::string("connection lost"));
  }
}

Session::~Session() {
  for (auto* t : {&reconnect_timer_, &quit_timer_, &tick_timer_}) {
    if (*t != 0) loop_.cancel(std::exchange(*t, 0));
  }
  if (stdin_watched_) loop_.unwatch(STDIN_FILENO);
  if (connector_) connector_->cancel();
  drop_link();
}

void Session::start_connect() {
  reconnect_timer_ = 0;
  client_.note(LineKind::info, fmt::format("Connecting to {} port {}...", target_.host, target_.port));
  render();  // name resolution may take a moment: show what we are doing first
  auto addrs = sockit::Resolver::resolve(target_.host, std::to_string(target_.port));
  if (!addrs) {
    last_error_ = addrs.error().message();
    lost(last_error_);
    return;
  }
  addrs_ = std::move(*addrs);
  next_addr_ = 0;
  try_next_address();
}

// A non-blocking connect to the next address through a loop::Connector (its timeout is
// --connect-timeout); lost() when none is left.
void Session::try_next_address() {
  if (next_addr_ >= addrs_.size()) {
    lost(last_error_);
    return;
  }
  const sockit::Address to = addrs_[next_addr_++];
  sockit::loop::ConnectorOptions co;
  co.attempt_timeout = connect_timeout_;
  co.max_attempts = 1;  // the reconnect backoff is ours (Backoff), after every address failed
  const std::uint64_t gen = ++connect_gen_;
  auto c = sockit::loop::Connector::start(loop_, to, co, [this, gen, to](sockit::Result<sockit::Fd> r) {
    if (gen != connect_gen_) return;
    ++connect_gen_;
    connector_.reset();
    on_connect_result(to, std::move(r));
  });
  if (gen == connect_gen_) connector_ = std::move(c);  // else it already answered (at once)
}

void Session::on_connect_result(const sockit::Address& to, sockit::Result<sockit::Fd> r) {
  if (!r) {
    const sockit::Error& e = r.error();
    if (e.code() == std::errc::timed_out) last_error_ = fmt::format("connect {}: timed out", to.to_string());
    else last_error_ = e.message();  // "connect ADDR: Connection refused", "socket: ..."
    try_next_address();
    return;
  }
  std::unique_ptr<sockit::tls::Transport> tls;
  if (tls_) {
    sockit::tls::TransportOptions to_opts;
    to_opts.server_name = target_.host;  // SNI, and the name (or address) the certificate must match
    to_opts.handshake_timeout = connect_timeout_;
    to_opts.on_established = [this, gen = connect_gen_] { on_tls_established(gen); };
    tls = std::make_unique<sockit::tls::Transport>(*tls_, to_opts);
  }
  sockit::tls::Transport* tls_raw = tls.get();
  link_tls_ = tls_raw;
  link_ = std::make_shared<ServerLink>(loop_, std::move(*r), to, link_opts_, this, tls_raw, std::move(tls));
  if (auto started = link_->start(); !started) {
    last_error_ = fmt::format("connect {}: {}", to.to_string(), started.error().message());
    drop_link();
    try_next_address();
    return;
  }
  inbuf_.clear();
  client_.connected(SteadyClock::now(), tls_raw != nullptr);  // with TLS: "TLS handshake" until it is done
}

// From the link's transport, in the loop's thread: the status line goes from "TLS handshake" to
// "registering" (NICK/USER, held by the link until now, go out).
void Session::on_tls_established(std::uint64_t gen) {
  if (gen != connect_gen_ || !link_ || link_tls_ == nullptr) return;
  client_.tls_established(link_tls_->version());
  render();
}

void Session::drop_link() {
  link_tls_ = nullptr;
  if (!link_) return;
  link_->detach();
  link_->close(sockit::loop::CloseReason::server_stopping);
  link_.reset();
}

void Session::on_link_closed(std::string reason) {
  lost(std::move(reason));
  pump();
}

void Session::on_tls_failed(std::string reason) {
  const bool final = reason.rfind("tls: certificate verify failed", 0) == 0 ||
                     reason.find("the peer does not speak TLS") != std::string::npos;
  if (!final) return on_link_closed(std::move(reason));
  drop_link();
  client_.note(LineKind::error, reason);
  if (!opts_.tls_insecure && reason.rfind("tls: certificate", 0) == 0) {
    client_.note(LineKind::info, "The server's certificate was refused: --tls-ca FILE names the CA that signed it, "
                                 "--tls-insecure skips the check");
  }
  exit_code_ = kExitFailure;
  pump();
}

void Session::lost(std::string reason) {
  const bool was_up = link_ != nullptr;
  drop_link();
  if (connector_) {
    connector_->cancel();
    connector_.reset();
    ++connect_gen_;
  }
  inbuf_.clear();
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
  reconnect_timer_ = loop_.run_after(delay, [this] {
    start_connect();
    pump();
  });
  client_.note(LineKind::info, fmt::format("Reconnecting in {} (attempt {})", seconds(delay), backoff_.attempt()));
}

// Line mode (`printf 'hi\n' | sockit chat HOST PORT`) whose input has ended and that never got
// through to the server: nobody is there to wait for a retry.
bool Session::stranded() const { return opts_.plain_mode && ui_.eof() && !ever_registered_; }

void Session::give_up() {
  client_.note(LineKind::error, fmt::format("cannot reach {} port {} and standard input has ended: giving up",
                                            target_.host, target_.port));
  if (reconnect_timer_ != 0) loop_.cancel(std::exchange(reconnect_timer_, 0));
  exit_code_ = kExitFailure;
}

void Session::on_bytes(std::string_view bytes) {
  const auto now = SteadyClock::now();
  inbuf_.append(bytes);
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
  if (inbuf_.size() > kMaxInboundLine) lost("the server sent a line over 16 KiB");
  pump();
}

// The core's wire lines to the link, which writes what the kernel takes at once and queues the
// rest for writability; past kMaxSendQueue the server is taken as gone.
void Session::flush_client() {
  auto out = client_.take_output();
  if (!link_) return;  // nothing to send to: dropped (the core re-registers)
  for (auto& line : out) {
    if (link_->queued_bytes() + line.size() > kMaxSendQueue) {
      lost(fmt::format("send queue full ({} KiB): the server is not reading", kMaxSendQueue / 1024));
      return;
    }
    link_->send(std::move(line));
  }
}

void Session::on_stdin() {
  ui_.on_readable(client_, SteadyClock::now());
  if (ui_.eof()) {
    loop_.unwatch(STDIN_FILENO);
    stdin_watched_ = false;
    if (!client_.quit_requested()) {
      // A script's stdin may end before we are even registered: run what it typed first.
      if (opts_.plain_mode && !ever_registered_) quit_when_registered_ = true;
      else client_.quit("Leaving");
    }
  }
  pump();
}

void Session::on_signal(int sig) {
  if (sig == SIGWINCH) {
    ui_.resize();
  } else if (sig == SIGINT && sigint_seen_) {
    exit_code_ = kExitOk;  // a second Ctrl-C: do not wait for the server
  } else {
    sigint_seen_ = true;
    client_.quit(sig == SIGINT ? "Leaving" : "Terminated");
  }
  pump();
}

// After /quit the server answers with ERROR and closes; wait for that at most 2 s.
void Session::arm_quit_deadline() {
  if (quit_timer_ != 0) return;
  quit_timer_ = loop_.run_after(kQuitWait, [this] {
    quit_timer_ = 0;
    if (exit_code_ < 0) exit_code_ = kExitOk;
    pump();
  });
}

void Session::pump() {
  if (auto why = client_.take_disconnect_request(); why && (link_ || connector_)) lost(*why);
  flush_client();
  if (client_.quit_requested() && exit_code_ < 0) {
    if (!link_ || client_.state() != State::quitting) exit_code_ = kExitOk;
    else arm_quit_deadline();
  }
  if (exit_code_ < 0 && reconnect_timer_ != 0 && stranded()) give_up();
  render();
  if (exit_code_ >= 0) loop_.stop();
}

int Session::run() {
  if (auto r = loop_.watch_signals(kLoopSignals, [this](int sig) { on_signal(sig); }); !r) {
    client_.note(LineKind::error, r.error().message());
    render();
    return kExitFailure;
  }
  if (!ui_.eof()) {
    if (auto r = loop_.watch(STDIN_FILENO, sockit::loop::Interest::read, [this](const sockit::loop::Ready&) { on_stdin(); }); !r) {
      client_.note(LineKind::error, fmt::format("stdin: {}", r.error().message()));
      render();
      return kExitFailure;
    }
    stdin_watched_ = true;
  }
  // The core's timers (lag PING, ping timeout) want a tick at least once a second.
  tick_timer_ = loop_.run_every(std::chrono::duration_cast<sockit::loop::Duration>(kTick), [this] {
    client_.tick(SteadyClock::now());
    pump();
  });
  start_connect();
  pump();
  if (exit_code_ < 0) loop_.run();
  return exit_code_;
}

std::string default_nick() {
  const char* u = std::getenv("USER");
  std::string n = u ? u : "";
  if (n.empty() || !std::isalpha(static_cast<unsigned char>(n[0]))) n = "sockit";
  return n.substr(0, 9);
}

// --tls and its flags: the client context (system trust store or --tls-ca, the host name checked,
// --tls-cert for CertFP). std::nullopt without TLS, or (said on stderr) for a file OpenSSL refused.
std::optional<sockit::tls::Context> make_tls(const Options& o, bool tls) {
  for (const auto& [flag, given] : {std::pair{"--tls-ca", !o.tls_ca.empty()}, std::pair{"--tls-cert", !o.tls_cert.empty()},
                                    std::pair{"--tls-key", !o.tls_key.empty()}, std::pair{"--tls-insecure", o.tls_insecure}}) {
    if (given && !tls) throw sockit::cli::UsageError(fmt::format("{} needs --tls (or an ircs:// URL)", flag));
  }
  if (!tls) return std::nullopt;
  if (o.tls_insecure && !o.tls_ca.empty()) throw sockit::cli::UsageError("--tls-insecure and --tls-ca contradict each other");
  if (!o.tls_key.empty() && o.tls_cert.empty()) throw sockit::cli::UsageError("--tls-key needs --tls-cert");
  sockit::tls::ContextOptions co;
  co.role = sockit::tls::Role::client;
  co.verify = !o.tls_insecure;
  co.ca_file = o.tls_ca;
  co.cert_file = o.tls_cert;
  co.key_file = o.tls_key;
  auto ctx = sockit::tls::Context::create(co);
  if (!ctx) {
    fmt::print(stderr, "sockit chat: {}\n", ctx.error().message());  // "tls: trust file x.pem: no such file"
    return std::nullopt;
  }
  return std::move(*ctx);
}

int run(Options& o) {
  auto target = parse_target(o.target);
  if (!target) throw sockit::cli::UsageError(fmt::format("bad server address '{}' (want [irc[s]://]HOST[:PORT])", o.target));
  if (!o.port.empty()) {
    auto port = sockit::Address::parse_port(o.port);
    if (!port || *port == 0) throw sockit::cli::UsageError(fmt::format("bad port '{}'", o.port));
    target->port = *port;
    target->port_given = true;
  }
  if (o.tls && !target->tls) {
    target->tls = true;
    if (!target->port_given) target->port = kTlsPort;
  }
  std::optional<sockit::tls::Context> tls = make_tls(o, target->tls);
  if (target->tls && !tls) return kExitFailure;
  if (o.nick.empty()) o.nick = default_nick();
  if (!sockit::irc::valid_nick(o.nick, kMaxNickLen)) throw sockit::cli::UsageError(fmt::format("not a valid nick: '{}'", o.nick));
  for (const auto& d : {o.reconnect_min, o.reconnect_max, o.lag_interval, o.connect_timeout}) {
    if (!sockit::parse_duration(d)) throw sockit::cli::UsageError(fmt::format("bad duration '{}'", d));
  }

  Config cfg;
  cfg.nick = o.nick;
  cfg.user = o.user;
  cfg.realname = o.realname;
  cfg.password = o.password;
  if (!o.sasl_user.empty()) {  // the password from a file or the environment, never from argv
    cfg.sasl_user = o.sasl_user;
    if (!o.sasl_pass_file.empty()) {
      std::ifstream f(o.sasl_pass_file);
      if (!f || !std::getline(f, cfg.sasl_pass)) {
        throw sockit::cli::UsageError(fmt::format("cannot read a password from --sasl-pass-file '{}'", o.sasl_pass_file));
      }
      if (!cfg.sasl_pass.empty() && cfg.sasl_pass.back() == '\r') cfg.sasl_pass.pop_back();
    } else if (const char* env = std::getenv("SOCKIT_SASL_PASS"); env != nullptr) {
      cfg.sasl_pass = env;
    }
    if (cfg.sasl_pass.empty()) {
      throw sockit::cli::UsageError("--sasl-user needs a password: --sasl-pass-file FILE or $SOCKIT_SASL_PASS");
    }
  } else if (!o.sasl_pass_file.empty()) {
    throw sockit::cli::UsageError("--sasl-pass-file needs --sasl-user");
  }
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
      if (!sockit::irc::valid_channel(chan, kMaxChannelLen)) throw sockit::cli::UsageError(fmt::format("not a valid channel: '{}'", chan));
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
  install_crash_handlers();
  int rc = kExitFailure;
  try {
    sockit::cli::BlockedSignals blocked(kLoopSignals);
    // poll(2), not epoll: stdin may be a regular file or /dev/null, which epoll refuses.
    auto loop = sockit::loop::EventLoop::create(sockit::loop::Backend::poll);
    if (!loop) {
      ui->stop();
      fmt::print(stderr, "chat: {}\n", loop.error().message());
      return kExitFailure;
    }
    if (o.tls_insecure) {
      client.note(LineKind::error, "warning: --tls-insecure: the server's certificate is not checked "
                                   "(anyone on the path could read and change this session)");
    }
    Session session(o, *target, std::move(tls), client, *ui, **loop);
    rc = session.run();
  } catch (...) {
    ui->stop();
    throw;
  }
  ui->stop();
  return rc;
}

}  // namespace

SOCKIT_COMMAND(chat, "chat", "a terminal IRC client (full screen, or --plain lines)",
               [](CLI::App& app) -> sockit::cli::Runner {
  auto o = std::make_shared<Options>();
  app.add_option("server", o->target, "[irc[s]://]HOST[:PORT][/#chan], port 6667 by default (ircs://, --tls: 6697)")->required();
  app.add_option("port", o->port, "the port, as a second word (irssi -c HOST -p PORT style)");
  app.add_option("-n,--nick", o->nick, "nick name (default: $USER); taken -> nick_, nick__ ...");
  app.add_option("-j,--join", o->join, "channel(s) to join once registered (repeat or comma-separate)");
  app.add_flag("--plain", o->plain, "line mode on stdin/stdout for scripts (also when not a terminal)");
  app.add_option("--user", o->user, "USER name (default: the nick)");
  app.add_option("--realname", o->realname, "real name (default: \"sockit chat\")");
  app.add_option("--password", o->password, "server password (PASS)");
  app.add_option("--sasl-user", o->sasl_user, "log in to this account with SASL PLAIN (password: --sasl-pass-file or $SOCKIT_SASL_PASS)");
  app.add_option("--sasl-pass-file", o->sasl_pass_file, "--sasl-user: read the password from the first line of this file");
  app.add_flag("--no-reconnect", o->no_reconnect, "exit 1 instead of reconnecting when the server goes away");
  app.add_option("--reconnect-min", o->reconnect_min, "first reconnect delay (doubles, with jitter)")->capture_default_str();
  app.add_option("--reconnect-max", o->reconnect_max, "longest reconnect delay")->capture_default_str();
  app.add_option("--lag-interval", o->lag_interval, "how often a PING measures the lag")->capture_default_str();
  app.add_option("--connect-timeout", o->connect_timeout, "per-address connect timeout")->capture_default_str();
  app.add_flag("--timestamps", o->timestamps, "--plain: put HH:MM:SS before each line");
  app.add_flag("--no-color,--no-colour", o->no_colour, "full screen: strip mIRC colours instead of showing them");
  app.add_flag("--tls", o->tls, "TLS (as an ircs:// URL does); port 6697 by default; the server's certificate and name are checked");
  app.add_option("--tls-ca", o->tls_ca, "--tls: trust the CA certificates in this PEM file (default: the system trust store)");
  app.add_flag("--tls-insecure", o->tls_insecure, "--tls: do not check the server's certificate (a warning says so)");
  app.add_option("--tls-cert", o->tls_cert, "--tls: our client certificate (PEM chain; CertFP), key in --tls-key or the same file");
  app.add_option("--tls-key", o->tls_key, "--tls: the PEM private key of --tls-cert");
  app.footer(
      "Commands: /join /part /msg /query /me /nick /topic /names /list /whois /away /raw /win N /quit /help.\n"
      "Exit status: 0 after /quit, Ctrl-D or Ctrl-C; 1 when the server cannot be reached or goes away\n"
      "with --no-reconnect, or its TLS certificate is refused (the reason is printed); 2 for usage errors.\n"
      "See docs/CHAT.md and docs/TLS.md.");
  return [o] { return run(*o); };
});
