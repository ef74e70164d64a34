// sockit chat-server: an IRC server for real IRC clients (irssi, weechat, ii, sic, HexChat).
// The protocol is the sans-I/O core sockit::irc; this file wires it to the reactor of
// sockit::serve (one event loop thread: the IRC state needs no locks), loads the configuration
// (flags + TOML, config_file.cpp) and handles signals: SIGHUP reloads, SIGUSR1 prints the counters,
// SIGTERM/SIGINT drain and exit 0, a second SIGTERM/SIGINT stops at once. See docs/CHAT-SERVER.md.
#include "chat_server/accounts.hpp"
#include "chat_server/config_file.hpp"
#include "chat_server/tls_listeners.hpp"
#include "chat_server/ws_listeners.hpp"
#include "common/command.hpp"
#include "common/log.hpp"
#include "common/systemd.hpp"

#include "sockit/cluster/irc_link.hpp"
#include "sockit/cluster/node.hpp"
#include "sockit/cluster/redis_store.hpp"
#include "sockit/irc/password.hpp"
#include "sockit/irc/server.hpp"
#include "sockit/loop/poller.hpp"
#include "sockit/net/parse.hpp"
#include "sockit/net/socket.hpp"
#include "sockit/serve/server.hpp"
#include "sockit/store/history.hpp"
#include "serve/tuning.hpp"
#include "tools/metrics/endpoint.hpp"
#include "tools/metrics/server_metrics.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <pthread.h>
#include <termios.h>
#include <thread>
#include <unistd.h>

namespace sockit::chat_server {
namespace {

using cli::UsageError;

struct Options {
  std::vector<std::string> listen;
  std::string config_file;
  std::string backend = "epoll";  // "auto": choose_backend()
  Overrides flags;
  bool hash_password = false;
  unsigned iterations = irc::kDefaultPbkdf2Iterations;
  std::string drain = "5s";
  bool quiet = false;
  bool check_config = false;
  bool cluster_status = false;  // --status: print the cluster's nodes and exit
  CLI::App* account_app = nullptr;  // `sockit chat-server account ...`
  AccountArgs account;
  CLI::App* history_app = nullptr;  // `sockit chat-server history import ...`
  HistoryArgs history;
  log::Options log;
};

Address listen_address(const std::string& text) {
  EndpointOptions eo;
  eo.passive = true;
  eo.bare_port = true;
  auto a = parse_endpoint(text, eo);
  if (!a || !a->is_ip()) {
    throw UsageError(fmt::format("invalid --listen '{}': {}expected ADDR:PORT like 127.0.0.1:6667 or [::1]:6667", text,
                                 a ? std::string() : a.error().message() + "; "));
  }
  return *a;
}

int hash_password_command(unsigned iterations) {
  std::string pw;
  if (!read_secret("password: ", pw)) {
    std::fputs("sockit chat-server: no password given on standard input\n", stderr);
    return cli::kExitFailure;
  }
  auto h = irc::hash_password(pw, iterations);
  if (!h) {
    fmt::print(stderr, "sockit chat-server: {}\n", h.error().message());
    return cli::kExitFailure;
  }
  fmt::print("{}\n", *h);
  return cli::kExitOk;
}

// SIGUSR1 (as the echo server does): one line of counters on stderr, and the server keeps serving.
// The values are read back from the collected registry the metrics page is rendered from.
void print_counters(const metrics::Collector& c) {
  const metrics::CounterField irc[] = {
      {"users", "sockit_irc_connections"},
      {"registered", "sockit_irc_users"},
      {"operators", "sockit_irc_operators"},
      {"channels", "sockit_irc_channels"},
      {"max_registered", "sockit_irc_max_users"},
      {"lines_in", "sockit_irc_received_messages_total"},
      {"excess_flood", "sockit_irc_excess_flood_total"},
      {"sendq_exceeded", "sockit_irc_sendq_exceeded_total"},
      {"rejected", "sockit_irc_refused_connections_total"},
  };
  const metrics::CounterField tcp[] = {
      {"accepted", "sockit_connections_accepted_total"},
      {"active", "sockit_connections_open"},
      {"closed", "sockit_connections_closed_total"},
      {"resets", "sockit_connections_closed_total", {{"reason", "reset"}}},
      {"timeouts", "sockit_timeouts_total", {{"kind", "idle"}}},
      {"overflows", "sockit_send_queue_overflows_total"},
      {"bytes_in", "sockit_received_bytes_total"},
      {"bytes_out", "sockit_sent_bytes_total"},
  };
  log::info("counters: " + metrics::counter_fields(c, irc) + " tcp " + metrics::counter_fields(c, tcp));
  sd::notify_status(fmt::format("{} clients ({} registered), {} channels", c.value("sockit_irc_connections"),
                                c.value("sockit_irc_users"), c.value("sockit_irc_channels")));
}

// The IRC core's metrics (docs/OPERATIONS.md), read in the loop thread at scrape time.
void collect_irc(metrics::Collector& c, const irc::ServerStats& st) {
  auto d = [](std::uint64_t v) { return static_cast<double>(v); };
  c.gauge("sockit_irc_connections", "IRC connections open now, registered or not.", d(st.connections));
  c.gauge("sockit_irc_users", "Registered IRC users now.", d(st.registered));
  c.gauge("sockit_irc_invisible_users", "Registered users with mode +i now.", d(st.invisible));
  c.gauge("sockit_irc_operators", "IRC operators now.", d(st.operators));
  c.gauge("sockit_irc_channels", "Channels now.", d(st.channels));
  c.gauge("sockit_irc_max_users", "The most registered users at once since start.", d(st.max_registered));
  c.counter("sockit_irc_registrations_total", "Clients that completed registration.", d(st.registrations));
  c.counter("sockit_irc_received_messages_total", "IRC lines received from clients.", d(st.lines_in));
  c.counter("sockit_irc_sent_messages_total", "IRC lines queued to clients (a channel line once per receiver).",
            d(st.deliveries));
  c.counter("sockit_irc_flood_delayed_messages_total", "Lines held back by flood control.", d(st.flood_delayed));
  c.counter("sockit_irc_excess_flood_total", "Clients closed for Excess Flood.", d(st.excess_flood));
  c.counter("sockit_irc_sendq_exceeded_total", "Clients closed for SendQ exceeded.", d(st.sendq_exceeded));
  c.counter("sockit_irc_refused_connections_total", "Connections refused (server full, per-IP cap, shutting down).",
            d(st.rejected_connections));
  constexpr std::string_view timeouts = "Connections closed for a timeout, by kind.";
  c.counter("sockit_timeouts_total", timeouts, d(st.registration_timeouts), {{"kind", "registration"}});
  c.counter("sockit_timeouts_total", timeouts, d(st.ping_timeouts), {{"kind", "ping"}});
}

// Serializes the IRC state between the loop thread and the signal thread (SIGHUP reload).
// Recursive: a callback may close another connection, whose on_close re-enters on this thread.
class LockedSession final : public serve::Session {
 public:
  LockedSession(std::unique_ptr<serve::Session> inner, std::recursive_mutex& mu) : inner_(std::move(inner)), mu_(mu) {}
  void on_open(serve::Peer& p, serve::TimePoint now) override {
    std::lock_guard g(mu_);
    inner_->on_open(p, now);
  }
  void on_data(std::span<const std::byte> d, serve::Peer& p, serve::TimePoint now) override {
    std::lock_guard g(mu_);
    inner_->on_data(d, p, now);
  }
  void on_eof(serve::Peer& p, serve::TimePoint now) override {
    std::lock_guard g(mu_);
    inner_->on_eof(p, now);
  }
  void on_tick(serve::Peer& p, serve::TimePoint now) override {
    std::lock_guard g(mu_);
    inner_->on_tick(p, now);
  }
  void on_wake(serve::Peer& p, serve::TimePoint now) override {
    std::lock_guard g(mu_);
    inner_->on_wake(p, now);
  }
  std::optional<serve::TimePoint> next_deadline() const override {
    std::lock_guard g(mu_);
    return inner_->next_deadline();
  }
  void on_shutdown(serve::Peer& p, serve::TimePoint now) override {
    std::lock_guard g(mu_);
    inner_->on_shutdown(p, now);
  }
  void on_close(serve::CloseReason why) override {
    std::lock_guard g(mu_);
    inner_->on_close(why);
  }

 private:
  std::unique_ptr<serve::Session> inner_;
  std::recursive_mutex& mu_;
};

// The IRC core's operator events (irc::Event) as log lines: at the default level (info) one line per
// connection at most, its registration (who, from where: client id, nick, ip), as ngircd's "User ...
// registered" and InspIRCd's "Client connecting"; connections, refusals and quits at debug (the quit's
// reason is there; a registration storm paid two log writes per client, 4.4 % of its CPU); opers,
// kills and account events at info, refused passwords at warn.
void log_event(const irc::Event& e) {
  using K = irc::Event::Kind;
  log::Level level = log::Level::info;
  std::string_view what;
  switch (e.kind) {
    case K::connected: level = log::Level::debug, what = "connection"; break;
    // At debug like connections: a connect flood must not become a log flood (the model's own
    // refusals are logged at warn, one line per second at most).
    case K::refused: level = log::Level::debug, what = "connection refused"; break;
    case K::registered: what = "client registered"; break;
    case K::password_failed: level = log::Level::warn, what = "wrong server password (PASS)"; break;
    case K::oper: what = "OPER succeeded"; break;
    case K::oper_failed: level = log::Level::warn, what = "OPER refused"; break;
    case K::killed: what = "client killed"; break;
    case K::logged_in: what = "logged in"; break;
    case K::login_failed: level = log::Level::warn, what = "SASL login failed"; break;
    case K::account_registered: what = "account registered"; break;
    case K::quit: level = log::Level::debug, what = "client quit"; break;
  }
  if (!log::enabled(level)) return;
  std::string detail(e.detail);
  if (e.kind == K::oper || e.kind == K::oper_failed) {
    log::write(level, what, {{"client", e.id}, {"nick", e.nick}, {"ip", e.ip}, {"operator", detail}});
  } else if (e.kind == K::logged_in || e.kind == K::login_failed || e.kind == K::account_registered) {
    // The account name (login_failed: the mechanism and the name given), never a password.
    log::write(level, what, {{"client", e.id}, {"nick", e.nick}, {"ip", e.ip}, {"account", detail}});
  } else {
    log::write(level, what, {{"client", e.id}, {"nick", e.nick}, {"ip", e.ip}, {"reason", detail}});
  }
}

// --check-config: like nginx -t, everything is validated and nothing is bound; the effective
// configuration goes to stdout as TOML that --config reads back.
int check_config(const Options& o, const Loaded& loaded, const std::vector<std::string>& listen_text) {
  std::string text, err;
  if (!format_config(loaded, listen_text, text, err)) {
    fmt::print(stderr, "sockit chat-server: {}\n", err);
    return cli::kExitFailure;
  }
  fmt::print("{}", text);
  std::fflush(stdout);
  fmt::print(stderr, "sockit chat-server: configuration {} is valid\n",
             o.config_file.empty() ? std::string("(defaults and flags)") : o.config_file);
  return cli::kExitOk;
}

// [cluster] as the Redis client's options: the URL, its password replaced by [cluster] password.
cluster::RedisOptions redis_options(const ClusterSettings& cl) {
  cluster::RedisOptions ro;
  ro.url = *cluster::parse_redis_url(cl.url, nullptr);  // load_config checked it
  if (!cl.password.empty()) ro.url.password = cl.password;
  return ro;
}

// --status: connect, print the live nodes (name, users, server name, up since) and exit: 0, or 1
// when the one connect attempt fails or Redis does not answer within the connect timeout.
int cluster_status(const ClusterSettings& cl) {
  auto lp = loop::EventLoop::create();
  if (!lp) {
    fmt::print(stderr, "sockit chat-server: {}\n", lp.error().message());
    return cli::kExitFailure;
  }
  loop::EventLoop& loop = **lp;
  cluster::RedisOptions ro = redis_options(cl);
  auto client = cluster::RedisClient::create(loop, ro);
  if (!client) {
    fmt::print(stderr, "sockit chat-server: --cluster {}: {}\n", ro.url.display(), client.error().message());
    return cli::kExitFailure;
  }
  int status = cli::kExitFailure;
  std::string why = "no answer";
  (*client)->set_on_state([&](bool up, const std::string& w) {
    if (!up) {  // one attempt: a status that waits for Redis to come back would hang a script
      why = w;
      loop.stop();
      return;
    }
    cluster::fetch_nodes(**client, [&](bool ok, std::vector<cluster::NodeInfo> nodes, const std::string& err) {
      if (ok) {
        std::uint64_t users = 0;
        fmt::print("{:<24} {:>8}  {:<24} {}\n", "NODE", "USERS", "SERVER", "UP SINCE");
        for (const auto& n : nodes) {
          users += n.users;
          fmt::print("{:<24} {:>8}  {:<24} {}\n", n.name, n.users, n.server_name, n.started);
        }
        fmt::print("{} node{}, {} user{}\n", nodes.size(), nodes.size() == 1 ? "" : "s", users, users == 1 ? "" : "s");
        status = cli::kExitOk;
      } else {
        why = err;
      }
      loop.stop();
    });
  });
  loop.run_after(ro.connect_timeout + std::chrono::seconds(1), [&] { loop.stop(); });
  (*client)->start();
  loop.run();
  if (status != cli::kExitOk) fmt::print(stderr, "sockit chat-server: --cluster {}: {}\n", ro.url.display(), why);
  return status;
}

// [history] enabled: the history store opened (created, migrated); null with `why` when the file
// cannot be used (not a database, read-only, newer schema).
store::HistoryOptions history_options(const HistorySettings& h) {
  store::HistoryOptions opt;
  opt.path = h.path;
  opt.max_messages = h.max_messages;
  opt.max_age = std::chrono::duration_cast<std::chrono::seconds>(h.max_age);
  opt.flush_interval = h.flush_interval;
  opt.flush_messages = h.flush_messages;
  opt.query_limit = h.query_limit;
  return opt;
}

std::unique_ptr<store::HistoryStore> open_history(const HistorySettings& h, std::string& why) {
  return store::HistoryStore::open(history_options(h), why);
}

// --backend auto: the io_uring poller where the kernel has it (the probe that --backend uring
// runs, loop::uring_available), else epoll with one log line naming the reason. Not the default
// yet (docs/MODELS.md, "The chat server on uring by default").
loop::Backend choose_backend(const std::string& name) {
  if (name != "auto") {
    auto backend = loop::parse_backend(name);
    if (!backend) throw UsageError(fmt::format("invalid --backend '{}': expected select, poll, epoll, uring or auto", name));
    return *backend;
  }
  auto ring = loop::uring_available();
  if (ring) return loop::Backend::uring;
  log::warn(fmt::format("io_uring unavailable ({}); the chat server runs on epoll", ring.error().message()));
  return loop::Backend::epoll;
}

// --output-hold / [timeouts] output_hold not given: 10 ms where the loop is io_uring (less CPU per
// delivery for a passive receiver's small output; docs/BENCHMARKS.md "Holding a passive
// receiver's small output across turns"), off on the other backends.
constexpr std::chrono::milliseconds kUringOutputHold{10};
std::chrono::milliseconds output_hold(const Loaded& loaded, loop::Backend backend) {
  if (loaded.output_hold) return *loaded.output_hold;
  const bool ring = backend == loop::Backend::uring && loop::uring_available();  // not its epoll fallback
  return ring ? kUringOutputHold : std::chrono::milliseconds{0};
}

constexpr std::size_t kQueueSlack = 64 << 10;  // the model's send caps above the core's SendQ
constexpr std::size_t kConnSlack = 16;          // connections past max_clients the core refuses itself

// The serving model for IRC: one loop, coalesced writes, queue caps above the core's own.
void set_model_options(serve::ServerOptions& so, const irc::Config& c, loop::Backend backend) {
  so.model = serve::reactor_model(backend);
  so.threads = 1;  // one loop owns the IRC state: ordered, no locks on the hot path
  // A PRIVMSG to a channel queues one line per member: write each socket once per loop turn, so a
  // receiver gets every line of the turn in one sendmsg instead of one send() per line.
  so.coalesce_writes = true;
  // The IRC core enforces its own SendQ (and says "SendQ exceeded"); the model's caps sit above it.
  so.send_queue_cap = c.sendq * 2 + kQueueSlack;
  so.high_water = std::max<std::size_t>(c.sendq, kQueueSlack);
  so.low_water = so.high_water / 4;
  so.max_conns = c.max_clients + kConnSlack;  // the core answers "Server full" itself
  so.reject_message = "ERROR :Server full\r\n";
  // After a join storm (every JOIN to every member, a NAMES of thousands per joiner) malloc keeps
  // the drained queues' memory: check every 5 s and give it back (docs/RELIABILITY.md).
  so.memory_trim_interval = std::chrono::seconds(5);
  so.log = [](std::string_view line) { log::warn(line); };
}

// SIGUSR1: the counters on stderr and one "metrics:" log line.
void print_metrics(metrics::Registry& registry) {
  metrics::Collector c = registry.collect();
  print_counters(c);
  log::info("metrics: " + c.line());
}

// SIGHUP and an operator's REHASH (`trigger`): the configuration read again and given to the
// running core; a bad file keeps the old one. Returns "" or why the reload failed.
// The TLS listeners' certificates are read again too (the same files; a failure keeps the old
// ones); open connections keep theirs, so nobody is dropped.
std::string reload_config(const Options& o, irc::Server& irc, std::recursive_mutex& mu, std::string_view trigger,
                          TlsListeners& tls) {
  sd::notify_reloading();
  log::info(fmt::format("{}: reloading the configuration", trigger),
            {{"file", o.config_file.empty() ? std::string("(none: flags only)") : o.config_file}});
  std::string tls_why = tls.empty() ? std::string() : tls.reload();
  if (!tls_why.empty()) {
    log::error("TLS certificate reload failed, keeping the old certificates: " + tls_why);
  } else if (!tls.empty()) {
    log::info("TLS certificates reloaded");
  }
  Loaded fresh;
  std::string why;
  if (!load_config(o.config_file, o.flags, fresh, why)) {
    log::error("reload failed, keeping the old configuration: " + why);
    sd::notify_ready("reload failed, serving with the old configuration");
    return why;
  }
  {
    std::lock_guard g(mu);
    fresh.config.sts_port = irc.config().sts_port;  // the listeners bound at start stay
    // [accounts] registration: "auto" keeps what the listeners decided at start.
    fresh.config.account_registration = fresh.accounts.registration == "auto" ? irc.config().account_registration
                                                                              : fresh.accounts.registration == "on";
    irc.reload(fresh.config);
    tls.set_handshake_timeout(fresh.tls_handshake_timeout);  // for connections made from now on
    if (irc.config().casemapping != fresh.config.casemapping) {
      log::warn(fmt::format("casemapping stays {}: it cannot change to {} while clients are connected",
                            irc::casemapping_name(irc.config().casemapping), irc::casemapping_name(fresh.config.casemapping)));
    }
  }
  log::info(fmt::format("configuration reloaded ({} operators, {} MOTD lines)", fresh.config.operators.size(),
                        fresh.config.motd.size()));
  sd::notify_ready("configuration reloaded");
  return tls_why;
}

// The listening lines and the hint in one write: whoever waits for "listening on" has it all.
// The last `tls_count` addresses are the TLS listeners; `warning` (if any) follows the listening lines.
void announce(const Options& o, const std::string& server_name, const std::vector<Address>& addrs,
              std::string_view backend, std::size_t tls_count, const std::string& warning) {
  std::vector<log::Line> banner;
  const std::size_t first_tls = addrs.size() - std::min(tls_count, addrs.size());
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    const Address& a = addrs[i];
    const bool tls = i >= first_tls;
    banner.push_back({log::Level::info, fmt::format("{} listening on {} ({}{})", server_name, a.to_string(), backend,
                                                    tls ? ", TLS" : "")});
    if (!tls && !a.is_loopback() && !a.is_unix()) {
      banner.push_back({log::Level::warn,
                        fmt::format("warning: {} is not a loopback address and IRC here is plaintext", a.to_string())});
    }
  }
  if (!warning.empty()) banner.push_back({log::Level::warn, warning});
  std::string hint;
  auto host_of = [](const Address& a) {
    std::string host = a.ip_string();
    if (a.is_v4() && host == "0.0.0.0") host = "127.0.0.1";
    if (a.is_v6() && host == "::") host = "::1";
    return host;
  };
  if (!o.quiet && first_tls > 0) {
    const Address& a = addrs.front();
    hint = fmt::format("sockit chat-server: connect with:  irssi -c {} -p {}   or   sockit chat {} {}\n", host_of(a),
                       a.port(), host_of(a), a.port());
  }
  if (!o.quiet && first_tls < addrs.size()) {
    const Address& a = addrs[first_tls];
    std::string h = host_of(a);
    std::string hp = a.is_v6() ? "[" + h + "]:" + std::to_string(a.port()) : h + ":" + std::to_string(a.port());
    hint += fmt::format("sockit chat-server: TLS:  /connect -tls {} {} (irssi)   or   sockit chat ircs://{}   or   "
                        "openssl s_client -connect {}\n",
                        h, a.port(), hp, hp);
  }
  log::write_block(banner, hint);
}

// The bound address of a passed socket, as text.
std::string local_address(int fd) {
  Address local;
  socklen_t len = Address::capacity();
  if (::getsockname(fd, local.sockaddr_ptr(), &len) == 0) local.set_length(len);
  return local.to_string();
}

// Binds `addresses` (configured listeners that systemd passed no socket for) and appends the fds.
bool bind_beside(const std::vector<std::string>& addresses, std::vector<int>& fds) {
  for (const std::string& a : addresses) {
    auto l = TcpListener::bind(listen_address(a));
    if (!l) {
      log::error(l.error().message());
      return false;
    }
    fds.push_back(l->release().release());
  }
  return true;
}

// Socket activation (sockit-chat-server.socket): systemd's listeners replace the plaintext
// addresses. A passed socket named "tls" (FileDescriptorName=tls) is a TLS listener with the
// configured certificate (--tls-cert or the first [[listen]] tls = true), one named "wss" the same
// serving IRC over WebSocket (wss://); when none is named so, the configuration's TLS listeners
// are bound beside the passed sockets. A socket named "ws" is a plaintext WebSocket listener
// (ws://); when none is named so, --ws-listen and [[listen]] websocket = true are bound beside.
// listen_fds: plaintext, then WebSocket (loaded.ws_listen names one each), then TLS last
// (loaded.tls_listen names one each: the counts serve_irc takes). False (logged) on a failure.
bool take_systemd_listeners(serve::ServerOptions& so, Loaded& loaded, TlsListeners& tls) {
  auto passed = sd::listen_fds_with_names();
  if (passed.empty()) return true;
  std::vector<int> plain, ws, secure;
  std::vector<bool> secure_ws;  // per secure fd: named wss
  for (const sd::NamedFd& f : passed) {
    if (f.name == "tls" || f.name == "wss") {
      secure.push_back(f.fd);
      secure_ws.push_back(f.name == "wss");
    } else {
      (f.name == "ws" ? ws : plain).push_back(f.fd);
    }
  }
  const auto wss_count = static_cast<std::size_t>(std::count(secure_ws.begin(), secure_ws.end(), true));
  std::string named;
  if (secure.size() > wss_count) named += fmt::format(", {} named tls", secure.size() - wss_count);
  if (!ws.empty()) named += fmt::format(", {} named ws", ws.size());
  if (wss_count > 0) named += fmt::format(", {} named wss", wss_count);
  log::info(fmt::format("serving {} socket{} passed by systemd (LISTEN_FDS{}); listen addresses not bound",
                        passed.size(), passed.size() == 1 ? "" : "s", named));
  so.listen.clear();
  if (!ws.empty()) {
    loaded.ws_listen.clear();
    for (int fd : ws) loaded.ws_listen.push_back(local_address(fd));
  } else if (!bind_beside(loaded.ws_listen, ws)) {
    return false;
  }
  if (!secure.empty()) {
    if (loaded.tls_listen.empty()) {
      log::error(fmt::format("systemd passed a socket named '{}' but no TLS certificate is configured (--tls-cert and "
                             "--tls-key, or [[listen]] tls = true)", wss_count > 0 ? "wss" : "tls"));
      return false;
    }
    const TlsListen first = loaded.tls_listen.front();
    loaded.tls_listen.clear();
    for (std::size_t i = 0; i < secure.size(); ++i) {
      TlsListen t = first;  // its certificate and key
      t.address = local_address(secure[i]);
      t.websocket = secure_ws[i];
      loaded.tls_listen.push_back(std::move(t));
    }
    if (std::string why; !tls.load(loaded.tls_listen, why)) {
      log::error(why);
      return false;
    }
  } else {
    std::vector<std::string> addresses;  // bound here, after the passed ones
    for (const TlsListen& t : loaded.tls_listen) addresses.push_back(t.address);
    if (!bind_beside(addresses, secure)) return false;
  }
  so.listen_fds = std::move(plain);
  so.listen_fds.insert(so.listen_fds.end(), ws.begin(), ws.end());
  so.listen_fds.insert(so.listen_fds.end(), secure.begin(), secure.end());
  return true;
}

// Reports a busy or forbidden address before the model starts threads (exit 1, one line).
bool listeners_free(const std::vector<Address>& listen) {
  for (const Address& a : listen) {
    if (a.port() == 0) continue;
    auto probe = TcpListener::bind(a);
    if (!probe) {
      log::error(probe.error().message());
      return false;
    }
  }
  return true;
}

// SIGTERM/SIGINT: the first one drains the connections, a second one stops at once.
struct Stopper {
  std::chrono::nanoseconds drain;
  serve::Server* running = nullptr;  // set once created; no signal is handled before run()
  bool stopping = false;
  bool stopped = false;  // stop_now() called
  /// Runs before the drain starts (a cluster node's users leave the network); calls its argument
  /// to go on. Empty: none.
  std::function<void(std::function<void()>)> before_stop = {};

  void stop(int sig) {
    if (stopping) {
      log::warn("second signal, stopping now");
      stopped = true;
      running->stop_now();
      return;
    }
    stopping = true;
    sd::notify_stopping("closing connections");
    log::info(fmt::format("{}, closing connections (drain {})", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                          format_duration(drain)));
    if (before_stop) {
      before_stop([this] {
        if (!stopped) running->stop(drain);
      });
      return;
    }
    running->stop(drain);
  }

  // An operator's DIE or RESTART (irc::AdminHooks): the core has sent every client ERROR already.
  void stop_for(std::string_view reason) {
    if (stopping) return;
    stopping = true;
    sd::notify_stopping("closing connections");
    log::info(fmt::format("{}, closing connections (drain {})", reason, format_duration(drain)));
    running->stop(drain);
  }
};

// RESTART: the same program, from /proc/self/exe, with the arguments it was started with
// (/proc/self/cmdline). Returns only when exec fails.
int restart_program() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  if (args.empty()) {
    log::error("RESTART: cannot read /proc/self/cmdline");
    return cli::kExitFailure;
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  log::info("RESTART: running " + args.front() + " again");
  std::fflush(stdout);
  std::fflush(stderr);
  ::execv("/proc/self/exe", argv.data());
  log::error(std::string("RESTART: exec failed: ") + std::strerror(errno));
  return cli::kExitFailure;
}

// --metrics: GET /metrics on the server's own loop, so the IRC state is read in its thread.
std::unique_ptr<metrics::Endpoint> start_metrics(const Address& at, serve::Server& server, metrics::Registry& registry,
                                                 const std::function<void(std::string_view)>& log_line) {
  metrics::EndpointOptions mo;
  mo.log = log_line;
  auto ep = metrics::Endpoint::create(*server.event_loop(), at, [&registry] { return registry.render(); }, mo);
  if (!ep) {
    log::error(ep.error().message());
    return nullptr;
  }
  log::info(fmt::format("metrics on http://{}/metrics", (*ep)->local_address().to_string()));
  return std::move(*ep);
}

int serve_irc(const Options& o, Loaded& loaded, serve::ServerOptions& so, std::chrono::nanoseconds drain,
              TlsListeners& tls);
int run_irc(const Options& o, Loaded& loaded, serve::ServerOptions& so, std::chrono::nanoseconds drain, bool& restart,
            TlsListeners& tls);

int run(Options& o) {
  if (o.hash_password) return hash_password_command(o.iterations);
  if (o.account_app != nullptr && o.account_app->parsed()) {
    if (o.account.config.empty()) o.account.config = o.config_file;  // `chat-server -c FILE account ...`
    return account_command(o.account);
  }
  if (o.history_app != nullptr && o.history_app->parsed()) {
    if (o.history.config.empty()) o.history.config = o.config_file;  // `chat-server -c FILE history ...`
    return history_command(o.history);
  }
  log::configure(o.log, "chat-server");

  Loaded loaded;
  std::string err;
  o.flags.cluster_status = o.cluster_status;
  if (!load_config(o.config_file, o.flags, loaded, err)) {
    fmt::print(stderr, "sockit chat-server: {}\n", err);
    return cli::kExitUsage;
  }
  if (o.cluster_status) return cluster_status(loaded.cluster);
  std::vector<std::string> listen_text = o.listen;
  if (listen_text.empty()) listen_text = loaded.listen;
  if (listen_text.empty()) listen_text = {"127.0.0.1:6667"};

  auto drain = parse_duration(o.drain);
  if (!drain) throw UsageError(fmt::format("invalid --drain '{}'", o.drain));

  serve::ServerOptions so;
  for (const auto& l : listen_text) so.listen.push_back(listen_address(l));
  for (const auto& w : loaded.ws_listen) so.listen.push_back(listen_address(w));  // WebSocket: before the TLS ones
  for (const auto& t : loaded.tls_listen) so.listen.push_back(listen_address(t.address));  // after the plaintext ones
  // [log] level/format of the file unless the flags gave them (the flags' values are in o.flags).
  log::configure({loaded.log_level, loaded.log_format}, "chat-server");
  const loop::Backend backend = choose_backend(o.backend);  // its fallback line in the file's [log] format
  TlsListeners tls;  // the certificates are read here, so --check-config checks them too
  if (std::string why; !tls.load(loaded.tls_listen, why)) {
    fmt::print(stderr, "sockit chat-server: {}\n", why);
    return cli::kExitFailure;
  }
  tls.set_handshake_timeout(loaded.tls_handshake_timeout);
  if (loaded.history.enabled && !loaded.cluster.enabled()) {  // a database that cannot be used stops the start
    std::string why;
    if (!open_history(loaded.history, why)) {
      fmt::print(stderr, "sockit chat-server: {}\n", why);
      return cli::kExitFailure;
    }
  }
  if (loaded.accounts.enabled && !loaded.cluster.enabled()) {  // the same for the accounts database: exit 1
    std::string why;
    if (!open_accounts(loaded.accounts, why)) {
      fmt::print(stderr, "sockit chat-server: {}\n", why);
      return cli::kExitFailure;
    }
  }
  if (o.check_config) return check_config(o, loaded, listen_text);
  if (!take_systemd_listeners(so, loaded, tls)) return cli::kExitFailure;
  set_model_options(so, loaded.config, backend);
  so.output_hold = output_hold(loaded, backend);
  return serve_irc(o, loaded, so, *drain, tls);
}

// The server itself: signals blocked, addresses probed, the IRC core, its metrics and the model's run.
int serve_irc(const Options& o, Loaded& loaded, serve::ServerOptions& so, std::chrono::nanoseconds drain,
              TlsListeners& tls) {
  // Blocked in every thread (threads inherit the mask); Server::run takes them (the reactor
  // through its first loop's signalfd).
  so.signals = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : so.signals) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  bool restart = false;  // an operator's RESTART: exec once everything is closed
  const int status = listeners_free(so.listen) ? run_irc(o, loaded, so, drain, restart, tls) : cli::kExitFailure;
  pthread_sigmask(SIG_UNBLOCK, &sigs, nullptr);
  if (restart && status == cli::kExitOk) return restart_program();
  return status;
}

// The IRC core on the serving model until a signal stops it; signals are blocked by the caller.
int run_irc(const Options& o, Loaded& loaded, serve::ServerOptions& so, std::chrono::nanoseconds drain, bool& restart,
            TlsListeners& tls) {
  const std::optional<Address>& metrics_addr = loaded.metrics_address;
  std::recursive_mutex mu;
  // [history]: PRIVMSG/NOTICE kept in SQLite by a writer thread (batched, off the loop);
  // destroyed after the core, writing what is still queued.
  std::unique_ptr<store::HistoryStore> history;
  if (loaded.history.enabled && loaded.cluster.enabled()) {  // in Redis streams, created below with the node
    log::debug(fmt::format("cluster: history in Redis (max_messages {} per channel); the history file {} is not used",
                          loaded.history.max_messages, loaded.history.path));
  } else if (loaded.history.enabled) {
    std::string why;
    history = open_history(loaded.history, why);
    if (!history) {
      log::error(why);
      return cli::kExitFailure;
    }
  }
  // [accounts]: SASL and REGISTER against the SQLite file; its argon2id work runs on the checker's
  // threads. Destroyed after the core.
  std::unique_ptr<store::AccountStore> accounts;
  if (loaded.accounts.enabled && loaded.cluster.enabled()) {
    // --cluster: the accounts live in Redis (created below with the node); the SQLite file is not
    // opened, nor imported (docs/CLUSTER.md).
    loaded.config.account_registration = registration_enabled(loaded.accounts, so.listen, !so.listen_fds.empty());
    log::debug(fmt::format("cluster: accounts in Redis (REGISTER {}); the accounts file {} is not used",
                          loaded.config.account_registration ? "on" : "off", loaded.accounts.path));
  } else if (loaded.accounts.enabled) {
    std::string why;
    if (!(accounts = open_accounts(loaded.accounts, why))) {
      log::error(why);
      return cli::kExitFailure;
    }
    loaded.config.account_registration = registration_enabled(loaded.accounts, so.listen, !so.listen_fds.empty());
    log::debug(fmt::format("accounts in {} (REGISTER {})", loaded.accounts.path, loaded.config.account_registration ? "on" : "off"));
  }
  irc::Server irc(loaded.config);
  irc.set_history(history.get());
  irc.set_account_store(accounts.get());
  // PBKDF2 checks (PASS, OPER; about 30 ms each) run on worker threads, never on the loop; their
  // verdicts come back through the loop (Peer::waker). Stopped after run(), before the loops go.
  // Half the cores at most (two), so a flood of checks queues instead of taking the machine.
  irc::PasswordChecker checker(std::clamp(std::thread::hardware_concurrency() / 2, 1u, 2u));
  irc.set_password_checker(&checker);
  // Channel lines of every sender of a loop turn go out in one pass over the members at the end
  // of the turn (one shared buffer; each member gets one write per turn with coalesce_writes).
  irc.set_hold_broadcasts(true);
  irc.set_event_log(log_event);
  serve::detail::Tuning tuning;  // the reactor calls it at the end of every loop turn
  tuning.turn_end = [&irc, &mu] {
    std::lock_guard lock(mu);
    irc.flush_broadcasts();
  };
  Stopper stopper{drain};
  int status = cli::kExitOk;
  metrics::Registry registry;     // the metrics page and SIGUSR1's "metrics:" line (filled below)
  metrics::TurnHistogram turns;   // the loop's turns, observed in its thread
  auto on_signal = [&](int sig) {
    if (sig == SIGUSR1) return print_metrics(registry);
    if (sig == SIGHUP) {
      reload_config(o, irc, mu, "SIGHUP", tls);
      return;
    }
    stopper.stop(sig);
  };
  // REHASH, DIE and RESTART from an operator: called inside the core's entry point, on the loop
  // thread (the recursive lock is held already).
  irc::AdminHooks hooks;
  hooks.config_name = o.config_file;
  hooks.rehash = [&] { return reload_config(o, irc, mu, "REHASH", tls); };
  hooks.die = [&](std::string_view reason) { stopper.stop_for(reason); };
  hooks.restart = [&](std::string_view reason) {
    restart = true;
    stopper.stop_for(reason);
  };
  irc.set_admin_hooks(std::move(hooks));
  so.on_signal = on_signal;
  const bool tls_bound = !tls.empty();  // TLS listeners come last, systemd's or bound (take_systemd_listeners)
  if (tls_bound) {
    so.transport = tls.factory();
    irc.set_security_lookup([&tls](serve::Peer& p) { return tls.lookup(p); });
  }
  // WebSocket listeners (docs/WEB.md): over the TLS transport for wss://; systemd's sockets named
  // ws and wss too (take_systemd_listeners).
  WsListeners websockets(loaded.websocket);
  const bool wss = std::any_of(loaded.tls_listen.begin(), loaded.tls_listen.end(), [](const TlsListen& t) { return t.websocket; });
  const bool ws_bound = !loaded.ws_listen.empty() || (wss && tls_bound);
  if (ws_bound) so.transport = websockets.factory(std::move(so.transport));
  auto server = serve::detail::create_server(so, [&irc, &mu](serve::Peer&) -> std::unique_ptr<serve::Session> {
    return std::make_unique<LockedSession>(irc::make_session(irc), mu);
  }, std::move(tuning));
  if (!server) {
    log::error(server.error().message());
    return cli::kExitFailure;
  }
  // --metrics: GET /metrics on the server's own loop, so the IRC state is read in its thread.
  std::unique_ptr<metrics::Endpoint> metrics_ep;  // destroyed before the server and its loop
  registry.add([&irc, &mu, &metrics_ep, &turns, &tls, tls_bound, srv = server->get()](metrics::Collector& c) {
    irc::ServerStats st;
    {
      std::lock_guard g(mu);
      st = irc.stats();
    }
    metrics::collect_server(c, *srv, metrics_ep.get());
    if (tls_bound) {
      const TlsListeners::Counts h = tls.counts();
      metrics::collect_tls_handshakes(c, h.ok, h.failed, h.timed_out);
    }
    collect_irc(c, st);
    if (metrics_ep) turns.collect(c);
  });
  if (metrics_addr && !(metrics_ep = start_metrics(*metrics_addr, **server, registry, so.log)))
    return cli::kExitFailure;
  // --cluster: this server as a node (docs/CLUSTER.md): heartbeat, --status, LINKS. Off: no Redis at all.
  std::unique_ptr<cluster::Node> node;  // destroyed before the server and its loop
  std::optional<cluster::IrcLink> link;  // LINKS, and the events between nodes (sockit:msg)
  std::optional<cluster::NickClaims> claims;  // nicks network-wide; the reaper of dead nodes' users
  std::optional<cluster::RedisAccounts> redis_accounts;  // [accounts] with --cluster
  std::optional<cluster::RedisHistory> redis_history;    // [history] with --cluster
  if (loaded.cluster.enabled()) {
    cluster::NodeOptions no;
    no.redis = redis_options(loaded.cluster);
    no.name = loaded.cluster.node_name;
    no.server_name = loaded.config.server_name;
    auto n = cluster::Node::create(*(*server)->event_loop(), no);
    if (!n) {
      log::error("--cluster " + no.redis.url.display() + ": " + n.error().message());
      return cli::kExitFailure;
    }
    node = std::move(n).value();
    link.emplace(*node, [&irc, &mu](const irc::ClusterEvent& e) {
      std::lock_guard g(mu);
      irc.deliver_from_cluster(e);
    });
    claims.emplace(*node);
    link->set_nick_claims(&*claims);
    if (loaded.accounts.enabled) {  // SASL and REGISTER against Redis (their waits on the checker's threads)
      redis_accounts.emplace(node->loop(), node->redis(), loaded.accounts.hash_cost);
      irc.set_account_store(&*redis_accounts);
    }
    if (loaded.history.enabled) {  // one stream per channel or conversation, written by the sender's node
      redis_history.emplace(node->loop(), node->redis(), history_options(loaded.history));
      irc.set_history(&*redis_history);
    }
    // Degraded mode: a NOTICE to every local user when Redis goes and when it is back (resynced);
    // a nick found registered earlier elsewhere in the resync is given up for a guest nick.
    link->set_on_relaying([&irc, &mu](bool relaying) {
      std::lock_guard g(mu);
      irc.cluster_relaying(relaying);
    });
    // After a subscription outage: the lines read back from Redis's replay stream, in the log; when
    // they do not cover the outage, the channels' local members are told.
    link->set_on_replayed([&irc, &mu](const cluster::IrcLink::Replay& r) {
      if (r.failed) {
        log::warn("cluster: the lines missed while the subscription was down could not be read (" + r.why + ")");
        return;
      }
      log::info(fmt::format("cluster: subscription back: {} line(s) read from the replay stream, {} delivered (missed here), "
                            "{} live event(s) held meanwhile{}",
                            r.read, r.delivered, r.held, r.missing ? "; older lines may be missing (the stream was trimmed)" : ""));
      if (!r.missing) return;
      std::lock_guard g(mu);
      irc.cluster_lines_missing();
    });
    link->set_on_note([](const std::string& what) { log::warn("cluster: " + what); });
    link->set_on_nick_lost([&irc, &mu](std::uint64_t id, const std::string& folded) {
      std::lock_guard g(mu);
      irc.cluster_nick_lost(id, folded);
    });
    irc.set_cluster(&*link);
    claims->start(node->options().heartbeat, [&link](const std::vector<cluster::ReapedUser>& users) {
      log::info(fmt::format("cluster: {} user(s) of dead node {} reaped, QUIT published", users.size(), users.front().node));
      link->publish_quits(users, "*.net *.split");
    });
    // SIGTERM: this node's users leave the network (their claims released, their QUITs published)
    // before the connections close; at most a second when Redis does not answer.
    stopper.before_stop = [&claims, &link, &node](std::function<void()> then) {
      auto once = std::make_shared<std::function<void()>>(std::move(then));
      auto fire = [once] {
        if (!*once) return;
        auto f = std::move(*once);
        *once = nullptr;
        f();
      };
      claims->release_all([&link, fire](const std::vector<cluster::ReapedUser>& users) {
        link->publish_quits(users, "Server shutting down");
        fire();
      });
      node->loop().run_after(std::chrono::seconds(1), fire);
    };
    node->start(
        [&irc, &mu] {
          std::lock_guard g(mu);
          return static_cast<std::uint64_t>(irc.stats().registered);
        },
        [url = no.redis.url.display(), name = no.name](bool up, const std::string& why) {
          if (up) {
            log::info(fmt::format("cluster: node {} joined through {}", name, url));
          } else {
            log::warn(fmt::format("cluster: Redis {} unreachable ({}); retrying", url, why));
          }
        });
  }
  if (metrics_ep) turns.attach(**server);
  const auto& addrs = (*server)->local_addresses();
  const std::size_t tls_count = tls_bound ? loaded.tls_listen.size() : 0;
  if (tls_count > 0) {
    const auto first_tls = addrs.end() - static_cast<std::ptrdiff_t>(tls_count);
    tls.set_bound(std::vector<Address>(first_tls, addrs.end()));
    loaded.config.sts_port = first_tls->port();  // IRCv3 sts: plaintext clients are pointed there
    std::lock_guard g(mu);
    irc.reload(loaded.config);
  }
  if (ws_bound) {
    std::vector<Address> ws_addrs;
    const std::size_t first_ws = addrs.size() - tls_count - loaded.ws_listen.size();
    for (std::size_t i = 0; i < loaded.ws_listen.size(); ++i) ws_addrs.push_back(addrs[first_ws + i]);
    for (std::size_t i = 0; i < tls_count; ++i) {
      if (loaded.tls_listen[i].websocket) ws_addrs.push_back(addrs[addrs.size() - tls_count + i]);
    }
    for (std::size_t i = 0; i < ws_addrs.size(); ++i) {
      const bool plain = i < loaded.ws_listen.size();
      log::info(fmt::format("IRC over WebSocket on {}://{}/ (subprotocols text.ircv3.net, binary.ircv3.net); web chat: "
                            "open {}://{}/ in a browser",
                            plain ? "ws" : "wss", ws_addrs[i].to_string(), plain ? "http" : "https", ws_addrs[i].to_string()));
    }
    websockets.set_bound(std::move(ws_addrs));
  }
  std::string weak;  // in the banner, after its listening lines (which the tests read first)
  if (loaded.accounts.enabled && loaded.accounts.weak_hash_for_tests) {
    const store::HashCost& hc = loaded.accounts.hash_cost;
    weak = fmt::format("[accounts] weak_hash_for_tests: new password hashes cost m={} KiB, t={}, p={}; "
                       "not for a real server", hc.memory_kib, hc.passes, hc.lanes);
  }
  announce(o, loaded.config.server_name, addrs, (*server)->backend_name(), tls_count, weak);

  // The first event loop runs in this thread (the only one with --threads 1), and so does
  // on_signal, through the loop's signalfd.
  stopper.running = server->get();
  sd::notify_ready(fmt::format("{} listening on {}", loaded.config.server_name, addrs.front().to_string()));
  if (auto r = (*server)->run(); !r) {
    log::error(r.error().message());
    status = cli::kExitFailure;
  }
  metrics_ep.reset();
  irc.set_cluster(nullptr);
  if (redis_accounts) redis_accounts->detach();  // a checker task still running fails at once
  if (redis_history) redis_history->detach();
  link.reset();    // it and the claims refer to the node (the claims cancel their timer on its loop)
  claims.reset();
  node.reset();
  checker.stop();
  irc.set_password_checker(nullptr);
  if (history) history->stop_reader();  // its callbacks post to the loops, which go first
  const auto st = irc.stats();
  log::info(fmt::format("stopped ({} lines in, {} excess flood, {} sendq exceeded)", st.lines_in, st.excess_flood,
                        st.sendq_exceeded));
  return status;
}

}  // namespace

SOCKIT_COMMAND(chat_server, "chat-server", "IRC server for irssi, weechat, ii and other IRC clients",
               [](CLI::App& app) -> cli::Runner {
  auto o = std::make_shared<Options>();
  app.add_option("-l,--listen", o->listen,
                 "ADDR:PORT to listen on, repeatable (default 127.0.0.1:6667; port 0 = any free port)");
  app.add_option("-c,--config", o->config_file, "TOML configuration file (see docs/CHAT-SERVER.md)")
      ->check(CLI::ExistingFile);
  app.add_option("--server-name", o->flags.server_name, "server name shown to clients (default irc.sockit.local)");
  app.add_option("--motd", o->flags.motd_file, "message-of-the-day file");
  app.add_option("--backend", o->backend, "event loop backend: select, poll, epoll, uring or auto (uring: io_uring readiness and ring sends, epoll "
                 "where refused; auto: uring where the kernel has it, else epoll with a log line) (default epoll)");
  app.add_option("--max-clients", o->flags.max_clients, "connections served at once (default 10000)");
  app.add_option("--max-per-ip", o->flags.max_per_ip, "connections per client address, 0 = no cap (default 10)");
  app.add_flag("--no-exempt-loopback", o->flags.no_exempt_loopback, "apply --max-per-ip to loopback clients too");
  app.add_option("--sendq", o->flags.sendq, "output queued for a client before 'SendQ exceeded' (default 256k)");
  app.add_option("--registration-timeout", o->flags.registration_timeout, "time to send NICK and USER (default 30s)");
  app.add_option("--ping-interval", o->flags.ping_interval, "idle time before the server sends PING (default 90s)");
  app.add_option("--ping-timeout", o->flags.ping_timeout, "time to answer a PING (default 60s)");
  app.add_option("--flood-burst", o->flags.flood_burst, "lines a client may send at once (default 5)");
  app.add_option("--flood-rate", o->flags.flood_rate, "lines per second after the burst (default 2)");
  app.add_flag("--no-flood-control", o->flags.no_flood, "do not delay fast clients (tests, bots you trust)");
  app.add_flag("--allow-invalid-utf8", o->flags.allow_invalid_utf8, "relay non-UTF-8 text byte for byte");
  app.add_option("--casemapping", o->flags.casemapping,
                 "name comparison: rfc1459 ([]\\~ equal {}|^), rfc1459-strict or ascii (default rfc1459)");
  app.add_option("--drain", o->drain, "on SIGTERM, time to flush before closing (default 5s)");
  app.add_flag("--hash-password", o->hash_password,
               "read a password on stdin, print its hash for [[operator]] password / [server] password");
  app.add_option("--iterations", o->iterations, "PBKDF2 iterations for --hash-password (default 100000)")
      ->check(CLI::Range(1000u, 10000000u));
  app.add_option("--accounts-db", o->flags.accounts_db,
                 "user accounts (SASL, REGISTER) in this SQLite file, created if missing (see [accounts]; "
                 "its hash_memory_kib, hash_iterations, hash_parallelism set the argon2id cost of new hashes, "
                 "default 19456 KiB, 2, 1)");
  o->account_app = app.add_subcommand("account", "manage user accounts: add|del|passwd NAME, list, certfp add|del NAME FP, import");
  o->account_app->add_option("words", o->account.words, "add NAME | del NAME | passwd NAME | list | certfp add|del NAME FP | import");
  o->account_app->add_option("--db", o->account.db, "the accounts database (SQLite file); import: the file copied into Redis");
  o->account_app->add_option("--config", o->account.config, "the server's TOML file: [cluster] url (Redis), else [accounts] db; "
                             "new hashes at its [accounts] hash_* cost (with --db or --cluster too)");
  o->account_app->add_option("--cluster", o->account.cluster, "the network's Redis (redis://... or unix:PATH): its accounts");
  o->account_app->add_flag("--overwrite", o->account.overwrite, "import: replace an account of the same name that differs");
  o->account_app->add_flag("--json", o->account.json, "list: one JSON array of {name, created, certfps}");
  o->history_app = app.add_subcommand("history", "copy a single server's SQLite history into the cluster's Redis: import");
  o->history_app->add_option("words", o->history.words, "import");
  o->history_app->add_option("--db", o->history.db, "the single server's history database (SQLite file), read only");
  o->history_app->add_option("--config", o->history.config, "the server's TOML file: [cluster] url (Redis) and "
                             "[history] max_messages, max_age (applied to what is copied)");
  o->history_app->add_option("--cluster", o->history.cluster, "the network's Redis (redis://... or unix:PATH)");
  app.add_option("--metrics", o->flags.metrics,
                 "serve Prometheus metrics (GET /metrics) on ADDR:PORT, e.g. 127.0.0.1:9100; PORT alone means "
                 "127.0.0.1 (see docs/OPERATIONS.md)");
  app.add_option("--tls-listen", o->flags.tls_listen,
                 "ADDR:PORT of a TLS listener, repeatable (IRC over TLS, port 6697 by custom; needs --tls-cert and "
                 "--tls-key; default with --tls-cert: 127.0.0.1:6697)");
  app.add_option("--ws-listen", o->flags.ws_listen,
                 "ADDR:PORT of an IRC-over-WebSocket listener (ws://, IRCv3 text.ircv3.net/binary.ircv3.net), "
                 "repeatable, e.g. 127.0.0.1:8080 (docs/WEB.md)");
  app.add_option("--ws-origin", o->flags.ws_origin,
                 "Origin allowed on the WebSocket listeners, repeatable, e.g. https://chat.example.org (default: any)");
  app.add_option("--tls-cert", o->flags.tls_cert, "PEM certificate chain (leaf first) of the TLS listeners; SIGHUP re-reads it");
  app.add_option("--tls-key", o->flags.tls_key, "PEM private key of --tls-cert");
  app.add_option("--tls-handshake-timeout", o->flags.tls_handshake_timeout,
                 "close a TLS client whose handshake has not finished after this long (default 10s; [timeouts] "
                 "tls_handshake); SIGHUP applies a new value to connections made from then on");
  app.add_option("--output-hold", o->flags.output_hold,
                 "let a client that sent nothing in the last two loop turns wait up to this long for its small output "
                 "(under 2 KiB), so several turns' lines leave in one TCP segment: less CPU per delivery, that much "
                 "more latency; 0 = off (default 10ms on the uring backend, 0 on the others; [timeouts] output_hold)");
  app.add_option("--cluster", o->flags.cluster_url,
                 "join a network of chat-server nodes through Redis: redis://[user:password@]host[:port] or "
                 "unix:/path ([cluster] url; docs/CLUSTER.md); needs --node-name");
  app.add_option("--node-name", o->flags.node_name, "this node's name in the cluster ([cluster] node_name), e.g. node1");
  app.add_flag("--status", o->cluster_status, "with --cluster: print the live nodes and their user counts, then exit");
  app.add_flag("-q,--quiet", o->quiet, "no 'connect with' hint in the banner");
  log::add_options(app, o->log);
  app.add_flag("--check-config", o->check_config,
               "load and validate the file and flags, print the effective configuration as TOML, exit 0 "
               "(2 if invalid); binds nothing");
  app.footer(
      "Examples:\n"
      "  sockit chat-server                          # 127.0.0.1:6667, then: irssi -c 127.0.0.1 -p 6667\n"
      "  sockit chat-server -l 127.0.0.1:0 -l [::1]:6667 --motd motd.txt\n"
      "  sockit chat-server --config chat.toml       # SIGHUP reloads it\n"
      "  sockit chat-server --config chat.toml --check-config   # validate, print the effective config\n"
      "  echo secret | sockit chat-server --hash-password\n");
  // Given flags override the file's [log] keys; the defaults do not.
  return [o, level = app.get_option("--log-level"), format = app.get_option("--log-format")] {
    if (level->count() > 0) o->flags.log_level = o->log.level;
    if (format->count() > 0) o->flags.log_format = o->log.format;
    return run(*o);
  };
});

}  // namespace sockit::chat_server
